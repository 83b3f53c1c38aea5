import Foundation
import Testing

@testable import ISO7816

/// One hand-decoded ATR (ISO/IEC 7816-3 §8). Values were worked out byte by byte from T0/TDi; TCKs were
/// re-computed separately (XOR of T0 … TCK = 00).
struct ATRRow: CustomStringConvertible, Sendable {
    var hex: String
    var convention: ATR.Convention?
    var protocols: [Int]
    var fi: Int?
    var di: Int?
    var fmax: Double?
    var n: Int
    var ifsc: Int?
    var cwi: Int?
    var bwi: Int?
    var historical: String
    var tck: UInt8?
    var tckValid: Bool?
    var classes: String?
    var card: CardKind?
    var clean: Bool
    var description: String { hex }
}

private func r(
    _ hex: String, _ conv: ATR.Convention? = .direct, p: [Int] = [0], fi: Int? = 372, di: Int? = 1,
    fmax: Double? = 5, n: Int = 0, t1: (Int, Int, Int)? = nil, h: String, tck: UInt8? = nil, valid: Bool? = nil,
    cls: String? = nil, card: CardKind? = nil, clean: Bool = true
) -> ATRRow {
    ATRRow(
        hex: hex, convention: conv, protocols: p, fi: fi, di: di, fmax: fmax, n: n, ifsc: t1?.0, cwi: t1?.1,
        bwi: t1?.2, historical: h, tck: tck, tckValid: valid, classes: cls, card: card, clean: clean)
}

