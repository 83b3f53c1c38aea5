import Testing
@testable import CarteCrypto

@Suite struct OpenSSLLinkTests {
    @Test func linksOpenSSL3() { #expect(OpenSSLLibrary.version.hasPrefix("OpenSSL 3")) }
}

@Suite struct DigestTests {
    @Test func fips180Vectors() {
        #expect(Digest.sha256(Array("abc".utf8)).hexString()
            == "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
        #expect(Digest.sha1(Array("abc".utf8)).hexString() == "A9993E364706816ABA3E25717850C26C9CD0D89D")
    }
}

extension Array where Element == UInt8 {
    func hexString() -> String { map { String($0, radix: 16, uppercase: true).count == 1 ? "0" + String($0, radix: 16, uppercase: true) : String($0, radix: 16, uppercase: true) }.joined() }
}
