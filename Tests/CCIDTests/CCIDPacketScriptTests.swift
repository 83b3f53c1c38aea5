import CCID
import Foundation
import ISO7816
import Testing

/// Packet scripts: the exact OUT transfers the driver must send and the IN packets the device answers, in hex
/// (USB CCID rev 1.10 §6; `../shared/specs/pcsc-ccid-vpcd-contactless.md` §3.4).
@Suite("CCID packet scripts")
struct CCIDPacketScriptTests {
    static let powerOn = "62 00 00 00 00 00 00 00 00 00"
    static let atrBlock = "80 04 00 00 00 00 00 00 00 00 3B 02 14 50"
    static let readBinary = "6F 05 00 00 00 00 01 00 00 00 00 B0 00 00 10"
    static let data16 = "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"

    func leo(_ port: ScriptedPort, timeouts: CCIDTimeouts = CCIDTimeouts()) -> CCIDSlotTransport {
        CCIDSlotTransport(port: port, descriptor: CCIDReaderProfile.ingenicoLeo.descriptor, readerName: "Leo",
                          timeouts: timeouts, clock: port.clock)
    }

    @Test("power on, then a READ BINARY whose answer spans two 16-byte packets")
    func multiPacket() async throws {
        let clock = CCIDManualClock()
        let port = ScriptedPort(maxPacketSize: 16, clock: clock, steps: [
            (Self.powerOn, [Self.atrBlock]),
            (Self.readBinary, ["80 12 00 00 00 00 01 00 00 00 00 01 02 03 04 05", "06 07 08 09 0A 0B 0C 0D 0E 0F 90 00"]),
        ])
        let t = leo(port)
        let info = try await t.connect(preferred: [.t0, .t1])
        #expect(info == CardConnectionInfo(atr: hex("3B 02 14 50"), activeProtocol: .t0))
        #expect(try await t.transmit(hex("00 B0 00 00 10")) == hex(Self.data16 + " 90 00"))
        #expect(await port.mismatches == [])
        #expect(await port.remainingSteps == 0)
        #expect(await t.capabilities.hasPinpad)
    }

    @Test("time-extension frames extend the wait; the answer after them is used")
    func timeExtension() async throws {
        let clock = CCIDManualClock()
        let port = ScriptedPort(clock: clock, steps: [
            (Self.powerOn, [Self.atrBlock]),
            (Self.readBinary, ["80 00 00 00 00 00 01 80 02 00", "80 00 00 00 00 00 01 80 02 00",
                               "80 02 00 00 00 00 01 00 00 00 90 00"]),
        ])
        let t = leo(port)
        _ = try await t.connect(preferred: [.t0])
        #expect(try await t.transmit(hex("00 B0 00 00 10")) == hex("90 00"))
        #expect(clock.nowMs() == 0)
        #expect(await port.mismatches == [])
    }

    @Test("after a time extension ×3 the wait is 15 s, but never beyond the 10 s cap")
    func timeExtensionCap() async throws {
        let clock = CCIDManualClock()
        let port = ScriptedPort(clock: clock, steps: [
            (Self.powerOn, [Self.atrBlock]),
            (Self.readBinary, ["80 00 00 00 00 00 01 80 03 00"]),
        ])
        let t = leo(port, timeouts: CCIDTimeouts(responseMs: 5_000, capMs: 10_000))
        _ = try await t.connect(preferred: [.t0])
        await #expect(throws: TransportError.timeout) { try await t.transmit(hex("00 B0 00 00 10")) }
        #expect(clock.nowMs() == 10_000)
    }

    @Test("a device that never answers: a timeout after the response wait, on the injected clock")
    func neverAnswers() async throws {
        let clock = CCIDManualClock()
        let port = ScriptedPort(clock: clock, steps: [(Self.powerOn, [Self.atrBlock]), (Self.readBinary, [])])
        let t = leo(port)
        _ = try await t.connect(preferred: [.t0])
        await #expect(throws: TransportError.timeout) { try await t.transmit(hex("00 B0 00 00 10")) }
        #expect(clock.nowMs() == 5_000)
    }

