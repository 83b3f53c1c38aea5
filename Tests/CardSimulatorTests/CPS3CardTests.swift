import CarteCrypto
import Foundation
import ISO7816
import Testing

@testable import CardSimulator

/// A CPS persona of the bundled fixture.
func cpsPersona(_ id: String) throws -> ProfessionalPersona {
    guard case .professional(let p) = try PersonaCatalog.persona(id) else {
        throw PersonaCatalog.CatalogError.unknownPersona(id)
    }
    return p
}

func cpsCard(_ id: String = "cps3-durand", interface: CardInterface = .contact) throws -> OSCard {
    try CPS3Profile.makeCard(persona: try cpsPersona(id), interface: interface)
}

extension OSCard {
    /// Sends hex, returns the R-APDU as spaced hex.
    func send(_ hexCommand: String) -> String { hx(process(h(hexCommand))) }
    /// Sends bytes; follows `61 xx` with GET RESPONSE like a T=0 host; returns data ‖ SW.
    func exchange(_ command: [UInt8]) -> [UInt8] {
        var r = process(command)
        var data: [UInt8] = []
        while r.count >= 2, r[r.count - 2] == 0x61 {
            data += r.dropLast(2)
            r = process([0x00, 0xC0, 0x00, 0x00, r[r.count - 1]])
        }
        return data + r
    }
}

@Suite("CPS3 contact card: files and discovery (cps.md §4, §6.3 A)")
struct CPS3DiscoveryTests {
    @Test("The Cryptolib discovery sequence A answers with the exact bytes of the trace")
    func discoverySequenceA() throws {
        let card = try cpsCard()
        #expect(card.atr == h("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00"))
        card.powerOn()
        #expect(card.send("00 A4 09 04 04 3F 00 D0 03") == "61 27")
        #expect(card.send("00 C0 00 00 27") == "62 25 80 02 00 0C 82 01 01 83 02 D0 03 88 01 E0 A1 12 8C 07 7B FF FF FF FF FF 00 9C 07 7B FF FF FF FF FF 00 8A 01 05 90 00")
        #expect(card.send("00 B0 00 00 0C") == "5A 0A 80 25 00 00 01 00 41 23 45 8F 90 00")
        #expect(card.send("00 A4 09 04 04 3F 00 D0 10") == "6A 82")
        #expect(card.send("00 A4 09 0C 04 3F 00 00 01") == "90 00")
        #expect(card.send("00 A4 09 0C 02 3F 00") == "90 00")
        #expect(card.send("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80") == "61 18")
        #expect(card.send("00 C0 00 00 18") == "70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00 90 00")
    }

    @Test("EF.ATR and EF.DIR: FCPs and contents of cps.md §4.1 / §3.1, read by SFI too")
    func atrAndDir() throws {
        let card = try cpsCard()
        #expect(card.send("00 A4 09 04 04 3F 00 2F 01") == "61 27")
        #expect(card.send("00 C0 00 00 27") == "62 25 80 02 00 39 82 01 01 83 02 2F 01 88 01 E8 A1 12 8C 07 7B 45 FF FF FF 45 00 9C 07 7B FF FF FF FF FF 00 8A 01 05 90 00")
        #expect(card.send("00 B0 00 00 39") == "80 43 01 B8 46 04 04 B0 EC C1 47 03 94 01 80 4F 08 80 25 00 00 01 FF 01 00 E0 10 02 02 01 04 02 02 01 04 02 02 01 00 02 02 01 00 78 08 06 06 2B 81 22 F8 78 02 82 02 90 00 90 00")
        #expect(card.send("00 A4 09 04 04 3F 00 2F 00") == "61 27")
        #expect(card.send("00 C0 00 00 27") == "62 25 80 02 00 65 82 01 01 83 02 2F 00 88 01 F0 A1 12 8C 07 7B 45 FF FF FF 45 00 9C 07 7B FF FF FF FF FF 00 8A 01 05 90 00")
        let dir = card.process(h("00 B0 9E 00 65"))
        #expect(dir.count == 103)
        #expect(Array(dir.prefix(17)) == h("61 32 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 20"))
        #expect(Array(dir[17..<29]) == h("50 0A") + Array("CPX IAS CL".utf8))
        #expect(Array(dir[29..<35]) == h("51 04 3F 00 00 02"))
        #expect(Array(dir[52..<69]) == h("61 2F 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10"))
        #expect(Array(dir[84..<101]) == h("73 0F 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10"))
        #expect(Array(dir.suffix(2)) == h("90 00"))
        // T=0: a wrong Le on a case-2 command answers 6C with the right length.
        #expect(card.send("00 B0 9C 00 00") == "6C 0C")
        // The ECC root AID of EF.ATR selects the MF (what OpenSC does right after reading EF.ATR).
        #expect(card.send("00 A4 04 04 08 80 25 00 00 01 FF 01 00").hasPrefix("61 "))
        #expect(card.os.currentDF === card.os.masterFile)
    }

