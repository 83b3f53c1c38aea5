import ISO7816
import Testing

@testable import Vitale

/// Exact-byte tests of the Vitale reader against `ScriptedTransport` (vitale.md §5, §9.2 examples).
@Suite struct VitaleScriptedTests {
    static let vitale2ATR: [UInt8] = [0x3B, 0x75, 0x13, 0x00, 0x00, 0x47, 0x09, 0xEA, 0x90, 0x00]
    static let careDate = VitaleDay(year: 2026, month: 11, day: 29)

    // MARK: File contents (vitale.md §9.2 examples: DUPONT JEAN + child LEA)

    /// The 140-byte POINTERS example of vitale.md §9.2, verbatim.
    static let pointers = """
        E0 81 89 A0 25 82 12 00 01 00 00 D2 50 00 00 02
        4D 46 5F 56 49 54 41 4C 45 82 0F 00 02 00 00 D2
        50 00 00 02 56 49 54 41 4C 45 80 0C 49 44 45 4E
        54 20 20 20 00 01 20 02 80 0C 42 45 4E 45 46 20
        20 20 00 02 20 02 80 0C 43 41 52 54 45 20 20 20
        00 02 20 03 80 0C 41 4D 4F 20 20 20 20 20 00 02
        20 04 80 0C 41 4D 43 20 20 20 20 20 00 02 20 05
        80 0C 43 45 52 54 20 20 20 20 00 02 20 06 80 0C
        50 48 4F 54 4F 20 20 20 00 02 20 07
        """
    /// MF SFI 2 (IDENT) example of vitale.md §9.2, then 00 padding.
    static let ident = """
        65 18 80 06 44 55 50 4F 4E 54 81 04 4A 45 41 4E 82 08 31 39 36 38 30 31 31 37
        65 17 80 06 44 55 50 4F 4E 54 81 03 4C 45 41 82 08 32 30 31 32 30 33 30 39 00 00 00 00
        """
    /// VITALE SFI 2 (BENEF) example of vitale.md §9.2, then 00 padding.
    static let benef = """
        65 18 93 0F 31 36 38 30 31 37 35 30 35 36 31 32 33 38 31 84 01 31 85 02 30 30
        65 29 93 0F 31 36 38 30 31 37 35 30 35 36 31 32 33 38 31 84 01 31 85 02 30 36
              86 0F 32 31 32 30 33 37 35 31 31 32 30 38 38 39 35 00 00 00 00
        """
    static var carte: String {
        let t = BERTLV(tag: 0x66, children: [
            BERTLV(tag: 0x80, value: Array("20210315".utf8)), BERTLV(tag: 0x82, value: Array("2".utf8)),
            BERTLV(tag: 0x83, value: Array("1234567890123456".utf8)),
        ])
        return (t.encoded + [0, 0, 0, 0]).hexString()
    }
    static func amo(caisse: String = "751") -> String {
        func period(_ s: String, _ e: String) -> BERTLV {
            BERTLV(tag: 0xA0, children: [BERTLV(tag: 0x80, value: Array(s.utf8)), BERTLV(tag: 0x81, value: Array(e.utf8))])
        }
        let org = BERTLV(tag: 0x67, children: [
            BERTLV(tag: 0x80, value: Array("01".utf8)), BERTLV(tag: 0x81, value: Array(caisse.utf8)),
            BERTLV(tag: 0x82, value: Array("0012".utf8)), BERTLV(tag: 0x83, value: Array("10".utf8)),
        ])
        let r1 = BERTLV(tag: 0x68, children: [BERTLV(tag: 0x80, value: [1]), period("20240101", "20991231")])
        let r2 = BERTLV(tag: 0x68, children: [
            BERTLV(tag: 0x80, value: [2]), period("20200101", "20231231"), period("20270101", "20301231"),
        ])
        return (org.encoded + r1.encoded + r2.encoded + [0, 0]).hexString()
    }
    static let amc = "00 00 00 00 00 00 00 00"

