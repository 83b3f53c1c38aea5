import Testing

/// `carte ins nir` and `carte ins insc` (cli.md; ins.md §1.3–1.5, §2.3).
@Suite struct INSNIRCommandTests {
    /// The keys cli.md requires (more are allowed).
    static let contractKeys: Set<String> = ["valid", "reason", "sex", "birthYear", "birthMonth", "place", "key"]

    @Test func validNIRJSONIsMasked() throws {
        let run = try Carte.run(["ins", "nir", "279047511203483", "--json"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr == "")
        let doc = try #require(run.jsonValue, "\(run)")
        let keys = try #require(doc.keys)
        #expect(Self.contractKeys.isSubset(of: keys), "missing keys: \(Self.contractKeys.subtracting(keys))")
        #expect(doc["valid"] == true)
        #expect(doc["reason"] == .null)
        #expect(doc["sex"] == "female")
        #expect(doc["birthYear"] == 79)
        #expect(doc["birthMonth"] == 4)
        #expect(doc["key"] == 83)
        #expect(doc["place"] == ["kind": "metropolitan"], "the place of birth is reduced to its kind when masked")
        #expect(doc["nir"] == "2 79 •• •• ••• ••• 83")
    }

    @Test func validNIRJSONRevealed() throws {
        let run = try Carte.run(["ins", "nir", "279047511203483", "--json", "--reveal"])
        #expect(run.status == 0, "\(run)")
        let doc = try #require(run.jsonValue, "\(run)")
        #expect(doc["place"] == ["kind": "metropolitan", "departement": "75", "commune": "112"])
        #expect(doc["nir"] == "279047511203483")
    }

    @Test func corsicanNIRWithoutKey() throws {
        // 185022A004017: key 17 computed with 2A → 19 (ins.md §2.3).
        let run = try Carte.run(["ins", "nir", "185022A004017", "--json"])
        #expect(run.status == 0, "\(run)")
        let doc = try #require(run.jsonValue, "\(run)")
        #expect(doc["valid"] == true)
        #expect(doc["sex"] == "male")
        #expect(doc["birthYear"] == 85)
        #expect(doc["birthMonth"] == 2)
        #expect(doc["key"] == 17)
        #expect(doc["nir"] == "1 85 •• •• ••• ••• 17")
    }

    @Test func spacedNIRText() throws {
        let run = try Carte.run(["ins", "nir", "2 79 04 75 112 034 83"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr == "")
        #expect(
            run.stdoutLines == [
                "valid NIR 2 79 •• •• ••• ••• 83",
                "sex    female",
                "born   year 79, month 04 (calendar)",
                "place  metropolitan (--reveal to show)",
                "key    83",
            ], "\(run)")
    }

    @Test func revealedText() throws {
        let run = try Carte.run(["ins", "nir", "279047511203483", "--reveal"])
        #expect(run.status == 0, "\(run)")
        #expect(
            run.stdoutLines == [
                "valid NIR 279047511203483",
                "sex    female",
                "born   year 79, month 04 (calendar)",
                "place  metropolitan, département 75, commune 112",
                "key    83",
            ], "\(run)")
    }

    @Test func wrongKeyJSON() throws {
        let run = try Carte.run(["ins", "nir", "279047511203484", "--json"])
        #expect(run.status == 1, "\(run)")
        let doc = try #require(run.jsonValue, "\(run)")
        let keys = try #require(doc.keys)
        #expect(Self.contractKeys.isSubset(of: keys))
        #expect(doc["valid"] == false)
        #expect(doc["reason"] == "the NIR key is 84 but the number gives 83: a digit is probably wrong")
        for k in ["sex", "birthYear", "birthMonth", "place", "key"] { #expect(doc[k] == .null, "\(k)") }
        #expect(doc["nir"] == "2 79 •• •• ••• ••• 84")
    }

    @Test func wrongKeyText() throws {
        let run = try Carte.run(["ins", "nir", "279047511203484"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout == "")
        #expect(
            run.stderr
                == "carte: invalid NIR 2 79 •• •• ••• ••• 84: the NIR key is 84 but the number gives 83: a digit is probably wrong\n",
            "\(run)")
    }

    @Test(arguments: [
        ("12345", "a NIR has 13 characters, or 15 with its key; this one has 5 (spaces not counted)"),
        ("9790475112034", "the first digit of a NIR must be 1 or 2 (3, 4, 7, 8 for a temporary number, 5, 6 for a coordinated transit); it is 9"),
        ("2791375112034", "month 13 is not possible in a NIR (01–12, or 00, 20–42, 50–99 for incomplete civil status)"),
        ("2790475112000", "the order number of a NIR (positions 11–13) cannot be 000"),
    ])
    func invalidNIRs(_ nir: String, _ reason: String) throws {
        let run = try Carte.run(["ins", "nir", nir, "--json"])
        #expect(run.status == 1, "\(run)")
        #expect(run.jsonValue?["valid"] == false)
        #expect(run.jsonValue?["reason"] == .string(reason))
    }

    @Test func missingArgumentIsUsage() throws {
        let run = try Carte.run(["ins", "nir"])
        #expect(run.status == 2, "\(run)")
        #expect(run.stdout == "")
    }
}

@Suite struct INSCCommandTests {
    struct Person: Sendable, CustomTestStringConvertible {
        let who: String
        let prenom: String
        let naissance: String
        let nir: String
        let insc: String
        var testDescription: String { who }
    }

