import Testing

@testable import ISO7816

private func b(_ hex: String) -> [UInt8] { [UInt8](hex: hex)! }

@Suite struct BERTLVTests {
    /// EF 2001 POINTERS of the Vitale 2 simulator design (vitale.md §9.2), long-form length `81 89`.
    static let pointers = b("""
        E0 81 89 A0 25 82 12 00 01 00 00 D2 50 00 00 02
        4D 46 5F 56 49 54 41 4C 45 82 0F 00 02 00 00 D2
        50 00 00 02 56 49 54 41 4C 45 80 0C 49 44 45 4E
        54 20 20 20 00 01 20 02 80 0C 42 45 4E 45 46 20
        20 20 00 02 20 02 80 0C 43 41 52 54 45 20 20 20
        00 02 20 03 80 0C 41 4D 4F 20 20 20 20 20 00 02
        20 04 80 0C 41 4D 43 20 20 20 20 20 00 02 20 05
        80 0C 43 45 52 54 20 20 20 20 00 02 20 06 80 0C
        50 48 4F 54 4F 20 20 20 00 02 20 07
        """)

    @Test func vitalePointersFileWithLongFormLength() throws {
        #expect(Self.pointers.count == 140)
        let objects = try BERTLV.decode(Self.pointers)
        #expect(objects.count == 1)
        let e0 = objects[0]
        #expect(e0.tag == 0xE0 && e0.isConstructed)
        #expect(e0.value.count == 0x89)
        #expect(e0.children.map(\.tag) == [0xA0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80])
        #expect(e0.children[0].children.map(\.tag) == [0x82, 0x82])
        #expect(e0.children[0].children[0].value == b("00 01 00 00 D2 50 00 00 02 4D 46 5F 56 49 54 41 4C 45"))
        #expect(e0.children[0].children[1].value.suffix(6) == Array("VITALE".utf8)[...])
        #expect(e0.children[1].value == Array("IDENT   ".utf8) + [0x00, 0x01, 0x20, 0x02])
        #expect(e0.child(path: [0xA0, 0x82])?.value.count == 18)
        #expect(objects.encoded == Self.pointers)
    }

    @Test func vitaleIdentTemplatesWithZeroPadding() throws {
        let ident = b("""
            65 18 80 06 44 55 50 4F 4E 54 81 04 4A 45 41 4E 82 08 31 39 36 38 30 31 31 37
            65 17 80 06 44 55 50 4F 4E 54 81 03 4C 45 41 82 08 32 30 31 32 30 33 30 39 00 00 00 00
            """)
        let objects = try BERTLV.decode(ident)
        #expect(objects.map(\.tag) == [0x65, 0x65])
        #expect(objects.first(path: [0x65, 0x81])?.value == Array("JEAN".utf8))
        #expect(BERTLV.all(tag: 0x81, in: objects).map { String(decoding: $0.value, as: UTF8.self) } == ["JEAN", "LEA"])
        #expect(objects[1].first(tag: 0x82)?.value == Array("20120309".utf8))
        // Without padding skipping the 00 bytes are read as (empty) tag-00 objects.
        let strict = try BERTLV.decode(ident, skipPadding: false)
        #expect(strict.map(\.tag) == [0x65, 0x65, 0x00, 0x00])
        // Encoding the first template gives its bytes back.
        let built = BERTLV(tag: 0x65, children: [
            BERTLV(tag: 0x80, value: Array("DUPONT".utf8)), BERTLV(tag: 0x81, value: Array("JEAN".utf8)),
            BERTLV(tag: 0x82, value: Array("19680117".utf8)),
        ])
        #expect(built.encoded == Array(ident[0..<26]))
    }

    @Test func vitaleBenefTemplates() throws {
        let benef = b("""
            65 18 93 0F 31 36 38 30 31 37 35 30 35 36 31 32 33 38 31 84 01 31 85 02 30 30
            65 29 93 0F 31 36 38 30 31 37 35 30 35 36 31 32 33 38 31 84 01 31 85 02 30 36
            86 0F 32 31 32 30 33 37 35 31 31 32 30 38 38 39 35 00 00
            """)
        let objects = try BERTLV.decode(benef)
        #expect(objects.count == 2)
        #expect(objects[1].children.map(\.tag) == [0x93, 0x84, 0x85, 0x86])
        #expect(objects[1].child(path: [0x85])?.value == Array("06".utf8))
        #expect(objects.first(path: [0x65, 0x86])?.value.count == 15)
    }

