import CarteCrypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Builds a complete test PKI in a fresh directory and publishes it as `<base>/v1` with an atomic rename.
enum TestPKIGenerator {
    static let day: TimeInterval = 86_400
    static let crlURLBase = "http://igc-sante.simulation.invalid/CRL/"
    static let testCardCategory: [UInt8] = [0x04, 0x01, 0x80]  // OCTET STRING { 80 } = TEST CPx card

    /// Deterministic serial (16 bytes, positive) from a label, so a regenerated cache keeps its serials.
    static func serial(_ label: String) -> [UInt8] {
        var s = Array(Digest.sha256(Array("carte-test-pki/\(TestPKI.cacheVersion)/\(label)".utf8)).prefix(16))
        s[0] = (s[0] & 0x7F) | 0x40
        return s
    }

    static func subject(for p: TestPKIFixture.Professional) throws(CryptoError) -> DistinguishedName {
        typealias A = DistinguishedName.Attribute
        let holder = [A("CN", p.nationalID), A("SN", p.nomExercice), A("GN", p.prenomExercice)]
        var rdns: [[A]] = [holder]
        if let label = p.professionLabel, !label.isEmpty { rdns.append([A("title", label)]) }
        if p.cardType == "CPE" {
            let structID = p.nationalID.split(separator: "/").first.map(String.init) ?? p.nationalID
            rdns.append([A("OU", structID)])
            if let rs = p.situations?.first?.raisonSociale { rdns.append([A("O", rs)]) }
        }
        rdns.append([A("C", "FR")])
        return DistinguishedName(rdns: rdns)
    }

    static func issueCRLs(
        root: Certificate, rootKey: RSAPrivateKey, intermediate: Certificate, intermediateKey: RSAPrivateKey,
        entries: [CertificateRevocationList.Entry], now: Date, rootNumber: UInt64, intermediateNumber: UInt64
    ) throws(CryptoError) -> (CertificateRevocationList, CertificateRevocationList) {
        let thisUpdate = now.addingTimeInterval(-3600)
        let nextUpdate = thisUpdate.addingTimeInterval(30 * day)
        let r = try CRLBuilder.issue(
            CRLTemplate(thisUpdate: thisUpdate, nextUpdate: nextUpdate, crlNumber: rootNumber), issuer: root, issuerKey: rootKey)
        let i = try CRLBuilder.issue(
            CRLTemplate(thisUpdate: thisUpdate, nextUpdate: nextUpdate, entries: entries, crlNumber: intermediateNumber),
            issuer: intermediate, issuerKey: intermediateKey)
        return (r, i)
    }

    static func generate(into base: String, fixture: TestPKIFixture, fixtureDigest: String, now: Date) throws(TestPKI.TestPKIError) {
        let tmp = base + "/.tmp-\(getpid())-\(UUID().uuidString)"
        do {
            try build(in: tmp, fixture: fixture, fixtureDigest: fixtureDigest, now: now)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw .crypto(error)
        }
        let final = base + "/" + TestPKI.cacheVersion
        if FileManager.default.fileExists(atPath: final) {
            let old = base + "/.old-\(getpid())-\(UUID().uuidString)"
            guard rename(final, old) == 0 else {
                try? FileManager.default.removeItem(atPath: tmp)
                throw .cache(path: final, reason: "cannot be moved aside (errno \(errno))")
            }
            try? FileManager.default.removeItem(atPath: old)
        }
        guard rename(tmp, final) == 0 else {
            try? FileManager.default.removeItem(atPath: tmp)
            throw .cache(path: final, reason: "cannot be published (errno \(errno))")
        }
    }

    private static func build(in dir: String, fixture: TestPKIFixture, fixtureDigest: String, now: Date) throws(CryptoError) {
        let fm = FileManager.default
        func mkdir(_ p: String) throws(CryptoError) {
            do { try fm.createDirectory(atPath: p, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
                throw .file(path: p, reason: "cannot be created")
            }
        }
        try mkdir(dir + "/crl")
        let baseDate = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / day).rounded(.down) * day)