    @Test("PKCS#15 application: ODF, TokenInfo and the certificates are readable without PIN")
    func pkcs15Files() throws {
        let card = try cpsCard()
        #expect(card.send("00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10") == "90 00")
        #expect(card.os.currentDF.fid == 0x0001)
        let odf = CPS3Files.odf(contactless: false)
        #expect(Array(odf.prefix(12)) == h("A0 0A 30 08 04 06 3F 00 00 01 44 00"))
        #expect(card.exchange(h("00 A4 02 0C 02 50 31")) == h("90 00"))
        #expect(card.exchange(h("00 B0 00 00") + [UInt8(odf.count)]) == odf + h("90 00"))
        let ti = CPS3Files.tokenInfo(serialDigits: "00412345", contactless: false)
        // version 0, serial = last 8 PAN bytes, manufacturer "ASIP SANTE", label CPS3v3-0000412345
        #expect(Array(ti.prefix(3)) == [0x30, 0x81, UInt8(ti.count - 3)])
        #expect(Array(ti[3..<16]) == h("02 01 00 04 08 00 00 01 00 41 23 45 8F"))
        #expect(Array(ti[16..<28]) == h("0C 0A") + Array("ASIP SANTE".utf8))
        #expect(CPS3Files.tokenLabel(serialDigits: "00412345") == "CPS3v3-0000412345")
        let creds = try TestPKI.shared().credentials(forPersona: "cps3-durand")
        let cert = card.exchange(h("00 A4 02 04 02 C0 01"))
        #expect(cert.count > 2 && cert.suffix(2) == h("90 00"))
        var read: [UInt8] = []
        while read.count < creds.signCert.der.count {
            let n = min(256, creds.signCert.der.count - read.count)
            let r = card.exchange([0x00, 0xB0, UInt8(read.count >> 8), UInt8(read.count & 0xFF), UInt8(n & 0xFF)])
            #expect(r.suffix(2) == h("90 00"))
            read += r.dropLast(2)
        }
        #expect(read == creds.signCert.der)
    }

    @Test("EF_ACTUA exists only when the scenario switch is on; CHV public data (7F41) gives the PIN sizes")
    func actuaAndCHVSizes() throws {
        let card = try cpsCard()
        #expect(card.send("00 A4 09 04 04 3F 00 D0 10") == "6A 82")
        card.os.enabledFlags.insert(CPS3Profile.actuaFlag)
        #expect(card.send("00 A4 09 0C 04 3F 00 D0 10") == "90 00")
        #expect(card.send("00 B0 00 00 14") == "EC 12 81 07 20 24 01 01 08 00 00 82 07 20 24 01 01 08 05 00 90 00")
        card.os.enabledFlags.remove(CPS3Profile.actuaFlag)
        #expect(card.send("00 A4 09 0C 04 3F 00 D0 10") == "6A 82")
        #expect(card.send("00 A4 09 0C 02 3F 00") == "90 00")
        // OpenSC's first CHV request (cps.md §6.3 F): max 8, min 4 for the PIN; 8/8 for the PUK.
        #expect(card.exchange(h("00 CB 3F FF 0B 4D 09 70 07 BF 81 01 03 7F 41 80")) == h("70 0D BF 81 01 09 7F 41 06 80 01 08 81 01 04 90 00"))
        #expect(card.exchange(h("00 CB 3F FF 0B 4D 09 70 07 BF 81 02 03 7F 41 80")) == h("70 0D BF 81 02 09 7F 41 06 80 01 08 81 01 08 90 00"))
        #expect(card.exchange(h("00 CB 3F FF 0A 4D 08 70 06 BF 81 02 02 A0 80")) == h("70 1A BF 81 02 16 A0 14 9A 01 0A 9B 01 0A 9D 02 00 64 A1 08 8C 06 F3 00 00 13 FF 00 90 00"))
        // Unknown CHV, malformed request, wrong P1-P2.
        #expect(card.send("00 CB 3F FF 0A 4D 08 70 06 BF 81 05 02 A0 80") == "6A 88")
        #expect(card.send("00 CB 3F FF 04 4D 02 70 00") == "6A 80")
        #expect(card.send("00 CB 00 00 0A 4D 08 70 06 BF 81 01 02 A0 80") == "6A 88")
    }