    @Test func cpsEFDIRApplicationTemplate() throws {
        let aid = b("E8 28 BD 08 0F 80 25 00 00 01 FF 00 10")
        let app = BERTLV(tag: 0x61, children: [
            BERTLV(tag: 0x4F, value: aid), BERTLV(tag: 0x50, value: Array("CPX IAS".utf8)),
            BERTLV(tag: 0x51, value: b("3F 00 00 01")), BERTLV(tag: 0x73, children: [BERTLV(tag: 0x4F, value: aid)]),
        ])
        #expect(app.encoded.count == 49)  // cps.md §3.1: 49 + 52 = 101 bytes
        #expect(Array(app.encoded.prefix(4)) == b("61 2F 4F 0D"))
        let back = try BERTLV.decode(app.encoded + [0xFF, 0xFF])
        #expect(back == [app])
        #expect(back.first(path: [0x61, 0x73, 0x4F])?.value == aid)
    }

    @Test func multiByteTags() throws {
        let objects = try BERTLV.decode(b("7F 21 08 5F 37 02 AA BB 5F 38 00 9F 7F 01 01 DF 81 01 01 02 DF 81 81 01 00"))
        #expect(objects.map(\.tag) == [0x7F21, 0x9F7F, 0xDF8101, 0xDF818101])
        #expect(objects[0].children.map(\.tag) == [0x5F37, 0x5F38])
        #expect(objects[0].children[0].value == [0xAA, 0xBB])
        #expect(objects[2].tagBytes == [0xDF, 0x81, 0x01])
        #expect(objects.encoded == b("7F 21 08 5F 37 02 AA BB 5F 38 00 9F 7F 01 01 DF 81 01 01 02 DF 81 81 01 00"))
        #expect(throws: TLVError.tagTooLong(offset: 0)) { try BERTLV.decode(b("DF 81 81 81 01 00")) }
        #expect(throws: TLVError.truncatedTag(offset: 0)) { try BERTLV.decode(b("5F")) }
        #expect(throws: TLVError.truncatedTag(offset: 2)) { try BERTLV.decode(b("80 00 9F 81")) }
    }

    @Test func lengthForms() throws {
        #expect(BERTLV.encodeLength(0x7F) == [0x7F])
        #expect(BERTLV.encodeLength(0x80) == [0x81, 0x80])
        #expect(BERTLV.encodeLength(0x100) == [0x82, 0x01, 0x00])
        #expect(BERTLV.encodeLength(0x10000) == [0x83, 0x01, 0x00, 0x00])
        #expect(BERTLV.encodeLength(0x1000000) == [0x84, 0x01, 0x00, 0x00, 0x00])
        let v = [UInt8](repeating: 0x42, count: 300)
        #expect(try BERTLV.decode([0x04, 0x82, 0x01, 0x2C] + v) == [BERTLV(tag: 0x04, value: v)])
        #expect(try BERTLV.decode([0x04, 0x84, 0x00, 0x00, 0x01, 0x2C] + v) == [BERTLV(tag: 0x04, value: v)])
        #expect(throws: TLVError.invalidLength(offset: 1, firstByte: 0x80)) { try BERTLV.decode(b("04 80 01 00 00")) }
        #expect(throws: TLVError.invalidLength(offset: 1, firstByte: 0x85)) { try BERTLV.decode(b("04 85 00 00 00 00 01 AA")) }
        #expect(throws: TLVError.truncatedLength(offset: 1)) { try BERTLV.decode(b("04 82 01")) }
        #expect(throws: TLVError.truncatedLength(offset: 1)) { try BERTLV.decode(b("04")) }
        #expect(throws: TLVError.truncatedValue(offset: 1, declared: 5, available: 2)) { try BERTLV.decode(b("04 05 01 02")) }
        #expect(throws: TLVError.truncatedValue(offset: 3, declared: 4, available: 1)) { try BERTLV.decode(b("65 03 80 04 01")) }
    }

    @Test func lenientDecodingKeepsWhatWasRead() {
        let r = BERTLV.decodeLenient(b("80 01 41 81 02 42 43 82 05 44"))
        #expect(r.objects == [BERTLV(tag: 0x80, value: [0x41]), BERTLV(tag: 0x81, value: [0x42, 0x43])])
        #expect(r.error == .truncatedValue(offset: 8, declared: 5, available: 1))
        #expect(r.error?.description == "TLV value at byte 8 announces 5 bytes but only 1 remain")
    }

