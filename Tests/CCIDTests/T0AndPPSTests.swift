import ISO7816
import Testing

/// A scripted T=0 card at character level: `replies` are handed out in order on receive; sends are recorded.
struct ScriptedCharacterChannel: T0CharacterChannel {
    var replies: [UInt8]
    var sent: [UInt8] = []
    var sendCalls = 0

    mutating func send(_ bytes: [UInt8]) async throws(TransportError) {
        sent += bytes
        sendCalls += 1
    }

    mutating func receive(_ count: Int) async throws(TransportError) -> [UInt8] {
        guard replies.count >= count else { throw .cardMute }
        defer { replies.removeFirst(count) }
        return Array(replies[..<count])
    }
}

@Suite("T=0 (ISO/IEC 7816-3 §10, §12.2)")
struct T0ProtocolTests {
    @Test("C-APDU → TPDU for the four cases", arguments: [
        ("00 A4 04 0C", "00 A4 04 0C 00", 0),  // case 1: P3 = 00
        ("00 B0 00 00 10", "00 B0 00 00 10", 16),  // case 2S
        ("00 B0 00 00 00", "00 B0 00 00 00", 256),  // case 2S, Ne = 256
        ("00 D6 00 00 02 AA BB", "00 D6 00 00 02 AA BB", 0),  // case 3S
        ("00 A4 04 00 02 3F 00 00", "00 A4 04 00 02 3F 00", 0),  // case 4S → case 3S, 61 xx follows
    ])
    func tpduMapping(_ apdu: String, _ tpdu: String, _ expected: Int) throws {
        let t = try T0CommandTPDU(apdu: hex(apdu))
        #expect(t.bytes == hex(tpdu))
        #expect(t.expectedLength == expected)
    }

    @Test("extended-length APDUs are refused over T=0")
    func extended() {
        #expect(throws: TransportError.notSupported("extended-length APDU over T=0 (ISO/IEC 7816-3 §12.2.6 ENVELOPE)")) {
            try T0CommandTPDU(apdu: hex("00 B0 00 00 00 01 00"))
        }
    }

    @Test("case 2: INS procedure byte, then all data, then SW1 SW2")
    func case2() async throws {
        var ch = ScriptedCharacterChannel(replies: hex("B0 01 02 03 04 90 00"))
        let r = try await T0ProcedureEngine.run(try T0CommandTPDU(apdu: hex("00 B0 00 00 04")), over: &ch)
        #expect(r == hex("01 02 03 04 90 00"))
        #expect(ch.sent == hex("00 B0 00 00 04"))
    }

    @Test("case 3 with NULL bytes and ~INS: one byte at a time, then INS for the rest")
    func case3() async throws {
        var ch = ScriptedCharacterChannel(replies: hex("60 29 60 D6 90 00"))
        let r = try await T0ProcedureEngine.run(try T0CommandTPDU(apdu: hex("00 D6 00 00 03 AA BB CC")), over: &ch)
        #expect(r == hex("90 00"))
        #expect(ch.sent == hex("00 D6 00 00 03 AA BB CC"))
        #expect(ch.sendCalls == 3)  // header, AA (after ~INS = 29), BB CC (after INS)
    }

    @Test("61 xx and 6C xx are passed up unchanged")
    func passUp() async throws {
        var ch = ScriptedCharacterChannel(replies: hex("A4 61 1C"))
        #expect(try await T0ProcedureEngine.run(try T0CommandTPDU(apdu: hex("00 A4 04 00 02 3F 00 00")), over: &ch)
            == hex("61 1C"))
        var ch2 = ScriptedCharacterChannel(replies: hex("6C 10"))
        #expect(try await T0ProcedureEngine.run(try T0CommandTPDU(apdu: hex("00 B0 00 00 00")), over: &ch2)
            == hex("6C 10"))
    }

    @Test("an invalid procedure byte and endless NULLs are errors, not loops")
    func invalid() async throws {
        var ch = ScriptedCharacterChannel(replies: hex("42"))
        await #expect(throws: TransportError.failed("T=0: invalid procedure byte 42")) {
            _ = try await T0ProcedureEngine.run(try T0CommandTPDU(apdu: hex("00 B0 00 00 04")), over: &ch)
        }
        var nulls = ScriptedCharacterChannel(replies: [UInt8](repeating: 0x60, count: 5000))
        await #expect(throws: TransportError.failed("T=0: more than 4096 NULL procedure bytes")) {
            _ = try await T0ProcedureEngine.run(try T0CommandTPDU(apdu: hex("00 B0 00 00 04")), over: &nulls)
        }
    }
}

