import Foundation

/// A fake `CardTransport` driven by a script: each step is the exact C-APDU expected and the R-APDU (or transport
/// error) to answer. For tests of anything above the transport ("packet scripts", architecture.md §Tests).
///
/// A command that differs from the next expected one, or arrives after the script ran out, is recorded in
/// `mismatches` and answered with `TransportError.failed("script mismatch …")` naming both byte strings, so the test
/// fails with the difference in its message. Check `isComplete` at the end of a test.
public final class ScriptedTransport: CardTransport, @unchecked Sendable {
    /// One scripted exchange.
    public struct Step: Sendable, Hashable {
        /// The exact C-APDU expected; `nil` accepts any command.
        public var expected: [UInt8]?
        /// The raw R-APDU to answer, or the transport error to throw.
        public var answer: Result<[UInt8], TransportError>

        public init(expected: [UInt8]?, answer: Result<[UInt8], TransportError>) {
            self.expected = expected
            self.answer = answer
        }
    }

    public let readerName: String
    private let lock = NSLock()
    private var steps: [Step] = []
    private var _sent: [[UInt8]] = []
    private var _mismatches: [String] = []
    private var _connections = 0
    private var _capabilities: ReaderCapabilities
    private var connection: CardConnectionInfo

    /// - Parameters:
    ///   - atr: what `connect` reports (default: a T=1 card `3B 80 80 01 01`).
    ///   - activeProtocol: the protocol `connect` reports.
    public init(
        readerName: String = "Scripted reader", atr: [UInt8] = [0x3B, 0x80, 0x80, 0x01, 0x01],
        activeProtocol: TransmissionProtocol = .t1, capabilities: ReaderCapabilities = .shortAPDU
    ) {
        self.readerName = readerName
        self.connection = CardConnectionInfo(atr: atr, activeProtocol: activeProtocol)
        self._capabilities = capabilities
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private static func bytes(_ hex: String) -> [UInt8] {
        guard let b = [UInt8](hex: hex) else { preconditionFailure("ScriptedTransport: not hex: \(hex)") }
        return b
    }

    // MARK: Script

    /// Expects `command` (hex, spaces allowed) and answers `response` (hex: data ‖ SW1 SW2).
    public func expect(_ command: String, answer response: String) {
        expect(ScriptedTransport.bytes(command), answer: ScriptedTransport.bytes(response))
    }

    public func expect(_ command: [UInt8], answer response: [UInt8]) {
        locked { steps.append(Step(expected: command, answer: .success(response))) }
    }

    /// Expects `command` and throws `error` from `transmit`.
    public func expect(_ command: String, throwing error: TransportError) {
        locked { steps.append(Step(expected: ScriptedTransport.bytes(command), answer: .failure(error))) }
    }

    /// Answers the next command, whatever it is, with `response`.
    public func answerAny(_ response: String) {
        locked { steps.append(Step(expected: nil, answer: .success(ScriptedTransport.bytes(response)))) }
    }

    /// Every C-APDU received, in order.
    public var sent: [[UInt8]] { locked { _sent } }
    /// The sent C-APDUs as uppercase hex with spaces.
    public var sentHex: [String] { sent.map { $0.hexString(separator: " ") } }
    /// What went wrong against the script.
    public var mismatches: [String] { locked { _mismatches } }
    /// Steps not yet consumed.
    public var remainingSteps: Int { locked { steps.count } }
    /// True when every step was consumed and nothing mismatched.
    public var isComplete: Bool { locked { steps.isEmpty && _mismatches.isEmpty } }
    /// How many times `connect` was called.
    public var connectionCount: Int { locked { _connections } }

    /// Changes what `connect` reports (e.g. after a simulated card swap).
    public func setConnection(atr: [UInt8], activeProtocol: TransmissionProtocol) {
        locked { connection = CardConnectionInfo(atr: atr, activeProtocol: activeProtocol) }
    }

    public func setCapabilities(_ c: ReaderCapabilities) { locked { _capabilities = c } }

    // MARK: CardTransport

    public var capabilities: ReaderCapabilities { get async { locked { _capabilities } } }

    public func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        let info = locked {
            _connections += 1
            return connection
        }
        guard preferred.contains(info.activeProtocol) else {
            throw .protocolMismatch(requested: preferred, available: [info.activeProtocol])
        }
        return info
    }

    public func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] {
        let result: Result<[UInt8], TransportError> = locked {
            _sent.append(command)
            let n = _sent.count
            guard !steps.isEmpty else {
                let m = "command #\(n) \(command.hexString(separator: " ")) arrived after the script ended"
                _mismatches.append(m)
                return .failure(.failed("script mismatch: \(m)"))
            }
            let step = steps.removeFirst()
            if let e = step.expected, e != command {
                let m = "command #\(n): expected \(e.hexString(separator: " ")), got \(command.hexString(separator: " "))"
                _mismatches.append(m)
                return .failure(.failed("script mismatch: \(m)"))
            }
            return step.answer
        }
        return try result.get()
    }

    public func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] {
        throw .notSupported("control code \(code) on a scripted reader")
    }

    public func beginTransaction() async throws(TransportError) {}
    public func endTransaction() async {}
    public func disconnect(_ disposition: CardDisposition) async {}
}
