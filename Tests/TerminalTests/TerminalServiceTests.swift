import Foundation
import Authentication
import Testing

@testable import Terminal

@Suite("Terminal service with fake readers and flows")
struct TerminalServiceTests {
    let pinpadless = ReaderDescriptor(name: "Gemalto PC Twin 00 00")
    let contact = ReaderDescriptor(name: "Cherry Vitale 01 00")

    @Test("A CPS session with a keypad PIN: events in order with their content, audited, no PIN anywhere")
    func professionalSession() async throws {
        var conf = TerminalConfiguration()
        conf.readers = [ReaderRule(match: "Gemalto*", role: .professional)]
        let service = try makeService(configuration: conf)
        var it = await service.bus.subscribe().makeAsyncIterator()
        await service.handle(.readerAdded(pinpadless))
        await service.handle(.cardInserted(reader: pinpadless.name, atr: FakeFlowRunner.cpsATR))
        let first = await events(&it, until: .pinRequested)
        #expect(first.map(\.type) == [.readerAdded, .cardInserted, .cardRecognised, .pinRequested])
        #expect(first.map(\.seq) == [1, 2, 3, 4])
        #expect(first[1].atr == "3B6500009C")
        #expect(first[1].session == "r1-1")
        #expect(first[2].cardKind == .cps3)
        #expect(first[3].onPinpad == false)
        #expect(first.allSatisfy { $0.reader == "r1" && $0.role == .professional })

        try await service.submitPIN(readerID: "r1", pin: PINCode("4321")!)
        let second = await events(&it, until: .authenticated)
        #expect(second.map(\.type) == [.authenticated])
        #expect(second[0].identity == FakeFlowRunner.identity)
        #expect(second[0].assurance == .cpsPin)
        #expect(second[0].cardKind == .cps3)
        #expect(await service.sessionSnapshots().map(\.id) == ["r1-1"])

        await service.handle(.cardRemoved(reader: pinpadless.name))
        let third = await events(&it, until: .idle)
        #expect(third.map(\.type) == [.cardRemoved, .sessionEnded, .idle])
        #expect(third[1].reason == "cardRemoved")
        #expect(await service.sessionSnapshots().isEmpty)

        let rows = try await service.audit.rows()
        #expect(rows.map(\.kind) == ["readerAdded", "cardInserted", "cardRecognised", "pinSubmitted", "authenticated",
                                     "cardRemoved", "sessionEnded"])
        #expect(rows[4].detail == #"{"assurance":"cps-pin","cardType":"CPS3","idNat":"899700567890"}"#)
        #expect(!rows.contains { $0.detail.contains("4321") })
        #expect(AuditLog.verify(rows: rows).isIntact)
    }

    @Test("A Vitale read: the NIR is masked in the event and keyed-hashed in the audit log")
    func patientSession() async throws {
        let service = try makeService()
        var it = await service.bus.subscribe().makeAsyncIterator()
        await service.handle(.readerAdded(contact))
        await service.handle(.cardInserted(reader: contact.name, atr: FakeFlowRunner.vitaleATR))
        let e = await events(&it, until: .patientIdentified)
        #expect(e.map(\.type) == [.readerAdded, .cardInserted, .cardRecognised, .patientIdentified])
        let json = e[3].json
        #expect(json.contains("\"insuredNirMasked\":\"1 71 •• •• ••• ••• 38\""))
        #expect(!json.contains("171096912304538"))
        let rows = try await service.audit.rows()
        let identified = try #require(rows.first { $0.kind == "patientIdentified" })
        #expect(!identified.detail.contains("171096912304538"))
        #expect(identified.detail.contains("\"nirHmac\":\"\(await service.audit.nirDigest("171096912304538"))\""))
    }

    @Test("A wrong keypad PIN is refused with the tries left; a PIN with no one waiting is refused 'not waiting'")
    func wrongPIN() async throws {
        let service = try makeService()
        var it = await service.bus.subscribe().makeAsyncIterator()
        await service.handle(.readerAdded(ReaderDescriptor(name: "Pinless 00 00")))
        await #expect(throws: TerminalError.noPINExpected("r1")) {
            try await service.submitPIN(readerID: "r1", pin: PINCode("1234")!)
        }
        await #expect(throws: TerminalError.noSuchReader("r7")) {
            try await service.submitPIN(readerID: "r7", pin: PINCode("1234")!)
        }
        await service.handle(.cardInserted(reader: "Pinless 00 00", atr: FakeFlowRunner.cpsATR))
        _ = await events(&it, until: .pinRequested)
        try await service.submitPIN(readerID: "r1", pin: PINCode("0000")!)
        let e = await events(&it, until: .refused)
        #expect(e.last?.reason == "wrongPin")
        #expect(e.last?.triesLeft == 2)
    }

    @Test("Removal while the PIN is pending ends the session at once; the PIN endpoint then refuses")
    func removalCancelsPIN() async throws {
        let service = try makeService()
        var it = await service.bus.subscribe().makeAsyncIterator()
        await service.handle(.readerAdded(pinpadless))
        await service.handle(.cardInserted(reader: pinpadless.name, atr: FakeFlowRunner.cpsATR))
        _ = await events(&it, until: .pinRequested)
        await service.handle(.cardRemoved(reader: pinpadless.name))
        #expect(await events(&it, until: .idle).map(\.type) == [.cardRemoved, .sessionEnded, .idle])
        #expect(await service.sessionSnapshots().isEmpty)
        await #expect(throws: TerminalError.noPINExpected("r1")) {
            try await service.submitPIN(readerID: "r1", pin: PINCode("4321")!)
        }
    }

    @Test("PIN timeout on the virtual clock refuses the card")
    func pinTimeout() async throws {
        let clock = VirtualClock()
        let service = try makeService(clock: clock)
        var it = await service.bus.subscribe().makeAsyncIterator()
        await service.handle(.readerAdded(pinpadless))
        await service.handle(.cardInserted(reader: pinpadless.name, atr: FakeFlowRunner.cpsATR))
        _ = await events(&it, until: .pinRequested)
        clock.advance(59_999)
        await service.tick()
        #expect(await service.state(ofReader: "r1")?.phase == .pinPending)
        clock.advance(1)
        await service.tick()
        let e = await events(&it, until: .refused)
        #expect(e.map(\.type) == [.refused])
        #expect(e[0].reason == "pinTimeout")
    }

    @Test("Unplugging ends the session; monitoring loss and return reach every reader")
    func unplugAndDegraded() async throws {
        let service = try makeService()
        var it = await service.bus.subscribe().makeAsyncIterator()
        await service.handle(.readerAdded(pinpadless))
        await service.handle(.readerAdded(contact))
        await service.handle(.cardInserted(reader: pinpadless.name, atr: FakeFlowRunner.cpsATR))
        _ = await events(&it, until: .pinRequested)
        await service.handle(.readerRemoved(pinpadless.name))
        #expect(await events(&it, until: .readerRemoved).map(\.type) == [.sessionEnded, .readerUnplugged, .readerRemoved])
        await service.handle(.monitoringDegraded(reason: "pcscd stopped"))
        let d = await events(&it, until: .readerDegraded)
        #expect(d.map(\.type) == [.monitoringDegraded, .readerDegraded])
        #expect(d[0].reasonText == "pcscd stopped")
        await service.handle(.monitoringRestored)
        #expect(await events(&it, until: .idle).map(\.type) == [.monitoringRestored, .idle])
        #expect(await service.readerSnapshots().map(\.state) == [.unplugged, .idle])
        await service.handle(.readerAdded(pinpadless))
        #expect(await service.readerSnapshots().map(\.state) == [.idle, .idle])
        #expect(await service.readerSnapshots().map(\.id) == ["r1", "r2"])
    }

    @Test("1,000 insert/remove cycles leave no session, no flow and no PIN wait")
    func thousandCycles() async throws {
        let service = try makeService()
        await service.handle(.readerAdded(pinpadless))
        await service.handle(.readerAdded(contact))
        for i in 0..<1000 {
            let (r, atr) = i % 2 == 0 ? (pinpadless.name, FakeFlowRunner.cpsATR) : (contact.name, FakeFlowRunner.vitaleATR)
            await service.handle(.cardInserted(reader: r, atr: atr))
            await service.handle(.cardRemoved(reader: r))
        }
        #expect(await service.sessionSnapshots().isEmpty)
        #expect(await service.readerSnapshots().map(\.state) == [.idle, .idle])
        #expect(await service.flows.isEmpty)
        #expect(await service.pinMailbox.isWaiting(reader: pinpadless.name) == false)
        let rows = try await service.audit.rows()
        #expect(rows.filter { $0.kind == "cardInserted" }.count == 1000)
        #expect(rows.filter { $0.kind == "sessionEnded" }.count == 1000)
    }

    @Test("Badge enrolment needs a cps-pin session, a configured site key and a badge presented; never a UID")
    func enrolment() async throws {
        let unconfigured = try makeService()
        await #expect(throws: TerminalError.badRequest(
            "badge enrolment is not available: no site master key is configured (badges.siteKeyFile)")) {
            _ = try await unconfigured.enrolBadge(session: "r1-1", badgeReader: nil)
        }
        await #expect(throws: TerminalError.badRequest("badges are not configured (badges.siteKeyFile)")) {
            _ = try await unconfigured.revokeBadge(number: "B-000417")
        }
        #expect(try await unconfigured.badgeEnrolments() == [])

        let badges = TerminalBadges(
            store: InMemoryBadgeEnrolmentStore(), siteMasterKey: [UInt8](repeating: 0x42, count: 16), window: 3600,
            enrolmentDelay: 300, transport: { _ in nil })
        let service = try makeService(badges: badges)
        await #expect(throws: TerminalError.notAuthenticated(
            "session 'r1-1' is not a CPS authentication with PIN in progress: enrolment needs one")) {
            _ = try await service.enrolBadge(session: "r1-1", badgeReader: nil)
        }
        var it = await service.bus.subscribe().makeAsyncIterator()
        await service.handle(.readerAdded(pinpadless))
        await service.handle(.cardInserted(reader: pinpadless.name, atr: FakeFlowRunner.cpsATR))
        _ = await events(&it, until: .pinRequested)
        try await service.submitPIN(readerID: "r1", pin: PINCode("4321")!)
        _ = await events(&it, until: .authenticated)
        // Authenticated at cps-pin, but no badge reader holds a card: nothing to enrol.
        await #expect(throws: TerminalError.badRequest("present the badge on the badge reader first")) {
            _ = try await service.enrolBadge(session: "r1-1", badgeReader: nil)
        }
        await #expect(throws: TerminalError.badRequest("reader 'r1' is not a badge reader")) {
            _ = try await service.enrolBadge(session: "r1-1", badgeReader: "r1")
        }
        await #expect(throws: TerminalError.noSuchReader("r7")) {
            _ = try await service.enrolBadge(session: "r1-1", badgeReader: "r7")
        }
        #expect(try await service.revokeBadge(number: "B-000417") == false)
        let refusals = try await service.audit.rows().filter { $0.kind == "badgeEnrolmentRefused" }
        #expect(refusals.count == 2)
    }

    @Test("PINCode hides its digits and refuses non-digits")
    func pinCode() {
        let p = PINCode("4321")!
        #expect("\(p)" == "PIN(****)")
        #expect(String(reflecting: p) == "PIN(****)")
        var dumped = ""
        dump(p, to: &dumped)
        #expect(!dumped.contains("4321"))
        #expect(PINCode("12a4") == nil)
        #expect(PINCode("123") == nil)
        #expect(PINCode("1234567890123") == nil)
    }
}
