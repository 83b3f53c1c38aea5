import Authentication
import CardSimulator
import Foundation
import Testing

@testable import Terminal

extension AuditRow {
    /// The row's detail, decoded.
    var fields: [String: String] { (try? JSONDecoder().decode([String: String].self, from: Data(detail.utf8))) ?? [:] }
}

/// A clock tests move by hand (the badge authenticator's `now`).
final class BadgeTestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value = Date(timeIntervalSince1970: 1_790_000_000)
    var now: Date { lock.withLock { value } }
    func advance(_ seconds: TimeInterval) { lock.withLock { value += seconds } }
}

/// `carte serve --simulate` as the tests run it: the three simulated readers, the real CPS authentication on the
/// test PKI, and the real DESFire badge authentication (`BadgeAuthenticator`) with the personas' site key.
struct SimulatedBadgeTerminal {
    static let pinpad = SimulatedReaderPool.pinpadReaderName
    static let contactless = SimulatedReaderPool.contactlessReaderName
    static let window: TimeInterval = 3600
    static let enrolmentDelay: TimeInterval = 300

    let service: TerminalService
    let pool: SimulatedReaderPool
    let clock: BadgeTestClock
    let task: Task<Void, Never>
    var it: AsyncStream<TerminalEvent>.Iterator

    init(store: any BadgeEnrolmentStore = InMemoryBadgeEnrolmentStore()) async throws {
        let authentication = try #require(CPSAuthenticationFlow.simulatedTestPKI())
        let key = try #require(TerminalBadges.simulatedSiteMasterKey())
        var conf = TerminalConfiguration()
        conf.acceptTestCards = true
        let pool = SimulatedReaderPool()
        let clock = BadgeTestClock()
        let badges = TerminalBadges(
            store: store, siteMasterKey: key, window: Self.window, enrolmentDelay: Self.enrolmentDelay,
            now: { clock.now }, transport: { await pool.reader(named: $0) })
        service = TerminalService(
            configuration: conf, source: pool,
            runner: SimulatedPersonaFlowRunner(pool: pool, badges: badges, authentication: authentication),
            audit: try AuditLog(path: temporaryDirectory() + "/audit.sqlite"), badges: badges, clock: VirtualClock())
        self.pool = pool
        self.clock = clock
        it = await service.bus.subscribe().makeAsyncIterator()
        let service = self.service
        task = Task { await service.run(tickEvery: nil) }
        for _ in 0..<3 { _ = await events(&it, until: .readerAdded) }
    }

    /// The CPS of `persona` on the pinpad, PIN typed there: the outcome event (`authenticated` or `refused`).
    mutating func cps(_ persona: String, pin: String) async throws -> TerminalEvent? {
        try await pool.typeOnPinpad(reader: Self.pinpad, digits: pin)
        try await pool.insert(reader: Self.pinpad, persona: persona)
        return await outcome()
    }

    mutating func outcome() async -> TerminalEvent? {
        while let e = await it.next() {
            if e.type == .authenticated || e.type == .refused { return e }
        }
        return nil
    }

    /// Puts `persona`'s badge on the contactless reader (after taking any card off it) and returns the tap's
    /// outcome event (`authenticated` or `refused`).
    mutating func tap(_ persona: String) async throws -> TerminalEvent? {
        if await pool.persona(in: Self.contactless) != nil {
            try await pool.remove(reader: Self.contactless)
            _ = await events(&it, until: .idle)
        }
        try await pool.insert(reader: Self.contactless, persona: persona)
        return await outcome()
    }
}

