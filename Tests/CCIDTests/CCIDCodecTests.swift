@testable import CCID
import Foundation
import ISO7816
import Testing

/// The Ingenico Leo class descriptor, written byte by byte from the documented values
/// (CCID readers/Ingenico_Leo.txt): bcdCCID 1.10, 5/3/1.8 V, T=0+T=1, 4 MHz, 9600…230400 bps (11 rates),
/// IFSD 254, dwFeatures 0x000204BA, dwMaxCCIDMessageLength 356, GetResponse/Envelope FF, LCD 2×16, PIN 03.
let ingenicoLeoDescriptor = hex("""
    36 21 10 01 00 07 03 00 00 00 A0 0F 00 00 A0 0F 00 00 00 80 25 00 00 00 84 03 00 0B FE 00 00 00
    00 00 00 00 00 00 00 00 BA 04 02 00 64 01 00 00 FF FF 10 02 03 01
    """)

@Suite("CCID class descriptor (USB CCID rev 1.10 §5.1)")
struct CCIDDescriptorTests {
    @Test("Ingenico Leo descriptor: every field")
    func ingenicoLeo() throws {
        #expect(ingenicoLeoDescriptor.count == 54)
        let d = try CCIDClassDescriptor(decoding: ingenicoLeoDescriptor)
        #expect(d.bcdCCID == 0x0110)
        #expect(d.voltageSupport == 0x07)
        #expect(d.protocols == 0x03)
        #expect(d.defaultClockKHz == 4000 && d.maximumClockKHz == 4000)
        #expect(d.dataRate == 9600 && d.maxDataRate == 230400)
        #expect(d.numDataRatesSupported == 11)
        #expect(d.maxIFSD == 254)
        #expect(d.features == 0x0002_04BA)
        #expect(d.exchangeLevel == .shortAPDU)
        #expect(d.negotiatesPPSItself)
        #expect(d.maxMessageLength == 356)
        #expect(d.classGetResponse == 0xFF && d.classEnvelope == 0xFF)
        #expect(d.lcdLayout == 0x0210)
        #expect(d.pinSupport == 0x03)
        #expect(d.maxBusySlots == 1)
        #expect(d.supportedProtocols == [.t0, .t1])
        #expect(d.powerSelectFallbacks == [.volts5, .volts3, .volts1_8])
        let c = d.capabilities
        #expect(c.hasPinpad && !c.supportsExtendedLength)
        #expect(c.maxCommandLength == 261 && c.maxResponseLength == 258 && c.maxClockKHz == 4000)
        #expect(d.bytes == ingenicoLeoDescriptor)
        #expect(d == CCIDReaderProfile.ingenicoLeo.descriptor)
    }

    @Test("profiles: levels and PPS responsibility")
    func profiles() {
        #expect(CCIDReaderProfile.gemPCTwin.descriptor.exchangeLevel == .tpdu)
        #expect(!CCIDReaderProfile.gemPCTwin.descriptor.negotiatesPPSItself)
        #expect(CCIDReaderProfile.acr39U.descriptor.exchangeLevel == .tpdu)
        #expect(CCIDReaderProfile.acr39U.descriptor.negotiatesPPSItself)
        #expect(CCIDReaderProfile.extendedAPDUReader.descriptor.exchangeLevel == .extendedAPDU)
        #expect(CCIDReaderProfile.matching(vendorID: 0x0F14, productID: 0x003B)?.id == "ingenico-leo")
        #expect(CCIDReaderProfile.matching(vendorID: 0x0000, productID: 0x0000) == nil)
        for p in CCIDReaderProfile.all {
            #expect((try? CCIDClassDescriptor(decoding: p.descriptor.bytes)) == p.descriptor)
        }
    }

    @Test("found in interface extra bytes after another descriptor, or absent")
    func find() {
        let other = hex("07 05 81 03 08 00 18")  // an endpoint-shaped descriptor before it
        #expect(CCIDClassDescriptor.find(in: other + ingenicoLeoDescriptor)?.features == 0x0002_04BA)
        var proprietary = ingenicoLeoDescriptor
        proprietary[1] = 0xFF
        #expect(CCIDClassDescriptor.find(in: proprietary)?.pinSupport == 0x03)
        #expect(CCIDClassDescriptor.find(in: other) == nil)
        #expect(CCIDClassDescriptor.find(in: hex("00 21")) == nil)
        #expect(CCIDClassDescriptor.find(in: Array(ingenicoLeoDescriptor.prefix(40))) == nil)
    }

