import CarteCrypto
import Testing

@testable import INS

/// INS-C (ins.md §1.3–1.5). Published vectors V1–V5; persona values computed independently with a
/// Python `hashlib` reference at test-writing time (same algorithm, separate implementation).
@Suite struct INSCTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let prenom: String
        let date: String
        let nir: String
        let expected: String
        var testDescription: String { name }
    }

    /// ins.md §1.5, as published.
    static let published: [Vector] = [
        .init(name: "V1", prenom: "PHILIPPE", date: "610217", nir: "1610275754289", expected: "0833910461279517589858"),
        .init(name: "V2", prenom: "FRANCK", date: "380300", nir: "1380390104027", expected: "1215965973479473546018"),
        .init(name: "V3", prenom: "MARIE ODILE", date: "651112", nir: "265112A571315", expected: "0941155967950413759315"),
        .init(name: "V4", prenom: "JEAN MICHEL", date: "060227", nir: "2060268000207", expected: "1243474338158652680797"),
        .init(name: "V5", prenom: "CHRISTOPHE", date: "130404", nir: "2130492924226", expected: "0311176251355850530351"),
    ]

    @Test(arguments: published) func publishedVectors(_ v: Vector) throws {
        let insc = try INSC.compute(prenom: v.prenom, birthDate: v.date, nir: v.nir)
        #expect(insc.value == v.expected)
        checkStructure(insc)
    }

    @Test func workedExampleIntermediateValues() throws {
        // ins.md §1.3 worked example: 20-digit value 08339104612795175898, key 58.
        let insc = try INSC.compute(prenom: "PHILIPPE", birthDate: "610217", nir: "1610275754289")
        #expect(insc.number == 8_339_104_612_795_175_898)
        #expect(insc.key == 58)
        #expect(INSCFirstName.normalise("PHILIPPE") == "PHILIPPE  ")
    }

    @Test func keyNinetySevenNeverZero() throws {
        let v4 = try INSC.compute(prenom: "JEAN MICHEL", birthDate: "060227", nir: "2060268000207")
        #expect(v4.number % 97 == 0)
        #expect(v4.key == 97)
        #expect(v4.value.hasSuffix("97"))
    }

    @Test func sameValueFromEquivalentInputs() throws {
        // Century dropped, key accepted and checked, spaces in the NIR, case and accents and
        // hyphens folded: all reproduce the published values.
        #expect(try INSC.compute(prenom: "Philippe", birthDate: "19610217", nir: "161027575428992").value
            == "0833910461279517589858")
        #expect(try INSC.compute(prenom: "marie-odile", birthDate: "19651112", nir: "2 65 11 2a 571 315 79").value
            == "0941155967950413759315")
        #expect(try INSC.compute(prenom: "Jean-Michel", birthDate: "20060227", nir: "2060268000207").value
            == "1243474338158652680797")
        #expect(try INSC.compute(prenom: "Franck", birthDate: "19380300", nir: "138039010402728").value
            == "1215965973479473546018")
    }

    // MARK: Personas (personas.json): expected values from the Python reference.

    struct Beneficiary: Sendable, CustomTestStringConvertible {
        let persona: String
        let prenom: String
        let date: String
        let qualite: String
        let cardNIR: String
        let nirCertifie: String?
        let expected: String?  // nil: no INS-C
        let source: INSCNIRSource?
        var testDescription: String { "\(persona) \(prenom)" }
    }

    static let personas: [Beneficiary] = [
        .init(persona: "vitale2-martin", prenom: "CLAIRE", date: "19790412", qualite: "00",
              cardNIR: "279047511203483", nirCertifie: nil, expected: "0122404254843673961022", source: .cardNIR),
        .init(persona: "vitale2-bernard-family", prenom: "THOMAS", date: "19710903", qualite: "00",
              cardNIR: "171096912304538", nirCertifie: nil, expected: "0704399636225942952020", source: .cardNIR),
        .init(persona: "vitale2-bernard-family", prenom: "SOPHIE", date: "19740522", qualite: "02",
              cardNIR: "171096912304538", nirCertifie: "274051305501264", expected: "1529412240382861057364",
              source: .nirCertifie),
        .init(persona: "vitale2-bernard-family", prenom: "EMMA", date: "20120309", qualite: "06",
              cardNIR: "171096912304538", nirCertifie: "212037510123485", expected: "1251407495617069929375",
              source: .nirCertifie),
        .init(persona: "vitale2-bernard-family", prenom: "LUCAS", date: "20150617", qualite: "06",
              cardNIR: "171096912304538", nirCertifie: nil, expected: nil, source: nil),
        .init(persona: "vitale2-petit-twins", prenom: "AURELIE", date: "19860615", qualite: "00",
              cardNIR: "286069112345643", nirCertifie: nil, expected: "1154903123790003669039", source: .cardNIR),
        .init(persona: "vitale2-petit-twins", prenom: "LOUIS", date: "20190704", qualite: "06",
              cardNIR: "286069112345643", nirCertifie: "119079112345694", expected: "0871187043447596622096",
              source: .nirCertifie),
        .init(persona: "vitale2-petit-twins", prenom: "JULES", date: "20190704", qualite: "06",
              cardNIR: "286069112345643", nirCertifie: nil, expected: nil, source: nil),
        .init(persona: "vitale2-nguyen-lunar", prenom: "VAN LONG", date: "19650000", qualite: "00",
              cardNIR: "165009935012356", nirCertifie: nil, expected: "1395175575913755363989", source: .cardNIR),
        .init(persona: "vitale2-santoni-corsica", prenom: "JEAN-BAPTISTE", date: "19850214", qualite: "00",
              cardNIR: "185022A00401717", nirCertifie: nil, expected: "1104818887793245809824", source: .cardNIR),
        .init(persona: "vitale2-roussel-expired", prenom: "HELENE", date: "19500512", qualite: "00",
              cardNIR: "195054410908745", nirCertifie: nil, expected: "0613343158201338895021", source: .cardNIR),
        .init(persona: "vitale1-lefebvre", prenom: "ANDRE", date: "380715", qualite: "00",
              cardNIR: "138079205015575", nirCertifie: nil, expected: "0912184437304873338873", source: .cardNIR),
        .init(persona: "vitale2-test-card", prenom: "CAMILLE", date: "20050115", qualite: "00",
              cardNIR: "205017505678927", nirCertifie: nil, expected: "1560244212483721618297", source: .cardNIR),
    ]

    @Test(arguments: personas) func personaBeneficiaries(_ b: Beneficiary) throws {
        let result = INSC.forBeneficiary(
            qualite: b.qualite, nirCertifie: b.nirCertifie, cardNIR: b.cardNIR, prenom: b.prenom,
            dateNaissance: b.date)
        let choice = INSC.selectNIR(qualite: b.qualite, nirCertifie: b.nirCertifie, cardNIR: b.cardNIR)
        switch (result, b.expected) {
        case (.success(let insc), let expected?):
            #expect(insc.value == expected)
            checkStructure(insc)
            #expect(try choice.get().source == b.source)
        case (.failure(let reason), nil):
            #expect(reason == .noOwnNIR(qualite: 6))
            #expect(
                reason.description
                    == "no INS-C: this beneficiary (qualité 06) is an ayant droit with no NIR certifié on the card, and the card NIR belongs to the assuré")
        default:
            Issue.record("unexpected outcome \(result)")
        }
    }

    @Test func familyCardGivesThreeValuesAndNoneForLucas() {
        let family = Self.personas.filter { $0.persona == "vitale2-bernard-family" }
        let outcomes = family.map {
            INSC.forBeneficiary(
                qualite: $0.qualite, nirCertifie: $0.nirCertifie, cardNIR: $0.cardNIR, prenom: $0.prenom,
                dateNaissance: $0.date)
        }
        let values = outcomes.compactMap { try? $0.get().value }
        #expect(values.count == 3)
        #expect(Set(values).count == 3)
        // LUCAS would get his father's INS-C-like value if the card NIR were (wrongly) used.
        let wrong = try? INSC.compute(prenom: "LUCAS", birthDate: "20150617", nir: "171096912304538")
        #expect(wrong != nil)
        #expect(!values.contains(wrong!.value))
    }

    @Test func nirCertifieWinsEvenForTheAssure() throws {
        // Qualité 00 with a NIR certifié: the NIR certifié is used (ins.md §1.2).
        let choice = try INSC.selectNIR(qualite: "00", nirCertifie: "274051305501264", cardNIR: "171096912304538").get()
        #expect(choice.source == .nirCertifie)
        #expect(choice.nir == "274051305501264")
        #expect(!choice.description.contains("274051305501264"))
        // Empty NIR certifié counts as absent.
        #expect(try INSC.selectNIR(qualite: "0", nirCertifie: "  ", cardNIR: "171096912304538").get().source == .cardNIR)
        #expect(INSC.selectNIR(qualite: "x", nirCertifie: nil, cardNIR: "171096912304538") == .failure(.unknownQualite("x")))
        #expect(INSC.selectNIR(qualite: "02", nirCertifie: "", cardNIR: "171096912304538") == .failure(.noOwnNIR(qualite: 2)))
    }

    @Test func invalidNIRCertifieIsReportedNotReplaced() {
        let r = INSC.forBeneficiary(
            qualite: "00", nirCertifie: "274051305501265", cardNIR: "171096912304538", prenom: "SOPHIE",
            dateNaissance: "19740522")
        #expect(r == .failure(.invalidInput(.invalidNIR(.keyMismatch(expected: 64, found: 65)), source: .nirCertifie)))
    }

    // MARK: Normalisation (ins.md §1.3 steps 1–2). Expected strings are our own reading of the
    // inferred rules [I]/[D]: no published vector covers accents, hyphens, apostrophes, ligatures.

    @Test(arguments: [
        ("PHILIPPE", "PHILIPPE  "),
        ("CHRISTOPHE", "CHRISTOPHE"),
        ("MARIE ODILE", "MARIEODILE"),
        ("JEAN MICHEL HUBERT BENJAMIN", "JEANMICHEL"),
        ("MARIA DE FATIMA", "MARIADEFAT"),
        ("Jean-Baptiste", "JEANBAPTIS"),
        ("d'Artagnan", "DARTAGNAN "),
        ("D’ARTAGNAN", "DARTAGNAN "),
        ("Élodie", "ELODIE    "),
        ("E\u{301}lodie", "ELODIE    "),
        ("Hélène", "HELENE    "),
        ("François", "FRANCOIS  "),
        ("Œdipe", "OEDIPE    "),
        ("lætitia", "LAETITIA  "),
        ("Ægidius", "AEGIDIUS  "),
        ("Maximilienne", "MAXIMILIEN"),
        ("  Zoé  ", "ZOE       "),
        ("Jörg Søren", "JORGSOREN "),
        ("Łucja", "LUCJA     "),
        ("Straße", "STRASSE   "),
        ("Nguyễn Văn", "NGUYENVAN "),
        ("Anne-Sophie2", "ANNESOPHIE"),
        ("Ιωάννης", "          "),
        ("", "          "),
    ])
    func firstNameNormalisation(_ input: String, _ expected: String) {
        let out = INSCFirstName.normalise(input)
        #expect(out == expected)
        #expect(out.utf8.count == 10)
        #expect(out.utf8.allSatisfy { $0 == 0x20 || (0x41...0x5A).contains($0) })
    }

    @Test(arguments: [
        [0x48, 0xC9, 0x4C],  // Latin-1 É between letters
        [0xC3],  // truncated sequence
        [0xC0, 0x80],  // overlong NUL
        [0xED, 0xA0, 0x80],  // surrogate
        [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
        [0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0xFF],  // after 10 letters
    ] as [[UInt8]])
    func invalidUTF8FirstNamesAreRefused(_ bytes: [UInt8]) {
        var out = [UInt8](repeating: 0x20, count: 10)
        let n = bytes.withUnsafeBufferPointer { INSCFirstName.normalise(utf8: $0, into: &out) }
        #expect(n == -1)
    }

    @Test func accentedAndPlainNamesGiveTheSameINSC() throws {
        // Our own expectation (accents folded), anchored on the persona value of HELENE.
        let plain = try INSC.compute(prenom: "HELENE", birthDate: "19500512", nir: "195054410908745")
        let accented = try INSC.compute(prenom: "Hélène", birthDate: "500512", nir: "1950544109087")
        #expect(plain.value == "0613343158201338895021")
        #expect(accented == plain)
        // And a different first name gives a different value.
        #expect(try INSC.compute(prenom: "HELENA", birthDate: "19500512", nir: "195054410908745") != plain)
    }

    @Test func lunarDatesAreVerbatim() throws {
        // Month 19 (the SESAM-Vitale API example of ins.md §1.2) and day 00 / month 00 must not be
        // clamped: they give values different from the clamped dates.
        let lunar = try INSC.compute(prenom: "PAUL", birthDate: "19421901", nir: "1422275056123")
        let clamped = try INSC.compute(prenom: "PAUL", birthDate: "19421201", nir: "1422275056123")
        #expect(lunar != clamped)
        let nguyen = try INSC.compute(prenom: "VAN LONG", birthDate: "650000", nir: "1650099350123")
        #expect(nguyen.value == "1395175575913755363989")
    }

    struct Failure: Sendable, CustomTestStringConvertible {
        let prenom: String
        let date: String
        let nir: String
        let error: INSCError
        var testDescription: String { "\(error)" }
    }

    @Test(arguments: [
        Failure(prenom: "", date: "610217", nir: "1610275754289", error: .emptyFirstName),
        Failure(prenom: "- ' 12", date: "610217", nir: "1610275754289", error: .emptyFirstName),
        Failure(prenom: "PHILIPPE", date: "61021", nir: "1610275754289", error: .birthDateLength(5)),
        Failure(prenom: "PHILIPPE", date: "1961021", nir: "1610275754289", error: .birthDateLength(7)),
        Failure(prenom: "PHILIPPE", date: "", nir: "1610275754289", error: .birthDateLength(0)),
        Failure(prenom: "PHILIPPE", date: "61-02-17", nir: "1610275754289", error: .birthDateNotDigits),
        Failure(prenom: "PHILIPPE", date: "610217", nir: "161027575428", error: .invalidNIR(.wrongLength(12))),
        Failure(prenom: "PHILIPPE", date: "610217", nir: "161027575428993",
                error: .invalidNIR(.keyMismatch(expected: 92, found: 93))),
        Failure(prenom: "PHILIPPE", date: "610217", nir: "4791075056123", error: .notADefinitiveNIR(.nia)),
        Failure(prenom: "PHILIPPE", date: "610217", nir: "5551255055123", error: .notADefinitiveNIR(.coordinatedTransit)),
    ])
    func refusals(_ f: Failure) {
        #expect(throws: f.error) { try INSC.compute(prenom: f.prenom, birthDate: f.date, nir: f.nir) }
    }

    @Test func errorDescriptions() {
        #expect(INSCError.birthDateLength(5).description
            == "the birth date must be AAMMJJ or AAAAMMJJ (6 or 8 digits); it has 5 characters")
        #expect(INSCError.invalidNIR(.badOrderNumber).description
            == "invalid NIR: the order number of a NIR (positions 11–13) cannot be 000")
    }

    // MARK: Renderings

    @Test func renderings() throws {
        let insc = try INSC.compute(prenom: "PHILIPPE", birthDate: "610217", nir: "1610275754289")
        #expect(insc.fhirIdentifierJSON
            == #"{"use":"secondary","type":{"coding":[{"system":"https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203","code":"INS-C"}]},"system":"urn:oid:1.2.250.1.213.1.4.2","value":"0833910461279517589858"}"#)
        #expect(insc.hl7v2CX == "0833910461279517589858^^^&1.2.250.1.213.1.4.2&ISO^INS-C")
        #expect(INSC.oid == "1.2.250.1.213.1.4.2")
        #expect("\(insc)" == "0833910461279517589858")
    }

    @Test func allocationFreeDigestMatchesTheOneShot() {
        // The batch hashes through Digest.sha256(_:into:); it must equal Digest.sha256(_:).
        var rng = SplitMix64(seed: 7)
        for length in [0, 1, 29, 55, 56, 63, 64, 65, 200] {
            let message = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var out = [UInt8](repeating: 0, count: 32)
            message.withUnsafeBytes { m in out.withUnsafeMutableBufferPointer { Digest.sha256(m, into: $0.baseAddress!) } }
            #expect(out == Digest.sha256(message))
        }
        // FIPS 180-4 "abc".
        var abc = [UInt8](repeating: 0, count: 32)
        Array("abc".utf8).withUnsafeBytes { m in abc.withUnsafeMutableBufferPointer { Digest.sha256(m, into: $0.baseAddress!) } }
        #expect(abc.prefix(4) == [0xBA, 0x78, 0x16, 0xBF])
    }

    @Test func qualiteAsNumber() {
        #expect(INSC.forBeneficiary(qualite: 0, nirCertifie: nil, cardNIR: "279047511203483", prenom: "CLAIRE",
            dateNaissance: "19790412").map(\.value) == .success("0122404254843673961022"))
        #expect(INSC.forBeneficiary(qualite: 6, nirCertifie: nil, cardNIR: "171096912304538", prenom: "LUCAS",
            dateNaissance: "20150617") == .failure(.noOwnNIR(qualite: 6)))
    }

    func checkStructure(_ insc: INSC) {
        #expect(insc.value.utf8.count == 22)
        #expect(insc.value.utf8.allSatisfy { (0x30...0x39).contains($0) })
        #expect(UInt64(insc.value.prefix(20)) == insc.number)
        #expect(Int(insc.value.suffix(2)) == 97 - Int(insc.number % 97))
        #expect((1...97).contains(insc.key))
    }
}
