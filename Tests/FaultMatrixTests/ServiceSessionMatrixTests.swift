import Authentication
import CPS
@testable import CardSimulator
import Foundation
import ISO7816
import Synchronization
import Testing
import Vitale

@testable import Terminal

/// The service full-session column of the fault-injection matrix (issue 9): the terminal service
/// (`TerminalService` + `ReaderStateMachine`) in process on `SimulatedReaderPool`, with the real flows of
/// `--simulate` (`SimulatedPersonaFlowRunner`: `CPSAuthenticator` on the test PKI with the PIN typed on the
/// simulated pinpad; `VitaleCardFlow` on the contact reader). For each APDU index k of the clean session (N from
/// that run) and each fault at k, on a fresh service: the session ends in the exact state with the exact event
/// (refusal with its typed reason, or the removal ending the session), the service keeps running, the reader is
/// released (no transaction held, no session left), the PIN is presented at most once and the card's PIN counter
/// moved only when a wrong PIN's VERIFY reached the card and was processed (CPS with the right and a wrong PIN), and
/// a new insertion of the same card in the same reader completes a full session. Virtual time: the
/// service clock never moves (no timeout fires) and the simulated card's waiting times are virtual. Each service
/// has its own certificate cache: the faulted session reads the certificates (cold), the next one uses the cache.
@Suite("Fault-injection matrix: service full session")
struct ServiceSessionMatrixTests {
    static let cpsPersona = "cps3-moreau-pharmacist"
    static let vitalePersona = "vitale2-bernard-family"
    static let pinpad = SimulatedReaderPool.pinpadReaderName
    static let contact = SimulatedReaderPool.contactReaderName
    /// The care date of the Vitale reads (rights are checked at it).
    static let today = Date(timeIntervalSince1970: 1_768_435_200)  // 2026-01-15 00:00 UTC

    /// The faults of the other flows' matrices (`FaultMatrixTests.Column`).
    typealias Column = FaultMatrixTests.Column

    /// How a session ended, as the service published it.
    enum SessionEnd: Equatable, CustomStringConvertible {
        case authenticated(AuthenticatedProfessional)
        case patientIdentified(PatientIdentification)
        case refused(RefusalReason)
        /// `cardRemoved` then `sessionEnded(cardRemoved)` and `idle`, no outcome.
        case removed
        /// No end within the guard time (a hang).
        case none

        var description: String {
            switch self {
            case .authenticated(let i): return "authenticated \(i.nom)"
            case .patientIdentified(let p): return "patientIdentified \(p)"
            case .refused(let r): return "refused(\(r.rawValue))"
            case .removed: return "card removed"
            case .none: return "no end of session"
            }
        }

        var phase: ReaderPhase {
            switch self {
            case .authenticated: return .authenticated
            case .patientIdentified: return .patientIdentified
            case .refused: return .refused
            case .removed, .none: return .idle
            }
        }
    }

    // MARK: Harness

    /// A service on the three simulated readers, its event stream recorded.
    struct Harness {
        let service: TerminalService
        let pool: SimulatedReaderPool
        let recorder: EventRecorder
        let running: Task<Void, Never>
        let directory: String

        static func start() async throws -> Harness {
            var conf = TerminalConfiguration()
            conf.acceptTestCards = true
            let pool = SimulatedReaderPool()
            // A certificate cache of its own: every session of the matrix starts cold (the shared cache would let
            // later services skip the certificate reads, and change the APDU numbering).
            let authentication = CPSAuthenticationFlow(
                policy: AuthenticationPolicy(validator: try TestPKI.shared().validator()),
                certificateCache: CPSCertificateCache())
            let directory = NSTemporaryDirectory() + "carte-service-matrix-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let service = TerminalService(
                configuration: conf, source: pool,
                runner: SimulatedPersonaFlowRunner(
                    pool: pool, badges: nil, authentication: authentication, today: { ServiceSessionMatrixTests.today }),
                audit: try AuditLog(path: directory + "/audit.sqlite"), clock: StoppedClock())
            let recorder = EventRecorder(await service.bus.subscribe())
            let running = Task { await service.run(tickEvery: nil) }
            let h = Harness(service: service, pool: pool, recorder: recorder, running: running, directory: directory)
            let added = await recorder.wait(from: 0) { $0.filter { $0.type == .readerAdded }.count == 3 }
            #expect(added != nil, "the three simulated readers did not appear")
            return h
        }