let atrTable: [ATRRow] = [
    // Vitale 1, inverse convention: TS reported as its decoded value 3F (vitale.md §2.1)
    r("3F 65 25 00 2C 09 69 90 00", .inverse, h: "2C09699000", card: .vitale1),
    r("3F 65 25 00 52 09 6A 90 00", .inverse, h: "52096A9000", card: .vitale1),
    r("3F 65 25 00 A4 09 6A 90 00", .inverse, h: "A4096A9000", card: .vitale1),
    // Vitale 2: TA1 = 13 → Fi 372, Di 4 (vitale.md §2.2)
    r("3B 75 13 00 00 47 09 EA 90 00", di: 4, h: "4709EA9000", card: .vitale2),
    r("3B 75 13 00 00 43 09 EA 90 00", di: 4, h: "4309EA9000", card: .vitale2),
    r("3B 75 13 00 00 45 09 FA 90 00", di: 4, h: "4509FA9000", card: .vitale2),
    // CPS3 contact and the other pre-issuing bytes (cps.md §2.1): TB1 00, TD1 40 → TC2 2A, T=0 only
    r("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00", h: "001225006480000310009000", card: .cps3),
    r("3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00", h: "001225006480820212009000", card: .cps3),
    // CPS3 contactless (PC/SC part 3 synthesised ATR, type A), TCK 0E
    r("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E", p: [0, 1], t1: (32, 13, 4),
      h: "0031B86404B0ECC173940180829000", tck: 0x0E, valid: true, card: .cps3Contactless),
    // Unidentified IAS-ECC contactless card (cps.md §2.1): not a CPS3 under the CL mask
    r("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 FF FF FF E3", p: [0, 1], t1: (32, 13, 4),
      h: "0031B86404B0ECC173940180FFFFFF", tck: 0xE3, valid: true),
    // CPS4: TA1 18 → Di 12; the production and RC historical bytes break the category-00 layout
    r("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44", p: [0, 1], di: 12, t1: (32, 13, 4),
      h: "0012250064800401000090", tck: 0x44, valid: true, card: .cps4, clean: false),
    r("3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44", p: [0, 1], di: 12, t1: (32, 13, 4),
      h: "0012250064800004010090", tck: 0x44, valid: true, card: .cps4, clean: false),
    r("3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00", di: 12, n: 255, h: "001225006480000401009000", card: .cps4),
    // CNAMTS staff card, not a Vitale (vitale.md §2.3)
    r("3B 67 00 00 2D 20 16 01 78 90 00", h: "2D201601789000"),
    // Contactless (pcsc-ccid-vpcd-contactless.md §7.2)
    r("3B 81 80 01 80 80", p: [0, 1], t1: (32, 13, 4), h: "80", tck: 0x80, valid: true, card: .desfire),
    r("3B 86 80 01 06 75 77 81 02 80 00", p: [0, 1], t1: (32, 13, 4), h: "067577810280", tck: 0x00, valid: true,
      card: .desfire),
    r("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A", p: [0, 1], t1: (32, 13, 4),
      h: "804F0CA00000030603000100000000", tck: 0x6A, valid: true, card: .iso14443),
    r("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 02 00 00 00 00 69", p: [0, 1], t1: (32, 13, 4),
      h: "804F0CA00000030603000200000000", tck: 0x69, valid: true, card: .iso14443),
    r("3B 8A 80 01 53 45 20 44 45 53 46 69 72 65 57", p: [0, 1], t1: (32, 13, 4), h: "53452044455346697265",
      tck: 0x57, valid: true),
    r("3B 83 80 01 81 02 80 01", p: [0, 1], t1: (32, 13, 4), h: "810280", tck: 0x01, valid: true),
    // T=1 cards with TA3/TB3 and T=15 class indicators (smartcard_list.txt)
    r("3B F8 13 00 00 81 31 FE 15 59 75 62 69 6B 65 79 34 D4", p: [1], di: 4, t1: (254, 5, 1),
      h: "597562696B657934", tck: 0xD4, valid: true),
    r("3B DB 96 00 80 B1 FE 45 1F 83 00 12 23 3F 53 65 49 44 0F 90 00 F1", p: [0, 1], fi: 512, di: 32,
      t1: (254, 5, 4), h: "0012233F536549440F9000", tck: 0xF1, valid: true, cls: "AB"),
    r("3B D0 96 FF 81 B1 FE 45 1F 03 2E", p: [1], fi: 512, di: 32, n: 255, t1: (254, 5, 4), h: "", tck: 0x2E,
      valid: true, cls: "AB"),
    r("3B D6 18 00 81 B1 80 7D 1F 03 80 51 00 61 10 30 8F", p: [1], di: 12, t1: (128, 13, 7), h: "805100611030",
      tck: 0x8F, valid: true, cls: "AB", clean: false),
    r("3B DA 11 FF 81 B1 FE 55 1F 03 00 31 84 73 80 01 80 00 90 00 E4", p: [1], n: 255, t1: (254, 5, 5),
      h: "00318473800180009000", tck: 0xE4, valid: true, cls: "AB"),
    r("3B 9A 96 C0 10 31 FE 5D 00 64 05 7B 01 02 31 80 90 00 76", p: [0, 1], fi: 512, di: 32, t1: (254, 13, 5),
      h: "0064057B010231809000", tck: 0x76, valid: true, clean: false),
    r("3B 90 96 91 81 B1 FE 55 1F C7 D4", p: [1], fi: 512, di: 32, t1: (254, 5, 5), h: "", tck: 0xD4, valid: true,
      cls: "ABC"),
    r("3B 9F 95 81 31 FE 9F 00 66 46 53 05 10 00 FF 71 DF 00 00 00 00 00 EC", p: [1], fi: 512, di: 16,
      t1: (254, 15, 9), h: "00664653051000FF71DF0000000000", tck: 0xEC, valid: true),
    r("3B DE 18 FF 81 F1 FB 34 00 1F 07 44 45 53 46 69 72 65 53 41 4D 56 31 2E 30 D2", p: [1], di: 12, n: 255,
      t1: (251, 4, 3), h: "4445534669726553414D56312E30", tck: 0xD2, valid: true, cls: "ABC"),
    // TA2 specific mode, T=0 only
    r("3B B2 11 00 10 80 00 01", h: "0001", clean: false),
    r("3B 9F 11 10 80 41 54 39 38 53 43 30 33 32 43 54 31 2E 35 35", h: "4154393853433033324354312E3535"),
    // Short, proprietary, memory-card style
    r("3B 02 14 50", h: "1450"),
    r("3B 16 96 41 73 74 72 69 64", fi: 512, di: 32, h: "417374726964"),
    r("3B 6E 00 00 80 31 80 66 B0 84 12 01 6E 01 83 00 90 00", h: "80318066B08412016E0183009000"),
    r("3B 6F 00 00 80 5A 08 03 03 00 00 00 01 56 64 F6 82 90 00", h: "805A080303000000015664F6829000"),
    // Malformed
    r("3B 02 14 50 11", h: "1450", clean: false),
    r("3B 81 80 01 80 81", p: [0, 1], t1: (32, 13, 4), h: "80", tck: 0x81, valid: false, clean: false),
    r("3B 80 80 01", p: [0, 1], t1: (32, 13, 4), h: "", clean: false),
    r("3B 05 01 02", h: "0102", clean: false),
    r("3B 10 71", fi: nil, fmax: nil, h: "", clean: false),
    r("3A 00", nil, h: "", clean: false),
]

