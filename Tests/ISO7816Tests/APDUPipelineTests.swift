import Testing

@testable import ISO7816

private let vitale2ATR: [UInt8] = [0x3B, 0x75, 0x13, 0x00, 0x00, 0x47, 0x09, 0xEA, 0x90, 0x00]  // T=0 only
private let cps3ContactlessATR = [UInt8](hex: "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E")!  // chaining
private let plainT1ATR: [UInt8] = [0x3B, 0x80, 0x80, 0x01, 0x01]  // T=0/T=1, no card capabilities

private func hex(_ b: [UInt8]) -> String { b.hexString(separator: " ") }
private func filler(_ n: Int, _ v: UInt8) -> String { hex([UInt8](repeating: v, count: n)) }

private func channel(
    _ t: ScriptedTransport, atr: [UInt8], _ proto: TransmissionProtocol, caps: ReaderCapabilities = .shortAPDU,
    config: APDUChannelConfiguration = .init(), transcript: APDUTranscript? = nil
) -> APDUChannel {
    APDUChannel(
        transport: t, atr: atr, activeProtocol: proto, readerCapabilities: caps, configuration: config,
        transcript: transcript?.hook)
}

@Suite struct T0RulesTests {
    @Test func getResponseChainGives528BytesInExactlyThreeCommands() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: filler(256, 0x11) + " 61 00")
        t.expect("00 C0 00 00 00", answer: filler(256, 0x22) + " 61 10")
        t.expect("00 C0 00 00 10", answer: filler(16, 0x33) + " 90 00")
        let log = APDUTranscript()
        let ch = channel(t, atr: vitale2ATR, .t0, transcript: log)
        let r = try await ch.send(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256))
        #expect(r.data.count == 528)
        #expect(r.data == [UInt8](repeating: 0x11, count: 256) + [UInt8](repeating: 0x22, count: 256)
            + [UInt8](repeating: 0x33, count: 16))
        #expect(r.statusWord == .success)
        #expect(t.sentHex == ["00 B0 00 00 00", "00 C0 00 00 00", "00 C0 00 00 10"])
        #expect(t.isComplete)
        #expect(log.commandCount == 3)
        #expect(log.bytesSent == 15)
        #expect(log.bytesReceived == 258 + 258 + 18)
        #expect(log.entries.map(\.direction) == [.command, .response, .command, .response, .command, .response])
    }

    @Test func wrongLeIsReissuedOnceWithTheCardsLe() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: "6C 10")
        t.expect("00 B0 00 00 10", answer: filler(16, 0xAB) + " 90 00")
        let r = try await channel(t, atr: vitale2ATR, .t0).send(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256))
        #expect(r.data == [UInt8](repeating: 0xAB, count: 16))
        #expect(r.statusWord == .success)
        #expect(t.isComplete)
    }

    @Test func wrongLeTwiceIsNotReissuedAgain() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: "6C 10")
        t.expect("00 B0 00 00 10", answer: "6C 08")
        let r = try await channel(t, atr: vitale2ATR, .t0).send(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256))
        #expect(r.statusWord == StatusWord(0x6C08))
        #expect(t.sent.count == 2 && t.isComplete)
    }

    @Test func case4OnT0GoesOutAsCase3AndDataComeBackThroughGetResponse() async throws {
        let t = ScriptedTransport()
        let fci = filler(26, 0x6F)
        t.expect("00 A4 04 00 05 A0 00 00 00 01", answer: "61 1A")
        t.expect("00 C0 00 00 1A", answer: fci + " 90 00")
        let select = CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: [0xA0, 0x00, 0x00, 0x00, 0x01], ne: 256)
        let r = try await channel(t, atr: vitale2ATR, .t0).send(select)
        #expect(r.data == [UInt8](repeating: 0x6F, count: 26))
        #expect(t.sentHex == ["00 A4 04 00 05 A0 00 00 00 01", "00 C0 00 00 1A"])
        #expect(t.isComplete)
    }

    @Test func case4OnT1KeepsLe() async throws {
        let t = ScriptedTransport()
        t.expect("00 A4 04 00 05 A0 00 00 00 01 00", answer: "6F 00 90 00")
        let select = CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: [0xA0, 0x00, 0x00, 0x00, 0x01], ne: 256)
        let r = try await channel(t, atr: plainT1ATR, .t1).send(select)
        #expect(r.data == [0x6F, 0x00])
        #expect(t.isComplete)
    }

    @Test func getResponseFollowsTheCommandsClass() async throws {
        let t = ScriptedTransport()
        t.expect("01 CA 01 01 00", answer: "61 02")
        t.expect("01 C0 00 00 02", answer: "AA BB 90 00")
        let r = try await channel(t, atr: plainT1ATR, .t1).send(CommandAPDU(cla: 0x01, ins: 0xCA, p1: 1, p2: 1, ne: 256))
        #expect(r.data == [0xAA, 0xBB])
        #expect(t.isComplete)
        #expect(APDUChannel.getResponseCLA(for: 0x1C) == 0x0C)
        #expect(APDUChannel.getResponseCLA(for: 0x10) == 0x00)
        #expect(APDUChannel.getResponseCLA(for: 0x80) == 0x80)
        #expect(APDUChannel.getResponseCLA(for: 0xBC) == 0xBC)
    }

    @Test func vitale1ProprietaryClassGetResponse() async throws {
        let vitale1ATR: [UInt8] = [0x3F, 0x65, 0x25, 0x00, 0x2C, 0x09, 0x69, 0x90, 0x00]
        let t = ScriptedTransport(atr: vitale1ATR, activeProtocol: .t0)
        t.expect("BC B0 09 C0 00", answer: "61 04")
        t.expect("BC C0 00 00 04", answer: "01 02 03 04 90 00")
        t.expect("80 CA 9F 7F 00", answer: "61 02")
        t.expect("00 C0 00 00 02", answer: "AA BB 90 00")
        let r = try await channel(t, atr: vitale1ATR, .t0).send(CommandAPDU(cla: 0xBC, ins: 0xB0, p1: 0x09, p2: 0xC0, ne: 256))
        #expect(r.data == [1, 2, 3, 4])
        let fixed = channel(t, atr: vitale1ATR, .t0, config: APDUChannelConfiguration(getResponseCLA: 0x00))
        let g = try await fixed.send(CommandAPDU(cla: 0x80, ins: 0xCA, p1: 0x9F, p2: 0x7F, ne: 256))
        #expect(g.data == [0xAA, 0xBB])
        #expect(t.isComplete)
    }

    @Test func endlessMoreDataStopsAtTheBound() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: "61 00")
        for _ in 0..<5 { t.expect("00 C0 00 00 00", answer: "00 61 00") }
        let ch = channel(t, atr: vitale2ATR, .t0, config: APDUChannelConfiguration(getResponseLimit: 5))
        await #expect(throws: CardError.getResponseLimitExceeded(limit: 5)) {
            _ = try await ch.send(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256))
        }
        #expect(t.sent.count == 6)
        #expect(t.isComplete)
    }

    @Test func defaultBoundIs256GetResponses() async throws {
        let t = ScriptedTransport()
        t.expect("00 CA 00 00 00", answer: "61 01")
        for _ in 0..<300 { t.expect("00 C0 00 00 01", answer: "00 61 01") }
        let ch = channel(t, atr: plainT1ATR, .t1)
        await #expect(throws: CardError.getResponseLimitExceeded(limit: 256)) {
            _ = try await ch.send(CommandAPDU(ins: 0xCA, p1: 0, p2: 0, ne: 256))
        }
        #expect(t.sent.count == 257)
    }

    @Test func errorDuringGetResponseEndsTheChainWithThatStatus() async throws {
        let t = ScriptedTransport()
        t.expect("00 B2 01 0C 00", answer: "01 02 61 04")
        t.expect("00 C0 00 00 04", answer: "6F 00")
        let r = try await channel(t, atr: vitale2ATR, .t0).send(CommandAPDU(ins: 0xB2, p1: 1, p2: 0x0C, ne: 256))
        #expect(r.data == [0x01, 0x02])
        #expect(r.statusWord == StatusWord(0x6F00))
        #expect(t.isComplete)
    }

    @Test func rawOptionLeaves61xxAnd91AFAlone() async throws {
        let t = ScriptedTransport()
        t.expect("00 CA 00 00 00", answer: "61 10")
        t.expect("90 60 00 00 00", answer: "04 01 01 01 00 1A 05 91 AF")
        let ch = channel(t, atr: cps3ContactlessATR, .t1)
        let a = try await ch.send(CommandAPDU(ins: 0xCA, p1: 0, p2: 0, ne: 256), options: .raw)
        #expect(a.statusWord == StatusWord(0x6110))
        // DESFire's own continuation is never answered by the pipeline, even with the standard options.
        let b = try await ch.send(CommandAPDU(cla: 0x90, ins: 0x60, p1: 0, p2: 0, ne: 256))
        #expect(b.statusWord == StatusWord(0x91AF))
        #expect(b.data.count == 7)
        #expect(t.sent.count == 2 && t.isComplete)
    }

    @Test func transportErrorsAreWrapped() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", throwing: .cardRemoved)
        t.expect("00 B0 00 00 00", answer: "90")
        let ch = channel(t, atr: plainT1ATR, .t1)
        await #expect(throws: CardError.transport(.cardRemoved)) {
            _ = try await ch.send(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256))
        }
        await #expect(throws: CardError.malformedResponse("response APDU too short: 1 bytes, SW1-SW2 missing")) {
            _ = try await ch.send(CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256))
        }
    }

    @Test func scriptMismatchIsReportedWithBothCommands() async throws {
        let t = ScriptedTransport()
        t.expect("00 A4 00 0C 02 3F 00", answer: "90 00")
        let ch = channel(t, atr: plainT1ATR, .t1)
        await #expect(throws: CardError.self) {
            _ = try await ch.send(CommandAPDU(ins: 0xA4, p1: 0, p2: 0x0C, data: [0x2F, 0x00]))
        }
        #expect(t.mismatches == ["command #1: expected 00 A4 00 0C 02 3F 00, got 00 A4 00 0C 02 2F 00"])
        #expect(!t.isComplete)
    }

    @Test func sendExpectingReturnsDataOrThrowsTheRawStatusWord() async throws {
        let t = ScriptedTransport()
        t.expect("00 A4 04 0C 06 D2 50 00 00 02 56", answer: "6A 82")
        t.expect("00 CA 9F 7F 00", answer: "01 02 03 90 00")
        t.expect("00 B0 00 00 00", answer: "01 62 82")
        let ch = channel(t, atr: plainT1ATR, .t1)
        await #expect(throws: CardError.unexpectedStatus(StatusWord(0x6A82), command: "SELECT VITALE")) {
            _ = try await ch.sendExpecting(
                CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: [0xD2, 0x50, 0x00, 0x00, 0x02, 0x56]),
                name: "SELECT VITALE")
        }
        #expect(try await ch.sendExpecting(CommandAPDU(ins: 0xCA, p1: 0x9F, p2: 0x7F, ne: 256)) == [1, 2, 3])
        #expect(try await ch.sendExpecting(
            CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256), accepted: [.success, StatusWord(0x6282)]) == [1])
        #expect(t.isComplete)
        #expect(CardError.unexpectedStatus(StatusWord(0x6A82), command: "SELECT VITALE").description
            == "the card refused SELECT VITALE with status 6A 82 (file or application not found)")
    }

    @Test func wrongLeOnAnExtendedFrameIsReissuedExtended() async throws {
        let data = [UInt8](repeating: 0x5A, count: 300)
        let t = ScriptedTransport()
        t.expect("00 2A 9E 9A 00 01 2C " + hex(data) + " 00 00", answer: "6C 80")
        t.expect("00 2A 9E 9A 00 01 2C " + hex(data) + " 00 80", answer: filler(128, 1) + " 90 00")
        let caps = ReaderCapabilities(supportsExtendedLength: true, maxCommandLength: 65544, maxResponseLength: 65538)
        let ch = channel(t, atr: plainT1ATR, .t1, caps: caps, config: APDUChannelConfiguration(cardSupportsExtendedLength: true))
        let r = try await ch.send(CommandAPDU(ins: 0x2A, p1: 0x9E, p2: 0x9A, data: data, ne: 65536))
        #expect(r.data.count == 128)
        #expect(t.isComplete)
    }

    @Test func connectBuildsTheChannelFromTheTransport() async throws {
        let t = ScriptedTransport(atr: cps3ContactlessATR, activeProtocol: .t1)
        let ch = try await APDUChannel.connect(t)
        #expect(ch.atr == cps3ContactlessATR)
        #expect(ch.activeProtocol == .t1)
        #expect(ch.formatter.cardSupportsChaining)
        #expect(!ch.formatter.cardSupportsExtendedLength)
        #expect(t.connectionCount == 1)
        await #expect(throws: CardError.transport(.protocolMismatch(requested: [.t0], available: [.t1]))) {
            _ = try await APDUChannel.connect(t, preferred: [.t0])
        }
    }
}

