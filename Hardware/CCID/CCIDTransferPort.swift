import Foundation
import ISO7816

/// The USB transfer boundary of a CCID reader: what the libusb backend and the simulated device both implement.
///
/// One call = one USB transfer. `bulkOut` sends one transfer (the caller adds the zero-length packet when a
/// transfer is an exact multiple of `maxPacketSize`); `bulkIn` returns what one IN transfer of at most `maxLength`
/// bytes brought (it ends at a short packet, so it may hold one packet only).
public protocol CCIDTransferPort: Sendable {
    /// wMaxPacketSize of the bulk-OUT endpoint, bytes (64 for full speed).
    var maxPacketSize: Int { get }
    /// Writes one bulk-OUT transfer (`[]` = a zero-length packet).
    func bulkOut(_ data: [UInt8], timeoutMs: Int) async throws(CCIDTransferError)
    /// Reads one bulk-IN transfer of at most `maxLength` bytes, waiting at most `timeoutMs`.
    /// - Throws: `CCIDTransferError.timeout` when nothing arrived in time.
    func bulkIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8]
    /// Reads one interrupt-IN transfer (NotifySlotChange, 8 bytes at most), waiting at most `timeoutMs`.
    /// - Throws: `CCIDTransferError.noInterruptEndpoint` when the reader has none (poll with GetSlotStatus).
    func interruptIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8]
}

/// Why a USB transfer failed.
public enum CCIDTransferError: Error, Sendable, Hashable, CustomStringConvertible {
    case timeout
    /// The device is gone (unplugged).
    case disconnected
    /// The endpoint stalled.
    case stall
    case noInterruptEndpoint
    /// Access refused by the system (udev rules / permissions).
    case permissionDenied(String)
    /// Another libusb error, with its name.
    case failed(String)

    public var description: String {
        switch self {
        case .timeout: return "USB transfer timed out"
        case .disconnected: return "the USB device is gone"
        case .stall: return "the USB endpoint stalled"
        case .noInterruptEndpoint: return "the reader has no interrupt endpoint"
        case .permissionDenied(let why): return "USB access denied: \(why)"
        case .failed(let why): return "USB transfer failed: \(why)"
        }
    }

    public var transportError: TransportError {
        switch self {
        case .timeout: return .timeout
        case .disconnected: return .readerGone("USB CCID reader")
        case .permissionDenied(let why): return .permissionDenied(why)
        case .noInterruptEndpoint: return .notSupported(description)
        case .stall, .failed: return .failed(description)
        }
    }
}

/// A monotonic millisecond clock, injectable so tests measure waits without sleeping.
public protocol CCIDClock: Sendable {
    /// Milliseconds since an arbitrary origin, never decreasing.
    func nowMs() -> Int
}

/// The system monotonic clock.
public struct CCIDSystemClock: CCIDClock {
    public init() {}
    public func nowMs() -> Int { Int(DispatchTime.now().uptimeNanoseconds / 1_000_000) }
}

/// A clock that moves only when told (the simulated device advances it by the timeout of a read that finds no
/// answer). Thread-safe.
public final class CCIDManualClock: CCIDClock, @unchecked Sendable {
    private let lock = NSLock()
    private var now = 0
    public init() {}
    public func nowMs() -> Int { lock.withLock { now } }
    /// Moves time forward by `ms` milliseconds.
    public func advance(_ ms: Int) { lock.withLock { now += max(0, ms) } }
}

/// Timeouts of the CCID link, milliseconds.
public struct CCIDTimeouts: Sendable, Hashable {
    /// Wait for one answer before any time extension (the CCID driver's default is a few seconds).
    public var responseMs: Int
    /// Hard cap on one command including every time extension: one stuck reader never blocks longer than this.
    public var capMs: Int
    /// Wait for a PIN entry on the pinpad: max(90 s, bTimerOut + 10 s) as the CCID driver does, capped by this.
    public var pinEntryCapMs: Int
    /// Stale frames (other bSeq) skipped before giving up.
    public var maxStaleFrames: Int
    /// Time-extension frames accepted for one command.
    public var maxTimeExtensions: Int

    public init(responseMs: Int = 5_000, capMs: Int = 60_000, pinEntryCapMs: Int = 120_000, maxStaleFrames: Int = 4,
                maxTimeExtensions: Int = 256) {
        self.responseMs = responseMs
        self.capMs = capMs
        self.pinEntryCapMs = pinEntryCapMs
        self.maxStaleFrames = maxStaleFrames
        self.maxTimeExtensions = maxTimeExtensions
    }
}
