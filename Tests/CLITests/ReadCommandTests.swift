import Testing

/// `carte read` (cli.md) on the in-process simulated reader (`--simulate PERSONA`), through the USB CCID driver on
/// a simulated CCID device (`--transport usb-sim`), and its failures without hardware (`usb`, `pcsc`).
/// Expected values come from personas.json (read independently of the simulator) and the INS-C values of INSTests.
@Suite struct ReadCommandTests {
    /// A fixed care date, so `rightsOpen` does not depend on the day the tests run.
    static let careDate = "20260101"

    /// The INS-C of every Vitale beneficiary (INSTests' table: ins.md §1.2 choice of NIR, independent reference
    /// values); `nil` when no INS-C may be derived, with the reason the INS module gives.
    static let expectedINSC: [String: [String: String?]] = [
        "vitale2-martin": ["CLAIRE": "0122404254843673961022"],
        "vitale2-bernard-family": [
            "THOMAS": "0704399636225942952020", "SOPHIE": "1529412240382861057364", "EMMA": "1251407495617069929375",
            "LUCAS": nil,
        ],
        "vitale2-petit-twins": ["AURELIE": "1154903123790003669039", "LOUIS": "0871187043447596622096", "JULES": nil],
        "vitale2-nguyen-lunar": ["VAN LONG": "1395175575913755363989"],
        "vitale2-santoni-corsica": ["JEAN-BAPTISTE": "1104818887793245809824"],
        "vitale2-roussel-expired": ["HELENE": "0613343158201338895021"],
        "vitale1-lefebvre": ["ANDRE": "0912184437304873338873"],
        "vitale2-test-card": ["CAMILLE": "1560244212483721618297"],
    ]

    static let noOwnNIRReason =
        "no INS-C: this beneficiary (qualité 06) is an ayant droit with no NIR certifié on the card, and the card NIR belongs to the assuré"

    /// The keys cli.md requires in a Vitale `read --json` document (more are allowed).
    static let topKeys: Set<String> = ["kind", "atr", "serial", "insured", "beneficiaries"]
    static let insuredKeys: Set<String> = ["nir", "regime", "caisse", "centre"]
    static let beneficiaryKeys: Set<String> = [
        "nomUsuel", "nomPatronymique", "prenom", "dateNaissance", "rang", "qualite", "nir", "nirCertifie", "insc",
        "inscReason", "rights",
    ]

    static var vitalePersonas: [String] { Personas.patients.compactMap { $0["id"]?.string } }

    static func compactHex(_ s: String?) -> String? {
        s?.replacingOccurrences(of: " ", with: "").uppercased()
    }

