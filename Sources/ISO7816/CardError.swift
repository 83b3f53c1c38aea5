/// What went wrong in the APDU pipeline (above the transport), in the user's words. Wraps the transport's error
/// and keeps the raw status word when the card said no.
public enum CardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The transport failed (card removed, reader gone, timeout…).
    case transport(TransportError)
    /// The command cannot be encoded (Nc or Ne out of range).
    case invalidCommand(APDUError)
    /// The card's answer is not an R-APDU (fewer than 2 bytes).
    case malformedResponse(String)
    /// The card answered a status word the operation cannot go on with. `command` names the command
    /// (e.g. "READ BINARY at offset 512").
    case unexpectedStatus(StatusWord, command: String)
    /// The card kept answering `61 xx` beyond the GET RESPONSE bound.
    case getResponseLimitExceeded(limit: Int)
    /// The command needs more than the short form and neither extended length nor command chaining is usable.
    case lengthNotSupported(nc: Int, ne: Int?, reason: String)
    /// READ BINARY returned `90 00` with no data: reading on would loop forever.
    case emptyRead(offset: Int)
    /// The offset cannot be addressed (over 32767 without the odd-INS form, or over 255 with an SFI and no
    /// odd-INS form).
    case offsetNotAddressable(offset: Int, reason: String)
    /// A read went past the caller's bound (bytes) or took more commands than allowed.
    case readLimitExceeded(bytes: Int)

    public var description: String {
        switch self {
        case .transport(let e): return e.description
        case .invalidCommand(let e): return "the command cannot be sent: \(e)"
        case .malformedResponse(let why): return "the card's answer is malformed: \(why)"
        case .unexpectedStatus(let sw, let command):
            return "the card refused \(command) with status \(sw) (\(CardError.words(for: sw)))"
        case .getResponseLimitExceeded(let n):
            return "the card kept announcing more data (61 xx) after \(n) GET RESPONSE commands; stopped"
        case .lengthNotSupported(let nc, let ne, let why):
            return "a command with \(nc) data bytes" + (ne.map { " expecting up to \($0) bytes" } ?? "")
                + " cannot be sent: \(why)"
        case .emptyRead(let o): return "the card answered READ BINARY at offset \(o) with success but no data"
        case .offsetNotAddressable(let o, let why): return "offset \(o) cannot be read: \(why)"
        case .readLimitExceeded(let n): return "the read was stopped after \(n) bytes (limit reached)"
        }
    }

    /// A short phrase for a status word (ISO/IEC 7816-4 §5.6; PC/SC v2 part 10 for 64xx).
    static func words(for sw: StatusWord) -> String {
        switch sw.meaning {
        case .success: return "success"
        case .moreDataAvailable(let n): return "\(n) more bytes available"
        case .warningStateUnchanged: return "warning, nothing changed"
        case .endOfFileReachedBeforeLe: return "end of file reached before the expected length"
        case .verificationFailed(let n): return "wrong PIN or key, \(n) tries left"
        case .warningStateChanged: return "warning, state changed"
        case .pinEntryTimeout: return "no PIN entered on the pinpad in time"
        case .pinEntryCancelled: return "PIN entry cancelled on the pinpad"
        case .pinsDiffer: return "the new PIN and its confirmation differ"
        case .pinLengthOutOfRange: return "PIN length out of range"
        case .readerRefused: return "refused by the reader"
        case .memoryFailure: return "card memory failure"
        case .wrongLength: return "wrong length"
        case .logicalChannelNotSupported: return "logical channel not supported"
        case .secureMessagingNotSupported: return "secure messaging not supported"
        case .lastCommandOfChainExpected: return "last command of the chain expected"
        case .claFunctionNotSupported: return "function in CLA not supported"
        case .securityStatusNotSatisfied: return "security status not satisfied"
        case .authenticationMethodBlocked: return "blocked"
        case .referenceDataNotUsable: return "reference data not usable"
        case .conditionsOfUseNotSatisfied: return "conditions of use not satisfied"
        case .commandNotAllowed: return "command not allowed"
        case .incorrectDataField: return "incorrect data"
        case .functionNotSupported: return "function not supported"
        case .fileOrApplicationNotFound: return "file or application not found"
        case .recordNotFound: return "record not found"
        case .notEnoughMemory: return "not enough memory"
        case .incorrectP1P2: return "incorrect parameters P1-P2"
        case .referencedDataNotFound: return "referenced data not found"
        case .wrongParameters: return "wrong parameters"
        case .wrongP1P2: return "offset or parameters outside the file"
        case .wrongLe(let n): return "wrong length, the card has \(n) bytes"
        case .instructionNotSupported: return "instruction not supported"
        case .classNotSupported: return "class not supported"
        case .noPreciseDiagnosis: return "no precise diagnosis"
        case .desfire(let code): return "DESFire status \([code].hexString())"
        case .unknown: return "unknown status"
        }
    }
}
