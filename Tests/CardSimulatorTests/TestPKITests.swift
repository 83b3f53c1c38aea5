import CarteCrypto
import Foundation
import Testing
@testable import CardSimulator

/// One generated test PKI shared by the suite (generation costs ~16 RSA-2048 keys), in a fixed temporary
/// directory so later test runs reuse it (which also exercises the cache across processes).
enum TestPKIFixtureDir {
    static let base = FileManager.default.temporaryDirectory.appendingPathComponent("carte-test-pki-tests").path
    static let pki: TestPKI = try! TestPKI.load(directory: base)
}

@Suite struct TestPKITests {
    let pki = TestPKIFixtureDir.pki

    @Test func hierarchyNamesFollowTheFixture() {
        #expect(pki.root.subject.description == "CN=SIMU AC RACINE IGC-SANTE FORT, OU=IGC-SANTE SIMULATION, O=SIMULATION, C=FR")
        #expect(pki.root.isSelfIssued && pki.root.isCA)
        #expect(pki.intermediate.subject.description
            == "CN=SIMU AC IGC-SANTE FORT PERSONNES, OU=IGC-SANTE SIMULATION, O=SIMULATION, C=FR")
        #expect(pki.intermediate.issuer == pki.root.subject)
        #expect(pki.intermediate.pathLength == 0)
        #expect(pki.personaIDs == [
            "cpe-girard", "cps3-blanc-expired", "cps3-durand", "cps3-fabre-last-try", "cps3-moreau-pharmacist",
            "cps3-roux-revoked",
        ])
    }

    @Test func durandCertificates() throws {
        let c = try pki.credentials(forPersona: "cps3-durand")
        #expect(c.authCert.subject.description == "CN=899700412345+SN=DURAND+GN=ALICE, title=Medecin, C=FR")
        #expect(c.authCert.issuer == pki.intermediate.subject)
        #expect(c.authCert.keyUsage == [.digitalSignature, .keyEncipherment])
        #expect(c.authCert.extendedKeyUsage == [CertificateOID.clientAuth])
        #expect(c.authCert.policies == [TestPKI.Policy.authentication])
        #expect(c.authCert.extensionValue(oid: CertificateOID.ansProductCategory) == [0x04, 0x01, 0x80])
        #expect(c.signCert.keyUsage == [.nonRepudiation])
        #expect(c.signCert.policies == [TestPKI.Policy.signature])
        #expect(c.technicalCert?.keyUsage == [.digitalSignature])
        #expect(try c.authCert.publicKey() == c.authKey.publicKey)
        #expect(try c.signCert.publicKey() == c.signKey.publicKey)
        #expect(try c.technicalCert?.publicKey() == c.technicalKey?.publicKey)
        #expect(c.authKey.modulusLength == 256)
        #expect(c.authCert.serialNumber != c.signCert.serialNumber)
        let v = pki.validator()
        #expect(v.validate(c.authCert, at: Date(), requiredKeyUsage: .digitalSignature).outcome == .valid)
        #expect(v.validate(c.technicalCert!, at: Date(), requiredKeyUsage: .digitalSignature).outcome == .valid)
        #expect(v.validate(c.signCert, at: Date(), requiredKeyUsage: .digitalSignature).outcome == .wrongUsage)
        #expect(v.validate(c.signCert, at: Date(), requiredKeyUsage: .nonRepudiation).outcome == .valid)
    }

    @Test func cpeSubjectAndNoContactless() throws {
        let c = try pki.credentials(forPersona: "cpe-girard")
        #expect(c.authCert.subject.description
            == "CN=3750712184/GIRARD0042+SN=GIRARD+GN=NINA, title=Secretaire medicale, OU=3750712184, O=CENTRE HOSPITALIER SIMULE, C=FR")
        #expect(c.technicalKey == nil && c.technicalCert == nil)
        #expect(pki.validator().validate(c.authCert, at: Date()).outcome == .valid)
    }

    @Test func revokedPersona() throws {
        let c = try pki.credentials(forPersona: "cps3-roux-revoked")
        let v = pki.validator()
        #expect(v.validate(c.authCert, at: Date()).outcome == .revoked(.keyCompromise))
        #expect(v.validate(c.signCert, at: Date()).outcome == .revoked(.keyCompromise))
        #expect(pki.intermediateCRL.entries.count == 2)
        #expect(pki.intermediateCRL.entry(serialNumber: c.authCert.serialNumber)?.reason == .keyCompromise)
    }

    @Test func expiredPersona() throws {
        let c = try pki.credentials(forPersona: "cps3-blanc-expired")
        #expect(c.authCert.notAfter < Date())
        #expect(pki.validator().validate(c.authCert, at: Date()).outcome == .expired)
    }

    @Test func staleAndDeltaCRLs() throws {
        let c = try pki.credentials(forPersona: "cps3-durand")
        let now = Date()
        let stale = try pki.issueIntermediateCRL(thisUpdate: now - 40 * 86_400, nextUpdate: now - 86_400, crlNumber: 50)
        let v = CertificatePathValidator(trustAnchors: [pki.root], intermediates: [pki.intermediate], crls: [pki.rootCRL, stale])
        #expect(v.validate(c.authCert, at: now).outcome == .crlStale)
        var graced = v
        graced.crlGracePeriod = 2 * 86_400
        #expect(graced.validate(c.authCert, at: now).outcome == .valid)
        let delta = try pki.issueIntermediateCRL(
            thisUpdate: now - 3600, nextUpdate: now + 86_400, crlNumber: 51, deltaBaseCRLNumber: 1)
        let d = CertificatePathValidator(trustAnchors: [pki.root], intermediates: [pki.intermediate], crls: [pki.rootCRL, delta])
        #expect(d.validate(c.authCert, at: now).outcome == .crlMissing)
    }

    @Test func filesOnDiskValidate() throws {
        let c = try pki.credentials(forPersona: "cps3-durand")
        let crlFiles = try FileManager.default.contentsOfDirectory(atPath: pki.crlDirectory).sorted()
        #expect(crlFiles == ["intermediate.crl", "root.crl"])
        let v = try CertificatePathValidator(
            trustAnchorFiles: [pki.rootCertificatePath], intermediates: [pki.intermediate], crlDirectory: pki.crlDirectory)
        #expect(v.validate(c.authCert, at: Date()).outcome == .valid)
        let attrs = try FileManager.default.attributesOfItem(atPath: pki.directory + "/personas/cps3-durand/auth.key.pem")
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func unknownPersona() {
        #expect(throws: TestPKI.TestPKIError.unknownPersona("vitale2-martin")) {
            try pki.credentials(forPersona: "vitale2-martin")
        }
    }

    @Test func cacheIsReused() throws {
        let again = try TestPKI.load(directory: TestPKIFixtureDir.base)
        #expect(again.root == pki.root)
        #expect(again.intermediateCRL == pki.intermediateCRL)
        #expect(try again.credentials(forPersona: "cps3-durand").authCert == pki.credentials(forPersona: "cps3-durand").authCert)
        #expect(try again.credentials(forPersona: "cps3-durand").authKey.publicKey
            == pki.credentials(forPersona: "cps3-durand").authKey.publicKey)
    }

    @Test func nearlyDueCRLsAreReissuedKeepingTheKeys() throws {
        // A copy of the cache whose CRLs fall due in 2 days.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("carte-test-pki-copy-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: pki.directory, toPath: base + "/v1")
        let now = Date()
        let soon = try CRLBuilder.issue(
            CRLTemplate(thisUpdate: now - 86_400, nextUpdate: now + 2 * 86_400, entries: pki.intermediateCRL.entries, crlNumber: 5),
            issuer: pki.intermediate, issuerKey: pki.intermediateKey)
        try Data(soon.der).write(to: URL(fileURLWithPath: base + "/v1/crl/intermediate.crl"))
        let refreshed = try TestPKI.load(directory: base)
        #expect(refreshed.root == pki.root)
        #expect(refreshed.intermediateCRL.crlNumber == 6)
        #expect(refreshed.intermediateCRL.entries == pki.intermediateCRL.entries)
        #expect((refreshed.intermediateCRL.nextUpdate ?? now) > now + 20 * 86_400)
    }

    @Test func damagedOrForeignCacheIsRegenerated() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("carte-test-pki-damaged-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: pki.directory, toPath: base + "/v1")
        try FileManager.default.removeItem(atPath: base + "/v1/personas/cps3-durand/auth.key.pem")
        let regenerated = try TestPKI.load(directory: base)
        #expect(regenerated.root != pki.root)
        #expect(try regenerated.credentials(forPersona: "cps3-durand").authCert.serialNumber
            == pki.credentials(forPersona: "cps3-durand").authCert.serialNumber)  // deterministic serials
        // A manifest from another fixture/generator revision is not reused either.
        let manifest = base + "/v1/manifest.json"
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        let digest = try #require(text.range(of: #"[0-9A-F]{64}"#, options: .regularExpression))
        try text.replacingCharacters(in: digest, with: String(repeating: "0", count: 64)).write(toFile: manifest, atomically: true, encoding: .utf8)
        #expect(try TestPKI.load(directory: base).root != regenerated.root)
    }

    @Test func concurrentCreationYieldsOneHierarchy() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("carte-test-pki-race-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let roots = try await withThrowingTaskGroup(of: Certificate.self) { group in
            for _ in 0..<3 { group.addTask { try TestPKI.load(directory: base).root } }
            var out: [Certificate] = []
            for try await r in group { out.append(r) }
            return out
        }
        #expect(roots.count == 3)
        #expect(Set(roots).count == 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: base).filter { $0.hasPrefix(".tmp") || $0.hasPrefix(".old") }
        #expect(leftovers == [])
    }
}
