/// The status word SW1-SW2 that ends every R-APDU (ISO/IEC 7816-4 §5.6, table 5 and 6), plus the reader-generated
/// `64 xx` values of PC/SC v2 part 10 (PIN entry on a pinpad reader).
public struct StatusWord: Sendable, Hashable, CustomStringConvertible {
    public var sw1: UInt8
    public var sw2: UInt8

    public init(sw1: UInt8, sw2: UInt8) {
        self.sw1 = sw1
        self.sw2 = sw2
    }

    public init(_ value: UInt16) {
        self.init(sw1: UInt8(value >> 8), sw2: UInt8(value & 0xFF))
    }

    /// SW1-SW2 as one 16-bit value, e.g. `0x9000`.
    public var value: UInt16 { UInt16(sw1) << 8 | UInt16(sw2) }

    public static let success = StatusWord(0x9000)

    public var description: String { [sw1, sw2].hexString(separator: " ") }

    /// What SW1-SW2 means, per ISO/IEC 7816-4 §5.6 (card) and PC/SC v2 part 10 §2.5.x (reader).
    public var meaning: StatusMeaning { StatusMeaning(self) }

    /// True for `90 00` and the `61 xx` "more data available" family (a normal processing outcome).
    public var isNormal: Bool { sw1 == 0x90 && sw2 == 0x00 || sw1 == 0x61 }

    /// True for `62 xx` and `63 xx` (warning: the command was processed, state may have changed).
    public var isWarning: Bool { sw1 == 0x62 || sw1 == 0x63 }
}

/// The meaning of a status word. Only the card's `63 Cx` means "wrong PIN"; the reader's `64 xx` answers to a
/// pinpad PIN entry never do.
public enum StatusMeaning: Sendable, Hashable {
    // Normal processing (ISO/IEC 7816-4 §5.6 table 5)
    case success                                  // 90 00
    case moreDataAvailable(Int)                    // 61 xx: xx bytes still available (00 = 256 or more)
    // Warning processing
    case warningStateUnchanged(UInt8)             // 62 xx other than 62 82
    case endOfFileReachedBeforeLe                 // 62 82
    case verificationFailed(triesLeft: Int)       // 63 Cx: wrong PIN / key, x tries left
    case warningStateChanged(UInt8)               // 63 xx other than 63 Cx
    // Reader-generated, PC/SC v2 part 10 (pinpad)
    case pinEntryTimeout                          // 64 00
    case pinEntryCancelled                        // 64 01
    case pinsDiffer                               // 64 02: new PIN and its confirmation differ
    case pinLengthOutOfRange                      // 64 03
    case readerRefused(UInt8)                     // other 64 xx
    // Execution / checking errors
    case memoryFailure(UInt8)                     // 65 xx
    case wrongLength                              // 67 00
    case logicalChannelNotSupported               // 68 81
    case secureMessagingNotSupported              // 68 82
    case lastCommandOfChainExpected               // 68 83
    case claFunctionNotSupported(UInt8)           // other 68 xx
    case securityStatusNotSatisfied               // 69 82
    case authenticationMethodBlocked              // 69 83: PIN blocked
    case referenceDataNotUsable                   // 69 84
    case conditionsOfUseNotSatisfied              // 69 85
    case commandNotAllowed(UInt8)                 // other 69 xx
    case incorrectDataField                       // 6A 80
    case functionNotSupported                     // 6A 81
    case fileOrApplicationNotFound                // 6A 82
    case recordNotFound                           // 6A 83
    case notEnoughMemory                          // 6A 84
    case incorrectP1P2                            // 6A 86
    case referencedDataNotFound                   // 6A 88
    case wrongParameters(UInt8)                   // other 6A xx
    case wrongP1P2                                // 6B 00: offset outside the EF
    case wrongLe(exact: Int)                      // 6C xx: exact Le is xx (00 = 256)
    case instructionNotSupported                  // 6D 00
    case classNotSupported                        // 6E 00
    case noPreciseDiagnosis                       // 6F 00
    // DESFire native status wrapped in ISO (91 xx), see pcsc-ccid-vpcd-contactless.md §7.3
    case desfire(UInt8)
    case unknown(UInt16)

    public init(_ sw: StatusWord) {
        let (a, b) = (sw.sw1, sw.sw2)
        switch a {
        case 0x90 where b == 0x00: self = .success
        case 0x61: self = .moreDataAvailable(b == 0 ? 256 : Int(b))
        case 0x62: self = b == 0x82 ? .endOfFileReachedBeforeLe : .warningStateUnchanged(b)
        case 0x63: self = b & 0xF0 == 0xC0 ? .verificationFailed(triesLeft: Int(b & 0x0F)) : .warningStateChanged(b)
        case 0x64:
            switch b {
            case 0x00: self = .pinEntryTimeout
            case 0x01: self = .pinEntryCancelled
            case 0x02: self = .pinsDiffer
            case 0x03: self = .pinLengthOutOfRange
            default: self = .readerRefused(b)
            }
        case 0x65: self = .memoryFailure(b)
        case 0x67 where b == 0x00: self = .wrongLength
        case 0x68:
            switch b {
            case 0x81: self = .logicalChannelNotSupported
            case 0x82: self = .secureMessagingNotSupported
            case 0x83: self = .lastCommandOfChainExpected
            default: self = .claFunctionNotSupported(b)
            }
        case 0x69:
            switch b {
            case 0x82: self = .securityStatusNotSatisfied
            case 0x83: self = .authenticationMethodBlocked
            case 0x84: self = .referenceDataNotUsable
            case 0x85: self = .conditionsOfUseNotSatisfied
            default: self = .commandNotAllowed(b)
            }
        case 0x6A:
            switch b {
            case 0x80: self = .incorrectDataField
            case 0x81: self = .functionNotSupported
            case 0x82: self = .fileOrApplicationNotFound
            case 0x83: self = .recordNotFound
            case 0x84: self = .notEnoughMemory
            case 0x86: self = .incorrectP1P2
            case 0x88: self = .referencedDataNotFound
            default: self = .wrongParameters(b)
            }
        case 0x6B where b == 0x00: self = .wrongP1P2
        case 0x6C: self = .wrongLe(exact: b == 0 ? 256 : Int(b))
        case 0x6D where b == 0x00: self = .instructionNotSupported
        case 0x6E where b == 0x00: self = .classNotSupported
        case 0x6F where b == 0x00: self = .noPreciseDiagnosis
        case 0x91: self = .desfire(b)
        default: self = .unknown(sw.value)
        }
    }

    /// True only for the card's `63 Cx` (a wrong PIN or key). Reader `64 xx` outcomes are never a wrong PIN.
    public var isWrongPIN: Bool {
        if case .verificationFailed = self { return true }
        return false
    }

    /// True for the reader-generated PC/SC part 10 answers `64 xx`: no PIN reached the card, no try counted.
    public var isReaderOutcome: Bool {
        switch self {
        case .pinEntryTimeout, .pinEntryCancelled, .pinsDiffer, .pinLengthOutOfRange, .readerRefused: return true
        default: return false
        }
    }
}
