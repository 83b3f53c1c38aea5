import Testing

@testable import INS

/// NIR/NIA validation (ins.md §2.3, vitale.md §6.3). Only synthetic numbers: the spec's vectors,
/// the personas of /work/shared/fixtures/personas.json, and numbers built here (keys recomputed
/// independently with Python at test-writing time).
@Suite struct NIRTests {
    struct Accept: Sendable, CustomTestStringConvertible {
        let input: String
        let body: String
        let key: Int
        let kind: NIRKind
        let sex: NIRSex
        let year: Int
        let month: Int
        let monthKind: NIRMonthKind
        let place: NIRPlace
        let order: Int
        var testDescription: String { NIR.mask(input) }
    }

    static let accepted: [Accept] = [
        // ins.md §2.3 key vectors.
        .init(input: "295109912611193", body: "2951099126111", key: 93, kind: .nir, sex: .female, year: 95,
              month: 10, monthKind: .calendar, place: .abroad(country: "126"), order: 111),
        .init(input: "253072B07300470", body: "253072B073004", key: 70, kind: .nir, sex: .female, year: 53,
              month: 7, monthKind: .calendar, place: .metropolitan(departement: "2B", commune: "073"), order: 4),
        .init(input: "253072A07300443", body: "253072A073004", key: 43, kind: .nir, sex: .female, year: 53,
              month: 7, monthKind: .calendar, place: .metropolitan(departement: "2A", commune: "073"), order: 4),
        .init(input: "180032B02040123", body: "180032B020401", key: 23, kind: .nir, sex: .male, year: 80,
              month: 3, monthKind: .calendar, place: .metropolitan(departement: "2B", commune: "020"), order: 401),
        .init(input: "297022A02077878", body: "297022A020778", key: 78, kind: .nir, sex: .female, year: 97,
              month: 2, monthKind: .calendar, place: .metropolitan(departement: "2A", commune: "020"), order: 778),
        .init(input: "160012B02077713", body: "160012B020777", key: 13, kind: .nir, sex: .male, year: 60,
              month: 1, monthKind: .calendar, place: .metropolitan(departement: "2B", commune: "020"), order: 777),
        .init(input: "236066322083656", body: "2360663220836", key: 56, kind: .nir, sex: .female, year: 36,
              month: 6, monthKind: .calendar, place: .metropolitan(departement: "63", commune: "220"), order: 836),
        .init(input: "279035121518989", body: "2790351215189", key: 89, kind: .nir, sex: .female, year: 79,
              month: 3, monthKind: .calendar, place: .metropolitan(departement: "51", commune: "215"), order: 189),
        // vitale.md §6.3 worked keys, given without key.
        .init(input: "1680175056123", body: "1680175056123", key: 81, kind: .nir, sex: .male, year: 68,
              month: 1, monthKind: .calendar, place: .metropolitan(departement: "75", commune: "056"), order: 123),
        .init(input: "185022A004017", body: "185022A004017", key: 17, kind: .nir, sex: .male, year: 85,
              month: 2, monthKind: .calendar, place: .metropolitan(departement: "2A", commune: "004"), order: 17),
        .init(input: "290112B033102", body: "290112B033102", key: 5, kind: .nir, sex: .female, year: 90,
              month: 11, monthKind: .calendar, place: .metropolitan(departement: "2B", commune: "033"), order: 102),
        // Spaces and lowercase Corsican letters tolerated.
        .init(input: "1 85 02 2a 004 017 17", body: "185022A004017", key: 17, kind: .nir, sex: .male, year: 85,
              month: 2, monthKind: .calendar, place: .metropolitan(departement: "2A", commune: "004"), order: 17),
        .init(input: "1550672000101 59", body: "1550672000101", key: 59, kind: .nir, sex: .male, year: 55,
              month: 6, monthKind: .calendar, place: .metropolitan(departement: "72", commune: "000"), order: 101),
        // Persona card NIRs (month 00: vitale2-nguyen-lunar, born abroad).
        .init(input: "165009935012356", body: "1650099350123", key: 56, kind: .nir, sex: .male, year: 65,
              month: 0, monthKind: .unknown, place: .abroad(country: "350"), order: 123),
        .init(input: "185022A00401717", body: "185022A004017", key: 17, kind: .nir, sex: .male, year: 85,
              month: 2, monthKind: .calendar, place: .metropolitan(departement: "2A", commune: "004"), order: 17),
        // Built here: NIA (3/4/7/8), coordinated transit (5/6), overseas, pseudo-months, Tunisia 96.
        .init(input: "479107505612321", body: "4791075056123", key: 21, kind: .nia, sex: .female, year: 79,
              month: 10, monthKind: .calendar, place: .metropolitan(departement: "75", commune: "056"), order: 123),
        .init(input: "379107505612371", body: "3791075056123", key: 71, kind: .nia, sex: .male, year: 79,
              month: 10, monthKind: .calendar, place: .metropolitan(departement: "75", commune: "056"), order: 123),
        .init(input: "779107505612365", body: "7791075056123", key: 65, kind: .nia, sex: .male, year: 79,
              month: 10, monthKind: .calendar, place: .metropolitan(departement: "75", commune: "056"), order: 123),
        .init(input: "879107505612315", body: "8791075056123", key: 15, kind: .nia, sex: .female, year: 79,
              month: 10, monthKind: .calendar, place: .metropolitan(departement: "75", commune: "056"), order: 123),
        .init(input: "555125505512303", body: "5551255055123", key: 3, kind: .coordinatedTransit, sex: .male,
              year: 55, month: 12, monthKind: .calendar, place: .metropolitan(departement: "55", commune: "055"),
              order: 123),
        .init(input: "655125505512350", body: "6551255055123", key: 50, kind: .coordinatedTransit, sex: .female,
              year: 55, month: 12, monthKind: .calendar, place: .metropolitan(departement: "55", commune: "055"),
              order: 123),
        .init(input: "199129741200102", body: "1991297412001", key: 2, kind: .nir, sex: .male, year: 99,
              month: 12, monthKind: .calendar, place: .overseas(departement: "974", commune: "12"), order: 1),
        .init(input: "285229913504289", body: "2852299135042", key: 89, kind: .nir, sex: .female, year: 85,
              month: 22, monthKind: .incompleteCivilStatus, place: .abroad(country: "135"), order: 42),
        .init(input: "170259601200772", body: "1702596012007", key: 72, kind: .nir, sex: .male, year: 70,
              month: 25, monthKind: .incompleteCivilStatus, place: .tunisiaBeforeIndependence(code: "012"),
              order: 7),
        .init(input: "180319112345611", body: "1803191123456", key: 11, kind: .nir, sex: .male, year: 80,
              month: 31, monthKind: .extendedPseudoMonth, place: .metropolitan(departement: "91", commune: "123"),
              order: 456),
        .init(input: "280425001234529", body: "2804250012345", key: 29, kind: .nir, sex: .female, year: 80,
              month: 42, monthKind: .extendedPseudoMonth, place: .metropolitan(departement: "50", commune: "012"),
              order: 345),
        .init(input: "280997505612341", body: "2809975056123", key: 41, kind: .nir, sex: .female, year: 80,
              month: 99, monthKind: .highPseudoMonth, place: .metropolitan(departement: "75", commune: "056"),
              order: 123),
        .init(input: "285017505600196", body: "2850175056001", key: 96, kind: .nir, sex: .female, year: 85,
              month: 1, monthKind: .calendar, place: .metropolitan(departement: "75", commune: "056"), order: 1),
    ]