@Suite struct LengthAndChainingTests {
    @Test func a300ByteCommandIsChainedAs255Plus45() async throws {
        let data = (0..<300).map { UInt8($0 & 0xFF) }
        let t = ScriptedTransport()
        t.expect("10 DB 3F FF FF " + hex(Array(data[0..<255])), answer: "90 00")
        t.expect("00 DB 3F FF 2D " + hex(Array(data[255...])), answer: "90 00")
        let ch = channel(t, atr: cps3ContactlessATR, .t1)
        let r = try await ch.send(CommandAPDU(ins: 0xDB, p1: 0x3F, p2: 0xFF, data: data))
        #expect(r.statusWord == .success)
        #expect(t.isComplete)
    }

    @Test func chainedCase4PutsLeOnTheLastFrameOnly() throws {
        let f = APDUFormatter(
            activeProtocol: .t1, readerSupportsExtendedLength: false, cardSupportsExtendedLength: false,
            cardSupportsChaining: true)
        let frames = try f.frames(for: CommandAPDU(ins: 0x2A, p1: 0x80, p2: 0x86, data: [UInt8](repeating: 1, count: 600), ne: 300))
        #expect(frames.map { $0.bytes.count } == [5 + 255, 5 + 255, 5 + 90 + 1])
        #expect(frames.map(\.command.cla) == [0x10, 0x10, 0x00])
        #expect(frames.map(\.command.ne) == [nil, nil, 256])
        #expect(frames.last!.bytes.last == 0x00)
    }

