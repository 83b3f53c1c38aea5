import ISO7816

/// Conversion of the PC/SC v2 part 10 PIN structures into the abData of PC_to_RDR_Secure (USB CCID rev 1.10
/// §6.1.11; `../shared/specs/pcsc-ccid-vpcd-contactless.md` §3.3): bPINOperation (0 verify, 1 modify) followed by
/// the structure minus bTimerOut2 (offset 1) and ulDataLength. The PIN itself never passes here: the pinpad
/// collects it; only the APDU template with placeholder bytes does.
public enum CCIDPINBlock {
    /// PIN_VERIFY_STRUCTURE (19-byte header + APDU template) → `00 ‖ bTimerOut ‖ bytes 2…14 ‖ APDU`.
    /// - Throws: `TransportError.failed` when shorter than 19 + 4 bytes or ulDataLength (LE) disagrees with the
    ///   APDU length.
    public static func verifyWire(fromPCSC s: [UInt8]) throws(TransportError) -> [UInt8] {
        try check(s, header: PINVerifyStructure.headerSize, declared: PINVerifyStructure.declaredDataLength(in: s), what: "PIN_VERIFY_STRUCTURE")
        return [0x00, s[0]] + Array(s[2..<15]) + Array(s[19...])
    }

    /// PIN_MODIFY_STRUCTURE (24-byte header + APDU template) → `01 ‖ bTimerOut ‖ bytes 2…19 ‖ APDU`.
    /// - Throws: `TransportError.failed` when shorter than 24 + 4 bytes or ulDataLength disagrees.
    public static func modifyWire(fromPCSC s: [UInt8]) throws(TransportError) -> [UInt8] {
        try check(s, header: PINModifyStructure.headerSize, declared: PINModifyStructure.declaredDataLength(in: s), what: "PIN_MODIFY_STRUCTURE")
        return [0x01, s[0]] + Array(s[2..<20]) + Array(s[24...])
    }

    /// The framing check (header + at least a 4-byte APDU, ulDataLength as read by the part 10 parsers), in the
    /// driver's words.
    private static func check(_ s: [UInt8], header: Int, declared: Int?, what: String) throws(TransportError) {
        guard s.count >= header + 4, let declared else { throw .failed("\(what) too short (\(s.count) bytes)") }
        guard declared == s.count - header else {
            throw .failed("\(what) ulDataLength \(declared) but \(s.count - header) APDU bytes follow")
        }
    }
}
