import CPS
import CarteCrypto
import Foundation

/// How an authentication attempt ended (issue 5; cli.md `carte auth` `outcome`). A value, not an error: the kiosk
/// and the service act on it (architecture.md "Values, not exceptions").
public enum AuthenticationOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// PIN verified (or contactless presence / badge), signature over a fresh challenge verified with a valid
    /// certificate, identity consistent.
    case authenticated
    /// `63 Cx`: see `triesLeft`.
    case wrongPin
    /// `69 83`, or 0 tries left before anything was presented.
    case pinBlocked
    /// One try left and the caller did not confirm: nothing was presented.
    case lastTryNotConfirmed
    /// The pinpad's Cancel key (`64 01`): no try counted.
    case pinEntryCancelled
    /// Nobody typed on the pinpad in time (`64 00`), or no PIN was given: no try counted.
    case pinEntryTimeout
    /// The certificate is on its issuer's CRL (`revocationReason` says why).
    case revoked
    /// The certificate's validity ended before the decision time (or has not begun).
    case expired
    /// No path to a configured trust anchor.
    case untrusted
    /// The certificate's key usage does not allow authentication.
    case wrongUsage
    /// The issuer's CRL is past its nextUpdate (plus the grace period), or missing.
    case crlStale
    /// The card's signature over the challenge does not verify with the certificate's key (or a certificate/CRL
    /// signature failed).
    case signatureInvalid
    /// The certificate names another person than the card's holder data.
    case identityMismatch
    /// The card left the reader (or was reset) during the attempt.
    case cardRemoved
    /// Another card answered after the PIN (serial or ATR changed).
    case cardSwapped
    /// Not a card this stack authenticates (CPS4, Vitale, UID-only badge…).
    case notSupported
    /// A badge tap outside the tap & go window, or not enrolled: present the CPS again.
    case cpsRequired
    /// The PIN entered has a length or format the card or pinpad cannot take (a CPS PIN has 4 to 8 digits); nothing
    /// was presented to the card, no try used.
    case pinFormatRejected
    /// The reader or card failed (see `detail`).
    case failed
}

/// The level of assurance of an authenticated result (cli.md `assurance`).
public enum Assurance: String, Sendable, Hashable, Codable {
    /// CPS over contact with the PIN verified and the authentication key's signature checked.
    case cpsPin = "cps-pin"
    /// Contactless CPS3: the technical key proves the card is present; no PIN (never `cps-pin`).
    case cpsContactless = "cps-contactless"
    /// A DESFire badge authenticated with its diversified AES key, enrolled to a person, within the tap & go
    /// window after that person's last `cps-pin` authentication.
    case badge
}

/// How the PIN was entered.
public enum PINEntryMode: String, Sendable, Hashable, Codable {
    /// On the reader's own keypad (PC/SC part 10 VERIFY_PIN_DIRECT): the PIN never reached the host.
    case pinpad
    /// On the host keyboard (or stdin), in a `SecretPIN` wiped after use.
    case keypad
}

/// Who authenticated (cli.md `identity`): from the validated certificate, cross-checked with the card's data.
public struct ProfessionalIdentity: Sendable, Hashable, Codable {
    /// IdNat_PS as the certificate's CN carries it (`8` + RPPS for a CPS; `3…/…` for a CPE).
    public var idNat: String
    /// RPPS (11 digits) when the identifier is an RPPS, else nil.
    public var rpps: String?
    public var nom: String
    public var prenom: String
    /// Profession code (TRE_G15, e.g. `10`) from the card, or the certificate's title when the card gave none;
    /// nil for staff cards.
    public var profession: String?
    /// `CPS`, `CPE`… (nil when the card did not say).
    public var cardType: String?
    /// True only for a health professional's personal card (CPS/CPF with an RPPS/ADELI identifier). A CPE holder
    /// authenticates as staff: false.
    public var isHealthProfessional: Bool

    public init(
        idNat: String, rpps: String?, nom: String, prenom: String, profession: String?, cardType: String?,
        isHealthProfessional: Bool
    ) {
        self.idNat = idNat
        self.rpps = rpps
        self.nom = nom
        self.prenom = prenom
        self.profession = profession
        self.cardType = cardType
        self.isHealthProfessional = isHealthProfessional
    }
}

/// The certificate the decision used (cli.md `certificate`).
public struct CertificateSummary: Sendable, Hashable, Codable {
    public var subject: String
    /// Serial number, uppercase hex.
    public var serial: String
    /// SHA-256 of the DER, lowercase hex without separators.
    public var sha256: String

    public init(_ c: Certificate) {
        subject = c.subject.description
        serial = c.serialHex
        sha256 = c.sha256Fingerprint.map { String(format: "%02x", $0) }.joined()
    }
}

/// The one value an authentication attempt produces (issue 5 "Result and CLI").
public struct AuthenticationResult: Sendable, Hashable {
    public var outcome: AuthenticationOutcome
    /// PIN tries left as last known (after the attempt), nil when unknown or irrelevant (contactless, badge).
    public var triesLeft: Int?
    /// Set only when `outcome == .authenticated`.
    public var assurance: Assurance?
    /// Set only when `outcome == .authenticated`.
    public var identity: ProfessionalIdentity?
    /// The certificate examined, when one was read.
    public var certificate: CertificateSummary?
    /// How the PIN was (or would have been) entered; nil when no PIN was involved.
    public var pinEntry: PINEntryMode?
    /// The CRL reason when `outcome == .revoked`.
    public var revocationReason: RevocationReason?
    /// The badge number read under the DESFire AES session (`BadgeAuthenticator.tap`), nil for other attempts.
    public var badgeNumber: String?
    /// The decision time.
    public var time: Date
    /// A sentence for people (never a PIN, never a full NIR).
    public var detail: String

    public init(
        outcome: AuthenticationOutcome, triesLeft: Int? = nil, assurance: Assurance? = nil,
        identity: ProfessionalIdentity? = nil, certificate: CertificateSummary? = nil, pinEntry: PINEntryMode? = nil,
        revocationReason: RevocationReason? = nil, badgeNumber: String? = nil, time: Date, detail: String
    ) {
        self.badgeNumber = badgeNumber
        self.outcome = outcome
        self.triesLeft = triesLeft
        self.assurance = assurance
        self.identity = identity
        self.certificate = certificate
        self.pinEntry = pinEntry
        self.revocationReason = revocationReason
        self.time = time
        self.detail = detail
    }

    public var isAuthenticated: Bool { outcome == .authenticated }
}

/// Progress of a long authentication, for the service and kiosk page (architecture.md "status streams").
public enum AuthenticationStatus: Sendable, Hashable {
    case waitingForCard
    /// The reader's pinpad is waiting for the holder to type.
    case waitingForPinpad
    /// Waiting for the PIN typed on the host.
    case waitingForKeypad
    case processing
    case finished(AuthenticationOutcome)
}
