import ISO7816
import Testing

@testable import Vitale

/// Table tests of the Vitale decoders (dates, POINTERS, Vitale 1 memory) and no-crash passes over mutated input.
@Suite struct VitaleDecodingTests {
    // MARK: Dates (vitale.md §6.3, §9.4 scenario 4–5)

    @Test(arguments: [
        ("19790412", true, false, "12/04/1979", "790412"),
        ("19650000", true, true, "01/01/1965", "650000"),
        ("19651300", true, true, "01/01/1965", "651300"),
        ("19650231", true, true, "01/01/1965", "650231"),
        ("20000229", true, false, "29/02/2000", "000229"),
        ("19000229", true, true, "01/01/1900", "000229"),
        ("650417", false, false, "17/04/??65", "650417"),
        ("380300", false, true, "01/01/??38", "380300"),
        ("421901", false, true, "01/01/??42", "421901"),
    ])
    func cardDates(raw: String, century: Bool, lunar: Bool, shown: String, six: String) throws {
        let d = try #require(VitaleCardDate(raw))
        #expect(d.raw == raw)
        #expect(d.hasCentury == century)
        #expect(d.isLunar == lunar)
        #expect(d.displayable == shown)
        #expect(d.sixDigits == six)
    }

    @Test(arguments: ["", "1965", "1965000", "196500000", "1965OO00", "19 50101"])
    func invalidDatesAreRefused(raw: String) {
        #expect(VitaleCardDate(raw) == nil)
    }

    @Test func rightsDatesOfVitale1AreInThe2000s() {
        #expect(VitaleDay(stored: "991231") == VitaleDay(year: 2099, month: 12, day: 31))
        #expect(VitaleDay(stored: "20241231") == VitaleDay(year: 2024, month: 12, day: 31))
        let p = VitaleRightsPeriod(start: "240101", end: "991231")
        #expect(p.contains(VitaleDay(year: 2026, month: 11, day: 29)))
        #expect(!p.contains(VitaleDay(year: 2023, month: 12, day: 31)))
    }

    // MARK: POINTERS (vitale.md §4.1.3, §9.2 example)

    @Test func pointersExampleDecodes() throws {
        let p = try Vitale2Pointers(decoding: [UInt8](hex: VitaleScriptedTests.pointers)!)
        #expect(p.applications.map(\.entryID) == [1, 2])
        #expect(p.applications[0].aid == Vitale2Identifiers.mfVitaleAID)
        #expect(p.applications[1].aid == Vitale2Identifiers.vitaleAID)
        #expect(p.files.map(\.label) == ["IDENT", "BENEF", "CARTE", "AMO", "AMC", "CERT", "PHOTO"])
        #expect(p.files.map(\.fid) == [0x2002, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007])
        #expect(p.files.map(\.applicationEntryID) == [1, 2, 2, 2, 2, 2, 2])
        #expect(p.file(labelled: "amo")?.fid == 0x2004)
    }

