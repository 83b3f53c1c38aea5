import COpenSSL

/// Hash functions by name, for HMAC, DigestInfo and signatures.
public enum HashAlgorithm: String, Sendable, CaseIterable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"

    /// Digest length in bytes (20, 32, 64).
    public var digestLength: Int {
        switch self {
        case .sha1: return 20
        case .sha256: return 32
        case .sha512: return 64
        }
    }

    var evpMD: OpaquePointer {
        switch self {
        case .sha1: return EVP_sha1()
        case .sha256: return EVP_sha256()
        case .sha512: return EVP_sha512()
        }
    }

    /// One-shot digest of `data` (FIPS 180-4).
    public func hash(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        let ok = data.withUnsafeBytes { EVP_Digest($0.baseAddress, $0.count, &out, &len, evpMD, nil) }
        precondition(ok == 1, "EVP_Digest cannot fail for a built-in digest")
        return Array(out[0..<Int(len)])
    }
}

/// HMAC (RFC 2104) through OpenSSL's one-shot `HMAC()`; used by HOTP/TOTP (RFC 4226, RFC 6238).
public enum HMAC {
    /// HMAC of `data` under `key` with `algorithm`: 20 (SHA-1), 32 (SHA-256) or 64 (SHA-512) bytes.
    /// - Throws: `CryptoError.openSSL` if OpenSSL refuses (not expected for in-memory inputs).
    public static func authenticationCode(
        _ algorithm: HashAlgorithm, key: [UInt8], data: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        let r = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                COpenSSL.HMAC(
                    algorithm.evpMD, k.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(k.count),
                    d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count, &out, &len)
            }
        }
        guard r != nil else { throw .openSSLFailure("compute HMAC-\(algorithm.rawValue)") }
        return Array(out[0..<Int(len)])
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG (`RAND_bytes`).
public enum SecureRandom {
    /// `count` random bytes. - Throws: `CryptoError.openSSL` if the DRBG is not seeded.
    public static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        guard count >= 0 else { throw .invalidInput("negative random length \(count)") }
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        guard RAND_bytes(&out, Int32(count)) == 1 else { throw .openSSLFailure("produce random bytes") }
        return out
    }
}
