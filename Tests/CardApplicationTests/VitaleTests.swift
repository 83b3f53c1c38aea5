import CardSimulator
import Foundation
import INS
import ISO7816
import Testing

@testable import Vitale

/// Every Vitale persona of personas.json read back field for field through the simulator (`SimulatedReader` holding
/// the card `PersonaCatalog` builds with the vitale.md §9 layout), plus the strict-T=0 mode, a moved file, the APDU
/// count, and removal mid-read.
@Suite struct VitaleTests {
    static let careDate = VitaleDay(year: 2026, month: 11, day: 29)

    struct ExpectedBeneficiary {
        var nomUsuel: String
        var nomPatronymique: String?
        var prenom: String
        var dateNaissance: String
        var rang: Int
        var qualite: String
        var nir: String
        var nirCertifie: String?
        /// Computed independently (ins.md §1.3 in Python hashlib, re-checked below with a test-local SHA-256).
        var insc: String?
        var rights: [VitaleRightsPeriod]
        var rightsOpen: Bool
    }

    struct Expected {
        var persona: String
        var kind: VitaleKind
        var atr: String
        var serial: String
        var validityStart: String?
        var insured: VitaleInsured
        var testCard: Bool
        var beneficiaries: [ExpectedBeneficiary]
    }

    static func r(_ s: String, _ e: String) -> [VitaleRightsPeriod] { [VitaleRightsPeriod(start: s, end: e)] }

