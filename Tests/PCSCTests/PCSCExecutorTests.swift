import Foundation
import ISO7816
import Testing
@testable import PCSC

/// The connection thread as a Swift executor, and `PCSCCard.withSession` without a card (no pcscd needed: nothing
/// here reaches pcsc-lite, an unconnected card answers before any call). The same API through pcscd + vpcd with a
/// card (exact bytes, removal mid-session, cancellation mid-session) is in `PCSCSessionEndToEndTests`.
@Suite struct PCSCExecutorTests {
    /// An actor whose executor is a `PCSCThread`.
    actor OnThread {
        let thread: PCSCThread
        var log: [Int] = []
        init(_ t: PCSCThread) { thread = t }
        nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }
        func record(_ i: Int) -> Bool {
            log.append(i)
            return thread.isCurrent
        }
    }

    /// Nonisolated async code: runs on the generic executor, or on the task's preferred executor.
    static func probe(_ thread: PCSCThread) async -> Bool { thread.isCurrent }
    static func probe(_ card: PCSCCard) async -> Bool { card.isOnConnectionThread }

    @Test func actorIsolatedCodeRunsOnTheThread() async {
        let thread = PCSCThread(name: "carte.test.executor")
        defer { thread.shutdown() }
        let a = OnThread(thread)
        #expect(!thread.isCurrent)
        #expect(await a.record(1))
        #expect(await a.record(2))
        #expect(await a.log == [1, 2])
        #expect(!thread.isCurrent)
    }

    /// Closures and Swift jobs share one FIFO: 200 closures enqueued in order run in that order, and a job
    /// enqueued after them runs after them.
    @Test func closuresAndJobsRunInOrder() async {
        let thread = PCSCThread(name: "carte.test.order")
        defer { thread.shutdown() }
        final class Box: @unchecked Sendable { var seen: [Int] = [] }  // touched only on the thread
        let box = Box()
        for i in 0..<200 { thread.enqueue { box.seen.append(i) } }
        let a = OnThread(thread)
        _ = await a.record(0)
        let seen = await thread.run { box.seen }
        #expect(seen == Array(0..<200))
    }

    /// A task that prefers the thread runs its nonisolated code there, and calls into the actor without leaving it.
    @Test func taskExecutorPreferenceRunsNonisolatedCodeOnTheThread() async {
        let thread = PCSCThread(name: "carte.test.preference")
        defer { thread.shutdown() }
        let a = OnThread(thread)
        let (before, inside, after) = await withTaskExecutorPreference(thread) {
            let before = await Self.probe(thread)
            let inside = await a.record(7)
            let after = await Self.probe(thread)
            return (before, inside, after)
        }
        #expect(before && inside && after)
    }

    /// After shutdown (its card gone), a task that still prefers the thread runs on the global executor instead of
    /// being dropped, and closures run at once.
    @Test func workAfterShutdownStillRuns() async {
        let thread = PCSCThread(name: "carte.test.shutdown")
        thread.shutdown()
        let onThread = await withTaskExecutorPreference(thread) { await Self.probe(thread) }
        #expect(!onThread)
        #expect(await thread.run { 42 } == 42)
    }

    @Test func sessionBodyRunsOnTheConnectionThread() async throws {
        let card = PCSCCard(readerName: "Carte test reader 00")
        #expect(!card.isOnConnectionThread)
        let (isolated, nonisolatedToo) = try await card.withSession(transaction: false) { c in
            (c.isOnConnectionThread, await Self.probe(c))
        }
        #expect(isolated)
        #expect(nonisolatedToo)
        #expect(!card.isOnConnectionThread)
    }

    @Test func sessionReturnsTheBodysValueAndRethrowsItsError() async throws {
        let card = PCSCCard(readerName: "Carte test reader 00")
        #expect(try await card.withSession(transaction: false) { _ in [0x90, 0x00] as [UInt8] } == [0x90, 0x00])
        struct Stop: Error, Equatable { var code: Int }
        await #expect(throws: Stop(code: 3)) {
            try await card.withSession(transaction: false) { _ -> Int in throw Stop(code: 3) }
        }
    }

    /// A transaction needs a connection: `failed`, and the body never runs.
    @Test func sessionWithTransactionNeedsAConnection() async {
        let card = PCSCCard(readerName: "Carte test reader 00")
        let ran = Flag()
        await #expect(throws: TransportError.failed("not connected to Carte test reader 00")) {
            try await card.withSession { _ in ran.set() }
        }
        #expect(!ran.value)
        // Without a transaction the body runs; transmit then says the card is not connected.
        await #expect(throws: TransportError.failed("not connected to Carte test reader 00")) {
            try await card.withSession(transaction: false) { c in try await c.transmit([0x00, 0xA4, 0x00, 0x0C]) }
        }
    }

    /// A nested session with a transaction on an unconnected card still asks for it (the outer session holds none).
    @Test func nestedSessionJoinsOrTakesTheTransaction() async throws {
        let card = PCSCCard(readerName: "Carte test reader 00")
        let depth = try await card.withSession(transaction: false) { c in
            try await c.withSession(transaction: false) { c2 in c2.isOnConnectionThread ? 2 : 0 }
        }
        #expect(depth == 2)
        await #expect(throws: TransportError.failed("not connected to Carte test reader 00")) {
            try await card.withSession(transaction: false) { c in try await c.withSession { _ in 1 } }
        }
    }

    /// Two tasks' sessions on one card never interleave, even when a body suspends (here on `Task.sleep`, which
    /// frees the actor): the second waits until the first has ended.
    @Test func sessionsOfTwoTasksDoNotInterleave() async throws {
        let card = PCSCCard(readerName: "Carte test reader 00")
        let log = Log()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in ["a", "b", "c"] {
                group.addTask {
                    try await card.withSession(transaction: false) { _ in
                        log.add("\(name) start")
                        try await Task.sleep(nanoseconds: 20_000_000)
                        log.add("\(name) end")
                    }
                }
            }
            try await group.waitForAll()
        }
        let entries = log.entries
        #expect(entries.count == 6)
        for i in stride(from: 0, to: entries.count, by: 2) {
            let name = entries[i].prefix(1)
            #expect(entries[i] == "\(name) start" && entries[i + 1] == "\(name) end", "interleaved: \(entries)")
        }
        #expect(Set(entries.map { $0.prefix(1) }) == ["a", "b", "c"])
    }

    /// A session opened by a child task of a session's task joins it (no deadlock waiting for itself).
    @Test func childTaskSessionJoinsTheOuterSession() async throws {
        let card = PCSCCard(readerName: "Carte test reader 00")
        let joined = try await card.withSession(transaction: false) { _ in
            async let inner = card.withSession(transaction: false) { c in c.isOnConnectionThread }
            return try await inner
        }
        #expect(joined)
    }

    /// An unstructured task started inside a session inherits its task-local, but once that session has ended and
    /// another task's session is open, its own session waits for that one instead of joining it.
    @Test func taskStartedInASessionDoesNotJoinALaterSession() async throws {
        let card = PCSCCard(readerName: "Carte test reader 00")
        let log = Log()
        let escaped: Task<Void, any Error> = try await card.withSession(transaction: false) { _ in
            Task {
                // Until the outer session has ended and the other task's session has started.
                while !log.entries.contains("other start") { try await Task.sleep(nanoseconds: 1_000_000) }
                try await card.withSession(transaction: false) { _ in log.add("escaped") }
            }
        }
        let other = Task {
            try await card.withSession(transaction: false) { _ in
                log.add("other start")
                try await Task.sleep(nanoseconds: 80_000_000)
                log.add("other end")
            }
        }
        try await escaped.value
        try await other.value
        #expect(log.entries == ["other start", "other end", "escaped"])
    }

    @Test func cancelledTaskDoesNotStartASession() async {
        let card = PCSCCard(readerName: "Carte test reader 00")
        let ran = Flag()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await card.withSession(transaction: false) { _ in ran.set() }
        }
        await #expect(throws: TransportError.cancelled) { try await task.value }
        #expect(!ran.value)
    }

    /// Cancelled mid-session: the next transmit throws `cancelled` before anything is sent (here, before the
    /// "not connected" check that would otherwise answer); outside a session, transmit ignores cancellation.
    @Test func cancellationInsideASessionStopsTheNextTransmit() async {
        let card = PCSCCard(readerName: "Carte test reader 00")
        let task = Task {
            try await card.withSession(transaction: false) { c in
                withUnsafeCurrentTask { $0?.cancel() }
                return try await c.transmit([0x00, 0xA4, 0x00, 0x0C])
            }
        }
        await #expect(throws: TransportError.cancelled) { try await task.value }
        let outside = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await card.transmit([0x00, 0xA4, 0x00, 0x0C])
        }
        await #expect(throws: TransportError.failed("not connected to Carte test reader 00")) {
            try await outside.value
        }
    }

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func add(_ s: String) { lock.withLock { items.append(s) } }
        var entries: [String] { lock.withLock { items } }
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var set_ = false
        func set() { lock.withLock { set_ = true } }
        var value: Bool { lock.withLock { set_ } }
    }
}