        let rootKey = try RSAPrivateKey.generate(bits: 2048)
        var rt = CertificateTemplate(
            subject: try DistinguishedName(parsing: fixture.testPKI.root), serialNumber: serial("root"),
            notBefore: baseDate - 365 * day, notAfter: baseDate + 20 * 365 * day, keyUsage: [.keyCertSign, .cRLSign])
        rt.isCA = true
        rt.certificatePolicies = [CertificateOID.anyPolicy]
        let root = try CertificateBuilder.selfSigned(rt, key: rootKey)

        let intermediateKey = try RSAPrivateKey.generate(bits: 2048)
        var it = CertificateTemplate(
            subject: try DistinguishedName(parsing: fixture.testPKI.intermediate), serialNumber: serial("intermediate"),
            notBefore: baseDate - 365 * day, notAfter: baseDate + 15 * 365 * day, keyUsage: [.keyCertSign, .cRLSign])
        it.isCA = true
        it.pathLength = 0
        it.certificatePolicies = [TestPKI.Policy.certificationAuthority]
        it.crlDistributionPoints = [crlURLBase + "ACR-FO-SIMU.crl"]
        let intermediate = try CertificateBuilder.issue(it, subjectKey: intermediateKey.publicKey, issuer: root, issuerKey: rootKey)

        try writeAtomically(Array(try rootKey.pkcs8PEM().utf8), to: dir + "/root.key.pem")
        try writeAtomically(root.der, to: dir + "/root.cer")
        try writeAtomically(Array(try intermediateKey.pkcs8PEM().utf8), to: dir + "/intermediate.key.pem")
        try writeAtomically(intermediate.der, to: dir + "/intermediate.cer")

        var revoked: [CertificateRevocationList.Entry] = []
        for p in fixture.professionals {
            let pd = dir + "/personas/" + p.id
            try mkdir(pd)
            let subject = try subject(for: p)
            var from = baseDate - 30 * day
            var to = baseDate + 3 * 365 * day
            if p.status == "expired" {
                from = baseDate - (3 * 365 + 30) * day
                to = baseDate - 30 * day
            }
            var usages: [(String, KeyUsage, [String], String)] = [
                ("auth", [.digitalSignature, .keyEncipherment], [CertificateOID.clientAuth], TestPKI.Policy.authentication),
                ("sign", [.nonRepudiation], [], TestPKI.Policy.signature),
            ]
            if p.hasContactless { usages.append(("tech", [.digitalSignature], [], TestPKI.Policy.technical)) }
            for (usage, ku, eku, policy) in usages {
                let key = try RSAPrivateKey.generate(bits: 2048)
                var t = CertificateTemplate(
                    subject: subject, serialNumber: serial("\(p.id)/\(usage)"), notBefore: from, notAfter: to, keyUsage: ku)
                t.extendedKeyUsage = eku
                t.certificatePolicies = [policy]
                t.crlDistributionPoints = [crlURLBase + "ACI-FO-PP-SIMU.crl"]
                t.customExtensions = [.init(oid: CertificateOID.ansProductCategory, value: testCardCategory)]
                let cert = try CertificateBuilder.issue(t, subjectKey: key.publicKey, issuer: intermediate, issuerKey: intermediateKey)
                try writeAtomically(Array(try key.pkcs8PEM().utf8), to: "\(pd)/\(usage).key.pem")
                try writeAtomically(cert.der, to: "\(pd)/\(usage).cer")
                if p.status == "revoked" {
                    revoked.append(
                        .init(
                            serialNumber: cert.serialNumber, revocationDate: baseDate - 7 * day,
                            reason: RevocationReason(name: p.certificates?.reason ?? "") ?? .unspecified))
                }
            }
        }
        let (rootCRL, intermediateCRL) = try issueCRLs(
            root: root, rootKey: rootKey, intermediate: intermediate, intermediateKey: intermediateKey, entries: revoked,
            now: now, rootNumber: 1, intermediateNumber: 1)
        try writeAtomically(rootCRL.der, to: dir + "/crl/root.crl")
        try writeAtomically(intermediateCRL.der, to: dir + "/crl/intermediate.crl")

        let manifest = ManifestFile(
            version: 1, fixtureDigest: fixtureDigest, baseDate: baseDate.timeIntervalSince1970,
            personas: fixture.professionals.map(\.id))
        let json = (try? JSONEncoder().encode(manifest)) ?? Data()
        try writeAtomically([UInt8](json), to: dir + "/manifest.json")
    }
}