    @Test("a stale frame (previous bSeq) is skipped")
    func staleFrame() async throws {
        let clock = CCIDManualClock()
        let port = ScriptedPort(clock: clock, steps: [
            (Self.powerOn, [Self.atrBlock]),
            (Self.readBinary, ["80 02 00 00 00 00 00 00 00 00 6A 82", "80 02 00 00 00 00 01 00 00 00 90 00"]),
        ])
        let t = leo(port)
        _ = try await t.connect(preferred: [.t0])
        #expect(try await t.transmit(hex("00 B0 00 00 10")) == hex("90 00"))
    }

    @Test("only wrong bSeq values: skipped boundedly, then an error")
    func sequenceMismatch() async throws {
        let clock = CCIDManualClock()
        let wrong = "80 02 00 00 00 00 09 00 00 00 90 00"
        let port = ScriptedPort(clock: clock, steps: [
            (Self.powerOn, [Self.atrBlock]),
            (Self.readBinary, Array(repeating: wrong, count: 10)),
        ])
        let t = leo(port)
        _ = try await t.connect(preferred: [.t0])
        await #expect(throws: TransportError.failed(
            "the reader answered out of sequence (expected bSeq 1, skipped 5 stale frames)"))
        {
            try await t.transmit(hex("00 B0 00 00 10"))
        }
    }

    @Test("bError values become typed transport errors", arguments: [
        ("80 00 00 00 00 00 00 42 FE 00", TransportError.noCard),
        ("80 00 00 00 00 00 00 41 FE 00", TransportError.cardMute),
        ("80 00 00 00 00 00 00 40 E0 00", TransportError.busy),
        ("80 00 00 00 00 00 00 40 FB 00", TransportError.failed("reader hardware error")),
    ])
    func powerOnErrors(_ answer: String, _ expected: TransportError) async throws {
        let clock = CCIDManualClock()
        let port = ScriptedPort(clock: clock, steps: [(Self.powerOn, [answer])])
        let t = leo(port)
        await #expect(throws: expected) { try await t.connect(preferred: [.t0, .t1]) }
    }

    @Test("an XfrBlock rejected with bError E0 (slot busy) is .busy")
    func xfrBusy() async throws {
        let port = ScriptedPort(clock: CCIDManualClock(), steps: [
            (Self.powerOn, [Self.atrBlock]), (Self.readBinary, ["80 00 00 00 00 00 01 40 E0 00"]),
        ])
        let t = leo(port)
        _ = try await t.connect(preferred: [.t0])
        await #expect(throws: TransportError.busy) { try await t.transmit(hex("00 B0 00 00 10")) }
    }

    @Test("an OUT transfer that is a multiple of wMaxPacketSize is followed by a zero-length packet")
    func zeroLengthPacket() async throws {
        let port = ScriptedPort(maxPacketSize: 16, clock: CCIDManualClock(), steps: [
            (Self.powerOn, [Self.atrBlock]),
            ("6F 06 00 00 00 00 01 00 00 00 00 A4 04 0C 01 3F", []),
            ("", ["80 02 00 00 00 00 01 00 00 00 6A 82"]),
        ])
        let t = leo(port)
        _ = try await t.connect(preferred: [.t0])
        #expect(try await t.transmit(hex("00 A4 04 0C 01 3F")) == hex("6A 82"))
        #expect(await port.sent.last == [])
        #expect(await port.mismatches == [])
    }

    @Test("TPDU-level T=1 reader (GemPC Twin): power on, PPS FF 11 96 78, SetParameters, S(IFS), I-block")
    func tpduT1Connect() async throws {
        let atr = t1ATR.hexString(separator: " ")
        let port = ScriptedPort(clock: CCIDManualClock(), steps: [
            (Self.powerOn, ["80 0F 00 00 00 00 00 00 00 00 " + atr]),
            ("6F 04 00 00 00 00 01 00 04 00 FF 11 96 78", ["80 04 00 00 00 00 01 00 00 00 FF 11 96 78"]),
            ("61 07 00 00 00 00 02 01 00 00 96 10 00 45 00 FE 00",
             ["82 07 00 00 00 00 02 00 00 01 96 10 00 45 00 FE 00"]),
            ("6F 05 00 00 00 00 03 00 00 00 00 C1 01 FE 3E", ["80 05 00 00 00 00 03 00 00 00 00 E1 01 FE 1E"]),
            ("6F 09 00 00 00 00 04 00 00 00 00 00 05 00 B0 00 00 10 A5",
             ["80 06 00 00 00 00 04 00 00 00 00 00 02 90 00 92"]),
            ("6F 09 00 00 00 00 05 00 00 00 00 40 05 00 B0 00 00 10 E5",
             ["80 05 00 00 00 00 05 00 00 00 00 C3 01 02 C0"]),
            ("6F 05 00 00 00 00 06 02 00 00 00 E3 01 02 E0", ["80 06 00 00 00 00 06 00 00 00 00 40 02 90 00 D2"]),
        ])
        let t = CCIDSlotTransport(port: port, descriptor: CCIDReaderProfile.gemPCTwin.descriptor,
                                  readerName: "GemPC Twin", clock: port.clock)
        let info = try await t.connect(preferred: [.t1])
        #expect(info.activeProtocol == .t1)
        #expect(try await t.transmit(hex("00 B0 00 00 10")) == hex("90 00"))
        // The second command: the card asks for WTX ×2; the S(WTX response) goes out with bBWI = 2.
        #expect(try await t.transmit(hex("00 B0 00 00 10")) == hex("90 00"))
        #expect(await port.mismatches == [])
        #expect(await port.remainingSteps == 0)
        #expect(await t.capabilities.supportsExtendedLength)
    }

    @Test("no automatic voltage (GemPC Twin): auto fails as mute, power off, then 5 V answers")
    func voltageFallback() async throws {
        let port = ScriptedPort(clock: CCIDManualClock(), steps: [
            (Self.powerOn, ["80 00 00 00 00 00 00 41 FE 00"]),
            ("63 00 00 00 00 00 01 00 00 00", ["81 00 00 00 00 00 01 01 00 00"]),
            ("62 00 00 00 00 00 02 01 00 00", ["80 04 00 00 00 00 02 00 00 00 3B 02 14 50"]),
            ("61 05 00 00 00 00 03 00 00 00 11 00 00 0A 00", ["82 05 00 00 00 00 03 00 00 00 11 00 00 0A 00"]),
        ])
        let t = CCIDSlotTransport(port: port, descriptor: CCIDReaderProfile.gemPCTwin.descriptor,
                                  readerName: "GemPC Twin", clock: port.clock)
        #expect(try await t.connect(preferred: [.t0]).atr == hex("3B 02 14 50"))
        #expect(await port.mismatches == [])
        #expect(await port.remainingSteps == 0)
    }

    @Test("no voltage answers: auto, 5 V, 3 V, 1.8 V tried in turn, then 'the card does not answer'")
    func voltageExhausted() async throws {
        let mute = "80 00 00 00 00 00 %@ 41 FE 00"
        func frame(_ f: String, _ seq: Int) -> String { f.replacingOccurrences(of: "%@", with: String(format: "%02X", seq)) }
        let off = "63 00 00 00 00 00 %@ 00 00 00"
        let offAnswer = "81 00 00 00 00 00 %@ 01 00 00"
        let port = ScriptedPort(clock: CCIDManualClock(), steps: [
            (Self.powerOn, [frame(mute, 0)]),
            (frame(off, 1), [frame(offAnswer, 1)]), ("62 00 00 00 00 00 02 01 00 00", [frame(mute, 2)]),
            (frame(off, 3), [frame(offAnswer, 3)]), ("62 00 00 00 00 00 04 02 00 00", [frame(mute, 4)]),
            (frame(off, 5), [frame(offAnswer, 5)]), ("62 00 00 00 00 00 06 03 00 00", [frame(mute, 6)]),
        ])
        let t = CCIDSlotTransport(port: port, descriptor: CCIDReaderProfile.gemPCTwin.descriptor,
                                  readerName: "GemPC Twin", clock: port.clock)
        await #expect(throws: TransportError.cardMute) { try await t.connect(preferred: [.t0, .t1]) }
        #expect(await port.mismatches == [])
        #expect(await port.remainingSteps == 0)
    }

    @Test("the noSecureCommand quirk hides the pinpad")
    func quirk() async throws {
        let port = ScriptedPort(clock: CCIDManualClock(), steps: [])
        let t = CCIDSlotTransport(port: port, descriptor: CCIDReaderProfile.ingenicoLeo.descriptor, readerName: "Leo",
                                  quirks: [.noSecureCommand], clock: port.clock)
        #expect(await t.capabilities.hasPinpad == false)
        #expect(try await t.control(code: CCIDSlotTransport.ControlCode.getFeatureRequest, data: []) == [])
    }

    @Test("a T=0 card on a T=1-only request is a protocol mismatch")
    func protocolMismatch() async throws {
        let port = ScriptedPort(clock: CCIDManualClock(), steps: [(Self.powerOn, [Self.atrBlock])])
        let t = leo(port)
        await #expect(throws: TransportError.protocolMismatch(requested: [.t1], available: [.t0])) {
            try await t.connect(preferred: [.t1])
        }
    }
}

