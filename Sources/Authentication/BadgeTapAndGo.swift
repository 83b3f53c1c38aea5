import Badges
import Foundation
import ISO7816

/// A DESFire badge bound to a professional after a `cps-pin` authentication (issue 5 "Enrolment").
public struct BadgeEnrolment: Sendable, Hashable {
    /// The badge number read under the AES session (e.g. `B-000417`).
    public var badgeNumber: String
    /// The badge's UID (7 bytes for DESFire EV1); checked with the number, never used alone.
    public var uid: [UInt8]
    /// Who the badge stands for (from the validated certificate at enrolment).
    public var identity: ProfessionalIdentity
    public var enrolledAt: Date
    /// Revoked enrolments never authenticate.
    public var revokedAt: Date?

    public init(badgeNumber: String, uid: [UInt8], identity: ProfessionalIdentity, enrolledAt: Date, revokedAt: Date? = nil) {
        self.badgeNumber = badgeNumber
        self.uid = uid
        self.identity = identity
        self.enrolledAt = enrolledAt
        self.revokedAt = revokedAt
    }
}

/// What an enrolment attempt gave.
public enum BadgeEnrolmentOutcome: Sendable, Hashable {
    case enrolled(BadgeEnrolment)
    /// Refused, with the reason as a result value (`cpsRequired`, `notSupported`, `cardRemoved`…).
    case refused(AuthenticationResult)
}

enum BadgeRead: Sendable {
    case read(BadgeIdentity)
    case refused(AuthenticationResult)
}

/// Where enrolments and the last `cps-pin` authentication of each person live (SQLite in the service, memory in
/// tests). Keys: badge number; person = IdNat.
public protocol BadgeEnrolmentStore: Sendable {
    func enrolment(badgeNumber: String) async throws -> BadgeEnrolment?
    func save(_ enrolment: BadgeEnrolment) async throws
    /// Marks the enrolment revoked at `time`; returns false when there was none.
    func revoke(badgeNumber: String, at time: Date) async throws -> Bool
    func recordCPSAuthentication(idNat: String, at time: Date) async throws
    func lastCPSAuthentication(idNat: String) async throws -> Date?
    /// Every enrolment, revoked ones included, ordered by badge number.
    func enrolments() async throws -> [BadgeEnrolment]
}

/// An in-memory `BadgeEnrolmentStore`.
public actor InMemoryBadgeEnrolmentStore: BadgeEnrolmentStore {
    private var byNumber: [String: BadgeEnrolment] = [:]
    private var lastAuth: [String: Date] = [:]
    public init() {}
    public func enrolment(badgeNumber: String) -> BadgeEnrolment? { byNumber[badgeNumber] }
    public func save(_ enrolment: BadgeEnrolment) { byNumber[enrolment.badgeNumber] = enrolment }
    public func revoke(badgeNumber: String, at time: Date) -> Bool {
        guard var e = byNumber[badgeNumber] else { return false }
        e.revokedAt = time
        byNumber[badgeNumber] = e
        return true
    }
    public func recordCPSAuthentication(idNat: String, at time: Date) {
        if let old = lastAuth[idNat], old > time { return }
        lastAuth[idNat] = time
    }
    public func lastCPSAuthentication(idNat: String) -> Date? { lastAuth[idNat] }
    public func enrolments() -> [BadgeEnrolment] { byNumber.values.sorted { $0.badgeNumber < $1.badgeNumber } }
}

