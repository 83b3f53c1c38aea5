import Foundation
@testable import CarteCrypto

/// A small temporary PKI for the certificate, CRL and validation tests (root → intermediate → leaves).
struct MiniPKI {
    static let shared = try! MiniPKI()

    let root: Certificate
    let intermediate: Certificate
    let good: Certificate
    let revoked: Certificate
    let expired: Certificate
    let signatureOnly: Certificate
    let notYetValid: Certificate
    let rootCRL: CertificateRevocationList
    let intermediateCRL: CertificateRevocationList
    let staleIntermediateCRL: CertificateRevocationList
    let deltaCRL: CertificateRevocationList
    let otherRoot: Certificate
    let otherLeaf: Certificate

    static let leafSubject = try! DistinguishedName(parsing: "CN=899700412345+SN=DURAND+GN=ALICE, title=Medecin, C=FR")

    init() throws {
        let t = decisionTime
        var rt = CertificateTemplate(
            subject: try DistinguishedName(parsing: "CN=TEST ROOT, OU=CARTE TESTS, O=CARTE, C=FR"), serialNumber: [0x01],
            notBefore: t - 3650 * day, notAfter: t + 3650 * day, keyUsage: [.keyCertSign, .cRLSign])
        rt.isCA = true
        rt.pathLength = 1
        root = try CertificateBuilder.selfSigned(rt, key: SharedKeys.a)

        var it = CertificateTemplate(
            subject: try DistinguishedName(parsing: "CN=TEST INTERMEDIATE, OU=CARTE TESTS, O=CARTE, C=FR"),
            serialNumber: [0x02], notBefore: t - 3000 * day, notAfter: t + 3000 * day, keyUsage: [.keyCertSign, .cRLSign])
        it.isCA = true
        it.pathLength = 0
        intermediate = try CertificateBuilder.issue(it, subjectKey: SharedKeys.b.publicKey, issuer: root, issuerKey: SharedKeys.a)

        let inter = intermediate
        func leaf(_ serial: [UInt8], from: Date, to: Date, usage: KeyUsage) throws -> Certificate {
            var lt = CertificateTemplate(subject: Self.leafSubject, serialNumber: serial, notBefore: from, notAfter: to, keyUsage: usage)
            lt.extendedKeyUsage = [CertificateOID.clientAuth]
            lt.certificatePolicies = ["2.999.1.2.3"]
            lt.crlDistributionPoints = ["http://crl.example.invalid/int.crl"]
            lt.customExtensions = [.init(oid: CertificateOID.ansProductCategory, value: [0x04, 0x01, 0x80])]
            return try CertificateBuilder.issue(lt, subjectKey: SharedKeys.c.publicKey, issuer: inter, issuerKey: SharedKeys.b)
        }
        good = try leaf([0x10, 0x01], from: t - 100 * day, to: t + 1000 * day, usage: [.digitalSignature, .keyEncipherment])
        revoked = try leaf([0x10, 0x02], from: t - 100 * day, to: t + 1000 * day, usage: [.digitalSignature, .keyEncipherment])
        expired = try leaf([0x10, 0x03], from: t - 1000 * day, to: t - 30 * day, usage: [.digitalSignature, .keyEncipherment])
        signatureOnly = try leaf([0x10, 0x04], from: t - 100 * day, to: t + 1000 * day, usage: [.nonRepudiation])
        notYetValid = try leaf([0x10, 0x05], from: t + 10 * day, to: t + 1000 * day, usage: [.digitalSignature])

        rootCRL = try CRLBuilder.issue(
            CRLTemplate(thisUpdate: t - day, nextUpdate: t + 30 * day, crlNumber: 1), issuer: root, issuerKey: SharedKeys.a)
        let entry = CertificateRevocationList.Entry(serialNumber: [0x10, 0x02], revocationDate: t - 5 * day, reason: .keyCompromise)
        intermediateCRL = try CRLBuilder.issue(
            CRLTemplate(thisUpdate: t - day, nextUpdate: t + 7 * day, entries: [entry], crlNumber: 7),
            issuer: intermediate, issuerKey: SharedKeys.b)
        staleIntermediateCRL = try CRLBuilder.issue(
            CRLTemplate(thisUpdate: t - 40 * day, nextUpdate: t - 2 * day, entries: [entry], crlNumber: 6),
            issuer: intermediate, issuerKey: SharedKeys.b)
        deltaCRL = try CRLBuilder.issue(
            CRLTemplate(
                thisUpdate: t - day / 2, nextUpdate: t + day,
                entries: [.init(serialNumber: [0x10, 0x01], revocationDate: t - day / 2, reason: .affiliationChanged)],
                crlNumber: 8, deltaBaseCRLNumber: 7),
            issuer: intermediate, issuerKey: SharedKeys.b)

        var ot = rt
        ot.subject = try DistinguishedName(parsing: "CN=OTHER ROOT, O=ELSEWHERE, C=FR")
        otherRoot = try CertificateBuilder.selfSigned(ot, key: SharedKeys.d)
        var ol = CertificateTemplate(
            subject: Self.leafSubject, serialNumber: [0x10, 0x01], notBefore: t - 100 * day, notAfter: t + 1000 * day,
            keyUsage: [.digitalSignature])
        ol.extendedKeyUsage = [CertificateOID.clientAuth]
        otherLeaf = try CertificateBuilder.issue(ol, subjectKey: SharedKeys.e.publicKey, issuer: otherRoot, issuerKey: SharedKeys.d)
    }

    func validator(crls: [CertificateRevocationList]? = nil, grace: TimeInterval = 0) -> CertificatePathValidator {
        CertificatePathValidator(
            trustAnchors: [root], intermediates: [intermediate], crls: crls ?? [rootCRL, intermediateCRL], crlGracePeriod: grace)
    }
}
