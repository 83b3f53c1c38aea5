import Foundation
@testable import CPS
import ISO7816
import Testing

/// Table tests of the CPS file parsers with the real-world bytes of cps.md §4.1 and §5, plus a no-crash pass.
@Suite struct CPSParsingTests {
    /// EF.ATR of a CPS3 as read by OpenSC (cps.md §4.1, trace S4-2223), 57 bytes with the stray leading `80`.
    static let efATR = [UInt8](hex: "80 43 01 B8 46 04 04 B0 EC C1 47 03 94 01 80 4F 08 80 25 00 00 01 FF 01 00 E0 10 02 02 01 04 02 02 01 04 02 02 01 00 02 02 01 00 78 08 06 06 2B 81 22 F8 78 02 82 02 90 00")!

    @Test("EF.ATR with the leading 80: buffer sizes, AID, pre-issuing data, status")
    func efATRReal() throws {
        #expect(Self.efATR.count == 57)
        let a = try CPSEFATR(parsing: Self.efATR)
        #expect(a.cardServiceData == 0xB8)
        #expect(a.preIssuingData == [0x04, 0xB0, 0xEC, 0xC1])
        #expect(a.cardCapabilities == [0x94, 0x01, 0x80])
        #expect(a.aid == [0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x01, 0x00])
        #expect(a.ioBufferSizes == [260, 260, 256, 256])
        #expect(a.maxResponseData == 256)
        #expect(a.maxCommandData == 260)
        #expect(a.status == [0x90, 0x00])
    }

    @Test("EF.ATR variants: leading 80 00, no leading byte, trailing zero padding → same decoding")
    func efATRVariants() throws {
        let base = try CPSEFATR(parsing: Self.efATR)
        let body = Array(Self.efATR.dropFirst())
        for v in [[0x80, 0x00] + body, body, Self.efATR + [0, 0, 0, 0, 0, 0]] {
            #expect(try CPSEFATR(parsing: v) == base)
        }
    }

