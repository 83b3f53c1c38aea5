/// DESFire native commands wrapped in ISO/IEC 7816-4, and the EV1 AES session arithmetic
/// (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §7.3, §7.4; libfreefare `mifare_desfire.c`).
public enum DESFire {
    /// Native command codes used by Carte.
    public enum Command: UInt8, Sendable {
        case getVersion = 0x60
        case getApplicationIDs = 0x6A
        case selectApplication = 0x5A
        case authenticateAES = 0xAA
        case readData = 0xBD
        /// "Additional frame": asks for the next frame of an answer, or carries the second authentication step.
        case additionalFrame = 0xAF
    }

    /// Native status bytes (SW2 after SW1 = `91`).
    public enum Status {
        public static let ok: UInt8 = 0x00
        public static let additionalFrame: UInt8 = 0xAF
        public static let authenticationError: UInt8 = 0xAE
        public static let permissionDenied: UInt8 = 0x9D
        public static let applicationNotFound: UInt8 = 0xA0
        public static let fileNotFound: UInt8 = 0xF0
        public static let lengthError: UInt8 = 0x7E
        public static let illegalCommand: UInt8 = 0x1C
        public static let integrityError: UInt8 = 0x1E
        public static let noSuchKey: UInt8 = 0x40
        public static let boundaryError: UInt8 = 0xBE
    }

    /// The ISO/IEC 7816-4 wrapping of one native command: `90 INS 00 00 [Lc params] 00` (Lc and the data field
    /// omitted when there are no parameters; Le = `00` always). At most 255 parameter bytes.
    public static func wrap(_ ins: UInt8, _ params: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = [0x90, ins, 0x00, 0x00]
        if !params.isEmpty {
            out.append(UInt8(truncatingIfNeeded: params.count))
            out += params
        }
        out.append(0x00)
        return out
    }

    /// ReadData parameters: file number, offset (3 bytes, LSB first), length (3 bytes, LSB first; 0 = up to the
    /// end of the file).
    public static func readDataParameters(file: UInt8, offset: Int, length: Int) -> [UInt8] {
        [
            file,
            UInt8(offset & 0xFF), UInt8(offset >> 8 & 0xFF), UInt8(offset >> 16 & 0xFF),
            UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF),
        ]
    }

    /// The byte string rotated left by one byte (RndB → RndB′, RndA → RndA′).
    public static func rotateLeft(_ bytes: [UInt8]) -> [UInt8] {
        guard let first = bytes.first else { return bytes }
        return Array(bytes.dropFirst()) + [first]
    }

    /// The EV1 AES session key: `RndA[0..3] ‖ RndB[0..3] ‖ RndA[12..15] ‖ RndB[12..15]` (16 bytes; §7.4 step 5).
    /// Both randoms must be 16 bytes; other lengths give an empty result.
    public static func sessionKeyAES(rndA: [UInt8], rndB: [UInt8]) -> [UInt8] {
        guard rndA.count == 16, rndB.count == 16 else { return [] }
        return Array(rndA[0..<4]) + Array(rndB[0..<4]) + Array(rndA[12..<16]) + Array(rndB[12..<16])
    }

    /// Compares two byte strings in time independent of where they differ.
    static func constantTimeEqual<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }
}
