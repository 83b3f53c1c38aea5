import Authentication
@testable import CPS
import CardSimulator
import CarteCrypto
import Foundation
import ISO7816
import Testing

/// The exact APDUs of a CPS authentication (issue 9: wire time within 1.25 × the functional bytes), cold and warm.
@Suite("CPS authentication: exact APDU sequences, cache by card serial, swaps")
struct CPSAuthenticationAPDUTests {
    static func hex(_ s: String) -> [UInt8] { [UInt8](hex: s)! }

    /// The APDUs of the transcript from `index` on, INTERNAL AUTHENTICATE cut to its header (fresh challenge).
    static func apdus(_ reader: SimulatedReader, from index: Int = 0) async -> [[UInt8]] {
        await reader.transcript.dropFirst(index).filter { $0.kind == .apdu }.map { e in
            e.command.count > 5 && e.command[1] == 0x88 ? Array(e.command.prefix(5)) : e.command
        }
    }

    static func show(_ cs: [[UInt8]]) -> String { cs.map { $0.hexString(separator: " ") }.joined(separator: "\n") }

    /// Second authentication of cps3-durand (simulator's CPS3, T=0) with the cache of the first, after a reset.
    static let warmSequence: [[UInt8]] = [
        hex("00 B0 9C 00 0C"),  // EF.SN.ICC by SFI 1C, no SELECT (the MF is current after the reset)
        hex("00 A4 09 0C 06 3F 00 00 01 D1 02"),  // CPS_NAME_PS, no FCP
        hex("00 B0 00 00 29"),  // its 41 bytes, Le from the cache
        hex("00 20 00 01"),  // tries left, nothing presented
        hex("00 20 00 01 04 2A 2A 2A 2A"),  // the PIN (masked by the reader's transcript)
        hex("00 22 41 A4 06 80 01 02 84 01 82"),  // MSE SET AT
        hex("00 88 00 00 33"),  // INTERNAL AUTHENTICATE (DigestInfo, 51 bytes)
        hex("00 C0 00 00 00"),  // GET RESPONSE: the 256-byte signature
    ]

    @Test("warm: serial → CPS_NAME_PS → tries → VERIFY → MSE SET → INTERNAL AUTHENTICATE, nothing else")
    func warmSequenceIsExact() async throws {
        let (reader, _) = try await Fixture.reader(.simulator, "cps3-durand")
        let auth = try Fixture.authenticator()
        let first = await auth.authenticate(transport: reader, keypad: Fixture.keypad("1234", CallCounter()))
        #expect(first.outcome == .authenticated)
        let cold = await Self.apdus(reader)
        print("cold:\n" + Self.show(cold))
        // Only the authentication certificate is read: no SELECT of the signature certificate (C001).
        #expect(!cold.contains { $0.suffix(2) == [0xC0, 0x01] && $0[1] == 0xA4 })
        // No SELECT asks for the FCP.
        #expect(!cold.contains { $0[1] == 0xA4 && $0[3] != 0x0C })
        await reader.disconnect(.reset)
        let n = await reader.transcript.count
        let second = await auth.authenticate(transport: reader, keypad: Fixture.keypad("1234", CallCounter()))
        #expect(second.outcome == .authenticated)
        #expect(second.identity?.cardType == "CPS")
        #expect(second.identity?.rpps == "99700412345")
        let warm = await Self.apdus(reader, from: n)
        print("warm:\n" + Self.show(warm))
        #expect(warm == Self.warmSequence, "\(Self.show(warm))")
    }

    @Test("another card with the same cache: its own serial, so the full path (discovery, certificate) runs")
    func swappedCardWithSameCache() async throws {
        let auth = try Fixture.authenticator()
        let (durand, _) = try await Fixture.reader(.simulator, "cps3-durand")
        #expect(await auth.authenticate(transport: durand, keypad: Fixture.keypad("1234", CallCounter())).outcome == .authenticated)
        let (moreau, _) = try await Fixture.reader(.simulator, "cps3-moreau-pharmacist")
        let r = await auth.authenticate(transport: moreau, keypad: Fixture.keypad("4321", CallCounter()))
        #expect(r.outcome == .authenticated)
        #expect(r.identity?.nom == "MOREAU")
        let cred = try Fixture.pki().credentials(forPersona: "cps3-moreau-pharmacist")
        #expect(r.certificate == CertificateSummary(cred.authCert))
        let cmds = await Self.apdus(moreau)
        // EF.DIR by SFI 1E, the ODF and the authentication certificate were read from this card.
        #expect(cmds.contains(Self.hex("00 B0 9E 00 65")))
        #expect(cmds.contains(Self.hex("00 A4 09 0C 06 3F 00 00 01 50 31")))
        #expect(cmds.contains(Self.hex("00 A4 02 0C 02 C0 02")))
    }

    @Test("same serial, another key (a cloned serial): the cached certificate's key refuses the signature")
    func sameSerialOtherKey() async throws {
        let auth = try Fixture.authenticator()
        let (genuine, _) = try await Fixture.reader(.testCard, "cps3-durand")
        #expect(await auth.authenticate(transport: genuine, keypad: Fixture.keypad("1234", CallCounter())).outcome == .authenticated)
        let otherKey = try Fixture.pki().credentials(forPersona: "cps3-moreau-pharmacist").authKey
        let card = try TestCPSCard.make(persona: "cps3-durand", pki: try Fixture.pki(), authKeyOverride: otherKey)
        let clone = SimulatedReader(name: "clone reader")
        await clone.insert(SharedCard(card))
        let r = await auth.authenticate(transport: clone, keypad: Fixture.keypad("1234", CallCounter()))
        #expect(r.outcome == .signatureInvalid)
        #expect(r.identity == nil && r.assurance == nil)
        // The clone was taken for the known card (same serial): no discovery, no certificate read.
        let cmds = await Self.apdus(clone)
        #expect(!cmds.contains { $0.count > 2 && $0[1] == 0xB0 && $0[2] == 0x9E })
        #expect(!cmds.contains { $0[1] == 0xA4 && $0.suffix(2) == [0xC0, 0xA2] })
    }