    static let expected: [Expected] = [
        Expected(
            persona: "vitale2-martin", kind: .vitale2, atr: "3B 75 13 00 00 47 09 EA 90 00", serial: "1234567890123456",
            validityStart: "20210315",
            insured: VitaleInsured(nir: "279047511203483", regime: "01", caisse: "751", centre: "0012", codeGestion: "10"),
            testCard: false,
            beneficiaries: [
                ExpectedBeneficiary(
                    nomUsuel: "MARTIN", nomPatronymique: "MARTIN", prenom: "CLAIRE", dateNaissance: "19790412", rang: 1,
                    qualite: "00", nir: "279047511203483", nirCertifie: nil, insc: "0122404254843673961022",
                    rights: r("20240101", "20991231"), rightsOpen: true)
            ]),
        Expected(
            persona: "vitale2-bernard-family", kind: .vitale2, atr: "3B 75 13 00 00 45 09 EA 90 00",
            serial: "2234567890123457", validityStart: "20190902",
            insured: VitaleInsured(nir: "171096912304538", regime: "01", caisse: "691", centre: "0231", codeGestion: "10"),
            testCard: false,
            beneficiaries: [
                ExpectedBeneficiary(
                    nomUsuel: "BERNARD", nomPatronymique: "BERNARD", prenom: "THOMAS", dateNaissance: "19710903", rang: 1,
                    qualite: "00", nir: "171096912304538", nirCertifie: nil, insc: "0704399636225942952020",
                    rights: r("20230101", "20991231"), rightsOpen: true),
                ExpectedBeneficiary(
                    nomUsuel: "BERNARD", nomPatronymique: "GARNIER", prenom: "SOPHIE", dateNaissance: "19740522", rang: 1,
                    qualite: "02", nir: "171096912304538", nirCertifie: "274051305501264", insc: "1529412240382861057364",
                    rights: r("20230101", "20991231"), rightsOpen: true),
                ExpectedBeneficiary(
                    nomUsuel: "BERNARD", nomPatronymique: "BERNARD", prenom: "EMMA", dateNaissance: "20120309", rang: 1,
                    qualite: "06", nir: "171096912304538", nirCertifie: "212037510123485", insc: "1251407495617069929375",
                    rights: r("20230101", "20300308"), rightsOpen: true),
                ExpectedBeneficiary(
                    nomUsuel: "BERNARD", nomPatronymique: "BERNARD", prenom: "LUCAS", dateNaissance: "20150617", rang: 1,
                    qualite: "06", nir: "171096912304538", nirCertifie: nil, insc: nil,
                    rights: r("20230101", "20330616"), rightsOpen: true),
            ]),
        Expected(
            persona: "vitale2-petit-twins", kind: .vitale2, atr: "3B 75 13 00 00 48 09 EA 90 00", serial: "3234567890123458",
            validityStart: "20200110",
            insured: VitaleInsured(nir: "286069112345643", regime: "01", caisse: "911", centre: "0104", codeGestion: "10"),
            testCard: false,
            beneficiaries: [
                ExpectedBeneficiary(
                    nomUsuel: "PETIT", nomPatronymique: "PETIT", prenom: "AURELIE", dateNaissance: "19860615", rang: 1,
                    qualite: "00", nir: "286069112345643", nirCertifie: nil, insc: "1154903123790003669039",
                    rights: r("20220101", "20991231"), rightsOpen: true),
                ExpectedBeneficiary(
                    nomUsuel: "PETIT", nomPatronymique: "PETIT", prenom: "LOUIS", dateNaissance: "20190704", rang: 1,
                    qualite: "06", nir: "286069112345643", nirCertifie: "119079112345694", insc: "0871187043447596622096",
                    rights: r("20220101", "20370703"), rightsOpen: true),
                ExpectedBeneficiary(
                    nomUsuel: "PETIT", nomPatronymique: "PETIT", prenom: "JULES", dateNaissance: "20190704", rang: 2,
                    qualite: "06", nir: "286069112345643", nirCertifie: nil, insc: nil,
                    rights: r("20220101", "20370703"), rightsOpen: true),
            ]),
        Expected(
            persona: "vitale2-nguyen-lunar", kind: .vitale2, atr: "3B 75 13 00 00 43 09 EA 90 00", serial: "4234567890123459",
            validityStart: "20180405",
            insured: VitaleInsured(nir: "165009935012356", regime: "01", caisse: "931", centre: "0007", codeGestion: "10"),
            testCard: false,
            beneficiaries: [
                ExpectedBeneficiary(
                    nomUsuel: "NGUYEN", nomPatronymique: "NGUYEN", prenom: "VAN LONG", dateNaissance: "19650000", rang: 1,
                    qualite: "00", nir: "165009935012356", nirCertifie: nil, insc: "1395175575913755363989",
                    rights: r("20240101", "20991231"), rightsOpen: true)
            ]),
        Expected(
            persona: "vitale2-santoni-corsica", kind: .vitale2, atr: "3B 75 13 00 00 49 09 EA 90 00",
            serial: "5234567890123450", validityStart: "20170911",
            insured: VitaleInsured(nir: "185022A00401717", regime: "01", caisse: "201", centre: "0001", codeGestion: "10"),
            testCard: false,
            beneficiaries: [
                ExpectedBeneficiary(
                    nomUsuel: "SANTONI", nomPatronymique: "SANTONI", prenom: "JEAN-BAPTISTE", dateNaissance: "19850214",
                    rang: 1, qualite: "00", nir: "185022A00401717", nirCertifie: nil, insc: "1104818887793245809824",
                    rights: r("20240101", "20991231"), rightsOpen: true)
            ]),
        Expected(
            persona: "vitale2-roussel-expired", kind: .vitale2, atr: "3B 75 13 00 00 44 09 EA 90 00",
            serial: "6234567890123451", validityStart: "20160204",
            insured: VitaleInsured(nir: "195054410908745", regime: "02", caisse: "441", centre: "0300", codeGestion: "10"),
            testCard: false,
            beneficiaries: [
                ExpectedBeneficiary(
                    nomUsuel: "ROUSSEL", nomPatronymique: "ROUSSEL", prenom: "HELENE", dateNaissance: "19500512", rang: 1,
                    qualite: "00", nir: "195054410908745", nirCertifie: nil, insc: "0613343158201338895021",
                    rights: r("20200101", "20241231"), rightsOpen: false)
            ]),
        Expected(
            persona: "vitale1-lefebvre", kind: .vitale1, atr: "3F 65 25 00 2C 09 69 90 00", serial: "7234567890123452",
            validityStart: nil,
            insured: VitaleInsured(nir: "138079205015575", regime: "01", caisse: "921", centre: "0050", codeGestion: "10"),
            testCard: false,
            beneficiaries: [
                // Vitale 1 has no nom patronymique (vitale.md §9.3 zone layout)
                ExpectedBeneficiary(
                    nomUsuel: "LEFEBVRE", nomPatronymique: nil, prenom: "ANDRE", dateNaissance: "380715", rang: 1,
                    qualite: "00", nir: "138079205015575", nirCertifie: nil, insc: "0912184437304873338873",
                    rights: r("240101", "991231"), rightsOpen: true)
            ]),
        Expected(
            persona: "vitale2-test-card", kind: .vitale2, atr: "3B 75 13 00 00 46 09 EA 90 00", serial: "8234567890123453",
            validityStart: "20220101",
            insured: VitaleInsured(nir: "205017505678927", regime: "01", caisse: "349", centre: "0001", codeGestion: "10"),
            testCard: true,
            beneficiaries: [
                ExpectedBeneficiary(
                    nomUsuel: "ESSAI", nomPatronymique: "ESSAI", prenom: "CAMILLE", dateNaissance: "20050115", rang: 1,
                    qualite: "00", nir: "205017505678927", nirCertifie: nil, insc: "1560244212483721618297",
                    rights: r("20220101", "20991231"), rightsOpen: true)
            ]),
    ]