        func stop() async {
            running.cancel()
            await running.value
            recorder.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        func reader(_ name: String) async throws -> SimulatedReader {
            try #require(await pool.reader(named: name))
        }

        /// Waits for the end of `session` (its outcome, or its removal) and returns it with the session's events.
        func end(of session: String, from: Int) async -> (SessionEnd, [TerminalEvent]) {
            let terminal: Set<TerminalEventType> = [.authenticated, .patientIdentified, .refused, .sessionEnded]
            guard let events = await recorder.wait(from: from, until: { es in
                es.contains { $0.session == session && terminal.contains($0.type) }
            }) else { return (.none, recorder.events(from: from)) }
            let mine = events.filter { $0.session == session }
            guard let last = mine.last(where: { terminal.contains($0.type) }) else { return (.none, mine) }
            switch last.type {
            case .authenticated: return (last.identity.map(SessionEnd.authenticated) ?? .none, mine)
            case .patientIdentified: return (last.patient.map(SessionEnd.patientIdentified) ?? .none, mine)
            case .refused: return (last.reason.flatMap(RefusalReason.init(rawValue:)).map(SessionEnd.refused) ?? .none, mine)
            default: return (.removed, mine)
            }
        }

        /// Removes the card of `reader` (if still there) and waits for the reader to be idle with no session.
        /// - Returns: false when the session did not end.
        func removeAndSettle(_ reader: String, session: String) async throws -> Bool {
            let from = recorder.count
            let wasIdle = await service.state(ofReader: readerID(reader)) == .idle
            try await pool.remove(reader: reader)
            if wasIdle { return await service.sessionSnapshots().isEmpty }
            return await recorder.wait(from: from) { es in
                es.contains { $0.type == .sessionEnded && $0.session == session }
                    && es.contains { $0.type == .idle && $0.readerName == reader }
            } != nil
        }

        /// The API id of a simulated reader (the pool adds them in this order).
        func readerID(_ name: String) -> String {
            name == ServiceSessionMatrixTests.pinpad ? "r1" : name == ServiceSessionMatrixTests.contact ? "r2" : "r3"
        }
    }

    /// The C-APDUs sent to the card, with INTERNAL AUTHENTICATE (a fresh random challenge) cut to its header.
    static func commands(_ reader: SimulatedReader) async -> [[UInt8]] {
        await reader.transcript.filter { $0.kind == .apdu }.map { e in
            e.command.count > 5 && e.command[1] == 0x88 ? Array(e.command.prefix(5)) : e.command
        }
    }

    static func isVerifyWithPIN(_ c: [UInt8]) -> Bool { c.count > 5 && c[1] == 0x20 }

    /// The tries left of the held card, read in a separate reader without presenting anything.
    static func triesLeft(_ holder: CardHolder) async throws -> Int {
        let reader = SimulatedReader(name: "service matrix check reader")
        await reader.insert(HeldCard(holder))
        let session = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        let n = try await session.pinStatus().triesLeft
        await reader.disconnect(.unpower)
        return n
    }

    /// The persona's PIN, or a wrong one (its last digit changed).
    static func professionalPIN(right: Bool) throws -> String {
        guard case .professional(let p) = try PersonaCatalog.persona(cpsPersona) else {
            throw CardError.emptyRead(offset: 0)
        }
        var pin = p.pin.asciiBytes
        if !right { pin[pin.count - 1] = pin[pin.count - 1] == 0x30 ? 0x31 : 0x30 }
        return String(decoding: pin, as: UTF8.self)
    }