    @Test("DER building blocks: bit strings drop trailing zero bits, integers are minimal")
    func derBlocks() {
        #expect(CPS3DER.bitString([1]) == h("03 02 06 40"))
        #expect(CPS3DER.bitString([6]) == h("03 02 01 02"))
        #expect(CPS3DER.bitString([9]) == h("03 03 06 00 40"))
        #expect(CPS3DER.bitString([0, 1]) == h("03 02 06 C0"))
        #expect(CPS3DER.integer(0x81) == h("02 02 00 81"))
        #expect(CPS3DER.integer(2048) == h("02 02 08 00"))
        #expect(CPS3DER.oid("1.2.840.113549.1.1.11") == h("06 09 2A 86 48 86 F7 0D 01 01 0B"))
        #expect(CPS3Files.luhnDigit("7992739871") == 3)
        #expect(CPS3Files.pan(serialDigits: "00412345") == h("80 25 00 00 01 00 41 23 45 8F"))
    }
}

@Suite("CPS3 contact card: PIN policy (cps.md §5)")
struct CPS3PINTests {
    func pinCounter(_ card: OSCard) -> [UInt8] {
        _ = card.exchange(h("00 A4 09 0C 02 3F 00"))
        return card.exchange(h("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80"))
    }

    @Test("Wrong PIN decrements the counter the GET DATA shows; the right one resets it; 3 wrong block it")
    func verifyCounters() throws {
        let card = try cpsCard()
        #expect(card.send("00 20 00 01") == "63 C3")
        #expect(card.send("00 20 00 01 04 39 39 39 39") == "63 C2")
        #expect(pinCounter(card) == h("70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 02 A1 08 8C 06 F3 00 00 13 FF 00 90 00"))
        #expect(card.send("00 20 00 01 04 31 32 33 34") == "90 00")
        #expect(card.send("00 20 00 01") == "90 00")
        #expect(pinCounter(card)[13] == 0x03)
        card.reset()
        #expect(card.send("00 20 00 01") == "63 C3")
        #expect(card.send("00 20 00 01 04 30 30 30 30") == "63 C2")
        #expect(card.send("00 20 00 01 04 30 30 30 30") == "63 C1")
        #expect(card.send("00 20 00 01 04 30 30 30 30") == "63 C0")
        #expect(card.send("00 20 00 01 04 31 32 33 34") == "69 83")
        #expect(card.send("00 20 00 01") == "69 83")
        // Unblock, Cryptolib form: PUK ‖ new PIN.
        #expect(card.send("00 2C 00 01 0C 31 32 33 34 35 36 37 38 35 36 37 38") == "90 00")
        #expect(card.send("00 20 00 01 04 35 36 37 38") == "90 00")
        // Unblock, OpenSC form: VERIFY PUK, then new PIN only (a new card session first).
        card.reset()
        #expect(card.send("00 2C 02 01 04 31 31 31 31") == "69 82")
        #expect(card.send("00 20 00 02 08 31 32 33 34 35 36 37 38") == "90 00")
        #expect(card.send("00 2C 02 01 04 31 31 31 31") == "90 00")
        #expect(card.send("00 20 00 01 04 31 31 31 31") == "90 00")
        // CHANGE REFERENCE DATA: old ‖ new.
        #expect(card.send("00 24 00 01 08 31 31 31 31 31 32 33 34") == "90 00")
        #expect(card.send("00 24 00 01 08 39 39 39 39 31 32 33 34") == "63 C2")
        #expect(card.send("00 20 00 01 04 31 32 33 34") == "90 00")
        // A wrong PUK counts down from 10.
        #expect(card.send("00 2C 00 01 0C 30 30 30 30 30 30 30 30 31 32 33 34") == "63 C9")
        #expect(pinCounter(card).count == 26)
    }

