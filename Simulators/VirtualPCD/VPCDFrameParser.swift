/// Splits the vpcd byte stream into frames: a 2-byte big-endian length, then that many payload bytes
/// (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §4.1). TCP may split one frame over several reads or
/// coalesce several frames into one read; feed every read to `append(_:)` and take the complete frames.
public struct VPCDFrameParser: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// Bytes received but not yet part of a complete frame.
    public var pendingByteCount: Int { buffer.count - start }

    /// Adds bytes read from the socket and returns every frame now complete, in order. A frame of length 0 is
    /// returned as an empty payload (vpcd never sends one; the bridge ignores it).
    public mutating func append(_ bytes: some Collection<UInt8>) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        while buffer.count - start >= 2 {
            let len = Int(buffer[start]) << 8 | Int(buffer[start + 1])
            guard buffer.count - start - 2 >= len else { break }
            frames.append(Array(buffer[(start + 2)..<(start + 2 + len)]))
            start += 2 + len
        }
        if start > 0 && (start >= 4096 || start == buffer.count) {
            buffer.removeFirst(start)
            start = 0
        }
        return frames
    }

    /// Frames `payload` for sending: 2-byte big-endian length ‖ payload.
    /// - Throws: `VPCDError.frameTooLong` when the payload exceeds 65535 bytes.
    public static func frame(_ payload: [UInt8]) throws(VPCDError) -> [UInt8] {
        guard payload.count <= 0xFFFF else { throw .frameTooLong(payload.count) }
        return [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload
    }
}

/// A message from pcscd's vpcd driver to the card.
public enum VPCDMessage: Sendable, Hashable {
    /// A 1-byte control payload (power off / on, reset, get ATR).
    case control(VPCDControl)
    /// A 1-byte payload that is not a known control code.
    case unknownControl(UInt8)
    /// A C-APDU (payload longer than 1 byte).
    case apdu([UInt8])
    /// An empty payload.
    case empty

    /// Classifies one frame payload.
    public init(payload: [UInt8]) {
        switch payload.count {
        case 0: self = .empty
        case 1: self = VPCDControl(rawValue: payload[0]).map { .control($0) } ?? .unknownControl(payload[0])
        default: self = .apdu(payload)
        }
    }
}

/// What went wrong in the vpcd bridge.
public enum VPCDError: Error, Sendable, Hashable, CustomStringConvertible {
    case frameTooLong(Int)
    case invalidAddress(String)
    case connectFailed(host: String, port: Int, reason: String)
    case atrTooLong(Int)

    public var description: String {
        switch self {
        case .frameTooLong(let n): return "vpcd frame of \(n) bytes is longer than 65535"
        case .invalidAddress(let a): return "invalid vpcd address '\(a)' (expected [HOST:]PORT)"
        case .connectFailed(let h, let p, let r): return "cannot reach vpcd at \(h):\(p): \(r)"
        case .atrTooLong(let n): return "ATR of \(n) bytes is longer than 33"
        }
    }
}
