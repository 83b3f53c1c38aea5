import Testing

/// `carte atr HEX [--json]` (cli.md): the JSON document with exactly the contract's keys, its values for real
/// ATRs (vitale.md §2, cps.md §2, pcsc-ccid-vpcd-contactless.md §7.2), exit 1 with `errors` for a malformed ATR,
/// exit 2 with one `carte:` line for text that is not hexadecimal.
@Suite struct ATRCommandTests {
    /// The keys of cli.md, exactly.
    static let contractKeys: Set<String> = [
        "ts", "convention", "protocols", "fi", "di", "fmaxMHz", "extraGuardTime", "ifsc", "cwi", "bwi", "specificMode",
        "classIndicator", "historicalBytes", "tck", "tckValid", "extraBytes", "errors", "card",
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let hex: String
        let expected: JSONValue
        var testDescription: String { name }
    }

    static let wellFormed: [Case] = [
        // vitale.md §2.2: TA1 13 (Fi 372, Di 4, 5 MHz), TB1 00, TC1 00, no TD1 → T=0 only; K = 5, no TCK.
        Case(
            name: "Vitale 2 (vitale2-martin)", hex: "3B 75 13 00 00 47 09 EA 90 00",
            expected: [
                "ts": "3B", "convention": "direct", "protocols": [0], "fi": 372, "di": 4, "fmaxMHz": 5,
                "extraGuardTime": 0, "ifsc": nil, "cwi": nil, "bwi": nil, "specificMode": nil, "classIndicator": nil,
                "historicalBytes": "4709EA9000", "tck": nil, "tckValid": nil, "extraBytes": "", "errors": [],
                "card": "vitale2",
            ]),
        // vitale.md §2.1: inverse convention (TS read as 3F), TB1 25, TC1 00, no TA1 → defaults Fi 372, Di 1.
        Case(
            name: "Vitale 1 (vitale1-lefebvre)", hex: "3F 65 25 00 2C 09 69 90 00",
            expected: [
                "ts": "3F", "convention": "inverse", "protocols": [0], "fi": 372, "di": 1, "fmaxMHz": 5,
                "extraGuardTime": 0, "ifsc": nil, "cwi": nil, "bwi": nil, "specificMode": nil, "classIndicator": nil,
                "historicalBytes": "2C09699000", "tck": nil, "tckValid": nil, "extraBytes": "", "errors": [],
                "card": "vitale1",
            ]),
        // cps.md §2.1: TB1 00, TD1 40 (T=0, TC2 follows), TC2 2A; K = 12, T=0 only → no TCK.
        Case(
            name: "CPS3 contact", hex: "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00",
            expected: [
                "ts": "3B", "convention": "direct", "protocols": [0], "fi": 372, "di": 1, "fmaxMHz": 5,
                "extraGuardTime": 0, "ifsc": nil, "cwi": nil, "bwi": nil, "specificMode": nil, "classIndicator": nil,
                "historicalBytes": "001225006480000310009000", "tck": nil, "tckValid": nil, "extraBytes": "",
                "errors": [], "card": "cps3",
            ]),
        // cps.md §2.1: TD1 80 (T=0), TD2 01 (T=1) → T=1 defaults IFSC 32, CWI 13, BWI 4; K = 15; TCK 0E valid.
        Case(
            name: "CPS3 contactless", hex: "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E",
            expected: [
                "ts": "3B", "convention": "direct", "protocols": [0, 1], "fi": 372, "di": 1, "fmaxMHz": 5,
                "extraGuardTime": 0, "ifsc": 32, "cwi": 13, "bwi": 4, "specificMode": nil, "classIndicator": nil,
                "historicalBytes": "0031B86404B0ECC173940180829000", "tck": "0E", "tckValid": true, "extraBytes": "",
                "errors": [], "card": "cps3Contactless",
            ]),
        // pcsc-ccid-vpcd-contactless.md §7.2 (desfire-durand): TD1 80, TD2 01, K = 1 (80), TCK 80.
        Case(
            name: "DESFire EV1 (desfire-durand)", hex: "3B 81 80 01 80 80",
            expected: [
                "ts": "3B", "convention": "direct", "protocols": [0, 1], "fi": 372, "di": 1, "fmaxMHz": 5,
                "extraGuardTime": 0, "ifsc": 32, "cwi": 13, "bwi": 4, "specificMode": nil, "classIndicator": nil,
                "historicalBytes": "80", "tck": "80", "tckValid": true, "extraBytes": "", "errors": [],
                "card": "desfire",
            ]),
    ]

