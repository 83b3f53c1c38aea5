import ISO7816

/// Why a carte Vitale could not be read, in the words of the person at the counter.
public enum VitaleError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The card was pulled out during the read; nothing partial is returned.
    case cardRemoved
    /// The reader, the card or the smart-card service failed below the APDU level.
    case transport(TransportError)
    /// The card is not a carte Vitale (its ATR, and no VITALE application answered).
    case notAVitaleCard(atr: [UInt8])
    /// The card answered a command with an unexpected status word.
    case unexpectedStatus(step: String, status: StatusWord)
    /// A file's content does not decode (truncated or malformed TLV, an impossible value).
    case corruptedData(file: String, detail: String)
    /// A field every carte Vitale has is missing.
    case missingData(String)
    /// The card is blocked (reversible blocking of the arrêté of 9 April 1998): reads answer `62 83` / `69 85`.
    case cardBlocked(status: StatusWord)
    /// The APDU exchange itself failed (malformed answer, endless `61 xx`, a command that cannot be framed).
    case cardProtocol(String)

    public var description: String {
        switch self {
        case .cardRemoved: return "the carte Vitale was removed during the read; insert it again"
        case .transport(let e): return e.description
        case .notAVitaleCard(let atr): return "this card is not a carte Vitale (ATR \(atr.hexString(separator: " ")))"
        case .unexpectedStatus(let step, let sw):
            return "the carte Vitale refused \(step) (status \(sw): \(VitaleError.words(sw)))"
        case .corruptedData(let file, let detail): return "the carte Vitale's \(file) data are damaged: \(detail)"
        case .missingData(let what): return "the carte Vitale does not contain \(what)"
        case .cardBlocked(let sw): return "the carte Vitale is blocked (status \(sw)); the insured person must contact the caisse"
        case .cardProtocol(let why): return "the exchange with the carte Vitale failed: \(why)"
        }
    }

    static func words(_ sw: StatusWord) -> String {
        switch sw.meaning {
        case .fileOrApplicationNotFound: return "file or application not found"
        case .securityStatusNotSatisfied: return "needs a CPS session"
        case .wrongP1P2, .incorrectP1P2: return "offset or parameters out of range"
        case .instructionNotSupported: return "instruction not supported"
        case .classNotSupported: return "class not supported"
        case .wrongLength: return "wrong length"
        case .conditionsOfUseNotSatisfied: return "conditions of use not satisfied"
        default: return "unexpected answer"
        }
    }

    /// Maps a transport error, turning a removed card into `.cardRemoved`.
    static func from(_ e: TransportError) -> VitaleError {
        switch e {
        case .cardRemoved: return .cardRemoved
        default: return .transport(e)
        }
    }
}
