import CarteCrypto
import ISO7816

/// What went wrong while reading or using a CPS card (cps.md), in the user's words. Wraps the pipeline's
/// `CardError` and keeps the raw status word when the card said no. Never carries a PIN.
public enum CPSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The card is not a CPS3 (its ATR and the probing SELECT of the PKCS#15 AIDs say so); the ATR is kept.
    case notACPSCard(atr: [UInt8])
    /// The card is a CPS4 (cps.md §2.1): recognised, not supported yet.
    case cps4NotSupported
    /// The APDU pipeline or the transport failed (card removed, reader gone, malformed answer…).
    case card(CardError)
    /// The card refused a command with this status word.
    case refused(StatusWord, command: String)
    /// A file or data object the operation needs is absent (`6A 82` / `6A 88`).
    case missing(String)
    /// A file or data object has bytes that do not decode (what and why).
    case malformed(String, reason: String)
    /// The data are protected by the PIN and the PIN has not been verified in this card session.
    case pinRequired(String)
    /// A certificate on the card does not parse.
    case certificate(CryptoError)
    /// The operation needs the contact interface (e.g. PIN, signature) and the card is read contactless.
    case contactOnly(String)
    /// The PIN given cannot be sent (length or characters outside the card's rules); no try used.
    case invalidPINFormat(String)

    public var description: String {
        switch self {
        case .notACPSCard(let atr): return "this card is not a CPS3 card (ATR \(atr.hexString(separator: " ")))"
        case .cps4NotSupported: return "this is a CPS4 card, recognised but not supported yet"
        case .card(let e): return e.description
        case .refused(let sw, let c): return "the CPS card refused \(c) (status \(sw))"
        case .missing(let what): return "the CPS card has no \(what)"
        case .malformed(let what, let why): return "the CPS card's \(what) cannot be decoded: \(why)"
        case .pinRequired(let what): return "\(what) can only be read after the PIN has been verified"
        case .certificate(let e): return "a certificate on the CPS card cannot be read: \(e)"
        case .contactOnly(let what): return "\(what) needs the contact interface"
        case .invalidPINFormat(let why): return "the PIN cannot be sent: \(why)"
        }
    }

    /// The transport error under this error, if any (card removed, reset…).
    public var transportError: TransportError? {
        if case .card(.transport(let t)) = self { return t }
        return nil
    }
}
