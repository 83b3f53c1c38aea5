import Foundation
import INS
import ISO7816

/// The service publishes ISO7816's `CardKind` (the `kind` values of `carte read`, cli.md) in its JSON.
extension CardKind: Codable {}

/// What happens to readers and cards, as the service consumes it (from PC/SC monitoring, USB CCID or the simulator).
public enum ReaderHardwareEvent: Sendable, Hashable {
    case readerAdded(ReaderDescriptor)
    case readerRemoved(String)
    /// A card answered to reset in `reader`; `atr` is its ATR (ISO/IEC 7816-3 §8), empty if it stayed mute.
    case cardInserted(reader: String, atr: [UInt8])
    case cardRemoved(reader: String)
    /// Monitoring stopped (pcscd gone, USB error); every card session is ended. `reason` is for people.
    case monitoringDegraded(reason: String)
    /// Monitoring resumed; readers and cards are reported again by the source.
    case monitoringRestored
}

/// A source of reader and card events (the PC/SC reader monitor, the simulated reader set, a test fake).
///
/// `events()` is called once by the service; the stream ends when the source stops.
public protocol ReaderEventSource: Sendable {
    func events() -> AsyncStream<ReaderHardwareEvent>
}

/// The identity of an authenticated professional (CPS), as shown to people. No secret here.
public struct AuthenticatedProfessional: Sendable, Hashable, Codable {
    public var idNat: String
    public var rpps: String?
    public var nom: String
    public var prenom: String
    public var profession: String
    public var cardType: String

    public init(idNat: String, rpps: String? = nil, nom: String, prenom: String, profession: String, cardType: String) {
        self.idNat = idNat
        self.rpps = rpps
        self.nom = nom
        self.prenom = prenom
        self.profession = profession
        self.cardType = cardType
    }
}

/// One beneficiary of a carte Vitale, as the service publishes it: the NIR is never here in clear.
public struct PatientBeneficiary: Sendable, Hashable, Codable {
    public var nom: String
    public var prenom: String
    public var dateNaissance: String
    public var rang: Int
    /// The beneficiary's NIR masked with `NIR.mask` (ins.md), e.g. `2 85 ••• ••• ••• 47`.
    public var nirMasked: String
    /// The INS (the beneficiary's NIR certifié) masked like a NIR (sex, year and key only), or nil.
    public var insMasked: String?
    /// The INS-C (22 digits, ins.md §1.2) masked (first 2 and last 2 digits), or nil.
    public var inscMasked: String?
    /// Why there is neither INS nor INS-C, or nil.
    public var insReason: String?
    /// Rights open at today's date.
    public var rightsOpen: Bool

    public init(
        nom: String, prenom: String, dateNaissance: String, rang: Int, nirMasked: String, insMasked: String?,
        inscMasked: String? = nil, insReason: String? = nil, rightsOpen: Bool
    ) {
        self.inscMasked = inscMasked
        self.nom = nom
        self.prenom = prenom
        self.dateNaissance = dateNaissance
        self.rang = rang
        self.nirMasked = nirMasked
        self.insMasked = insMasked
        self.insReason = insReason
        self.rightsOpen = rightsOpen
    }
}

/// What the service keeps of a Vitale read. The clear NIR is carried only to be keyed-hashed into the audit log
/// and is never encoded (it is excluded from `Codable` and from `description`).
public struct PatientIdentification: Sendable, Hashable, Codable, CustomStringConvertible {
    public var serial: String
    public var beneficiaries: [PatientBeneficiary]
    /// The insured person's NIR masked (`NIR.mask`).
    public var insuredNIRMasked: String
    /// The insured person's NIR in clear, for the audit log's HMAC only. Not encoded.
    public var insuredNIRForAudit: String?
    /// The beneficiary chosen (index in `beneficiaries`), nil until someone chooses.
    public var chosen: Int?

    enum CodingKeys: String, CodingKey { case serial, beneficiaries, insuredNIRMasked = "insuredNirMasked", chosen }

    public init(serial: String, beneficiaries: [PatientBeneficiary], insuredNIR: String, chosen: Int? = nil) {
        self.serial = serial
        self.beneficiaries = beneficiaries
        self.insuredNIRMasked = NIR.mask(insuredNIR)
        self.insuredNIRForAudit = insuredNIR
        self.chosen = chosen
    }

    public var description: String {
        "Vitale \(serial), insured \(insuredNIRMasked), \(beneficiaries.count) beneficiaries"
    }
}

