import COpenSSL
import Testing
@testable import CarteCrypto

@Suite struct EncryptedPEMTests {
    @Test func encryptedPrivateKeyFailsWithoutPrompting() throws {
        let key = SharedKeys.a
        var pass = Array("not-a-secret".utf8).map { CChar(bitPattern: $0) }
        let pem = try BIOBuffer.write("export an encrypted key") {
            PEM_write_bio_PKCS8PrivateKey($0, key.pkey, EVP_aes_128_cbc(), &pass, Int32(pass.count), nil, nil)
        }
        let text = String(decoding: pem, as: UTF8.self)
        #expect(text.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        #expect(throws: CryptoError.self) { try RSAPrivateKey(pem: text) }
    }
}
