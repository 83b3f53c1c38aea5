import CPCSCLite
import Foundation
import ISO7816

/// A dedicated thread that owns one `SCARDCONTEXT` and runs blocking pcsc-lite calls in order.
///
/// pcsc-lite's rule (doc of `SCardEstablishContext`, spec note §3.1): one context per thread. Blocking calls
/// (`SCardTransmit`, `SCardGetStatusChange`) therefore run here, never on Swift's cooperative pool; callers
/// await the result through a continuation.
final class PCSCThread: @unchecked Sendable {
    private let cond = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var finished = false

    /// The thread's context (0 = none). Touched only on the thread.
    var context: SCARDCONTEXT = 0

    init(name: String) {
        let t = Thread { [self] in self.loop() }
        t.name = name
        t.start()
    }

    /// Runs `body` on the thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            enqueue { c.resume(returning: body()) }
        }
    }

    func enqueue(_ job: @escaping @Sendable () -> Void) {
        cond.lock()
        if finished {
            cond.unlock()
            job()  // after shutdown: run inline so the continuation still resumes
            return
        }
        jobs.append(job)
        cond.signal()
        cond.unlock()
    }

    /// Releases the context and ends the thread after the queued jobs.
    func shutdown() {
        cond.lock()
        jobs.append { [self] in self.releaseContext() }
        finished = true
        cond.signal()
        cond.unlock()
    }

    private func loop() {
        while true {
            cond.lock()
            while jobs.isEmpty && !finished { cond.wait() }
            if jobs.isEmpty && finished {
                cond.unlock()
                return
            }
            let job = jobs.removeFirst()
            cond.unlock()
            job()
        }
    }

    /// Establishes the context if there is none (or it became invalid, e.g. after a pcscd restart).
    /// - Returns: the pcsc-lite return code.
    func ensureContext() -> Int {
        if context != 0 {
            if SCardIsValidContext(context) == SCARD_S_SUCCESS { return Int(SCARD_S_SUCCESS) }
            releaseContext()
        }
        var ctx: SCARDCONTEXT = 0
        let rv = SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &ctx)
        if rv == SCARD_S_SUCCESS { context = ctx }
        return Int(rv)
    }

    func releaseContext() {
        if context != 0 { _ = SCardReleaseContext(context) }
        context = 0
    }
}

/// Lists reader names with `SCardListReaders` (multi-string). `SCARD_E_NO_READERS_AVAILABLE` is an empty list.
/// - Returns: the names, or the pcsc-lite return code on failure.
func pcscListReaders(_ ctx: SCARDCONTEXT) -> Result<[String], PCSCCallError> {
    var len: DWORD = 0
    var rv = SCardListReaders(ctx, nil, nil, &len)
    if rv == SCARD_E_NO_READERS_AVAILABLE { return .success([]) }
    guard rv == SCARD_S_SUCCESS else { return .failure(PCSCCallError(rv: Int(rv))) }
    var buf = [CChar](repeating: 0, count: Int(len) + 1)
    rv = SCardListReaders(ctx, nil, &buf, &len)
    if rv == SCARD_E_NO_READERS_AVAILABLE { return .success([]) }
    guard rv == SCARD_S_SUCCESS else { return .failure(PCSCCallError(rv: Int(rv))) }
    return .success(splitMultiString(buf.prefix(Int(len)).map { UInt8(bitPattern: $0) }))
}

/// Splits a PC/SC multi-string (`name\0name\0\0`) into names.
func splitMultiString(_ bytes: [UInt8]) -> [String] {
    bytes.split(separator: 0, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
}

/// A raw pcsc-lite return code that crossed a thread boundary.
struct PCSCCallError: Error, Sendable {
    var rv: Int
}