    /// Checks one `read --json` document against the persona, NIRs masked (or full with `revealed`).
    static func check(_ doc: JSONValue, persona id: String, revealed: Bool) throws {
        let p = try #require(Personas.patient(id), "persona \(id) not in personas.json")
        let keys = try #require(doc.keys, "not a JSON object")
        #expect(topKeys.isSubset(of: keys), "\(id): missing keys \(topKeys.subtracting(keys))")
        #expect(doc["kind"] == p["card"], "\(id): kind")
        #expect(compactHex(doc["atr"]?.string) == compactHex(p["atr"]?.string), "\(id): atr")
        #expect(doc["serial"] == p["serial"], "\(id): serial")

        let insured = try #require(doc["insured"])
        let insuredKeySet = try #require(insured.keys)
        #expect(insuredKeys.isSubset(of: insuredKeySet), "\(id): insured keys \(insuredKeySet)")
        let nir = try #require(p["insured"]?["nir"]?.string)
        #expect(insured["nir"] == .string(revealed ? nir : NIRText.mask(nir)), "\(id): insured nir")
        for k in ["regime", "caisse", "centre"] { #expect(insured[k] == p["insured"]?[k], "\(id): insured \(k)") }

        let expected = try #require(p["beneficiaries"]?.array)
        let got = try #require(doc["beneficiaries"]?.array, "\(id): beneficiaries is not an array")
        try #require(got.count == expected.count, "\(id): \(got.count) beneficiaries, expected \(expected.count)")
        for (b, e) in zip(got, expected) {
            let prenom = try #require(e["prenom"]?.string)
            let who = "\(id) \(prenom)"
            let bKeys = try #require(b.keys)
            #expect(beneficiaryKeys.isSubset(of: bKeys), "\(who): missing keys \(beneficiaryKeys.subtracting(bKeys))")
            #expect(b["nomUsuel"] == e["nomUsuel"], "\(who)")
            // Vitale 1 cards carry no nom patronymique (vitale.md §9).
            #expect(b["nomPatronymique"] == (p["card"] == "vitale1" ? .null : e["nomPatronymique"]), "\(who)")
            #expect(b["prenom"] == .string(prenom), "\(who)")
            #expect(b["dateNaissance"] == e["dateNaissance"], "\(who): dateNaissance as stored")
            #expect(b["rang"] == e["rang"], "\(who): rang")
            #expect(b["qualite"] == e["qualite"], "\(who): qualite")
            if let certified = e["nirCertifie"]?.string {
                #expect(b["nirCertifie"] == .string(revealed ? certified : NIRText.mask(certified)), "\(who)")
            } else {
                #expect(b["nirCertifie"] == .null, "\(who): nirCertifie")
            }
            // The card NIR on each beneficiary's NIR template: the insured's, masked.
            #expect(b["nir"] == .string(revealed ? nir : NIRText.mask(nir)), "\(who): nir")
            let insc = try #require(expectedINSC[id]?[prenom], "no expected INS-C for \(who)")
            if let insc {
                #expect(b["insc"] == .string(insc), "\(who): insc")
                #expect(b["inscReason"] == .null, "\(who): inscReason")
            } else {
                #expect(b["insc"] == .null, "\(who): no INS-C may be derived")
                #expect(b["inscReason"] == .string(noOwnNIRReason), "\(who): inscReason")
            }
            let rights = (e["amo"]?.array ?? []).map { JSONValue.object(["start": $0["start"]!, "end": $0["end"]!]) }
            #expect(b["rights"] == .array(rights), "\(who): rights")
        }
    }

    @Test(arguments: vitalePersonas) func simulatedVitaleJSON(_ persona: String) throws {
        let run = try Carte.run(["read", "--simulate", persona, "--json", "--care-date", Self.careDate])
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr == "", "\(run)")
        let doc = try #require(run.jsonValue, "stdout is not one JSON document: \(run)")
        try Self.check(doc, persona: persona, revealed: false)
        // Masked: no persona NIR appears whole (SecretScan also checks every run).
        for nir in Personas.nirs { #expect(!run.stdout.contains(nir)) }
    }

    @Test func lucasHasNoINSCAndSaysWhy() throws {
        let run = try Carte.run(["read", "--simulate", "vitale2-bernard-family", "--json", "--care-date", Self.careDate])
        let lucas = try #require(run.jsonValue?["beneficiaries"]?[3])
        #expect(lucas["prenom"] == "LUCAS")
        #expect(lucas["insc"] == .null)
        #expect(lucas["inscReason"] == .string(Self.noOwnNIRReason))
        #expect(lucas["nirCertifie"] == .null)
    }

    @Test func rightsAtTheCareDate() throws {
        let expired = try Carte.run(["read", "--simulate", "vitale2-roussel-expired", "--json", "--care-date", "20260101"])
        #expect(expired.status == 0, "\(expired)")
        #expect(expired.jsonValue?["beneficiaries"]?[0]?["rightsOpen"] == false)
        let open = try Carte.run(["read", "--simulate", "vitale2-roussel-expired", "--json", "--care-date", "20240601"])
        #expect(open.jsonValue?["beneficiaries"]?[0]?["rightsOpen"] == true)
    }

    @Test func testCardIsFlagged() throws {
        // caisse 349 (personas.json: vitale2-test-card) is a test card; vitale2-martin is not.
        let test = try Carte.run(["read", "--simulate", "vitale2-test-card", "--json", "--care-date", Self.careDate])
        #expect(test.jsonValue?["testCard"] == true, "\(test)")
        let real = try Carte.run(["read", "--simulate", "vitale2-martin", "--json", "--care-date", Self.careDate])
        #expect(real.jsonValue?["testCard"] == false, "\(real)")
    }

    @Test func revealShowsFullNIRs() throws {
        let run = try Carte.run([
            "read", "--simulate", "vitale2-bernard-family", "--json", "--reveal", "--care-date", Self.careDate,
        ])
        #expect(run.status == 0, "\(run)")
        let doc = try #require(run.jsonValue, "\(run)")
        try Self.check(doc, persona: "vitale2-bernard-family", revealed: true)
    }

    @Test func textOutputIsMasked() throws {
        let run = try Carte.run(["read", "--simulate", "vitale2-martin", "--care-date", Self.careDate])
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr == "")
        #expect(run.jsonValue == nil)
        #expect(run.stdoutLines.contains("insured NIR   2 79 •• •• ••• ••• 83"), "\(run)")
        #expect(run.stdoutLines.contains("   INS-C      0122404254843673961022"), "\(run)")
        #expect(!run.stdout.contains("279047511203483"))
    }