    @Test("malformed descriptors are clear errors")
    func malformed() {
        #expect(throws: CCIDError.malformedDescriptor("53 bytes, 54 expected")) {
            try CCIDClassDescriptor(decoding: Array(ingenicoLeoDescriptor.prefix(53)))
        }
        var wrongType = ingenicoLeoDescriptor
        wrongType[1] = 0x04
        #expect(throws: CCIDError.malformedDescriptor("bDescriptorType 0x04 is not CCID (0x21)")) {
            try CCIDClassDescriptor(decoding: wrongType)
        }
    }

    @Test("no crash on 20 000 random and mutated descriptor runs")
    func fuzz() {
        var rng = SplitMix64(seed: 0xCC1D)
        for n in 0..<20_000 {
            var bytes = n % 2 == 0 ? ingenicoLeoDescriptor : (0..<Int.random(in: 0...120, using: &rng)).map { _ in
                UInt8.random(in: 0...255, using: &rng)
            }
            if !bytes.isEmpty {
                for _ in 0..<2 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            }
            _ = CCIDClassDescriptor.find(in: bytes)
            _ = try? CCIDClassDescriptor(decoding: bytes)
            _ = try? CCIDResponse(decoding: bytes)
            _ = CCIDSlotChange.decode(bytes, maxSlotIndex: 7)
        }
    }
}

