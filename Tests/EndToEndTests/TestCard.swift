import CardSimulator
import Foundation
import ISO7816

/// A tiny card for the bridge tests: answers SELECT by FID `2F 01` and READ BINARY on that file's bytes,
/// everything else `6D 00`. `onRead` sees the number of each READ BINARY (from 1) before it is answered.
final class TestCard: VirtualCard, @unchecked Sendable {
    /// A T=1-only contact ATR: T0 = 8A (TD1 follows, 10 historical bytes "CARTETEST1"), TD1 = 01 (T=1), TCK.
    static let atr: [UInt8] = {
        let body: [UInt8] = [0x8A, 0x01] + Array("CARTETEST1".utf8)
        return [0x3B] + body + [body.reduce(0, ^)]
    }()
    /// A PC/SC part 3 contactless ATR (spec note §7.2, DESFire EV1 form `3B 81 80 01 80 80`).
    static let contactlessATR: [UInt8] = [0x3B, 0x81, 0x80, 0x01, 0x80, 0x80]
    /// SELECT EF `2F 01` by FID (ISO/IEC 7816-4 §11.1.1, P1 = 02).
    static let select: [UInt8] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x2F, 0x01]
    /// 600 bytes: 0x00, 0x01, … 0xFF, 0x00, … (three READ BINARY of 200 bytes each).
    static let file: [UInt8] = (0..<600).map { UInt8($0 & 0xFF) }

    static func readBinary(offset: Int, length: Int) -> [UInt8] {
        [0x00, 0xB0, UInt8(offset >> 8), UInt8(offset & 0xFF), UInt8(length & 0xFF)]
    }

    let atr: [UInt8]
    private let lock = NSLock()
    private var selected = false
    private var reads = 0
    private var powerOns = 0
    var onRead: (@Sendable (Int) -> Void)?

    init(atr: [UInt8] = TestCard.atr) { self.atr = atr }

    var powerOnCount: Int { lock.withLock { powerOns } }

    func powerOn() { lock.withLock { selected = false; powerOns += 1 } }
    func powerOff() { lock.withLock { selected = false } }
    func reset() { lock.withLock { selected = false } }

    func process(_ command: [UInt8]) -> [UInt8] {
        guard command.count >= 4 else { return [0x67, 0x00] }
        switch (command[0], command[1]) {
        case (0x00, 0xA4):
            if command == TestCard.select {
                lock.withLock { selected = true }
                return [0x90, 0x00]
            }
            return [0x6A, 0x82]
        case (0x00, 0xB0):
            guard lock.withLock({ selected }) else { return [0x69, 0x86] }
            guard command.count == 5 else { return [0x67, 0x00] }
            let n = lock.withLock { () -> Int in
                reads += 1
                return reads
            }
            onRead?(n)
            let offset = Int(command[2]) << 8 | Int(command[3])
            let le = command[4] == 0 ? 256 : Int(command[4])
            guard offset < TestCard.file.count else { return [0x6B, 0x00] }
            let chunk = Array(TestCard.file[offset..<min(offset + le, TestCard.file.count)])
            return chunk + (chunk.count < le ? [0x62, 0x82] : [0x90, 0x00])
        default:
            return [0x6D, 0x00]
        }
    }
}
