import CardSimulator
import Foundation
import ISO7816
import PCSC
import Testing
import VirtualPCD

#if canImport(Glibc)
    import Glibc
#endif

/// End-to-end through the real pcscd and vpcd. Enabled by `CARTE_E2E=1`, with a private pcscd + vpcd running
/// and `PCSCLITE_CSOCK_NAME` exported:
///
///     eval "$(scripts/pcscd-vpcd.sh start)"
///     CARTE_E2E=1 swift test --skip-build --filter PCSCEndToEndTests
///
/// Uses slot 0 ("Virtual PCD 00 00", TCP 35963): nothing else may be attached there during the run.
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["CARTE_E2E"] == "1",
        "end-to-end tests through pcscd + vpcd: set CARTE_E2E=1 with scripts/pcscd-vpcd.sh running"))
struct PCSCEndToEndTests {
    static let reader = "Virtual PCD 00 00"
    static let port = 35963

    /// Collects monitor events for assertions with bounded waits.
    actor EventLog {
        var events: [PCSCReaderEvent] = []
        private var task: Task<Void, Never>? = nil

        func start() {
            task = Task { [weak self] in
                for await e in PCSCReaderMonitor(maxBackoffMilliseconds: 500) {
                    await self?.add(e)
                }
            }
        }

        func stop() { task?.cancel() }
        func add(_ e: PCSCReaderEvent) { events.append(e) }
        func mark() -> Int { events.count }

        /// Waits until an event after index `from` satisfies `match`; returns it, or nil after `seconds`.
        func waitFor(after from: Int = 0, seconds: Double, _ match: @Sendable (PCSCReaderEvent) -> Bool) async
            -> PCSCReaderEvent?
        {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if let e = events.dropFirst(from).first(where: match) { return e }
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
            return events.dropFirst(from).first(where: match)
        }
    }

    /// Starts a monitor and waits (≤ 3 s) until slot 0 is empty: a card left by a previous test or run is seen
    /// gone only at pcscd's next presence poll.
    static func monitorWithEmptySlot() async -> (EventLog, [PCSCReaderSnapshot])? {
        let log = EventLog()
        await log.start()
        let snap = await log.waitFor(seconds: 5) { if case .snapshot = $0 { return true } else { return false } }
        guard case .snapshot(let readers) = snap else {
            Issue.record("no snapshot from the monitor: is pcscd running with PCSCLITE_CSOCK_NAME exported?")
            await log.stop()
            return nil
        }
        if readers.first(where: { $0.name == reader })?.hasCard == true {
            _ = await log.waitFor(seconds: 3, isRemoved)
        }
        return (log, readers)
    }

    static func isInserted(_ e: PCSCReaderEvent) -> Bool {
        if case .cardInserted(reader, _) = e { return true }
        return false
    }

    static func isRemoved(_ e: PCSCReaderEvent) -> Bool {
        if case .cardRemoved(reader) = e { return true }
        return false
    }

    /// SELECT EF 2F01 then three READ BINARY of 200 bytes, inside a transaction.
    static func readWholeFile(_ card: PCSCCard) async throws -> [UInt8] {
        try await card.withTransaction {
            var out: [UInt8] = []
            #expect(try await card.transmit(TestCard.select) == [0x90, 0x00])
            for offset in stride(from: 0, to: 600, by: 200) {
                let r = try await card.transmit(TestCard.readBinary(offset: offset, length: 200))
                #expect(Array(r.suffix(2)) == [0x90, 0x00])
                out += r.dropLast(2)
            }
            return out
        }
    }

