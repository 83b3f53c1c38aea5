import Testing
@testable import CarteCrypto

@Suite struct OpenSSLLinkTests {
    @Test func linksOpenSSL3() { #expect(OpenSSLLibrary.version.hasPrefix("OpenSSL 3")) }
}
