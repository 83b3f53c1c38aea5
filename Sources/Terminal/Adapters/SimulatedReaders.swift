import Authentication
import CardSimulator
import Foundation
import INS
import ISO7816

/// `carte serve --simulate`: three simulated readers from CardSimulator (a pinpad reader for professionals, a
/// contact reader for patients, a contactless reader for badges) as a `ReaderEventSource`, with the simulator
/// control of the API (insert a persona's card, remove it, type on the pinpad, unplug).
public actor SimulatedReaderPool: ReaderEventSource, SimulatorControl {
    public static let pinpadReaderName = "Carte Simulated Pinpad 00 00"
    public static let contactReaderName = "Carte Simulated Contact 01 00"
    public static let contactlessReaderName = "Carte Simulated Contactless 02 00"

    let set = VirtualReaderSet()
    /// The persona whose card is in each reader (the simulated flow runner reads it).
    var personaByReader: [String: String] = [:]
    /// Digits typed on each simulated pinpad, consumed by the next PIN request there.
    var keypad: [String: [String]] = [:]
    var keypadWaiters: [String: (token: Int, continuation: CheckedContinuation<String?, Never>)] = [:]
    var nextToken = 0
    var started = false

    public init() {}

    /// Adds the three readers (emits their `readerAdded`).
    public func start() async {
        guard !started else { return }
        started = true
        await set.addReader(name: Self.pinpadReaderName, configuration: .pinpad())
        await set.addReader(name: Self.contactReaderName, configuration: .contact())
        await set.addReader(name: Self.contactlessReaderName, configuration: .contactless())
    }

    public nonisolated func events() -> AsyncStream<ReaderHardwareEvent> {
        let upstream = set.events
        return AsyncStream { continuation in
            let task = Task {
                await self.start()
                for await e in upstream {
                    switch e {
                    case .readerAdded(let name):
                        let r = await self.set.reader(named: name)
                        let caps = await r?.capabilities ?? ReaderCapabilities()
                        continuation.yield(.readerAdded(ReaderDescriptor(
                            name: name, hasPinpad: caps.hasPinpad, isContactless: caps.isContactless)))
                    case .readerRemoved(let name): continuation.yield(.readerRemoved(name))
                    case .cardInserted(let reader, let atr): continuation.yield(.cardInserted(reader: reader, atr: atr))
                    case .cardRemoved(let reader):
                        continuation.yield(.cardRemoved(reader: reader))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    func forget(_ reader: String) {
        personaByReader[reader] = nil
        keypad[reader] = nil
        keypadWaiters.removeValue(forKey: reader)?.continuation.resume(returning: nil)
    }

    /// The simulated reader named `name`.
    public func reader(named name: String) async -> SimulatedReader? { await set.reader(named: name) }

    /// The persona whose card is in reader `name`.
    public func persona(in name: String) -> String? { personaByReader[name] }

    public func insert(reader name: String, persona: String) async throws(TerminalError) {
        guard let r = await set.reader(named: name) else { throw .noSuchReader(name) }
        personaByReader[name] = persona
        do { try await r.insert(persona: persona) } catch {
            personaByReader[name] = nil
            throw .badRequest("\(error)")
        }
    }

    public func remove(reader name: String) async throws(TerminalError) {
        guard let r = await set.reader(named: name) else { throw .noSuchReader(name) }
        forget(name)
        await r.remove()
    }

    public func typeOnPinpad(reader name: String, digits: String) async throws(TerminalError) {
        guard let r = await set.reader(named: name) else { throw .noSuchReader(name) }
        guard r.configuration.pinpad != nil else { throw .badRequest("reader '\(name)' has no pinpad") }
        if let w = keypadWaiters.removeValue(forKey: name) {
            w.continuation.resume(returning: digits)
        } else {
            keypad[name, default: []].append(digits)
        }
    }

    public func setPlugged(reader name: String, _ plugged: Bool) async throws(TerminalError) {
        guard let r = await set.reader(named: name) else { throw .noSuchReader(name) }
        if plugged { await r.plugIn() } else { await r.unplug() }
    }

    /// Takes every entry typed ahead on the simulated pinpad of `name`.
    func takeKeypad(_ name: String) -> [String] {
        defer { keypad[name] = nil }
        return keypad[name] ?? []
    }

    /// Waits for digits typed on the simulated pinpad of `name`; nil when the card goes or the task is cancelled.
    func awaitKeypad(_ name: String) async -> String? {
        if var q = keypad[name], !q.isEmpty {
            let d = q.removeFirst()
            keypad[name] = q
            return d
        }
        nextToken += 1
        let token = nextToken
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
                if Task.isCancelled {
                    c.resume(returning: nil)
                    return
                }
                keypadWaiters.removeValue(forKey: name)?.continuation.resume(returning: nil)
                keypadWaiters[name] = (token, c)
            }
        } onCancel: {
            Task { await self.cancelKeypad(name, token: token) }
        }
    }

    func cancelKeypad(_ name: String, token: Int) {
        guard keypadWaiters[name]?.token == token else { return }
        keypadWaiters.removeValue(forKey: name)?.continuation.resume(returning: nil)
    }
}

/// The card flows of `--simulate`. Patients: the real Vitale read (`VitaleCardFlow`, Vitale module) over the
/// simulated card. Badges: the real DESFire AES authentication and tap & go (`TerminalBadges`, over the
/// Authentication module's `BadgeAuthenticator`) on the simulated contactless reader. Professionals: the real
/// `CPSAuthenticator` when `authentication` is given (the test PKI); otherwise decided over the persona data of the
/// simulated cards (PIN compared in constant time with the persona's and dropped). Never used outside `--simulate`.
public struct SimulatedPersonaFlowRunner: CardFlowRunner {
    let pool: SimulatedReaderPool
    let badges: TerminalBadges?
    let authentication: CPSAuthenticationFlow?
    let today: @Sendable () -> Date

    /// - Parameter badges: the badge authenticator (site key of the personas); nil refuses every badge.
    /// - Parameter authentication: when given (a policy on the test PKI), professional cards go through the real
    ///   `CPSAuthenticator` against the simulated CPS3 cards; the digits typed on the simulated pinpad are handed to
    ///   the simulated reader's keypad when the flow starts.
    public init(
        pool: SimulatedReaderPool, badges: TerminalBadges?, authentication: CPSAuthenticationFlow? = nil,
        today: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.pool = pool
        self.badges = badges
        self.authentication = authentication
        self.today = today
    }

    public func run(
        reader: ReaderDescriptor, role: ReaderRole, atr: [UInt8], pinEntry: any PINEntry,
        progress: @escaping @Sendable (CardFlowProgress) async -> Void
    ) async -> CardFlowOutcome {
        guard let transport = await pool.reader(named: reader.name) else { return .cardRemoved }
        guard let id = await pool.persona(in: reader.name), let persona = try? PersonaCatalog.persona(id) else {
            return .refused(.notRecognised)
        }
        if case .patient = persona, role == .patient {
            return await VitaleCardFlow.identify(transport: transport, today: today(), progress: progress)
        }
        if case .badge(let b) = persona {
            let kind: CardKind = b.card.hasPrefix("desfire") ? .desfire : .iso14443
            guard role == .badge, let badges else {
                await progress(.recognised(kind, isTestCard: true))
                return .refused(.notSupported)
            }
            // The simulated reader is one shared connection: closed before the outcome, so that an enrolment on
            // this reader afterwards starts from a fresh card.
            let outcome = await badges.tap(transport: transport, kind: kind, isTestCard: true, progress: progress)
            await transport.disconnect(.reset)
            return outcome
        }
        if case .professional = persona, role == .professional, let authentication {
            if reader.hasPinpad {
                // Digits typed for an earlier session that ended before its VERIFY are dropped first: presented to
                // this card they could burn one of its tries.
                await transport.clearKeypad()
                let typed = await pool.takeKeypad(reader.name)
                await transport.enqueueKeypad(typed.map { KeypadEntry.typed($0) })
            }
            defer { Task { await transport.disconnect(.reset) } }
            return await authentication.run(
                transport: transport, reader: reader, atr: atr, isTestCard: true, pinEntry: pinEntry, progress: progress)
        }
        do {
            _ = try await transport.connect(preferred: [.t0, .t1])
        } catch {
            switch error {
            case .cardRemoved, .noCard, .readerGone: return .cardRemoved
            default: return .refused(.readFailed)
            }
        }
        defer { Task { await transport.disconnect(.leave) } }
        switch persona {
        case .professional(let p):
            await progress(.recognised(reader.isContactless ? .cps3Contactless : .cps3, isTestCard: true))
            guard role == .professional else { return .refused(.notSupported) }
            if p.pinTriesLeft == 0 { return .refused(.pinBlocked, triesLeft: 0) }
            await progress(.pinRequested(onPinpad: reader.hasPinpad))
            let typed: [UInt8]?
            if reader.hasPinpad {
                typed = await pool.awaitKeypad(reader.name).map { Array($0.utf8) }
            } else {
                typed = await pinEntry.awaitPIN(reader: reader.name)?.digits
            }
            guard let typed else { return Task.isCancelled ? .cardRemoved : .refused(.pinTimeout) }
            guard constantTimeEqual(typed, p.pin.asciiBytes) else {
                return .refused(.wrongPin, triesLeft: max(p.pinTriesLeft - 1, 0))
            }
            switch p.certificates.status {
            case "revoked": return .refused(.revoked)
            case "expired": return .refused(.expired)
            default: break
            }
            return .authenticated(
                AuthenticatedProfessional(
                    idNat: p.idNat ?? p.rpps.map { "8\($0)" } ?? p.serialDigits, rpps: p.rpps, nom: p.nomExercice,
                    prenom: p.prenomExercice, profession: p.professionLabel, cardType: p.cardType),
                assurance: reader.isContactless ? .cpsContactless : .cpsPin)
        case .patient:
            // A carte Vitale in a reader of another role (in a patient reader it was read above).
            await progress(.recognised(.vitale2, isTestCard: true))
            return .refused(.notSupported)
        case .badge:
            return .refused(.notSupported)  // handled above
        }
    }

}

extension CPSAuthenticationFlow {
    /// The flow of `--simulate`: the simulated test PKI (CardSimulator `TestPKI`, its root, intermediate and CRLs)
    /// as the only trust. nil when the test PKI cannot be made or loaded.
    public static func simulatedTestPKI() -> CPSAuthenticationFlow? {
        guard let pki = try? TestPKI.shared() else { return nil }
        return CPSAuthenticationFlow(policy: AuthenticationPolicy(validator: pki.validator()))
    }
}
