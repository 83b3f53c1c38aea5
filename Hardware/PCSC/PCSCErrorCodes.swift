import CPCSCLite
import ISO7816

/// pcsc-lite return codes mapped to `TransportError` (pcsc-lite `pcsclite.h`; `../shared/specs/pcsc-ccid-vpcd-contactless.md` §3.2).
public enum PCSCStatus {
    /// The pcsc-lite name and meaning of every `SCARD_*` return code, keyed by its 32-bit value.
    static let names: [UInt32: (name: String, meaning: String)] = [
        code(SCARD_F_INTERNAL_ERROR): ("SCARD_F_INTERNAL_ERROR", "internal consistency check failed in pcscd"),
        code(SCARD_E_CANCELLED): ("SCARD_E_CANCELLED", "cancelled"),
        code(SCARD_E_INVALID_HANDLE): ("SCARD_E_INVALID_HANDLE", "the connection handle is no longer valid"),
        code(SCARD_E_INVALID_PARAMETER): ("SCARD_E_INVALID_PARAMETER", "invalid parameter"),
        code(SCARD_E_INVALID_TARGET): ("SCARD_E_INVALID_TARGET", "registry startup information missing or invalid"),
        code(SCARD_E_NO_MEMORY): ("SCARD_E_NO_MEMORY", "not enough memory"),
        code(SCARD_F_WAITED_TOO_LONG): ("SCARD_F_WAITED_TOO_LONG", "an internal timer expired"),
        code(SCARD_E_INSUFFICIENT_BUFFER): ("SCARD_E_INSUFFICIENT_BUFFER", "the answer is larger than the buffer"),
        code(SCARD_E_UNKNOWN_READER): ("SCARD_E_UNKNOWN_READER", "unknown reader"),
        code(SCARD_E_TIMEOUT): ("SCARD_E_TIMEOUT", "timeout"),
        code(SCARD_E_SHARING_VIOLATION): ("SCARD_E_SHARING_VIOLATION", "the card is used exclusively by another application"),
        code(SCARD_E_NO_SMARTCARD): ("SCARD_E_NO_SMARTCARD", "no card in the reader"),
        code(SCARD_E_UNKNOWN_CARD): ("SCARD_E_UNKNOWN_CARD", "unknown card name"),
        code(SCARD_E_CANT_DISPOSE): ("SCARD_E_CANT_DISPOSE", "the card cannot be disposed of as requested"),
        code(SCARD_E_PROTO_MISMATCH): ("SCARD_E_PROTO_MISMATCH", "requested protocol not available"),
        code(SCARD_E_NOT_READY): ("SCARD_E_NOT_READY", "the reader or card is not ready"),
        code(SCARD_E_INVALID_VALUE): ("SCARD_E_INVALID_VALUE", "invalid parameter value"),
        code(SCARD_E_SYSTEM_CANCELLED): ("SCARD_E_SYSTEM_CANCELLED", "cancelled by the system"),
        code(SCARD_F_COMM_ERROR): ("SCARD_F_COMM_ERROR", "lost communication with pcscd"),
        code(SCARD_F_UNKNOWN_ERROR): ("SCARD_F_UNKNOWN_ERROR", "unknown internal error"),
        code(SCARD_E_INVALID_ATR): ("SCARD_E_INVALID_ATR", "invalid ATR"),
        code(SCARD_E_NOT_TRANSACTED): ("SCARD_E_NOT_TRANSACTED", "no transaction to end"),
        code(SCARD_E_READER_UNAVAILABLE): ("SCARD_E_READER_UNAVAILABLE", "reader unavailable"),
        code(SCARD_P_SHUTDOWN): ("SCARD_P_SHUTDOWN", "aborted because the service is shutting down"),
        code(SCARD_E_PCI_TOO_SMALL): ("SCARD_E_PCI_TOO_SMALL", "PCI receive buffer too small"),
        code(SCARD_E_READER_UNSUPPORTED): ("SCARD_E_READER_UNSUPPORTED", "reader driver not supported"),
        code(SCARD_E_DUPLICATE_READER): ("SCARD_E_DUPLICATE_READER", "duplicate reader name"),
        code(SCARD_E_CARD_UNSUPPORTED): ("SCARD_E_CARD_UNSUPPORTED", "card not supported"),
        code(SCARD_E_NO_SERVICE): ("SCARD_E_NO_SERVICE", "pcscd is not running"),
        code(SCARD_E_SERVICE_STOPPED): ("SCARD_E_SERVICE_STOPPED", "pcscd stopped"),
        code(SCARD_E_UNEXPECTED): ("SCARD_E_UNEXPECTED", "unexpected card error / unsupported feature"),
        code(SCARD_E_ICC_INSTALLATION): ("SCARD_E_ICC_INSTALLATION", "no primary provider for the card"),
        code(SCARD_E_ICC_CREATEORDER): ("SCARD_E_ICC_CREATEORDER", "object creation order not supported"),
        code(SCARD_E_DIR_NOT_FOUND): ("SCARD_E_DIR_NOT_FOUND", "directory not found on the card"),
        code(SCARD_E_FILE_NOT_FOUND): ("SCARD_E_FILE_NOT_FOUND", "file not found on the card"),
        code(SCARD_E_NO_DIR): ("SCARD_E_NO_DIR", "not a card directory"),
        code(SCARD_E_NO_FILE): ("SCARD_E_NO_FILE", "not a card file"),
        code(SCARD_E_NO_ACCESS): ("SCARD_E_NO_ACCESS", "access to the file denied"),
        code(SCARD_E_WRITE_TOO_MANY): ("SCARD_E_WRITE_TOO_MANY", "not enough memory on the card"),
        code(SCARD_E_BAD_SEEK): ("SCARD_E_BAD_SEEK", "file pointer error"),
        code(SCARD_E_INVALID_CHV): ("SCARD_E_INVALID_CHV", "invalid PIN"),
        code(SCARD_E_UNKNOWN_RES_MNG): ("SCARD_E_UNKNOWN_RES_MNG", "unrecognised error from a layered component"),
        code(SCARD_E_NO_SUCH_CERTIFICATE): ("SCARD_E_NO_SUCH_CERTIFICATE", "no such certificate"),
        code(SCARD_E_CERTIFICATE_UNAVAILABLE): ("SCARD_E_CERTIFICATE_UNAVAILABLE", "certificate unavailable"),
        code(SCARD_E_NO_READERS_AVAILABLE): ("SCARD_E_NO_READERS_AVAILABLE", "no reader connected"),
        code(SCARD_E_COMM_DATA_LOST): ("SCARD_E_COMM_DATA_LOST", "communication with the card lost data"),
        code(SCARD_E_NO_KEY_CONTAINER): ("SCARD_E_NO_KEY_CONTAINER", "no key container"),
        code(SCARD_E_SERVER_TOO_BUSY): ("SCARD_E_SERVER_TOO_BUSY", "pcscd is too busy"),
        code(SCARD_W_UNSUPPORTED_CARD): ("SCARD_W_UNSUPPORTED_CARD", "the reader cannot talk to this card (ATR conflict)"),
        code(SCARD_W_UNRESPONSIVE_CARD): ("SCARD_W_UNRESPONSIVE_CARD", "the card does not answer to reset"),
        code(SCARD_W_UNPOWERED_CARD): ("SCARD_W_UNPOWERED_CARD", "the card is not powered"),
        code(SCARD_W_RESET_CARD): ("SCARD_W_RESET_CARD", "the card was reset"),
        code(SCARD_W_REMOVED_CARD): ("SCARD_W_REMOVED_CARD", "the card was removed"),
        code(SCARD_W_SECURITY_VIOLATION): ("SCARD_W_SECURITY_VIOLATION", "access denied (polkit)"),
        code(SCARD_W_WRONG_CHV): ("SCARD_W_WRONG_CHV", "wrong PIN"),
        code(SCARD_W_CHV_BLOCKED): ("SCARD_W_CHV_BLOCKED", "PIN blocked"),
        code(SCARD_W_EOF): ("SCARD_W_EOF", "end of file"),
        code(SCARD_W_CANCELLED_BY_USER): ("SCARD_W_CANCELLED_BY_USER", "cancelled by the user"),
        code(SCARD_W_CARD_NOT_AUTHENTICATED): ("SCARD_W_CARD_NOT_AUTHENTICATED", "no PIN was presented"),
    ]