@Suite("PPS (ISO/IEC 7816-3 §9) and ATR transmission parameters (§8.2.3)")
struct PPSTests {
    @Test("requests: PPSS PPS0 [PPS1] PCK")
    func requests() {
        #expect(PPSMessage.request(protocol: .t1, ta1: 0x96).bytes == hex("FF 11 96 78"))
        #expect(PPSMessage.request(protocol: .t0, ta1: 0x13).bytes == hex("FF 10 13 FC"))
        #expect(PPSMessage.request(protocol: .t1, ta1: nil).bytes == hex("FF 01 FE"))
        #expect(PPSMessage(protocolType: 1, pps1: 0x18, pps2: 0x00, pps3: 0x00).bytes == hex("FF 71 18 00 00 96"))
    }

    @Test("responses: echo accepts Fi/Di, no PPS1 keeps Fd/Dd, other protocol is refused")
    func responses() throws {
        let req = PPSMessage.request(protocol: .t1, ta1: 0x96)
        #expect(try PPSMessage.negotiatedFiDi(request: req, response: hex("FF 11 96 78")) == 0x96)
        #expect(try PPSMessage.negotiatedFiDi(request: req, response: hex("FF 01 FE")) == 0x11)
        #expect(throws: PPSError.rejected("the card answered with T=0 instead of T=1")) {
            try PPSMessage.negotiatedFiDi(request: req, response: hex("FF 00 FF"))
        }
        #expect(throws: PPSError.malformed("PCK check failed")) {
            try PPSMessage.negotiatedFiDi(request: req, response: hex("FF 11 96 77"))
        }
        #expect(throws: PPSError.malformed("PPS0 announces 4 bytes, 3 arrived")) {
            try PPSMessage(decoding: hex("FF 11 96"))
        }
    }

    @Test("ATR parameters of a T=1 card: TA1 96, IFSC 254, BWI/CWI 45, LRC")
    func atrT1() throws {
        let p = try ATRTransmissionParameters(atr: t1ATR)
        #expect(p.ta1 == 0x96)
        #expect(p.offeredProtocols == [.t1])
        #expect(p.ifsc == 254)
        #expect(p.bwiCwi == 0x45)
        #expect(p.usesCRC == false)
        #expect(p.specificMode == nil)
    }

    @Test("ATR parameters of a T=0 card and of a T=0/T=1 card with CRC and TA2")
    func atrOthers() throws {
        let p0 = try ATRTransmissionParameters(atr: t0ATR)
        #expect(p0.offeredProtocols == [.t0])
        #expect(p0.ta1 == nil)
        #expect(p0.ifsc == 32)
        // TD1 = 90 (TA2, TD2; T=0), TA2 = 01 (specific mode T=1), TD2 = 71 (TA3 TB3 TC3, T=1), TC3 = 01 (CRC).
        let p = try ATRTransmissionParameters(atr: hex("3B 80 90 01 71 40 45 01"))
        #expect(p.offeredProtocols == [.t0, .t1])
        #expect(p.specificMode == .t1)
        #expect(p.ifsc == 0x40)
        #expect(p.usesCRC)
    }

    @Test("truncated or foreign ATRs are clear errors; no crash on mutated ATRs")
    func atrErrors() {
        #expect(throws: TransportError.failed("ATR interface bytes run past the end")) {
            try ATRTransmissionParameters(atr: hex("3B F5 96"))
        }
        #expect(throws: TransportError.failed("ATR does not start with TS = 3B or 3F")) {
            try ATRTransmissionParameters(atr: hex("00 00"))
        }
        var rng = SplitMix64(seed: 0xA7)
        for _ in 0..<20_000 {
            var atr = t1ATR
            for _ in 0..<3 { atr[Int.random(in: 1..<atr.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            atr.removeLast(Int.random(in: 0...(atr.count - 2), using: &rng))
            _ = try? ATRTransmissionParameters(atr: atr)
            _ = try? PPSMessage(decoding: Array(atr.prefix(6)))
        }
    }
}
