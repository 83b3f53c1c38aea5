import CPCSCLite
import ISO7816

/// pcsc-lite return codes mapped to `TransportError` (pcsc-lite `pcsclite.h`; `../shared/specs/pcsc-ccid-vpcd-contactless.md` §3.2).
public enum PCSCStatus {
    /// Maps a `LONG` return value of an `SCard*` call to what happened, in the user's words.
    public static func transportError(_ rv: Int, reader: String = "") -> TransportError? {
        switch UInt32(truncatingIfNeeded: rv) {
        case UInt32(truncatingIfNeeded: SCARD_S_SUCCESS): return nil
        case UInt32(truncatingIfNeeded: SCARD_W_REMOVED_CARD): return .cardRemoved
        case UInt32(truncatingIfNeeded: SCARD_W_RESET_CARD): return .cardReset
        case UInt32(truncatingIfNeeded: SCARD_E_NO_SMARTCARD): return .noCard
        case UInt32(truncatingIfNeeded: SCARD_W_UNRESPONSIVE_CARD): return .cardMute
        case UInt32(truncatingIfNeeded: SCARD_E_NO_SERVICE), UInt32(truncatingIfNeeded: SCARD_E_SERVICE_STOPPED),
            UInt32(truncatingIfNeeded: SCARD_F_COMM_ERROR):
            return .serviceUnavailable
        case UInt32(truncatingIfNeeded: SCARD_E_READER_UNAVAILABLE), UInt32(truncatingIfNeeded: SCARD_E_UNKNOWN_READER):
            return .readerGone(reader)
        case UInt32(truncatingIfNeeded: SCARD_E_SHARING_VIOLATION): return .busy
        case UInt32(truncatingIfNeeded: SCARD_W_SECURITY_VIOLATION): return .permissionDenied("pcscd (polkit) refused access to \(reader)")
        case UInt32(truncatingIfNeeded: SCARD_E_TIMEOUT): return .timeout
        case UInt32(truncatingIfNeeded: SCARD_E_CANCELLED): return .cancelled
        case UInt32(truncatingIfNeeded: SCARD_E_PROTO_MISMATCH): return .protocolMismatch(requested: [], available: [])
        default:
            return .failed("PC/SC error 0x" + String(UInt32(truncatingIfNeeded: rv), radix: 16, uppercase: true))
        }
    }
}
