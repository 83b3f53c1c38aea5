import CCID
import CardSimulator
import ISO7816
import Testing

func hex(_ s: String) -> [UInt8] { [UInt8](hex: s)! }

/// A packet script: each step names the OUT transfer the host must send (hex) and the IN packets the device then
/// queues (hex, one packet each). A read with nothing queued advances the manual clock by its timeout and fails.
actor ScriptedPort: CCIDTransferPort {
    struct Step {
        var out: [UInt8]
        var inPackets: [[UInt8]]
    }
    nonisolated let maxPacketSize: Int
    nonisolated let clock: CCIDManualClock
    private var steps: [Step]
    private var queued: [[UInt8]] = []
    private(set) var sent: [[UInt8]] = []
    private(set) var mismatches: [String] = []

    init(maxPacketSize: Int = 64, clock: CCIDManualClock, steps: [(String, [String])]) {
        self.maxPacketSize = maxPacketSize
        self.clock = clock
        self.steps = steps.map { Step(out: hex($0.0), inPackets: $0.1.map(hex)) }
    }

    var remainingSteps: Int { steps.count }

    func bulkOut(_ data: [UInt8], timeoutMs: Int) async throws(CCIDTransferError) {
        sent.append(data)
        guard !steps.isEmpty else {
            mismatches.append("unexpected OUT \(data.hexString(separator: " "))")
            return
        }
        let step = steps.removeFirst()
        if step.out != data {
            mismatches.append("expected \(step.out.hexString(separator: " ")) got \(data.hexString(separator: " "))")
        }
        queued += step.inPackets
    }

    func bulkIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8] {
        guard !queued.isEmpty else {
            clock.advance(timeoutMs)
            throw .timeout
        }
        return queued.removeFirst()
    }

    func interruptIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8] {
        throw .noInterruptEndpoint
    }
}

/// A small card operating system for end-to-end tests: one application (AID A0 00 00 00 01 02 03) holding one
/// transparent EF of 300 bytes, SELECT (by AID, answers an FCI), READ BINARY (short and extended Le), UPDATE BINARY,
/// VERIFY (ASCII PIN "1234" padded with FF to 8 bytes, 3 tries).
final class FileTestCard: VirtualCard {
    let atr: [UInt8]
    static let aid: [UInt8] = [0xA0, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03]
    static let fci: [UInt8] = [0x6F, 0x09, 0x84, 0x07] + aid
    var content: [UInt8] = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    var selected = false
    var tries = 3
    var pin: [UInt8] = Array("1234".utf8) + [UInt8](repeating: 0xFF, count: 4)

    init(atr: [UInt8]) { self.atr = atr }
    func powerOn() { selected = false }
    func powerOff() { selected = false }
    func reset() { selected = false }

    func process(_ bytes: [UInt8]) -> [UInt8] {
        guard let c = try? CommandAPDU(decoding: bytes) else { return [0x67, 0x00] }
        switch c.ins {
        case 0xA4:
            guard c.p1 == 0x04, c.data == Self.aid else { return [0x6A, 0x82] }
            selected = true
            return c.p2 & 0x0C == 0x0C ? [0x90, 0x00] : Self.fci + [0x90, 0x00]
        case 0xB0:
            guard selected else { return [0x69, 0x86] }
            let offset = Int(c.p1) << 8 | Int(c.p2)
            guard offset <= content.count else { return [0x6B, 0x00] }
            let n = min(c.ne ?? 0, content.count - offset)
            let out = Array(content[offset..<(offset + n)])
            return out + (n < (c.ne ?? 0) ? [0x62, 0x82] : [0x90, 0x00])
        case 0xD6:
            guard selected else { return [0x69, 0x86] }
            let offset = Int(c.p1) << 8 | Int(c.p2)
            guard offset + c.data.count <= content.count else { return [0x6A, 0x84] }
            content.replaceSubrange(offset..<(offset + c.data.count), with: c.data)
            return [0x90, 0x00]
        case 0x20:
            guard tries > 0 else { return [0x69, 0x83] }
            if c.data == pin {
                tries = 3
                return [0x90, 0x00]
            }
            tries -= 1
            return [0x63, 0xC0 | UInt8(tries)]
        case 0x24:  // CHANGE REFERENCE DATA: old PIN block ‖ new PIN block
            guard tries > 0 else { return [0x69, 0x83] }
            guard c.data.count == 16 else { return [0x67, 0x00] }
            guard Array(c.data[..<8]) == pin else {
                tries -= 1
                return [0x63, 0xC0 | UInt8(tries)]
            }
            pin = Array(c.data[8...])
            return [0x90, 0x00]
        default:
            return [0x6D, 0x00]
        }
    }
}

/// T=1 ATR: TA1 = 96, TD1 = 81, TD2 = 31 → TA3 = FE (IFSC 254), TB3 = 45; 5 historical bytes; TCK.
let t1ATR: [UInt8] = {
    let body = hex("3B F5 96 00 00 81 31 FE 45 43 41 52 54 45")
    return body + [body.dropFirst().reduce(0, ^)]
}()
/// T=1 ATR with a small IFSC (TA3 = 20, 32 bytes), no TA1, to force chaining.
let t1SmallIFSCATR: [UInt8] = {
    let body = hex("3B 85 81 31 20 45 43 41 52 54 45")
    return body + [body.dropFirst().reduce(0, ^)]
}()
/// T=1 ATR with CRC: TD2 = 71 → TA3 = 20, TB3 = 45, TC3 = 01.
let t1CRCATR: [UInt8] = {
    let body = hex("3B 85 81 71 20 45 01 43 41 52 54 45")
    return body + [body.dropFirst().reduce(0, ^)]
}()
/// T=0-only ATR, no interface bytes after T0, 2 historical bytes.
let t0ATR: [UInt8] = hex("3B 02 14 50")
