import COpenSSL

/// AES block cipher (FIPS 197) without padding, through OpenSSL EVP. Keys of 16, 24 or 32 bytes select
/// AES-128/192/256; data must be a whole number of 16-byte blocks.
public enum AES {
    /// The block size in bytes.
    public static let blockSize = 16

    /// Chaining modes (NIST SP 800-38A).
    public enum Mode: Sendable { case ecb, cbc(iv: [UInt8]) }

    /// Encrypts `data` (a multiple of 16 bytes) under `key` (16/24/32 bytes).
    /// - Throws: `CryptoError.invalidInput` for a wrong key, IV or data length; `.openSSL` if EVP fails.
    public static func encrypt(_ data: [UInt8], key: [UInt8], mode: Mode) throws(CryptoError) -> [UInt8] {
        try run(data, key: key, mode: mode, encrypt: true)
    }

    /// Decrypts `data` (a multiple of 16 bytes) under `key` (16/24/32 bytes).
    /// - Throws: `CryptoError.invalidInput` for a wrong key, IV or data length; `.openSSL` if EVP fails.
    public static func decrypt(_ data: [UInt8], key: [UInt8], mode: Mode) throws(CryptoError) -> [UInt8] {
        try run(data, key: key, mode: mode, encrypt: false)
    }

    static func cipher(keyLength: Int, ecb: Bool) throws(CryptoError) -> OpaquePointer {
        switch (keyLength, ecb) {
        case (16, true): return EVP_aes_128_ecb()
        case (16, false): return EVP_aes_128_cbc()
        case (24, true): return EVP_aes_192_ecb()
        case (24, false): return EVP_aes_192_cbc()
        case (32, true): return EVP_aes_256_ecb()
        case (32, false): return EVP_aes_256_cbc()
        default: throw .invalidInput("an AES key is 16, 24 or 32 bytes, got \(keyLength)")
        }
    }

    private static func run(_ data: [UInt8], key: [UInt8], mode: Mode, encrypt: Bool) throws(CryptoError) -> [UInt8] {
        guard data.count % blockSize == 0 else {
            throw .invalidInput("AES without padding needs a multiple of 16 bytes, got \(data.count)")
        }
        var iv: [UInt8]? = nil
        if case .cbc(let v) = mode {
            guard v.count == blockSize else { throw .invalidInput("an AES-CBC IV is 16 bytes, got \(v.count)") }
            iv = v
        }
        let evpCipher = try cipher(keyLength: key.count, ecb: iv == nil)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .openSSLFailure("allocate a cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let op = encrypt ? "AES-encrypt" : "AES-decrypt"
        guard EVP_CipherInit_ex(ctx, evpCipher, nil, key, iv, encrypt ? 1 : 0) == 1 else { throw .openSSLFailure(op) }
        EVP_CIPHER_CTX_set_padding(ctx, 0)
        if data.isEmpty { return [] }
        var out = [UInt8](repeating: 0, count: data.count + blockSize)
        var n1: Int32 = 0
        var n2: Int32 = 0
        guard EVP_CipherUpdate(ctx, &out, &n1, data, Int32(data.count)) == 1 else { throw .openSSLFailure(op) }
        let ok = out.withUnsafeMutableBufferPointer { EVP_CipherFinal_ex(ctx, $0.baseAddress! + Int(n1), &n2) }
        guard ok == 1 else { throw .openSSLFailure(op) }
        return Array(out[0..<Int(n1 + n2)])
    }
}

/// AES-CMAC (NIST SP 800-38B, RFC 4493) through OpenSSL's EVP_MAC "CMAC".
public enum CMAC {
    /// The 16-byte AES-CMAC of `data` under `key` (16/24/32 bytes). Truncate the result yourself if a protocol
    /// uses a shorter MAC (e.g. DESFire EV1 keeps 8 bytes).
    /// - Throws: `CryptoError.invalidInput` for a wrong key length; `.openSSL` if EVP_MAC fails.
    public static func aes(key: [UInt8], data: [UInt8]) throws(CryptoError) -> [UInt8] {
        let name: String
        switch key.count {
        case 16: name = "AES-128-CBC"
        case 24: name = "AES-192-CBC"
        case 32: name = "AES-256-CBC"
        default: throw .invalidInput("an AES key is 16, 24 or 32 bytes, got \(key.count)")
        }
        var out = [UInt8](repeating: 0, count: 16)
        var outLen = 0
        let r = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                EVP_Q_mac(
                    nil, "CMAC", nil, name, nil, k.baseAddress, k.count,
                    d.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1), d.count,
                    &out, out.count, &outLen)
            }
        }
        guard r != nil, outLen == 16 else { throw .openSSLFailure("compute AES-CMAC") }
        return out
    }
}
