import Authentication
import CPS
import CardSimulator
import CarteCrypto
import Foundation
import ISO7816
import Testing

@Suite("CPS strong authentication, persona by persona (issue 5)")
struct CPSAuthenticationTests {
    @Test("durand, right PIN on the keypad → authenticated, cps-pin, identity from the certificate", arguments: CardSource.allCases)
    func durandRightPIN(source: CardSource) async throws {
        let (reader, card) = try await Fixture.reader(source, "cps3-durand")
        let calls = CallCounter()
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad("1234", calls))
        #expect(r.outcome == .authenticated)
        #expect(r.assurance == .cpsPin)
        #expect(r.pinEntry == .keypad)
        #expect(r.triesLeft == 3)
        #expect(calls.count == 1)
        let id = try #require(r.identity)
        #expect(id.idNat == "899700412345")
        #expect(id.rpps == "99700412345")
        #expect(id.nom == "DURAND")
        #expect(id.prenom == "ALICE")
        #expect(id.profession == "10")
        #expect(id.cardType == "CPS")
        #expect(id.isHealthProfessional)
        let cred = try Fixture.pki().credentials(forPersona: "cps3-durand")
        #expect(r.certificate == CertificateSummary(cred.authCert))
        #expect(r.certificate?.sha256.count == 64)
        #expect(card.os.pins[0x01]?.triesLeft == 3)
    }

    @Test("a PIN of the wrong length is refused before the card: pinFormatRejected, no try used",
          arguments: CardSource.allCases)
    func pinOfWrongLengthNeverReachesTheCard(source: CardSource) async throws {
        for typed in ["12", "123456789"] {
            let (reader, card) = try await Fixture.reader(source, "cps3-durand")
            let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad(typed, CallCounter()))
            #expect(r.outcome == .pinFormatRejected)
            #expect(r.triesLeft == 3)
            #expect(r.assurance == nil && r.identity == nil)
            #expect(card.os.pins[0x01]?.triesLeft == 3)
        }
    }

    @Test("durand, wrong PIN → wrongPin 2, and the card's counter says 2", arguments: CardSource.allCases)
    func durandWrongPIN(source: CardSource) async throws {
        let (reader, card) = try await Fixture.reader(source, "cps3-durand")
        let calls = CallCounter()
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad("0000", calls))
        #expect(r.outcome == .wrongPin)
        #expect(r.triesLeft == 2)
        #expect(r.assurance == nil && r.identity == nil)
        #expect(calls.count == 1)
        #expect(card.os.pins[0x01]?.triesLeft == 2)
        // A new session reads 2 without consuming a try.
        let s = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        #expect(try await s.pinStatus().triesLeft == 2)
        #expect(card.os.pins[0x01]?.triesLeft == 2)
    }

    @Test("roux → revoked (keyCompromise), no PIN asked", arguments: CardSource.allCases)
    func rouxRevoked(source: CardSource) async throws {
        let (reader, card) = try await Fixture.reader(source, "cps3-roux-revoked")
        let calls = CallCounter()
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad("1357", calls))
        #expect(r.outcome == .revoked)
        #expect(r.revocationReason == .keyCompromise)
        #expect(calls.count == 0)
        #expect(card.os.pins[0x01]?.triesLeft == 3)
    }

    @Test("blanc → expired, no PIN asked", arguments: CardSource.allCases)
    func blancExpired(source: CardSource) async throws {
        let (reader, _) = try await Fixture.reader(source, "cps3-blanc-expired")
        let calls = CallCounter()
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad("9753", calls))
        #expect(r.outcome == .expired)
        #expect(calls.count == 0)
    }

    @Test("fabre, one try left → lastTryNotConfirmed, nothing presented; confirmed → authenticated", arguments: CardSource.allCases)
    func fabreLastTry(source: CardSource) async throws {
        let (reader, card) = try await Fixture.reader(source, "cps3-fabre-last-try")
        let calls = CallCounter()
        let auth = try Fixture.authenticator()
        let r = await auth.authenticate(transport: reader, keypad: Fixture.keypad("8642", calls))
        #expect(r.outcome == .lastTryNotConfirmed)
        #expect(r.triesLeft == 1)
        #expect(calls.count == 0)
        #expect(card.os.pins[0x01]?.triesLeft == 1)
        let ok = await auth.authenticate(transport: reader, confirmLastTry: true, keypad: Fixture.keypad("8642", calls))
        #expect(ok.outcome == .authenticated)
        #expect(calls.count == 1)
        #expect(card.os.pins[0x01]?.triesLeft == 3)
    }

    @Test("girard (CPE) → authenticated as staff, not as a health professional", arguments: CardSource.allCases)
    func girardStaff(source: CardSource) async throws {
        let (reader, _) = try await Fixture.reader(source, "cpe-girard")
        let calls = CallCounter()
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad("2468", calls))
        #expect(r.outcome == .authenticated)
        #expect(r.assurance == .cpsPin)
        let id = try #require(r.identity)
        #expect(id.cardType == "CPE")
        #expect(!id.isHealthProfessional)
        #expect(id.rpps == nil)
        #expect(id.profession == nil)
        #expect(id.idNat == "3750712184/GIRARD0042")
        #expect(id.nom == "GIRARD")
    }

    @Test("a stale CRL is refused (crlStale); a grace period covering it accepts", arguments: CardSource.allCases)
    func staleCRL(source: CardSource) async throws {
        let pki = try Fixture.pki()
        let now = Date()
        let stale = try pki.issueIntermediateCRL(thisUpdate: now - 10 * 86400, nextUpdate: now - 86400, crlNumber: 7)
        let v = CertificatePathValidator(trustAnchors: [pki.root], intermediates: [pki.intermediate], crls: [pki.rootCRL, stale])
        let (reader, _) = try await Fixture.reader(source, "cps3-durand")
        let calls = CallCounter()
        let r = try await Fixture.authenticator(validator: v, at: now).authenticate(transport: reader, keypad: Fixture.keypad("1234", calls))
        #expect(r.outcome == .crlStale)
        #expect(calls.count == 0)
        var graced = v
        graced.crlGracePeriod = 2 * 86400
        let ok = try await Fixture.authenticator(validator: graced, at: now).authenticate(transport: reader, keypad: Fixture.keypad("1234", calls))
        #expect(ok.outcome == .authenticated)
    }

    @Test("a delta CRL alone is not a complete CRL: refused", arguments: CardSource.allCases)
    func deltaCRLAlone(source: CardSource) async throws {
        let pki = try Fixture.pki()
        let now = Date()
        let delta = try pki.issueIntermediateCRL(thisUpdate: now - 3600, nextUpdate: now + 86400, crlNumber: 9, deltaBaseCRLNumber: 1)
        #expect(delta.isDelta)
        let v = CertificatePathValidator(trustAnchors: [pki.root], intermediates: [pki.intermediate], crls: [pki.rootCRL, delta])
        let (reader, _) = try await Fixture.reader(source, "cps3-durand")
        let r = try await Fixture.authenticator(validator: v, at: now).authenticate(transport: reader, keypad: Fixture.keypad("1234", CallCounter()))
        #expect(r.outcome == .crlStale)
        #expect(r.detail.contains("CRL"))
    }

    @Test("a certificate from another root → untrusted, no PIN asked")
    func otherRoot() async throws {
        let pki = try Fixture.pki()
        let cred = try pki.credentials(forPersona: "cps3-durand")
        let otherKey = try RSAPrivateKey.generate(bits: 2048)
        var rt = CertificateTemplate(
            subject: try DistinguishedName(parsing: "CN=OTHER ROOT, O=ELSEWHERE, C=FR"), serialNumber: [0x42],
            notBefore: Date() - 86400, notAfter: Date() + 365 * 86400, keyUsage: [.keyCertSign, .cRLSign])
        rt.isCA = true
        let otherRoot = try CertificateBuilder.selfSigned(rt, key: otherKey)
        let t = CertificateTemplate(
            subject: cred.authCert.subject, serialNumber: [0x43], notBefore: Date() - 86400, notAfter: Date() + 86400 * 30,
            keyUsage: [.digitalSignature, .keyEncipherment])
        let forged = try CertificateBuilder.issue(t, subjectKey: cred.authKey.publicKey, issuer: otherRoot, issuerKey: otherKey)
        let (reader, _) = try await Fixture.reader(.testCard, "cps3-durand", authCertificate: forged)
        let calls = CallCounter()
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad("1234", calls))
        #expect(r.outcome == .untrusted)
        #expect(calls.count == 0)
    }

    @Test("a signature-only certificate in the authentication slot → wrongUsage, no PIN asked")
    func wrongUsage() async throws {
        let sign = try Fixture.pki().credentials(forPersona: "cps3-durand").signCert
        let (reader, _) = try await Fixture.reader(.testCard, "cps3-durand", authCertificate: sign)
        let calls = CallCounter()
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad("1234", calls))
        #expect(r.outcome == .wrongUsage)
        #expect(calls.count == 0)
    }

    @Test("a certificate naming another professional than the card's data → identityMismatch, no PIN asked")
    func identityMismatch() async throws {
        let other = try Fixture.pki().credentials(forPersona: "cps3-moreau-pharmacist").authCert
        let (reader, card) = try await Fixture.reader(.testCard, "cps3-durand", authCertificate: other)
        let calls = CallCounter()
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad("1234", calls))
        #expect(r.outcome == .identityMismatch)
        #expect(r.identity == nil)
        #expect(calls.count == 0)
        #expect(card.os.pins[0x01]?.triesLeft == 3)
    }

    @Test("the card signs a different challenge (tampering transport) → signatureInvalid", arguments: CardSource.allCases)
    func tamperedChallenge(source: CardSource) async throws {
        let (reader, _) = try await Fixture.reader(source, "cps3-durand")
        let r = try await Fixture.authenticator().authenticate(
            transport: TamperingTransport(reader, alterChallenge: true), keypad: Fixture.keypad("1234", CallCounter()))
        #expect(r.outcome == .signatureInvalid)
        #expect(r.assurance == nil)
    }

    @Test("another card answers after the PIN → cardSwapped", arguments: CardSource.allCases)
    func swappedAfterPIN(source: CardSource) async throws {
        let (reader, _) = try await Fixture.reader(source, "cps3-durand")
        let (other, _) = try await Fixture.reader(source, "cps3-moreau-pharmacist")
        let r = try await Fixture.authenticator().authenticate(
            transport: TamperingTransport(reader, other: other, swapAfterVerify: true), keypad: Fixture.keypad("1234", CallCounter()))
        #expect(r.outcome == .cardSwapped)
        #expect(r.identity == nil)
    }

    @Test("the card is reset after the PIN (SCARD_W_RESET_CARD): same card → cardRemoved; another card → cardSwapped", arguments: CardSource.allCases)
    func resetAfterPIN(source: CardSource) async throws {
        let (reader, _) = try await Fixture.reader(source, "cps3-durand")
        let r = try await Fixture.authenticator().authenticate(
            transport: TamperingTransport(reader, resetAfterVerify: true), keypad: Fixture.keypad("1234", CallCounter()))
        #expect(r.outcome == .cardRemoved)
        #expect(r.detail.contains("reset"))
        let (again, _) = try await Fixture.reader(source, "cps3-durand")
        let (other, _) = try await Fixture.reader(source, "cps3-moreau-pharmacist")
        let s = try await Fixture.authenticator().authenticate(
            transport: TamperingTransport(again, other: other, resetAfterVerify: true), keypad: Fixture.keypad("1234", CallCounter()))
        #expect(s.outcome == .cardSwapped)
        #expect(s.identity == nil)
    }

    @Test("the card is removed before the PIN → cardRemoved", arguments: CardSource.allCases)
    func removed(source: CardSource) async throws {
        let (reader, _) = try await Fixture.reader(source, "cps3-durand")
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: {
            await reader.remove()
            return SecretPIN(testDigits: "1234")
        })
        #expect(r.outcome == .cardRemoved)
    }

    @Test("pinpad reader: Cancel costs no try; typed PIN authenticates with entry mode pinpad, keypad never asked", arguments: CardSource.allCases)
    func pinpad(source: CardSource) async throws {
        let (reader, card) = try await Fixture.reader(source, "cps3-durand", configuration: .pinpad())
        let calls = CallCounter()
        let auth = try Fixture.authenticator()
        await reader.enqueueKeypad([.cancel])
        let cancelled = await auth.authenticate(transport: reader, keypad: Fixture.keypad("1234", calls))
        #expect(cancelled.outcome == .pinEntryCancelled)
        #expect(cancelled.pinEntry == .pinpad)
        #expect(cancelled.triesLeft == 3)
        #expect(card.os.pins[0x01]?.triesLeft == 3)
        await reader.enqueueKeypad([.timeout])
        #expect(await auth.authenticate(transport: reader).outcome == .pinEntryTimeout)
        #expect(card.os.pins[0x01]?.triesLeft == 3)
        await reader.enqueueKeypad([.typed("1234")])
        let ok = await auth.authenticate(transport: reader, keypad: Fixture.keypad("1234", calls))
        #expect(ok.outcome == .authenticated)
        #expect(ok.pinEntry == .pinpad)
        #expect(calls.count == 0)
    }

    @Test("contactless CPS3 → cps-contactless from the technical key, never cps-pin", arguments: CardSource.allCases)
    func contactless(source: CardSource) async throws {
        let (reader, card) = try await Fixture.reader(source, "cps3-durand", configuration: .contactless())
        let calls = CallCounter()
        let r = try await Fixture.authenticator().authenticate(transport: reader, keypad: Fixture.keypad("1234", calls))
        #expect(r.outcome == .authenticated)
        #expect(r.assurance == .cpsContactless)
        #expect(r.pinEntry == nil)
        #expect(calls.count == 0)
        #expect(r.identity?.rpps == "99700412345")
        // The simulator's contactless personality has no PIN object at all (cps.md §7).
        #expect(card.os.pins[0x01].map { $0.triesLeft == 3 } ?? (source == .simulator))
        let tech = try #require(try Fixture.pki().credentials(forPersona: "cps3-durand").technicalCert)
        #expect(r.certificate == CertificateSummary(tech))
    }

    @Test("the status stream reports waiting, processing and the outcome", arguments: CardSource.allCases)
    func statusStream(source: CardSource) async throws {
        let (reader, _) = try await Fixture.reader(source, "cps3-durand")
        let auth = try Fixture.authenticator()
        _ = await auth.authenticate(transport: reader, keypad: Fixture.keypad("1234", CallCounter()))
        var seen: [AuthenticationStatus] = []
        for await s in auth.status {
            seen.append(s)
            if case .finished = s { break }
        }
        #expect(seen == [.waitingForCard, .processing, .waitingForKeypad, .processing, .finished(.authenticated)])
    }
}
