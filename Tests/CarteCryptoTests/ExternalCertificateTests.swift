import Foundation
import Testing
@testable import CarteCrypto

/// A certificate made independently by the `openssl req` command line (not by CertificateBuilder): multi-valued
/// RDN, UTF-8 accent, UTCTime and GeneralizedTime, a serial with a sign byte, two policies, two CRL distribution
/// points, the ANS product-category extension. Only the certificate is kept (its key was never written).
@Suite struct ExternalCertificateTests {
    static let pem = """
-----BEGIN CERTIFICATE-----
MIIEFDCCAvygAwIBAgIJAMD/7gECAwQFMA0GCSqGSIb3DQEBCwUAMFQxCzAJBgNV
BAYTAkZSMREwDwYDVQQMDAhNw6lkZWNpbjEyMAwGA1UEKgwFQUxJQ0UwDQYDVQQE
DAZEVVJBTkQwEwYDVQQDDAw4OTk3MDA0MTIzNDUwIBcNMjYxMTI5MDkyOTU4WhgP
MjA1NjExMjEwOTI5NThaMFQxCzAJBgNVBAYTAkZSMREwDwYDVQQMDAhNw6lkZWNp
bjEyMAwGA1UEKgwFQUxJQ0UwDQYDVQQEDAZEVVJBTkQwEwYDVQQDDAw4OTk3MDA0
MTIzNDUwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCb28Qz1UbUnUJ3
CR1lotLFQly/i1tswdge13LZoqpDYXiU5Y8KrmUWXJoF8ali8dl37QhXMdakG5bD
kEaF20lDO3qiaYzc6NNbGek1eGuAEX9GHXQAMY8UerZHUIp/QeRshtAYIKouddS0
+++BTXOBCrnQVHXoFbQa+9htgugzcVoJjc7/kLmGq/kaKZJOFuHHYIrSk737q0aU
hnYA1nwPKuNXI259+oj1rS9ZvHl/g2cUh6JBVYTDw2i1aWZsHMEQI6F1h6d07QK7
rAoyxdihCVWA6rb/ohVrKv1ffDOT4Xm1Mgr9ykseS6M1t+ELYMho+4QUUuT3oLtW
vWR1rHNrAgMBAAGjgeYwgeMwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCBsAw
HQYDVR0lBBYwFAYIKwYBBQUHAwIGCCsGAQUFBwMEMBkGA1UdIAQSMBAwBgYEiDcq
ATAGBgSINyoCMFkGA1UdHwRSMFAwJqAkoCKGIGh0dHA6Ly9jcmwuZXhhbXBsZS5p
bnZhbGlkL2EuY3JsMCagJKAihiBsZGFwOi8vbGRhcC5leGFtcGxlLmludmFsaWQv
Y249eDAdBgNVHQ4EFgQUoBQXYn15GdFI1F0+CXPFKY5+bXkwDwYIKoF6AUcBAgUE
AwQBgDANBgkqhkiG9w0BAQsFAAOCAQEAJCh6nPAVTQOApIvRLTNX2CSxVZjChDVq
oldyqNfziLNOzJWSRJjVCGp+hVMzYn/gSXsyXRyXPYsvNTloYYBX/1ef9AuBdDAx
1n0P8rzmLmNoPcN0ub/InhC41PBwZMbcCMK+IYZ7VSl7CG1Dxbwn3SM9no4iiqTo
tURrXPffTOUdR0EZVk6qbfK1eMeLfvxcWErdOgK3M6M/fvMMM3/okJ/jKbUrE5+G
wts2/a1JYN4t93+kwL1IjD/01VjpnFAA4FGzPx2pMQcS0Wcblo1JxMB8wDerw2zN
Fei/kBS7qPzEKu13gn7eAeB2B72aA2/ZgRPV6RZ0/SsMGwheEo5Jxg==
-----END CERTIFICATE-----
"""

    @Test func exactFields() throws {
        let c = try Certificate(pem: Self.pem)
        #expect(c.subject.description == "CN=899700412345+SN=DURAND+GN=ALICE, title=Médecin, C=FR")
        #expect(c.subject.first("title") == "Médecin")
        #expect(c.isSelfIssued)
        #expect(c.serialHex == "C0FFEE0102030405")
        #expect(c.notBefore == Date(timeIntervalSince1970: 1_795_944_598))  // UTCTime 261129092958Z
        #expect(c.notAfter == Date(timeIntervalSince1970: 2_742_024_598))  // GeneralizedTime 20561121092958Z
        #expect(c.keyUsage == [.digitalSignature, .nonRepudiation])
        #expect(c.extendedKeyUsage == [CertificateOID.clientAuth, CertificateOID.emailProtection])
        #expect(c.policies == ["2.999.42.1", "2.999.42.2"])
        #expect(c.crlDistributionPoints == ["http://crl.example.invalid/a.crl", "ldap://ldap.example.invalid/cn=x"])
        #expect(!c.isCA)
        #expect(c.subjectKeyIdentifier == h("A01417627D7919D148D45D3E0973C5298E7E6D79"))
        #expect(c.authorityKeyIdentifier == nil)
        #expect(c.extensionValue(oid: CertificateOID.ansProductCategory) == [0x04, 0x01, 0x80])
        #expect(c.sha256Fingerprint == h("921092DF6BE7D2F4E0A440303CB9C6C4440F8C1636CB23A8DBEF82F0F46371A7"))
        #expect(c.der.count == 1048)
        #expect(try c.publicKey().modulusLength == 256)
        #expect(try c.publicKey().publicExponent == [0x01, 0x00, 0x01])
    }
}