/// How strongly someone was authenticated (the `assurance` values of `carte auth`, cli.md).
public enum AssuranceLevel: String, Sendable, Hashable, Codable {
    case cpsPin = "cps-pin"
    case cpsContactless = "cps-contactless"
    case badge
}

/// Why a card was refused (the `outcome` values of `carte auth` other than `authenticated`, cli.md, plus the
/// service's own: `pinTimeout`, `testCardRefused`, `notRecognised`, `pinpadRequired`, `readFailed`).
public enum RefusalReason: String, Sendable, Hashable, Codable {
    case wrongPin, pinBlocked, lastTryNotConfirmed, revoked, expired, untrusted, signatureInvalid, notSupported
    case pinTimeout, recognitionTimeout, testCardRefused, notRecognised, pinpadRequired, readFailed, badgeNotEnrolled
    case failed, identityMismatch, cardSwapped, cpsRequired, pinFormatRejected

    /// The reason for people.
    public var text: String {
        switch self {
        case .wrongPin: return "wrong PIN"
        case .pinBlocked: return "the card's PIN is blocked"
        case .lastTryNotConfirmed: return "one PIN try left: not attempted without confirmation"
        case .revoked: return "the card's certificate is revoked"
        case .expired: return "the card's certificate has expired"
        case .untrusted: return "the card's certificate does not chain to a trusted authority"
        case .signatureInvalid: return "the card's signature does not verify"
        case .notSupported: return "this card cannot authenticate on this reader (a UID alone proves nothing)"
        case .pinTimeout: return "no PIN was entered in time"
        case .recognitionTimeout: return "the card did not answer in time"
        case .testCardRefused: return "test cards are not accepted here"
        case .notRecognised: return "card not recognised"
        case .pinpadRequired: return "this terminal requires a reader with a PIN pad"
        case .readFailed: return "the card could not be read"
        case .badgeNotEnrolled: return "this badge is not enrolled"
        case .failed: return "the authentication could not be completed"
        case .identityMismatch: return "the card's data do not match its certificate"
        case .cardSwapped: return "the card was swapped during the authentication"
        case .pinFormatRejected: return "the PIN does not have the length the card expects; nothing was sent to the card"
        case .cpsRequired:
            return "this badge does not re-authenticate now (tap & go window over, or enrolment revoked): use the CPS card"
        }
    }
}

/// The end of a card flow, as a value (architecture.md: values, not exceptions, for outcomes people act on).
public enum CardFlowOutcome: Sendable, Hashable {
    case authenticated(AuthenticatedProfessional, assurance: AssuranceLevel)
    case patientIdentified(PatientIdentification)
    case refused(RefusalReason, triesLeft: Int? = nil)
    /// The card was removed (or the reader went away) while the flow ran.
    case cardRemoved
}

/// Progress a card flow reports before its outcome; the service turns each into a state-machine input.
public enum CardFlowProgress: Sendable, Hashable {
    /// The card was recognised; `isTestCard` for cards of the test PKI (policy `acceptTestCards`).
    case recognised(CardKind, isTestCard: Bool)
    /// The flow waits for the PIN: on the reader's pinpad, or through `POST /v1/readers/{id}/pin`.
    case pinRequested(onPinpad: Bool)
    /// A badge tap was decided (`BadgeAuthenticator.tap`): the badge number read under the AES session (nil when
    /// the card could not prove one), the Authentication outcome and its sentence. Audited, never a key.
    case badgeTapped(badgeNumber: String?, outcome: String, detail: String)
}

/// Where a flow gets a PIN typed on a keypad that is not the reader's (the kiosk, through the API).
public protocol PINEntry: Sendable {
    /// Waits for the next PIN submitted for `reader`; nil when the wait is cancelled (card removed, timeout).
    func awaitPIN(reader: String) async -> PINCode?
}

/// Runs the right card flow for a card in a reader of a given role (recognition, then PIN and authentication for a
/// CPS, the Vitale read for a patient, badge authentication for a badge) and reports typed outcomes.
///
/// Implementations: the adapters over the Vitale, CPS/Authentication and Badges modules, the simulator's persona
/// flow (`--simulate`), fakes in tests. Implementations must return `.cardRemoved` promptly when their task is
/// cancelled (the service cancels the flow when the card is removed).
public protocol CardFlowRunner: Sendable {
    func run(
        reader: ReaderDescriptor, role: ReaderRole, atr: [UInt8], pinEntry: any PINEntry,
        progress: @escaping @Sendable (CardFlowProgress) async -> Void
    ) async -> CardFlowOutcome
}