@Suite("CCID messages (USB CCID rev 1.10 §6)")
struct CCIDMessageTests {
    @Test("command encodings")
    func commands() {
        var c = CCIDCommand.iccPowerOn(.automatic)
        #expect(c.bytes == hex("62 00 00 00 00 00 00 00 00 00"))
        c = .iccPowerOn(.volts3)
        c.sequence = 7
        #expect(c.bytes == hex("62 00 00 00 00 00 07 02 00 00"))
        #expect(CCIDCommand.xfrBlock(hex("00 B0 00 00 10"), bwi: 2, levelParameter: 0x0010).bytes
            == hex("6F 05 00 00 00 00 00 02 10 00 00 B0 00 00 10"))
        let t1 = CCIDProtocolParameters.from(
            try! ATRTransmissionParameters(atr: t1ATR), protocol: .t1, fiDi: 0x96)
        #expect(CCIDCommand.setParameters(t1).bytes == hex("61 07 00 00 00 00 00 01 00 00 96 10 00 45 00 FE 00"))
        let t0 = CCIDProtocolParameters.from(try! ATRTransmissionParameters(atr: t0ATR), protocol: .t0, fiDi: 0x11)
        #expect(CCIDCommand.setParameters(t0).bytes == hex("61 05 00 00 00 00 00 00 00 00 11 00 00 0A 00"))
        #expect(CCIDCommand.getSlotStatus().bytes == hex("65 00 00 00 00 00 00 00 00 00"))
        #expect(CCIDCommand.abort().bytes.first == 0x72)
    }

    @Test("response decoding: status bits, bError, data")
    func responses() throws {
        let r = try CCIDResponse(decoding: hex("80 02 00 00 00 00 05 00 00 00 90 00"))
        #expect(r.messageType == 0x80 && r.sequence == 5 && r.data == hex("90 00"))
        #expect(r.iccStatus == .presentActive && r.commandStatus == .processed)
        let f = try CCIDResponse(decoding: hex("81 00 00 00 00 00 01 42 FE 00"))
        #expect(f.iccStatus == .absent && f.commandStatus == .failed && CCIDSlotError(f.error) == .cardAbsentOrMute)
        let t = try CCIDResponse(decoding: hex("80 00 00 00 00 00 01 80 03 00"))
        #expect(t.commandStatus == .timeExtension && t.error == 3)
        #expect(throws: CCIDError.malformedResponse("dwLength 4 but 2 data bytes")) {
            try CCIDResponse(decoding: hex("80 04 00 00 00 00 05 00 00 00 90 00"))
        }
    }

    @Test("bError → typed errors → transport errors", arguments: [
        (UInt8(0xFE), UInt8(0x42), TransportError.noCard),
        (0xFE, 0x41, .cardMute),
        (0xE0, 0x40, .busy),
        (0xFF, 0x40, .cancelled),
        (0xF6, 0x40, .notSupported("the protocol is not supported by the reader")),
        (0xFB, 0x40, .failed("reader hardware error")),
        (0x07, 0x40, .failed("reader error 0x07")),
    ])
    func errorMapping(_ bError: UInt8, _ bStatus: UInt8, _ expected: TransportError) {
        let e = CCIDError.slotError(CCIDSlotError(bError), iccStatus: CCIDICCStatus(rawValue: bStatus & 3)!)
        #expect(e.transportError == expected)
    }

    @Test("NotifySlotChange decoding (bmSlotICCState, 2 bits per slot)")
    func slotChange() {
        #expect(CCIDSlotChange.decode(hex("50 03")) == [CCIDSlotChange(slot: 0, cardPresent: true, changed: true)])
        #expect(CCIDSlotChange.decode(hex("50 02")) == [CCIDSlotChange(slot: 0, cardPresent: false, changed: true)])
        #expect(CCIDSlotChange.decode(hex("50 0D"), maxSlotIndex: 1) == [
            CCIDSlotChange(slot: 0, cardPresent: true, changed: false),
            CCIDSlotChange(slot: 1, cardPresent: true, changed: true),
        ])
        #expect(CCIDSlotChange.decode(hex("50 00 02"), maxSlotIndex: 4).last
            == CCIDSlotChange(slot: 4, cardPresent: false, changed: true))
        #expect(CCIDSlotChange.decode(hex("51 00 00 00")).isEmpty)
        #expect(CCIDSlotChange.decode(hex("50"), maxSlotIndex: 3).isEmpty)
    }

    @Test("PIN_VERIFY_STRUCTURE → Secure abData: bPINOperation 00, minus bTimerOut2 and ulDataLength")
    func pinVerifyWire() throws {
        let pcsc = hex("1E 00 82 08 00 08 04 02 01 0C 04 00 00 00 00 0D 00 00 00 00 20 00 01 08 FF FF FF FF FF FF FF FF")
        #expect(try CCIDPINBlock.verifyWire(fromPCSC: pcsc)
            == hex("00 1E 82 08 00 08 04 02 01 0C 04 00 00 00 00 00 20 00 01 08 FF FF FF FF FF FF FF FF"))
        var bad = pcsc
        bad[15] = 0x0C
        #expect(throws: TransportError.failed("PIN_VERIFY_STRUCTURE ulDataLength 12 but 13 APDU bytes follow")) {
            try CCIDPINBlock.verifyWire(fromPCSC: bad)
        }
    }

    @Test("PIN_MODIFY_STRUCTURE → Secure abData: bPINOperation 01")
    func pinModifyWire() throws {
        let header = hex("1E 00 82 08 00 00 08 08 04 03 02 03 0C 04 00 01 02 00 00 00")
        let apdu = hex("00 24 00 01 10") + [UInt8](repeating: 0xFF, count: 16)
        let pcsc = header + [UInt8(apdu.count), 0, 0, 0] + apdu
        let wire = try CCIDPINBlock.modifyWire(fromPCSC: pcsc)
        #expect(wire == [0x01, 0x1E] + Array(header[2...]) + apdu)
        #expect(wire.count == 20 + apdu.count)
    }
}

@Suite("USB enumeration through libusb")
struct CCIDUSBTests {
    @Test("a machine without USB devices lists zero readers (a normal answer) or says USB is unavailable")
    func enumerate() throws {
        let noUSB = !FileManager.default.fileExists(atPath: "/dev/bus/usb")
        do {
            let readers = try CCIDUSB.enumerateReaders()
            if noUSB { #expect(readers.isEmpty) }
            for r in readers { #expect(r.descriptor.bytes.count == 54) }
        } catch {
            guard case .usbUnavailable(let why) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(!why.isEmpty)
            #expect(error.description.hasPrefix("USB is not available on this machine"))
        }
    }
}