    static func reader(persona: String, t0Mode: T0Mode = .auto) async throws -> SimulatedReader {
        let r = SimulatedReader(name: "Vitale test reader")
        try await r.insert(persona: persona, t0Mode: t0Mode)
        return r
    }

    static func check(_ card: VitaleCard, _ e: Expected) {
        #expect(card.kind == e.kind, "\(e.persona)")
        #expect(card.atr == [UInt8](hex: e.atr), "\(e.persona)")
        #expect(card.serial == e.serial, "\(e.persona)")
        #expect(card.validityStart == e.validityStart, "\(e.persona)")
        #expect(card.insured == e.insured, "\(e.persona)")
        #expect(card.isTestCard == e.testCard, "\(e.persona)")
        #expect(card.protectedData == [], "\(e.persona)")
        #expect(card.beneficiaries.count == e.beneficiaries.count, "\(e.persona)")
        for (i, (b, x)) in zip(card.beneficiaries, e.beneficiaries).enumerated() {
            let who = "\(e.persona) #\(i)"
            #expect(b.index == i, "\(who)")
            #expect(b.nomUsuel == x.nomUsuel, "\(who)")
            #expect(b.nomPatronymique == x.nomPatronymique, "\(who)")
            #expect(b.prenom == x.prenom, "\(who)")
            #expect(b.dateNaissance.raw == x.dateNaissance, "\(who)")
            #expect(b.rang == x.rang, "\(who)")
            #expect(b.qualite == x.qualite, "\(who)")
            #expect(b.nir == x.nir, "\(who)")
            #expect(b.nirCertifie == x.nirCertifie, "\(who)")
            #expect(b.insc == x.insc, "\(who)")
            #expect((b.inscReason == nil) == (x.insc != nil), "\(who)")
            #expect(b.rights == x.rights, "\(who)")
            #expect(b.rightsOpen(at: careDate).isOpen == x.rightsOpen, "\(who)")
            #expect(b.amc == nil, "\(who)")
        }
    }

    @Test(arguments: expected.map(\.persona))
    func personaReadsBackFieldForField(persona: String) async throws {
        let e = try #require(Self.expected.first { $0.persona == persona })
        let reader = try await Self.reader(persona: persona)
        let card = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        Self.check(card, e)
    }

    @Test(arguments: expected.map(\.persona))
    func personaReadsInStrictT0Mode(persona: String) async throws {
        let e = try #require(Self.expected.first { $0.persona == persona })
        let reader = try await Self.reader(persona: persona, t0Mode: .strictT0)
        let card = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        Self.check(card, e)
    }

