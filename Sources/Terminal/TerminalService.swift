import Authentication
import ISO7816
import Foundation
import INS
import Logging

/// A reader as `GET /v1/readers` shows it.
public struct ReaderSnapshot: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var role: ReaderRole
    public var hasPinpad: Bool
    public var isContactless: Bool
    public var state: ReaderPhase
    public var session: String?
    public var cardKind: CardKind?
    public var waitingForPin: Bool
    public var identity: AuthenticatedProfessional?
    public var patient: PatientIdentification?
    public var reason: String?
}

/// A card session as `GET /v1/sessions` shows it.
public struct SessionSnapshot: Sendable, Hashable, Codable {
    public var id: String
    public var reader: String
    public var state: ReaderPhase
    public var cardKind: CardKind?
    public var identity: AuthenticatedProfessional?
    public var assurance: AssuranceLevel?
    public var patient: PatientIdentification?
}

/// The terminal service: one state machine per reader fed by a `ReaderEventSource`, card flows run by a
/// `CardFlowRunner`, every step published on the `EventBus`, audited in the `AuditLog` and logged (no PIN; NIR
/// masked). The API (`TerminalAPI`) and the kiosk read it; `carte serve` runs it.
public actor TerminalService {
    struct ReaderRecord {
        var descriptor: ReaderDescriptor
        var role: ReaderRole
        var machine: ReaderStateMachine
        var cardKind: CardKind?
        /// When the session in progress authenticated at `cps-pin` (badge clock), for enrolment.
        var cpsPinAt: Date?
    }

    public nonisolated let configuration: TerminalConfiguration
    public nonisolated let bus: EventBus
    public nonisolated let audit: AuditLog
    public nonisolated let metrics: TerminalMetrics
    public nonisolated let pinMailbox: PINMailbox
    /// Badge enrolment and tap & go (the Authentication module's `BadgeAuthenticator`); nil when no site master key
    /// is configured (badge taps are then refused by the runner, enrolment unavailable).
    public nonisolated let badges: TerminalBadges?
    let source: any ReaderEventSource
    let runner: any CardFlowRunner
    let clock: any TerminalClock
    var logger: Logger

    var records: [String: ReaderRecord] = [:]
    var idsByName: [String: String] = [:]
    var namesByID: [String: String] = [:]
    var flows: [String: Task<Void, Never>] = [:]
    var readerCounter = 0
    public private(set) var monitoringDegraded = false
    public private(set) var startedAt = Date()

    public init(
        configuration: TerminalConfiguration, source: any ReaderEventSource, runner: any CardFlowRunner,
        audit: AuditLog, badges: TerminalBadges? = nil, clock: any TerminalClock = SystemTerminalClock(),
        metrics: TerminalMetrics = TerminalMetrics(), logger: Logger = Logger(label: "carte.serve", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        self.source = source
        self.runner = runner
        self.audit = audit
        self.badges = badges
        self.clock = clock
        self.metrics = metrics
        self.bus = EventBus()
        self.pinMailbox = PINMailbox()
        self.logger = logger
    }

    // MARK: Running

    /// Consumes the event source until it ends or the task is cancelled; with `tickEvery`, fires timeouts on the
    /// wall clock. Cancels every flow on the way out.
    public func run(tickEvery: Duration? = .milliseconds(250)) async {
        await auditAppend(AuditRecord(kind: .serviceStarted))
        let stream = source.events()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await e in stream { await self.handle(e) }
            }
            if let tickEvery {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: tickEvery)
                        await self.tick()
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
        await shutdown()
    }

    /// Cancels every flow and records the stop.
    public func shutdown() async {
        for (_, t) in flows { t.cancel() }
        flows = [:]
        await auditAppend(AuditRecord(kind: .serviceStopped))
    }

    /// Applies one hardware event (the run loop calls this; tests call it directly).
    public func handle(_ event: ReaderHardwareEvent) async {
        switch event {
        case .readerAdded(let d):
            guard let role = configuration.role(for: d) else {
                logger.info("reader ignored by the configuration", metadata: ["reader": "\(d.name)"])
                return
            }
            if var r = records[d.name] {
                r.descriptor = d
                records[d.name] = r
                await step(d.name, .pluggedIn)
            } else {
                readerCounter += 1
                let id = "r\(readerCounter)"
                idsByName[d.name] = id
                namesByID[id] = d.name
                records[d.name] = ReaderRecord(
                    descriptor: d, role: role,
                    machine: ReaderStateMachine(readerID: id, policy: configuration.readerPolicy))
            }
            metrics.readers.set(Double(records.values.filter { $0.machine.state != .unplugged }.count))
            var e = TerminalEvent(type: .readerAdded)
            fill(&e, d.name)
            await publish(e, audit: AuditRecord(kind: .readerAdded, reader: idsByName[d.name], detail: ["name": d.name, "role": role.rawValue]))
        case .readerRemoved(let name):
            guard records[name] != nil else { return }
            await step(name, .unplugged)
            metrics.readers.set(Double(records.values.filter { $0.machine.state != .unplugged }.count))
            var e = TerminalEvent(type: .readerRemoved)
            fill(&e, name)
            await publish(e, audit: AuditRecord(kind: .readerRemoved, reader: idsByName[name], detail: ["name": name]))
        case .cardInserted(let name, let atr):
            guard records[name] != nil else { return }
            metrics.insertions.increment()
            await step(name, .cardInserted(atr: atr))
        case .cardRemoved(let name):
            guard records[name] != nil else { return }
            await step(name, .cardRemoved)
        case .monitoringDegraded(let reason):
            guard !monitoringDegraded else { return }
            monitoringDegraded = true
            var e = TerminalEvent(type: .monitoringDegraded)
            e.reasonText = reason
            await publish(e, audit: AuditRecord(kind: .monitoringDegraded, detail: ["reason": reason]))
            for name in records.keys.sorted() { await step(name, .degraded) }
        case .monitoringRestored:
            guard monitoringDegraded else { return }
            monitoringDegraded = false
            await publish(TerminalEvent(type: .monitoringRestored), audit: AuditRecord(kind: .monitoringRestored))
            for name in records.keys.sorted() { await step(name, .restored) }
        }
    }

    /// Fires the timeouts that are due on the service clock.
    public func tick() async {
        for name in records.keys.sorted() where records[name]?.machine.deadline != nil {
            await step(name, .tick)
        }
    }

    // MARK: Machine

    func step(_ name: String, _ input: ReaderInput) async {
        guard var r = records[name] else { return }
        let effects = r.machine.handle(input, at: clock.now())
        if case .recognised(_, let kind, _) = input, r.machine.state.session != nil { r.cardKind = kind }
        if case .cardInserted = input {
            r.cardKind = nil
            r.cpsPinAt = nil
        }
        if r.machine.state.session == nil { r.cpsPinAt = nil }
        records[name] = r
        for effect in effects { await apply(effect, name) }
    }

    func apply(_ effect: ReaderEffect, _ name: String) async {
        guard let r = records[name] else { return }
        let id = r.machine.readerID
        switch effect {
        case .startFlow(let session, let atr):
            metrics.sessions.increment()
            let descriptor = r.descriptor
            let role = r.role
            let runner = self.runner
            let mailbox = pinMailbox
            flows[session] = Task {
                let outcome = await runner.run(
                    reader: descriptor, role: role, atr: atr, pinEntry: mailbox,
                    progress: { p in await self.progress(name, session, p) })
                await self.finished(name, session, outcome)
            }
        case .cancelFlow(let session):
            flows.removeValue(forKey: session)?.cancel()
            await pinMailbox.cancel(reader: name)
        case .endSession(let session, let reason):
            metrics.sessions.decrement()
            var e = TerminalEvent(type: .sessionEnded)
            fill(&e, name)
            e.session = session
            e.reason = reason.rawValue
            await publish(e, audit: AuditRecord(kind: .sessionEnded, reader: id, session: session, detail: ["reason": reason.rawValue]))
        case .entered(let state):
            await announce(state, name)
        }
    }

    func progress(_ name: String, _ session: String, _ p: CardFlowProgress) async {
        switch p {
        case .recognised(let kind, let isTest):
            await step(name, .recognised(session: session, kind: kind, isTestCard: isTest))
        case .pinRequested(let onPinpad):
            await step(name, .pinRequested(session: session, onPinpad: onPinpad))
        case .badgeTapped(let number, let outcome, let detail):
            var d = ["outcome": outcome, "detail": detail]
            if let number { d["badge"] = number }
            await auditAppend(AuditRecord(kind: .badgeTapped, reader: idsByName[name], session: session, detail: d))
        }
    }

    func finished(_ name: String, _ session: String, _ outcome: CardFlowOutcome) async {
        flows[session] = nil
        await step(name, .outcome(session: session, outcome))
    }

    func announce(_ state: ReaderState, _ name: String) async {
        guard let r = records[name] else { return }
        let id = r.machine.readerID
        var e = TerminalEvent(type: .idle)
        fill(&e, name)
        e.session = state.session
        e.state = state.phase
        var a = AuditRecord(kind: .cardInserted, reader: id, session: state.session)
        var audited = true
        switch state {
        case .idle:
            e.type = .idle
            audited = false
        case .cardPresent(_, let atr):
            e.type = .cardInserted
            e.atr = ISO7816Hex.upper(atr)
            a.detail = ["atr": e.atr ?? ""]
        case .recognised(_, let kind):
            e.type = .cardRecognised
            e.cardKind = kind
            a.kind = .cardRecognised
            a.detail = ["cardKind": kind.rawValue]
        case .pinPending(_, let kind, let onPinpad):
            e.type = .pinRequested
            e.cardKind = kind
            e.onPinpad = onPinpad
            audited = false
        case .authenticated(_, let identity, let assurance):
            e.type = .authenticated
            e.cardKind = r.cardKind
            e.identity = identity
            e.assurance = assurance
            a.kind = .authenticated
            a.detail = ["idNat": identity.idNat, "assurance": assurance.rawValue, "cardType": identity.cardType]
            if assurance == .cpsPin, let badges, let session = state.session {
                // The start of this person's tap & go window, and the reference time of an enrolment.
                let at = badges.now()
                records[name]?.cpsPinAt = at
                do {
                    try await badges.authenticator.noteCPSAuthentication(Self.cpsPinResult(identity, at: at, session: session))
                } catch {
                    logger.error("badge store: the CPS authentication could not be recorded: \(error)")
                }
            }
            metrics.outcome("authenticated")
        case .patientIdentified(_, let patient):
            e.type = .patientIdentified
            e.cardKind = r.cardKind
            e.patient = patient
            a.kind = .patientIdentified
            a.detail = ["serial": patient.serial, "nirMasked": patient.insuredNIRMasked,
                        "beneficiaries": String(patient.beneficiaries.count)]
            if let nir = patient.insuredNIRForAudit { a.detail["nirHmac"] = await audit.nirDigest(nir) }
            metrics.outcome("patientIdentified")
        case .refused(_, let reason, let tries):
            e.type = .refused
            e.cardKind = r.cardKind
            e.reason = reason.rawValue
            e.reasonText = reason.text
            e.triesLeft = tries
            a.kind = .refused
            a.detail = ["reason": reason.rawValue]
            if let tries { a.detail["triesLeft"] = String(tries) }
            metrics.outcome(reason.rawValue)
        case .cardRemoved:
            e.type = .cardRemoved
            a.kind = .cardRemoved
        case .unplugged:
            e.type = .readerUnplugged
            audited = false
        case .degraded:
            e.type = .readerDegraded
            audited = false
        }
        await publish(e, audit: audited ? a : nil)
    }

    func fill(_ e: inout TerminalEvent, _ name: String) {
        e.reader = idsByName[name]
        e.readerName = name
        e.role = records[name]?.role
    }

    func publish(_ e: TerminalEvent, audit record: AuditRecord?) async {
        let delivered = await bus.publish(e)
        metrics.eventsPublished.increment()
        var meta: Logger.Metadata = ["event": "\(delivered.type.rawValue)", "seq": "\(delivered.seq)"]
        if let r = delivered.reader { meta["reader"] = "\(r)" }
        if let s = delivered.session { meta["session"] = "\(s)" }
        if let k = delivered.cardKind { meta["card"] = "\(k.rawValue)" }
        if let reason = delivered.reason { meta["reason"] = "\(reason)" }
        if let i = delivered.identity { meta["idNat"] = "\(i.idNat)" }
        if let p = delivered.patient { meta["nir"] = "\(p.insuredNIRMasked)" }
        if let b = delivered.badge { meta["badge"] = "\(b.id)" }
        logger.info("\(delivered.type.rawValue)", metadata: meta)
        if let record { await auditAppend(record) }
    }

    func auditAppend(_ record: AuditRecord) async {
        do { try await audit.append(record) } catch {
            logger.error("audit append failed: \(error)")
        }
    }

    // MARK: API queries and commands

    /// The readers in use, in the order they appeared.
    public func readerSnapshots() async -> [ReaderSnapshot] {
        var out: [ReaderSnapshot] = []
        for (name, r) in records.sorted(by: { readerIDLess($0.value.machine.readerID, $1.value.machine.readerID) }) {
            var s = ReaderSnapshot(
                id: r.machine.readerID, name: name, role: r.role, hasPinpad: r.descriptor.hasPinpad,
                isContactless: r.descriptor.isContactless, state: r.machine.state.phase, session: r.machine.state.session,
                cardKind: r.machine.state.session == nil ? nil : r.cardKind,
                waitingForPin: await pinMailbox.isWaiting(reader: name))
            switch r.machine.state {
            case .authenticated(_, let i, _): s.identity = i
            case .patientIdentified(_, let p): s.patient = p
            case .refused(_, let reason, _): s.reason = reason.rawValue
            default: break
            }
            out.append(s)
        }
        return out
    }

    /// The card sessions in progress.
    public func sessionSnapshots() -> [SessionSnapshot] {
        records.values.sorted { readerIDLess($0.machine.readerID, $1.machine.readerID) }
            .compactMap { r in
                guard let s = r.machine.state.session else { return nil }
                var snap = SessionSnapshot(id: s, reader: r.machine.readerID, state: r.machine.state.phase, cardKind: r.cardKind)
                if case .authenticated(_, let i, let a) = r.machine.state {
                    snap.identity = i
                    snap.assurance = a
                }
                if case .patientIdentified(_, let p) = r.machine.state { snap.patient = p }
                return snap
            }
    }

    /// The state of reader `id` (`r1` …), nil when there is no such reader.
    public func state(ofReader id: String) -> ReaderState? {
        namesByID[id].flatMap { records[$0]?.machine.state }
    }

    /// The PC/SC name of reader `id`.
    public func readerName(forID id: String) -> String? { namesByID[id] }

    /// Hands a keypad PIN to the flow waiting on reader `id`; the PIN is used once and dropped.
    /// - Throws: `.noSuchReader`, `.noPINExpected` (no flow waits for a PIN there, or the policy requires a pinpad).
    public func submitPIN(readerID id: String, pin: PINCode) async throws(TerminalError) {
        guard let name = namesByID[id], let r = records[name] else { throw .noSuchReader(id) }
        guard case .pinPending(let session, _, false) = r.machine.state,
            await pinMailbox.submit(reader: name, pin: pin)
        else { throw .noPINExpected(id) }
        await auditAppend(AuditRecord(kind: .pinSubmitted, reader: id, session: session))
    }

    /// The `cps-pin` result a session stands for, as the Authentication module takes it (enrolment, tap & go).
    static func cpsPinResult(_ i: AuthenticatedProfessional, at time: Date, session: String) -> AuthenticationResult {
        AuthenticationResult(
            outcome: .authenticated, assurance: .cpsPin,
            identity: ProfessionalIdentity(
                idNat: i.idNat, rpps: i.rpps, nom: i.nom, prenom: i.prenom, profession: i.profession,
                cardType: i.cardType, isHealthProfessional: i.rpps != nil && i.cardType != "CPE"),
            time: time, detail: "CPS authentication with PIN, session \(session)")
    }

    /// Enrols the DESFire badge presented on badge reader `badgeReader` (`r3` …; nil: the only badge reader holding a
    /// card) for the professional of session `session`, which must be authenticated at `cps-pin` right now (card
    /// still in), less than the enrolment delay ago. The badge is authenticated by `BadgeAuthenticator.enrol`
    /// (DESFire AES with the diversified key, badge number read under the session): a UID proves nothing.
    /// Audited (`badgeEnrolled` / `badgeEnrolmentRefused`, badge number, never a key) and published.
    /// - Throws: `.badRequest` when badges are not configured or the badge reader is not a badge reader, holds no
    ///   card, or the badge is refused (UID-only, wrong key, no number); `.noSuchReader`; `.notAuthenticated` when
    ///   the session is not a current `cps-pin` authentication or it is older than the enrolment delay.
    /// The badge reader must be idle between its own tap flow and this call (a flow in progress is refused); the
    /// service does not lock the reader against a card swapped in during the enrolment itself.
    public func enrolBadge(session: String, badgeReader: String?) async throws(TerminalError) -> EnrolledBadge {
        guard let badges else {
            throw .badRequest("badge enrolment is not available: no site master key is configured (badges.siteKeyFile)")
        }
        let professional = records.values.compactMap { r -> (String, AuthenticatedProfessional, Date)? in
            if case .authenticated(session, let i, .cpsPin) = r.machine.state, let at = r.cpsPinAt {
                return (r.machine.readerID, i, at)
            }
            return nil
        }.first
        func refuse(_ e: TerminalError, _ why: String) async -> TerminalError {
            await auditAppend(AuditRecord(
                kind: .badgeEnrolmentRefused, reader: badgeReader, session: session, detail: ["session": session, "why": why]))
            return e
        }
        guard let (_, identity, authenticatedAt) = professional else {
            let why = "session '\(session)' is not a CPS authentication with PIN in progress: enrolment needs one"
            throw await refuse(.notAuthenticated(why), why)
        }
        let badgeRecords = records.filter { $0.value.role == .badge && $0.value.machine.state.session != nil }
        let chosen: (String, ReaderRecord)?
        if let badgeReader {
            guard let name = namesByID[badgeReader], let r = records[name] else { throw .noSuchReader(badgeReader) }
            guard r.role == .badge else { throw .badRequest("reader '\(badgeReader)' is not a badge reader") }
            chosen = r.machine.state.session == nil ? nil : (name, r)
        } else {
            chosen = badgeRecords.count == 1 ? badgeRecords.first.map { ($0.key, $0.value) } : nil
            if badgeRecords.count > 1 { throw .badRequest("several badge readers hold a card: give 'badgeReader'") }
        }
        guard let (name, record) = chosen, let badgeSession = record.machine.state.session else {
            let why = "present the badge on the badge reader first"
            throw await refuse(.badRequest(why), why)
        }
        guard flows[badgeSession] == nil else { throw .badRequest("the badge reader is still reading the badge: try again") }
        guard let transport = await badges.transport(name) else {
            let why = "the badge reader is gone"
            throw await refuse(.badRequest(why), why)
        }
        let result = await badges.authenticator.enrol(
            badge: transport, after: Self.cpsPinResult(identity, at: authenticatedAt, session: session))
        await transport.disconnect(.reset)
        switch result {
        case .refused(let r):
            let why = r.detail
            throw await refuse(r.outcome == .cpsRequired ? .notAuthenticated(why) : .badRequest(why), why)
        case .enrolled(let enrolment):
            let badge = EnrolledBadge(enrolment)
            var e = TerminalEvent(type: .badgeEnrolled)
            e.session = session
            e.badge = badge
            await publish(e, audit: AuditRecord(
                kind: .badgeEnrolled, reader: record.machine.readerID, session: session,
                detail: ["badge": badge.id, "idNat": identity.idNat]))
            return badge
        }
    }

    /// Revokes the enrolment of badge `number` (`BadgeAuthenticator.revoke`): its taps are refused from now on.
    /// Audited (`badgeRevoked`, the badge number) and published.
    /// - Returns: false when no such badge is enrolled.
    /// - Throws: `.badRequest` when badges are not configured, `.io` when the enrolment store fails.
    public func revokeBadge(number: String) async throws(TerminalError) -> Bool {
        guard let badges else { throw .badRequest("badges are not configured (badges.siteKeyFile)") }
        let revoked: Bool
        let enrolment: BadgeEnrolment?
        do {
            revoked = try await badges.authenticator.revoke(badgeNumber: number)
            enrolment = revoked ? try await badges.authenticator.store.enrolment(badgeNumber: number) : nil
        } catch { throw .io("the badge enrolment store failed: \(error)") }
        guard revoked else { return false }
        var e = TerminalEvent(type: .badgeRevoked)
        e.badge = enrolment.map(EnrolledBadge.init)
        await publish(e, audit: AuditRecord(kind: .badgeRevoked, detail: ["badge": number]))
        return true
    }

    /// Every badge enrolment, revoked ones included (`GET /v1/badges`); empty when badges are not configured.
    /// - Throws: `.io` when the enrolment store fails.
    public func badgeEnrolments() async throws(TerminalError) -> [EnrolledBadge] {
        guard let badges else { return [] }
        do { return try await badges.authenticator.store.enrolments().map(EnrolledBadge.init) } catch {
            throw .io("the badge enrolment store failed: \(error)")
        }
    }

    /// Records an API request refused for lack of credentials.
    public func recordRefusal(method: String, path: String, why: String) async {
        metrics.apiRefusals.increment()
        logger.warning("API request refused", metadata: ["method": "\(method)", "path": "\(path)", "why": "\(why)"])
        await auditAppend(AuditRecord(kind: .apiRefused, detail: ["method": method, "path": path, "why": why]))
    }
}

/// Orders `r2` before `r10`.
func readerIDLess(_ a: String, _ b: String) -> Bool { a.count != b.count ? a.count < b.count : a < b }

enum ISO7816Hex {
    static func upper(_ bytes: [UInt8]) -> String { hex(bytes).uppercased() }
}
