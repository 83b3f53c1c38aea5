import ISO7816
import Testing
@testable import CardSimulator

@Suite struct PinpadReaderTests {
    static let verify81 = PCSCPart10.ioctl(feature: .verifyPINDirect)
    static let modify81 = PCSCPart10.ioctl(feature: .modifyPINDirect)
    static func ioctl(_ f: UInt8) -> UInt32 { PCSCPart10.ioctl(feature: PCSCFeature(rawValue: f)!) }

    /// PIN_VERIFY_STRUCTURE of pcsc-lite's scardcontrol.c shape: ASCII, left, position 0, 8-byte block,
    /// 4…8 digits, validation key, French, template `00 20 00 81 08 FF×8`.
    static let verifyStructure = h("00 00 82 08 00 08 04 02 01 0C 04 00 00 00 00 0D 00 00 00  00 20 00 81 08 FF FF FF FF FF FF FF FF")

    func pinpad(_ config: PinpadConfiguration = .init()) async -> SimulatedReader {
        var c = SimulatedReaderConfiguration.pinpad(config)
        c.recordsSecrets = true
        let r = SimulatedReader(name: "Sim PinPad", configuration: c)
        await r.insert(OSCard(label: "test", atr: h("3B 02 14 50"), os: makeTestOS()))
        return r
    }

    func lastAPDU(_ r: SimulatedReader) async -> String {
        hx(await r.transcript.last { $0.kind == .apdu }?.command ?? [])
    }

    @Test func featureListIsBigEndianTLVs() async throws {
        let r = await pinpad()
        let out = try await r.control(code: 0x4200_0D48, data: [])
        #expect(hx(out) == "06 04 42 33 00 06 07 04 42 33 00 07 12 04 42 33 00 12")
        #expect(try await r.control(code: 0x0031_3520, data: []) == out)
        let plain = SimulatedReader(name: "Sim")
        #expect(hx(try await plain.control(code: 0x4200_0D48, data: [])) == "12 04 42 33 00 12")
    }

    @Test func tlvPropertiesAreLittleEndian() async throws {
        let r = await pinpad()
        let out = try await r.control(code: Self.ioctl(0x12), data: [])
        let fw = hx(Array("CARTE-SIM-PINPAD 1.0".utf8))
        #expect(hx(out) == "01 02 00 00 02 01 02 03 01 00 06 01 04 07 01 08 08 14 \(fw) 09 01 00 0A 04 FF 00 00 00 0B 02 E6 08 0C 02 78 34")
    }

    @Test func verifyPinDirectBuildsTheAPDUAsARealReader() async throws {
        let r = await pinpad()
        _ = try await r.connect(preferred: [.t0])
        await r.enqueueKeypad([.typed("1234")])
        #expect(hx(try await r.control(code: Self.verify81, data: Self.verifyStructure)) == "90 00")
        #expect(await lastAPDU(r) == "00 20 00 81 08 31 32 33 34 FF FF FF FF")
    }

    @Test func readerWithoutLcPlaceholderTakesTheTemplateWithoutLc() async throws {
        let r = await pinpad(.init(templateHasLc: false))
        _ = try await r.connect(preferred: [.t0])
        await r.enqueueKeypad([.typed("1234")])
        let s = h("00 00 82 08 00 08 04 02 01 0C 04 00 00 00 00 0C 00 00 00  00 20 00 81 FF FF FF FF FF FF FF FF")
        #expect(hx(try await r.control(code: Self.verify81, data: s)) == "90 00")
        #expect(await lastAPDU(r) == "00 20 00 81 08 31 32 33 34 FF FF FF FF")
    }

    @Test func wrongPINGivesTheCardSWAndReaderOutcomesNeverReachTheCard() async throws {
        let r = await pinpad()
        _ = try await r.connect(preferred: [.t0])
        await r.enqueueKeypad([.typed("9999"), .cancel, .timeout, .typed("12"), .typed("123456789"), .typed("12a4")])
        #expect(hx(try await r.control(code: Self.verify81, data: Self.verifyStructure)) == "63 C2")
        #expect(hx(try await r.control(code: Self.verify81, data: Self.verifyStructure)) == "64 01")
        #expect(hx(try await r.control(code: Self.verify81, data: Self.verifyStructure)) == "64 00")
        #expect(hx(try await r.control(code: Self.verify81, data: Self.verifyStructure)) == "64 03")
        #expect(hx(try await r.control(code: Self.verify81, data: Self.verifyStructure)) == "64 03")
        #expect(hx(try await r.control(code: Self.verify81, data: Self.verifyStructure)) == "64 03")
        #expect(hx(try await r.control(code: Self.verify81, data: Self.verifyStructure)) == "64 00")  // empty queue
        #expect(hx(try await r.transmit(h("00 20 00 81"))) == "63 C2")
        #expect(await r.statistics.apduCount == 2)
    }