    @Test func refusedChainFrameStopsTheChain() async throws {
        let t = ScriptedTransport()
        t.expect("10 DB 3F FF FF " + filler(255, 0xEE), answer: "68 83")
        let ch = channel(t, atr: cps3ContactlessATR, .t1)
        let r = try await ch.send(CommandAPDU(ins: 0xDB, p1: 0x3F, p2: 0xFF, data: [UInt8](repeating: 0xEE, count: 300)))
        #expect(r.statusWord == StatusWord(0x6883))
        #expect(t.sent.count == 1 && t.isComplete)
    }

    @Test func extendedLengthWhenReaderAndCardAllowIt() async throws {
        let data = [UInt8](repeating: 0x5A, count: 300)
        let t = ScriptedTransport()
        t.expect("00 DB 3F FF 00 01 2C " + hex(data), answer: "90 00")
        let caps = ReaderCapabilities(supportsExtendedLength: true, maxCommandLength: 65544, maxResponseLength: 65538)
        let ch = channel(t, atr: plainT1ATR, .t1, caps: caps, config: APDUChannelConfiguration(cardSupportsExtendedLength: true))
        _ = try await ch.send(CommandAPDU(ins: 0xDB, p1: 0x3F, p2: 0xFF, data: data))
        #expect(t.isComplete)
    }

