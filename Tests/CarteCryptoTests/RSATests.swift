import Testing
@testable import CarteCrypto

@Suite struct RSATests {
    @Test func signVerifyRoundTrip() throws {
        let key = SharedKeys.a
        #expect(key.modulusLength == 256)
        let msg = Array("challenge".utf8)
        let sig = try key.sign(message: msg)
        #expect(sig.count == 256)
        #expect(key.publicKey.verify(signature: sig, message: msg))
        #expect(!key.publicKey.verify(signature: sig, message: Array("challengf".utf8)))
        #expect(!SharedKeys.b.publicKey.verify(signature: sig, message: msg))
        var tampered = sig
        tampered[100] ^= 1
        #expect(!key.publicKey.verify(signature: tampered, message: msg))
        #expect(!key.publicKey.verify(signature: Array(sig.dropLast()), message: msg))
        let di = DigestInfo.encode(.sha256, digest: Digest.sha256(msg))
        #expect(try key.publicKey.recoverPKCS1(signature: sig) == di)
    }

    @Test func rawPrivateOperationEqualsPKCS1Type1() throws {
        let key = SharedKeys.a
        let di = DigestInfo.encode(.sha256, digest: Digest.sha256(Array("abc".utf8)))
        // EM = 00 01 FF…FF 00 ‖ DigestInfo (RFC 8017 §9.2), as the card pads before its raw operation.
        let em = [0x00, 0x01] + [UInt8](repeating: 0xFF, count: 256 - 3 - di.count) + [0x00] + di
        let raw = try key.rawPrivateOperation(em)
        #expect(raw == (try key.signPKCS1(digestInfo: di)))
        #expect(try key.publicKey.rawPublicOperation(raw) == em)
    }

    @Test func pkcs1DecryptRoundTrip() throws {
        let key = SharedKeys.a
        let secret = h("00112233445566778899AABBCCDDEEFF")
        let ct = try key.publicKey.encryptPKCS1(secret)
        #expect(ct.count == 256)
        #expect(try key.decryptPKCS1(ct) == secret)
        #expect(throws: CryptoError.self) { try SharedKeys.b.decryptPKCS1(ct) }
    }

    @Test func lengthChecks() {
        let key = SharedKeys.a
        #expect(throws: CryptoError.invalidInput("raw RSA input must be 256 bytes, got 255")) {
            try key.rawPrivateOperation([UInt8](repeating: 1, count: 255))
        }
        #expect(throws: CryptoError.invalidInput("PKCS#1 v1.5 input is at most 245 bytes, got 246")) {
            try key.signPKCS1(digestInfo: [UInt8](repeating: 1, count: 246))
        }
        #expect(throws: CryptoError.self) { try key.rawPrivateOperation([UInt8](repeating: 0xFF, count: 256)) }  // ≥ n
    }

    @Test func pemAndDERRoundTrips() throws {
        let key = SharedKeys.a
        let pem = try key.pkcs8PEM()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let der = try key.pkcs8DER()
        #expect(der.first == 0x30)
        let fromPEM = try RSAPrivateKey(pem: pem)
        let fromDER = try RSAPrivateKey(der: der)
        #expect(fromPEM.publicKey == key.publicKey)
        #expect(fromDER.publicKey == key.publicKey)
        let spki = try key.publicKey.derSubjectPublicKeyInfo()
        #expect(try RSAPublicKey(der: spki) == key.publicKey)
        #expect(try RSAPublicKey(pem: key.publicKey.pem()) == key.publicKey)
        #expect(key.publicKey.publicExponent == [0x01, 0x00, 0x01])
        #expect(key.publicKey.modulus.count == 256)
        #expect(key.publicKey.modulus[0] & 0x80 != 0)
    }

    @Test func publicKeyFromModulusAndExponent() throws {
        let pub = SharedKeys.a.publicKey
        let rebuilt = try RSAPublicKey(modulus: [0x00] + pub.modulus, exponent: pub.publicExponent)
        #expect(rebuilt == pub)
        #expect(try rebuilt.derSubjectPublicKeyInfo() == pub.derSubjectPublicKeyInfo())
        #expect(throws: CryptoError.self) { try RSAPublicKey(modulus: [0x02], exponent: [0x03]) }
        #expect(throws: CryptoError.self) { try RSAPublicKey(modulus: pub.modulus, exponent: []) }
    }

    @Test func mutatedKeyBytesNeverCrash() throws {
        var rng = SplitMix64(state: 99)
        let der = try SharedKeys.a.pkcs8DER()
        let spki = try SharedKeys.a.publicKey.derSubjectPublicKeyInfo()
        for _ in 0..<300 {
            var d = der
            var p = spki
            for _ in 0..<3 {
                d[Int.random(in: 0..<d.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                p[Int.random(in: 0..<p.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = try? RSAPrivateKey(der: Array(d.prefix(Int.random(in: 0...d.count, using: &rng))))
            _ = try? RSAPublicKey(der: p)
        }
    }

    @Test func emptyInputsAreErrors() throws {
        #expect(throws: CryptoError.self) { try RSAPrivateKey(pem: "") }
        #expect(throws: CryptoError.self) { try RSAPublicKey(pem: "") }
        #expect(throws: CryptoError.self) { try RSAPrivateKey(der: []) }
        #expect(throws: CryptoError.self) { try Certificate(pem: "") }
        #expect(throws: CryptoError.self) { try CertificateRevocationList(pem: "") }
        #expect(throws: CryptoError.self) { try CertificateRevocationList(der: []) }
        #expect(try Certificate.certificates(pem: "") == [])
    }

    @Test func malformedKeysAreErrors() {
        #expect(throws: CryptoError.self) { try RSAPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
        #expect(throws: CryptoError.self) { try RSAPrivateKey(der: [0x30, 0x03, 0x02, 0x01, 0x00]) }
        #expect(throws: CryptoError.self) { try RSAPublicKey(der: []) }
        #expect(throws: CryptoError.invalidInput("RSA key size 512 bits is outside 1024…8192")) { try RSAPrivateKey.generate(bits: 512) }
    }
}
