import CCID
import CCIDDevice
import CardSimulator
import ISO7816
import Testing

/// End to end: the host driver (`CCIDSlotTransport`) against the simulated device hosting a virtual card, through
/// the transfer boundary, for APDU-level, extended-APDU and TPDU-level (T=1 and T=0) readers.
@Suite("CCID over the simulated device")
struct CCIDSimulatedReaderTests {
    static let select = [0x00, 0xA4, 0x04, 0x00, 0x07] + FileTestCard.aid + [0x00]
    static let readFirst = hex("00 B0 00 00 00")
    static let readRest = hex("00 B0 01 00 2C")

    func session(_ profile: CCIDReaderProfile, atr: [UInt8] = t1ATR) async throws -> CCIDSimulatedReader {
        let reader = CCIDSimulatedReader.make(card: FileTestCard(atr: atr), profile: profile)
        _ = try await reader.transport.connect(preferred: [.t0, .t1])
        return reader
    }

    /// SELECT + two READ BINARY: the same bytes whatever the reader.
    func selectAndRead(_ t: CCIDSlotTransport) async throws -> [[UInt8]] {
        [try await t.transmit(Self.select), try await t.transmit(Self.readFirst), try await t.transmit(Self.readRest)]
    }

    @Test("SELECT + READ BINARY give identical answers through APDU-level, extended-APDU and TPDU-level T=1 readers")
    func identicalResults() async throws {
        let content = FileTestCard(atr: t1ATR).content
        let expected = [FileTestCard.fci + [0x90, 0x00], Array(content[..<256]) + [0x90, 0x00],
                        Array(content[256...]) + [0x90, 0x00]]
        for profile in [CCIDReaderProfile.ingenicoLeo, .extendedAPDUReader, .gemPCTwin, .acr39U] {
            let reader = try await session(profile)
            #expect(try await selectAndRead(reader.transport) == expected, "\(profile.id)")
            let info = await reader.transport.connectionInfo
            #expect(info?.activeProtocol == .t1, "\(profile.id)")
            #expect(await reader.device.apduTranscript == [Self.select, Self.readFirst, Self.readRest], "\(profile.id)")
        }
    }

    @Test("TPDU-level T=1 session: PPS and SetParameters on the wire, S(IFS request) first, then chained I-blocks")
    func tpduWire() async throws {
        let reader = try await session(.gemPCTwin)
        _ = try await selectAndRead(reader.transport)
        let out = await reader.device.outTransfers
        #expect(out[1] == hex("6F 04 00 00 00 00 01 00 04 00 FF 11 96 78"))
        #expect(out[2] == hex("61 07 00 00 00 00 02 01 00 00 96 10 00 45 00 FE 00"))
        #expect(out[3] == hex("6F 05 00 00 00 00 03 00 00 00 00 C1 01 FE 3E"))
        // With IFSD 254 the 258-byte answer to READ BINARY comes as two chained I-blocks: the host sends R(N(R)).
        let xfrPayloads = out.filter { $0.first == 0x6F }.map { Array($0[10...]) }
        #expect(xfrPayloads.contains { $0.count == 4 && ($0[1] & 0xEF) == 0x80 })
    }