    @Test func insertionReadInTransactionAndRemoval() async throws {
        guard let (log, readers) = await Self.monitorWithEmptySlot() else { return }
        defer { Task { await log.stop() } }
        #expect(readers.contains(where: { $0.name == Self.reader }))

        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let mark = await log.mark()
        let t0 = Date()
        try client.insert(TestCard())
        let inserted = await log.waitFor(after: mark, seconds: 3, Self.isInserted)
        #expect(Date().timeIntervalSince(t0) <= 1.0, "insertion must be seen within 1 s")
        #expect(inserted == .cardInserted(reader: Self.reader, atr: TestCard.atr))

        await #expect(throws: TransportError.readerGone("No such reader")) { _ = try await PCSCCard.open(reader: "No such reader") }
        let card = try await PCSCCard.open()
        #expect(card.readerName == Self.reader)
        // vpcd reports T=1 only: asking for T=0 is an error, not a silent T=1 connection.
        await #expect(throws: TransportError.protocolMismatch(requested: [.t0], available: [.t1])) {
            try await card.connect(preferred: [.t0])
        }
        let info = try await card.connect(preferred: [.t1])
        #expect(info == CardConnectionInfo(atr: TestCard.atr, activeProtocol: .t1))
        #expect(try await Self.readWholeFile(card) == TestCard.file)
        // The same read through the ISO 7816 pipeline (APDUChannel over this PCSCCard), in a transaction.
        let channel = try await APDUChannel.connect(card, preferred: [.t1])
        let viaPipeline = try await card.withTransaction {
            let sel = try await channel.send(CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: [0x2F, 0x01]))
            #expect(sel.statusWord == .success)
            return try await channel.readBinary(offset: 0, length: 600)
        }
        #expect(viaPipeline == TestCard.file)
        // A contact card never receives CLA FF.
        await #expect(throws: TransportError.notSupported("get UID (FF CA) on a contact card")) {
            _ = try await card.contactlessUID()
        }
        await card.disconnect(.leave)

        let mark2 = await log.mark()
        let t1 = Date()
        client.remove()
        let removed = await log.waitFor(after: mark2, seconds: 3, Self.isRemoved)
        #expect(removed == .cardRemoved(reader: Self.reader))
        #expect(Date().timeIntervalSince(t1) <= 1.0, "removal must be seen within 1 s")
    }

    /// A contactless-shaped ATR: get UID goes out; the test card answers 6D 00, which means "UID not available".
    @Test func contactlessUIDOnlyOnContactlessSlot() async throws {
        guard let (log, _) = await Self.monitorWithEmptySlot() else { return }
        defer { Task { await log.stop() } }
        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let mark = await log.mark()
        try client.insert(TestCard(atr: TestCard.contactlessATR))
        #expect(await log.waitFor(after: mark, seconds: 3, Self.isInserted) == .cardInserted(reader: Self.reader, atr: TestCard.contactlessATR))
        let card = PCSCCard(readerName: Self.reader)
        let info = try await card.connect(preferred: [.t0, .t1])
        #expect(info.atr == TestCard.contactlessATR)
        #expect(await card.capabilities.isContactless)
        #expect(try await card.contactlessUID() == nil)
        await card.disconnect(.leave)
        client.remove()
        _ = await log.waitFor(after: mark, seconds: 3, Self.isRemoved)
    }

    @Test func removalInTheMiddleOfAReadThenNextInsertionWorks() async throws {
        guard let (log, _) = await Self.monitorWithEmptySlot() else { return }
        defer { Task { await log.stop() } }

        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let yanked = TestCard()
        // The card is pulled out while it processes the second READ BINARY.
        yanked.onRead = { n in if n == 2 { client.remove() } }
        var mark = await log.mark()
        try client.insert(yanked)
        #expect(await log.waitFor(after: mark, seconds: 3, Self.isInserted) != nil)

        let card = PCSCCard(readerName: Self.reader)
        _ = try await card.connect(preferred: [.t1])
        await #expect(throws: TransportError.cardRemoved) { _ = try await Self.readWholeFile(card) }
        #expect(await log.waitFor(after: mark, seconds: 3, Self.isRemoved) != nil)

        mark = await log.mark()
        try client.insert(TestCard())
        #expect(await log.waitFor(after: mark, seconds: 3, Self.isInserted) != nil)
        _ = try await card.connect(preferred: [.t1])
        #expect(try await Self.readWholeFile(card) == TestCard.file)
        await card.disconnect(.leave)
        client.remove()
        _ = await log.waitFor(after: mark, seconds: 3, Self.isRemoved)
    }

    /// Another connection resets the card: the next call says `cardReset` (the APDU is not resent), the connection
    /// is usable again at once, and the caller replays its set-up (SELECT).
    @Test func resetByAnotherApplicationGivesCardReset() async throws {
        guard let (log, _) = await Self.monitorWithEmptySlot() else { return }
        defer { Task { await log.stop() } }
        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let mark = await log.mark()
        try client.insert(TestCard())
        #expect(await log.waitFor(after: mark, seconds: 3, Self.isInserted) != nil)

        let a = PCSCCard(readerName: Self.reader)
        let b = PCSCCard(readerName: Self.reader)
        _ = try await a.connect(preferred: [.t1])
        #expect(try await a.transmit(TestCard.select) == [0x90, 0x00])
        _ = try await b.connect(preferred: [.t1])
        await b.disconnect(.reset)
        await #expect(throws: TransportError.cardReset) {
            _ = try await a.transmit(TestCard.readBinary(offset: 0, length: 200))
        }
        // The reset card lost its selection: READ BINARY without SELECT is refused by the card, not the binding.
        #expect(try await a.transmit(TestCard.readBinary(offset: 0, length: 200)) == [0x69, 0x86])
        #expect(try await a.transmit(TestCard.select) == [0x90, 0x00])
        #expect(try await a.transmit(TestCard.readBinary(offset: 0, length: 200)) == Array(TestCard.file[0..<200]) + [0x90, 0x00])
        await a.disconnect(.leave)
    }

    /// An exclusive holder makes the others `busy` after the bounded retries; once it leaves, they connect.
    @Test func exclusiveHolderMakesOthersBusy() async throws {
        guard let (log, _) = await Self.monitorWithEmptySlot() else { return }
        defer { Task { await log.stop() } }
        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let mark = await log.mark()
        try client.insert(TestCard())
        #expect(await log.waitFor(after: mark, seconds: 3, Self.isInserted) != nil)

        let holder = PCSCCard(readerName: Self.reader, shareMode: .exclusive)
        let other = PCSCCard(readerName: Self.reader, sharingRetries: 1)
        _ = try await holder.connect(preferred: [.t1])
        await #expect(throws: TransportError.busy) { _ = try await other.connect(preferred: [.t1]) }
        await holder.disconnect(.leave)
        _ = try await other.connect(preferred: [.t1])
        #expect(try await other.transmit(TestCard.select) == [0x90, 0x00])
        await other.disconnect(.leave)
    }

    /// A transaction keeps another connection out: its `beginTransaction` returns only after the first ends
    /// (it blocks on that connection's own thread, not on Swift's pool).
    @Test func transactionsDoNotInterleave() async throws {
        guard let (log, _) = await Self.monitorWithEmptySlot() else { return }
        defer { Task { await log.stop() } }
        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let mark = await log.mark()
        try client.insert(TestCard())
        #expect(await log.waitFor(after: mark, seconds: 3, Self.isInserted) != nil)

        let a = PCSCCard(readerName: Self.reader)
        let b = PCSCCard(readerName: Self.reader)
        _ = try await a.connect(preferred: [.t1])
        _ = try await b.connect(preferred: [.t1])
        try await a.beginTransaction()
        let order = OrderLog()
        let waiter = Task {
            try await b.beginTransaction()
            order.add("b-began")
            await b.endTransaction()
        }
        #expect(try await a.transmit(TestCard.select) == [0x90, 0x00])
        try await Task.sleep(nanoseconds: 300_000_000)
        order.add("a-ending")
        await a.endTransaction()
        try await waiter.value
        #expect(order.entries == ["a-ending", "b-began"])
        await a.disconnect(.leave)
        await b.disconnect(.leave)
    }

    final class OrderLog: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func add(_ s: String) { lock.withLock { items.append(s) } }
        var entries: [String] { lock.withLock { items } }
    }

    /// vpcd has no pinpad (spec note §4.1): discovery finds no VERIFY_PIN_DIRECT and the caller falls back to
    /// keypad entry; the pinpad path itself is tested against the simulator's pinpad reader.
    @Test func featureDiscoveryFindsNoPinpad() async throws {
        let card = PCSCCard(readerName: Self.reader)
        let features = try await card.readerFeatures()
        #expect(!features.hasPinpad)
        #expect(features[.verifyPINDirect] == nil)
        let caps = await card.capabilities
        #expect(!caps.hasPinpad)
        // vsmartcard 0.8 (Debian 12) answers GET_FEATURE_REQUEST with SCARD_E_UNSUPPORTED_FEATURE: no features
        // at all. Later vpcd versions list GET_TLV_PROPERTIES with dwMaxAPDUDataSize = 65536 (spec note §3.3).
        if let props = try await card.tlvProperties() {
            #expect(props.maxAPDUDataSize == 65536)
            #expect(caps.supportsExtendedLength)
        } else {
            #expect(features.controlCodes.isEmpty)
            #expect(!caps.supportsExtendedLength)
        }
        let structure = try PINVerifyStructure(header: [0x00, 0x20, 0x00, 0x81], minPIN: 4, maxPIN: 8)
        await #expect(throws: TransportError.notSupported("PIN entry on the reader (VERIFY_PIN_DIRECT)")) {
            _ = try await card.verifyPINOnPinpad(structure)
        }
    }

    /// pcscd killed and started again: the monitor says degraded then restored, and the same `PCSCCard` reads
    /// again without restarting the process. Bounded: about 20 s at worst.
    @Test func pcscdRestartIsSurvived() async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/pcscd-vpcd.sh").path
        guard let (log, _) = await Self.monitorWithEmptySlot() else { return }
        defer { Task { await log.stop() } }

        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        var mark = await log.mark()
        try client.insert(TestCard())
        #expect(await log.waitFor(after: mark, seconds: 3, Self.isInserted) != nil)
        let card = PCSCCard(readerName: Self.reader)
        _ = try await card.connect(preferred: [.t1])
        #expect(try await Self.readWholeFile(card) == TestCard.file)

        mark = await log.mark()
        #expect(try Self.run(script, "stop") == 0)
        let degraded = await log.waitFor(after: mark, seconds: 5) {
            if case .monitoringDegraded = $0 { return true } else { return false }
        }
        #expect(degraded != nil)
        await #expect(throws: TransportError.self) { _ = try await card.transmit(TestCard.select) }

        #expect(try Self.run(script, "start") == 0)
        let restored = await log.waitFor(after: mark, seconds: 5) { $0 == .monitoringRestored }
        #expect(restored != nil)
        // The bridge reconnects on its own (back-off ≤ 2 s); pcscd then sees the card again.
        let back = await log.waitFor(after: mark, seconds: 6) { e in
            if case .snapshot(let rs) = e, rs.contains(where: { $0.name == Self.reader && $0.hasCard }) { return true }
            return Self.isInserted(e)
        }
        #expect(back != nil)
        _ = try await card.connect(preferred: [.t1])
        #expect(try await Self.readWholeFile(card) == TestCard.file)
        await card.disconnect(.leave)
    }

    /// Runs `sh script arg` with stdin/stdout/stderr on /dev/null and waits for it (the script closes every other
    /// inherited descriptor before starting pcscd, so pcscd never holds this process's sockets).
    static func run(_ script: String, _ arg: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let args: [String] = ["/bin/sh", script, arg]
        let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ)
        guard rc == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1
    }
}