    @Test func strictT0ModeReallyAnswers61xxAnd6Cxx() async throws {
        let reader = try await Self.reader(persona: "vitale2-martin", t0Mode: .strictT0)
        let card = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        #expect(card.beneficiaries.first?.prenom == "CLAIRE")
        let apdus = await reader.transcript.filter { $0.kind == .apdu }
        // The read asks for no more than the files hold and selects without FCI: no 61 xx, no 6C xx, no GET RESPONSE
        let sw1s = apdus.compactMap { $0.response.count >= 2 ? $0.response[$0.response.count - 2] : nil }
        #expect(!sw1s.contains(0x61) && !sw1s.contains(0x6C))
        #expect(!apdus.contains { $0.command.count >= 2 && $0.command[1] == 0xC0 })
        // The strict card itself: a SELECT with FCI answers 61 xx, Le = 00 on a shorter file 6C xx
        let other = try await Self.reader(persona: "vitale2-martin", t0Mode: .strictT0)
        let channel = try await APDUChannel.connect(other, preferred: [.t0])
        let select = try await channel.send(
            CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: Vitale2Identifiers.vitaleAID), options: .raw)
        #expect(select.sw1 == 0x61)
        let read = try await channel.send(CommandAPDU(ins: 0xB0, p1: 0x83, p2: 0x00, ne: 256), options: .raw)
        #expect(read.sw1 == 0x6C)
    }

    @Test func familyCardGivesThreeINSCAndSaysWhyLucasHasNone() async throws {
        let reader = try await Self.reader(persona: "vitale2-bernard-family")
        let card = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        #expect(card.beneficiaries.compactMap(\.insc).count == 3)
        let lucas = try #require(card.beneficiaries.first { $0.prenom == "LUCAS" })
        #expect(lucas.insc == nil)
        #expect(
            lucas.inscReason
                == "no INS-C: this beneficiary (qualité 06) is an ayant droit with no NIR certifié on the card, and the card NIR belongs to the assuré"
        )
        // The INS module agrees value for value
        for b in card.beneficiaries {
            let m = INSC.forBeneficiary(
                qualite: b.qualite, nirCertifie: b.nirCertifie, cardNIR: card.insured.nir, prenom: b.prenom,
                dateNaissance: b.dateNaissance.raw)
            #expect((try? m.get().value) == b.insc)
        }
    }

    @Test func expectedINSCValuesCrossCheckedWithAnIndependentSHA256() {
        // ins.md §1.5 V1 first, then every persona value of the table above
        #expect(TestINSC.compute(prenom: "PHILIPPE", date: "610217", nir13: "1610275754289") == "0833910461279517589858")
        for e in Self.expected {
            for b in e.beneficiaries {
                guard let insc = b.insc else { continue }
                let nir = b.nirCertifie ?? b.nir
                #expect(
                    TestINSC.compute(prenom: b.prenom, date: String(b.dateNaissance.suffix(6)), nir13: String(nir.prefix(13)))
                        == insc, "\(e.persona) \(b.prenom)")
            }
        }
    }

    @Test func vitale2ReadTakesEightAPDUsAndReadsNoFileTwice() async throws {
        let reader = try await Self.reader(persona: "vitale2-bernard-family")
        _ = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        let apdus = await reader.transcript.filter { $0.kind == .apdu }
        let sent = apdus.map { $0.command.hexString(separator: " ") }
        #expect(sent == [
            "00 B0 82 00 3C",  // IDENT, SFI 2 of the MF: 60 bytes (4 templates of 29, 29, 27, 28 bytes)
            "00 B0 00 3C 38",  // the 3rd template ends at 85: 25 bytes + one more template (30) + 1 = 56
            "00 A4 04 0C 0B D2 50 00 00 02 56 49 54 41 4C 45",  // SELECT VITALE, no FCI
            "00 B0 82 00 69",  // BENEF, SFI 2: 4 × 26 + 1 = 105
            "00 B0 00 69 3F",  // the 3rd template ends at 141: 36 + 1 × 26 + 1 = 63
            "00 B0 83 00 22",  // CARTE, SFI 3: 34
            "00 B0 84 00 82",  // AMO, SFI 4: 21 + 4 × 27 + 1 = 130
            "00 B0 85 00 01",  // AMC, SFI 5: 1 byte, 00: empty
        ])
        // Every data byte once, the padding only as far as its first byte (plus IDENT's 2-byte overshoot)
        let received = apdus.map { $0.response.count - 2 }
        #expect(received == [60, 56, 0, 105, 63, 34, 130, 1])
    }

    /// A second session on the same connection (no reset: `carte read` leaves the card as it is) finds VITALE still
    /// selected: SFI 2 is BENEF, recognised by its `93` and kept; IDENT comes last after SELECT MF. Same card, and
    /// still no byte read twice.
    @Test func secondSessionWithVitaleStillSelectedReadsTheSameCard() async throws {
        let reader = try await Self.reader(persona: "vitale2-bernard-family")
        let first = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        let before = await reader.transcript.filter { $0.kind == .apdu }.count
        let second = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        #expect(second == first)
        let sent = await reader.transcript.filter { $0.kind == .apdu }.dropFirst(before).map {
            $0.command.hexString(separator: " ")
        }
        #expect(Array(sent) == [
            "00 B0 82 00 3C",  // SFI 2 of VITALE: BENEF (167 bytes) read with the IDENT plan
            "00 B0 00 3C 3B",
            "00 B0 00 77 35",
            "00 B0 83 00 22",
            "00 B0 84 00 82",
            "00 B0 85 00 01",
            "00 A4 00 0C 02 3F 00",  // SELECT MF, no FCI
            "00 B0 82 00 79",  // IDENT: 4 × 30 + 1 = 121 bytes for its 113
        ])
    }

    @Test func vitale1ReadUsesClassBC() async throws {
        let reader = try await Self.reader(persona: "vitale1-lefebvre")
        _ = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        let sent = await reader.transcript.filter { $0.kind == .apdu }.map(\.command)
        #expect(sent.first == [0xBC, 0xC0, 0x00, 0x00, 0x08])
        #expect(sent.dropFirst().first == [0xBC, 0xB0, 0x21, 0x28, 0x30])  // 12 pointer words 2128h…2180h
        #expect(sent.allSatisfy { $0.first == 0xBC })
        #expect(sent.count == 5)
    }

    @Test func fileMovedByTheSimulatorIsFoundThroughPointers() async throws {
        let personas = try PersonaFile.bundled()
        let p = try #require(personas.patients.first { $0.id == "vitale2-bernard-family" })
        var layout = Vitale2Profile.Layout()
        layout.benef = .init(fid: 0x2012, sfi: nil)  // moved, and no SFI any more
        layout.amo = .init(fid: 0x2A04, sfi: 0x0B)  // moved, new SFI (its FID's low byte is not an SFI)
        let reader = SimulatedReader(name: "Vitale moved-file reader")
        await reader.insert(Vitale2Profile.makeCard(persona: p, layout: layout))
        let card = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        Self.check(card, Self.expected[1])
        let sent = await reader.transcript.filter { $0.kind == .apdu }.map { $0.command.hexString(separator: " ") }
        #expect(sent.contains("00 A4 02 0C 02 20 12"))
        #expect(sent.contains("00 A4 02 0C 02 2A 04"))
    }

    /// Our known-layout SFIs are a design (vitale.md §9.2 [D]): a card where another file answers at CARTE's SFI
    /// is read through POINTERS and SELECT by FID, and the foreign file is read no further than its first chunk.
    @Test func foreignFileAtAKnownSFIIsLeftAfterItsFirstChunk() async throws {
        let personas = try PersonaFile.bundled()
        let p = try #require(personas.patients.first { $0.id == "vitale2-bernard-family" })
        var layout = Vitale2Profile.Layout()
        layout.carte = .init(fid: 0x2003, sfi: 0x04)  // CARTE and AMO swap their SFIs
        layout.amo = .init(fid: 0x2004, sfi: 0x03)
        let reader = SimulatedReader(name: "Vitale swapped-SFI reader")
        await reader.insert(Vitale2Profile.makeCard(persona: p, layout: layout))
        let card = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        Self.check(card, Self.expected[1])
        let sent = await reader.transcript.filter { $0.kind == .apdu }.map { $0.command.hexString(separator: " ") }
        for sfiRead in ["00 B0 83", "00 B0 84"] {
            let i = try #require(sent.firstIndex { $0.hasPrefix(sfiRead) })
            #expect(sent.filter { $0.hasPrefix(sfiRead) }.count == 1)
            // The next command is not a continuation of the foreign file (READ BINARY of the current EF at an offset).
            #expect(i + 1 < sent.count && !sent[i + 1].hasPrefix("00 B0 00"), "\(sent)")
        }
        #expect(sent.contains("00 A4 02 0C 02 20 03"))
        #expect(sent.contains("00 A4 02 0C 02 20 04"))
    }

    @Test func longFormTemplatesFromTheSimulator() async throws {
        let personas = try PersonaFile.bundled()
        let p = try #require(personas.patients.first { $0.id == "vitale2-petit-twins" })
        var layout = Vitale2Profile.Layout()
        layout.forceLongFormLengths = true
        let reader = SimulatedReader(name: "Vitale long-form reader")
        await reader.insert(Vitale2Profile.makeCard(persona: p, layout: layout))
        let card = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        Self.check(card, Self.expected[2])
    }

    /// A Vitale 1 family card built from a test persona (not in personas.json): a Corsican NIR, a lunar 6-digit
    /// date, 0 and 3 rights periods, through the simulator's own memory encoding (vitale.md §9.3).
    @Test func vitale1FamilyCardFromTheSimulator() async throws {
        let json = """
            {"id":"vitale1-test-family","card":"vitale1","atr":"3F 65 25 00 52 09 6A 90 00","serial":"9234567890123454",
             "insured":{"nir":"185022A00401717","regime":"01","caisse":"201","centre":"0001","codeGestion":"10"},
             "beneficiaries":[
              {"nomUsuel":"SANTONI","prenom":"PAUL","dateNaissance":"850214","rang":1,"qualite":"00",
               "amo":[{"start":"200101","end":"231231"},{"start":"240101","end":"251231"},{"start":"260101","end":"991231"}]},
              {"nomUsuel":"SANTONI","prenom":"MARIA","dateNaissance":"651300","rang":1,"qualite":"02","amo":[]},
              {"nomUsuel":"SANTONI","prenom":"LUCA","dateNaissance":"100704","rang":2,"qualite":"06",
               "amo":[{"start":"240101","end":"280703"}]}]}
            """
        let persona = try JSONDecoder().decode(PatientPersona.self, from: Data(json.utf8))
        let reader = SimulatedReader(name: "Vitale 1 family reader")
        await reader.insert(Vitale1Card(persona: persona))
        let card = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        #expect(card.kind == .vitale1)
        #expect(card.serial == "9234567890123454")
        #expect(card.insured == VitaleInsured(nir: "185022A00401717", regime: "01", caisse: "201", centre: "0001", codeGestion: "10"))
        #expect(card.beneficiaries.map(\.prenom) == ["PAUL", "MARIA", "LUCA"])
        #expect(card.beneficiaries.map(\.qualite) == ["00", "02", "06"])
        #expect(card.beneficiaries.map(\.rang) == [1, 1, 2])
        #expect(card.beneficiaries.map(\.dateNaissance.raw) == ["850214", "651300", "100704"])
        #expect(card.beneficiaries[1].dateNaissance.displayable == "01/01/??65")
        #expect(card.beneficiaries.map(\.rights.count) == [3, 0, 1])
        #expect(card.beneficiaries[0].rightsOpen(at: Self.careDate) == .open(VitaleRightsPeriod(start: "260101", end: "991231")))
        #expect(card.beneficiaries[1].rightsOpen(at: Self.careDate) == .noPeriod)
        #expect(card.beneficiaries[2].rightsOpen(at: Self.careDate).isOpen)
        // INS-C: the assuré from the card NIR (Corsican letters kept in the seed); the others have no own NIR
        #expect(card.beneficiaries[0].insc == TestINSC.compute(prenom: "PAUL", date: "850214", nir13: "185022A004017"))
        #expect(card.beneficiaries[1].insc == nil)
        #expect(card.beneficiaries[2].insc == nil)
    }

    @Test func vitale1WithADMAXBeforeTheProductionAreaIsATypedError() async throws {
        let personas = try PersonaFile.bundled()
        let p = try #require(personas.patients.first { $0.id == "vitale1-lefebvre" })
        let reader = SimulatedReader(name: "Vitale 1 small reader")
        await reader.insert(Vitale1Card(persona: p, admax: 0x2120))
        await #expect(throws: VitaleError.corruptedData(file: "card information", detail: "ADMAX 2120h ends before the production area")) {
            _ = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        }
    }

    @Test func cardRemovedMidReadIsATypedError() async throws {
        let reader = try await Self.reader(persona: "vitale2-martin")
        await reader.setFaultPlan(FaultPlan([.cardRemovedBefore(apdu: 4)]))
        await #expect(throws: VitaleError.cardRemoved) {
            _ = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        }
    }

    @Test(arguments: ["vitale2-bernard-family", "vitale1-lefebvre"])
    func flakyReaderIsRetried(persona: String) async throws {
        let e = try #require(Self.expected.first { $0.persona == persona })
        let reader = try await Self.reader(persona: persona)
        await reader.setFaultPlan(FaultPlan([.flakyTransmit(every: 3)]))
        let card = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        Self.check(card, e)
        let failed = await reader.transcript.filter { $0.kind == .apdu && $0.error != nil }
        #expect(!failed.isEmpty)
    }

    @Test func readerGoneIsNotRetried() async throws {
        let reader = try await Self.reader(persona: "vitale2-martin")
        await reader.setFaultPlan(FaultPlan([.readerUnpluggedBefore(apdu: 2)]))
        await #expect(throws: VitaleError.transport(.readerGone("Vitale test reader"))) {
            _ = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
        }
    }

    @Test func cpsInTheReaderIsNotAVitale() async throws {
        let reader = try await Self.reader(persona: "cps3-durand")
        do {
            _ = try await VitaleSession(transport: reader).readCard(careDate: Self.careDate)
            Issue.record("a CPS was read as a Vitale")
        } catch {
            guard case .notAVitaleCard = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }
}

