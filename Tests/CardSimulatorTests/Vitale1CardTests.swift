import ISO7816
import Testing
@testable import CardSimulator

@Suite struct Vitale1CardTests {
    func lefebvre() throws -> any VirtualCard { try PersonaCatalog.makeCard(persona: "vitale1-lefebvre") }

    func words(_ r: [UInt8]) -> [UInt32] {
        stride(from: 0, to: r.count - 2, by: 4).map {
            UInt32(r[$0]) << 24 | UInt32(r[$0 + 1]) << 16 | UInt32(r[$0 + 2]) << 8 | UInt32(r[$0 + 3])
        }
    }

    func nibbles(_ n: [UInt8]) -> String { n.map { String($0, radix: 16, uppercase: true) }.joined() }

    @Test func inverseConventionATRAndClassBCOnly() throws {
        let card = try lefebvre()
        #expect(hx(card.atr) == "3F 65 25 00 2C 09 69 90 00")
        let info = try #require(ATRInfo(card.atr))
        #expect(info.ts == 0x3F)
        #expect(info.protocols == [0])
        #expect(!info.hasTA1)
        #expect(hx(info.historicalBytes) == "2C 09 69 90 00")
        #expect(hx(card.process(h("00 B0 03 00 04"))) == "6E 00")
        #expect(hx(card.process(h("00 A4 00 00 02 3F 00"))) == "6E 00")
        #expect(hx(card.process(h("BC A4 00 00"))) == "6D 00")
    }

    @Test func reportedSequenceOfSection5_3() throws {
        let card = try lefebvre()
        #expect(hx(card.process(h("BC C0 00 00 08"))) == "21 88 02 00 72 34 56 78 90 00")
        #expect(hx(card.process(h("BC B0 02 88 04"))) == "3F FF FF FF 90 00")
        #expect(hx(card.process(h("BC B0 21 80 04"))) == "3F FF FF FF 90 00")
        // Under the §9.3 design these two reported reads are refused: 2018h + 62 words ends past ADMAX, and 0214h
        // is not a multiple of 8.
        #expect(hx(card.process(h("BC B0 20 18 F8"))) == "6B 00")
        #expect(hx(card.process(h("BC B0 02 14 F0"))) == "6B 00")
    }

    @Test func addressingAndLengthErrors() throws {
        let card = try lefebvre()
        #expect(hx(card.process(h("BC B0 21 88 04"))) == "6B 00")
        #expect(hx(card.process(h("BC B0 01 F8 04"))) == "6B 00")
        #expect(hx(card.process(h("BC B0 03 00 05"))) == "67 00")
        #expect(hx(card.process(h("BC C0 00 00 04"))) == "67 00")
        #expect(hx(card.process(h("BC B0"))) == "67 00")
    }

    @Test func productionAreaPointsAtTheFourZones() throws {
        let card = try lefebvre()
        #expect(hx(card.process(h("BC B0 21 28 10"))) == "20 80 03 00 20 80 03 38 20 80 03 70 20 80 03 88 90 00")
    }

    @Test func zonesDecodeAsThirtyBitBCDStreams() throws {
        let card = try lefebvre()
        let assure = Vitale1Card.unpack(words(card.process(h("BC B0 03 00 18"))))
        #expect(nibbles(assure) == "01" + "7234567890123452" + "1380792050155" + "75" + "01" + "921" + "0050" + "10" + "F")
        let benef = Vitale1Card.unpack(words(card.process(h("BC B0 03 38 18"))))
        #expect(nibbles(benef) == "380715" + "1" + "0" + "4C45464542565245FF" + "414E445245FF" + "FFFFFFF")
        let droits = Vitale1Card.unpack(words(card.process(h("BC B0 03 70 08"))))
        #expect(nibbles(droits) == "1" + "240101" + "991231" + "FF")
        #expect(hx(card.process(h("BC B0 03 88 04"))) == "3F FF FF FF 90 00")
    }

    @Test func everyWordHasItsTopTwoBitsClear() throws {
        let card = try lefebvre()
        var a = 0x0200
        while a + 8 * 31 <= 0x2188 {
            let r = card.process([0xBC, 0xB0, UInt8(a >> 8), UInt8(a & 0xFF), 0x7C])
            #expect(words(r).allSatisfy { $0 & 0xC000_0000 == 0 })
            a += 8 * 31
        }
    }

    @Test func reportedWordsOfSection4_2DecodeToTheBirthDate() {
        let n = Vitale1Card.unpack([0x3FFF_F540, 0x2408_43FF, 0x3FFF_FFFF], bitOffset: 2)
        #expect(nibbles(n).hasPrefix("FFFF54090210FFFF"))
    }

    @Test func packAndUnpackRoundTrip() {
        let n: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0xA, 2]
        let w = Vitale1Card.pack(n)
        #expect(w.count == 2)
        #expect(Array(Vitale1Card.unpack(w).prefix(12)) == n)
        #expect(Vitale1Card.pack([]) == [])
    }
}