    @Test("The last-try persona starts with 1 try; the CHV SDO is only answered with the MF current")
    func lastTryPersona() throws {
        let card = try cpsCard("cps3-fabre-last-try")
        #expect(card.send("00 20 00 01") == "63 C1")
        #expect(pinCounter(card) == h("70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 01 A1 08 8C 06 F3 00 00 13 FF 00 90 00"))
        #expect(card.send("00 A4 09 0C 04 3F 00 00 01") == "90 00")
        #expect(card.send("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80") == "6A 88")
        // SE objects answer 6A 88 like the real card.
        #expect(card.send("00 CB 3F FF 0A 4D 08 70 06 BF 9D 01 02 A0 80") == "6A 88")
        #expect(card.send("00 20 00 01 04 30 30 30 30") == "63 C0")
        #expect(card.send("00 20 00 01 04 38 36 34 32") == "69 83")
    }

    @Test("Revoked, expired and CPE personas are ordinary cards whose PIN works")
    func otherPersonas() throws {
        for id in ["cps3-roux-revoked", "cps3-blanc-expired", "cpe-girard"] {
            let p = try cpsPersona(id)
            let card = try CPS3Profile.makeCard(persona: p)
            let pin = p.pin.asciiBytes
            #expect(card.exchange(h("00 20 00 01") + [UInt8(pin.count)] + pin) == h("90 00"))
        }
        #expect(throws: CPS3Profile.BuildError.self) { try cpsCard("cpe-girard", interface: .contactless) }
    }

    /// Reads a whole transparent EF by path from the MF (T=0 host).
    func readFile(_ card: OSCard, _ path: String) -> [UInt8] {
        let fcp = card.exchange(h("00 A4 09 04 06 \(path)"))
        guard fcp.count > 6, fcp[2] == 0x80 else { return [] }
        let size = Int(fcp[4]) << 8 | Int(fcp[5])
        var out: [UInt8] = []
        while out.count < size {
            let n = min(256, size - out.count)
            let r = card.exchange([0x00, 0xB0, UInt8(out.count >> 8), UInt8(out.count & 0xFF), UInt8(n & 0xFF)])
            guard r.suffix(2) == h("90 00") else { return [] }
            out += r.dropLast(2)
        }
        return out
    }

    @Test("Revoked and expired personas carry the test PKI's revoked / expired certificates; the CPE its own subject")
    func certificateStatusPersonas() throws {
        let pki = try TestPKI.shared()
        let roux = try CPS3Profile.makeCard(persona: try cpsPersona("cps3-roux-revoked"))
        let rouxAuth = try Certificate(der: readFile(roux, "3F 00 00 01 C0 02"))
        #expect(rouxAuth == (try pki.credentials(forPersona: "cps3-roux-revoked").authCert))
        #expect(pki.intermediateCRL.entries.contains { $0.serialNumber == rouxAuth.serialNumber })
        let blanc = try CPS3Profile.makeCard(persona: try cpsPersona("cps3-blanc-expired"))
        let blancSig = try Certificate(der: readFile(blanc, "3F 00 00 01 C0 01"))
        #expect(blancSig.notAfter < Date())
        let durandAuth = try Certificate(der: readFile(try cpsCard(), "3F 00 00 01 C0 02"))
        #expect(durandAuth.notAfter > Date())
        #expect(!pki.intermediateCRL.entries.contains { $0.serialNumber == durandAuth.serialNumber })
        let girard = try CPS3Profile.makeCard(persona: try cpsPersona("cpe-girard"))
        let girardAuth = try Certificate(der: readFile(girard, "3F 00 00 01 C0 02"))
        #expect("\(girardAuth.subject)".contains("GIRARD"))
        // CPE card type code 2 in CPS_ID_CARD (INTEGER first in the SEQUENCE).
        let idCard = readFile(girard, "3F 00 00 01 D1 01")
        #expect(idCard == CPS3Files.idCard(try cpsPersona("cpe-girard")))
        #expect(Array(idCard.prefix(5)) == [0x30, UInt8(idCard.count - 2), 0x02, 0x01, 0x02])
        #expect(Array(idCard[5..<12]) == h("04 05 80 25 00 00 01"))
    }
}