@Suite("Badges in the terminal service: DESFire AES authentication, enrolment of a presented badge, tap & go")
struct BadgeServiceTests {
    @Test("Physician: CPS+PIN, desfire-durand presented and enrolled, tap → badge; revoked → refused")
    func enrolTapRevoke() async throws {
        var t = try await SimulatedBadgeTerminal()
        defer { t.task.cancel() }
        let cps = try await t.cps("cps3-durand", pin: "1234")
        #expect(cps?.type == .authenticated)
        #expect(cps?.assurance == .cpsPin)
        #expect(cps?.session == "r1-1")

        // The badge taps before it is enrolled: authenticated as a DESFire badge, but bound to nobody.
        let before = try await t.tap("desfire-durand")
        #expect(before?.type == .refused)
        #expect(before?.reason == "badgeNotEnrolled")
        #expect(before?.reader == "r3")

        let badge = try await t.service.enrolBadge(session: "r1-1", badgeReader: "r3")
        #expect(badge.id == "B-000417")
        #expect(badge.idNat == "899700412345")
        #expect(badge.nom == "DURAND")
        #expect(badge.prenom == "ALICE")
        #expect(badge.revokedAt == nil)
        let enrolled = await events(&t.it, until: .badgeEnrolled)
        #expect(enrolled.last?.badge == badge)
        #expect(enrolled.last?.session == "r1-1")
        #expect(try await t.service.badgeEnrolments() == [badge])

        // The CPS leaves; the badge alone now re-authenticates her within the window.
        try await t.pool.remove(reader: SimulatedBadgeTerminal.pinpad)
        _ = await events(&t.it, until: .idle)
        t.clock.advance(1800)
        let tap = try await t.tap("desfire-durand")
        #expect(tap?.type == .authenticated)
        #expect(tap?.assurance == .badge)
        #expect(tap?.identity?.idNat == "899700412345")
        #expect(tap?.identity?.nom == "DURAND")
        #expect(tap?.reader == "r3")

        #expect(try await t.service.revokeBadge(number: "B-000417"))
        let revoked = await events(&t.it, until: .badgeRevoked)
        #expect(revoked.last?.badge?.id == "B-000417")
        #expect(revoked.last?.badge?.revokedAt != nil)
        #expect(try await t.service.revokeBadge(number: "B-999999") == false)
        let after = try await t.tap("desfire-durand")
        #expect(after?.type == .refused)
        #expect(after?.reason == "cpsRequired")

        // Audited with the badge number, never a key.
        let rows = try await t.service.audit.rows()
        let enrolRow = try #require(rows.first { $0.kind == "badgeEnrolled" })
        #expect(enrolRow.fields["badge"] == "B-000417")
        #expect(enrolRow.fields["idNat"] == "899700412345")
        #expect(enrolRow.session == "r1-1")
        let taps = rows.filter { $0.kind == "badgeTapped" }
        #expect(taps.map { $0.fields["outcome"] } == ["notSupported", "authenticated", "cpsRequired"])
        #expect(taps.allSatisfy { $0.fields["badge"] == "B-000417" && $0.reader == "r3" })
        #expect(rows.first { $0.kind == "badgeRevoked" }?.fields["badge"] == "B-000417")
        let siteKeyHex = "00112233445566778899AABBCCDDEEFF"
        for row in rows {
            for value in row.fields.values {
                #expect(!value.uppercased().contains(siteKeyHex))
                #expect(!value.uppercased().contains("045A3C12B26E80"))  // not even the UID: it proves nothing
            }
        }
    }

    @Test("Pharmacist: a tap after the tap & go window asks for the CPS again (cpsRequired)")
    func windowOver() async throws {
        var t = try await SimulatedBadgeTerminal()
        defer { t.task.cancel() }
        // The badge presented after the pharmacist's CPS+PIN is bound to him.
        let cps = try await t.cps("cps3-moreau-pharmacist", pin: "4321")
        #expect(cps?.assurance == .cpsPin)
        _ = try await t.tap("desfire-durand")
        let badge = try await t.service.enrolBadge(session: "r1-1", badgeReader: nil)
        #expect(badge.idNat == "899700567890")
        let inside = try await t.tap("desfire-durand")
        #expect(inside?.assurance == .badge)
        #expect(inside?.identity?.nom == "MOREAU")
        t.clock.advance(SimulatedBadgeTerminal.window + 1)
        let outside = try await t.tap("desfire-durand")
        #expect(outside?.type == .refused)
        #expect(outside?.reason == "cpsRequired")
        #expect(outside?.reasonText?.contains("use the CPS card") == true)
        // A new CPS+PIN authentication opens the window again.
        try await t.pool.remove(reader: SimulatedBadgeTerminal.pinpad)
        _ = await events(&t.it, until: .idle)
        let again = try await t.cps("cps3-moreau-pharmacist", pin: "4321")
        #expect(again?.assurance == .cpsPin)
        let reopened = try await t.tap("desfire-durand")
        #expect(reopened?.assurance == .badge)
    }