    @Test func encodeWithoutBuildingAnObject() {
        // Vitale 2 identity template (vitale.md §9.2): same bytes as the built object.
        let body = BERTLV.encode(0x80, Array("DUPONT".utf8)) + BERTLV.encode(0x81, Array("JEAN".utf8))
        #expect(BERTLV.encode(0x65, body) == b("65 0E 80 06 44 55 50 4F 4E 54 81 04 4A 45 41 4E"))
        #expect(BERTLV.encode(0x65, body) == BERTLV(tag: 0x65, value: body).encoded)
        // Two- and three-byte tags: 5F37, and an IAS-ECC SDO reference BF 81 02 (class 81, reference 02).
        #expect(BERTLV.encode(0x5F37, [0xAA]) == b("5F 37 01 AA"))
        #expect(BERTLV.encode(0xBF_8102, b("7F 41 80")) == b("BF 81 02 03 7F 41 80"))
        #expect(BERTLV.encode(0x00, []) == b("00 00"))
        let v300 = [UInt8](repeating: 0x42, count: 300)
        #expect(Array(BERTLV.encode(0x04, v300).prefix(4)) == b("04 82 01 2C"))
        #expect(BERTLV.encode(0x04, v300).count == 304)
    }

    @Test func forcedLongFormLength() throws {
        #expect(BERTLV.encodeLength(0, forceLongForm: true) == [0x81, 0x00])
        #expect(BERTLV.encodeLength(0x7F, forceLongForm: true) == [0x81, 0x7F])
        #expect(BERTLV.encodeLength(0x7F, forceLongForm: false) == [0x7F])
        #expect(BERTLV.encodeLength(0x80, forceLongForm: true) == [0x81, 0x80])
        #expect(BERTLV.encodeLength(0x100, forceLongForm: true) == [0x82, 0x01, 0x00])
        let o = BERTLV(tag: 0x65, value: b("80 01 41"))
        #expect(o.encoded(forceLongFormLength: true) == b("65 81 03 80 01 41"))
        #expect(o.encoded(forceLongFormLength: false) == o.encoded)
        #expect(BERTLV.encode(0x65, b("80 01 41"), forceLongFormLength: true) == b("65 81 03 80 01 41"))
        // The long form still decodes to the same object (BER allows it).
        #expect(try BERTLV.decode(b("65 81 03 80 01 41")) == [BERTLV(tag: 0x65, children: [BERTLV(tag: 0x80, value: [0x41])])])
    }

    @Test func oneLevelDecodingKeepsValuesRaw() throws {
        // 7F21 is constructed but "5F 37" is not a whole TLV: decode() fails, decodeOneLevel() does not.
        let bytes = b("65 03 80 01 41 7F 21 02 5F 37 00 00 FF")
        #expect(throws: TLVError.truncatedLength(offset: 10)) { try BERTLV.decode(bytes) }
        let objects = try BERTLV.decodeOneLevel(bytes)
        #expect(objects.map(\.tag) == [0x65, 0x7F21])
        #expect(objects.map(\.value) == [b("80 01 41"), b("5F 37")])
        #expect(objects.allSatisfy { $0.children.isEmpty })
        // Padding between objects is skipped (ISO/IEC 7816-4 §5.2.2), or read as a tag without skipPadding.
        #expect(try BERTLV.decodeOneLevel(b("80 01 10 00 FF 84 01 02")).map(\.tag) == [0x80, 0x84])
        #expect(throws: TLVError.invalidLength(offset: 4, firstByte: 0xFF)) {
            try BERTLV.decodeOneLevel(b("80 01 10 00 FF 84 01 02"), skipPadding: false)
        }
        // IAS-ECC GET DATA request: 4D { 70 { BF 81 02 03 7F 41 80 } } — the inner 7F41 80 is not TLV.
        let sdo = try BERTLV.decodeOneLevel(b("4D 09 70 07 BF 81 02 03 7F 41 80"))
        #expect(sdo == [BERTLV(tag: 0x4D, value: b("70 07 BF 81 02 03 7F 41 80"))])
        #expect(try BERTLV.decodeOneLevel(sdo[0].value) == [BERTLV(tag: 0x70, value: b("BF 81 02 03 7F 41 80"))])
        #expect(throws: TLVError.self) { try BERTLV.decode(sdo[0].value) }
        // Length bytes: 4 by default (ISO/IEC 7816-4 allows 81…84), fewer on request (a card: 1…3).
        #expect(try BERTLV.decodeOneLevel(b("65 84 00 00 00 01 00")) == [BERTLV(tag: 0x65, value: [0x00])])
        #expect(throws: TLVError.invalidLength(offset: 1, firstByte: 0x84)) {
            try BERTLV.decodeOneLevel(b("65 84 00 00 00 01 00"), maximumLengthBytes: 3)
        }
        #expect(try BERTLV.decodeOneLevel(b("65 83 00 00 01 00"), maximumLengthBytes: 3) == [BERTLV(tag: 0x65, value: [0x00])])
        #expect(try BERTLV.decodeOneLevel(b("E0 81 02 80 00"), maximumLengthBytes: 3) == [BERTLV(tag: 0xE0, value: [0x80, 0x00])])
        #expect(throws: TLVError.invalidLength(offset: 1, firstByte: 0x81)) {
            try BERTLV.decodeOneLevel(b("E0 81 02 80 00"), maximumLengthBytes: 0)
        }
        #expect(throws: TLVError.truncatedValue(offset: 1, declared: 5, available: 2)) { try BERTLV.decodeOneLevel(b("65 05 80 01")) }
        #expect(throws: TLVError.truncatedTag(offset: 0)) { try BERTLV.decodeOneLevel(b("5F")) }
        #expect(try BERTLV.decodeOneLevel([]) == [])
    }

    @Test func oneLevelDecodingNeverCrashes() {
        var g = SplitMix64(seed: 0x7170)
        let seeds = [b("65 03 80 01 41 7F 21 02 5F 37 00 00 FF"), b("4D 09 70 07 BF 81 02 03 7F 41 80")]
        var accepted = 0
        for i in 0..<20000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int(g.next() % 40)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            } else {
                bytes = seeds[Int(g.next() % 2)]
                bytes[Int(g.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: g.next())
            }
            let objects = try? BERTLV.decodeOneLevel(bytes, maximumLengthBytes: Int(g.next() % 5))
            if let objects {
                accepted += 1
                #expect(objects.reduce(0) { $0 + $1.value.count } <= bytes.count)
            }
        }
        #expect(accepted > 0)
    }

    @Test func nestingIsBounded() {
        var bytes: [UInt8] = [0x80, 0x00]
        for _ in 0..<40 { bytes = [0x21, UInt8(bytes.count)] + bytes }
        #expect(throws: TLVError.self) { try BERTLV.decode(bytes) }
        var ok: [UInt8] = [0x80, 0x00]
        for _ in 0..<10 { ok = [0x21, UInt8(ok.count)] + ok }
        #expect(throws: Never.self) { try BERTLV.decode(ok) }
    }
}

