import ISO7816

/// Milliseconds on the service's clock (monotonic; virtual in tests).
public typealias TerminalMilliseconds = Int64

/// The service's clock, injectable so tests drive timeouts without waiting.
public protocol TerminalClock: Sendable {
    /// Milliseconds since an arbitrary origin, never decreasing.
    func now() -> TerminalMilliseconds
}

/// The monotonic system clock.
public struct SystemTerminalClock: TerminalClock {
    let origin = ContinuousClock.now
    public init() {}
    public func now() -> TerminalMilliseconds {
        let d = ContinuousClock.now - origin
        return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}

/// Where a reader is in its access flow (the `state` of `GET /v1/readers`).
public enum ReaderPhase: String, Sendable, Hashable, Codable {
    case idle, cardPresent, recognised, pinPending, authenticated, patientIdentified, refused, cardRemoved
    case unplugged, degraded
}

/// A reader's state with what each state carries.
public enum ReaderState: Sendable, Hashable {
    case idle
    /// A card answered; the flow is recognising it.
    case cardPresent(session: String, atr: [UInt8])
    case recognised(session: String, kind: CardKind)
    case pinPending(session: String, kind: CardKind, onPinpad: Bool)
    case authenticated(session: String, identity: AuthenticatedProfessional, assurance: AssuranceLevel)
    case patientIdentified(session: String, patient: PatientIdentification)
    /// The card stays in the slot but was refused; the session ends when it is removed.
    case refused(session: String, reason: RefusalReason, triesLeft: Int?)
    /// Transient: the card was just removed; the machine goes on to `idle` in the same step.
    case cardRemoved(session: String)
    case unplugged
    case degraded

    public var phase: ReaderPhase {
        switch self {
        case .idle: return .idle
        case .cardPresent: return .cardPresent
        case .recognised: return .recognised
        case .pinPending: return .pinPending
        case .authenticated: return .authenticated
        case .patientIdentified: return .patientIdentified
        case .refused: return .refused
        case .cardRemoved: return .cardRemoved
        case .unplugged: return .unplugged
        case .degraded: return .degraded
        }
    }

    /// The card session in progress, if any.
    public var session: String? {
        switch self {
        case .cardPresent(let s, _), .recognised(let s, _), .pinPending(let s, _, _), .authenticated(let s, _, _),
            .patientIdentified(let s, _), .refused(let s, _, _), .cardRemoved(let s):
            return s
        case .idle, .unplugged, .degraded: return nil
        }
    }
}

/// What feeds a reader's state machine: hardware events, flow progress (tagged with their session, so that a late
/// answer of a session already ended is ignored) and clock ticks.
public enum ReaderInput: Sendable, Hashable {
    case cardInserted(atr: [UInt8])
    case cardRemoved
    case recognised(session: String, kind: CardKind, isTestCard: Bool)
    case pinRequested(session: String, onPinpad: Bool)
    case outcome(session: String, CardFlowOutcome)
    case unplugged
    case pluggedIn
    case degraded
    case restored
    /// The clock moved; expired deadlines fire.
    case tick
}

/// Why a card session ended.
public enum SessionEndReason: String, Sendable, Hashable, Codable {
    case cardRemoved, readerUnplugged, monitoringDegraded
}

/// What the service must do after a step of the machine, in order.
public enum ReaderEffect: Sendable, Hashable {
    /// Entered this state (one per transition, in order; `cardRemoved` is followed by `idle` in the same step).
    case entered(ReaderState)
    /// A session began: run the card flow for it.
    case startFlow(session: String, atr: [UInt8])
    /// Stop the flow of this session (removal, timeout, policy refusal).
    case cancelFlow(session: String)
    /// The session is over everywhere (API, kiosk, PIN mailbox).
    case endSession(session: String, reason: SessionEndReason)
}

/// Timeouts and policies the machine applies.
public struct ReaderPolicy: Sendable, Hashable {
    /// Time allowed from ATR to recognition, in ms.
    public var recognitionTimeout: TerminalMilliseconds
    /// Time allowed for the PIN, in ms.
    public var pinTimeout: TerminalMilliseconds
    /// Refuse PIN entry other than on the reader's pinpad.
    public var requirePinpad: Bool
    /// Accept cards of the test PKI.
    public var acceptTestCards: Bool

