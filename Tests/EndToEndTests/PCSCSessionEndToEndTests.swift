import CardSimulator
import Foundation
import ISO7816
import Testing
import VirtualPCD

@testable import PCSC

/// `PCSCCard.withSession` through the real pcscd and vpcd: exact bytes, the PC/SC transaction it holds, a card
/// pulled out mid-session, a task cancelled mid-session. Enabled by `CARTE_E2E=1` (see `PCSCEndToEndTests`):
///
///     eval "$(scripts/pcscd-vpcd.sh start)"
///     CARTE_E2E=1 swift test --skip-build --filter 'EndToEndTests\.PCSCSessionEndToEndTests/'
///
/// Uses slot 0 ("Virtual PCD 00 00", TCP 35963): nothing else may be attached there during the run.
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["CARTE_E2E"] == "1",
        "end-to-end tests through pcscd + vpcd: set CARTE_E2E=1 with scripts/pcscd-vpcd.sh running"))
struct PCSCSessionEndToEndTests {
    static let reader = PCSCEndToEndTests.reader
    static let port = PCSCEndToEndTests.port

    /// Inserts `card` into slot 0 and waits until pcscd lets a connection through (≤ 5 s).
    static func insert(_ card: TestCard, into client: VPCDSlotClient) async throws -> PCSCCard {
        try client.insert(card)
        for _ in 0..<50 {
            let c = PCSCCard(readerName: reader)
            if let info = try? await c.connect(preferred: [.t1]), info.atr == card.atr { return c }
            await c.disconnect(.leave)
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        Issue.record("the card never showed up in pcscd as \(reader)")
        throw TransportError.noCard
    }

    /// Waits (≤ 3 s) until pcscd no longer shows a card in slot 0 (a card left by a previous test, or just removed).
    static func waitForEmptySlot() async {
        for _ in 0..<30 {
            if let r = try? await pcscReaderSnapshot().first(where: { $0.name == reader }), !r.hasCard { return }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    /// SELECT then three READ BINARY of 200 bytes, with `card` isolated: no hop per APDU.
    static func readWholeFile(_ card: isolated PCSCCard) async throws -> [UInt8] {
        #expect(card.isOnConnectionThread)
        #expect(try await card.transmit(TestCard.select) == [0x90, 0x00])
        var out: [UInt8] = []
        for offset in stride(from: 0, to: 600, by: 200) {
            let r = try await card.transmit(TestCard.readBinary(offset: offset, length: 200))
            #expect(Array(r.suffix(2)) == [0x90, 0x00])
            out += r.dropLast(2)
        }
        return out
    }

    @Test func sessionReadsTheExactBytesAndHoldsTheTransaction() async throws {
        await Self.waitForEmptySlot()
        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let testCard = TestCard()
        let card = try await Self.insert(testCard, into: client)
        let other = PCSCCard(readerName: Self.reader)
        _ = try await other.connect(preferred: [.t1])
        let order = PCSCEndToEndTests.OrderLog()

        let file = try await card.withSession { c in
            // Another connection asking for a transaction waits until the session ends.
            let waiter = Task {
                try await other.beginTransaction()
                order.add("other-began")
                await other.endTransaction()
            }
            let bytes = try await Self.readWholeFile(c)
            try await Task.sleep(nanoseconds: 200_000_000)
            order.add("session-ending")
            return (bytes, waiter)
        }
        try await file.1.value
        #expect(file.0 == TestCard.file)
        #expect(order.entries == ["session-ending", "other-began"])

        // The pipeline inside a session: APDUChannel's code runs on the card's thread too.
        let channel = try await APDUChannel.connect(card, preferred: [.t1])
        let viaPipeline = try await card.withSession { c in
            let sel = try await channel.send(CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [0x2F, 0x01]))
            #expect(sel.statusWord == .success)
            #expect(c.isOnConnectionThread)
            return try await channel.readBinary(offset: 0, length: 600)
        }
        #expect(viaPipeline == TestCard.file)
        await card.disconnect(.leave)
        await other.disconnect(.leave)
        client.remove()
        await Self.waitForEmptySlot()
    }

    /// The card is pulled out during the second READ BINARY of a session: `cardRemoved`, the transaction is gone
    /// with the handle, and after the next insertion a new session on the same `PCSCCard` reads the file.
    @Test func cardRemovedMidSessionThenNextSessionWorks() async throws {
        await Self.waitForEmptySlot()
        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let yanked = TestCard()
        yanked.onRead = { n in if n == 2 { client.remove() } }
        let card = try await Self.insert(yanked, into: client)
        let reads = PCSCEndToEndTests.OrderLog()
        await #expect(throws: TransportError.cardRemoved) {
            try await card.withSession { c in
                #expect(try await c.transmit(TestCard.select) == [0x90, 0x00])
                for offset in stride(from: 0, to: 600, by: 200) {
                    _ = try await c.transmit(TestCard.readBinary(offset: offset, length: 200))
                    reads.add("read \(offset)")
                }
            }
        }
        #expect(reads.entries == ["read 0"])
        // The handle was dropped: the next call says so instead of talking to a card that is gone.
        await #expect(throws: TransportError.failed("not connected to \(Self.reader)")) {
            _ = try await card.transmit(TestCard.select)
        }
        await Self.waitForEmptySlot()

        try client.insert(TestCard())
        var connected = false
        for _ in 0..<50 where !connected {
            if (try? await card.connect(preferred: [.t1])) != nil { connected = true } else {
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        #expect(connected)
        #expect(try await card.withSession { c in try await Self.readWholeFile(c) } == TestCard.file)
        await card.disconnect(.leave)
        client.remove()
        await Self.waitForEmptySlot()
    }

    /// The task is cancelled while the card answers the second READ BINARY: that exchange completes, the next
    /// `transmit` throws `cancelled` before anything is sent (the card saw exactly 2 reads), and the transaction
    /// has ended (another connection begins one at once).
    @Test func cancelledMidSessionStopsBeforeTheNextAPDUAndEndsTheTransaction() async throws {
        await Self.waitForEmptySlot()
        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let testCard = TestCard()
        let card = try await Self.insert(testCard, into: client)
        let box = TaskBox()
        let seen = PCSCEndToEndTests.OrderLog()
        testCard.onRead = { n in
            seen.add("card read \(n)")
            if n == 2 { box.cancel() }
        }
        let task = Task {
            try await card.withSession { c in
                #expect(try await c.transmit(TestCard.select) == [0x90, 0x00])
                for offset in stride(from: 0, to: 600, by: 200) {
                    _ = try await c.transmit(TestCard.readBinary(offset: offset, length: 200))
                }
            }
        }
        box.set(task)
        await #expect(throws: TransportError.cancelled) { try await task.value }
        #expect(seen.entries == ["card read 1", "card read 2"])

        let other = PCSCCard(readerName: Self.reader, sharingRetries: 0)
        _ = try await other.connect(preferred: [.t1])
        try await other.beginTransaction()
        await other.endTransaction()
        // The connection is still good after the cancelled session.
        #expect(try await card.transmit(TestCard.select) == [0x90, 0x00])
        await other.disconnect(.leave)
        await card.disconnect(.leave)
        client.remove()
        await Self.waitForEmptySlot()
    }

    /// Holds a task so a card callback (on the vpcd slot thread) can cancel it.
    final class TaskBox: @unchecked Sendable {
        private let lock = NSLock()
        private var task: Task<Void, any Error>? = nil
        private var cancelRequested = false
        func set(_ t: Task<Void, any Error>) {
            let cancelNow = lock.withLock { () -> Bool in
                task = t
                return cancelRequested
            }
            if cancelNow { t.cancel() }
        }
        func cancel() {
            let t = lock.withLock { () -> Task<Void, any Error>? in
                cancelRequested = true
                return task
            }
            t?.cancel()
        }
    }
}