    @Test func extendedVersusChainingChoice() throws {
        let big = CommandAPDU(ins: 0xDB, p1: 0x3F, p2: 0xFF, data: [UInt8](repeating: 0, count: 300))
        func plan(_ p: TransmissionProtocol, reader: Bool, cardExt: Bool, chain: Bool, max: Int = 65544) throws(CardError) -> [Bool] {
            try APDUFormatter(
                activeProtocol: p, readerSupportsExtendedLength: reader, readerMaxCommandLength: max,
                cardSupportsExtendedLength: cardExt, cardSupportsChaining: chain
            ).frames(for: big).map(\.extended)
        }
        #expect(try plan(.t1, reader: true, cardExt: true, chain: true) == [true])
        #expect(try plan(.t1, reader: true, cardExt: false, chain: true) == [false, false])  // card says no
        #expect(try plan(.t1, reader: false, cardExt: true, chain: true) == [false, false])  // reader says no
        #expect(try plan(.t0, reader: true, cardExt: true, chain: true) == [false, false])  // never over T=0
        #expect(try plan(.t1, reader: true, cardExt: true, chain: true, max: 261) == [false, false])  // too long for reader
        #expect(throws: CardError.lengthNotSupported(
            nc: 300, ne: nil,
            reason: "the reader does not support extended length and the card does not announce command chaining")) {
            try plan(.t1, reader: false, cardExt: true, chain: false)
        }
        #expect(throws: CardError.lengthNotSupported(
            nc: 300, ne: nil,
            reason: "the card does not support extended length and the card does not announce command chaining")) {
            try plan(.t1, reader: true, cardExt: false, chain: false)
        }
        let proprietary = CommandAPDU(cla: 0x90, ins: 0x3D, p1: 0, p2: 0, data: [UInt8](repeating: 0, count: 300))
        #expect(throws: CardError.self) {
            try APDUFormatter(
                activeProtocol: .t1, readerSupportsExtendedLength: false, cardSupportsExtendedLength: false,
                cardSupportsChaining: true
            ).frames(for: proprietary)
        }
    }

    @Test func largeNeFallsBackToLe00WithoutExtendedLength() throws {
        let f = APDUFormatter(
            activeProtocol: .t1, readerSupportsExtendedLength: false, cardSupportsExtendedLength: false,
            cardSupportsChaining: false)
        #expect(try f.frames(for: CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 4000)).map(\.bytes) == [[0x00, 0xB0, 0x00, 0x00, 0x00]])
        let e = APDUFormatter(
            activeProtocol: .t1, readerSupportsExtendedLength: true, readerMaxCommandLength: 65544,
            cardSupportsExtendedLength: true, cardSupportsChaining: false)
        #expect(try e.frames(for: CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 4000)).map(\.bytes) == [[0x00, 0xB0, 0x00, 0x00, 0x00, 0x0F, 0xA0]])
        #expect(throws: CardError.invalidCommand(.invalidNe(0))) {
            try e.frames(for: CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 0))
        }
    }
}