@Suite struct ATRTests {
    @Test(arguments: atrTable) func decodesHandCheckedATR(_ row: ATRRow) throws {
        let atr = try #require(ATR(hex: row.hex))
        #expect(atr.convention == row.convention)
        #expect(atr.protocols == row.protocols)
        #expect(atr.fi == row.fi)
        #expect(atr.di == row.di)
        #expect(atr.fmaxMHz == row.fmax)
        #expect(atr.extraGuardTime == row.n)
        #expect(atr.ifsc == row.ifsc)
        #expect(atr.cwi == row.cwi)
        #expect(atr.bwi == row.bwi)
        #expect(atr.historicalBytes.hexString() == row.historical)
        #expect(atr.tck == row.tck)
        #expect(atr.tckValid == row.tckValid)
        #expect(atr.classIndicator.map { $0.classes.joined() } == row.classes)
        #expect(atr.recognisedKind == row.card)
        #expect(atr.errors.isEmpty == row.clean, "errors: \(atr.errors)")
    }

    @Test func vitale1InverseConventionReportsTS3F() throws {
        let atr = try #require(ATR(hex: "3F 65 25 00 2C 09 69 90 00"))
        #expect(atr.ts == 0x3F)
        #expect(atr.convention == .inverse)
        #expect(atr.t0 == 0x65)
        #expect(atr.tb1 == 0x25)
        #expect(atr.tc1 == 0x00)
        #expect(atr.ta1 == nil)
        #expect(atr.tckRequired == false)
        #expect(atr.historical.category == .proprietary(0x2C))
        let json = atr.jsonObject
        #expect(json["ts"] as? String == "3F")
        #expect(json["convention"] as? String == "inverse")
        #expect(json["card"] as? String == "vitale1")
        #expect(json["tck"] is NSNull)
        #expect(json["tckValid"] is NSNull)
    }