    /// One CPS session on the pinpad reader of `h`: PIN typed ahead on the pinpad, the held card inserted with
    /// `plan` set. Returns its end, its events, the C-APDUs sent, and how many keypad entries typed for an earlier
    /// session were still queued in the simulated pinpad (the flow runner drops them before this session's PIN).
    static func cpsSession(_ h: Harness, _ holder: CardHolder, pin: String, plan: FaultPlan, session: String)
        async throws -> (SessionEnd, [TerminalEvent], [[UInt8]], stale: Int)
    {
        let reader = try await h.reader(pinpad)
        // Entries typed for an earlier session that ended before its VERIFY: the flow runner must drop them (a
        // wrong PIN left there would fail this session and burn a try), so they are counted, not removed, here.
        let stale = await reader.queuedKeypadEntries
        await reader.resetStatistics()
        await reader.setFaultPlan(plan)
        try await h.pool.typeOnPinpad(reader: pinpad, digits: pin)
        let from = h.recorder.count
        await h.pool.insertHeld(reader: pinpad, persona: cpsPersona, card: holder)
        let (end, events) = await h.end(of: session, from: from)
        return (end, events, await commands(reader), stale)
    }

    static func vitaleSession(_ h: Harness, plan: FaultPlan, session: String) async throws
        -> (SessionEnd, [TerminalEvent], [[UInt8]])
    {
        let reader = try await h.reader(contact)
        await reader.resetStatistics()
        await reader.setFaultPlan(plan)
        let from = h.recorder.count
        try await h.pool.insert(reader: contact, persona: vitalePersona)
        let (end, events) = await h.end(of: session, from: from)
        return (end, events, await commands(reader))
    }

    /// The reader is released once the session is over: no transaction held (the flow's own clean-up runs in a
    /// task of its own, so this is polled under the guard time).
    static func released(_ reader: SimulatedReader) async -> Bool {
        await EventRecorder.poll { await reader.isInTransaction == false }
    }

    // MARK: CPS

    /// What a fault at APDU k of the clean CPS session must give (the rules of the CPS authentication matrix,
    /// through `CPSAuthenticationFlow.outcome`): a removal ends the session; EF.DIR is read like any other file (a
    /// fault there fails the attempt); the tries left read by VERIFY without data fall back to GET DATA on the CHV
    /// SDO when the status word is not a PIN status; anything else fails the authentication (`failed`), as does a
    /// card that stays mute.
    static func expectedCPS(_ column: Column, k: Int, clean: [[UInt8]], cleanEnd: SessionEnd) -> SessionEnd {
        let c = clean[k - 1]
        let pinStatusStep = c.count <= 5 && c.count > 1 && c[1] == 0x20
        switch column {
        case .removedBefore: return .removed
        case .muteOnce, .truncated, .muteFromK: return .refused(.failed)
        case .statusWordDamaged: return pinStatusStep ? cleanEnd : .refused(.failed)
        }
    }

    /// Whether the card processed the VERIFY at index `v` (1-based) of a session faulted by `column` at `k`: before
    /// k always; at k only when the answer was damaged after processing; after k unless the card stayed mute (and
    /// nothing is sent after a removal).
    static func verifyProcessed(at v: Int, column: Column, k: Int) -> Bool {
        if v < k { return true }
        if v == k { return column == .truncated || column == .statusWordDamaged }
        return column != .muteFromK && column != .removedBefore
    }