    @Test("EF.ATR that is not BER-TLV → malformed, named")
    func efATRMalformed() {
        #expect(throws: CPSError.malformed("EF.ATR", reason: "TLV value at byte 1 announces 16 bytes but only 2 remain")) {
            try CPSEFATR(parsing: [0x80, 0xE0, 0x10, 0x02, 0x02])
        }
    }

    @Test("EF.SN.ICC from the trace of cps.md §4.1: 8 digits, Luhn digit, card number")
    func serial() throws {
        let s = try CPSSerialNumber(parsing: [UInt8](hex: "5A 0A 80 25 00 00 01 99 21 38 45 0F")!)
        #expect(s.digits == "99213845")
        #expect(s.checkDigit == 0)
        #expect(s.cardNumber == "0099213845")
        #expect(s.pan == [0x80, 0x25, 0x00, 0x00, 0x01, 0x99, 0x21, 0x38, 0x45, 0x0F])
    }

    @Test("EF.SN.ICC refusals: wrong length, wrong issuer, non-BCD digits")
    func serialRefusals() {
        #expect(throws: CPSError.self) { try CPSSerialNumber(parsing: [0x5A, 0x0A, 0x80]) }
        #expect(throws: CPSError.malformed("EF.SN.ICC", reason: "the PAN does not start with the ANS issuer number 80 25 00 00 01")) {
            try CPSSerialNumber(parsing: [UInt8](hex: "5A 0A 80 25 00 00 02 99 21 38 45 0F")!)
        }
        #expect(throws: CPSError.malformed("EF.SN.ICC", reason: "serial digits are not BCD")) {
            try CPSSerialNumber(parsing: [UInt8](hex: "5A 0A 80 25 00 00 01 9A 21 38 45 0F")!)
        }
    }

    @Test("CHV SDO answer of the trace (cps.md §5): 3 of 3 tries; usage counter 0 means 0 tries")
    func pinStatus() throws {
        let s = try CPSPinStatus(parsingSDO: [UInt8](hex: "70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00")!)
        #expect(s == CPSPinStatus(triesLeft: 3, maximumTries: 3, usesLeft: nil))
        let one = try CPSPinStatus(parsingSDO: [UInt8](hex: "70 0F BF 81 01 0B A0 09 9A 01 03 9B 01 01 9D 01 05")!)
        #expect(one == CPSPinStatus(triesLeft: 1, maximumTries: 3, usesLeft: 5))
        let used = try CPSPinStatus(parsingSDO: [UInt8](hex: "70 0F BF 81 01 0B A0 09 9A 01 03 9B 01 03 9D 01 00")!)
        #expect(used.triesLeft == 0 && used.isBlocked)
        #expect(throws: CPSError.malformed("PIN data object", reason: "no tries-remaining element (9B)")) {
            try CPSPinStatus(parsingSDO: [UInt8](hex: "70 09 BF 81 01 05 A0 03 9A 01 03")!)
        }
    }

    @Test("PIN status words → values: 63 Cx, 69 83, reader 64 xx (no try counted)")
    func pinStatusWords() {
        let table: [(UInt16, PINVerification, Bool)] = [
            (0x9000, .verified, false), (0x63C2, .wrongPIN(triesLeft: 2), false), (0x63C1, .wrongPIN(triesLeft: 1), false),
            (0x63C0, .blocked, false), (0x6983, .blocked, false), (0x6400, .pinpadTimeout, true),
            (0x6401, .pinpadCancelled, true), (0x6402, .pinpadPINsDiffer, true), (0x6403, .pinpadLengthRejected, true),
            (0x6982, .refused(StatusWord(0x6982)), false),
        ]
        for (sw, v, free) in table {
            #expect(PINVerification(statusWord: StatusWord(sw)) == v)
            #expect(PINVerification(statusWord: StatusWord(sw)).costNoTry == free)
        }
    }

    @Test("PKCS#15: EF.DIR records, ODF paths, CDF/DODF entries")
    func pkcs15() {
        let dir = [UInt8](hex: "61 1E 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 50 07 43 50 58 20 49 41 53 51 04 3F 00 00 01 00 00")!
        let apps = PKCS15Application.records(in: dir)
        #expect(apps == [PKCS15Application(aid: CPS.contactAID, label: "CPX IAS", path: [0x3F, 0x00, 0x00, 0x01])])
        let odf = PKCS15ObjectDirectory(parsing: [UInt8](hex: "A0 06 30 04 04 02 44 00 A4 06 30 04 04 02 44 02 A7 06 30 04 04 02 44 04 A8 06 30 04 04 02 44 03 00 00")!)
        #expect(odf.privateKeys == [[0x44, 0x00]])
        #expect(odf.certificates == [[0x44, 0x02]])
        #expect(odf.dataObjects == [[0x44, 0x04]])
        #expect(odf.authObjects == [[0x44, 0x03]])
        // CDF entry: label "Auth", iD 02, path C0 02.
        let cdf = [UInt8](hex: "30 17 30 06 0C 04 41 75 74 68 30 03 04 01 02 A1 08 30 06 30 04 04 02 C0 02")!
        #expect(PKCS15Entry.entries(in: cdf) == [PKCS15Entry(label: "Auth", authID: nil, id: [0x02], path: [0xC0, 0x02])])
        // DODF entry, private (authId 01).
        let dodf = [UInt8](hex: "30 1D 30 0E 0C 09 43 50 53 5F 41 43 54 5F 31 04 01 01 30 05 0C 03 43 50 53 A1 04 30 02 04 00")!
        #expect(PKCS15Entry.entries(in: dodf).first?.authID == [0x01])
    }

    /// `CpsNamePs` of the [D] ASN.1 (cps.md §11.2): type 8, idNat, civilité 2, DURAND, ALICE, "10".
    static let namePS = [UInt8](hex: "30 27 02 01 08 13 0C 38 39 39 37 30 30 34 31 32 33 34 35 02 01 02 0C 06 44 55 52 41 4E 44 0C 05 41 4C 49 43 45 13 02 31 30")!
    /// `CpsIdCard`: type 0 (CPS), issuer, number, validity, test card.
    static let idCard = [UInt8](hex: "30 3B 02 01 00 04 05 80 25 00 00 01 12 0A 30 30 30 30 34 31 32 33 34 35 18 0F 32 30 32 34 30 31 30 31 30 30 30 30 30 30 5A 18 0F 32 30 32 37 30 31 30 31 30 30 30 30 30 30 5A 01 01 FF")!

    @Test("holder data objects ([D] ASN.1): every field, INTEGER or string forms, trailing padding")
    func holder() throws {
        let h = try CPSHolder(idCard: Self.idCard + [0x00, 0x00], name: Self.namePS, info: [UInt8](hex: "30 0C 13 02 31 30 13 04 53 4D 32 36 13 00")!)
        #expect(h.cardType == .cps)
        #expect(h.cardTypeCode == "0")
        #expect(h.isTestCard == true)
        #expect(h.validUntil == Date(timeIntervalSince1970: 1_798_761_600))
        #expect(h.idNatType == 8)
        #expect(h.idNat == "899700412345")
        #expect(h.rpps == "99700412345")
        #expect(h.civilite == "MME")
        #expect(h.nomExercice == "DURAND")
        #expect(h.prenomExercice == "ALICE")
        #expect(h.profession == "10")
        #expect(h.specialite == "SM26")
        // String forms and a category without specialité.
        let staff = try CPSHolder(idCard: [UInt8](hex: "30 05 13 03 43 50 45")!, name: nil,
            info: [UInt8](hex: "30 10 13 00 13 0C 53 65 63 72 65 74 61 69 72 65 20 6D")!)
        #expect(staff.cardType == .cpe)
        #expect(!staff.cardType!.isHealthProfessional)
        #expect(staff.specialite == nil)
        #expect(staff.categorie == "Secretaire m")
        #expect(throws: CPSError.malformed("CPS_NAME_PS", reason: "3 fields, at least 5 expected")) {
            try CPSHolder(idCard: nil, name: [UInt8](hex: "30 09 02 01 08 13 01 38 02 01 01")!, info: nil)
        }
        #expect(throws: CPSError.malformed("CPS_ID_CARD", reason: "not a SEQUENCE")) {
            try CPSHolder(idCard: [0x04, 0x01, 0x00], name: nil, info: nil)
        }
    }

    @Test("situation d'exercice ([D] CpsActivity)")
    func situation() throws {
        let bytes = [UInt8](hex: "30 28 02 01 01 02 01 01 02 01 00 13 04 53 41 30 31 02 01 01 13 09 37 35 30 37 31 32 31 38 34 0C 09 43 48 20 53 49 4D 55 4C 45 00 00")!
        let s = try CPSSituation(parsing: bytes, index: 1)
        #expect(s.index == 1)
        #expect(s.modeExercice == "1")
        #expect(s.secteurActivite == "SA01")
        #expect(s.idStructType == 1)
        #expect(s.idStruct == "750712184")
        #expect(s.raisonSociale == "CH SIMULE")
    }

    @Test("parsers never crash on random and mutated inputs (deterministic seed)")
    func noCrash() {
        var rng = SplitMix64(seed: 0xC95_5EED)
        let seeds: [[UInt8]] = [Self.efATR, [UInt8](hex: "5A 0A 80 25 00 00 01 99 21 38 45 0F")!, Self.namePS, Self.idCard,
            [UInt8](hex: "70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00")!]
        for i in 0..<3000 {
            var b: [UInt8]
            if i % 2 == 0 {
                b = (0..<Int(rng.next() % 80)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                b = seeds[i % seeds.count]
                for _ in 0..<(1 + Int(rng.next() % 4)) where !b.isEmpty {
                    b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.next() % 3 == 0 { b = Array(b.prefix(Int(rng.next() % UInt64(b.count + 1)))) }
            }
            _ = try? CPSEFATR(parsing: b)
            _ = try? CPSSerialNumber(parsing: b)
            _ = try? CPSPinStatus(parsingSDO: b)
            _ = PKCS15Application.records(in: b)
            _ = PKCS15ObjectDirectory(parsing: b)
            _ = PKCS15Entry.entries(in: b)
            _ = try? CPSHolder(idCard: b, name: b, info: b)
            _ = try? CPSHolder(idCard: nil, name: b, info: nil)
            _ = try? CPSSituation(parsing: b, index: 1)
            if let n = CPSSession.derLength(b) { #expect(n >= 2) }
            if let f = CPSSession.firstElement(ofSequence: b) { #expect(f.count >= 2 && f.count <= b.count) }
        }
    }

    @Test("DER length from the first bytes of a file: the read stops there, padding is not read")
    func derLengthOfAFile() {
        #expect(CPSSession.derLength([0x30, 0x82, 0x04, 0x33]) == 1079)
        #expect(CPSSession.derLength([0x30, 0x27, 0x02]) == 41)
        #expect(CPSSession.derLength([0x30, 0x81, 0x8E]) == 145)
        #expect(CPSSession.derLength([0x30, 0x82, 0x04]) == nil)  // header incomplete
        #expect(CPSSession.derLength([0x30, 0x80]) == nil)  // indefinite length: read to the end
        #expect(CPSSession.derLength([0x00, 0x00, 0x00]) == nil)  // padding, not an element
        #expect(CPSSession.derLength([0xFF, 0x01]) == nil)
        #expect(CPSSession.derLength([0x30]) == nil)
    }

    @Test("the card type from the first 16 bytes of CPS_ID_CARD (INTEGER or string first field)")
    func cardTypeFromThePrefix() {
        #expect(CPSSession.firstElement(ofSequence: Array(Self.idCard.prefix(16))) == [0x02, 0x01, 0x00])
        #expect(CPSSession.firstElement(ofSequence: [UInt8](hex: "30 3B 0C 03 43 50 53 04 05")!) == [UInt8](hex: "0C 03 43 50 53")!)
        #expect(CPSSession.firstElement(ofSequence: [UInt8](hex: "30 81 90 02 01 02")!) == [0x02, 0x01, 0x02])
        #expect(CPSSession.firstElement(ofSequence: [UInt8](hex: "30 3B 0C 20 43 50")!) == nil)  // first field longer
        #expect(CPSSession.firstElement(ofSequence: [UInt8](hex: "31 03 02 01 00")!) == nil)  // not a SEQUENCE
        #expect(CPSSession.firstElement(ofSequence: [0x30]) == nil)
    }
}

/// Exact APDUs of the CPS session against `ScriptedTransport` (cps.md §5, §6.3 A/C/D), on the T=0 contact interface.
@Suite struct CPSScriptedTests {
    static let atr: [UInt8] = [0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90, 0x00]

    func session(_ t: ScriptedTransport) async throws -> CPSSession {
        try await CPSSession.connect(t, certificateCache: CPSCertificateCache())
    }

    @Test("PIN tries read without presenting a PIN: SELECT MF, GET DATA CHV SDO, 61 18 + GET RESPONSE")
    func pinStatus() async throws {
        let t = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        t.expect("00 A4 09 0C 02 3F 00", answer: "90 00")
        t.expect("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80", answer: "61 18")
        t.expect("00 C0 00 00 18", answer: "70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00 90 00")
        let s = try await session(t)
        #expect(try await s.recognise() == .contact)
        #expect(try await s.pinStatus() == CPSPinStatus(triesLeft: 3, maximumTries: 3))
        #expect(t.isComplete, "\(t.mismatches)")
    }

    @Test("no CHV SDO (6A 88) → VERIFY without data, 63 C2 → 2 tries; no PIN byte sent")
    func pinStatusFallback() async throws {
        let t = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        t.expect("00 A4 09 0C 02 3F 00", answer: "90 00")
        t.expect("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80", answer: "6A 88")
        t.expect("00 20 00 01", answer: "63 C2")
        #expect(try await session(t).pinStatus().triesLeft == 2)
        #expect(t.isComplete, "\(t.mismatches)")
    }

    @Test("EF.ATR and EF.SN.ICC by SFI, 6C xx honoured (T=0); the serial is read first without SELECT")
    func sfiReads() async throws {
        let t = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        t.expect("00 B0 9C 00 0C", answer: "5A 0A 80 25 00 00 01 00 41 23 45 0F 90 00")
        t.expect("00 B0 9D 00 00", answer: "6C 39")
        t.expect([0x00, 0xB0, 0x9D, 0x00, 0x39], answer: CPSParsingTests.efATR + [0x90, 0x00])
        let s = try await session(t)
        #expect(try await s.readEFATR()?.maxResponseData == 256)
        #expect(try await s.readSerial().cardNumber == "0000412345")
        #expect(t.isComplete, "\(t.mismatches)")
    }

    @Test("a card left in another DF: READ BINARY SFI 1C → 6A 82, then SELECT MF and the same read")
    func serialAfterAnotherDF() async throws {
        let t = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        t.expect("00 B0 9C 00 0C", answer: "6A 82")
        t.expect("00 A4 09 0C 02 3F 00", answer: "90 00")
        t.expect("00 B0 9C 00 0C", answer: "5A 0A 80 25 00 00 01 00 41 23 45 0F 90 00")
        #expect(try await session(t).readSerial().digits == "00412345")
        #expect(t.isComplete, "\(t.mismatches)")
        // Any other refusal of that first read is an error, not a reason to guess.
        let u = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        u.expect("00 B0 9C 00 0C", answer: "6F 00")
        await #expect(throws: CPSError.card(.unexpectedStatus(StatusWord(0x6F00), command: "READ BINARY at offset 0"))) {
            try await session(u).readSerial()
        }
    }

    @Test("tries left for an authentication: VERIFY without data first (7 characters), GET DATA only as fallback")
    func triesByEmptyVerify() async throws {
        let t = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        t.expect("00 20 00 01", answer: "63 C3")
        #expect(try await session(t).pinStatus(emptyVerifyFirst: true) == CPSPinStatus(triesLeft: 3))
        #expect(t.isComplete, "\(t.mismatches)")
        let u = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        u.expect("00 20 00 01", answer: "6D 00")
        u.expect("00 A4 09 0C 02 3F 00", answer: "90 00")
        u.expect("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80", answer: "61 18")
        u.expect("00 C0 00 00 18", answer: "70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 02 A1 08 8C 06 F3 00 00 13 FF 00 90 00")
        #expect(try await session(u).pinStatus(emptyVerifyFirst: true) == CPSPinStatus(triesLeft: 2, maximumTries: 3))
        #expect(u.isComplete, "\(u.mismatches)")
    }

    @Test("a certificate file: SELECT P2=0C by FID in the application DF, Le=00 chunks, the exact rest from the DER header")
    func certificateChunks() async throws {
        // A 600-byte DER element (30 82 02 54 …) in a 700-byte file: 256 + 256 + 88 bytes read, no padding.
        let der: [UInt8] = [0x30, 0x82, 0x02, 0x54] + (0..<596).map { UInt8($0 & 0xFF) }
        let file = der + [UInt8](repeating: 0, count: 100)
        let t = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        t.expect("00 B0 9C 00 0C", answer: "5A 0A 80 25 00 00 01 00 41 23 45 0F 90 00")
        t.expect("00 A4 09 0C 06 3F 00 00 01 D1 02", answer: "90 00")
        t.expect("00 B0 00 00 00", answer: "6C 29")
        t.expect([UInt8](hex: "00 B0 00 00 29")!, answer: [UInt8](repeating: 0x11, count: 41) + [0x90, 0x00])
        t.expect("00 A4 02 0C 02 C0 02", answer: "90 00")
        t.expect([UInt8](hex: "00 B0 00 00 00")!, answer: Array(file[0..<256]) + [0x90, 0x00])
        t.expect([UInt8](hex: "00 B0 01 00 00")!, answer: Array(file[256..<512]) + [0x90, 0x00])
        t.expect([UInt8](hex: "00 B0 02 00 58")!, answer: Array(file[512..<600]) + [0x90, 0x00])
        let s = try await session(t)
        _ = try await s.readSerial()
        #expect(try await s.readFile([0x3F, 0x00, 0x00, 0x01, 0xD1, 0x02])?.count == 41)
        #expect(try await s.readFile([0x3F, 0x00, 0x00, 0x01, 0xC0, 0x02], der: true) == der)
        #expect(t.isComplete, "\(t.mismatches)")
    }

    @Test("VERIFY 00 20 00 01 04 31 32 33 34 → 63 C2 → wrongPIN(2); a 3-digit PIN is refused without sending")
    func verify() async throws {
        let t = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        t.expect("00 20 00 01 04 31 32 33 34", answer: "63 C2")
        let s = try await session(t)
        #expect(try await s.verify(pin: try #require(SecretPIN(testDigits: "1234"))) == .wrongPIN(triesLeft: 2))
        await #expect(throws: CPSError.invalidPINFormat("a CPS PIN has 4 to 8 digits")) {
            try await s.verify(pin: try #require(SecretPIN(testDigits: "123")))
        }
        #expect(t.isComplete, "\(t.mismatches)")
    }

    @Test("INTERNAL AUTHENTICATE: SELECT app DF, MSE SET AT alg 02 key 82, 00 88 with the DigestInfo, 61 00 + GET RESPONSE")
    func internalAuthenticate() async throws {
        let t = ScriptedTransport(atr: Self.atr, activeProtocol: .t0)
        // Discovery: serial (the MF is current), EF.DIR (absent), ODF absent → [D] app path 3F00 0001. No EF.ATR:
        // on T=0 nothing can be read in chunks over 256 bytes anyway.
        t.expect("00 B0 9C 00 0C", answer: "5A 0A 80 25 00 00 01 00 41 23 45 0F 90 00")
        t.expect("00 B0 9E 00 00", answer: "6A 82")
        t.expect("00 A4 09 0C 06 3F 00 00 01 50 31", answer: "6A 82")
        t.expect("00 A4 09 0C 04 3F 00 00 01", answer: "90 00")
        t.expect("00 22 41 A4 06 80 01 02 84 01 82", answer: "90 00")
        let di = [UInt8](repeating: 0xAB, count: 51)
        t.expect([0x00, 0x88, 0x00, 0x00, 0x33] + di, answer: [0x61, 0x00])
        t.expect([0x00, 0xC0, 0x00, 0x00, 0x00], answer: [UInt8](repeating: 0x5C, count: 256) + [0x90, 0x00])
        let sig = try await session(t).internalAuthenticate(di)
        #expect(sig == [UInt8](repeating: 0x5C, count: 256))
        #expect(t.isComplete, "\(t.mismatches)")
    }

    @Test("unknown ATR: probing SELECT of the contact AID decides; a CPS4 ATR is notSupported")
    func recognition() async throws {
        let t = ScriptedTransport(atr: [0x3B, 0x80, 0x80, 0x01, 0x01], activeProtocol: .t1)
        t.expect("00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10", answer: "90 00")
        #expect(try await session(t).recognise() == .contact)
        let other = ScriptedTransport(atr: [0x3B, 0x80, 0x80, 0x01, 0x01], activeProtocol: .t1)
        other.expect("00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10", answer: "6A 82")
        other.expect("00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 20", answer: "6A 82")
        await #expect(throws: CPSError.notACPSCard(atr: [0x3B, 0x80, 0x80, 0x01, 0x01])) { try await session(other).recognise() }
        let cps4 = ScriptedTransport(atr: [UInt8](hex: "3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44")!, activeProtocol: .t1)
        await #expect(throws: CPSError.cps4NotSupported) { try await session(cps4).recognise() }
        #expect(cps4.sent.isEmpty)
    }
}