    @Test("a card mute at EF.DIR: the typed error, not the default path; a card without EF.DIR uses the known path")
    func muteAtEFDIR() async throws {
        // APDU 1: EF.SN.ICC; APDU 2: EF.DIR by SFI 1E (the MF is current).
        let (reader, _) = try await Fixture.reader(.simulator, "cps3-durand")
        let s = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        _ = try await s.readSerial()
        await reader.setFaultPlan(FaultPlan([.muteCard(apdu: 1)]))
        do {
            _ = try await s.certificate(.authentication)
            Issue.record("a mute card at EF.DIR gave a certificate")
        } catch {
            #expect(error.transportError != nil, "\(error)")
        }
        let sent = await Self.apdus(reader)
        #expect(sent.last == Self.hex("00 B0 9E 00 00"))

        let (bare, _) = try await Fixture.reader(.simulator, "cps3-durand")
        await bare.setFaultPlan(FaultPlan([.replaceStatusWord(apdu: 2, sw: StatusWord(0x6A82))]))
        let t = try await CPSSession.connect(bare, certificateCache: CPSCertificateCache())
        let c = try #require(try await t.certificate(.authentication))
        #expect(c.usage == .authentication)
        #expect(c.certificate == (try Fixture.pki().credentials(forPersona: "cps3-durand").authCert))
    }
}

@Suite("CPS: what an authentication leaves in the cache serves a full read afterwards")
struct CPSCacheAfterAuthenticationTests {
    @Test("after an authentication (DODF read up to CPS_NAME_PS, signature certificate not read), a full read and the situations work")
    func fullReadAfterAuthentication() async throws {
        let (reader, _) = try await Fixture.reader(.simulator, "cps3-durand")
        let cache = CPSCertificateCache()
        let auth = CPSAuthenticator(policy: AuthenticationPolicy(validator: try Fixture.pki().validator()), certificateCache: cache)
        #expect(await auth.authenticate(transport: reader, keypad: Fixture.keypad("1234", CallCounter())).outcome == .authenticated)
        #expect(await cache.count == 1)
        let s = try await CPSSession.connect(reader, certificateCache: cache)
        let r = try await s.read()
        #expect(r.certificates.map(\.usage) == [.signature, .authentication])
        #expect(r.holder.specialite == "SM26")
        #expect(await cache.count == 2)
        #expect(try await s.verify(pin: try #require(SecretPIN(testDigits: "1234"))) == .verified)
        let sit = try await s.readSituations()
        #expect(sit.map(\.raisonSociale) == ["CENTRE HOSPITALIER SIMULE", "CABINET DR DURAND"])
    }
}

@Suite("CPS certificate cache: bounded by card, keys that cannot collide")
struct CPSCertificateCacheBoundTests {
    @Test("maxCards 1: a second card evicts the first one's certificates and layout; the first card is read again cold")
    func evictsTheLeastRecentCard() async throws {
        let cache = CPSCertificateCache(maxCards: 1)
        let auth = CPSAuthenticator(policy: AuthenticationPolicy(validator: try Fixture.pki().validator()), certificateCache: cache)
        let (durand, _) = try await Fixture.reader(.simulator, "cps3-durand")
        let first = await auth.authenticate(transport: durand, keypad: Fixture.keypad("1234", CallCounter()))
        #expect(first.outcome == .authenticated)
        let durandSHA = try #require(first.certificate.flatMap { [UInt8](hex: $0.sha256) })
        #expect(await cache.certificate(sha256: durandSHA) != nil)
        let durandSerials = await cache.cardSerials
        #expect(durandSerials.count == 1)

        let (moreau, _) = try await Fixture.reader(.simulator, "cps3-moreau-pharmacist")
        #expect(await auth.authenticate(transport: moreau, keypad: Fixture.keypad("4321", CallCounter())).outcome == .authenticated)
        #expect(await cache.cardSerials.count == 1)
        #expect(await cache.cardSerials != durandSerials)
        #expect(await cache.certificate(sha256: durandSHA) == nil)
        #expect(await cache.count == 1)

        // DURAND's card again: the whole path (EF.DIR, certificate) is read again and she is authenticated.
        await durand.disconnect(.reset)
        await durand.resetStatistics()
        #expect(await auth.authenticate(transport: durand, keypad: Fixture.keypad("1234", CallCounter())).outcome == .authenticated)
        let sent = await durand.transcript.filter { $0.kind == .apdu }.map(\.command)
        #expect(sent.contains { $0.count > 2 && $0[1] == 0xB0 && $0[2] == 0x9E })  // EF.DIR read again
        #expect(await cache.cardSerials == durandSerials)
    }

    @Test("cache keys write every byte as two hex digits")
    func keysDoNotCollide() {
        let a = CPSCertificateCache.key(serial: "8025000001", path: [0x3F, 0x00, 0xC0, 0x02], id: [0x01, 0x23])
        let b = CPSCertificateCache.key(serial: "8025000001", path: [0x3F, 0x00, 0xC0, 0x02], id: [0x12, 0x03])
        #expect(a == "8025000001|3F00C002|0123")
        #expect(a != b)
    }
}