    @Test(arguments: accepted) func accepts(_ c: Accept) throws {
        let nir = try NIR(c.input)
        #expect(nir.body == c.body)
        #expect(nir.key == c.key)
        #expect(nir.keyWasGiven == (c.input.filter { $0 != " " }.count == 15))
        #expect(nir.kind == c.kind)
        #expect(nir.sex == c.sex)
        #expect(nir.birthYear == c.year)
        #expect(nir.birthMonth == c.month)
        #expect(nir.monthKind == c.monthKind)
        #expect(nir.place == c.place)
        #expect(nir.order == c.order)
        #expect(nir.formatted == c.body + (c.key < 10 ? "0\(c.key)" : "\(c.key)"))
        #expect(NIR.key(forBody: c.body) == c.key)
        // The body with its computed key also validates.
        #expect(try NIR(nir.formatted) == nir || nir.keyWasGiven == false)
    }

    struct Reject: Sendable, CustomTestStringConvertible {
        let input: String
        let error: NIRError
        var testDescription: String { "\(error)" }
    }

    static let rejected: [Reject] = [
        .init(input: "", error: .empty),
        .init(input: "   ", error: .empty),
        .init(input: "16801750561", error: .wrongLength(11)),
        .init(input: "16801750561231", error: .wrongLength(14)),
        .init(input: "1680175056123811", error: .wrongLength(16)),
        .init(input: "1680X75056123", error: .notADigit(position: 5)),
        .init(input: "16801750561-3", error: .notADigit(position: 12)),
        .init(input: "16801750561238X", error: .notADigit(position: 15)),
        .init(input: "168017505612é", error: .notADigit(position: 13)),  // é counts as one character
        .init(input: "16801750561é", error: .wrongLength(12)),
        .init(input: "0680175056123", error: .badSexDigit(0)),
        .init(input: "9680175056123", error: .badSexDigit(9)),
        .init(input: "1681375056123", error: .badMonth(13)),
        .init(input: "1681975056123", error: .badMonth(19)),
        .init(input: "1684375056123", error: .badMonth(43)),
        .init(input: "1684975056123", error: .badMonth(49)),
        .init(input: "1680100056123", error: .badDepartment("00")),
        .init(input: "168012C056123", error: .badDepartment("2C")),
        .init(input: "16801AB056123", error: .badDepartment("AB")),
        .init(input: "1680175056000", error: .badOrderNumber),
        .init(input: "168017505612380", error: .keyMismatch(expected: 81, found: 80)),
        .init(input: "168017505612300", error: .keyMismatch(expected: 81, found: 0)),
        .init(input: "185022A00401718", error: .keyMismatch(expected: 17, found: 18)),
        // The 2A key on the 2B number.
        .init(input: "185022B00401717", error: .keyMismatch(expected: 44, found: 17)),
        // ins.md §2.3 placeholder examples: do not validate.
        .init(input: "147720425367411", error: .keyMismatch(expected: 30, found: 11)),
        .init(input: "170017510112313", error: .keyMismatch(expected: 88, found: 13)),
        .init(input: "123456789012244", error: .badMonth(45)),
    ]

