import COpenSSL

/// An RSA private key (OpenSSL `EVP_PKEY`, freed on deinit). Immutable once created, so it can be shared
/// between threads; every operation uses its own `EVP_PKEY_CTX`.
public final class RSAPrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(owning pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    /// Generates a new key of `bits` bits (default 2048) with public exponent 65537.
    /// - Throws: `CryptoError.invalidInput` for fewer than 1024 bits; `.openSSL` if generation fails.
    public static func generate(bits: Int = 2048) throws(CryptoError) -> RSAPrivateKey {
        guard bits >= 1024, bits <= 8192 else { throw .invalidInput("RSA key size \(bits) bits is outside 1024…8192") }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { throw .openSSLFailure("create an RSA key context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)) == 1 else {
            throw .openSSLFailure("set up RSA key generation")
        }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_generate(ctx, &key) == 1, let key else { throw .openSSLFailure("generate an RSA key") }
        return RSAPrivateKey(owning: key)
    }

    /// Imports a private key from PEM ("PRIVATE KEY" PKCS#8 or "RSA PRIVATE KEY" PKCS#1), unencrypted.
    /// - Throws: `CryptoError.malformed` when the text is not such a key, or the key is not RSA.
    public convenience init(pem: String) throws(CryptoError) {
        let key = BIOBuffer.read(Array(pem.utf8)) { PEM_read_bio_PrivateKey($0, nil, noPassphrase, nil) }
        guard let key else { throw .malformed(what: "PEM private key", reason: CryptoError.drainErrorQueue()) }
        try Self.requireRSA(key)
        self.init(owning: key)
    }

    /// Imports a private key from DER (PKCS#8 PrivateKeyInfo, or PKCS#1 RSAPrivateKey).
    /// - Throws: `CryptoError.malformed` when the bytes are not such a key, or the key is not RSA.
    public convenience init(der: [UInt8]) throws(CryptoError) {
        let key: OpaquePointer? = der.withUnsafeBytes { raw in
            var p = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            return d2i_AutoPrivateKey(nil, &p, raw.count)
        }
        guard let key else { throw .malformed(what: "DER private key", reason: CryptoError.drainErrorQueue()) }
        try Self.requireRSA(key)
        self.init(owning: key)
    }

    static func requireRSA(_ key: OpaquePointer) throws(CryptoError) {
        if EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA {
            EVP_PKEY_free(key)
            throw .malformed(what: "RSA key", reason: "the key is not an RSA key")
        }
    }

    /// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted. Handle with care: never log it.
    public func pkcs8PEM() throws(CryptoError) -> String {
        let bytes = try BIOBuffer.write("export the private key as PEM") {
            PEM_write_bio_PKCS8PrivateKey($0, pkey, nil, nil, 0, nil, nil)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// PKCS#8 DER PrivateKeyInfo, unencrypted.
    public func pkcs8DER() throws(CryptoError) -> [UInt8] {
        try BIOBuffer.write("export the private key as DER") {
            i2d_PKCS8PrivateKey_bio($0, pkey, nil, nil, 0, nil, nil)
        }
    }

    /// The matching public key.
    public var publicKey: RSAPublicKey {
        // Round trip through SubjectPublicKeyInfo: cannot fail for a valid RSA key.
        let der = try! RSAPublicKey.spki(of: pkey)
        return try! RSAPublicKey(der: der)
    }

    /// Modulus size in bytes (256 for RSA-2048).
    public var modulusLength: Int { Int(EVP_PKEY_get_size(pkey)) }

    /// Raw RSA private operation `input^d mod n` (no padding), as a card computes after doing its own padding.
    /// - Parameter input: exactly `modulusLength` bytes, numerically below the modulus.
    /// - Returns: `modulusLength` bytes.
    /// - Throws: `CryptoError.invalidInput` for a wrong length; `.openSSL` when the value is not below n.
    public func rawPrivateOperation(_ input: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard input.count == modulusLength else {
            throw .invalidInput("raw RSA input must be \(modulusLength) bytes, got \(input.count)")
        }
        return try pkeyOperation(pkey, "apply the raw RSA private operation", padding: RSA_NO_PADDING, kind: .decrypt, input)
    }

    /// PKCS#1 v1.5 signature (type 1 padding) over `digestInfo` — the data an INTERNAL AUTHENTICATE receives
    /// (cps.md §6.3 D). Any input up to `modulusLength - 11` bytes is accepted.
    /// - Returns: `modulusLength` bytes.
    public func signPKCS1(digestInfo: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard digestInfo.count <= modulusLength - 11 else {
            throw .invalidInput("PKCS#1 v1.5 input is at most \(modulusLength - 11) bytes, got \(digestInfo.count)")
        }
        return try pkeyOperation(pkey, "sign with RSA PKCS#1 v1.5", padding: RSA_PKCS1_PADDING, kind: .sign, digestInfo)
    }

    /// Hashes `message` with `algorithm`, wraps it in a DigestInfo and signs it (RSASSA-PKCS1-v1_5, RFC 8017 §8.2).
    public func sign(message: [UInt8], algorithm: HashAlgorithm = .sha256) throws(CryptoError) -> [UInt8] {
        try signPKCS1(digestInfo: DigestInfo.encode(algorithm, digest: algorithm.hash(message)))
    }

    /// PKCS#1 v1.5 decryption (type 2 padding), as PSO DECIPHER does (cps.md §6.3 E).
    /// - Parameter ciphertext: exactly `modulusLength` bytes.
    /// - Throws: `CryptoError.invalidInput` for a wrong length; `.openSSL` when the padding is wrong.
    public func decryptPKCS1(_ ciphertext: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard ciphertext.count == modulusLength else {
            throw .invalidInput("an RSA cryptogram must be \(modulusLength) bytes, got \(ciphertext.count)")
        }
        return try pkeyOperation(pkey, "decrypt with RSA PKCS#1 v1.5", padding: RSA_PKCS1_PADDING, kind: .decrypt, ciphertext)
    }
}

/// An RSA public key (OpenSSL `EVP_PKEY`, freed on deinit).
public final class RSAPublicKey: @unchecked Sendable, Equatable {
    let pkey: OpaquePointer

    init(owning pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    static func spki(of pkey: OpaquePointer) throws(CryptoError) -> [UInt8] {
        try BIOBuffer.write("export the public key") { i2d_PUBKEY_bio($0, pkey) }
    }

    /// Imports a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
    /// - Throws: `CryptoError.malformed` when the bytes are not an RSA SubjectPublicKeyInfo.
    public convenience init(der: [UInt8]) throws(CryptoError) {
        let key: OpaquePointer? = der.withUnsafeBytes { raw in
            var p = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            return d2i_PUBKEY(nil, &p, raw.count)
        }
        guard let key else { throw .malformed(what: "DER public key", reason: CryptoError.drainErrorQueue()) }
        try RSAPrivateKey.requireRSA(key)
        self.init(owning: key)
    }

    /// Builds a public key from its modulus and public exponent (big-endian magnitudes, leading zeros allowed),
    /// e.g. as a card's public-key SDO gives them.
    /// - Throws: `CryptoError.invalidInput` for an empty or even modulus or an empty exponent;
    ///   `.malformed` if OpenSSL refuses the key.
    public convenience init(modulus: [UInt8], exponent: [UInt8]) throws(CryptoError) {
        let n = Array(modulus.drop { $0 == 0 })
        let e = Array(exponent.drop { $0 == 0 })
        guard let last = n.last, last & 1 == 1, n.count >= 64 else {
            throw .invalidInput("an RSA modulus is odd and at least 512 bits")
        }
        guard !e.isEmpty else { throw .invalidInput("the RSA public exponent is empty") }
        func integer(_ v: [UInt8]) -> [UInt8] { derTLV(0x02, v[0] & 0x80 != 0 ? [0] + v : v) }
        let rsaPublicKey = derTLV(0x30, integer(n) + integer(e))
        let algorithm: [UInt8] = [0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00]
        try self.init(der: derTLV(0x30, algorithm + derTLV(0x03, [0x00] + rsaPublicKey)))
    }

    /// Imports a PEM "PUBLIC KEY" (SubjectPublicKeyInfo).
    public convenience init(pem: String) throws(CryptoError) {
        let key = BIOBuffer.read(Array(pem.utf8)) { PEM_read_bio_PUBKEY($0, nil, noPassphrase, nil) }
        guard let key else { throw .malformed(what: "PEM public key", reason: CryptoError.drainErrorQueue()) }
        try RSAPrivateKey.requireRSA(key)
        self.init(owning: key)
    }

    /// DER SubjectPublicKeyInfo.
    public func derSubjectPublicKeyInfo() throws(CryptoError) -> [UInt8] { try Self.spki(of: pkey) }

    /// PEM "-----BEGIN PUBLIC KEY-----".
    public func pem() throws(CryptoError) -> String {
        String(decoding: try BIOBuffer.write("export the public key as PEM") { PEM_write_bio_PUBKEY($0, pkey) }, as: UTF8.self)
    }

    /// Modulus n, big-endian, without leading zero bytes.
    public var modulus: [UInt8] { bignumParam("n") }
    /// Public exponent e, big-endian (e.g. `01 00 01`).
    public var publicExponent: [UInt8] { bignumParam("e") }
    /// Modulus size in bytes (256 for RSA-2048).
    public var modulusLength: Int { Int(EVP_PKEY_get_size(pkey)) }

    private func bignumParam(_ name: String) -> [UInt8] {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, let bn else { ERR_clear_error(); return [] }
        defer { BN_free(bn) }
        var out = [UInt8](repeating: 0, count: Int((BN_num_bits(bn) + 7) / 8))
        _ = BN_bn2bin(bn, &out)
        return out
    }

    /// Verifies a PKCS#1 v1.5 signature whose payload is exactly `digestInfo` (no hash applied here).
    /// Returns false for any mismatch or malformed signature; never throws.
    public func verifyPKCS1(signature: [UInt8], digestInfo: [UInt8]) -> Bool {
        guard signature.count == modulusLength,
            let recovered = try? recoverPKCS1(signature: signature)
        else { ERR_clear_error(); return false }
        return recovered == digestInfo
    }

    /// Hashes `message`, and checks `signature` is RSASSA-PKCS1-v1_5 over its DigestInfo.
    public func verify(signature: [UInt8], message: [UInt8], algorithm: HashAlgorithm = .sha256) -> Bool {
        verifyPKCS1(signature: signature, digestInfo: DigestInfo.encode(algorithm, digest: algorithm.hash(message)))
    }

    /// The payload of a PKCS#1 v1.5 (type 1) signature: the public operation then the padding removed.
    /// - Throws: `CryptoError.openSSL` when the padding is not type 1.
    public func recoverPKCS1(signature: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard signature.count == modulusLength else {
            throw .invalidInput("an RSA signature must be \(modulusLength) bytes, got \(signature.count)")
        }
        return try pkeyOperation(pkey, "recover the signed data", padding: RSA_PKCS1_PADDING, kind: .verifyRecover, signature)
    }

    /// Raw RSA public operation `input^e mod n` (no padding); `input` is `modulusLength` bytes.
    public func rawPublicOperation(_ input: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard input.count == modulusLength else {
            throw .invalidInput("raw RSA input must be \(modulusLength) bytes, got \(input.count)")
        }
        return try pkeyOperation(pkey, "apply the raw RSA public operation", padding: RSA_NO_PADDING, kind: .encrypt, input)
    }

    /// PKCS#1 v1.5 encryption (type 2 padding) of at most `modulusLength - 11` bytes.
    public func encryptPKCS1(_ plaintext: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard plaintext.count <= modulusLength - 11 else {
            throw .invalidInput("PKCS#1 v1.5 plaintext is at most \(modulusLength - 11) bytes, got \(plaintext.count)")
        }
        return try pkeyOperation(pkey, "encrypt with RSA PKCS#1 v1.5", padding: RSA_PKCS1_PADDING, kind: .encrypt, plaintext)
    }

    public static func == (a: RSAPublicKey, b: RSAPublicKey) -> Bool { EVP_PKEY_eq(a.pkey, b.pkey) == 1 }
}

enum PKeyOperationKind { case sign, verifyRecover, encrypt, decrypt }

func pkeyOperation(
    _ pkey: OpaquePointer, _ what: String, padding: Int32, kind: PKeyOperationKind, _ input: [UInt8]
) throws(CryptoError) -> [UInt8] {
    guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else { throw .openSSLFailure(what) }
    defer { EVP_PKEY_CTX_free(ctx) }
    let initOK: Int32
    switch kind {
    case .sign: initOK = EVP_PKEY_sign_init(ctx)
    case .verifyRecover: initOK = EVP_PKEY_verify_recover_init(ctx)
    case .encrypt: initOK = EVP_PKEY_encrypt_init(ctx)
    case .decrypt: initOK = EVP_PKEY_decrypt_init(ctx)
    }
    guard initOK == 1, EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1 else { throw .openSSLFailure(what) }
    var outLen = Int(EVP_PKEY_get_size(pkey))
    var out = [UInt8](repeating: 0, count: outLen)
    let r: Int32
    switch kind {
    case .sign: r = EVP_PKEY_sign(ctx, &out, &outLen, input, input.count)
    case .verifyRecover: r = EVP_PKEY_verify_recover(ctx, &out, &outLen, input, input.count)
    case .encrypt: r = EVP_PKEY_encrypt(ctx, &out, &outLen, input, input.count)
    case .decrypt: r = EVP_PKEY_decrypt(ctx, &out, &outLen, input, input.count)
    }
    guard r == 1 else { throw .openSSLFailure(what) }
    return Array(out[0..<outLen])
}

/// One DER TLV with a definite length (short or long form).
func derTLV(_ tag: UInt8, _ value: [UInt8]) -> [UInt8] {
    let n = value.count
    if n < 0x80 { return [tag, UInt8(n)] + value }
    var len: [UInt8] = []
    var m = n
    while m > 0 { len.insert(UInt8(m & 0xFF), at: 0); m >>= 8 }
    return [tag, 0x80 | UInt8(len.count)] + len + value
}
