import Authentication
import Badges
import CPS
import CardSimulator
import Foundation
import ISO7816
import Testing

/// Shows a badge card to a contactless simulated reader (PC/SC part 3 ATR from its historical bytes, UID for FF CA).
final class ContactlessBadgeCard: ContactlessCapableCard, @unchecked Sendable {
    let card: any VirtualCard
    let contactless: ContactlessInterface?
    let hasContactInterface = false
    init(_ card: any VirtualCard, uid: [UInt8]) {
        self.card = card
        let atr = card.atr
        contactless = ContactlessInterface(uid: uid, historicalBytes: atr.count > 5 ? Array(atr.dropFirst(4).dropLast()) : [])
    }
    var atr: [UInt8] { card.atr }
    func powerOn() { card.powerOn() }
    func powerOff() { card.powerOff() }
    func reset() { card.reset() }
    func process(_ command: [UInt8]) -> [UInt8] { card.process(command) }
}

final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date
    init(_ d: Date) { value = d }
    var now: Date { lock.withLock { value } }
    func advance(_ s: TimeInterval) { lock.withLock { value += s } }
}

@Suite("Badge enrolment and tap & go (issue 5)")
struct BadgeTapAndGoTests {
    static let siteKey = [UInt8](hex: "00112233445566778899AABBCCDDEEFF")!

    func badgeReader(_ id: String) async throws -> SimulatedReader {
        let reader = SimulatedReader(name: "Badge reader", configuration: .contactless())
        if id == "uid-visitor" {
            let c = UIDOnlyCard(uid: [0xA1, 0xB2, 0xC3, 0xD4], atr: [UInt8](hex: "3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A")!)
            await reader.insert(ContactlessBadgeCard(c, uid: c.uid))
        } else {
            let c = try DESFireCard.bundledPersona(id)
            await reader.insert(ContactlessBadgeCard(c, uid: c.uid))
        }
        return reader
    }

    /// durand authenticates with her CPS and PIN at `clock.now`.
    func durandCPS(_ clock: TestClock) async throws -> AuthenticationResult {
        let (reader, _) = try await Fixture.reader(.simulator, "cps3-durand")
        let t = clock.now
        let auth = CPSAuthenticator(
            policy: AuthenticationPolicy(validator: try Fixture.pki().validator(), now: { t }), certificateCache: CPSCertificateCache())
        let r = await auth.authenticate(transport: reader, keypad: Fixture.keypad("1234", CallCounter()))
        #expect(r.outcome == .authenticated && r.assurance == .cpsPin)
        return r
    }

    enum StoreKind: String, CaseIterable, Sendable { case memory, sqlite }

    static func makeStore(_ k: StoreKind) throws -> any BadgeEnrolmentStore {
        switch k {
        case .memory: return InMemoryBadgeEnrolmentStore()
        case .sqlite: return try SQLiteBadgeEnrolmentStore(path: nil)
        }
    }