    static let selectVitale = "00 A4 04 0C 0B D2 50 00 00 02 56 49 54 41 4C 45"
    static let selectMFVitale = "00 A4 04 0C 0E D2 50 00 00 02 4D 46 5F 56 49 54 41 4C 45"
    static let selectMF = "00 A4 00 0C 02 3F 00"

    static func transport(atr: [UInt8] = vitale2ATR) -> ScriptedTransport {
        ScriptedTransport(readerName: "test", atr: atr, activeProtocol: .t0)
    }

    static func bytes(_ hex: String) -> [UInt8] { [UInt8](hex: hex)! }

    /// The answer of a card in `auto` mode (vitale.md §9.1) to READ BINARY of `le` bytes at `offset` of `file`:
    /// the bytes, then `90 00`, or `62 82` when the file ends before Le.
    static func answer(_ file: String, _ offset: Int, _ le: Int) -> String {
        let f = bytes(file)
        let end = min(f.count, offset + le)
        return f[offset..<end].hexString() + (end < offset + le ? "62 82" : "90 00")
    }

    /// The fewest-APDU Vitale 2 read of the two-person example (8 commands, no byte read twice, no POINTERS):
    /// IDENT by SFI 2 in the MF (60 bytes: 51 of data + the first padding bytes), SELECT VITALE without FCI, BENEF
    /// (2 × 26 + 1 = 53 bytes, then the 16 the second template still announces + 1), CARTE (34), AMO
    /// (21 + 2 × 27 + 1 = 76, then 21 + 1), AMC (1 byte: `00`, empty).
    static func scriptNominal(_ t: ScriptedTransport, amo: String = amo(), amc: String = amc, amcSW: String? = nil) {
        t.expect("00 B0 82 00 3C", answer: answer(ident, 0, 60))
        t.expect(selectVitale, answer: "90 00")
        t.expect("00 B0 82 00 35", answer: answer(benef, 0, 53))
        t.expect("00 B0 00 35 11", answer: answer(benef, 53, 17))
        t.expect("00 B0 83 00 22", answer: answer(carte, 0, 34))
        t.expect("00 B0 84 00 4C", answer: answer(amo, 0, 76))
        t.expect("00 B0 00 4C 16", answer: answer(amo, 76, 22))
        t.expect("00 B0 85 00 01", answer: amcSW ?? answer(amc, 0, 1))
    }

    @Test func exactAPDUSequenceForAVitale2Read() async throws {
        let t = Self.transport()
        Self.scriptNominal(t)
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(t.isComplete)
        #expect(t.sent.count == 8)
        #expect(card.kind == .vitale2)
        #expect(card.atr == Self.vitale2ATR)
        #expect(card.serial == "1234567890123456")
        #expect(card.validityStart == "20210315")
        #expect(card.cardType == "2")
        #expect(card.insured == VitaleInsured(nir: "168017505612381", regime: "01", caisse: "751", centre: "0012", codeGestion: "10"))
        #expect(card.isTestCard == false)
        #expect(card.protectedData == [])
        #expect(card.beneficiaries.count == 2)
        let jean = card.beneficiaries[0]
        #expect(jean.nomUsuel == "DUPONT")
        #expect(jean.nomPatronymique == "DUPONT")
        #expect(jean.prenom == "JEAN")
        #expect(jean.dateNaissance.raw == "19680117")
        #expect(jean.rang == 1)
        #expect(jean.qualite == "00")
        #expect(jean.nir == "168017505612381")
        #expect(jean.nirCertifie == nil)
        #expect(jean.rights == [VitaleRightsPeriod(start: "20240101", end: "20991231")])
        #expect(jean.rightsOpen(at: Self.careDate).isOpen)
        let lea = card.beneficiaries[1]
        #expect(lea.prenom == "LEA")
        #expect(lea.dateNaissance.raw == "20120309")
        #expect(lea.qualite == "06")
        #expect(lea.nir == "168017505612381")  // the ouvrant droit's NIR, paired by index
        #expect(lea.nirCertifie == "212037511208895")
        #expect(lea.rights.count == 2)
        // 2024…2026: between the two periods, the next one starts in 2027
        #expect(lea.rightsOpen(at: Self.careDate) == .notYetOpen(VitaleRightsPeriod(start: "20270101", end: "20301231")))
        #expect(lea.rightsOpen(at: VitaleDay(year: 2028, month: 1, day: 1)).isOpen)
        #expect(lea.rightsOpen(at: VitaleDay(year: 2031, month: 1, day: 1)) == .closed(lastEnd: VitaleDay(year: 2030, month: 12, day: 31)))
    }