    @Test func cps3ContactInterfaceBytes() throws {
        let atr = try #require(ATR(hex: "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00"))
        #expect(atr.interfaceBytes == [
            ATR.InterfaceBytes(index: 1, ta: nil, tb: 0x00, tc: nil, td: 0x40),
            ATR.InterfaceBytes(index: 2, ta: nil, tb: nil, tc: 0x2A, td: nil),
        ])
        #expect(atr.workWaitingInteger == 42)
        let h = atr.historical
        #expect(h.category == .compactTLVWithStatus)
        #expect(h.countryCode == [0x25, 0x00])
        #expect(h.preIssuingData == [0x80, 0x00, 0x03, 0x10])
        #expect(h.status == HistoricalBytes.StatusIndicator(lifeCycleStatus: 0x00, statusWord: .success))
        #expect(h.errors.isEmpty)
    }

    @Test func cps3ContactlessHistoricalBytes() throws {
        let atr = try #require(ATR(hex: "3B8F800100 31B86404B0ECC173940180829000 0E"))
        let h = atr.historical
        #expect(h.cardServiceData?.raw == 0xB8)
        #expect(h.cardServiceData?.selectionByFullDFName == true)
        #expect(h.cardServiceData?.selectionByPartialDFName == false)
        #expect(h.cardServiceData?.dataObjectsInEFDIR == true)
        #expect(h.cardServiceData?.dataObjectsInEFATR == true)
        #expect(h.cardServiceData?.efAccessService == 0b100)
        #expect(h.cardServiceData?.hasMF == true)
        #expect(h.preIssuingData == [0x04, 0xB0, 0xEC, 0xC1])
        #expect(h.cardCapabilities?.raw == [0x94, 0x01, 0x80])
        #expect(h.cardCapabilities?.commandChaining == true)
        #expect(h.cardCapabilities?.extendedLength == false)
        #expect(h.cardCapabilities?.maxLogicalChannels == 1)
        #expect(h.status == HistoricalBytes.StatusIndicator(lifeCycleStatus: 0x82, statusWord: .success))
        #expect(atr.supportsCommandChaining)
        #expect(!atr.supportsExtendedLength)
    }

    @Test func mifareClassicStorageCardDescriptor() throws {
        let atr = try #require(ATR(hex: "3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A"))
        #expect(atr.interfaceBytes.map(\.td) == [0x80, 0x01])
        let h = atr.historical
        #expect(h.category == .compactTLV)
        #expect(h.pcscStorageCard == HistoricalBytes.PCSCStorageCard(standard: 0x03, cardName: 0x0001))
        #expect(h.applicationIdentifier == [0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00])
        #expect(h.errors.isEmpty)
    }

    @Test func specificModeAndClassIndicator() throws {
        let a = try #require(ATR(hex: "3B 90 96 91 81 B1 FE 55 1F C7 D4"))
        #expect(a.specificMode == ATR.SpecificMode(protocol: 1, canChangeMode: false, implicitParameters: false))
        #expect(a.classIndicator?.raw == 0xC7)
        #expect(a.classIndicator?.clockStop == .noPreference)
        let b = try #require(ATR(hex: "3B B2 11 00 10 80 00 01"))
        #expect(b.specificMode == ATR.SpecificMode(protocol: 0, canChangeMode: false, implicitParameters: false))
        #expect(b.errors == ["historical bytes of category 00 need a 3-byte status indicator at the end"])
        let c = try #require(ATR(hex: "3B DB 96 00 80 B1 FE 45 1F 83 00 12 23 3F 53 65 49 44 0F 90 00 F1"))
        #expect(c.classIndicator?.clockStop == .stateH)
        #expect(c.specificMode == nil)
    }

    @Test func malformedPartsAreReportedAndTheRestDecoded() throws {
        let truncatedInterface = ATR([0x3B, 0x75, 0x13, 0x00])
        #expect(truncatedInterface.ta1 == 0x13)
        #expect(truncatedInterface.di == 4)
        #expect(truncatedInterface.errors == ["the ATR is truncated: TC1 is announced but missing"])

        let noTCK = ATR([0x3B, 0x80, 0x80, 0x01])
        #expect(noTCK.tckRequired)
        #expect(noTCK.tck == nil && noTCK.tckValid == nil)
        #expect(noTCK.errors == ["the ATR is truncated: TCK is required (a protocol other than T=0 is offered) but missing"])

        let shortHistory = ATR([0x3B, 0x05, 0x01, 0x02])
        #expect(shortHistory.errors == ["the ATR is truncated: T0 announces 5 historical bytes, only 2 present"])

        let badTCK = ATR([0x3B, 0x81, 0x80, 0x01, 0x80, 0x81])
        #expect(badTCK.errors == ["TCK = 81 is wrong; T0 … last historical byte XOR to 80"])

        let extra = ATR([0x3B, 0x02, 0x14, 0x50, 0x11])
        #expect(extra.extraBytes == [0x11])
        #expect(extra.errors == ["1 byte after the end of the ATR: 11"])

        let rfu = ATR([0x3B, 0x10, 0x71])
        #expect(rfu.fi == nil && rfu.di == 1)
        #expect(rfu.errors == ["TA1 = 71: FI = 7 is RFU"])

        let badTS = ATR([0x3A, 0x00])
        #expect(badTS.convention == nil)
        #expect(badTS.errors == ["TS = 3A is neither 3B (direct convention) nor 3F (inverse convention)"])

        #expect(ATR([]).errors == ["the ATR is empty"])
        #expect(ATR([0x3B]).errors == ["the ATR is truncated: T0 is missing"])

        let long = ATR([0x3B, 0x0F] + [UInt8](repeating: 0x41, count: 15) + [UInt8](repeating: 0x00, count: 17))
        #expect(long.bytes.count == 34)
        #expect(long.historicalBytes.count == 15)
        #expect(long.errors.first == "the ATR is 34 bytes long; ISO/IEC 7816-3 allows at most 33")
        #expect(long.extraBytes.count == 17)
    }

    @Test func jsonHasExactlyTheCLIKeysAndNulls() throws {
        let atr = try #require(ATR(hex: "3B 75 13 00 00 47 09 EA 90 00"))
        let o = atr.jsonObject
        #expect(Set(o.keys) == [
            "ts", "convention", "protocols", "fi", "di", "fmaxMHz", "extraGuardTime", "ifsc", "cwi", "bwi",
            "specificMode", "classIndicator", "historicalBytes", "tck", "tckValid", "extraBytes", "errors", "card",
        ])
        let text = atr.jsonString(pretty: false)
        #expect(text == """
            {"bwi":null,"card":"vitale2","classIndicator":null,"convention":"direct","cwi":null,"di":4,"errors":[],\
            "extraBytes":"","extraGuardTime":0,"fi":372,"fmaxMHz":5,"historicalBytes":"4709EA9000","ifsc":null,\
            "protocols":[0],"specificMode":null,"tck":null,"tckValid":null,"ts":"3B"}
            """)
        let cl = try #require(ATR(hex: "3B 90 96 91 81 B1 FE 55 1F C7 D4")).jsonString(pretty: false)
        #expect(cl.contains(#""classIndicator":{"classes":["A","B","C"],"clockStop":"noPreference","raw":"C7"}"#))
        #expect(cl.contains(#""specificMode":{"canChangeMode":false,"implicitParameters":false,"protocol":1}"#))
        #expect(cl.contains(#""tck":"D4","tckValid":true"#))
        #expect(cl.contains(#""card":null"#))
    }

    @Test func humanSummaryIsAligned() throws {
        let s = try #require(ATR(hex: "3B 75 13 00 00 47 09 EA 90 00")).summary
        let lines = s.split(separator: "\n")
        #expect(lines.first == "ATR               3B 75 13 00 00 47 09 EA 90 00")
        #expect(lines.contains("Fi / Di / fmax    372 / 4 / 5 MHz"))
        #expect(lines.contains("Card              vitale2 — Carte Vitale 2"))
    }

    @Test func fiDiTables() {
        #expect(ATRTables.clockRate(fi: 0xA) == ATRTables.ClockRate(fi: 768, fmaxMHz: 7.5))
        #expect(ATRTables.clockRate(fi: 0xD) == ATRTables.ClockRate(fi: 2048, fmaxMHz: 20))
        #expect([0x7, 0x8, 0xE, 0xF].allSatisfy { ATRTables.clockRate(fi: UInt8($0)) == nil })
        #expect((0...15).map { ATRTables.baudRateAdjustment(di: UInt8($0)) } == [
            nil, 1, 2, 4, 8, 16, 32, 64, 12, 20, nil, nil, nil, nil, nil, nil,
        ])
    }
}

/// Every fully specified ATR of Debian's pcsc-tools list (`/usr/share/pcsc/smartcard_list.txt`).
@Suite struct SmartcardListTests {
    static let path = "/usr/share/pcsc/smartcard_list.txt"

    @Test func decodesEveryFullySpecifiedATRInTheList() throws {
        guard let data = FileManager.default.contents(atPath: Self.path),
            let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1)
        else {
            Issue.record("\(Self.path) is missing: install Debian's pcsc-tools (apt-get install pcsc-tools)")
            return
        }
        var decoded = 0
        var tckChecked = 0
        var tckValid = 0
        var recognised: [CardKind: Int] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let c = line.first, c == "3" || c == "2" else { continue }  // ATR lines start at column 0
            let s = String(line)
            if s.contains(".") || s.contains("[") || s.contains("(") || s.contains("|") { continue }
            guard let bytes = [UInt8](hex: s), !bytes.isEmpty else { continue }
            let atr = ATR(bytes)
            decoded += 1
            #expect(atr.bytes == bytes)
            #expect(!atr.protocols.isEmpty)
            if atr.tckRequired && atr.tck != nil {
                tckChecked += 1
                #expect(atr.tckValid != nil, "TCK validity not computed for \(s)")
                if atr.tckValid == true { tckValid += 1 }
            }
            if atr.tck == nil { #expect(atr.tckValid == nil) }
            if let k = atr.recognisedKind { recognised[k, default: 0] += 1 }
            _ = atr.jsonString()
            _ = atr.summary
        }
        #expect(decoded > 1000, "only \(decoded) ATRs decoded")
        #expect(tckChecked > 500)
        #expect(Double(tckValid) > Double(tckChecked) * 0.9, "\(tckValid) of \(tckChecked) TCKs valid")
        // The list holds the exact Vitale 2 and CPS3 ATRs of the specs.
        #expect((recognised[.vitale2] ?? 0) >= 7)
        #expect((recognised[.cps3] ?? 0) >= 2)
        #expect((recognised[.cps3Contactless] ?? 0) >= 1)
    }
}

@Suite struct ATRPatternTests {
    @Test func hexWithWildcards() throws {
        let p = try #require(ATRPattern(hex: "3B 75 13 00 00 4x 09 xA 90 00"))
        #expect(p.value == [0x3B, 0x75, 0x13, 0x00, 0x00, 0x40, 0x09, 0x0A, 0x90, 0x00])
        #expect(p.mask == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 0xFF, 0x0F, 0xFF, 0xFF])
        #expect(p.description == "3B 75 13 00 00 4x 09 xA 90 00")
        #expect(p.matches([0x3B, 0x75, 0x13, 0x00, 0x00, 0x49, 0x09, 0xFA, 0x90, 0x00]))
        #expect(!p.matches([0x3B, 0x75, 0x13, 0x00, 0x00, 0x59, 0x09, 0xEA, 0x90, 0x00]))
        #expect(!p.matches([0x3B, 0x75, 0x13, 0x00, 0x00, 0x49, 0x09, 0xEA, 0x90]))
        let any = try #require(ATRPattern(hex: "3B..00xx"))
        #expect(any.mask == [0xFF, 0x00, 0xFF, 0x00])
        #expect(ATRPattern(hex: "3B 7") == nil)
        #expect(ATRPattern(hex: "3B 7G") == nil)
        #expect(ATRPattern(hex: "3 B") == nil)
    }

    @Test func knownCardsFromTheSpecs() {
        func kind(_ hex: String) -> CardKind { KnownCard.kind(of: [UInt8](hex: hex)!) }
        #expect(kind("3F 65 25 00 22 09 F9 90 00") == .vitale1)
        #expect(kind("3F 65 25 08 22 04 6C 90 00") == .unknown)  // Bull CP8 bank card family
        #expect(kind("3B 75 13 00 00 49 09 EA 90 00") == .vitale2)
        #expect(kind("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00") == .cps3)
        // The CPS4 T=0 release candidate satisfies the CPS3 mask; the exact entry wins.
        #expect(kind("3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00") == .cps4)
        #expect(KnownCard.table.first { $0.kind == .cps3 }!.pattern.matches(
            [UInt8](hex: "3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00")!))
        #expect(kind("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E") == .cps3Contactless)
        // CL mask leaves bytes 8, 9 and the low 6 bits of byte 11 free
        #expect(kind("3B 8F 80 01 00 31 B8 64 AA BB EC FF 73 94 01 80 82 90 00 0E") == .cps3Contactless)
        #expect(kind("2B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E") == .unknown)
        #expect(kind("3B 81 80 01 80 80") == .desfire)
        #expect(kind("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 03 00 00 00 00 68") == .iso14443)
        #expect(kind("3B 67 00 00 2D 20 16 01 78 90 00") == .unknown)
        #expect(!CardKind.cps4.isSupported && CardKind.cps3.isSupported)
    }
}

/// The accessors the transports read (ATRTransmissionParameters is built on them).
@Suite struct ATRTransmissionAccessorTests {
    @Test func protocolsInATROrder() throws {
        // TD1 = 81 announces T=1 first, TD2 = 00 then T=0 (out of ascending order, reported in errors).
        let atr = try #require(ATR(hex: "3B 80 81 00 01"))
        #expect(atr.protocolsInATROrder == [1, 0])
        #expect(atr.protocols == [0, 1])
        #expect(try #require(ATR(hex: "3B 02 14 50")).protocolsInATROrder == [0])
        #expect(try #require(ATR(hex: "3B 80 90 01 71 40 45 01")).protocolsInATROrder == [0, 1])
    }

    @Test func tc2() throws {
        let atr = try #require(ATR(hex: "3B 80 40 14"))
        #expect(atr.tc2 == 0x14)
        #expect(atr.workWaitingInteger == 20)
        #expect(try #require(ATR(hex: "3B 02 14 50")).tc2 == nil)
    }

    @Test func interfaceBytesTruncated() throws {
        let cut = try #require(ATR(hex: "3B F5 96"))
        #expect(cut.interfaceBytesTruncated)
        #expect(cut.ta1 == 0x96)
        #expect(try #require(ATR(hex: "3B 02 14 50")).interfaceBytesTruncated == false)
        // Historical bytes missing is not an interface-byte truncation.
        #expect(try #require(ATR(hex: "3B 05 14")).interfaceBytesTruncated == false)
    }

    @Test func firstT1InterfaceBytesAcrossGroups() throws {
        // TD2 = C1 opens a T=1 group holding TC3 only; TA4/TB4 of the next T=1 group are then the first TA and TB
        // for T=1 (ISO/IEC 7816-3 §11.4): IFSC B8, BWI 4, CWI 5.
        let p = try ATRTransmissionParameters(atr: [UInt8](hex: "3B 80 80 C1 00 31 B8 45")!)
        #expect(p.ifsc == 0xB8 && p.bwiCwi == 0x45 && p.usesCRC == false)
        #expect(p.offeredProtocols == [.t0, .t1])
    }

    @Test func transmissionParametersFromADecodedATR() throws {
        for hex in ["3B 80 81 00 01", "3B 80 40 14", "3B 80 90 01 71 40 45 01", "3F 65 25 00 2C 09 69 90 00"] {
            let bytes = try #require([UInt8](hex: hex))
            let p = ATRTransmissionParameters(ATR(bytes))
            #expect(p == (try ATRTransmissionParameters(atr: bytes)), "\(hex)")
        }
        let p = ATRTransmissionParameters(try #require(ATR(hex: "3B 80 81 00 01")))
        #expect(p.offeredProtocols == [.t1, .t0])
        #expect(try #require(ATR(hex: "3B 80 40 14")).tc2 == ATRTransmissionParameters(ATR([0x3B, 0x80, 0x40, 0x14])).waitingIntegerT0)
    }
}
