import Testing
@testable import CarteCrypto

@Suite struct HMACTests {
    // RFC 4231 test cases 1 and 2; RFC 2202 test case 1 for SHA-1.
    @Test func rfc4231Case1() throws {
        let key = [UInt8](repeating: 0x0B, count: 20)
        let data = Array("Hi There".utf8)
        #expect(try HMAC.authenticationCode(.sha256, key: key, data: data)
            == h("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"))
        #expect(try HMAC.authenticationCode(.sha512, key: key, data: data)
            == h("87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"))
        #expect(try HMAC.authenticationCode(.sha1, key: key, data: data) == h("b617318655057264e28bc0b6fb378c8ef146be00"))
    }

    @Test func rfc4231Case2() throws {
        let mac = try HMAC.authenticationCode(.sha256, key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
        #expect(mac == h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
    }

    @Test func emptyKeyAndData() throws {
        // HMAC-SHA256("", "") — a well-known value.
        #expect(try HMAC.authenticationCode(.sha256, key: [], data: [])
            == h("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"))
    }
}

@Suite struct AESTests {
    @Test func fips197AppendixC1() throws {
        let key = h("000102030405060708090a0b0c0d0e0f")
        let pt = h("00112233445566778899aabbccddeeff")
        let ct = try AES.encrypt(pt, key: key, mode: .ecb)
        #expect(ct == h("69c4e0d86a7b0430d8cdb78070b4c55a"))
        #expect(try AES.decrypt(ct, key: key, mode: .ecb) == pt)
    }

    static let sp80038aKey = h("2b7e151628aed2a6abf7158809cf4f3c")
    static let sp80038aPlain = h("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51")

    @Test func sp80038aECB() throws {
        let ct = try AES.encrypt(Self.sp80038aPlain, key: Self.sp80038aKey, mode: .ecb)
        #expect(ct == h("3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf"))
    }

    @Test func sp80038aCBC() throws {
        let iv = h("000102030405060708090a0b0c0d0e0f")
        let ct = try AES.encrypt(Self.sp80038aPlain, key: Self.sp80038aKey, mode: .cbc(iv: iv))
        #expect(ct == h("7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2"))
        #expect(try AES.decrypt(ct, key: Self.sp80038aKey, mode: .cbc(iv: iv)) == Self.sp80038aPlain)
    }

    @Test func refusesBadLengths() {
        #expect(throws: CryptoError.invalidInput("AES without padding needs a multiple of 16 bytes, got 15")) {
            try AES.encrypt([UInt8](repeating: 0, count: 15), key: Self.sp80038aKey, mode: .ecb)
        }
        #expect(throws: CryptoError.invalidInput("an AES key is 16, 24 or 32 bytes, got 15")) {
            try AES.encrypt([UInt8](repeating: 0, count: 16), key: [UInt8](repeating: 0, count: 15), mode: .ecb)
        }
        #expect(throws: CryptoError.invalidInput("an AES-CBC IV is 16 bytes, got 8")) {
            try AES.decrypt([UInt8](repeating: 0, count: 16), key: Self.sp80038aKey, mode: .cbc(iv: [UInt8](repeating: 0, count: 8)))
        }
    }
}

@Suite struct CMACTests {
    // RFC 4493 §4 examples 1–4.
    static let key = h("2b7e151628aed2a6abf7158809cf4f3c")
    static let message = h(
        "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710")

    @Test(arguments: [
        (0, "bb1d6929e95937287fa37d129b756746"),
        (16, "070a16b46b4d4144f79bdd9dd04a287c"),
        (40, "dfa66747de9ae63030ca32611497c827"),
        (64, "51f0bebf7e3b9d92fc49741779363cfe"),
    ])
    func rfc4493(length: Int, expected: String) throws {
        #expect(try CMAC.aes(key: Self.key, data: Array(Self.message.prefix(length))) == h(expected))
    }
}

@Suite struct RandomTests {
    @Test func lengthsAndVariety() throws {
        #expect(try SecureRandom.bytes(0) == [])
        let a = try SecureRandom.bytes(32)
        let b = try SecureRandom.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)  // 2^-256 chance of a false failure
    }
}