    @Test func strictT0AnswersAreHandled() async throws {
        // IDENT read with Le 60 on a 55-byte file answered 6C 37 (re-sent with Le 37), SELECT answered 61 xx (success;
        // the FCI is not needed, so no GET RESPONSE)
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: "6C 37")
        t.expect("00 B0 82 00 37", answer: Self.answer(Self.ident, 0, 55))
        t.expect(Self.selectVitale, answer: "61 1C")
        t.expect("00 B0 82 00 35", answer: Self.answer(Self.benef, 0, 53))
        t.expect("00 B0 00 35 11", answer: Self.answer(Self.benef, 53, 17))
        t.expect("00 B0 83 00 22", answer: Self.answer(Self.carte, 0, 34))
        t.expect("00 B0 84 00 4C", answer: Self.answer(Self.amo(), 0, 76))
        t.expect("00 B0 00 4C 16", answer: Self.answer(Self.amo(), 76, 22))
        t.expect("00 B0 85 00 01", answer: "00 90 00")
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(t.isComplete)
        #expect(card.beneficiaries.map(\.prenom) == ["JEAN", "LEA"])
        #expect(card.beneficiaries[1].nirCertifie == "212037511208895")
    }

    @Test func dataFillingTheFileToItsLastByte() async throws {
        // IDENT of exactly 51 bytes (no padding): the second read asks for 1 byte past the data and gets 6B 00;
        // BENEF of exactly 69 bytes: the follow-up READ reaches the end with 62 82. Nothing is read past the file.
        let identFull = Self.bytes(Self.ident).prefix(51).hexString()
        let benefFull = Self.bytes(Self.benef).prefix(69).hexString()
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: Self.answer(identFull, 0, 60))  // 51 bytes + 62 82: ends at a template end
        t.expect(Self.selectVitale, answer: "90 00")
        t.expect("00 B0 82 00 35", answer: Self.answer(benefFull, 0, 53))
        t.expect("00 B0 00 35 11", answer: Self.answer(benefFull, 53, 17))  // 16 bytes + 62 82
        t.expect("00 B0 83 00 22", answer: Self.answer(Self.carte, 0, 34))
        t.expect("00 B0 84 00 4C", answer: Self.answer(Self.amo(), 0, 76))
        t.expect("00 B0 00 4C 16", answer: Self.answer(Self.amo(), 76, 22))
        t.expect("00 B0 85 00 01", answer: "6B 00")  // an AMC file of 0 bytes
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(t.isComplete)
        #expect(card.beneficiaries.map(\.prenom) == ["JEAN", "LEA"])
        #expect(card.beneficiaries.map(\.amc) == [nil, nil])
    }

    @Test func templateEndingExactlyAtAChunkEndAsksOneByteMore() async throws {
        // CARTE of 33 bytes in a file of exactly 33: READ of 34 returns 33 + 62 82. AMO in a file that ends exactly
        // with the second 68: the follow-up of 22 bytes returns 21 + 62 82.
        let carteFull = Self.bytes(Self.carte).prefix(33).hexString()
        let amoFull = Self.bytes(Self.amo()).prefix(97).hexString()
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: Self.answer(Self.ident, 0, 60))
        t.expect(Self.selectVitale, answer: "90 00")
        t.expect("00 B0 82 00 35", answer: Self.answer(Self.benef, 0, 53))
        t.expect("00 B0 00 35 11", answer: Self.answer(Self.benef, 53, 17))
        t.expect("00 B0 83 00 22", answer: Self.answer(carteFull, 0, 34))
        t.expect("00 B0 84 00 4C", answer: Self.answer(amoFull, 0, 76))
        t.expect("00 B0 00 4C 16", answer: Self.answer(amoFull, 76, 22))
        t.expect("00 B0 85 00 01", answer: "00 90 00")
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(t.isComplete)
        #expect(card.serial == "1234567890123456")
        #expect(card.beneficiaries[1].rights.count == 2)
    }

    @Test func lengthPointingPastTheFileIsATypedErrorWithoutReadingPastIt() async throws {
        // The second BENEF template announces 0x60 bytes, but the file (padding included) ends at byte 73: the
        // follow-up READ gets the last 20 bytes with 62 82, and the reader stops there with a typed error.
        var b = Self.bytes(Self.benef)
        b[27] = 0x60
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: Self.answer(Self.ident, 0, 60))
        t.expect(Self.selectVitale, answer: "90 00")
        t.expect("00 B0 82 00 35", answer: Self.answer(b.hexString(), 0, 53))
        // up to 26 + 2 + 96 = 124, then 0 more templates + 1 byte: 124 - 53 + 1 = 72 = 0x48
        t.expect("00 B0 00 35 48", answer: Self.answer(b.hexString(), 53, 72))
        await #expect(
            throws: VitaleError.corruptedData(
                file: "beneficiary", detail: "the template at byte 26 announces 96 bytes but the file ends at byte 73")
        ) {
            _ = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        }
        #expect(t.mismatches == [])
        #expect(t.isComplete)
    }

    @Test func absurdLengthIsATypedErrorWithoutAnyFurtherRead() async throws {
        // 65 83 FF FF FF: 16 MiB announced, more than any READ BINARY file holds: no second READ
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: "65 83 FF FF FF 80 06 44 55 50 4F 4E 54 62 82")
        await #expect(
            throws: VitaleError.corruptedData(
                file: "identity", detail: "the template at byte 0 announces 16777215 bytes, more than a file holds")
        ) {
            _ = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        }
        #expect(t.isComplete)
    }

    @Test func selectWithoutFCIRefusedIsSentAgainWithP2Zero() async throws {
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: Self.answer(Self.ident, 0, 60))
        t.expect(Self.selectVitale, answer: "6A 86")
        t.expect("00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45", answer: "61 1C")
        t.expect("00 B0 82 00 35", answer: Self.answer(Self.benef, 0, 53))
        t.expect("00 B0 00 35 11", answer: Self.answer(Self.benef, 53, 17))
        t.expect("00 B0 83 00 22", answer: Self.answer(Self.carte, 0, 34))
        t.expect("00 B0 84 00 4C", answer: Self.answer(Self.amo(), 0, 76))
        t.expect("00 B0 00 4C 16", answer: Self.answer(Self.amo(), 76, 22))
        t.expect("00 B0 85 00 01", answer: "00 90 00")
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(card.beneficiaries.count == 2)
    }

    @Test func vitaleLeftSelectedByAPreviousSessionGivesBenefFirst() async throws {
        // SFI 2 of the current DF is BENEF (65 with 93): kept as BENEF, then CARTE, AMO, AMC, SELECT MF, IDENT.
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: Self.answer(Self.benef, 0, 60))
        // BENEF read with the IDENT plan (count unknown): up to 69, one more template of 30, one byte
        t.expect("00 B0 00 3C 28", answer: Self.answer(Self.benef, 60, 40))
        t.expect("00 B0 83 00 22", answer: Self.answer(Self.carte, 0, 34))
        t.expect("00 B0 84 00 4C", answer: Self.answer(Self.amo(), 0, 76))
        t.expect("00 B0 00 4C 16", answer: Self.answer(Self.amo(), 76, 22))
        t.expect("00 B0 85 00 01", answer: "00 90 00")
        t.expect(Self.selectMF, answer: "90 00")
        t.expect("00 B0 82 00 3D", answer: Self.answer(Self.ident, 0, 61))
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(t.isComplete)
        #expect(card.beneficiaries.map(\.prenom) == ["JEAN", "LEA"])
        #expect(card.beneficiaries[1].nirCertifie == "212037511208895")
    }

    @Test func endOfFileBeforeLeAndFollowUpChunks() async throws {
        // A BENEF file of exactly 256 + 40 bytes (8 templates of 35 bytes, then padding): 8 × 26 + 1 = 209 bytes
        // first, then the rest of the 6th template and 2 more estimated, then the last one and 1 byte.
        var big: [UInt8] = []
        for i in 0..<8 {
            let name = Array("ENFANT\(i)".utf8)
            big += BERTLV(tag: 0x65, children: [
                BERTLV(tag: 0x93, value: Array("168017505612381".utf8)), BERTLV(tag: 0x84, value: [0x31]),
                BERTLV(tag: 0x85, value: Array((i == 0 ? "00" : "06").utf8)), BERTLV(tag: 0x88, value: name),
            ]).encoded
        }
        big += [UInt8](repeating: 0, count: 296 - big.count)
        #expect(big.count == 296)
        var identBytes: [UInt8] = []
        for i in 0..<8 {
            identBytes += BERTLV(tag: 0x65, children: [
                BERTLV(tag: 0x80, value: Array("DUPONT".utf8)), BERTLV(tag: 0x81, value: Array("P\(i)".utf8)),
                BERTLV(tag: 0x82, value: Array("20100101".utf8)),
            ]).encoded
        }
        identBytes += [0, 0]
        #expect(identBytes.count == 8 * 24 + 2)
        let ident = identBytes.hexString(), benef = big.hexString()
        let t = Self.transport()
        // IDENT (8 templates of 24 bytes, count unknown): 60, then the rest of the 3rd template + one more of 30 + 1, …
        t.expect("00 B0 82 00 3C", answer: Self.answer(ident, 0, 60))
        t.expect("00 B0 00 3C 2B", answer: Self.answer(ident, 60, 43))
        t.expect("00 B0 00 67 30", answer: Self.answer(ident, 103, 48))
        t.expect("00 B0 00 97 30", answer: Self.answer(ident, 151, 48))  // the last 43 bytes + 62 82
        t.expect(Self.selectVitale, answer: "90 00")
        // BENEF (8 expected): 209 bytes = 5 templates of 35 + 34 bytes of the 6th; then 1 + 2 × 26 + 1 = 54
        t.expect("00 B0 82 00 D1", answer: Self.answer(benef, 0, 209))
        t.expect("00 B0 00 D1 36", answer: Self.answer(benef, 209, 54))
        // 263: the 8th template (245…280) is unfinished: 280 - 263 + 1 = 18, past byte 255: still P1-P2 offset
        t.expect("00 B0 01 07 12", answer: Self.answer(benef, 263, 18))
        t.expect("00 B0 83 00 22", answer: Self.answer(Self.carte, 0, 34))
        t.expect("00 B0 84 00 EE", answer: Self.answer(Self.amo(), 0, 238))  // 21 + 8 × 27 + 1; 99 bytes + 62 82
        t.expect("00 B0 85 00 01", answer: "6B 00")  // an empty AMC file
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(t.isComplete)
        #expect(card.beneficiaries.count == 8)
        #expect(card.beneficiaries[7].nomPatronymique == "ENFANT7")
        #expect(card.beneficiaries[7].prenom == "P7")
        #expect(card.beneficiaries[7].amc == nil)
    }

    @Test func protectedFileIsReportedNotFailed() async throws {
        let t = Self.transport()
        Self.scriptNominal(t, amcSW: "69 82")
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.isComplete)
        #expect(card.protectedData == [VitaleProtectedData(what: "AMC", fileID: 0x2005)])
        #expect(card.protectedData[0].description == "AMC: needs a CPS session")
        #expect(card.beneficiaries.count == 2)
    }

    @Test func corruptedTLVIsATypedError() async throws {
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: Self.answer(Self.ident, 0, 60))
        t.expect(Self.selectVitale, answer: "90 00")
        // 65 announces 0x40 bytes, only 8 follow before the end of the file
        t.expect("00 B0 82 00 35", answer: "65 40 93 0F 31 36 38 30 62 82")
        await #expect(
            throws: VitaleError.corruptedData(
                file: "beneficiary", detail: "the template at byte 0 announces 64 bytes but the file ends at byte 8")
        ) {
            _ = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        }
        #expect(t.isComplete)
    }

    @Test func cardRemovedMidRead() async throws {
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: Self.answer(Self.ident, 0, 60))
        t.expect(Self.selectVitale, answer: "90 00")
        t.expect("00 B0 82 00 35", throwing: .cardRemoved)
        await #expect(throws: VitaleError.cardRemoved) {
            _ = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        }
        #expect(VitaleError.cardRemoved.description == "the carte Vitale was removed during the read; insert it again")
    }

    @Test func knownOtherCardIsNotReadAtAll() async throws {
        let cps: [UInt8] = [0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90, 0x00]
        let t = ScriptedTransport(atr: cps, activeProtocol: .t0)
        await #expect(throws: VitaleError.notAVitaleCard(atr: cps)) {
            _ = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        }
        #expect(t.sent.isEmpty)
    }

    @Test func unknownATRIsProbedWithSelectVitale() async throws {
        let atr: [UInt8] = [0x3B, 0x02, 0x14, 0x50]
        let t = ScriptedTransport(atr: atr, activeProtocol: .t0)
        t.expect(Self.selectVitale, answer: "6A 82")
        await #expect(throws: VitaleError.notAVitaleCard(atr: atr)) {
            _ = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        }
        #expect(t.isComplete)
    }

    @Test func fileMovedToAnotherIdentifierIsFoundThroughPointers() async throws {
        // BENEF is not at SFI 2 of VITALE; POINTERS announces it at 2012: SFI 0x12 is unknown, so SELECT 2012 + READ
        var p = [UInt8](hex: Self.pointers)!
        let benefEntry = p.firstRange(of: Array("BENEF   ".utf8))!
        p[benefEntry.upperBound + 3] = 0x12
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: Self.answer(Self.ident, 0, 60))
        t.expect(Self.selectVitale, answer: "90 00")
        t.expect("00 B0 82 00 35", answer: "6A 82")
        t.expect("00 B0 83 00 22", answer: Self.answer(Self.carte, 0, 34))
        t.expect("00 B0 84 00 4C", answer: Self.answer(Self.amo(), 0, 76))
        t.expect("00 B0 00 4C 16", answer: Self.answer(Self.amo(), 76, 22))
        t.expect("00 B0 85 00 01", answer: "00 90 00")
        t.expect("00 B0 81 00 8D", answer: Self.answer(p.hexString(), 0, 141))
        t.expect("00 B0 92 00 35", answer: "6A 82")
        t.expect("00 A4 02 0C 02 20 12", answer: "90 00")
        t.expect("00 B0 00 00 35", answer: Self.answer(Self.benef, 0, 53))
        t.expect("00 B0 00 35 11", answer: Self.answer(Self.benef, 53, 17))
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(t.isComplete)
        #expect(card.beneficiaries[1].nirCertifie == "212037511208895")
    }

    @Test func filesWithUnknownLabelsAreRecognisedByContent() async throws {
        // A card without SFIs (6A 86), and real labels unknown (vitale.md §4.1.3 [U]): rename every entry; the
        // reader reads each announced file once, like cardpeek, and recognises it by its first template.
        var p = [UInt8](hex: Self.pointers)!
        for (n, label) in ["IDENT   ", "BENEF   ", "CARTE   ", "AMO     ", "AMC     ", "CERT    ", "PHOTO   "].enumerated() {
            let r = p.firstRange(of: Array(label.utf8))!
            p.replaceSubrange(r, with: Array("EF\(n)     ".utf8))
        }
        #expect(p.count == 140)
        #expect(try Vitale2Pointers(decoding: p).files.map(\.label) == (0..<7).map { "EF\($0)" })
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: "6A 86")
        t.expect(Self.selectVitale, answer: "90 00")
        t.expect("00 B0 82 00 35", answer: "6A 86")
        t.expect("00 B0 83 00 22", answer: "6A 86")
        t.expect("00 B0 84 00 31", answer: "6A 86")
        t.expect("00 B0 85 00 01", answer: "6A 86")
        t.expect("00 B0 81 00 8D", answer: "6A 86")
        t.expect("00 A4 02 0C 02 20 01", answer: "90 00")
        t.expect("00 B0 00 00 8D", answer: Self.answer(p.hexString(), 0, 141))
        t.expect("00 A4 02 0C 02 20 02", answer: "90 00")
        t.expect("00 B0 00 00 40", answer: Self.answer(Self.benef, 0, 64))
        t.expect("00 B0 00 40 26", answer: Self.answer(Self.benef, 64, 38))
        t.expect("00 A4 02 0C 02 20 03", answer: "90 00")
        t.expect("00 B0 00 00 40", answer: Self.answer(Self.carte, 0, 64))
        t.expect("00 A4 02 0C 02 20 04", answer: "90 00")
        t.expect("00 B0 00 00 40", answer: Self.answer(Self.amo(), 0, 64))
        t.expect("00 B0 00 40 42", answer: Self.answer(Self.amo(), 64, 66))
        t.expect("00 A4 02 0C 02 20 05", answer: "90 00")
        t.expect("00 B0 00 00 40", answer: Self.answer(Self.amc, 0, 64))
        t.expect("00 B0 86 00 40", answer: "7F 21 04 42 02 41 42 90 00")  // SFI 6, not tried yet
        t.expect("00 B0 87 00 40", answer: "69 82")
        t.expect(Self.selectMFVitale, answer: "90 00")
        t.expect("00 A4 02 0C 02 20 02", answer: "90 00")
        t.expect("00 B0 00 00 40", answer: Self.answer(Self.ident, 0, 64))
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(t.isComplete)
        #expect(card.beneficiaries.map(\.prenom) == ["JEAN", "LEA"])
        #expect(card.insured.caisse == "751")
        #expect(card.serial == "1234567890123456")
        #expect(card.protectedData == [VitaleProtectedData(what: "file 2007", fileID: 0x2007)])
    }

    @Test func unreadablePointersFallsBackToOurIdentifiers() async throws {
        // No SFI answers, no POINTERS: our [D] FIDs by SELECT (vitale.md §9.2), MF by RufusAdmin's SELECT MF
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: "6A 82")
        t.expect(Self.selectVitale, answer: "90 00")
        t.expect("00 B0 82 00 35", answer: "6A 82")
        t.expect("00 B0 83 00 22", answer: "6A 82")
        t.expect("00 B0 84 00 31", answer: "6A 82")
        t.expect("00 B0 85 00 01", answer: "6A 82")
        t.expect("00 B0 81 00 8D", answer: "6A 82")
        t.expect("00 A4 02 0C 02 20 01", answer: "6A 82")
        t.expect("00 A4 02 0C 02 20 02", answer: "90 00")
        t.expect("00 B0 00 00 35", answer: Self.answer(Self.benef, 0, 53))
        t.expect("00 B0 00 35 2B", answer: Self.answer(Self.benef, 53, 43))
        t.expect("00 A4 02 0C 02 20 03", answer: "90 00")
        t.expect("00 B0 00 00 22", answer: Self.answer(Self.carte, 0, 34))
        t.expect("00 A4 02 0C 02 20 04", answer: "90 00")
        t.expect("00 B0 00 00 4C", answer: Self.answer(Self.amo(), 0, 76))
        t.expect("00 B0 00 4C 16", answer: Self.answer(Self.amo(), 76, 22))
        t.expect("00 A4 02 0C 02 20 05", answer: "90 00")
        t.expect("00 B0 00 00 01", answer: "00 90 00")
        t.expect(Self.selectMFVitale, answer: "6A 82")
        t.expect(Self.selectMF, answer: "90 00")  // RufusAdmin's SELECT MF
        t.expect("00 A4 02 0C 02 20 02", answer: "90 00")
        t.expect("00 B0 00 00 3D", answer: Self.answer(Self.ident, 0, 61))
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(t.mismatches == [])
        #expect(t.isComplete)
        #expect(card.beneficiaries.count == 2)
    }

    @Test func blockedCardIsReported() async throws {
        let t = Self.transport()
        t.expect("00 B0 82 00 3C", answer: "69 85")
        await #expect(throws: VitaleError.cardBlocked(status: StatusWord(0x6985))) {
            _ = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        }
        let u = Self.transport(atr: [0x3B, 0x02, 0x14, 0x50])
        u.expect(Self.selectVitale, answer: "62 83")
        await #expect(throws: VitaleError.cardBlocked(status: StatusWord(0x6283))) {
            _ = try await VitaleSession(transport: u).readCard(careDate: Self.careDate)
        }
    }

    @Test func testCardIsFlagged() async throws {
        let t = Self.transport()
        Self.scriptNominal(t, amo: Self.amo(caisse: "349"))
        let card = try await VitaleSession(transport: t).readCard(careDate: Self.careDate)
        #expect(card.isTestCard)
        #expect(card.testCardReason == "CNDA test card (caisse 349)")
    }
}