    @Test(arguments: rejected) func rejects(_ c: Reject) {
        #expect(throws: c.error) { try NIR(c.input) }
        guard case .failure(let e) = NIR.validate(c.input) else {
            Issue.record("accepted")
            return
        }
        #expect(e == c.error)
        // Reasons never repeat the number.
        if c.input.count >= 13 { #expect(!e.description.contains(c.input.filter { $0 != " " })) }
    }

    @Test func reasonsReadAsSentences() {
        #expect(
            NIRError.keyMismatch(expected: 81, found: 80).description
                == "the NIR key is 80 but the number gives 81: a digit is probably wrong")
        #expect(
            NIRError.wrongLength(11).description
                == "a NIR has 13 characters, or 15 with its key; this one has 11 (spaces not counted)")
        #expect(NIRError.badOrderNumber.description.contains("000"))
    }

    @Test func corsicaKeysUseNineteenAndEighteen() {
        // Same digits, only the Corsican letters differ: 2A→19 and 2B→18 give different keys.
        #expect(NIR.key(forBody: "253072A073004") == 43)
        #expect(NIR.key(forBody: "253072B073004") == 70)
        #expect(NIR.key(forBody: "2530719073004") == 43)
        #expect(NIR.key(forBody: "2530718073004") == 70)
        #expect(NIR.key(forBody: "253072C073004") == nil)
        #expect(NIR.key(forBody: "25307") == nil)
    }

    @Test func masking() throws {
        let nir = try NIR("279047511203483")
        #expect(nir.masked == "2 79 •• •• ••• ••• 83")
        #expect("\(nir)" == "2 79 •• •• ••• ••• 83")
        #expect(try NIR("185022A004017").masked == "1 85 •• •• ••• ••• 17")
        #expect(NIR.mask("1 85 02 2A 004 017") == "1 85 •• •• ••• •••")
        #expect(NIR.mask("27904751120348") == "279•••••••••••")
        #expect(NIR.mask("27904") == "•••••")
        #expect(NIR.mask("") == "")
        let matricule = try MatriculeINS("279047511203483")
        #expect(!matricule.description.contains("279047511203483"))
    }

    @Test func noCrashOnRandomAndMutatedInput() {
        var rng = SplitMix64(seed: 0x1A5_C0FF_EE)
        let alphabet = Array("0123456789 AB2ab-é;".unicodeScalars)
        let seeds = Self.accepted.map(\.input)
        var valid = 0
        var quickAccepted = 0
        for i in 0..<20_000 {
            var s: String
            if i % 2 == 0 {
                let n = Int(rng.next() % 20)
                s = String(String.UnicodeScalarView((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
            } else {
                var chars = Array(seeds[Int(rng.next() % UInt64(seeds.count))].unicodeScalars)
                let pos = Int(rng.next() % UInt64(chars.count))
                chars[pos] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                s = String(String.UnicodeScalarView(chars))
            }
            // The batch fast path never accepts what the full scanner rejects, and agrees on fields.
            var bytes = Array(s.utf8)
            var quickBody = [UInt8](repeating: 0, count: 13)
            var fullBody = [UInt8](repeating: 0, count: 13)
            var fields = NIRFields()
            let quick = bytes.withUnsafeMutableBufferPointer { b in
                quickBody.withUnsafeMutableBufferPointer { NIRScanner.quickScan(UnsafeBufferPointer(b), into: $0.baseAddress!, &fields) }
            }
            let full = bytes.withUnsafeMutableBufferPointer { b in
                fullBody.withUnsafeMutableBufferPointer { NIRScanner.scan(UnsafeBufferPointer(b), into: $0.baseAddress!) }
            }
            if quick {
                quickAccepted += 1
                guard case .success(let f) = full else {
                    Issue.record("fast path accepted what the scanner rejects: \(NIR.mask(s))")
                    continue
                }
                #expect(quickBody == fullBody)
                #expect([f.sexDigit, f.year, f.month, f.order, f.key] == [fields.sexDigit, fields.year, fields.month, fields.order, fields.key])
                #expect(f.keyWasGiven == fields.keyWasGiven)
            }
            if case .success(let nir) = NIR.validate(s) {
                valid += 1
                // Whatever is accepted is self-consistent.
                #expect(NIR.key(forBody: nir.body) == nir.key)
                #expect(nir.body.utf8.count == 13)
            }
        }
        // Single-character mutations of valid numbers are mostly caught by the key.
        #expect(valid > 0 && valid < 10_000)
        #expect(quickAccepted > 0 && quickAccepted <= valid)
    }
}

/// Deterministic PRNG for the no-crash passes: the same sequence as `SplitMix64`, kept here only because
/// this test target does not depend on ISO7816 (Package.swift).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct NIRReportTests {
    @Test func jsonMaskedByDefault() {
        #expect(NIRReport.json(for: "279047511203483", reveal: false)
            == #"{"valid":true,"reason":null,"sex":"female","birthYear":79,"birthMonth":4,"place":{"kind":"metropolitan"},"key":83,"kind":"nir","monthKind":"calendar","keyGiven":true,"nir":"2 79 •• •• ••• ••• 83"}"#)
    }

    @Test func jsonRevealed() {
        #expect(NIRReport.json(for: "1 85 02 2A 004 017", reveal: true)
            == #"{"valid":true,"reason":null,"sex":"male","birthYear":85,"birthMonth":2,"place":{"kind":"metropolitan","departement":"2A","commune":"004"},"key":17,"kind":"nir","monthKind":"calendar","keyGiven":false,"nir":"185022A00401717"}"#)
        #expect(NIRReport.json(for: "165009935012356", reveal: true).contains(#""place":{"kind":"abroad","country":"350"}"#))
        #expect(NIRReport.json(for: "165009935012356", reveal: false).contains(#""place":{"kind":"abroad"},"#))
    }

    @Test func jsonInvalid() {
        #expect(NIRReport.json(for: "279047511203484", reveal: false)
            == #"{"valid":false,"reason":"the NIR key is 84 but the number gives 83: a digit is probably wrong","sex":null,"birthYear":null,"birthMonth":null,"place":null,"key":null,"kind":null,"monthKind":null,"keyGiven":null,"nir":"2 79 •• •• ••• ••• 84"}"#)
        #expect(NIRReport.json(for: "\"x\n", reveal: true).hasSuffix(#""nir":"\"x\n"}"#))
    }

    @Test func text() throws {
        #expect(NIRReport.text(for: try NIR("279047511203483"), reveal: false) == """
            valid NIR 2 79 •• •• ••• ••• 83
            sex    female
            born   year 79, month 04 (calendar)
            place  metropolitan (--reveal to show)
            key    83
            """)
        #expect(NIRReport.text(for: try NIR("4791075056123"), reveal: true) == """
            valid NIA (temporary number) 479107505612321
            sex    female
            born   year 79, month 10 (calendar)
            place  metropolitan, département 75, commune 056
            key    21 (computed; not given)
            """)
    }

    @Test func mirrorsAndDebugDescriptionsAreMasked() throws {
        let nir = try NIR("279047511203483")
        var dumped = ""
        dump(nir, to: &dumped)
        #expect(!dumped.contains("2790475112034"))
        #expect(!String(reflecting: nir).contains("2790475112034"))
        #expect(String(reflecting: nir) == "NIR(2 79 •• •• ••• ••• 83)")
        let choice = try INSC.selectNIR(qualite: "00", nirCertifie: nil, cardNIR: "279047511203483").get()
        var dumpedChoice = ""
        dump(choice, to: &dumpedChoice)
        #expect(!dumpedChoice.contains("2790475112034"))
        var dumpedMatricule = ""
        dump(MatriculeINS(nir: nir), to: &dumpedMatricule)
        #expect(!dumpedMatricule.contains("2790475112034"))
    }
}
