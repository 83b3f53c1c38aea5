import CPCSCLite
import Foundation
import ISO7816

#if canImport(Glibc)
    import Glibc
#endif

/// A dedicated thread that owns one `SCARDCONTEXT` and runs blocking pcsc-lite calls in order; it is also a Swift
/// executor, so actors (`PCSCCard`) and tasks can run on it.
///
/// pcsc-lite's rule (doc of `SCardEstablishContext`, spec note §3.1): one context per thread. Blocking calls
/// (`SCardTransmit`, `SCardGetStatusChange`) therefore run here, never on Swift's cooperative pool.
///
/// Two kinds of work share one FIFO queue and run one at a time:
/// - closures (`run`, `enqueue(_:)`), awaited through a continuation (the reader monitor and snapshot);
/// - Swift jobs (`SerialExecutor` / `TaskExecutor`): an actor whose `unownedExecutor` is this thread runs its
///   isolated code here, and a task that prefers this executor (`withTaskExecutorPreference`) runs its
///   nonisolated code here too, so a call from such a task into the actor needs no thread switch at all.
final class PCSCThread: SerialExecutor, TaskExecutor, @unchecked Sendable {
    private enum Work {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    private let cond = NSCondition()
    // Guarded by `cond`: a FIFO as an array and a read index (compacted when half consumed).
    private var queue: [Work] = []
    private var head = 0
    private var finished = false
    private var sleeping = false
    private var owner: pthread_t? = nil

    /// The thread's context (0 = none). Touched only on the thread.
    var context: SCARDCONTEXT = 0

    init(name: String) {
        queue.reserveCapacity(16)
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
        if !push(.closure(job)) { job() }  // after shutdown: run inline so the continuation still resumes
    }

    // MARK: SerialExecutor, TaskExecutor

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        if !push(.job(unowned)) {
            // After shutdown (the card is gone, a task still prefers its thread): never drop the task; the global
            // executor runs it (a preference is only a preference).
            globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
        }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
    func asUnownedTaskExecutor() -> UnownedTaskExecutor { UnownedTaskExecutor(ordinary: self) }

    /// Whether the caller runs on this thread.
    var isCurrent: Bool {
        cond.lock()
        defer { cond.unlock() }
        guard let owner else { return false }
        return pthread_equal(owner, pthread_self()) != 0
    }

    func checkIsolated() {
        precondition(isCurrent, "not on the PC/SC thread that owns this context")
    }

    // MARK: Thread

    /// Appends `work`; false once the thread has shut down.
    private func push(_ work: Work) -> Bool {
        cond.lock()
        if finished {
            cond.unlock()
            return false
        }
        queue.append(work)
        let wake = sleeping
        cond.unlock()
        // Only a sleeping thread needs the signal: work enqueued from the thread itself (a task hopping between the
        // card's actor and nonisolated code under the executor preference) costs no system call.
        if wake { cond.signal() }
        return true
    }

    /// Releases the context and ends the thread after the queued work.
    func shutdown() {
        cond.lock()
        queue.append(.closure { [self] in self.releaseContext() })
        finished = true
        let wake = sleeping
        cond.unlock()
        if wake { cond.signal() }
    }

    private func loop() {
        cond.lock()
        owner = pthread_self()
        cond.unlock()
        while true {
            cond.lock()
            while head == queue.count && !finished {
                sleeping = true
                cond.wait()
                sleeping = false
            }
            if head == queue.count && finished {
                queue = []
                head = 0
                cond.unlock()
                return
            }
            let work = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 64 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            cond.unlock()
            switch work {
            case .closure(let body): body()
            case .job(let job):
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
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