    /// Values of INSTests (ins.md §1.5 published vectors; persona values from an independent reference).
    static let people: [Person] = [
        .init(who: "vitale2-martin CLAIRE", prenom: "CLAIRE", naissance: "19790412", nir: "279047511203483",
              insc: "0122404254843673961022"),
        .init(who: "vitale2-bernard-family SOPHIE (NIR certifié)", prenom: "SOPHIE", naissance: "19740522",
              nir: "274051305501264", insc: "1529412240382861057364"),
        .init(who: "vitale2-nguyen-lunar VAN LONG", prenom: "VAN LONG", naissance: "19650000",
              nir: "165009935012356", insc: "1395175575913755363989"),
        .init(who: "vitale2-santoni-corsica JEAN-BAPTISTE", prenom: "JEAN-BAPTISTE", naissance: "19850214",
              nir: "185022A00401717", insc: "1104818887793245809824"),
        .init(who: "vitale1-lefebvre ANDRE (AAMMJJ)", prenom: "ANDRE", naissance: "380715", nir: "138079205015575",
              insc: "0912184437304873338873"),
        .init(who: "ins.md V1 (NIR without key)", prenom: "PHILIPPE", naissance: "610217", nir: "1610275754289",
              insc: "0833910461279517589858"),
    ]

    @Test(arguments: people) func single(_ p: Person) throws {
        let run = try Carte.run(["ins", "insc", "--prenom", p.prenom, "--naissance", p.naissance, "--nir", p.nir])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == p.insc + "\n", "\(run)")
        #expect(run.stderr == "", "\(run)")
    }

    @Test func singleWithWrongKeyIsRefused() throws {
        let run = try Carte.run(["ins", "insc", "--prenom", "CLAIRE", "--naissance", "19790412", "--nir", "279047511203484"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout == "")
        #expect(
            run.stderr == "carte: invalid NIR: the NIR key is 84 but the number gives 83: a digit is probably wrong\n",
            "\(run)")
    }

    @Test func singleWithBadDateIsRefused() throws {
        let run = try Carte.run(["ins", "insc", "--prenom", "CLAIRE", "--naissance", "1979041", "--nir", "279047511203483"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout == "")
        #expect(run.stderrLines.count == 1 && run.stderr.hasPrefix("carte: "), "\(run)")
    }

    @Test(arguments: [
        ["ins", "insc"],
        ["ins", "insc", "--prenom", "CLAIRE", "--naissance", "19790412"],
        ["ins", "insc", "--batch", "-", "--prenom", "CLAIRE"],
    ])
    func usageErrors(_ args: [String]) throws {
        let run = try Carte.run(args)
        #expect(run.status == 2, "\(run)")
        #expect(run.stdout == "")
        #expect(run.stderrLines.count == 1, "\(run)")
        #expect(run.stderr.hasPrefix("carte: "), "\(run)")
    }

    @Test func batchFromStdinWithGoodBadBlankAndCommentLines() throws {
        let input =
            "# export 2026-11\n"
            + "CLAIRE;19790412;279047511203483\n"
            + "Franck;19380300;138039010402728;IPP-42\n"
            + "\n"
            + "PHILIPPE;610217;161027575428993\n"
            + "only;two\n"
            + "#   LUCAS has no NIR of his own\n"
            + "JEAN-BAPTISTE;19850214;185022A00401717\n"
        let expected =
            "# export 2026-11\n"
            + "CLAIRE;19790412;279047511203483;0122404254843673961022\n"
            + "Franck;19380300;138039010402728;IPP-42;1215965973479473546018\n"
            + "\n"
            + "PHILIPPE;610217;161027575428993;ERROR:line 5: invalid NIR: the NIR key is 93 but the number gives 92: a digit is probably wrong\n"
            + "only;two;ERROR:line 6: expected prenom;naissance;nir\n"
            + "#   LUCAS has no NIR of his own\n"
            + "JEAN-BAPTISTE;19850214;185022A00401717;1104818887793245809824\n"
        let run = try Carte.run(["ins", "insc", "--batch", "-"], stdin: input)
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout == expected, "\(run)")
        #expect(run.stderr == "carte: 2 of 5 rows got no INS-C (see the ;ERROR: lines)\n", "\(run)")
    }

    @Test func batchAllGoodExitsZero() throws {
        let input = "# ok\nCLAIRE;19790412;279047511203483\n\nANDRE;380715;138079205015575"
        let run = try Carte.run(["ins", "insc", "--batch", "-"], stdin: input)
        #expect(run.status == 0, "\(run)")
        #expect(
            run.stdout
                == "# ok\nCLAIRE;19790412;279047511203483;0122404254843673961022\n\nANDRE;380715;138079205015575;0912184437304873338873",
            "\(run)")
        #expect(run.stderr == "")
    }

    @Test func batchEmptyStdinExitsZero() throws {
        let run = try Carte.run(["ins", "insc", "--batch", "-"], stdin: "")
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == "")
        #expect(run.stderr == "")
    }

    @Test func batchMissingFile() throws {
        let run = try Carte.run(["ins", "insc", "--batch", "/nonexistent/carte-clitests/rows.csv"])
        #expect([2, 3].contains(run.status), "\(run)")
        #expect(run.stdout == "")
        #expect(run.stderrLines.count == 1 && run.stderr.hasPrefix("carte: "), "\(run)")
    }
}
