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
    }

    public nonisolated let configuration: TerminalConfiguration
    public nonisolated let bus: EventBus
    public nonisolated let audit: AuditLog
    public nonisolated let metrics: TerminalMetrics
    public nonisolated let pinMailbox: PINMailbox
    public nonisolated let badges: any BadgeRegistry
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
        audit: AuditLog, badges: (any BadgeRegistry)? = nil, clock: any TerminalClock = SystemTerminalClock(),
        metrics: TerminalMetrics = TerminalMetrics(), logger: Logger = Logger(label: "carte.serve", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        self.source = source
        self.runner = runner
        self.audit = audit
        self.badges = badges ?? InMemoryBadgeRegistry()
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
        if case .cardInserted = input { r.cardKind = nil }
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
            if assurance != .badge { await badges.noteCPSAuthentication(idNat: identity.idNat, at: Date()) }
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

    /// Enrols a badge for the professional authenticated in session `session` (or the only one authenticated).
    /// - Throws: `.notAuthenticated` when no such session is authenticated, `.badRequest` for a malformed UID.
    public func enrolBadge(uid: String, session: String?) async throws(TerminalError) -> EnrolledBadge {
        let cleaned = uid.uppercased().filter { $0 != " " && $0 != ":" }
        guard [8, 14, 20].contains(cleaned.count), cleaned.allSatisfy(\.isHexDigit) else {
            throw .badRequest("a badge UID is 4, 7 or 10 bytes in hex (ISO/IEC 14443-3)")
        }
        let authenticated = records.values.compactMap { r -> (String, AuthenticatedProfessional)? in
            if case .authenticated(let s, let i, let a) = r.machine.state, a != .badge { return (s, i) }
            return nil
        }
        let chosen = session.map { s in authenticated.filter { $0.0 == s } } ?? authenticated
        guard chosen.count == 1, let (s, identity) = chosen.first else {
            throw .notAuthenticated(
                chosen.isEmpty ? "enrolment needs a professional authenticated with a CPS card"
                    : "several professionals are authenticated: give 'session'")
        }
        let id = try await badges.enrol(uid: cleaned, idNat: identity.idNat)
        let badge = await badges.list().first { $0.id == id }
            ?? EnrolledBadge(id: id, uid: cleaned, idNat: identity.idNat, enrolledAt: AuditLog.timestamp(Date()))
        var e = TerminalEvent(type: .badgeEnrolled)
        e.session = s
        e.badge = badge
        await publish(e, audit: AuditRecord(kind: .badgeEnrolled, session: s, detail: ["badge": id, "uid": cleaned, "idNat": identity.idNat]))
        return badge
    }

    /// Removes badge `id`; false when unknown.
    public func removeBadge(id: String) async -> Bool {
        guard await badges.remove(id: id) else { return false }
        var e = TerminalEvent(type: .badgeRemoved)
        e.badge = EnrolledBadge(id: id, uid: "", idNat: "", enrolledAt: "")
        await publish(e, audit: AuditRecord(kind: .badgeRemoved, detail: ["badge": id]))
        return true
    }

    /// Records an API request refused for lack of credentials.
    public func recordRefusal(method: String, path: String, why: String) async {
        metrics.apiRefusals.increment()
        logger.warning("API request refused", metadata: ["method": "\(method)", "path": "\(path)", "why": "\(why)"])
        await auditAppend(AuditRecord(kind: .apiRefused, detail: ["method": method, "path": path, "why": why]))
    }
}

/// Badge enrolments kept in memory (used until the Authentication module's persistent store is wired in).
public actor InMemoryBadgeRegistry: BadgeRegistry {
    var badges: [EnrolledBadge] = []
    var counter = 0
    var lastCPS: [String: Date] = [:]
    public init() {}
    public func noteCPSAuthentication(idNat: String, at time: Date) { lastCPS[idNat] = time }
    public func lastCPSAuthentication(idNat: String) -> Date? { lastCPS[idNat] }
    public func enrol(uid: String, idNat: String) async throws(TerminalError) -> String {
        if let existing = badges.first(where: { $0.uid == uid }) {
            throw .badRequest("badge \(uid) is already enrolled as \(existing.id)")
        }
        counter += 1
        let b = EnrolledBadge(id: "b\(counter)", uid: uid, idNat: idNat, enrolledAt: AuditLog.timestamp(Date()))
        badges.append(b)
        return b.id
    }
    public func remove(id: String) async -> Bool {
        guard let i = badges.firstIndex(where: { $0.id == id }) else { return false }
        badges.remove(at: i)
        return true
    }
    public func list() async -> [EnrolledBadge] { badges }
}

/// Orders `r2` before `r10`.
func readerIDLess(_ a: String, _ b: String) -> Bool { a.count != b.count ? a.count < b.count : a < b }

enum ISO7816Hex {
    static func upper(_ bytes: [UInt8]) -> String { hex(bytes).uppercased() }
}
