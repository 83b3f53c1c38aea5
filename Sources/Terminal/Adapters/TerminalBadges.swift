import Authentication
import CardSimulator
import Foundation
import ISO7816

/// The badge side of the service: the Authentication module's `BadgeAuthenticator` (DESFire EV1 AES mutual
/// authentication with the AN10922-diversified key, badge number read under the session MAC, enrolment store, tap &
/// go window; issue 5 "Contactless and badges") and the way to reach a badge reader's card.
///
/// There is no other badge logic in the service: a tap is `BadgeAuthenticator.tap`, an enrolment
/// `BadgeAuthenticator.enrol`, a revocation `BadgeAuthenticator.revoke`. A UID alone never authenticates anybody.
public struct TerminalBadges: Sendable {
    public let authenticator: BadgeAuthenticator
    /// The clock of the authenticator (tap & go window, enrolment delay); the service dates `cps-pin`
    /// authentications with it.
    public let now: @Sendable () -> Date
    /// Opens the transport of a badge reader by name (`PCSCCard(readerName:)`, a `SimulatedReader`).
    let transport: @Sendable (String) async -> (any CardTransport)?

    /// - Parameters:
    ///   - store: `SQLiteBadgeEnrolmentStore` in the service, `InMemoryBadgeEnrolmentStore` in tests.
    ///   - siteMasterKey: the AES-128 site master key (16 bytes) the badge keys are diversified from.
    ///   - window: tap & go window in seconds (configuration `policy.tapAndGoWindow`).
    ///   - enrolmentDelay: how long after the `cps-pin` authentication an enrolment may happen, seconds
    ///     (configuration `badges.enrolmentDelay`).
    ///   - transport: opens a badge reader's card by reader name; nil when the reader is gone.
    public init(
        store: any BadgeEnrolmentStore, siteMasterKey: [UInt8], window: TimeInterval, enrolmentDelay: TimeInterval,
        now: @escaping @Sendable () -> Date = { Date() },
        transport: @escaping @Sendable (String) async -> (any CardTransport)?
    ) {
        self.now = now
        self.transport = transport
        authenticator = BadgeAuthenticator(
            store: store, siteMasterKey: siteMasterKey, window: window, enrolmentDelay: enrolmentDelay, now: now)
    }

    /// The badges of a configured service: the SQLite enrolment store at `configuration.badgeDatabase` (created if
    /// needed, so enrolments survive restarts) and the site master key given.
    /// - Throws: `TerminalError.database` when the store cannot be opened.
    public static func configured(
        _ configuration: TerminalConfiguration, siteMasterKey: [UInt8],
        transport: @escaping @Sendable (String) async -> (any CardTransport)?
    ) throws(TerminalError) -> TerminalBadges {
        let store: SQLiteBadgeEnrolmentStore
        do { store = try SQLiteBadgeEnrolmentStore(path: configuration.badgeDatabase) } catch {
            throw .database("badge enrolments at \(configuration.badgeDatabase): \(error)")
        }
        return TerminalBadges(
            store: store, siteMasterKey: siteMasterKey, window: TimeInterval(configuration.tapAndGoWindowSeconds),
            enrolmentDelay: TimeInterval(configuration.enrolmentDelaySeconds), transport: transport)
    }

    /// Reads the site master key from `path`: 16 raw bytes, or 32 hex digits (spaces and a final newline allowed).
    /// The file must be a regular file with no access for group or others (mode 0600 or 0400). The key never
    /// appears in an error, a log line or the audit.
    /// - Throws: `TerminalError.configuration` naming the file and what is wrong with it.
    public static func loadSiteMasterKey(path: String) throws(TerminalError) -> [UInt8] {
        func bad(_ why: String) -> TerminalError { .configuration(line: nil, reason: "badges.siteKeyFile \(path): \(why)") }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { throw bad("cannot be read") }
        guard (attributes[.type] as? FileAttributeType) == .typeRegular else { throw bad("is not a regular file") }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value ?? 0o777
        guard mode & 0o077 == 0 else {
            throw bad("mode \(String(mode, radix: 8)) lets group or others read it; chmod 600")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw bad("cannot be read") }
        let bytes = [UInt8](data)
        if bytes.count == 16 { return bytes }
        let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        guard text.count == 32, text.allSatisfy(\.isHexDigit), let key = [UInt8](hex: text), key.count == 16 else {
            throw bad("must hold an AES-128 key: 16 bytes, or 32 hex digits")
        }
        return key
    }

    /// The synthetic site master key of the bundled personas (`site.desfireMasterKeyAES128`), for `--simulate`.
    public static func simulatedSiteMasterKey() -> [UInt8]? {
        (try? PersonaCatalog.personas()).flatMap(DESFireCard.siteMasterKey(of:))
    }

    /// Runs a tap on the card in `transport` (`BadgeAuthenticator.tap`) after reporting the card recognised, reports
    /// the tap (badge number, outcome) for the audit and maps the result to the service's outcome.
    func tap(
        transport: any CardTransport, kind: CardKind, isTestCard: Bool,
        progress: @escaping @Sendable (CardFlowProgress) async -> Void
    ) async -> CardFlowOutcome {
        await progress(.recognised(kind, isTestCard: isTestCard))
        let result = await authenticator.tap(transport)
        await progress(.badgeTapped(badgeNumber: result.badgeNumber, outcome: result.outcome.rawValue, detail: result.detail))
        return Self.outcome(result)
    }

    /// The service's value for a tap result: `authenticated` at assurance `badge`; `cpsRequired` outside the window
    /// or for a revoked enrolment; `badgeNotEnrolled` for an authenticated badge nobody enrolled; `notSupported`
    /// for a card that cannot prove itself (a UID alone proves nothing); `signatureInvalid` for a badge that failed
    /// the AES authentication (wrong key).
    static func outcome(_ r: AuthenticationResult) -> CardFlowOutcome {
        switch r.outcome {
        case .authenticated: return CPSAuthenticationFlow.outcome(r, contactless: true)
        case .cpsRequired: return .refused(.cpsRequired)
        case .notSupported: return .refused(r.badgeNumber == nil ? .notSupported : .badgeNotEnrolled)
        case .signatureInvalid: return .refused(.signatureInvalid)
        case .cardRemoved: return .cardRemoved
        default: return .refused(.failed)
        }
    }
}

/// A badge enrolment as `GET /v1/badges` and the `badgeEnrolled` / `badgeRevoked` events show it: the badge number
/// (read under the DESFire AES session) and who it stands for. Never a key; the UID is not shown (it proves nothing).
public struct EnrolledBadge: Sendable, Hashable, Codable {
    /// The badge number (e.g. `B-000417`); `DELETE /v1/badges/{id}` takes it.
    public var id: String
    public var idNat: String
    public var nom: String
    public var prenom: String
    /// When it was enrolled (ISO 8601 UTC).
    public var enrolledAt: String
    /// When it was revoked (ISO 8601 UTC), nil while it is valid.
    public var revokedAt: String?

    public init(id: String, idNat: String, nom: String, prenom: String, enrolledAt: String, revokedAt: String? = nil) {
        self.id = id
        self.idNat = idNat
        self.nom = nom
        self.prenom = prenom
        self.enrolledAt = enrolledAt
        self.revokedAt = revokedAt
    }

    public init(_ e: BadgeEnrolment) {
        self.init(
            id: e.badgeNumber, idNat: e.identity.idNat, nom: e.identity.nom, prenom: e.identity.prenom,
            enrolledAt: AuditLog.timestamp(e.enrolledAt), revokedAt: e.revokedAt.map(AuditLog.timestamp))
    }
}