    // MARK: Through the USB CCID driver on a simulated CCID device

    @Test(arguments: ["tpdu", "apdu", "extended-apdu"]) func usbSimulatedReader(_ level: String) throws {
        let run = try Carte.run([
            "read", "--transport", "usb-sim", "--simulate", "vitale2-martin", "--reader", level, "--json",
            "--care-date", Self.careDate,
        ])
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr == "", "\(run)")
        let doc = try #require(run.jsonValue, "\(run)")
        try Self.check(doc, persona: "vitale2-martin", revealed: false)
    }

    @Test func usbSimulatedReaderGivesTheSameDocument() throws {
        let direct = try Carte.run(["read", "--simulate", "vitale2-nguyen-lunar", "--json", "--care-date", Self.careDate])
        let usb = try Carte.run([
            "read", "--transport", "usb-sim", "--simulate", "vitale2-nguyen-lunar", "--reader", "tpdu", "--json",
            "--care-date", Self.careDate,
        ])
        #expect(direct.status == 0 && usb.status == 0, "\(direct)\n\(usb)")
        #expect(direct.jsonValue != nil)
        #expect(direct.jsonValue == usb.jsonValue)
    }

    // MARK: Failures

    @Test(arguments: [
        ["read", "--simulate", "nobody"],
        ["read", "--simulate", "nobody", "--json"],
        ["read", "--transport", "usb-sim", "--simulate", "nobody"],
        ["read", "--transport", "sim", "--simulate", "nobody"],
    ])
    func unknownPersonaIsUsage(_ args: [String]) throws {
        let run = try Carte.run(args)
        #expect(run.status == 2, "\(run)")
        #expect(run.stdout == "")
        #expect(run.stderr == "carte: unknown persona 'nobody' (see carte simulate --list)\n", "\(run)")
    }

    @Test(arguments: [
        ["read", "--transport", "usb-sim"],
        ["read", "--transport", "sim"],
        ["read", "--transport", "usb", "--simulate", "vitale2-martin"],
        ["read", "--transport", "usb-sim", "--simulate", "vitale2-martin", "--reader", "bogus"],
        ["read", "--simulate", "vitale2-martin", "--care-date", "2026"],
    ])
    func inconsistentFlagsAreUsage(_ args: [String]) throws {
        let run = try Carte.run(args)
        #expect(run.status == 2, "\(run)")
        #expect(run.stdout == "")
        #expect(run.stderrLines.count == 1 && run.stderr.hasPrefix("carte: "), "\(run)")
    }

    @Test(arguments: [["read", "--transport", "usb"], ["read", "--transport", "usb", "--json"]])
    func usbWithoutReader(_ args: [String]) throws {
        let run = try Carte.run(args)
        #expect(run.status == 3, "\(run)")
        #expect(run.stdout == "")
        #expect(run.stderr == "carte: no USB CCID reader found\n", "\(run)")
    }

    @Test(arguments: [["read"], ["read", "--transport", "pcsc"], ["read", "--transport", "pcsc", "--json"]])
    func pcscWithoutPCSCD(_ args: [String]) throws {
        let run = try Carte.run(args)
        #expect(run.status == 3, "\(run)")
        #expect(run.stdout == "")
        #expect(run.stderr == "carte: the smart-card service (pcscd) is not running\n", "\(run)")
    }

    /// Professional cards and badges: recognised, and either read (once their readers land) or refused with
    /// "not available yet" (exit 2) — never a crash, and never a PIN in the output (SecretScan).
    @Test(arguments: ["cps3-durand", "cps3-fabre-last-try", "cpe-girard"])
    func professionalCards(_ persona: String) throws {
        let run = try Carte.run(["read", "--simulate", persona, "--json"])
        #expect([0, 2].contains(run.status), "\(run)")
        #expect(!run.signalled && !run.timedOut)
        if run.status == 0 {
            #expect(run.jsonValue?["kind"] == "cps3", "\(run)")
            #expect(run.jsonValue?["atr"] != nil)
        } else {
            #expect(run.stderrLines.count == 1 && run.stderr.hasPrefix("carte: "), "\(run)")
        }
    }
}