/// A device answering every command with random frames: mostly well-formed headers with random bSeq, bStatus,
/// bError, dwLength (some lying), cut into random packets; sometimes silence.
actor FuzzPort: CCIDTransferPort {
    nonisolated let maxPacketSize = 64
    nonisolated let clock = CCIDManualClock()
    private var rng: SplitMix64
    private var queued: [[UInt8]] = []
    private var lastSeq: UInt8 = 0

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    private func enqueue(_ frame: [UInt8]) {
        var i = 0
        while i < frame.count {
            let n = Int.random(in: 1...64, using: &rng)
            queued.append(Array(frame[i..<min(frame.count, i + n)]))
            i += n
        }
    }

    private func junk() -> [UInt8] {
        let len = Int.random(in: 0...40, using: &rng)
        let declared = Int.random(in: 0..<8, using: &rng) == 0 ? Int.random(in: 0...70_000, using: &rng) : len
        let seq = Bool.random(using: &rng) ? lastSeq : UInt8.random(in: 0...255, using: &rng)
        let status: UInt8 = [0x00, 0x01, 0x02, 0x40, 0x41, 0x42, 0x80, 0xC0][Int.random(in: 0..<8, using: &rng)]
        let type: UInt8 = [0x80, 0x81, 0x82, 0x83, 0x50, 0x00][Int.random(in: 0..<6, using: &rng)]
        let frame: [UInt8] = [type, UInt8(declared & 0xFF), UInt8((declared >> 8) & 0xFF), UInt8(declared >> 16), 0,
                              0, seq, status, UInt8.random(in: 0...255, using: &rng), 0]
        return frame + (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// A well-formed answer to `command` with plausible content (an ATR, echoed parameters, a random or T=1 block).
    private func plausible(_ command: [UInt8]) -> [UInt8] {
        let type: UInt8
        var data: [UInt8] = []
        switch command[0] {
        case 0x62:
            type = 0x80
            data = Bool.random(using: &rng) ? t1ATR : t0ATR
        case 0x61, 0x6C: type = 0x82; data = Array(command[10...])
        case 0x6F, 0x69:
            type = 0x80
            if Bool.random(using: &rng) {
                let kinds: [T1BlockKind] = [.information(sendSequence: UInt8.random(in: 0...1, using: &rng), more: Bool.random(using: &rng)),
                                            .receiveReady(expectedSequence: UInt8.random(in: 0...1, using: &rng), error: 0),
                                            .supervisory(.ifs, response: true), .supervisory(.wtx, response: false)]
                data = T1Block(kind: kinds[Int.random(in: 0..<kinds.count, using: &rng)], information: [0xFE]).encoded()
            } else {
                data = (0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
        default: type = 0x81
        }
        let n = data.count
        return [type, UInt8(n & 0xFF), UInt8(n >> 8), 0, 0, command[5], command[6], 0, 0,
                Int.random(in: 0..<6, using: &rng) == 0 ? 0x01 : 0x00] + data
    }

    func bulkOut(_ data: [UInt8], timeoutMs: Int) async throws(CCIDTransferError) {
        guard data.count >= 10 else { return }
        lastSeq = data[6]
        switch Int.random(in: 0..<6, using: &rng) {
        case 0, 1, 2: enqueue(plausible(data))
        case 3:
            for _ in 0..<Int.random(in: 1...3, using: &rng) { enqueue(junk()) }
            enqueue(plausible(data))
        case 4: for _ in 0..<Int.random(in: 1...3, using: &rng) { enqueue(junk()) }
        default: break
        }
    }

    func bulkIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8] {
        guard !queued.isEmpty else {
            clock.advance(timeoutMs)
            throw .timeout
        }
        return queued.removeFirst()
    }

    func interruptIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8] { throw .noInterruptEndpoint }
}

@Suite("CCID driver against a random device")
struct CCIDFuzzTests {
    @Test("1 000 sessions of random answers: every call ends with an answer or a TransportError, within the cap")
    func randomDevice() async {
        var connected = 0
        for seed in 0..<1000 {
            let port = FuzzPort(seed: UInt64(seed))
            let profile = [CCIDReaderProfile.ingenicoLeo, .gemPCTwin, .extendedAPDUReader][seed % 3]
            let t = CCIDSlotTransport(port: port, descriptor: profile.descriptor, readerName: "fuzz",
                                      timeouts: CCIDTimeouts(responseMs: 1_000, capMs: 3_000), clock: port.clock)
            let start = port.clock.nowMs()
            if (try? await t.connect(preferred: [.t0, .t1])) != nil {
                connected += 1
                for _ in 0..<3 { _ = try? await t.transmit(hex("00 B0 00 00 10")) }
            }
            // Each command waits at most capMs; a session is a bounded number of commands.
            #expect(port.clock.nowMs() - start <= 3_000 * 40)
        }
        #expect(connected > 0)
    }
}

@Suite("Slot monitoring without an interrupt endpoint")
struct CCIDPollingTests {
    @Test("GetSlotStatus is polled: present, then absent after a removal; the stream ends when the reader stops answering")
    func polling() async throws {
        let port = ScriptedPort(clock: CCIDManualClock(), steps: [
            ("65 00 00 00 00 00 00 00 00 00", ["81 00 00 00 00 00 00 01 00 00"]),
            ("65 00 00 00 00 00 01 00 00 00", ["81 00 00 00 00 00 01 01 00 00"]),
            ("65 00 00 00 00 00 02 00 00 00", ["81 00 00 00 00 00 02 02 00 00"]),
        ])
        let t = CCIDSlotTransport(port: port, descriptor: CCIDReaderProfile.gemPCTwin.descriptor,
                                  readerName: "GemPC Twin", clock: port.clock)
        var changes: [CCIDSlotChange] = []
        for await change in t.slotChanges(pollIntervalMs: 10) { changes.append(change) }
        #expect(changes == [CCIDSlotChange(slot: 0, cardPresent: true, changed: false),
                            CCIDSlotChange(slot: 0, cardPresent: false, changed: true)])
    }
}