    @Test("SQLite store: enrolments and CPS times survive reopening; revocation is stored; later times win")
    func sqlitePersistence() async throws {
        let path = NSTemporaryDirectory() + "carte-enrol-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let id = ProfessionalIdentity(idNat: "899700412345", rpps: "99700412345", nom: "DURAND", prenom: "ALICE",
            profession: "10", cardType: "CPS", isHealthProfessional: true)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        do {
            let s = try SQLiteBadgeEnrolmentStore(path: path)
            try await s.save(BadgeEnrolment(badgeNumber: "B-000417", uid: [0x04, 0x5A], identity: id, enrolledAt: t0))
            try await s.recordCPSAuthentication(idNat: id.idNat, at: t0 + 100)
            try await s.recordCPSAuthentication(idNat: id.idNat, at: t0 + 50)
        }
        let s = try SQLiteBadgeEnrolmentStore(path: path)
        let e = try #require(try await s.enrolment(badgeNumber: "B-000417"))
        #expect(e == BadgeEnrolment(badgeNumber: "B-000417", uid: [0x04, 0x5A], identity: id, enrolledAt: t0))
        #expect(try await s.lastCPSAuthentication(idNat: id.idNat) == t0 + 100)
        #expect(try await s.revoke(badgeNumber: "B-000417", at: t0 + 200))
        #expect(try await s.enrolment(badgeNumber: "B-000417")?.revokedAt == t0 + 200)
        #expect(try await s.revoke(badgeNumber: "B-1", at: t0) == false)
        #expect(try await s.enrolment(badgeNumber: "B-1") == nil)
    }

    @Test("enrol after cps-pin; tap within 12 h → badge; after 12 h → cpsRequired; a new CPS auth reopens; revoke works",
        arguments: StoreKind.allCases)
    func enrolTapRevoke(kind: StoreKind) async throws {
        let clock = TestClock(Date())
        let store = try Self.makeStore(kind)
        let badges = BadgeAuthenticator(store: store, siteMasterKey: Self.siteKey, now: { clock.now })
        let cps = try await durandCPS(clock)
        clock.advance(60)
        guard case .enrolled(let e) = await badges.enrol(badge: try await badgeReader("desfire-durand"), after: cps) else {
            Issue.record("enrolment refused")
            return
        }
        #expect(e.badgeNumber == "B-000417")
        #expect(e.uid == [0x04, 0x5A, 0x3C, 0x12, 0xB2, 0x6E, 0x80])
        #expect(e.identity.rpps == "99700412345")

        clock.advance(11 * 3600)
        let tap = await badges.tap(try await badgeReader("desfire-durand"))
        #expect(tap.outcome == .authenticated)
        #expect(tap.assurance == .badge)
        #expect(tap.identity?.nom == "DURAND")

        clock.advance(2 * 3600)
        let late = await badges.tap(try await badgeReader("desfire-durand"))
        #expect(late.outcome == .cpsRequired)
        #expect(late.assurance == nil && late.identity == nil)

        let again = try await durandCPS(clock)
        try await badges.noteCPSAuthentication(again)
        let reopened = await badges.tap(try await badgeReader("desfire-durand"))
        #expect(reopened.outcome == .authenticated, "\(reopened.detail)")

        #expect(try await badges.revoke(badgeNumber: "B-000417"))
        #expect(await badges.tap(try await badgeReader("desfire-durand")).outcome == .cpsRequired)
        #expect(try await badges.revoke(badgeNumber: "B-999999") == false)
    }

    @Test("a UID alone never authenticates, enrolled or not")
    func uidOnly() async throws {
        let clock = TestClock(Date())
        let badges = BadgeAuthenticator(store: InMemoryBadgeEnrolmentStore(), siteMasterKey: Self.siteKey, now: { clock.now })
        let cps = try await durandCPS(clock)
        guard case .refused(let r) = await badges.enrol(badge: try await badgeReader("uid-visitor"), after: cps) else {
            Issue.record("a UID-only card was enrolled")
            return
        }
        #expect(r.outcome == .notSupported)
        let tap = await badges.tap(try await badgeReader("uid-visitor"))
        #expect(tap.outcome == .notSupported)
        #expect(tap.assurance == nil)
    }

    @Test("enrolment needs a fresh cps-pin result; an unenrolled badge is not accepted; a wrong site key fails")
    func enrolmentGuards() async throws {
        let clock = TestClock(Date())
        let badges = BadgeAuthenticator(store: InMemoryBadgeEnrolmentStore(), siteMasterKey: Self.siteKey, now: { clock.now })
        #expect(await badges.tap(try await badgeReader("desfire-durand")).outcome == .notSupported)
        let cps = try await durandCPS(clock)
        clock.advance(600)
        guard case .refused(let old) = await badges.enrol(badge: try await badgeReader("desfire-durand"), after: cps) else {
            Issue.record("enrolled with a stale CPS result")
            return
        }
        #expect(old.outcome == .cpsRequired)
        var contactless = cps
        contactless.assurance = .cpsContactless
        contactless.time = clock.now
        guard case .refused(let cl) = await badges.enrol(badge: try await badgeReader("desfire-durand"), after: contactless) else {
            Issue.record("enrolled after a contactless result")
            return
        }
        #expect(cl.outcome == .cpsRequired)
        let wrongKey = BadgeAuthenticator(store: InMemoryBadgeEnrolmentStore(), siteMasterKey: [UInt8](repeating: 0x11, count: 16), now: { clock.now })
        let r = await wrongKey.tap(try await badgeReader("desfire-durand"))
        #expect(r.outcome == .signatureInvalid)
    }
}