@Suite struct ReadBinaryTests {
    @Test func readsAWholeFileInChunks() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: filler(256, 1) + " 90 00")
        t.expect("00 B0 01 00 00", answer: filler(256, 2) + " 90 00")
        t.expect("00 B0 02 00 00", answer: filler(88, 3) + " 90 00")
        let data = try await channel(t, atr: vitale2ATR, .t0).readBinary()
        #expect(data.count == 600)
        #expect(data[255] == 1 && data[256] == 2 && data[599] == 3)
        #expect(t.isComplete)
    }

    @Test func stopsOnEndOfFileWarning() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: filler(100, 7) + " 62 82")
        let data = try await channel(t, atr: vitale2ATR, .t0).readBinary()
        #expect(data == [UInt8](repeating: 7, count: 100))
        #expect(t.isComplete)
    }

    @Test func stopsOnWrongOffsetAfterAnExactChunk() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: filler(256, 9) + " 90 00")
        t.expect("00 B0 01 00 00", answer: "6B 00")
        let data = try await channel(t, atr: plainT1ATR, .t1).readBinary()
        #expect(data.count == 256)
        #expect(t.isComplete)
    }

    @Test func emptySuccessIsAnError() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: filler(256, 9) + " 90 00")
        t.expect("00 B0 01 00 00", answer: "90 00")
        await #expect(throws: CardError.emptyRead(offset: 256)) {
            _ = try await channel(t, atr: plainT1ATR, .t1).readBinary()
        }
        #expect(t.isComplete)
    }

    @Test func wrongLeAnswerEndsTheRead() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: "6C 20")
        t.expect("00 B0 00 00 20", answer: filler(32, 4) + " 90 00")
        let data = try await channel(t, atr: vitale2ATR, .t0).readBinary()
        #expect(data == [UInt8](repeating: 4, count: 32))
        #expect(t.isComplete)
    }

    @Test func lengthAndOffsetAndSFI() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 82 10 00", answer: filler(256, 1) + " 90 00")
        t.expect("00 B0 01 10 2C", answer: filler(44, 2) + " 90 00")
        let data = try await channel(t, atr: vitale2ATR, .t0).readBinary(sfi: 2, offset: 16, length: 300)
        #expect(data.count == 300)
        #expect(t.isComplete)
    }

    @Test func offsetsAbove32767UseOddINS() async throws {
        let t = ScriptedTransport()
        t.expect("00 B1 00 00 04 54 02 80 00 12", answer: "53 10 " + filler(16, 0xC3) + " 90 00")
        let data = try await channel(t, atr: plainT1ATR, .t1).readBinary(offset: 0x8000, length: 16)
        #expect(data == [UInt8](repeating: 0xC3, count: 16))
        #expect(t.isComplete)

        let u = ScriptedTransport()
        u.expect("00 B1 00 00 05 54 03 01 00 00 00", answer: "53 81 FD " + filler(253, 1) + " 90 00")
        u.expect("00 B1 00 00 05 54 03 01 00 FD 00", answer: "53 05 " + filler(5, 2) + " 90 00")
        let more = try await channel(u, atr: plainT1ATR, .t1).readBinary(offset: 0x10000)
        #expect(more.count == 258)
        #expect(u.isComplete)
    }

    @Test func oddINSCanBeRefused() async throws {
        let t = ScriptedTransport()
        let ch = channel(t, atr: plainT1ATR, .t1, config: APDUChannelConfiguration(allowOddInsReadBinary: false))
        await #expect(throws: CardError.offsetNotAddressable(
            offset: 40000, reason: "offsets over 32767 need READ BINARY with odd INS (B1), which is disabled")) {
            _ = try await ch.readBinary(offset: 40000)
        }
        #expect(t.sent.isEmpty)
    }

    @Test func errorStatusIsThrownWithTheRawStatusWord() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00", answer: "6A 82")
        await #expect(throws: CardError.unexpectedStatus(StatusWord(0x6A82), command: "READ BINARY at offset 0")) {
            _ = try await channel(t, atr: plainT1ATR, .t1).readBinary()
        }
    }

    @Test func extendedReadChunkWhenAllowed() async throws {
        let t = ScriptedTransport()
        t.expect("00 B0 00 00 00 04 00", answer: filler(1024, 5) + " 90 00")
        let caps = ReaderCapabilities(supportsExtendedLength: true, maxCommandLength: 1034, maxResponseLength: 1026)
        let ch = channel(t, atr: plainT1ATR, .t1, caps: caps, config: APDUChannelConfiguration(cardSupportsExtendedLength: true))
        #expect(ch.maxReadChunk == 1024)
        let data = try await ch.readBinary(length: 1024)
        #expect(data.count == 1024)
        #expect(t.isComplete)
    }

    @Test func concurrentSendsDoNotInterleaveAGetResponseChain() async throws {
        let t = ScriptedTransport()
        t.answerAny("61 02")
        t.expect("00 C0 00 00 02", answer: "01 01 90 00")
        t.answerAny("61 02")
        t.expect("00 C0 00 00 02", answer: "02 02 90 00")
        let ch = channel(t, atr: plainT1ATR, .t1)
        async let a = ch.send(CommandAPDU(ins: 0xCA, p1: 0, p2: 1, ne: 256))
        async let b = ch.send(CommandAPDU(ins: 0xCA, p1: 0, p2: 2, ne: 256))
        let (ra, rb) = try await (a, b)
        #expect(Set([ra.data, rb.data]) == [[1, 1], [2, 2]])
        #expect(t.sent[1] == [0x00, 0xC0, 0x00, 0x00, 0x02] && t.sent[3] == [0x00, 0xC0, 0x00, 0x00, 0x02])
        #expect(Set([t.sent[0][3], t.sent[2][3]]) == [1, 2])
        #expect(t.isComplete)
    }
}