@Suite("CPS3 contact card: crypto APDUs of cps.md §6.3 B–F")
struct CPS3CryptoTests {
    let creds: TestPKI.Credentials
    init() throws { creds = try TestPKI.shared().credentials(forPersona: "cps3-durand") }

    func loggedIn() throws -> OSCard {
        let card = try cpsCard()
        #expect(card.send("00 20 00 01 04 31 32 33 34") == "90 00")
        #expect(card.send("00 A4 09 0C 04 3F 00 00 01") == "90 00")
        return card
    }

    @Test("B: PSO HASH resumes SHA-256 and SHA-1 from the host's state; PSO CDS signs the result")
    func psoHashThenSign() throws {
        for (alg, ht, dst, hash) in [(SHAStream.Algorithm.sha256, "40", "42", HashAlgorithm.sha256),
            (.sha1, "10", "12", .sha1)]
        {
            for length in [0, 10, 64, 65, 200, 1000] {
                let card = try loggedIn()
                let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
                let split = SHAStream.cardHashSplit(alg, message: message)
                #expect(card.send("00 22 41 AA 03 80 01 \(ht)") == "90 00")
                let counter = (0..<8).map { UInt8(truncatingIfNeeded: split.bitCount >> (56 - 8 * UInt64($0))) }
                let first = split.state.isEmpty ? [UInt8]() : split.state + counter
                let data = [0x90, UInt8(first.count)] + first + [0x80, UInt8(split.lastBlock.count)] + split.lastBlock
                #expect(card.exchange(h("00 2A 90 A0") + [UInt8(data.count)] + data) == h("90 00"))
                #expect(card.send("00 22 41 B6 06 80 01 \(dst) 84 01 81") == "90 00")
                let sig = card.exchange(h("00 2A 9E 9A 00"))
                #expect(sig.count == 258 && sig.suffix(2) == h("90 00"))
                let key = try creds.signCert.publicKey()
                #expect(key.verify(signature: Array(sig.prefix(256)), message: message, algorithm: hash))
                // The digest is consumed: a second CDS without a new PSO HASH is refused.
                #expect(card.send("00 2A 9E 9A 00") == "69 85")
            }
        }
    }

    @Test("C: PSO CDS with the digest; F: OpenSC's MSE with the key reference first and its key SDO read")
    func signatureWithDigest() throws {
        let card = try loggedIn()
        #expect(card.send("00 CB 3F FF 0B 4D 09 70 07 BF 90 01 03 7F 48 80") == "61 12")
        #expect(card.send("00 C0 00 00 12") == "70 10 BF 90 01 0C A0 0A A1 04 8C 02 40 12 80 02 01 00 90 00")
        #expect(card.send("00 CB 3F FF 0B 4D 09 70 07 BF 90 02 03 7F 48 80") == "61 13")
        #expect(card.send("00 C0 00 00 13") == "70 11 BF 90 02 0D A0 0B A1 05 8C 03 30 12 12 80 02 01 00 90 00")
        // The same request with the MF current: the key SDO lives in DF 0001.
        #expect(card.send("00 A4 09 0C 02 3F 00") == "90 00")
        #expect(card.send("00 CB 3F FF 0B 4D 09 70 07 BF 90 01 03 7F 48 80") == "6A 88")
        #expect(card.send("00 A4 09 0C 04 3F 00 00 01") == "90 00")
        let message = Array("ordonnance".utf8)
        let digest = Digest.sha256(message)
        #expect(card.send("00 22 41 B6 06 84 01 81 80 01 42") == "90 00")
        let sig = card.exchange(h("00 2A 9E 9A 20") + digest + [0x00])
        #expect(sig.suffix(2) == h("90 00"))
        #expect(try creds.signCert.publicKey().verify(signature: Array(sig.prefix(256)), message: message))
        // SHA-1 digest with DST algorithm 12.
        #expect(card.send("00 22 41 B6 06 80 01 12 84 01 81") == "90 00")
        let sig1 = card.exchange(h("00 2A 9E 9A 14") + Digest.sha1(message) + [0x00])
        #expect(try creds.signCert.publicKey().verify(signature: Array(sig1.prefix(256)), message: message, algorithm: .sha1))
        #expect(card.send("00 22 41 B6 06 80 01 42 84 01 81") == "90 00")
        // Wrong digest length for SHA-256 → 6A 80.
        #expect(card.exchange(h("00 2A 9E 9A 14") + Digest.sha1(message)) == h("6A 80"))
        // The authentication key does not sign with DST.
        #expect(card.send("00 22 41 B6 06 80 01 42 84 01 82") == "6A 80")
        // Unknown key → 6A 88; no PIN → 69 82.
        #expect(card.send("00 22 41 B6 06 80 01 42 84 01 85") == "6A 88")
        card.powerOff()
        card.powerOn()
        #expect(card.send("00 20 00 01") == "63 C3")
        #expect(card.send("00 22 41 B6 06 80 01 42 84 01 81") == "90 00")
        #expect(card.exchange(h("00 2A 9E 9A 20") + digest) == h("69 82"))
        // The MSE state is volatile too.
        card.reset()
        #expect(card.send("00 20 00 01 04 31 32 33 34") == "90 00")
        #expect(card.exchange(h("00 2A 9E 9A 20") + digest) == h("69 85"))
    }