    @Test func pointersWithoutE0IsCorrupted() {
        #expect(throws: VitaleError.corruptedData(file: "POINTERS", detail: "no E0 template")) {
            _ = try Vitale2Pointers(decoding: [0x65, 0x00, 0x00])
        }
        #expect(throws: VitaleError.corruptedData(file: "POINTERS", detail: "file entry of 3 bytes")) {
            _ = try Vitale2Pointers(decoding: [0xE0, 0x05, 0x80, 0x03, 0x41, 0x42, 0x43])
        }
    }

    // MARK: Vitale 2 templates

    @Test func longFormTemplateLengthIsRead() throws {
        // A 65 template of 150 bytes (long-form length 81 96): a 1-byte-length parser would fail (§9.4 scenario 12)
        let longName = String(repeating: "A", count: 120)
        let ident = BERTLV(tag: 0x65, children: [
            BERTLV(tag: 0x80, value: Array(longName.utf8)), BERTLV(tag: 0x81, value: Array("MARIE".utf8)),
            BERTLV(tag: 0x82, value: Array("19800101".utf8)),
        ]).encoded
        #expect(ident[1] == 0x81)
        #expect(ident.count >= 128)
        let benef = BERTLV(tag: 0x65, children: [
            BERTLV(tag: 0x93, value: Array("280017505612366".utf8)), BERTLV(tag: 0x85, value: Array("00".utf8)),
        ]).encoded
        let card = try Vitale2Decoder.decode(
            Vitale2Files(ident: ident + [0, 0], benef: benef), atr: [], careDate: VitaleDay(year: 2026, month: 1, day: 1))
        #expect(card.beneficiaries[0].nomUsuel == longName)
        #expect(card.beneficiaries[0].prenom == "MARIE")
        #expect(card.beneficiaries[0].rang == 1)
    }

    @Test func latin1NamesAndSpacePaddingAreDecoded() throws {
        let ident = BERTLV(tag: 0x65, children: [
            BERTLV(tag: 0x80, value: [0x48, 0xC9, 0x4C, 0x4F, 0x49, 0x53, 0x45, 0x20, 0x20]),  // "HÉLOISE  "
            BERTLV(tag: 0x81, value: Array("JEAN-BAPTISTE ".utf8)), BERTLV(tag: 0x82, value: Array("650417".utf8)),
        ]).encoded
        let benef = BERTLV(tag: 0x65, children: [BERTLV(tag: 0x93, value: Array("185022A00401717".utf8))]).encoded
        let card = try Vitale2Decoder.decode(Vitale2Files(ident: ident, benef: benef), atr: [], careDate: VitaleDay(year: 2026, month: 1, day: 1))
        #expect(card.beneficiaries[0].nomUsuel == "HÉLOISE")
        #expect(card.beneficiaries[0].prenom == "JEAN-BAPTISTE")
        #expect(card.beneficiaries[0].dateNaissance.raw == "650417")
        #expect(card.beneficiaries[0].nir == "185022A00401717")
    }

    @Test func amcTemplatesAttachToTheirBeneficiary() throws {
        func t(_ tag: UInt32, _ s: String) -> BERTLV { BERTLV(tag: tag, value: Array(s.utf8)) }
        let ident = [("MARTIN", "CLAIRE"), ("MARTIN", "PAUL")].flatMap { n, p in
            BERTLV(tag: 0x65, children: [t(0x80, n), t(0x81, p), t(0x82, "19790412")]).encoded
        }
        let benef = (0..<2).flatMap { i in
            BERTLV(tag: 0x65, children: [t(0x93, "279047511203483"), t(0x85, i == 0 ? "00" : "02")]).encoded
        }
        // Only the second beneficiary (index byte 2, counted from 1) has complementary cover
        let amc = BERTLV(tag: 0x69, children: [
            BERTLV(tag: 0x80, value: [2]), t(0x81, "12345678"), t(0x82, "EDI0001"), t(0x83, "ADH42"), t(0x84, "12"),
            t(0x85, "20250101"), t(0x86, "20251231"), t(0x87, "M"), t(0x88, "HOTE1"), t(0x89, "mutuelle.example"),
        ]).encoded
        let card = try Vitale2Decoder.decode(
            Vitale2Files(ident: ident, benef: benef, amc: amc + [0, 0]), atr: [], careDate: VitaleDay(year: 2026, month: 1, day: 1))
        #expect(card.beneficiaries[0].amc == nil)
        #expect(card.beneficiaries[1].amc == VitaleAMC(
            numeroB2: "12345678", numeroEDI: "EDI0001", numeroAdherent: "ADH42", indicateurTraitement: "12",
            validityStart: "20250101", validityEnd: "20251231", codeRoutage: "M", identifiantHote: "HOTE1",
            nomDomaine: "mutuelle.example"))
        #expect(card.beneficiaries[1].qualite == "02")
        #expect(card.assure?.prenom == "CLAIRE")
    }

    @Test func identityAndNIRCountsMustAgree() {
        let ident = [UInt8](hex: VitaleScriptedTests.ident)!
        let oneNIR = BERTLV(tag: 0x65, children: [BERTLV(tag: 0x93, value: Array("168017505612381".utf8))]).encoded
        #expect(throws: VitaleError.corruptedData(file: "beneficiary", detail: "2 identities but 1 NIR templates; they cannot be paired")) {
            _ = try Vitale2Decoder.decode(Vitale2Files(ident: ident, benef: oneNIR), atr: [], careDate: VitaleDay(year: 2026, month: 1, day: 1))
        }
    }

    @Test func badNIRFieldIsCorrupted() {
        let ident = BERTLV(tag: 0x65, children: [
            BERTLV(tag: 0x80, value: Array("X".utf8)), BERTLV(tag: 0x81, value: Array("Y".utf8)),
            BERTLV(tag: 0x82, value: Array("19800101".utf8)),
        ]).encoded
        let benef = BERTLV(tag: 0x65, children: [BERTLV(tag: 0x93, value: Array("16801750561238".utf8))]).encoded
        #expect(throws: VitaleError.corruptedData(file: "beneficiary", detail: "the card NIR is not 15 NIR characters")) {
            _ = try Vitale2Decoder.decode(Vitale2Files(ident: ident, benef: benef), atr: [], careDate: VitaleDay(year: 2026, month: 1, day: 1))
        }
    }

    // MARK: Vitale 1 memory (vitale.md §4.2 worked example, §9.3)

    @Test func vitale1WorkedExampleDecodes() {
        // Words 3F FF F5 40 | 24 08 43 FF sit at an odd word of the stream: preceded by a blank word they give
        // FFFF 540902 10 (birth date 540902, rang 1, qualité 0).
        let words: [UInt8] = [0x3F, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xF5, 0x40, 0x24, 0x08, 0x43, 0xFF]
        let n = Vitale1Memory.nibbles(fromWords: words)
        #expect(n.count == 22)  // 90 bits
        let digits = n.filter { $0 != 0xF }
        #expect(digits == [5, 4, 0, 9, 0, 2, 1, 0])
    }

    @Test func vitale1PointersAreRead() throws {
        let prod: [UInt8] = [
            0x20, 0x80, 0x03, 0x00, 0x20, 0x80, 0x03, 0x50, 0x20, 0x80, 0x04, 0x10, 0x20, 0x80, 0x04, 0x40,
            0x3F, 0xFF, 0xFF, 0xFF,
        ]
        let p = try Vitale1Memory.pointers(fromProductionArea: prod)
        #expect(p == Vitale1Memory.Pointers(assure: 0x300, beneficiaires: 0x350, droits: 0x410, historique: 0x440))
        #expect(throws: VitaleError.corruptedData(file: "production area", detail: "1 zone pointer(s) instead of 4")) {
            _ = try Vitale1Memory.pointers(fromProductionArea: [0x20, 0x80, 0x03, 0x00, 0x3F, 0xFF, 0xFF, 0xFF])
        }
    }

    /// Packs nibbles the way §9.3 describes (30-bit payloads, top bits 00, `F` filler): independent of the simulator.
    static func pack(_ nibbles: [UInt8]) -> [UInt8] {
        var bits: [UInt8] = nibbles.flatMap { n in (0..<4).reversed().map { (n >> UInt8($0)) & 1 } }
        while bits.count % 30 != 0 { bits.append(1) }
        var out: [UInt8] = []
        for s in stride(from: 0, to: bits.count, by: 30) {
            let w = bits[s..<(s + 30)].reduce(UInt32(0)) { $0 << 1 | UInt32($1) }
            out += [UInt8(w >> 24), UInt8(w >> 16 & 0xFF), UInt8(w >> 8 & 0xFF), UInt8(w & 0xFF)]
        }
        return out
    }

    static func digits(_ s: String) -> [UInt8] { s.utf8.map { $0 >= 0x41 ? $0 - 0x41 + 10 : $0 - 0x30 } }
    static func text(_ s: String) -> [UInt8] { (Array(s.utf8) + [0xFF]).flatMap { [$0 >> 4, $0 & 0xF] } }

    @Test func vitale1ZonesDecode() throws {
        let assure = Self.pack(Self.digits("01" + "7234567890123452" + "18502A2004017" + "17" + "01" + "201" + "0001" + "10"))
        let a = try Vitale1Memory.decodeAssure(Vitale1Memory.nibbles(fromWords: assure))
        #expect(a.cardType == "01")
        #expect(a.serial == "7234567890123452")
        #expect(a.insured == VitaleInsured(nir: "185022A00401717", regime: "01", caisse: "201", centre: "0001", codeGestion: "10"))

        let benef = Self.pack(
            Self.digits("38071510") + Self.text("LEFEBVRE") + Self.text("ANDRE") + Self.digits("65000016")
                + Self.text("LEFEBVRE") + Self.text("ZOE"))
        let b = try Vitale1Memory.decodeBeneficiaires(Vitale1Memory.nibbles(fromWords: benef))
        #expect(b == [
            .init(date: "380715", rang: 1, qualite: "00", nom: "LEFEBVRE", prenom: "ANDRE"),
            .init(date: "650000", rang: 1, qualite: "06", nom: "LEFEBVRE", prenom: "ZOE"),
        ])

        let droits = Self.pack(Self.digits("1" + "240101991231" + "2" + "200101231231" + "240101251231"))
        let d = try Vitale1Memory.decodeDroits(Vitale1Memory.nibbles(fromWords: droits), beneficiaryCount: 2)
        #expect(d == [
            [VitaleRightsPeriod(start: "240101", end: "991231")],
            [VitaleRightsPeriod(start: "200101", end: "231231"), VitaleRightsPeriod(start: "240101", end: "251231")],
        ])
    }

    @Test func vitale1ZoneWithoutTerminatorIsCorrupted() {
        // the filler after "LE" ends the name; the first name then runs out
        let benef = Self.pack(Self.digits("38071510") + [4, 12, 4, 5])
        #expect(throws: VitaleError.corruptedData(file: "Vitale 1 memory", detail: "first name has no FF terminator")) {
            _ = try Vitale1Memory.decodeBeneficiaires(Vitale1Memory.nibbles(fromWords: benef))
        }
    }

    // MARK: No-crash passes (deterministic seed)

    @Test func mutatedFilesNeverCrash() {
        var g = SplitMix64(seed: 0x5649_5441_4C45)
        let pointers = [UInt8](hex: VitaleScriptedTests.pointers)!
        let ident = [UInt8](hex: VitaleScriptedTests.ident)!
        let benef = [UInt8](hex: VitaleScriptedTests.benef)!
        let amo = [UInt8](hex: VitaleScriptedTests.amo())!
        var decoded = 0
        var refused = 0
        for round in 0..<4000 {
            func mutate(_ b: [UInt8]) -> [UInt8] {
                var m = b
                let flips = Int.random(in: 1...4, using: &g)
                for _ in 0..<flips where !m.isEmpty { m[Int.random(in: 0..<m.count, using: &g)] = UInt8.random(in: 0...255, using: &g) }
                if round % 5 == 0 { m = Array(m.prefix(Int.random(in: 0...m.count, using: &g))) }
                return m
            }
            _ = try? Vitale2Pointers(decoding: mutate(pointers))
            do {
                _ = try Vitale2Decoder.decode(
                    Vitale2Files(ident: mutate(ident), benef: mutate(benef), amo: mutate(amo)), atr: [],
                    careDate: VitaleDay(year: 2026, month: 1, day: 1))
                decoded += 1
            } catch {
                refused += 1
            }
            let random = (0..<Int.random(in: 0...64, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            _ = try? Vitale1Memory.decodeBeneficiaires(Vitale1Memory.nibbles(fromWords: random))
            _ = try? Vitale1Memory.decodeAssure(Vitale1Memory.nibbles(fromWords: random))
            _ = try? Vitale1Memory.decodeDroits(Vitale1Memory.nibbles(fromWords: random), beneficiaryCount: 3)
            _ = try? Vitale1Memory.pointers(fromProductionArea: random)
        }
        #expect(decoded + refused == 4000)
        #expect(refused > 0)
        #expect(decoded > 0)
    }
}