    @Test(arguments: wellFormed) func jsonDocument(_ c: Case) throws {
        let run = try Carte.run(["atr", c.hex, "--json"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr == "", "\(run)")
        let doc = try #require(run.jsonValue, "stdout is not one JSON document: \(run)")
        #expect(doc.keys == Self.contractKeys)
        #expect(doc == c.expected)
        for key in Self.contractKeys.sorted() where doc[key] != c.expected[key] {
            Issue.record("\(c.name): key \(key) is \(doc[key]?.description ?? "absent"), expected \(c.expected[key]!)")
        }
    }

    @Test func hexWithoutSpacesAndSplitOverArguments() throws {
        let compact = try Carte.run(["atr", "3B751300004709EA9000", "--json"])
        let split = try Carte.run(["atr", "3B", "75", "13", "00", "00", "47", "09", "EA", "90", "00", "--json"])
        #expect(compact.status == 0 && split.status == 0)
        #expect(compact.jsonValue == Self.wellFormed[0].expected)
        #expect(split.jsonValue == Self.wellFormed[0].expected)
    }

    @Test func textOutputNamesTheCard() throws {
        let run = try Carte.run(["atr", "3B 75 13 00 00 47 09 EA 90 00"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr == "")
        #expect(run.stdoutLines.contains { $0.hasPrefix("Card") && $0.contains("vitale2") }, "\(run)")
        #expect(run.jsonValue == nil, "without --json the output is for people")
    }

    // MARK: Malformed ATRs: exit 1, still decoded, `errors` says why

    @Test func truncatedATR() throws {
        let run = try Carte.run(["atr", "3B 75 13 00", "--json"])
        #expect(run.status == 1, "\(run)")
        let doc = try #require(run.jsonValue, "\(run)")
        #expect(doc.keys == Self.contractKeys)
        #expect(doc["errors"] == ["the ATR is truncated: TC1 is announced but missing"])
        #expect(doc["ts"] == "3B")
        #expect(doc["fi"] == 372)
        #expect(doc["di"] == 4)
        #expect(doc["historicalBytes"] == "")
        #expect(doc["card"] == .null)
    }

    @Test func wrongTCK() throws {
        let run = try Carte.run(["atr", "3B 81 80 01 80 81", "--json"])
        #expect(run.status == 1, "\(run)")
        let doc = try #require(run.jsonValue, "\(run)")
        #expect(doc.keys == Self.contractKeys)
        #expect(doc["tck"] == "81")
        #expect(doc["tckValid"] == false)
        #expect(doc["errors"] == ["TCK = 81 is wrong; T0 … last historical byte XOR to 80"])
        #expect(doc["card"] == .null)
    }

    @Test func trailingBytesAndBadTS() throws {
        let extra = try Carte.run(["atr", "3B 75 13 00 00 47 09 EA 90 00 AA BB", "--json"])
        #expect(extra.status == 1, "\(extra)")
        #expect(extra.jsonValue?["extraBytes"] == "AABB")
        #expect(extra.jsonValue?["errors"] == ["2 bytes after the end of the ATR: AA BB"])

        let badTS = try Carte.run(["atr", "3C 00", "--json"])
        #expect(badTS.status == 1, "\(badTS)")
        #expect(badTS.jsonValue?["ts"] == "3C")
        #expect(badTS.jsonValue?["convention"] == .null)
        #expect(badTS.jsonValue?["errors"] == ["TS = 3C is neither 3B (direct convention) nor 3F (inverse convention)"])
    }

    @Test func malformedWithoutJSONStillExitsOne() throws {
        let run = try Carte.run(["atr", "3B 75 13 00"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout.contains("the ATR is truncated: TC1 is announced but missing"), "\(run)")
    }

    // MARK: Usage errors: exit 2, one `carte:` line on stderr, nothing on stdout

    @Test(arguments: [["3G"], ["3B7"], ["hello", "world"], []])
    func notHexadecimal(_ words: [String]) throws {
        let run = try Carte.run(["atr"] + words + ["--json"])
        #expect(run.status == 2, "\(run)")
        #expect(run.stdout == "", "\(run)")
        #expect(run.stderrLines.count == 1, "\(run)")
        #expect(run.stderr.hasPrefix("carte: "), "\(run)")
    }

    @Test func notHexadecimalMessage() throws {
        let run = try Carte.run(["atr", "3G"])
        #expect(run.stderr == "carte: '3G' is not hexadecimal (two hex digits per byte, spaces optional)\n", "\(run)")
    }
}