    @Test("D: INTERNAL AUTHENTICATE pads a DigestInfo (type 1) with the authentication key; 40 % input limit")
    func internalAuthenticate() throws {
        let card = try loggedIn()
        let di = DigestInfo.encode(.sha256, digest: Digest.sha256(Array("challenge".utf8)))
        #expect(card.send("00 22 41 A4 06 80 01 02 84 01 82") == "90 00")
        #expect(card.process(h("00 88 00 00") + [UInt8(di.count)] + di + [0x00]) == h("61 00"))
        let sig = card.process(h("00 C0 00 00 00"))
        #expect(sig.count == 258 && sig.suffix(2) == h("90 00"))
        #expect(try creds.authCert.publicKey().verifyPKCS1(signature: Array(sig.prefix(256)), digestInfo: di))
        // OpenSC's order (84 before 80) is accepted too.
        #expect(card.send("00 22 41 A4 06 84 01 82 80 01 02") == "90 00")
        let tooLong = [UInt8](repeating: 0x11, count: 103)
        #expect(card.exchange(h("00 88 00 00") + [UInt8(tooLong.count)] + tooLong) == h("67 00"))
        let limit = [UInt8](repeating: 0x11, count: 102)
        #expect(card.exchange(h("00 88 00 00") + [UInt8(limit.count)] + limit).count == 258)
        // Without MSE: conditions of use not satisfied.
        card.reset()
        #expect(card.exchange(h("00 88 00 00") + [UInt8(di.count)] + di) == h("69 85"))
    }

    @Test("E: PSO DECIPHER with command chaining and the 81 padding indicator")
    func decipher() throws {
        let card = try loggedIn()
        let secret = Array("clef de session 0123456789".utf8)
        let cryptogram = try creds.authCert.publicKey().encryptPKCS1(secret)
        #expect(card.send("00 22 41 B8 06 80 01 1A 84 01 82") == "90 00")
        let data = [0x81] + cryptogram
        #expect(card.process(h("10 2A 80 86 FF") + Array(data.prefix(255))) == h("90 00"))
        let last = Array(data.dropFirst(255))
        #expect(card.exchange(h("00 2A 80 86") + [UInt8(last.count)] + last) == secret + h("90 00"))
        // Chaining is refused for other instructions.
        #expect(card.send("10 88 00 00 01 00") == "68 84")
        // A 00 indicator is refused.
        #expect(card.process(h("10 2A 80 86 FF") + [0x00] + Array(cryptogram.prefix(254))) == h("90 00"))
        #expect(card.exchange(h("00 2A 80 86 02") + Array(cryptogram.suffix(2))) == h("6A 80"))
    }
}