@Suite struct SimpleAndCompactTLVTests {
    @Test func simpleTLV() throws {
        let long = [UInt8](repeating: 0x11, count: 256)
        let bytes = b("01 03 AA BB CC 02 00") + [0x03, 0xFF, 0x01, 0x00] + long
        let objects = try SimpleTLV.decode(bytes)
        #expect(objects == [
            SimpleTLV(tag: 0x01, value: [0xAA, 0xBB, 0xCC]), SimpleTLV(tag: 0x02, value: []), SimpleTLV(tag: 0x03, value: long),
        ])
        #expect(try objects.flatMap { try $0.encoded() } == bytes)
        #expect(try SimpleTLV(tag: 0x05, value: [UInt8](repeating: 0, count: 254)).encoded().prefix(2) == [0x05, 0xFE])
        #expect(try SimpleTLV(tag: 0x05, value: [UInt8](repeating: 0, count: 255)).encoded().prefix(4) == [0x05, 0xFF, 0x00, 0xFF])
        #expect(throws: TLVError.self) { try SimpleTLV(tag: 0x00, value: []).encoded() }
        #expect(throws: TLVError.self) { try SimpleTLV.decode(b("FF 00")) }
        #expect(throws: TLVError.truncatedLength(offset: 1)) { try SimpleTLV.decode(b("01")) }
        #expect(throws: TLVError.truncatedLength(offset: 1)) { try SimpleTLV.decode(b("01 FF 00")) }
        #expect(throws: TLVError.truncatedValue(offset: 1, declared: 3, available: 1)) { try SimpleTLV.decode(b("01 03 AA")) }
    }

    @Test func compactTLVFromTheCPS3ContactlessHistoricalBytes() throws {
        let objects = try CompactTLV.decode(b("31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00"))
        #expect(objects == [
            CompactTLV(tag: 3, value: [0xB8]), CompactTLV(tag: 6, value: [0x04, 0xB0, 0xEC, 0xC1]),
            CompactTLV(tag: 7, value: [0x94, 0x01, 0x80]), CompactTLV(tag: 8, value: [0x90, 0x00]),
        ])
        #expect(try objects.flatMap { try $0.encoded() } == b("31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00"))
        #expect(throws: TLVError.truncatedValue(offset: 3, declared: 4, available: 3)) {
            try CompactTLV.decode(b("12 25 00 64 80 04 01"))
        }
        #expect(CompactTLV.decodeLenient(b("12 25 00 64 80")).objects == [CompactTLV(tag: 1, value: [0x25, 0x00])])
        #expect(throws: TLVError.self) { try CompactTLV(tag: 16, value: []).encoded() }
        #expect(throws: TLVError.self) { try CompactTLV(tag: 1, value: [UInt8](repeating: 0, count: 16)).encoded() }
    }
}