    @Test("A UID-only card is refused: on a tap (notSupported) and for enrolment")
    func uidOnly() async throws {
        var t = try await SimulatedBadgeTerminal()
        defer { t.task.cancel() }
        let service = t.service
        let tap = try await t.tap("uid-visitor")
        #expect(tap?.type == .refused)
        #expect(tap?.reason == "notSupported")
        #expect(tap?.reasonText == "this card cannot authenticate on this reader (a UID alone proves nothing)")
        _ = try await t.cps("cps3-durand", pin: "1234")
        await #expect(throws: TerminalError.self) {
            _ = try await service.enrolBadge(session: "r1-1", badgeReader: "r3")
        }
        #expect(try await t.service.badgeEnrolments().isEmpty)
        let rows = try await t.service.audit.rows()
        let tapRow = try #require(rows.first { $0.kind == "badgeTapped" })
        #expect(tapRow.fields["outcome"] == "notSupported")
        #expect(tapRow.fields["badge"] == nil)
        #expect(tapRow.fields["detail"]?.contains("a UID alone never authenticates") == true)
        let refusal = try #require(rows.first { $0.kind == "badgeEnrolmentRefused" })
        #expect(refusal.fields["why"]?.contains("a UID alone never authenticates") == true)
    }

    @Test("Enrolment without a recent cps-pin session is refused")
    func enrolmentNeedsRecentCPSPin() async throws {
        var t = try await SimulatedBadgeTerminal()
        defer { t.task.cancel() }
        let service = t.service
        _ = try await t.tap("desfire-durand")
        // No session at all.
        await #expect(throws: TerminalError.notAuthenticated(
            "session 'r1-1' is not a CPS authentication with PIN in progress: enrolment needs one")) {
            _ = try await service.enrolBadge(session: "r1-1", badgeReader: "r3")
        }
        // A CPS authentication that is too old.
        let cps = try await t.cps("cps3-durand", pin: "1234")
        #expect(cps?.assurance == .cpsPin)
        t.clock.advance(SimulatedBadgeTerminal.enrolmentDelay + 1)
        await #expect(throws: TerminalError.notAuthenticated(
            "the CPS authentication is too old to enrol a badge; authenticate again")) {
            _ = try await service.enrolBadge(session: "r1-1", badgeReader: "r3")
        }
        // The session ended (card removed): it no longer stands for anybody.
        try await t.pool.remove(reader: SimulatedBadgeTerminal.pinpad)
        _ = await events(&t.it, until: .idle)
        await #expect(throws: TerminalError.notAuthenticated(
            "session 'r1-1' is not a CPS authentication with PIN in progress: enrolment needs one")) {
            _ = try await service.enrolBadge(session: "r1-1", badgeReader: "r3")
        }
        // A wrong PIN gives no session to enrol with.
        let wrong = try await t.cps("cps3-durand", pin: "0000")
        #expect(wrong?.reason == "wrongPin")
        await #expect(throws: TerminalError.notAuthenticated(
            "session 'r1-2' is not a CPS authentication with PIN in progress: enrolment needs one")) {
            _ = try await service.enrolBadge(session: "r1-2", badgeReader: "r3")
        }
        #expect(try await t.service.badgeEnrolments().isEmpty)
        #expect(try await t.service.audit.rows().filter { $0.kind == "badgeEnrolmentRefused" }.count == 4)
    }

    @Test("Enrolments live in SQLite next to the audit database and survive a restart")
    func persistence() async throws {
        let dir = temporaryDirectory()
        var conf = TerminalConfiguration()
        conf.databasePath = dir + "/audit.sqlite"
        #expect(conf.badgeDatabase == dir + "/badges.sqlite")
        let key = try #require(TerminalBadges.simulatedSiteMasterKey())
        do {
            let store = try SQLiteBadgeEnrolmentStore(path: conf.badgeDatabase)
            var t = try await SimulatedBadgeTerminal(store: store)
            defer { t.task.cancel() }
            _ = try await t.cps("cps3-durand", pin: "1234")
            _ = try await t.tap("desfire-durand")
            _ = try await t.service.enrolBadge(session: "r1-1", badgeReader: "r3")
        }
        let reopened = try TerminalBadges.configured(conf, siteMasterKey: key, transport: { _ in nil })
        let stored = try await reopened.authenticator.store.enrolments()
        #expect(stored.map(\.badgeNumber) == ["B-000417"])
        #expect(stored.first?.identity.idNat == "899700412345")
        #expect(stored.first?.uid == [0x04, 0x5A, 0x3C, 0x12, 0xB2, 0x6E, 0x80])
        #expect(FileManager.default.fileExists(atPath: dir + "/badges.sqlite"))
    }

    @Test("The site master key file: 16 bytes or 32 hex digits, mode 0600; never in an error")
    func siteKeyFile() throws {
        let dir = temporaryDirectory()
        let hex = dir + "/site.key"
        let fm = FileManager.default
        #expect(fm.createFile(atPath: hex, contents: Data("00112233445566778899aabbccddeeff\n".utf8), attributes: [.posixPermissions: 0o600]))
        #expect(try TerminalBadges.loadSiteMasterKey(path: hex) == [UInt8](hex: "00112233445566778899AABBCCDDEEFF"))
        let raw = dir + "/raw.key"
        #expect(fm.createFile(atPath: raw, contents: Data(repeating: 0x5A, count: 16), attributes: [.posixPermissions: 0o400]))
        #expect(try TerminalBadges.loadSiteMasterKey(path: raw) == [UInt8](repeating: 0x5A, count: 16))
        try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: hex)
        #expect(throws: TerminalError.configuration(
            line: nil, reason: "badges.siteKeyFile \(hex): mode 644 lets group or others read it; chmod 600")) {
            try TerminalBadges.loadSiteMasterKey(path: hex)
        }
        let short = dir + "/short.key"
        #expect(fm.createFile(atPath: short, contents: Data("0011223344556677\n".utf8), attributes: [.posixPermissions: 0o600]))
        #expect(throws: TerminalError.configuration(
            line: nil, reason: "badges.siteKeyFile \(short): must hold an AES-128 key: 16 bytes, or 32 hex digits")) {
            try TerminalBadges.loadSiteMasterKey(path: short)
        }
        #expect(throws: TerminalError.configuration(line: nil, reason: "badges.siteKeyFile \(dir)/none.key: cannot be read")) {
            try TerminalBadges.loadSiteMasterKey(path: dir + "/none.key")
        }
        #expect(throws: TerminalError.configuration(line: nil, reason: "badges.siteKeyFile \(dir): is not a regular file")) {
            try TerminalBadges.loadSiteMasterKey(path: dir)
        }
    }

    @Test("The PC/SC runner (ModuleCardFlowRunner) taps badges through BadgeAuthenticator on the reader's transport")
    func moduleRunnerTap() async throws {
        let key = try #require(TerminalBadges.simulatedSiteMasterKey())
        let clock = BadgeTestClock()
        let store = InMemoryBadgeEnrolmentStore()
        let descriptor = ReaderDescriptor(name: "ACS ACR122U PICC Interface 00 00", isContactless: true)
        actor Progress {
            var seen: [CardFlowProgress] = []
            func add(_ p: CardFlowProgress) { seen.append(p) }
        }
        func tap(_ persona: String, badges: TerminalBadges?) async throws -> (CardFlowOutcome, [CardFlowProgress]) {
            let reader = SimulatedReader(name: descriptor.name, configuration: .contactless())
            try await reader.insert(persona: persona)
            let atr = try await reader.connect(preferred: [.t1]).atr
            await reader.disconnect(.reset)
            let runner = ModuleCardFlowRunner(transport: { _ in reader }, badges: badges)
            let progress = Progress()
            let outcome = await runner.run(
                reader: descriptor, role: .badge, atr: atr, pinEntry: PINMailbox(), progress: { await progress.add($0) })
            return (outcome, await progress.seen)
        }
        let badges = TerminalBadges(
            store: store, siteMasterKey: key, window: 3600, enrolmentDelay: 300, now: { clock.now }, transport: { _ in nil })
        let (visitor, visitorProgress) = try await tap("uid-visitor", badges: badges)
        #expect(visitor == .refused(.notSupported))
        #expect(visitorProgress.count == 2)
        if case .badgeTapped(let number, let outcome, _) = visitorProgress.last {
            #expect(number == nil)
            #expect(outcome == "notSupported")
        } else {
            Issue.record("no badgeTapped progress: \(visitorProgress)")
        }
        let (unknown, unknownProgress) = try await tap("desfire-durand", badges: badges)
        #expect(unknown == .refused(.badgeNotEnrolled))
        #expect(unknownProgress.first == .recognised(.desfire, isTestCard: false))
        #expect(unknownProgress.last == .badgeTapped(badgeNumber: "B-000417", outcome: "notSupported", detail: "this badge is not enrolled"))
        // Enrolled (as the service would after a CPS+PIN authentication): the tap authenticates at `badge`.
        let identity = AuthenticatedProfessional(
            idNat: "899700412345", rpps: "99700412345", nom: "DURAND", prenom: "ALICE", profession: "Médecin", cardType: "CPS")
        let reader = SimulatedReader(name: descriptor.name, configuration: .contactless())
        try await reader.insert(persona: "desfire-durand")
        let enrolled = await badges.authenticator.enrol(
            badge: reader, after: TerminalService.cpsPinResult(identity, at: clock.now, session: "r1-1"))
        guard case .enrolled(let e) = enrolled else {
            Issue.record("enrolment refused: \(enrolled)")
            return
        }
        #expect(e.badgeNumber == "B-000417")
        let (tapped, _) = try await tap("desfire-durand", badges: badges)
        #expect(tapped == .authenticated(identity, assurance: .badge))
        // Without a site key nothing authenticates a badge.
        let (unconfigured, _) = try await tap("desfire-durand", badges: nil)
        #expect(unconfigured == .refused(.notSupported))
    }

    @Test("Tap results map to the service's outcomes by the Authentication result, not by text")
    func tapOutcomeMapping() {
        let t = Date(timeIntervalSince1970: 0)
        #expect(TerminalBadges.outcome(AuthenticationResult(outcome: .notSupported, time: t, detail: "x")) == .refused(.notSupported))
        #expect(TerminalBadges.outcome(AuthenticationResult(outcome: .notSupported, badgeNumber: "B-1", time: t, detail: "x"))
            == .refused(.badgeNotEnrolled))
        #expect(TerminalBadges.outcome(AuthenticationResult(outcome: .cpsRequired, badgeNumber: "B-1", time: t, detail: "x"))
            == .refused(.cpsRequired))
        #expect(TerminalBadges.outcome(AuthenticationResult(outcome: .signatureInvalid, time: t, detail: "x")) == .refused(.signatureInvalid))
        #expect(TerminalBadges.outcome(AuthenticationResult(outcome: .cardRemoved, time: t, detail: "x")) == .cardRemoved)
        #expect(TerminalBadges.outcome(AuthenticationResult(outcome: .failed, time: t, detail: "x")) == .refused(.failed))
    }
}