    @Test(
        "Service, CPS session on the pinpad: every fault at every APDU ends the session right, and the next one completes",
        arguments: [true, false])
    func cpsSessionMatrix(rightPIN: Bool) async throws {
        // The clean session: inserted → recognised → PIN on the pinpad → authenticated (or refused, wrong PIN).
        let pin = try Self.professionalPIN(right: rightPIN)
        let rightPin = try Self.professionalPIN(right: true)
        let maxTries = try await Self.triesLeft(CardHolder(try PersonaCatalog.makeCard(persona: Self.cpsPersona)))
        let h0 = try await Harness.start()
        let cleanHolder = CardHolder(try PersonaCatalog.makeCard(persona: Self.cpsPersona))
        let (cleanEnd, cleanEvents, clean, _) = try await Self.cpsSession(
            h0, cleanHolder, pin: pin, plan: .none, session: "r1-1")
        #expect(cleanEvents.map(\.type) == [.cardInserted, .cardRecognised, .pinRequested, rightPIN ? .authenticated : .refused])
        #expect(try await h0.removeAndSettle(Self.pinpad, session: "r1-1"))
        // The authenticated identity, for the next insertions (always with the right PIN).
        let (authenticated, _, _, _) = try await Self.cpsSession(h0, cleanHolder, pin: rightPin, plan: .none, session: "r1-2")
        #expect(try await h0.removeAndSettle(Self.pinpad, session: "r1-2"))
        await h0.stop()
        guard case .authenticated(let identity) = authenticated else {
            Issue.record("the clean CPS session ended with \(authenticated)")
            return
        }
        #expect(identity.nom == "MOREAU" && identity.rpps == "99700567890")
        if rightPIN {
            #expect(cleanEnd == authenticated)
        } else {
            #expect(cleanEnd == .refused(.wrongPin))
            #expect(cleanEvents.last?.triesLeft == maxTries - 1)
        }
        let n = clean.count
        guard let verifyIndex = clean.firstIndex(where: Self.isVerifyWithPIN).map({ $0 + 1 }) else {
            Issue.record("the clean session sent no VERIFY with the PIN")
            return
        }
        #expect(rightPIN ? n > verifyIndex : n == verifyIndex)

        var cells = 0
        var staleSessions = 0
        var failures: [String] = []
        for k in 1...n {
            for column in Column.allCases {
                cells += 1
                let cell = "k=\(k) \(column) (\(clean[k - 1].prefix(4).hexString(separator: " ")))"
                let h = try await Harness.start()
                let holder = CardHolder(try PersonaCatalog.makeCard(persona: Self.cpsPersona))
                let (end, events, sent, _) = try await Self.cpsSession(
                    h, holder, pin: pin, plan: column.plan(k: k, total: n), session: "r1-1")
                failures += Self.checkSessionEnd(
                    cell, end: end, want: Self.expectedCPS(column, k: k, clean: clean, cleanEnd: cleanEnd), events: events)
                if Array(sent.prefix(k - 1)) != Array(clean.prefix(k - 1)) {
                    failures.append("\(cell): the commands before #\(k) differ from the clean session's")
                }
                if column == .removedBefore && sent.count != k - 1 {
                    failures.append("\(cell): \(sent.count - k + 1) commands sent after the removal")
                }
                let verifies = sent.indices.filter { Self.isVerifyWithPIN(sent[$0]) }
                if verifies.count > 1 { failures.append("\(cell): the PIN was presented \(verifies.count) times") }
                if end == .refused(.wrongPin), events.last?.triesLeft != maxTries - 1 {
                    failures.append("\(cell): wrongPin with \(events.last?.triesLeft.map(String.init) ?? "no") tries left")
                }
                // End the session (the card is taken out when it is still in), then the reader is released.
                if !(try await h.removeAndSettle(Self.pinpad, session: "r1-1")) {
                    failures.append("\(cell): removing the card did not end the session")
                }
                if !(await Self.released(try await h.reader(Self.pinpad))) {
                    failures.append("\(cell): the reader's transaction is still held")
                }
                if !(await h.service.sessionSnapshots()).isEmpty { failures.append("\(cell): a session is left open") }
                // The PIN counter moved only if the VERIFY reached the card and was processed, and the PIN was wrong.
                let processed = verifies.first.map { Self.verifyProcessed(at: $0 + 1, column: column, k: k) } ?? false
                let wantTries = !rightPIN && processed ? maxTries - 1 : maxTries
                let tries = try await Self.triesLeft(holder)
                if tries != wantTries { failures.append("\(cell): \(tries) tries left, expected \(wantTries)") }
                // The service keeps running and the next insertion of the same card, right PIN, completes a session.
                let (again, againEvents, _, stale) = try await Self.cpsSession(
                    h, holder, pin: rightPin, plan: .none, session: "r1-2")
                if stale > 0 { staleSessions += 1 }
                if again != authenticated
                    || againEvents.map(\.type) != [.cardInserted, .cardRecognised, .pinRequested, .authenticated]
                {
                    failures.append("\(cell): the next insertion gave \(again) (\(againEvents.map(\.type.rawValue)))")
                }
                if !(try await h.removeAndSettle(Self.pinpad, session: "r1-2")) {
                    failures.append("\(cell): the next session did not end on removal")
                }
                await h.stop()
            }
        }
        print("fault matrix: serviceSession CPS (\(Self.cpsPersona), pinpad, \(rightPIN ? "right" : "wrong") PIN) \(n) APDUs × \(Column.allCases.count) faults = \(cells) cells, \(cells - Set(failures.map { $0.prefix { $0 != ":" } }).count) passed; \(staleSessions) left a typed PIN queued in the simulated pinpad, dropped by the next session")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    // MARK: Vitale

    /// What a fault at APDU k of the clean Vitale session must give (the rules of the Vitale read matrix, through
    /// `VitaleCardFlow`): a removal ends the session; one mute answer is re-sent and the read completes; the
    /// refused SELECT MF_VITALE by AID falls back to the FID (same read); any other damage is `readFailed`.
    static func expectedVitale(_ column: Column, command: [UInt8], cleanEnd: SessionEnd) -> SessionEnd {
        switch column {
        case .removedBefore: return .removed
        case .muteOnce: return cleanEnd
        case .muteFromK, .truncated: return .refused(.readFailed)
        case .statusWordDamaged:
            if command.count > 5, command[1] == 0xA4, command[2] == 0x04,
                Array(command[5...].prefix(Vitale2Identifiers.mfVitaleAID.count)) == Vitale2Identifiers.mfVitaleAID
            {
                return cleanEnd
            }
            return .refused(.readFailed)
        }
    }

    @Test("Service, Vitale session: every fault at every APDU ends the session right, and the next one completes")
    func vitaleSessionMatrix() async throws {
        let h0 = try await Harness.start()
        let (cleanEnd, cleanEvents, clean) = try await Self.vitaleSession(h0, plan: .none, session: "r2-1")
        #expect(cleanEvents.map(\.type) == [.cardInserted, .cardRecognised, .patientIdentified])
        guard case .patientIdentified(let patient) = cleanEnd else {
            Issue.record("the clean Vitale session ended with \(cleanEnd)")
            await h0.stop()
            return
        }
        #expect(patient.beneficiaries.map(\.prenom) == ["THOMAS", "SOPHIE", "EMMA", "LUCAS"])
        #expect(try await h0.removeAndSettle(Self.contact, session: "r2-1"))
        await h0.stop()
        let n = clean.count
        #expect(n >= 3)

        var cells = 0
        var failures: [String] = []
        for k in 1...n {
            for column in Column.allCases {
                cells += 1
                let cell = "k=\(k) \(column) (\(clean[k - 1].prefix(4).hexString(separator: " ")))"
                let h = try await Harness.start()
                let (end, events, sent) = try await Self.vitaleSession(h, plan: column.plan(k: k, total: n), session: "r2-1")
                failures += Self.checkSessionEnd(
                    cell, end: end, want: Self.expectedVitale(column, command: clean[k - 1], cleanEnd: cleanEnd),
                    events: events)
                if Array(sent.prefix(k - 1)) != Array(clean.prefix(k - 1)) {
                    failures.append("\(cell): the commands before #\(k) differ from the clean session's")
                }
                if column == .removedBefore && sent.count != k - 1 {
                    failures.append("\(cell): \(sent.count - k + 1) commands sent after the removal")
                }
                // The Vitale read never touches a PIN counter.
                if sent.contains(where: { $0.count > 1 && [0x20, 0x24, 0x2C].contains($0[1]) }) {
                    failures.append("\(cell): a PIN command was sent")
                }
                if !(try await h.removeAndSettle(Self.contact, session: "r2-1")) {
                    failures.append("\(cell): removing the card did not end the session")
                }
                if !(await Self.released(try await h.reader(Self.contact))) {
                    failures.append("\(cell): the reader's transaction is still held")
                }
                if !(await h.service.sessionSnapshots()).isEmpty { failures.append("\(cell): a session is left open") }
                let (again, againEvents, _) = try await Self.vitaleSession(h, plan: .none, session: "r2-2")
                if again != cleanEnd || againEvents.map(\.type) != [.cardInserted, .cardRecognised, .patientIdentified] {
                    failures.append("\(cell): the next insertion gave \(again) (\(againEvents.map(\.type.rawValue)))")
                }
                if !(try await h.removeAndSettle(Self.contact, session: "r2-2")) {
                    failures.append("\(cell): the next session did not end on removal")
                }
                await h.stop()
            }
        }
        print("fault matrix: serviceSession Vitale (\(Self.vitalePersona)) \(n) APDUs × \(Column.allCases.count) faults = \(cells) cells, \(cells - Set(failures.map { $0.prefix { $0 != ":" } }).count) passed")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    // MARK: Shared checks

    /// The session ended as `want`, with the events that go with it, and the reader shows that state.
    static func checkSessionEnd(
        _ cell: String, end: SessionEnd, want: SessionEnd, events: [TerminalEvent]
    ) -> [String] {
        var out: [String] = []
        if end != want { out.append("\(cell): expected \(want), got \(end) (\(events.map(\.type.rawValue)))") }
        let types = events.map(\.type)
        if types.first != .cardInserted { out.append("\(cell): the session did not begin with cardInserted") }
        switch end {
        case .removed:
            // The removal ends the session with its reason, then the reader is idle; no outcome is published.
            let ended = events.first { $0.type == .sessionEnded }
            if ended?.reason != SessionEndReason.cardRemoved.rawValue {
                out.append("\(cell): sessionEnded reason \(ended?.reason ?? "none")")
            }
            if !types.contains(.cardRemoved) { out.append("\(cell): no cardRemoved event") }
            if types.contains(where: { [.authenticated, .patientIdentified, .refused].contains($0) }) {
                out.append("\(cell): an outcome was published for a removed card")
            }
        case .refused(let r):
            let e = events.last { $0.type == .refused }
            if e?.reasonText != r.text { out.append("\(cell): refusal text \(e?.reasonText ?? "none")") }
        default: break
        }
        return out
    }
}

/// A service clock that never moves: no recognition or PIN timeout fires during the matrix.
struct StoppedClock: TerminalClock {
    func now() -> TerminalMilliseconds { 0 }
}

/// Records every event a service publishes, for the test to wait on.
final class EventRecorder: Sendable {
    private let box = Mutex<[TerminalEvent]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// The longest wait for an event, in real time: only a guard against a hang, never a timing assertion.
    static let guardTime: Duration = .seconds(20)

    init(_ stream: AsyncStream<TerminalEvent>) {
        let t = Task { [self] in
            for await e in stream { self.box.withLock { $0.append(e) } }
        }
        task.withLock { $0 = t }
    }

    func stop() { task.withLock { $0?.cancel() } }

    var count: Int { box.withLock { $0.count } }

    func events(from: Int) -> [TerminalEvent] { box.withLock { Array($0[min(from, $0.count)...]) } }

    /// Waits until the events published since index `from` satisfy `done`; returns them, nil after the guard time.
    func wait(from: Int, until done: ([TerminalEvent]) -> Bool) async -> [TerminalEvent]? {
        let deadline = ContinuousClock.now + Self.guardTime
        while ContinuousClock.now < deadline {
            let es = events(from: from)
            if done(es) { return es }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    /// Polls `condition` until it holds (true) or the guard time passes (false).
    static func poll(_ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + guardTime
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return false
    }
}

extension SimulatedReaderPool {
    /// Inserts a held card (the same physical card across insertions: its PIN counter survives) as `persona`'s.
    func insertHeld(reader name: String, persona: String, card: CardHolder) async {
        personaByReader[name] = persona
        await set.reader(named: name)?.insert(HeldCard(card))
    }
}