    @Test("a T=1 card with IFSC 32: a 300-byte UPDATE BINARY is chained in I-blocks of 32 bytes, and read back")
    func t1CommandChaining() async throws {
        let reader = try await session(.gemPCTwin, atr: t1SmallIFSCATR)
        let t = reader.transport
        _ = try await t.transmit(Self.select)
        let data = (0..<300).map { UInt8(255 - $0 % 256) }
        let update = try CommandAPDU(ins: 0xD6, p1: 0, p2: 0, data: data).encoded()
        #expect(try await t.transmit(update) == hex("90 00"))
        let read = try CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 300).encoded()
        #expect(try await t.transmit(read) == data + [0x90, 0x00])
        let iBlocks = await reader.device.outTransfers.filter { $0.first == 0x6F && $0.count > 13 && $0[11] & 0x80 == 0 }
        #expect(iBlocks.allSatisfy { $0[12] <= 32 })
    }

    @Test("an extended-APDU reader chains a 307-byte command (wLevelParameter 01, 02) and the 302-byte answer (10)")
    func extendedChaining() async throws {
        let reader = try await session(.extendedAPDUReader)
        let t = reader.transport
        _ = try await t.transmit(Self.select)
        let data = (0..<300).map { UInt8($0 % 199) }
        let update = try CommandAPDU(ins: 0xD6, p1: 0, p2: 0, data: data).encoded()
        #expect(update.count == 307)
        #expect(try await t.transmit(update) == hex("90 00"))
        let read = try CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 300).encoded()
        #expect(try await t.transmit(read) == data + [0x90, 0x00])
        let levels = await reader.device.outTransfers.filter { $0.first == 0x6F }.map { UInt16($0[8]) | UInt16($0[9]) << 8 }
        #expect(levels == [0x00, 0x01, 0x02, 0x00, 0x10])
        #expect(await t.capabilities.supportsExtendedLength)
    }

    @Test("a 607-byte command takes three XfrBlocks: wLevelParameter 01, 03, 02")
    func extendedChainingThreeBlocks() async throws {
        let reader = try await session(.extendedAPDUReader)
        _ = try await reader.transport.transmit(Self.select)
        await reader.device.clearTranscripts()
        let update = try CommandAPDU(ins: 0xD6, p1: 0, p2: 0, data: Array(repeating: 0xA5, count: 600)).encoded()
        #expect(try await reader.transport.transmit(update) == hex("6A 84"))
        let frames = await reader.device.outTransfers.filter { $0.first == 0x6F }
        #expect(frames.map { UInt16($0[8]) | UInt16($0[9]) << 8 } == [0x01, 0x03, 0x02])
        #expect(frames.map { $0.count - 10 } == [261, 261, 85])
        #expect(await reader.device.apduTranscript == [update])
    }

    @Test("a TPDU reader that makes PPS itself (ACR39U): no PPS from the host, SetParameters with TA1")
    func noHostPPS() async throws {
        let reader = try await session(.acr39U)
        let out = await reader.device.outTransfers
        #expect(!out.contains { $0.first == 0x6F && $0.count > 10 && $0[10] == 0xFF })
        #expect(out[1] == hex("61 07 00 00 00 00 01 01 00 00 96 10 00 45 00 FE 00"))
    }

    @Test("a short-APDU reader refuses an extended APDU that does not fit instead of sending it")
    func shortReaderRefuses() async throws {
        let reader = try await session(.ingenicoLeo)
        let update = try CommandAPDU(ins: 0xD6, p1: 0, p2: 0, data: Array(repeating: 1, count: 400)).encoded()
        await #expect(throws: TransportError.notSupported("a 407-byte APDU on a short-APDU reader (max 346 bytes)")) {
            try await reader.transport.transmit(update)
        }
    }

    @Test("a T=0 card on a TPDU reader: case 4 answers 61 xx, GET RESPONSE fetches the FCI")
    func t0OverTPDU() async throws {
        let reader = try await session(.gemPCTwin, atr: t0ATR)
        let t = reader.transport
        #expect(await t.connectionInfo?.activeProtocol == .t0)
        #expect(try await t.transmit(Self.select) == [0x61, UInt8(FileTestCard.fci.count)])
        #expect(try await t.transmit([0x00, 0xC0, 0x00, 0x00, UInt8(FileTestCard.fci.count)])
            == FileTestCard.fci + [0x90, 0x00])
        #expect(await t.capabilities.supportsExtendedLength == false)
        // A READ BINARY with Le = 256 where 44 bytes remain: the card's 6C 2C comes up unchanged.
        #expect(try await t.transmit(hex("00 B0 01 00 00")) == hex("6C 2C"))
        // NULL procedure bytes from the card are waited through.
        await reader.device.scriptT0(nullBytes: 3)
        #expect(try await t.transmit(hex("00 B0 01 00 2C")) == Array(FileTestCard(atr: t0ATR).content[256...]) + [0x90, 0x00])
        // The case 4 APDU went out as a case 3 TPDU (Le dropped); no PPS for a card without TA1.
        let out = await reader.device.outTransfers
        #expect(out[1] == hex("61 05 00 00 00 00 01 00 00 00 11 00 00 0A 00"))
        #expect(out[2] == hex("6F 0C 00 00 00 00 02 00 00 00") + Array(Self.select.dropLast()))
    }

    @Test("WTX scripted on the card: the S(WTX response) goes out with bBWI = multiplier, the answer arrives")
    func wtxThroughDevice() async throws {
        let reader = try await session(.gemPCTwin)
        await reader.device.scriptT1(wtx: [3])
        #expect(try await reader.transport.transmit(Self.select) == FileTestCard.fci + [0x90, 0x00])
        let wtxResponse = await reader.device.outTransfers.last { $0.count > 11 && $0[11] == 0xE3 }
        #expect(wtxResponse.map { Array($0) } == hex("6F 05 00 00 00 00 05 03 00 00 00 E3 01 03 E1"))
    }

    @Test("a T=1 card answering every I-block with an error R-block: bounded recovery, then a transport error")
    func errorRBlocksThroughDevice() async throws {
        let reader = try await session(.gemPCTwin)
        await reader.device.clearTranscripts()
        await reader.device.scriptT1(errorRBlocks: Int.max)
        await #expect(throws: TransportError.failed(
            "T=1: the card keeps asking for retransmission; recovery exhausted after resynchronisation"))
        {
            try await reader.transport.transmit(Self.select)
        }
        #expect(await reader.device.outTransfers.count == 9)
        #expect(await reader.device.apduTranscript.isEmpty)
    }

    @Test("device faults: never answering, endless time extensions, bError, stale frames")
    func deviceFaults() async throws {
        var reader = try await session(.ingenicoLeo)
        await reader.device.setFaults([.neverAnswer])
        let before = reader.device.clock.nowMs()
        await #expect(throws: TransportError.timeout) { try await reader.transport.transmit(Self.readFirst) }
        #expect(reader.device.clock.nowMs() - before == 5_000)

        reader = try await session(.ingenicoLeo)
        await reader.device.setFaults([.timeExtensions(count: 1000, multiplier: 1)])
        await #expect(throws: TransportError.timeout) { try await reader.transport.transmit(Self.select) }

        reader = try await session(.ingenicoLeo)
        await reader.device.setFaults([.slotError(0xE0)])
        await #expect(throws: TransportError.busy) { try await reader.transport.transmit(Self.select) }

        reader = try await session(.ingenicoLeo)
        await reader.device.setFaults([.staleFrame, .timeExtensions(count: 3, multiplier: 2)])
        #expect(try await reader.transport.transmit(Self.select) == FileTestCard.fci + [0x90, 0x00])
        #expect(try await reader.transport.transmit(Self.readRest).count == 46)

        reader = try await session(.ingenicoLeo)
        await reader.device.setFaults([.wrongSequenceOnly(count: 6)])
        await #expect(throws: TransportError.failed(
            "the reader answered out of sequence (expected bSeq 1, skipped 5 stale frames)"))
        {
            try await reader.transport.transmit(Self.select)
        }
    }

    @Test("an empty slot answers IccPowerOn with 'absent': connect says no card")
    func emptySlot() async throws {
        let reader = CCIDSimulatedReader.make(card: nil, profile: .ingenicoLeo)
        await #expect(throws: TransportError.noCard) { try await reader.transport.connect(preferred: [.t0, .t1]) }
        #expect(try await reader.transport.slotStatus() == .absent)
    }

    @Test("pinpad (Ingenico Leo): feature list, VERIFY_PIN_DIRECT → Secure, cancel → 64 01, timeout → 64 00")
    func pinpad() async throws {
        let reader = try await session(.ingenicoLeo)
        let t = reader.transport
        _ = try await t.transmit(Self.select)
        #expect(try await t.control(code: CCIDSlotTransport.ControlCode.getFeatureRequest, data: [])
            == hex("06 04 42 33 00 06 07 04 42 33 00 07"))
        let verify = hex("1E 00 82 08 00 08 04 02 01 0C 04 00 00 00 00 0D 00 00 00 00 20 00 01 08 FF FF FF FF FF FF FF FF")
        let code = CCIDSlotTransport.ControlCode.verifyPINDirect
        await reader.device.setPinpad(.enter(digits: "1234", newDigits: nil))
        #expect(try await t.control(code: code, data: verify) == hex("90 00"))
        await reader.device.setPinpad(.enter(digits: "9999", newDigits: nil))
        #expect(try await t.control(code: code, data: verify) == hex("63 C2"))
        await reader.device.setPinpad(.cancel)
        #expect(try await t.control(code: code, data: verify) == hex("64 01"))
        await reader.device.setPinpad(.timeout)
        #expect(try await t.control(code: code, data: verify) == hex("64 00"))
        // The Secure frame on the wire: bPINOperation 00, structure minus bTimerOut2 and ulDataLength.
        let secure = await reader.device.outTransfers.last { $0.first == 0x69 }
        #expect(secure.map { Array($0[10...]) }
            == hex("00 1E 82 08 00 08 04 02 01 0C 04 00 00 00 00 00 20 00 01 08 FF FF FF FF FF FF FF FF"))
    }

    @Test("MODIFY_PIN_DIRECT → Secure with bPINOperation 01: old and new PIN placed by the pinpad, then VERIFY")
    func pinpadModify() async throws {
        let reader = try await session(.ingenicoLeo)
        let t = reader.transport
        _ = try await t.transmit(Self.select)
        // bmFormatString 82 (bytes, ASCII), block 8 bytes, old PIN at offset 0, new at offset 8, 4…8 digits.
        let header = hex("1E 00 82 08 00 00 08 08 04 00 02 01 0C 04 00 00 00 00 00 00")
        let apdu = hex("00 24 00 01 10") + [UInt8](repeating: 0xFF, count: 16)
        let modify = header + [UInt8(apdu.count), 0, 0, 0] + apdu
        await reader.device.setPinpad(.enter(digits: "1234", newDigits: "5678"))
        #expect(try await t.control(code: CCIDSlotTransport.ControlCode.modifyPINDirect, data: modify) == hex("90 00"))
        let verify = hex("1E 00 82 08 00 08 04 02 01 0C 04 00 00 00 00 0D 00 00 00 00 20 00 01 08 FF FF FF FF FF FF FF FF")
        await reader.device.setPinpad(.enter(digits: "5678", newDigits: nil))
        #expect(try await t.control(code: CCIDSlotTransport.ControlCode.verifyPINDirect, data: verify) == hex("90 00"))
        let secure = await reader.device.outTransfers.filter { $0.first == 0x69 }.first
        #expect(secure.map { Array($0[10..<12]) } == [0x01, 0x1E])
    }

    @Test("a T=1 card whose TC3 asks for CRC: every block carries a 2-byte CRC epilogue")
    func crcCard() async throws {
        let reader = try await session(.gemPCTwin, atr: t1CRCATR)
        #expect(try await selectAndRead(reader.transport)[0] == FileTestCard.fci + [0x90, 0x00])
        let ifs = await reader.device.outTransfers.first { $0.first == 0x6F && $0.count > 11 && $0[11] == 0xC1 }
        #expect(ifs.map { Array($0[10...]) } == [0x00, 0xC1, 0x01, 0xFE] + T1Checksum.crc.compute([0x00, 0xC1, 0x01, 0xFE]))
        let p = try await reader.transport.parameters()
        #expect(p == CCIDProtocolParameters(fiDi: 0x11, tcckst: 0x11, guardTime: 0, waitingInteger: 0x45, ifsc: 0x20, nad: 0))
    }

    @Test("no pinpad on a TPDU reader: VERIFY_PIN_DIRECT is not supported, the feature list is empty")
    func noPinpad() async throws {
        let reader = try await session(.gemPCTwin)
        #expect(try await reader.transport.control(code: CCIDSlotTransport.ControlCode.getFeatureRequest, data: []) == [])
        await #expect(throws: TransportError.notSupported("PIN verification on the pinpad")) {
            try await reader.transport.control(code: CCIDSlotTransport.ControlCode.verifyPINDirect, data: [])
        }
        #expect(await reader.transport.capabilities.hasPinpad == false)
    }

    @Test("card removal and insertion arrive as NotifySlotChange on the interrupt pipe")
    func slotChanges() async throws {
        let reader = try await session(.ingenicoLeo)
        var changes = reader.transport.slotChanges().makeAsyncIterator()
        await reader.device.remove()
        #expect(await changes.next() == CCIDSlotChange(slot: 0, cardPresent: false, changed: true))
        await reader.device.insert(FileTestCard(atr: t0ATR))
        #expect(await changes.next() == CCIDSlotChange(slot: 0, cardPresent: true, changed: true))
    }

    @Test("disconnect(.unpower) powers the card off; connect powers it on again")
    func reconnect() async throws {
        let reader = try await session(.gemPCTwin)
        await reader.transport.disconnect(.unpower)
        #expect(try await reader.transport.slotStatus() == .presentInactive)
        _ = try await reader.transport.connect(preferred: [.t1])
        #expect(try await reader.transport.transmit(Self.select) == FileTestCard.fci + [0x90, 0x00])
        #expect(try await reader.transport.slotStatus() == .presentActive)
    }

    @Test("every persona card answers through every simulated reader exactly as it answers directly")
    func personasIdentical() async throws {
        let script: [[UInt8]] = [hex("00 A4 00 00 02 3F 00"), hex("00 A4 04 00 07 A0 00 00 00 01 02 03 00"),
                                 hex("00 B0 00 00 00"), hex("00 CA 9F 7F 00"), hex("BC B0 00 00 10")]
        for id in try PersonaCatalog.personaIDs() {
            let direct = try PersonaCatalog.makeCard(persona: id)
            direct.powerOn()
            let expected = script.map { direct.process($0) }
            for level in CCIDSimulatedReader.Level.allCases {
                let reader = try CCIDSimulatedReader.make(persona: id, level: level)
                let info = try await reader.transport.connect(preferred: [.t0, .t1])
                if level == .tpdu && info.activeProtocol == .t0 { continue }  // T=0 answers 61 xx instead
                var got: [[UInt8]] = []
                for c in script { got.append(try await reader.transport.transmit(c)) }
                #expect(got == expected, "\(id) over \(level)")
            }
        }
    }

    @Test("an inverse-convention ATR (TS = 3F) sets bmTCCKST bit 1 in SetParameters")
    func inverseConvention() async throws {
        let reader = CCIDSimulatedReader.make(card: FileTestCard(atr: hex("3F 65 25 00 2C 09 69 90 00")), profile: .gemPCTwin)
        _ = try await reader.transport.connect(preferred: [.t0])
        let set = await reader.device.outTransfers.first { $0.first == 0x61 }
        #expect(set.map { Array($0[10...]) } == hex("11 02 00 0A 00"))
    }

    @Test("persona cards through the simulated readers (the --transport usb-sim path)")
    func personas() async throws {
        let ids = try PersonaCatalog.personaIDs()
        #expect(!ids.isEmpty)
        for level in CCIDSimulatedReader.Level.allCases {
            let reader = try CCIDSimulatedReader.make(persona: ids[0], level: level)
            let info = try await reader.transport.connect(preferred: [.t0, .t1])
            #expect(info.atr == (try PersonaCatalog.makeCard(persona: ids[0])).atr)
            let r = try await reader.transport.transmit(hex("00 A4 04 00 02 3F 00 00"))
            #expect(r.count >= 2)
            #expect(reader.transport.readerName.hasSuffix("[simulated]"))
        }
        #expect(throws: PersonaCatalog.CatalogError.unknownPersona("nobody")) {
            try CCIDSimulatedReader.make(persona: "nobody")
        }
    }
}

@Suite("CCID card removal during a session")
struct CCIDRemovalTests {
    @Test("a card pulled out between two commands: the next transmit says the card was removed")
    func removal() async throws {
        let reader = CCIDSimulatedReader.make(card: FileTestCard(atr: t1ATR), profile: .ingenicoLeo)
        _ = try await reader.transport.connect(preferred: [.t1])
        await reader.device.remove()
        await #expect(throws: TransportError.cardRemoved) {
            try await reader.transport.transmit(CCIDSimulatedReaderTests.select)
        }
        await #expect(throws: TransportError.failed("not connected to the card: call connect first")) {
            try await reader.transport.transmit(CCIDSimulatedReaderTests.select)
        }
    }
}
