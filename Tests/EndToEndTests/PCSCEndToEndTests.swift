import CardSimulator
import Foundation
import ISO7816
import PCSC
import Testing
import VirtualPCD

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
        let log = EventLog()
        await log.start()
        defer { Task { await log.stop() } }
        let snap = await log.waitFor(seconds: 5) { if case .snapshot = $0 { return true } else { return false } }
        guard case .snapshot(let readers) = snap else {
            Issue.record("no snapshot from the monitor: is pcscd running with PCSCLITE_CSOCK_NAME exported?")
            return
        }
        #expect(readers.first(where: { $0.name == Self.reader })?.state == .empty)

        let client = VPCDSlotClient(port: Self.port)
        defer { client.stop() }
        let mark = await log.mark()
        let t0 = Date()
        try client.insert(TestCard())
        let inserted = await log.waitFor(after: mark, seconds: 3, Self.isInserted)
        #expect(Date().timeIntervalSince(t0) <= 1.0, "insertion must be seen within 1 s")
        #expect(inserted == .cardInserted(reader: Self.reader, atr: TestCard.atr))

        let card = PCSCCard(readerName: Self.reader)
        // vpcd reports T=1 only: asking for T=0 is an error, not a silent T=1 connection.
        await #expect(throws: TransportError.protocolMismatch(requested: [.t0], available: [.t1])) {
            try await card.connect(preferred: [.t0])
        }
        let info = try await card.connect(preferred: [.t1])
        #expect(info == CardConnectionInfo(atr: TestCard.atr, activeProtocol: .t1))
        #expect(try await Self.readWholeFile(card) == TestCard.file)
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
        let log = EventLog()
        await log.start()
        defer { Task { await log.stop() } }
        _ = await log.waitFor(seconds: 5) { if case .snapshot = $0 { return true } else { return false } }
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
        let log = EventLog()
        await log.start()
        defer { Task { await log.stop() } }
        _ = await log.waitFor(seconds: 5) { if case .snapshot = $0 { return true } else { return false } }

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

    /// vpcd has no pinpad (spec note §4.1): discovery finds no VERIFY_PIN_DIRECT and the caller falls back to
    /// keypad entry; the pinpad path itself is tested against the simulator's pinpad reader.
    @Test func featureDiscoveryFindsNoPinpad() async throws {
        let card = PCSCCard(readerName: Self.reader)
        let features = try await card.readerFeatures()
        #expect(!features.hasPinpad)
        #expect(features[.verifyPINDirect] == nil)
        let caps = await card.capabilities
        #expect(!caps.hasPinpad)
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
        let log = EventLog()
        await log.start()
        defer { Task { await log.stop() } }
        _ = await log.waitFor(seconds: 5) { if case .snapshot = $0 { return true } else { return false } }

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

    static func run(_ script: String, _ arg: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [script, arg]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
