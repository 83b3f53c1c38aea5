// Shared helpers of the libFuzzer targets (compiled into every target by scripts/fuzz.sh).
import Dispatch
import ISO7816

/// The fuzz input as bytes.
@inline(__always)
func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Splits `bytes` into pieces, each prefixed by its length: one byte, or `FF` then two bytes big-endian for 255 and
/// more (a length running past the end takes the rest).
func lengthPrefixedPieces(_ bytes: [UInt8], max: Int = 64) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var i = 0
    while i < bytes.count && out.count < max {
        var n = Int(bytes[i])
        i += 1
        if n == 0xFF {
            n = i + 1 < bytes.count ? Int(bytes[i]) << 8 | Int(bytes[i + 1]) : 0
            i = min(bytes.count, i + 2)
        }
        let end = min(bytes.count, i + n)
        out.append(Array(bytes[i..<end]))
        i = end
    }
    return out
}

/// Stops the fuzzer with a message when an invariant does not hold (libFuzzer reports the crash and its input).
func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant broken: \(message())") }
}

/// Runs async work to completion from the synchronous libFuzzer callback.
func runBlocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        await body()
        done.signal()
    }
    done.wait()
}

/// A card transport whose answers come from the fuzz input, in order; once they run out every transmit throws
/// `.cardRemoved`. The ATR is fixed by the target.
final class FuzzedTransport: CardTransport, @unchecked Sendable {
    let readerName = "fuzz reader"
    let atr: [UInt8]
    let proto: TransmissionProtocol
    let caps: ReaderCapabilities
    private var answers: [[UInt8]]
    private(set) var transmitted = 0
    /// Transmits that arrived after the last answer was used (each one throws `.cardRemoved`).
    private(set) var transmittedAfterEnd = 0

    init(atr: [UInt8], protocol p: TransmissionProtocol, answers: [[UInt8]], capabilities: ReaderCapabilities = .shortAPDU) {
        self.atr = atr
        self.proto = p
        self.answers = answers
        self.caps = capabilities
    }

    var capabilities: ReaderCapabilities { get async { caps } }
    func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        CardConnectionInfo(atr: atr, activeProtocol: proto)
    }
    func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] {
        transmitted += 1
        guard !answers.isEmpty else {
            transmittedAfterEnd += 1
            throw .cardRemoved
        }
        return answers.removeFirst()
    }
    func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] { throw .notSupported("fuzz") }
    func beginTransaction() async throws(TransportError) {}
    func endTransaction() async {}
    func disconnect(_ disposition: CardDisposition) async {}
}