/// A card that answers random bytes (deterministic seed): the session must end with a card or a `VitaleError`,
/// never crash or loop.
final class RandomAnswerTransport: CardTransport, @unchecked Sendable {
    let readerName = "random"
    var rng: SplitMix64
    let atr: [UInt8]
    var count = 0
    init(seed: UInt64, atr: [UInt8]) {
        rng = SplitMix64(seed: seed)
        self.atr = atr
    }
    func next() -> UInt64 { rng.next() }
    var capabilities: ReaderCapabilities { get async { .shortAPDU } }
    func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        CardConnectionInfo(atr: atr, activeProtocol: .t0)
    }
    func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] {
        count += 1
        let r = next()
        let sws: [[UInt8]] = [[0x90, 0x00], [0x61, UInt8(r >> 8 & 0xFF)], [0x6C, UInt8(r >> 16 & 0xFF)], [0x62, 0x82],
            [0x69, 0x82], [0x6A, 0x82], [0x6B, 0x00], [UInt8(r >> 24 & 0xFF), UInt8(r >> 32 & 0xFF)]]
        let sw = sws[Int(r % UInt64(sws.count))]
        let n = Int(r >> 40 % 300)
        var data: [UInt8] = []
        for _ in 0..<n % 260 { data.append(UInt8(truncatingIfNeeded: next())) }
        if r % 7 == 0 { throw .failed("random") }
        return data + sw
    }
    func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] { throw .notSupported("control") }
    func beginTransaction() async throws(TransportError) {}
    func endTransaction() async {}
    func disconnect(_ disposition: CardDisposition) async {}
}

@Suite struct VitaleSessionFuzzTests {
    @Test(arguments: [
        [0x3B, 0x75, 0x13, 0x00, 0x00, 0x47, 0x09, 0xEA, 0x90, 0x00] as [UInt8],
        [0x3F, 0x65, 0x25, 0x00, 0x2C, 0x09, 0x69, 0x90, 0x00],
        [0x3B, 0x02, 0x14, 0x50],
    ])
    func randomAnswersNeverCrash(atr: [UInt8]) async {
        var outcomes = 0
        for seed in 0..<300 {
            let t = RandomAnswerTransport(seed: UInt64(seed) &* 7919, atr: atr)
            do {
                _ = try await VitaleSession(transport: t).readCard(careDate: VitaleScriptedTests.careDate)
                outcomes += 1
            } catch {
                #expect(!error.description.isEmpty)
                outcomes += 1
            }
            #expect(t.count < 20_000)
        }
        #expect(outcomes == 300)
    }
}