    @Test func malformedStructureIsRejectedByTheReader() async throws {
        let r = await pinpad()
        _ = try await r.connect(preferred: [.t0])
        await expectTransportError(.failed("PIN_VERIFY_STRUCTURE shorter than 19 bytes")) {
            _ = try await r.control(code: Self.verify81, data: [0x00, 0x00])
        }
        await expectTransportError(.failed("PIN_VERIFY_STRUCTURE ulDataLength 13 but 12 APDU bytes follow")) {
            _ = try await r.control(code: Self.verify81, data: Array(Self.verifyStructure.dropLast()))
        }
        let plain = SimulatedReader(name: "Sim")
        await expectTransportError(.notSupported("PIN pad (this reader has none)")) {
            _ = try await plain.control(code: Self.verify81, data: Self.verifyStructure)
        }
        await expectTransportError(.notSupported("control code 0x42330099")) {
            _ = try await r.control(code: 0x4233_0099, data: [])
        }
    }

    @Test func modifyPinDirectWithConfirmation() async throws {
        let r = await pinpad()
        _ = try await r.connect(preferred: [.t0])
        let s = h("00 00 82 08 00 00 08 08 04 03 02 03 0C 04 00 00 00 00 00 00 15 00 00 00  00 24 00 81 10 FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF")
        await r.enqueueKeypad([.typed("1234"), .typed("5678"), .typed("5679")])
        #expect(hx(try await r.control(code: Self.modify81, data: s)) == "64 02")
        await r.enqueueKeypad([.typed("1234"), .typed("5678"), .typed("5678")])
        #expect(hx(try await r.control(code: Self.modify81, data: s)) == "90 00")
        #expect(await lastAPDU(r) == "00 24 00 81 10 31 32 33 34 FF FF FF FF 35 36 37 38 FF FF FF FF")
        #expect(hx(try await r.transmit(h("00 20 00 81 04 35 36 37 38"))) == "90 00")
    }
}

@Suite struct PINBlockBuilderTests {
    func verify(_ header: String, _ template: String, _ pin: String, hasLc: Bool = true) throws -> String {
        let t = h(template)
        let s = h(header) + [UInt8(t.count), 0, 0, 0] + t
        switch try PINBlockBuilder.verify(structure: s, entry: .typed(pin), templateHasLc: hasLc, readerMinDigits: 4, readerMaxDigits: 12) {
        case .apdu(let a): return hx(a)
        case .readerStatus(let sw): return "SW \(sw)"
        }
    }

    @Test func iso9564Format2BCDWithLengthNibble() throws {
        // bmFormatString 89: bytes, position 1, left, BCD; bmPINBlockString 48: 4-bit length, 8-byte block;
        // bmPINLengthFormat 04: length field at bit 4.
        #expect(try verify("00 00 89 48 04 0C 04 02 01 0C 04 00 00 00 00", "00 20 00 01 08 20 FF FF FF FF FF FF FF", "1234")
            == "00 20 00 01 08 24 12 34 FF FF FF FF FF")
    }

    @Test func variableLengthASCIIAdjustsLc() throws {
        #expect(try verify("00 00 82 00 00 08 04 02 01 0C 04 00 00 00 00", "00 20 00 01 08 FF FF FF FF FF FF FF FF", "1234")
            == "00 20 00 01 04 31 32 33 34")
    }

    @Test func rightJustifiedBCD() throws {
        #expect(try verify("00 00 85 08 00 08 04 02 01 0C 04 00 00 00 00", "00 20 00 01 08 FF FF FF FF FF FF FF FF", "1234")
            == "00 20 00 01 08 FF FF FF FF FF FF 12 34")
    }

    @Test func binaryDigitsOnePerByte() throws {
        #expect(try verify("00 00 80 08 00 08 04 02 01 0C 04 00 00 00 00", "00 20 00 01 08 FF FF FF FF FF FF FF FF", "1234")
            == "00 20 00 01 08 01 02 03 04 FF FF FF FF")
    }

    @Test func minAndMaxDigitsOfTheStructure() throws {
        #expect(try verify("00 00 82 08 00 06 05 02 01 0C 04 00 00 00 00", "00 20 00 01 08 FF FF FF FF FF FF FF FF", "1234") == "SW 64 03")
        #expect(try verify("00 00 82 08 00 06 05 02 01 0C 04 00 00 00 00", "00 20 00 01 08 FF FF FF FF FF FF FF FF", "12345")
            == "00 20 00 01 08 31 32 33 34 35 FF FF FF")
    }
}