/// Badge enrolment and tap & go (issue 5 "Contactless and badges").
///
/// A badge authenticates only through DESFire AES mutual authentication with its key diversified from the site
/// master key (`BadgeSession.authenticateBadge`), its number read under the session MAC, an enrolment of that number
/// and UID, not revoked, and a `cps-pin` authentication of the same person less than `window` ago (default 12 h).
/// Outside the window the answer is `cpsRequired`. A UID alone (storage card) never authenticates: `notSupported`.
public actor BadgeAuthenticator {
    public let store: any BadgeEnrolmentStore
    /// Tap & go window after the person's last `cps-pin` authentication (seconds, default 12 h).
    public let window: TimeInterval
    /// How soon after the `cps-pin` authentication an enrolment must happen (seconds, default 5 min).
    public let enrolmentDelay: TimeInterval
    private let siteMasterKey: [UInt8]
    private let now: @Sendable () -> Date

    public init(
        store: any BadgeEnrolmentStore, siteMasterKey: [UInt8], window: TimeInterval = 12 * 3600,
        enrolmentDelay: TimeInterval = 300, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.siteMasterKey = siteMasterKey
        self.window = window
        self.enrolmentDelay = enrolmentDelay
        self.now = now
    }

    /// Records a CPS authentication: only `authenticated` at `cps-pin` opens the tap & go window.
    public func noteCPSAuthentication(_ r: AuthenticationResult) async throws {
        guard r.outcome == .authenticated, r.assurance == .cpsPin, let id = r.identity else { return }
        try await store.recordCPSAuthentication(idNat: id.idNat, at: r.time)
    }

    /// Binds the badge in `transport`'s reader to the person of `cpsResult`, which must be a `cps-pin` success less
    /// than `enrolmentDelay` old. Returns the enrolment or the reason it was refused (as a result value).
    public func enrol(badge transport: any CardTransport, after cpsResult: AuthenticationResult) async -> BadgeEnrolmentOutcome {
        let time = now()
        func refuse(_ o: AuthenticationOutcome, _ d: String) -> BadgeEnrolmentOutcome {
            .refused(AuthenticationResult(outcome: o, time: time, detail: d))
        }
        guard cpsResult.outcome == .authenticated, cpsResult.assurance == .cpsPin, let identity = cpsResult.identity else {
            return refuse(.cpsRequired, "enrolling a badge needs a CPS authentication with PIN first")
        }
        guard time.timeIntervalSince(cpsResult.time) <= enrolmentDelay, time >= cpsResult.time else {
            return refuse(.cpsRequired, "the CPS authentication is too old to enrol a badge; authenticate again")
        }
        switch await readBadge(transport) {
        case .refused(let r): return .refused(r)
        case .read(let badge):
            guard let number = badge.badgeNumber else { return refuse(.notSupported, "the badge has no number") }
            let e = BadgeEnrolment(badgeNumber: number, uid: badge.uid, identity: identity, enrolledAt: time)
            do {
                try await store.save(e)
                try await store.recordCPSAuthentication(idNat: identity.idNat, at: cpsResult.time)
            } catch { return refuse(.failed, "the enrolment cannot be stored: \(error)") }
            return .enrolled(e)
        }
    }

    /// A badge tap: `authenticated` at assurance `badge` inside the window, else `cpsRequired`; `notSupported` for
    /// a UID-only card or an unknown badge. Once the badge number has been read under the AES session, the result
    /// carries it in `badgeNumber` (nil for a UID-only card or a badge that failed authentication).
    public func tap(_ transport: any CardTransport) async -> AuthenticationResult {
        let time = now()
        let badge: BadgeIdentity
        switch await readBadge(transport) {
        case .refused(let r): return r
        case .read(let b): badge = b
        }
        guard let number = badge.badgeNumber else {
            return AuthenticationResult(outcome: .notSupported, time: time, detail: "the badge carries no number")
        }
        let enrolment: BadgeEnrolment?
        do { enrolment = try await store.enrolment(badgeNumber: number) } catch {
            return AuthenticationResult(outcome: .failed, badgeNumber: number, time: time, detail: "the enrolment store failed: \(error)")
        }
        guard let e = enrolment, e.uid == badge.uid else {
            return AuthenticationResult(outcome: .notSupported, badgeNumber: number, time: time, detail: "this badge is not enrolled")
        }
        guard e.revokedAt == nil else {
            return AuthenticationResult(
                outcome: .cpsRequired, badgeNumber: number, time: time, detail: "this badge's enrolment was revoked; use the CPS")
        }
        let last: Date?
        do { last = try await store.lastCPSAuthentication(idNat: e.identity.idNat) } catch {
            return AuthenticationResult(outcome: .failed, badgeNumber: number, time: time, detail: "the enrolment store failed: \(error)")
        }
        // A stored time may come back a hair later than the clock that made it (floating-point seconds): 1 s of slack.
        guard let last, time.timeIntervalSince(last) >= -1, time.timeIntervalSince(last) <= window else {
            return AuthenticationResult(
                outcome: .cpsRequired, badgeNumber: number, time: time,
                detail: "the last CPS authentication is older than \(Int(window / 3600)) h: present the CPS again")
        }
        return AuthenticationResult(
            outcome: .authenticated, assurance: .badge, identity: e.identity, badgeNumber: number, time: time,
            detail: "badge \(number) tap & go within \(Int(window / 3600)) h of a CPS authentication")
    }

    /// Revokes the enrolment of `badgeNumber`; false when none exists.
    public func revoke(badgeNumber: String) async throws -> Bool {
        try await store.revoke(badgeNumber: badgeNumber, at: now())
    }

    private func readBadge(_ transport: any CardTransport) async -> BadgeRead {
        let time = now()
        let info: CardConnectionInfo
        do { info = try await transport.connect(preferred: [.t1, .t0]) } catch {
            let o: AuthenticationOutcome = error == .noCard || error == .cardRemoved ? .cardRemoved : .failed
            return .refused(AuthenticationResult(outcome: o, time: time, detail: error.description))
        }
        let session = BadgeSession(transport: transport, atr: info.atr)
        do {
            let b = try await session.authenticateBadge(siteMasterKey: siteMasterKey)
            guard b.assurance == .desfireAES else {
                return .refused(AuthenticationResult(outcome: .notSupported, time: time, detail: "a UID alone never authenticates"))
            }
            return .read(b)
        } catch {
            switch error {
            case .notAuthenticable, .notDESFire:
                return .refused(AuthenticationResult(outcome: .notSupported, time: time, detail: "a UID alone never authenticates (\(error))"))
            case .transport(.cardRemoved), .transport(.noCard):
                return .refused(AuthenticationResult(outcome: .cardRemoved, time: time, detail: error.description))
            case .authenticationFailed, .macMismatch:
                return .refused(AuthenticationResult(outcome: .signatureInvalid, time: time, detail: error.description))
            default:
                return .refused(AuthenticationResult(outcome: .failed, time: time, detail: error.description))
            }
        }
    }
}