    static func code(_ v: Int) -> UInt32 { UInt32(truncatingIfNeeded: v) }

    /// The pcsc-lite constant name of `rv`, e.g. `SCARD_E_NO_SERVICE`, or `0x…` for an unknown value.
    public static func name(_ rv: Int) -> String {
        if rv == Int(SCARD_S_SUCCESS) { return "SCARD_S_SUCCESS" }
        return names[code(rv)]?.name ?? ("0x" + String(code(rv), radix: 16, uppercase: true))
    }

    /// True for the codes that mean the service is gone and the context must be rebuilt
    /// (`SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED`, `SCARD_F_COMM_ERROR`; spec note §3.2).
    public static func isServiceLoss(_ rv: Int) -> Bool {
        let c = code(rv)
        return c == code(SCARD_E_NO_SERVICE) || c == code(SCARD_E_SERVICE_STOPPED) || c == code(SCARD_F_COMM_ERROR)
    }

    /// Maps a `LONG` return value of an `SCard*` call to what happened, in the user's words; `nil` for success.
    /// - Parameters: `reader` names the reader in `readerGone` / `permissionDenied`; `requested` / `available`
    ///   fill `protocolMismatch`.
    public static func transportError(
        _ rv: Int, reader: String = "", requested: Set<TransmissionProtocol> = [],
        available: Set<TransmissionProtocol> = []
    ) -> TransportError? {
        switch code(rv) {
        case code(SCARD_S_SUCCESS): return nil
        case code(SCARD_W_REMOVED_CARD): return .cardRemoved
        case code(SCARD_W_RESET_CARD): return .cardReset
        case code(SCARD_E_NO_SMARTCARD): return .noCard
        case code(SCARD_W_UNRESPONSIVE_CARD), code(SCARD_W_UNSUPPORTED_CARD), code(SCARD_W_UNPOWERED_CARD):
            return .cardMute
        case code(SCARD_E_NO_SERVICE), code(SCARD_E_SERVICE_STOPPED), code(SCARD_F_COMM_ERROR),
            code(SCARD_P_SHUTDOWN):
            return .serviceUnavailable
        case code(SCARD_E_READER_UNAVAILABLE), code(SCARD_E_UNKNOWN_READER):
            return .readerGone(reader)
        case code(SCARD_E_NO_READERS_AVAILABLE): return .readerGone(reader.isEmpty ? "(none connected)" : reader)
        case code(SCARD_E_SHARING_VIOLATION), code(SCARD_E_SERVER_TOO_BUSY): return .busy
        case code(SCARD_W_SECURITY_VIOLATION):
            return .permissionDenied(
                "pcscd (polkit) refused access to " + (reader.isEmpty ? "the smart-card service" : "reader \(reader)"))
        case code(SCARD_E_TIMEOUT), code(SCARD_F_WAITED_TOO_LONG): return .timeout
        case code(SCARD_E_CANCELLED), code(SCARD_E_SYSTEM_CANCELLED), code(SCARD_W_CANCELLED_BY_USER):
            return .cancelled
        case code(SCARD_E_PROTO_MISMATCH): return .protocolMismatch(requested: requested, available: available)
        case code(SCARD_E_UNEXPECTED), code(SCARD_E_READER_UNSUPPORTED), code(SCARD_E_CARD_UNSUPPORTED):
            return .notSupported(names[code(rv)]!.meaning + " (" + names[code(rv)]!.name + ")")
        default:
            if let n = names[code(rv)] { return .failed("\(n.meaning) (\(n.name))") }
            return .failed("PC/SC error 0x" + String(code(rv), radix: 16, uppercase: true))
        }
    }
}
