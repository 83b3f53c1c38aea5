import ISO7816
import Testing
@testable import CardSimulator

/// Table tests with real-world ATRs (vitale.md §2, cps.md §2.1, pcsc-ccid-vpcd-contactless.md §7.2) and
/// no-crash passes over random and mutated input for the simulator's parsers.
@Suite struct ParserTableTests {
    struct Row: Sendable {
        var atr: String
        var protocols: [Int]
        var fi: Int
        var di: Int
        var historical: String
    }

    static let rows: [Row] = [
        Row(atr: "3F 65 25 00 2C 09 69 90 00", protocols: [0], fi: 372, di: 1, historical: "2C 09 69 90 00"),
        Row(atr: "3B 75 13 00 00 47 09 EA 90 00", protocols: [0], fi: 372, di: 4, historical: "47 09 EA 90 00"),
        Row(atr: "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00", protocols: [0], fi: 372, di: 1,
            historical: "00 12 25 00 64 80 00 03 10 00 90 00"),
        Row(atr: "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E", protocols: [0, 1], fi: 372, di: 1,
            historical: "00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00"),
        Row(atr: "3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44", protocols: [0, 1], fi: 372, di: 12,
            historical: "00 12 25 00 64 80 04 01 00 00 90"),
        Row(atr: "3B 81 80 01 80 80", protocols: [0, 1], fi: 372, di: 1, historical: "80"),
    ]

    @Test(arguments: rows) func atrTable(_ row: Row) throws {
        let info = try #require(ATRInfo(h(row.atr)))
        #expect(info.protocols == row.protocols)
        #expect(info.fi == row.fi && info.di == row.di)
        #expect(hx(info.historicalBytes) == row.historical)
    }

    @Test func waitingIntegersFromTheATR() throws {
        let cps = try #require(ATRInfo(h("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00")))
        #expect(cps.waitingIntegerWI == 42)  // TC2 = 2A (cps.md §2.3)
        let v2 = try #require(ATRInfo(h("3B 75 13 00 00 47 09 EA 90 00")))
        #expect(v2.waitingIntegerWI == 10 && v2.blockWaitingIntegerBWI == 4 && v2.ifsc == 32)
    }

    @Test func contactlessATRsRebuiltFromTheirHistoricalBytes() throws {
        for atr in ["3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E", "3B 81 80 01 80 80",
            "3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A"]
        {
            let info = try #require(ATRInfo(h(atr)))
            #expect(hx(ATRInfo.contactlessATR(historicalBytes: info.historicalBytes)) == atr)
        }
    }

    @Test func malformedATRsAreRejected() {
        #expect(ATRInfo([]) == nil)
        #expect(ATRInfo([0x3B]) == nil)
        #expect(ATRInfo([0x3A, 0x00]) == nil)
        #expect(ATRInfo(h("3B 75 13 00")) == nil)  // interface bytes announced, missing
        #expect(ATRInfo(h("3B 05 01 02")) == nil)  // 5 historical bytes announced, 2 present
    }

    @Test func tlvParserTable() throws {
        let parsed = try #require(tlvObjects(h("65 03 80 01 41 7F 21 02 5F 37 00 00 FF")))
        #expect(parsed.map(\.tag) == [0x65, 0x7F21])
        #expect(tlvObjects(h("65 05 80 01")) == nil)
        #expect(tlvObjects(h("5F")) == nil)
        #expect(tlvObjects(h("65 84 00 00 00 01 00")) == nil)
        #expect(try #require(tlvObjects(h("E0 81 02 80 00"))).first?.value == [0x80, 0x00])
    }

    @Test func randomAndMutatedInputNeverCrash() throws {
        var g = SplitMix64(seed: 2026)
        let seeds = Self.rows.map { h($0.atr) } + [Vitale2Profile.pointersContent(.init())]
        var accepted = 0
        for i in 0..<30000 {
            var b: [UInt8]
            if i % 2 == 0 {
                b = (0..<Int(g.next() % 40)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            } else {
                b = seeds[Int(g.next() % UInt64(seeds.count))]
                for _ in 0..<Int(1 + g.next() % 3) where !b.isEmpty {
                    b[Int(g.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: g.next())
                }
                if g.next() % 3 == 0 { b = Array(b.prefix(Int(g.next() % UInt64(b.count + 1)))) }
            }
            if ATRInfo(b) != nil { accepted += 1 }
            _ = tlvObjects(b)
            _ = try? PINBlockBuilder.verify(structure: b, entry: .typed("1234"), templateHasLc: i % 3 == 0,
                readerMinDigits: 4, readerMaxDigits: 8)
            _ = try? PINBlockBuilder.modify(structure: b, entries: [.typed("1234"), .typed("5678"), .typed("5678")],
                templateHasLc: i % 3 == 0, readerMinDigits: 4, readerMaxDigits: 8)
        }
        #expect(accepted > 0)
    }

    @Test func mutatedVitaleSequencesNeverCrashTheProfiles() throws {
        var g = SplitMix64(seed: 1998)
        let sequence = [
            "00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45 00", "00 A4 02 00 02 20 01 00", "00 B0 00 00 00",
            "00 A4 00 00 02 3F 00", "00 B0 82 00 00", "BC C0 00 00 08", "BC B0 02 88 04", "00 C0 00 00 1C",
        ].map(h)
        var bad = 0
        for persona in ["vitale2-martin", "vitale1-lefebvre"] {
            for mode in T0Mode.allCases {
                let card = try PersonaCatalog.makeCard(persona: persona, interface: .contact, t0Mode: mode)
                for _ in 0..<5000 {
                    var b = sequence[Int(g.next() % UInt64(sequence.count))]
                    for _ in 0..<Int(g.next() % 3) { b[Int(g.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: g.next()) }
                    if g.next() % 4 == 0 { b = Array(b.prefix(Int(g.next() % UInt64(b.count + 1)))) }
                    if card.process(b).count < 2 { bad += 1 }
                }
            }
        }
        #expect(bad == 0)
    }
}
