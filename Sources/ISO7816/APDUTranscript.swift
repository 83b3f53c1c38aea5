import Foundation

/// One raw APDU as it crossed the transport boundary.
public struct APDUTranscriptEntry: Sendable, Hashable, CustomStringConvertible {
    public enum Direction: String, Sendable, Hashable {
        /// C-APDU, host → card.
        case command
        /// R-APDU, card → host.
        case response
    }
    public var direction: Direction
    /// The raw bytes (C-APDU as encoded, or R-APDU data ‖ SW1 SW2).
    public var bytes: [UInt8]

    public init(direction: Direction, bytes: [UInt8]) {
        self.direction = direction
        self.bytes = bytes
    }

    public var description: String { (direction == .command ? "> " : "< ") + bytes.hexString(separator: " ") }
}

/// Called for each raw C-APDU and R-APDU, in order (the C-APDU first, then its R-APDU).
public typealias APDUTranscriptHook = @Sendable (APDUTranscriptEntry) -> Void

/// A thread-safe transcript recorder: pass `recorder.hook` to `APDUChannel`, then count APDUs and bytes.
/// Never give it to code that handles a PIN if the transcript is logged: it records raw bytes.
public final class APDUTranscript: @unchecked Sendable {
    private let lock = NSLock()
    private var _entries: [APDUTranscriptEntry] = []

    public init() {}

    /// The hook to install on a channel.
    public var hook: APDUTranscriptHook { { [self] entry in self.record(entry) } }

    public func record(_ entry: APDUTranscriptEntry) {
        lock.lock()
        _entries.append(entry)
        lock.unlock()
    }

    /// Every entry so far.
    public var entries: [APDUTranscriptEntry] {
        lock.lock()
        defer { lock.unlock() }
        return _entries
    }

    /// The C-APDUs sent, in order.
    public var commands: [[UInt8]] { entries.filter { $0.direction == .command }.map(\.bytes) }
    /// The R-APDUs received, in order.
    public var responses: [[UInt8]] { entries.filter { $0.direction == .response }.map(\.bytes) }
    /// Number of C-APDUs sent.
    public var commandCount: Int { commands.count }
    /// Bytes sent to the card (all C-APDUs).
    public var bytesSent: Int { commands.reduce(0) { $0 + $1.count } }
    /// Bytes received from the card (all R-APDUs, SW included).
    public var bytesReceived: Int { responses.reduce(0) { $0 + $1.count } }

    public func reset() {
        lock.lock()
        _entries.removeAll()
        lock.unlock()
    }
}
