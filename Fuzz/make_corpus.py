#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz targets (Fuzz/corpus/<target>/) from the specs' real bytes
(shared/specs/vitale.md, cps.md, pcsc-ccid-vpcd-contactless.md): ATRs, TLV examples, R-APDU sequences, Vitale
files. Certificates come from Fuzz/corpus/certificate/ (made once with the openssl command line, synthetic names).
Re-run after adding seeds here; the files are named by content so re-running is idempotent."""
import hashlib
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def h(s):
    return bytes.fromhex(s.replace(" ", "").replace("\n", ""))


def write(target, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def tlv(tag, value):
    n = len(value)
    length = bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 0x100 else bytes([0x82, n >> 8, n & 0xFF]))
    t = tag.to_bytes(2, "big") if tag > 0xFF else bytes([tag])
    return t + length + value


def pieces(*ps):
    return b"".join((bytes([len(p)]) if len(p) < 0xFF else bytes([0xFF, len(p) >> 8, len(p) & 0xFF])) + p for p in ps)


ATRS = """3B 75 13 00 00 45 09 EA 90 00|3B 75 13 00 00 45 09 FA 90 00|3F 65 25 00 2C 09 69 90 00|3F 65 25 00 52 09 6A 90 00
|3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A|3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E
|3B 81 80 01 80 80|3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00|3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00
|3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44|3F FF 0B 4D 09 70 07 BF 90 02 03 7F 48 80|3B 67 00 00 2D 20 16 01 78 90 00
|3B 00|3B"""
for a in ATRS.replace("\n", "").split("|"):
    write("atr", h(a))

POINTERS = h("""E0 81 89 A0 25 82 12 00 01 00 00 D2 50 00 00 02 4D 46 5F 56 49 54 41 4C 45 82 0F 00 02 00 00 D2
50 00 00 02 56 49 54 41 4C 45 80 0C 49 44 45 4E 54 20 20 20 00 01 20 02 80 0C 42 45 4E 45 46 20
20 20 00 02 20 02 80 0C 43 41 52 54 45 20 20 20 00 02 20 03 80 0C 41 4D 4F 20 20 20 20 20 00 02
20 04 80 0C 41 4D 43 20 20 20 20 20 00 02 20 05 80 0C 43 45 52 54 20 20 20 20 00 02 20 06 80 0C
50 48 4F 54 4F 20 20 20 00 02 20 07""")
IDENT = h("""65 18 80 06 44 55 50 4F 4E 54 81 04 4A 45 41 4E 82 08 31 39 36 38 30 31 31 37
65 17 80 06 44 55 50 4F 4E 54 81 03 4C 45 41 82 08 32 30 31 32 30 33 30 39 00 00 00 00""")
BENEF = h("""65 18 93 0F 31 36 38 30 31 37 35 30 35 36 31 32 33 38 31 84 01 31 85 02 30 30
65 29 93 0F 31 36 38 30 31 37 35 30 35 36 31 32 33 38 31 84 01 31 85 02 30 36
86 0F 32 31 32 30 33 37 35 31 31 32 30 38 38 39 35 00 00 00""")
CARTE = tlv(0x66, tlv(0x80, b"20190902") + tlv(0x82, b"2") + tlv(0x83, b"2234567890123457")) + bytes(8)
AMO = tlv(0x67, tlv(0x80, b"01") + tlv(0x81, b"691") + tlv(0x82, b"0231") + tlv(0x83, b"10")) \
    + tlv(0x68, tlv(0x80, b"\x01") + tlv(0xA0, tlv(0x80, b"20230101") + tlv(0x81, b"20991231"))) \
    + tlv(0x68, tlv(0x80, b"\x02") + tlv(0xA0, tlv(0x80, b"20230101") + tlv(0x81, b"20300308")))
COMPACT = h("31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00")

for seed in [POINTERS, IDENT, BENEF, CARTE, AMO, COMPACT, h("5F 37 81 80") + bytes(128), h("7F 21 03 42 01 00"),
             tlv(0x5F2F, b"\x01\x02"), h("01 03 AA BB CC 02 00"), h("FF FF 65 00 00")]:
    write("tlv", seed)

# response-apdu: config byte (bit 0 T=1, bit 1 extended-length reader), then length-prefixed card answers.
OK = h("90 00")
for cfg in (0, 1, 2):
    write("response-apdu", bytes([cfg]) + pieces(h("61 10"), bytes(range(16)) + OK))
    write("response-apdu", bytes([cfg]) + pieces(h("6C 08"), bytes(8) + OK))
    write("response-apdu", bytes([cfg]) + pieces(bytes(256) + h("61 00"), bytes(256) + h("61 04"), bytes(4) + OK))
    write("response-apdu", bytes([cfg]) + pieces(OK, IDENT[:40] + OK, h("62 82"), h("6B 00"), h("6A 82")))
    write("response-apdu", bytes([cfg]) + pieces(h("53 05 01 02 03 04 05 90 00"), h("69 82")))

# vitale: mode byte (0 POINTERS, 1 the five files, 2 Vitale 1 memory, 3 a whole session's answers), then data.
write("vitale", bytes([0]) + POINTERS)
write("vitale", bytes([1]) + pieces(IDENT, BENEF, CARTE, AMO, bytes(32)))
write("vitale", bytes([2]) + h("21 28 21 48 21 68 00 00") + bytes(48))
write("vitale", bytes([3]) + pieces(OK, POINTERS + OK, BENEF + OK, CARTE + OK, AMO + OK, bytes(32) + OK, OK,
                                    IDENT + OK))
write("vitale", bytes([3]) + pieces(h("6A 82")))
write("vitale", bytes([3 | 4]) + pieces(h("00 00 21 90 00 00 00 00 90 00"), bytes(32) + OK))
# cps: mode byte (0 EF.ATR, 1 EF.SN.ICC, 2 CHV SDO, 3 EF.DIR, 4 ODF, 5 CDF/DODF, 6 holder files, 7 situation,
# 8 a whole session's answers), then data. Bytes from cps.md §4.1, §5.
EFATR = h("""80 43 01 B8 46 04 04 B0 EC C1 47 03 94 01 80 4F 08 80 25 00 00 01 FF 01 00 E0 10 02 02 01 04 02 02 01 04
02 02 01 00 02 02 01 00 78 08 06 06 2B 81 22 F8 78 02 82 02 90 00""")
SN = h("5A 0A 80 25 00 00 01 99 21 38 45 0F")
SDO = h("70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00")
DIR = tlv(0x61, tlv(0x4F, h("E8 28 BD 08 0F 80 25 00 00 01 FF 00 10")) + tlv(0x50, b"CPS3") + tlv(0x51, h("3F 00 00 01")))
ODF = tlv(0xA4, tlv(0x30, tlv(0x04, h("3F 00 00 01 44 02")))) + tlv(0xA7, tlv(0x30, tlv(0x04, h("3F 00 00 01 44 04"))))
CDF = tlv(0x30, tlv(0x30, tlv(0x0C, "Certificat d'Authentification CPS".encode("latin-1"))) + tlv(0x30, tlv(0x04, b"\x02"))
          + tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0x04, h("3F 00 00 01 C0 02"))))))
for mode, data in [(0, EFATR), (1, SN), (2, SDO), (3, DIR), (4, ODF), (5, CDF), (6, pieces(b"\x01\x02\x03", b"DURAND", b"10")),
                   (7, tlv(0x30, tlv(0x80, b"01")))]:
    write("cps", bytes([mode]) + data)
write("cps", bytes([8]) + pieces(OK, SN + OK, h("6A 82"), EFATR + OK, h("61 24"), bytes(36) + OK, ODF + OK, h("6A 82")))
write("cps", bytes([8]) + pieces(h("6C 0C"), SN + OK, h("61 18"), SDO + OK))

# t1: byte 0 bit 0 = CRC, byte 1 = IFSC, then length-prefixed card blocks (NAD PCB LEN INF LRC).
def lrc(b):
    x = 0
    for c in b:
        x ^= c
    return bytes([x])
def block(pcb, inf=b""):
    body = bytes([0, pcb, len(inf)]) + inf
    return body + lrc(body)
write("t1", bytes([0, 32]) + pieces(block(0x90), block(0x90), block(0x00, OK)))
write("t1", bytes([0, 254]) + pieces(block(0xC3, b"\x01"), block(0x00, bytes(40) + OK)))
write("t1", bytes([0, 254]) + pieces(block(0x20, bytes(10)), block(0x40, OK)))
write("t1", block(0xC1, b"\xFE"))
write("t1", bytes([0, 16]) + pieces(block(0x81), block(0xE2), block(0x00, OK)))

# ccid: RDR_to_PC messages and the class descriptor (pcsc-ccid-vpcd-contactless.md §5, CCIDCodecTests).
for m in ["80 02 00 00 00 00 05 00 00 00 90 00", "80 00 00 00 00 00 01 80 03 00", "81 00 00 00 00 00 00 01 00 00",
          "82 05 00 00 00 00 02 00 00 01 11 10 00 15 00 FE 00", "50 03", "50 0F 02", "83 00 00 00 00 00 00 00 00 00",
          "80 0A 00 00 00 00 00 00 3B 75 13 00 00 45 09 EA 90 00",
          """36 21 10 01 00 07 03 00 00 00 A0 0F 00 00 A0 0F 00 00 00 80 25 00 00 00 84 03 00 0B FE 00 00 00
             00 00 00 00 00 00 00 00 BA 04 02 00 64 01 00 00 FF FF 10 02 03 01"""]:
    write("ccid", h(m))

# vpcd: byte 0 chooses the read size; then the stream of 2-byte length frames (§4.1).
for stream in [h("00 01 04 00 01 01 00 05 00 A4 04 00 00"), h("00 01 00 00 01 02 00 01 03"), h("FF FF 00"), h("00 00 00 02 90")]:
    write("vpcd", bytes([3]) + stream)
# config: the example configuration, the test configurations of TerminalConfigurationTests (Swift multi-line
# literals, dedented), and broken variants (truncations, tabs, bad values, aliases, deep nesting).
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = open(os.path.join(REPO, "Hardware", "carte.example.yaml"), "rb").read()
CONFIGS = [EXAMPLE, EXAMPLE[: len(EXAMPLE) // 2], EXAMPLE.replace(b"  ", b"\t", 3)]
import re
tests = open(os.path.join(REPO, "Tests", "TerminalTests", "TerminalConfigurationTests.swift"), encoding="utf-8").read()
for m in re.finditer(r'"""\n(.*?)\n([ ]*)"""', tests, re.S):
    indent = len(m.group(2))
    CONFIGS.append("\n".join(l[indent:] for l in m.group(1).split("\n")).encode())
# one-line literals holding a YAML text (with `\n`), e.g. the table of bad configurations and their errors
for m in re.finditer(r'"((?:[^"\\\n]|\\.)*\\n(?:[^"\\\n]|\\.)*)"', tests):
    CONFIGS.append(m.group(1).encode().decode("unicode_escape").encode())
CONFIGS += [
    b"", b"---\n", b"~\n", b"[]\n", b"readers: []\n", b"readers:\n  - match: ''\n    role: patient\n",
    b"readers:\n  - {match: '*', role: wizard}\n", b"policy:\n  pinTimeout: 4s\n", b"policy:\n  pinTimeout: 99999999999999999999h\n",
    b"policy:\n  tapAndGoWindow: 25h\n  requirePinpad: maybe\n", b"api:\n  listen: 10.0.0.1:80\n  tokenFile: /t\n",
    b"api:\n  listen: '[::1]:65535'\n  tokenFile: /etc/carte/token\n", b"api:\n  listen: localhost:0\n",
    b"api:\n  socket: /run/carte/api.sock\n  socketMode: '0666'\n", b"api: {socket: /s, listen: 127.0.0.1:1}\n",
    b"database: relative/path.sqlite\n", b"database: !!binary AAAA\n", b"log: {level: loud}\n",
    b"base: &b {anchors: /a}\ntrust: *b\n", b"trust: *missing\n", b"readers: &r [*r]\n", b"? [a, b]\n: c\n",
    b"%YAML 1.1\n---\ndatabase: /x\n...\n", b"%TAG ! tag:x,2000:\n--- !foo\ndatabase: /x\n",
    b"database: /a\ndatabase: /b\n", b"database: \"/a\\0b\"\n", b"\xef\xbb\xbfdatabase: /x\n", b"\xff\xfe\x00d",
    b"'unterminated\n", b"key: [1, 2\n", b"a:\n\t- b\n", b"- " * 200 + b"x\n", b"[" * 300 + b"]" * 300,
    b"{a: " * 100 + b"b" + b"}" * 100, b"badges:\n  enrolmentDelay: 9s\n  siteKeyFile: /k\n",
]
for c in CONFIGS:
    write("config", c)

# api-json: the request bodies of docs/openapi.yaml and TerminalAPITests, and broken variants.
for body in [b'{"pin":"5678"}', b'{"pin":"43a1"}', b'{"pin":"123"}', b'{"pin":"2468024680246"}', b'{"pin":5678}',
             b'{"pin":null}', b'{}', b'{"session":"r1-1"}', b'{"session":"r1-1","badgeReader":"r3"}',
             b'{"session":1}', b'{"persona":"cps3-moreau-pharmacist"}', b'{"digits":"2468"}',
             b'{"persona":"vitale2-bernard-family","digits":"0000","extra":[1,{"a":true}]}', b'', b'null', b'[]',
             b'"pin"', b'{"pin":"\\u0035678"}', b'{"pin":"\xd9\xa4\xd9\xa3\xd9\xa2\xd9\xa1"}', b'{"pin":"5678"',
             b'{"pin":"5678","pin":"2468"}', b'[' * 600 + b']' * 600, b'{"a":' * 100 + b'1' + b'}' * 100,
             b'{"session":"' + b'r' * 4000 + b'"}', b'{"pin":"1e4"}', b'{"pin":"\\ud800"}']:
    write("api-json", body)
print("corpus written under", ROOT)