/// A test-local INS-C (ins.md §1.3) on a test-local SHA-256 (FIPS 180-4), independent of the INS and CarteCrypto
/// modules, to cross-check the expected values.
enum TestINSC {
    static func compute(prenom: String, date: String, nir13: String) -> String {
        var p = String(prenom.uppercased().unicodeScalars.filter { $0.value >= 0x41 && $0.value <= 0x5A }.map(Character.init))
        p = String(p.prefix(10))
        p += String(repeating: " ", count: 10 - p.count)
        let digest = sha256(Array((p + date + nir13).utf8))
        let v = digest[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let s = String(v)
        let key = 97 - Int(v % 97)
        return String(repeating: "0", count: 20 - s.count) + s + (key < 10 ? "0" : "") + String(key)
    }

    static func sha256(_ message: [UInt8]) -> [UInt8] {
        let k: [UInt32] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
        ]
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var m = message + [0x80]
        while m.count % 64 != 56 { m.append(0) }
        let bits = UInt64(message.count) * 8
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        for chunk in stride(from: 0, to: m.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 64)
            for i in 0..<16 {
                w[i] = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(m[chunk + 4 * i + $1]) }
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
        }
        return h.flatMap { v in (0..<4).reversed().map { UInt8(truncatingIfNeeded: v >> (UInt32($0) * 8)) } }
    }
}