    public init(
        recognitionTimeout: TerminalMilliseconds = 10_000, pinTimeout: TerminalMilliseconds = 60_000,
        requirePinpad: Bool = false, acceptTestCards: Bool = true
    ) {
        self.recognitionTimeout = recognitionTimeout
        self.pinTimeout = pinTimeout
        self.requirePinpad = requirePinpad
        self.acceptTestCards = acceptTestCards
    }
}

extension TerminalConfiguration {
    /// The reader policy the state machines apply (timeouts in ms from the configuration's seconds).
    public var readerPolicy: ReaderPolicy {
        ReaderPolicy(
            recognitionTimeout: TerminalMilliseconds(recognitionTimeoutSeconds) * 1000,
            pinTimeout: TerminalMilliseconds(pinTimeoutSeconds) * 1000, requirePinpad: requirePinpad,
            acceptTestCards: acceptTestCards)
    }
}

/// The per-reader access flow, pure: idle → card present → recognised → (PIN pending) → authenticated / patient
/// identified → card removed → idle, with refusals, timeouts, unplugging and monitoring loss. No I/O: the service
/// applies the returned effects. Sessions are named `<readerID>-<n>`, n counting from 1.
public struct ReaderStateMachine: Sendable {
    public let readerID: String
    public var policy: ReaderPolicy
    public private(set) var state: ReaderState = .idle
    /// When the current state times out, if it does.
    public private(set) var deadline: TerminalMilliseconds?
    private var sessionCounter = 0

    public init(readerID: String, policy: ReaderPolicy = ReaderPolicy()) {
        self.readerID = readerID
        self.policy = policy
    }

    /// Applies one input at time `now` and returns the effects, in order.
    public mutating func handle(_ input: ReaderInput, at now: TerminalMilliseconds) -> [ReaderEffect] {
        var effects: [ReaderEffect] = []
        func enter(_ s: ReaderState, deadline d: TerminalMilliseconds? = nil) {
            state = s
            deadline = d
            effects.append(.entered(s))
        }
        func current(_ session: String) -> Bool { state.session == session }
        func endCurrent(_ reason: SessionEndReason, then next: ReaderState) {
            if let s = state.session {
                effects.append(.cancelFlow(session: s))
                if reason == .cardRemoved { enter(.cardRemoved(session: s)) }
                effects.append(.endSession(session: s, reason: reason))
            }
            enter(next)
        }
        func refuse(_ session: String, _ reason: RefusalReason, triesLeft: Int? = nil, cancel: Bool) {
            if cancel { effects.append(.cancelFlow(session: session)) }
            enter(.refused(session: session, reason: reason, triesLeft: triesLeft))
        }

        switch input {
        case .cardInserted(let atr):
            switch state {
            case .unplugged, .degraded: return []
            case .idle: break
            default:
                // A new ATR without a removal in between: the old card is gone.
                endCurrent(.cardRemoved, then: .idle)
            }
            sessionCounter += 1
            let s = "\(readerID)-\(sessionCounter)"
            enter(.cardPresent(session: s, atr: atr), deadline: now + policy.recognitionTimeout)
            effects.append(.startFlow(session: s, atr: atr))

        case .cardRemoved:
            guard state.session != nil else { return [] }
            endCurrent(.cardRemoved, then: .idle)

        case .recognised(let s, let kind, let isTest):
            guard current(s), case .cardPresent = state else { return [] }
            // The recognition deadline goes on covering the rest of the flow until a PIN is asked for.
            enter(.recognised(session: s, kind: kind), deadline: deadline)
            if isTest && !policy.acceptTestCards { refuse(s, .testCardRefused, cancel: true) }

        case .pinRequested(let s, let onPinpad):
            guard current(s), case .recognised(_, let kind) = state else { return [] }
            if !onPinpad && policy.requirePinpad {
                refuse(s, .pinpadRequired, cancel: true)
            } else {
                enter(.pinPending(session: s, kind: kind, onPinpad: onPinpad), deadline: now + policy.pinTimeout)
            }

        case .outcome(let s, let outcome):
            guard current(s) else { return [] }
            switch state {
            case .cardPresent, .recognised, .pinPending: break
            default: return []
            }
            switch outcome {
            case .authenticated(let identity, let assurance):
                enter(.authenticated(session: s, identity: identity, assurance: assurance))
            case .patientIdentified(let p):
                enter(.patientIdentified(session: s, patient: p))
            case .refused(let reason, let tries):
                refuse(s, reason, triesLeft: tries, cancel: false)
            case .cardRemoved:
                endCurrent(.cardRemoved, then: .idle)
            }

        case .unplugged:
            guard state != .unplugged else { return [] }
            endCurrent(.readerUnplugged, then: .unplugged)

        case .pluggedIn:
            guard state == .unplugged else { return [] }
            enter(.idle)

        case .degraded:
            // An unplugged reader stays unplugged: it comes back with its own `readerAdded`.
            guard state != .degraded, state != .unplugged else { return [] }
            endCurrent(.monitoringDegraded, then: .degraded)

        case .restored:
            guard state == .degraded else { return [] }
            enter(.idle)

        case .tick:
            guard let d = deadline, now >= d else { return [] }
            switch state {
            case .cardPresent(let s, _), .recognised(let s, _): refuse(s, .recognitionTimeout, cancel: true)
            case .pinPending(let s, _, _): refuse(s, .pinTimeout, cancel: true)
            default: deadline = nil
            }
        }
        return effects
    }
}
