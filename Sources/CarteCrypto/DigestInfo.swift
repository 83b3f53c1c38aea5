/// The DER DigestInfo that PKCS#1 v1.5 signatures carry (RFC 8017 §9.2, note 1):
/// `30 21 30 09 06 05 2B 0E 03 02 1A 05 00 04 14 ‖ SHA-1` and
/// `30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20 ‖ SHA-256` (and SHA-512, prefix `30 51 …`).
public enum DigestInfo {
    static func prefix(_ algorithm: HashAlgorithm) -> [UInt8] {
        switch algorithm {
        case .sha1: return [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14]
        case .sha256:
            return [0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]
        case .sha512:
            return [0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]
        }
    }

    /// DigestInfo bytes for `digest` (35 bytes for SHA-1, 51 for SHA-256, 83 for SHA-512).
    /// - Precondition: `digest.count == algorithm.digestLength` (checked: a wrong length traps).
    public static func encode(_ algorithm: HashAlgorithm, digest: [UInt8]) -> [UInt8] {
        precondition(digest.count == algorithm.digestLength, "digest length does not match \(algorithm)")
        return prefix(algorithm) + digest
    }

    /// Splits a DigestInfo into its algorithm and digest.
    /// - Throws: `CryptoError.malformed` when the bytes are not exactly one of the three encodings.
    public static func decode(_ bytes: [UInt8]) throws(CryptoError) -> (algorithm: HashAlgorithm, digest: [UInt8]) {
        for a in HashAlgorithm.allCases {
            let p = prefix(a)
            if bytes.count == p.count + a.digestLength, Array(bytes.prefix(p.count)) == p {
                return (a, Array(bytes.dropFirst(p.count)))
            }
        }
        throw .malformed(what: "DigestInfo", reason: "not a SHA-1, SHA-256 or SHA-512 DigestInfo (\(bytes.count) bytes)")
    }
}