@Suite("CPS3 contactless personality (cps.md §7)")
struct CPS3ContactlessTests {
    @Test("ATR, DF 0002, technical key without PIN, nothing PIN-protected")
    func contactless() throws {
        let card = try cpsCard(interface: .contactless)
        #expect(card.atr == h("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E"))
        #expect(card.hasContactInterface == false)
        #expect(card.contactless?.historicalBytes == h("00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00"))
        // EF.SN.ICC is read in both modes.
        #expect(card.send("00 B0 9C 00 0C") == "5A 0A 80 25 00 00 01 00 41 23 45 8F 90 00")
        // 3F00/0001/7001 is selectable but not readable over CL (the Cryptolib's CL test).
        #expect(card.send("00 A4 09 0C 06 3F 00 00 01 70 01") == "90 00")
        #expect(card.send("00 B0 00 00 01") == "69 82")
        // No PIN object, no contact keys.
        #expect(card.send("00 20 00 01 04 31 32 33 34") == "69 82")
        #expect(card.send("00 22 41 B6 06 80 01 42 84 01 81") == "6A 88")
        // The technical key signs without PIN; the file reference tag 81 is refused.
        #expect(card.send("00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 20") == "90 00")
        #expect(card.send("00 22 41 A4 06 80 01 02 81 01 00") == "6A 80")
        #expect(card.send("00 22 41 A4 03 80 01 02") == "90 00")
        let di = DigestInfo.encode(.sha256, digest: Digest.sha256(Array("badge".utf8)))
        let sig = card.process(h("00 88 00 00") + [UInt8(di.count)] + di + [0x00])
        #expect(sig.count == 258 && sig.suffix(2) == h("90 00"))
        let creds = try TestPKI.shared().credentials(forPersona: "cps3-durand")
        let tech = try #require(creds.technicalCert)
        #expect(try tech.publicKey().verifyPKCS1(signature: Array(sig.prefix(256)), digestInfo: di))
        // PSO CDS is refused over CL.
        #expect(card.send("00 2A 9E 9A 00") == "69 82")
    }

    @Test("Through a simulated contactless reader: the technical key authenticates without PIN, data come directly")
    func throughContactlessReader() async throws {
        let r = SimulatedReader(name: "Sim CL", configuration: .contactless())
        try await r.insert(persona: "cps3-durand")
        let info = try await r.connect(preferred: [.t1])
        #expect(info.atr == CPS3Files.contactlessATR)
        #expect(hx(try await r.transmit(h("00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 20"))) == "90 00")
        #expect(hx(try await r.transmit(h("00 22 41 A4 03 80 01 02"))) == "90 00")
        let di = DigestInfo.encode(.sha1, digest: Digest.sha1(Array("porte".utf8)))
        let sig = try await r.transmit(h("00 88 00 00") + [UInt8(di.count)] + di + [0x00])
        #expect(sig.count == 258 && sig.suffix(2) == h("90 00"))
        // A contact reader sees no card: the contactless personality has no contact plate of its own here.
        let contact = SimulatedReader(name: "Sim", configuration: .contact())
        let clCard = try CPS3Profile.makeCard(persona: try cpsPersona("cps3-durand"), interface: .contactless)
        await contact.insert(clCard)
        await #expect(throws: TransportError.self) { try await contact.connect(preferred: [.t0]) }
    }

    @Test("PersonaCatalog builds both personalities")
    func catalog() throws {
        let contact = try PersonaCatalog.makeCard(persona: "cps3-durand")
        #expect(contact.atr == CPS3Files.contactATR)
        let cl = try PersonaCatalog.makeCard(persona: "cps3-durand", interface: .contactless)
        #expect(cl.atr == CPS3Files.contactlessATR)
        #expect((contact as? OSCard)?.os.t0Mode == .strictT0)
    }
}

@Suite("CPS3 card: robustness")
struct CPS3FuzzTests {
    @Test("Random and mutated APDUs never crash and always end with a status word")
    func fuzz() throws {
        let card = try cpsCard()
        var rng = SplitMix64(seed: 0xC953)
        let seeds = [
            h("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80"), h("00 22 41 B6 06 80 01 42 84 01 81"),
            h("00 2A 90 A0 08 90 00 80 04 61 62 63 64"), h("00 88 00 00 05 01 02 03 04 05"),
            h("00 A4 09 04 04 3F 00 D0 03"), h("10 2A 80 86 03 81 00 00"),
        ]
        for i in 0..<4000 {
            var cmd: [UInt8]
            if i % 2 == 0 {
                cmd = seeds[Int(rng.next() % UInt64(seeds.count))]
                for _ in 0..<Int(rng.next() % 4) where !cmd.isEmpty {
                    cmd[Int(rng.next() % UInt64(cmd.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.next() % 5 == 0 { cmd = Array(cmd.prefix(Int(rng.next() % UInt64(cmd.count + 1)))) }
            } else {
                cmd = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            let r = card.process(cmd)
            #expect(r.count >= 2)
            if i % 500 == 0 { card.reset() }
        }
    }
}
