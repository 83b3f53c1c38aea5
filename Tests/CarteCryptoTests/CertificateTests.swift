import Foundation
import Testing
@testable import CarteCrypto

@Suite struct CertificateTests {
    let pki = MiniPKI.shared

    @Test func endEntityRoundTripExactFields() throws {
        let c = try Certificate(der: pki.good.der)
        #expect(c.subject.description == "CN=899700412345+SN=DURAND+GN=ALICE, title=Medecin, C=FR")
        #expect(c.subject.rdns == [
            [.init("CN", "899700412345"), .init("SN", "DURAND"), .init("GN", "ALICE")], [.init("title", "Medecin")],
            [.init("C", "FR")],
        ])
        #expect(c.subject.first("GN") == "ALICE")
        #expect(c.issuer.description == "CN=TEST INTERMEDIATE, OU=CARTE TESTS, O=CARTE, C=FR")
        #expect(c.serialHex == "1001")
        #expect(c.notBefore == decisionTime - 100 * day)
        #expect(c.notAfter == decisionTime + 1000 * day)
        #expect(c.keyUsage == [.digitalSignature, .keyEncipherment])
        #expect(c.keyUsage?.description == "digitalSignature,keyEncipherment")
        #expect(c.extendedKeyUsage == ["1.3.6.1.5.5.7.3.2"])
        #expect(c.policies == ["2.999.1.2.3"])
        #expect(c.crlDistributionPoints == ["http://crl.example.invalid/int.crl"])
        #expect(!c.isCA && c.pathLength == nil)
        #expect(c.subjectKeyIdentifier?.count == 20)
        #expect(c.authorityKeyIdentifier == pki.intermediate.subjectKeyIdentifier)
        #expect(c.extensionValue(oid: CertificateOID.ansProductCategory) == [0x04, 0x01, 0x80])
        #expect(c.extensionValue(oid: "1.2.3.4") == nil)
        #expect(c.sha256Fingerprint == Digest.sha256(pki.good.der))
        #expect(try c.publicKey() == SharedKeys.c.publicKey)
        #expect(try Certificate(pem: c.pem) == c)
    }

    @Test func caFields() {
        #expect(pki.root.isCA && pki.root.pathLength == 1)
        #expect(pki.root.isSelfIssued)
        #expect(pki.root.keyUsage == [.keyCertSign, .cRLSign])
        #expect(pki.root.authorityKeyIdentifier == nil)
        #expect(pki.intermediate.isCA && pki.intermediate.pathLength == 0)
        #expect(pki.intermediate.authorityKeyIdentifier == pki.root.subjectKeyIdentifier)
        #expect(pki.intermediate.issuer == pki.root.subject)
    }

    @Test func multiplePEMCertificates() throws {
        let list = try Certificate.certificates(pem: pki.root.pem + pki.intermediate.pem)
        #expect(list == [pki.root, pki.intermediate])
    }

    @Test func issuerKeyMustMatch() {
        let t = CertificateTemplate(subject: MiniPKI.leafSubject, serialNumber: [9], notBefore: decisionTime, notAfter: decisionTime + day)
        #expect(throws: CryptoError.self) {
            try CertificateBuilder.issue(t, subjectKey: SharedKeys.c.publicKey, issuer: pki.intermediate, issuerKey: SharedKeys.a)
        }
    }

    @Test func distinguishedNameParsingAndEscaping() throws {
        let n = try DistinguishedName(parsing: "CN=3750712184/GIRARD0042+SN=GIRARD,O=A\\, B,C=FR")
        #expect(n.rdns.count == 3)
        #expect(n.first("O") == "A, B")
        #expect(n.description == "CN=3750712184/GIRARD0042+SN=GIRARD, O=A\\, B, C=FR")
        #expect(throws: CryptoError.self) { try DistinguishedName(parsing: "CN") }
        #expect(throws: CryptoError.self) { try DistinguishedName(parsing: "") }
    }

    @Test func trailingBytesAndGarbageAreErrors() {
        #expect(throws: CryptoError.self) { try Certificate(der: pki.good.der + [0x00]) }
        #expect(throws: CryptoError.self) { try Certificate(der: []) }
        #expect(throws: CryptoError.self) { try Certificate(pem: "not a certificate") }
    }

    @Test func mutatedDERNeverCrashes() {
        var rng = SplitMix64(state: 7)
        let base = pki.good.der
        var parsed = 0
        for _ in 0..<1500 {
            var d = base
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                d[Int.random(in: 0..<d.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { d = Array(d.prefix(Int.random(in: 0...d.count, using: &rng))) }
            if let c = try? Certificate(der: d) { parsed += 1; _ = c.subject.description; _ = c.extensionValue(oid: CertificateOID.ansProductCategory) }
        }
        #expect(parsed < 1500)
        for _ in 0..<500 {
            let junk = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? Certificate(der: junk)
            _ = try? CertificateRevocationList(der: junk)
            _ = try? DigestInfo.decode(junk)
            _ = try? DistinguishedName(parsing: String(decoding: junk, as: UTF8.self))
        }
    }
}

@Suite struct CRLTests {
    let pki = MiniPKI.shared

    @Test func completeCRLFields() throws {
        let crl = try CertificateRevocationList(der: pki.intermediateCRL.der)
        #expect(crl.issuer == pki.intermediate.subject)
        #expect(crl.thisUpdate == decisionTime - day)
        #expect(crl.nextUpdate == decisionTime + 7 * day)
        #expect(crl.entries == [.init(serialNumber: [0x10, 0x02], revocationDate: decisionTime - 5 * day, reason: .keyCompromise)])
        #expect(crl.entries.first?.serialHex == "1002")
        #expect(crl.crlNumber == 7)
        #expect(!crl.isDelta && crl.deltaBaseCRLNumber == nil)
        #expect(crl.authorityKeyIdentifier == pki.intermediate.subjectKeyIdentifier)
        #expect(crl.entry(serialNumber: [0x00, 0x10, 0x02])?.reason == .keyCompromise)
        #expect(crl.entry(serialNumber: [0x10, 0x01]) == nil)
        #expect(try CertificateRevocationList(pem: crl.pem) == crl)
    }

    @Test func deltaCRLFields() {
        #expect(pki.deltaCRL.isDelta)
        #expect(pki.deltaCRL.deltaBaseCRLNumber == 7)
        #expect(pki.deltaCRL.crlNumber == 8)
        #expect(pki.deltaCRL.entries.first?.reason == .affiliationChanged)
    }

    @Test func emptyCRL() {
        #expect(pki.rootCRL.entries == [])
        #expect(pki.rootCRL.issuer == pki.root.subject)
    }

    @Test func mutatedCRLNeverCrashes() {
        var rng = SplitMix64(state: 11)
        let base = pki.intermediateCRL.der
        for _ in 0..<1000 {
            var d = base
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                d[Int.random(in: 0..<d.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if let c = try? CertificateRevocationList(der: d) { _ = c.entries.first?.reason; _ = c.issuer.description }
        }
    }

    @Test func reasonNames() {
        #expect(RevocationReason(name: "keyCompromise") == .keyCompromise)
        #expect(RevocationReason(name: "nope") == nil)
        #expect(RevocationReason.cessationOfOperation.description == "cessationOfOperation")
    }
}

@Suite struct PathValidationTests {
    let pki = MiniPKI.shared

    @Test func validChain() {
        let r = pki.validator().validate(pki.good, at: decisionTime, requiredKeyUsage: .digitalSignature)
        #expect(r.outcome == .valid, "\(r.detail)")
        #expect(r.chain == [pki.good, pki.intermediate, pki.root])
    }

    @Test func revokedWithReason() {
        let r = pki.validator().validate(pki.revoked, at: decisionTime)
        #expect(r.outcome == .revoked(.keyCompromise), "\(r.detail)")
        #expect(r.failingCertificate == pki.revoked)
    }

    @Test func expired() {
        #expect(pki.validator().validate(pki.expired, at: decisionTime).outcome == .expired)
    }

    @Test func notYetValid() {
        #expect(pki.validator().validate(pki.notYetValid, at: decisionTime).outcome == .notYetValid)
    }

    @Test func otherRootIsUntrusted() {
        var v = pki.validator()
        v.intermediates.append(pki.otherRoot)
        #expect(v.validate(pki.otherLeaf, at: decisionTime).outcome == .untrusted)
        // A self-signed certificate that is not an anchor.
        #expect(pki.validator().validate(pki.otherRoot, at: decisionTime).outcome == .untrusted)
    }

    @Test func staleCRLRefusedByDefault() {
        let r = pki.validator(crls: [pki.rootCRL, pki.staleIntermediateCRL]).validate(pki.good, at: decisionTime)
        #expect(r.outcome == .crlStale, "\(r.detail)")
    }

    @Test func gracePeriodAcceptsARecentlyStaleCRL() {
        let v3 = pki.validator(crls: [pki.rootCRL, pki.staleIntermediateCRL], grace: 3 * day)
        #expect(v3.validate(pki.good, at: decisionTime).outcome == .valid)
        let v1 = pki.validator(crls: [pki.rootCRL, pki.staleIntermediateCRL], grace: 1 * day)
        #expect(v1.validate(pki.good, at: decisionTime).outcome == .crlStale)
        // Revocation on a stale (but graced) CRL still counts.
        #expect(v3.validate(pki.revoked, at: decisionTime).outcome == .revoked(.keyCompromise))
    }

    @Test func staleCRLStillRevokes() {
        let r = pki.validator(crls: [pki.rootCRL, pki.staleIntermediateCRL]).validate(pki.revoked, at: decisionTime)
        #expect(r.outcome == .revoked(.keyCompromise))
    }

    @Test func deltaCRLAloneIsMissing() {
        let r = pki.validator(crls: [pki.rootCRL, pki.deltaCRL]).validate(pki.good, at: decisionTime)
        #expect(r.outcome == .crlMissing, "\(r.detail)")
    }

    @Test func noCRLIsMissing() {
        #expect(pki.validator(crls: []).validate(pki.good, at: decisionTime).outcome == .crlMissing)
        #expect(pki.validator(crls: [pki.intermediateCRL]).validate(pki.good, at: decisionTime).outcome == .crlMissing)
    }

    @Test func deltaAddsRevocationsOnTopOfItsBase() {
        let r = pki.validator(crls: [pki.rootCRL, pki.intermediateCRL, pki.deltaCRL]).validate(pki.good, at: decisionTime)
        #expect(r.outcome == .revoked(.affiliationChanged))
    }

    @Test func staleRootCRLIsStale() throws {
        let staleRoot = try CRLBuilder.issue(
            CRLTemplate(thisUpdate: decisionTime - 40 * day, nextUpdate: decisionTime - day, crlNumber: 2),
            issuer: pki.root, issuerKey: SharedKeys.a)
        #expect(pki.validator(crls: [staleRoot, pki.intermediateCRL]).validate(pki.good, at: decisionTime).outcome == .crlStale)
    }

    @Test func revokedIntermediateRevokesTheChain() throws {
        let arl = try CRLBuilder.issue(
            CRLTemplate(
                thisUpdate: decisionTime - day, nextUpdate: decisionTime + 30 * day,
                entries: [.init(serialNumber: pki.intermediate.serialNumber, revocationDate: decisionTime - 2 * day, reason: .cACompromise)],
                crlNumber: 3),
            issuer: pki.root, issuerKey: SharedKeys.a)
        let r = pki.validator(crls: [arl, pki.intermediateCRL]).validate(pki.good, at: decisionTime)
        #expect(r.outcome == .revoked(.cACompromise))
        #expect(r.failingCertificate == pki.intermediate)
    }

    @Test func crlNotYetIssuedIsMissing() throws {
        let future = try CRLBuilder.issue(
            CRLTemplate(thisUpdate: decisionTime + day, nextUpdate: decisionTime + 30 * day, crlNumber: 10),
            issuer: pki.intermediate, issuerKey: SharedKeys.b)
        #expect(pki.validator(crls: [pki.rootCRL, future]).validate(pki.good, at: decisionTime).outcome == .crlMissing)
    }

    @Test func wrongUsage() {
        let v = pki.validator()
        #expect(v.validate(pki.signatureOnly, at: decisionTime, requiredKeyUsage: .digitalSignature).outcome == .wrongUsage)
        #expect(v.validate(pki.signatureOnly, at: decisionTime, requiredKeyUsage: .nonRepudiation).outcome == .valid)
    }

    @Test func tamperedSignatureIsInvalid() throws {
        var der = pki.good.der
        der[der.count - 5] ^= 0x01
        let tampered = try Certificate(der: der)
        #expect(pki.validator().validate(tampered, at: decisionTime).outcome == .signatureInvalid)
    }

    @Test func crlSignedByTheWrongKeyIsInvalid() throws {
        // Same issuer name, signed with the root's key: its signature must fail against the intermediate's key.
        let forged = try CRLBuilder.issue(
            CRLTemplate(thisUpdate: decisionTime - day, nextUpdate: decisionTime + 7 * day, crlNumber: 9),
            issuer: pki.intermediate, issuerKey: SharedKeys.a)
        let r = pki.validator(crls: [pki.rootCRL, forged]).validate(pki.good, at: decisionTime)
        #expect(r.outcome == .signatureInvalid, "\(r.outcome) \(r.detail)")
    }

    @Test func loadsAnchorsAndCRLDirectoryFromFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("carte-crypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(pki.root.der).write(to: dir.appendingPathComponent("root.cer"))
        let crlDir = dir.appendingPathComponent("crl")
        try FileManager.default.createDirectory(at: crlDir, withIntermediateDirectories: true)
        try Data(pki.rootCRL.der).write(to: crlDir.appendingPathComponent("root.crl"))
        try pki.intermediateCRL.pem.write(to: crlDir.appendingPathComponent("int.pem"), atomically: true, encoding: .utf8)
        try "junk".write(to: crlDir.appendingPathComponent("junk.crl"), atomically: true, encoding: .utf8)
        let loaded = try CertificateRevocationList.loadDirectory(crlDir.path)
        #expect(loaded.crls.count == 2 && loaded.skipped == ["junk.crl"])
        let v = try CertificatePathValidator(
            trustAnchorFiles: [dir.appendingPathComponent("root.cer").path], intermediates: [pki.intermediate],
            crlDirectory: crlDir.path)
        #expect(v.validate(pki.good, at: decisionTime).outcome == .valid)
    }
}
