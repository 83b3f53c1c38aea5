#!/usr/bin/env python3
"""INS-C batch in plain Python with hashlib: the reference `carte bench` compares `carte ins insc --batch` with.

Same input and output as `carte ins insc --batch` for well-formed rows (`prenom;naissance;nir[;...]` in,
the line then `;` and the 22-digit INS-C out), same algorithm (shared/specs/ins.md section 1.3):
seed = first name (uppercase, accents folded, letters A-Z only, first 10, space padded) + birth date AAMMJJ
+ NIR body (13 characters, 2A/2B kept), SHA-256, first 8 bytes big-endian on 20 digits, key 97 - (n mod 97).
Rows that do not compute get `;ERROR:` and a short reason (the wording differs from carte's).

Usage: insc_batch.py INPUT OUTPUT
Prints one line on stdout: `rows=<n> seconds=<processing time, file reading and writing included>`.
"""
import hashlib
import sys
import time
import unicodedata

_FOLD = {"Œ": "OE", "Æ": "AE", "ß": "SS", "Ø": "O", "Ł": "L", "Đ": "D"}


def first_name(prenom):
    if prenom.isascii():
        letters = "".join(c for c in prenom.upper() if "A" <= c <= "Z")
    else:
        out = []
        for c in prenom.upper():
            c = _FOLD.get(c, c)
            for d in unicodedata.normalize("NFD", c):
                if "A" <= d <= "Z":
                    out.append(d)
        letters = "".join(out)
    return letters[:10].ljust(10)


def nir_body(nir):
    n = nir.replace(" ", "").upper()
    if len(n) not in (13, 15):
        raise ValueError("NIR length")
    body = n[:13]
    numeric = body.replace("2A", "19", 1) if body[5:7] == "2A" else body
    numeric = numeric.replace("2B", "18", 1) if body[5:7] == "2B" else numeric
    if not numeric.isdigit():
        raise ValueError("NIR not digits")
    if len(n) == 15:
        key = 97 - int(numeric) % 97
        if n[13:] != "%02d" % key:
            raise ValueError("NIR key")
    if body[0] not in "12":
        raise ValueError("not a definitive NIR")
    return body


def insc(prenom, naissance, nir):
    body = nir_body(nir)
    d = naissance.strip(" ")
    if len(d) not in (6, 8) or not d.isdigit():
        raise ValueError("birth date")
    name = first_name(prenom)
    if not name.strip():
        raise ValueError("first name")
    seed = (name + d[-6:] + body).encode("ascii")
    number = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")
    return "%020d%02d" % (number, 97 - number % 97)


def main():
    start = time.perf_counter()
    rows = 0
    with open(sys.argv[1], encoding="utf-8", newline="") as src, open(sys.argv[2], "w", encoding="utf-8", newline="") as dst:
        out = []
        for line in src:
            end = "\n" if line.endswith("\n") else ""
            text = line[:-1] if end else line
            if not text.strip(" \t") or text.startswith("#"):
                out.append(line)
                continue
            rows += 1
            fields = text.split(";")
            try:
                out.append(text + ";" + insc(fields[0], fields[1], fields[2]) + end)
            except (ValueError, IndexError) as e:
                out.append(text + ";ERROR:" + str(e) + end)
            if len(out) >= 4096:
                dst.write("".join(out))
                out.clear()
        dst.write("".join(out))
    print("rows=%d seconds=%.6f" % (rows, time.perf_counter() - start))


if __name__ == "__main__":
    main()
