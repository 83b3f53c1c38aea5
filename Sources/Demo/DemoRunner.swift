import Authentication
import CPS
import CardSimulator
import CarteCrypto
import Foundation
import ISO7816
import Vitale

/// What the demo uses besides its readers.
public struct DemoConfiguration: Sendable {
    /// The day the Vitale rights are checked against (default: today, local time).
    public var careDate: VitaleDay
    /// The decision time of the authentications (validity periods, CRL freshness).
    public var now: @Sendable () -> Date
    /// The personas of each step (`personas.json`).
    public var pharmacist: String
    public var family: String
    public var physician: String
    public var physicianBadge: String
    public var revoked: String

    public init(
        careDate: VitaleDay = DemoCalendar.today(), now: @escaping @Sendable () -> Date = { Date() },
        pharmacist: String = "cps3-moreau-pharmacist", family: String = "vitale2-bernard-family",
        physician: String = "cps3-durand", physicianBadge: String = "desfire-durand",
        revoked: String = "cps3-roux-revoked"
    ) {
        self.careDate = careDate
        self.now = now
        self.pharmacist = pharmacist
        self.family = family
        self.physician = physician
        self.physicianBadge = physicianBadge
        self.revoked = revoked
    }
}

/// Dates for people and for the Vitale rights check.
public enum DemoCalendar {
    /// Today in the local time zone.
    public static func today() -> VitaleDay {
        let c = Calendar(identifier: .gregorian).dateComponents([.year, .month, .day], from: Date())
        return VitaleDay(year: c.year ?? 2000, month: c.month ?? 1, day: c.day ?? 1)
    }

    /// `2026-11-29 00:00 UTC`.
    public static func utc(_ date: Date) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d UTC", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }

    /// `2026-11-29T00:00:00Z` (JSON).
    public static func iso(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    /// `AAAAMMJJ` → `AAAA-MM-JJ` (anything else unchanged).
    public static func display(stored: String) -> String {
        guard stored.count == 8, stored.allSatisfy(\.isNumber) else { return stored }
        let a = Array(stored)
        return "\(String(a[0..<4]))-\(String(a[4..<6]))-\(String(a[6..<8]))"
    }
}

/// Runs the demo flow on a `DemoReaderSet` and reports each step (`DemoEvent`) as it ends.
///
/// The runner only orchestrates and reports: the Vitale module reads the card and the INS module derives the
/// INS-C; `CPSAuthenticator` (Authentication) decides the CPS authentications against the test PKI's trust anchor
/// and CRLs; `BadgeSession` (Badges) authenticates the DESFire badge. Nothing here decides anything itself.
public actor DemoRunner {
    public let readers: any DemoReaderSet
    public let configuration: DemoConfiguration
    /// Certificates the authenticator read, so the step can name the chain it validated.
    let certificateCache = CPSCertificateCache()
    var pki: TestPKI?

    public init(readers: any DemoReaderSet, configuration: DemoConfiguration = DemoConfiguration()) {
        self.readers = readers
        self.configuration = configuration
    }

    /// Runs steps 1–4 and returns the report (the summary, step 5, is rendered from it).
    /// - Parameter events: called as the run goes (PKI preparation, each step's start and end), on the runner's
    ///   executor; keep it short (print and return).
    /// - Returns: every step's report, with its status; never throws (a failure is a failed step).
    public func run(events: @escaping @Sendable (DemoEvent) -> Void = { _ in }) async -> DemoReport {
        let start = ContinuousClock.now
        var names: [String: String] = [:]
        for role in DemoReaderRole.allCases { names[role.rawValue] = readers.reader(role).name }
        events(.readersReady(names))

        events(.preparingPKI)
        let pkiStart = ContinuousClock.now
        let pkiResult: Result<TestPKI, TestPKI.TestPKIError>
        do { pkiResult = .success(try TestPKI.shared()) } catch { pkiResult = .failure(error) }
        let pkiTime = Self.nanoseconds(ContinuousClock.now - pkiStart)
        if case .success(let p) = pkiResult { pki = p }
        events(.pkiReady(nanoseconds: pkiTime))

        var steps: [DemoStepReport] = []
        for kind in DemoStepKind.allCases {
            events(.stepStarted(kind, title: Self.title(kind)))
            let report = await measure(kind) { () async -> DemoStepReport in
                switch kind {
                case .pharmacist: return await self.pharmacistStep()
                case .vitale: return await self.vitaleStep()
                case .badge: return await self.badgeStep()
                case .revoked: return await self.revokedStep()
                }
            }
            steps.append(report)
            events(.stepFinished(report))
        }
        return DemoReport(
            backend: readers.backend, readers: names, steps: steps, pkiPreparationNanoseconds: pkiTime,
            wallNanoseconds: Self.nanoseconds(ContinuousClock.now - start))
    }

    /// The header of each step, for people.
    public static func title(_ kind: DemoStepKind) -> String {
        switch kind {
        case .pharmacist: return "The pharmacist signs in with his CPS"
        case .vitale: return "The family carte Vitale is read"
        case .badge: return "The physician enrols her badge, then signs in with a tap"
        case .revoked: return "A revoked CPS is refused"
        }
    }

    // MARK: Measuring

    /// Runs `body` and sets the step's wall time and the virtual wire time / APDU count of every reader.
    private func measure(_ kind: DemoStepKind, _ body: () async -> DemoStepReport) async -> DemoStepReport {
        var before: [DemoReaderRole: WireStatistics] = [:]
        for role in DemoReaderRole.allCases { before[role] = await readers.reader(role).wireStatistics() }
        let start = ContinuousClock.now
        var report = await body()
        report.wallNanoseconds = Self.nanoseconds(ContinuousClock.now - start)
        var wire: Int64 = 0
        var apdus = 0
        var measured = false
        for role in DemoReaderRole.allCases {
            guard let b = before[role], let a = await readers.reader(role).wireStatistics() else { continue }
            measured = true
            wire += a.virtualNanoseconds - b.virtualNanoseconds
            apdus += a.apduCount - b.apduCount
        }
        report.wireNanoseconds = measured ? wire : nil
        report.apduCount = measured ? apdus : nil
        return report
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let c = d.components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }

    // MARK: Shared pieces

    /// A step that cannot run in this build.
    func unavailable(_ kind: DemoStepKind, expected: String, _ why: String, lines: [DemoLine] = [], facts: [String: DemoJSONValue] = [:])
        -> DemoStepReport
    {
        var f = facts
        f["unavailableBecause"] = .string(why)
        return DemoStepReport(
            kind: kind, title: Self.title(kind), status: .unavailable, expected: expected,
            outcome: "not available in this build", lines: lines + [DemoLine("not available", why, mark: .notice)],
            facts: f)
    }

    /// A step that failed before reaching its decision (reader, card, setup).
    func broken(_ kind: DemoStepKind, expected: String, _ why: String, lines: [DemoLine] = [], facts: [String: DemoJSONValue] = [:])
        -> DemoStepReport
    {
        var f = facts
        f["error"] = .string(why)
        return DemoStepReport(
            kind: kind, title: Self.title(kind), status: .failed, expected: expected, outcome: "failed: \(why)",
            lines: lines + [DemoLine("failed", why, mark: .refused)], facts: f)
    }

    /// Why the simulated CPS3 card cannot be used in this build, or nil when it can.
    nonisolated static func cpsCardMissing() -> String? {
        CardProfiles.builder(for: "cps3") == nil ? "the simulated CPS3 card is not in this build (branch cpssim)" : nil
    }

    /// The professional persona `id`.
    nonisolated static func professional(_ id: String) throws(DemoSetupError) -> ProfessionalPersona {
        do {
            guard case .professional(let p) = try PersonaCatalog.persona(id) else {
                throw DemoSetupError.persona("'\(id)' is not a professional's card")
            }
            return p
        } catch let e as DemoSetupError {
            throw e
        } catch let e as PersonaCatalog.CatalogError {
            throw .persona(e.description)
        } catch {
            throw .persona("\(error)")
        }
    }

    /// The authentication policy of the demo: the test PKI's root as the only trust anchor, its intermediate and
    /// both CRLs, decisions at `configuration.now`.
    func policy() -> AuthenticationPolicy? {
        guard let pki else { return nil }
        return AuthenticationPolicy(validator: pki.validator(), now: configuration.now)
    }

    /// Inserts the professional's CPS in the pinpad reader, scripts the PIN the person types when the pinpad asks
    /// for it (or gives it to the keypad closure when the reader has none) and runs `CPSAuthenticator`.
    /// - Parameter typesPIN: whether the person types the PIN when asked (false for the revoked card: a PIN asked
    ///   for would show as a timeout).
    func authenticateCPS(persona id: String, typesPIN: Bool = true) async throws(DemoSetupError)
        -> (AuthenticationResult, ProfessionalPersona, readerHasPinpad: Bool)
    {
        guard let policy = policy() else { throw .testPKI("the test PKI is not available") }
        let persona = try Self.professional(id)
        let reader = readers.reader(.professional)
        try await reader.insert(persona: id)
        let pinpad = await reader.hasPinpad
        // The person types when the pinpad asks (only then); nothing when no PIN should be asked.
        await reader.scriptPinpad(typesPIN && pinpad ? [.digits(persona.pin)] : [])
        let digits = typesPIN && !pinpad ? persona.pin : nil
        let authenticator = CPSAuthenticator(policy: policy, certificateCache: certificateCache)
        let result = await authenticator.authenticate(transport: reader.transport) { () async -> SecretPIN? in
            guard let digits else { return nil }
            var bytes = digits.asciiBytes
            return SecretPIN(consuming: &bytes)
        }
        await reader.transport.disconnect(.reset)
        return (result, persona, pinpad)
    }

    /// Lines naming the certificate the card gave, the chain it was validated on (trust anchor, intermediate) and
    /// each issuer's CRL (thisUpdate, nextUpdate, whether the certificate is listed), and the same as JSON.
    func chainLines(for result: AuthenticationResult) async -> ([DemoLine], DemoJSONValue) {
        guard let pki, let summary = result.certificate, let sha = [UInt8](hex: summary.sha256),
            let cardCertificate = await certificateCache.certificate(sha256: sha)
        else { return ([], .null) }
        let leaf = cardCertificate.certificate
        let validation = pki.validator().validate(leaf, at: result.time, requiredKeyUsage: .digitalSignature)
        var lines: [DemoLine] = []
        var chain: [DemoJSONValue] = []
        var crls: [DemoJSONValue] = []
        let path = validation.chain.isEmpty ? [leaf] : validation.chain
        for (i, c) in path.enumerated() {
            let role = i == 0 ? "card certificate" : (c.isSelfIssued ? "trust anchor" : "intermediate CA")
            let inPeriod = c.notBefore <= result.time && result.time <= c.notAfter
            lines.append(
                DemoLine(
                    role, "\(Self.commonName(c.subject)), valid until \(DemoCalendar.utc(c.notAfter))",
                    mark: inPeriod ? .ok : .refused, level: 1))
            chain.append([
                "role": .string(role), "subject": .string(c.subject.description), "serial": .string(c.serialHex),
                "notBefore": .string(DemoCalendar.iso(c.notBefore)), "notAfter": .string(DemoCalendar.iso(c.notAfter)),
            ])
        }
        // The CRL of each issuer on the path: the certificate it issued is (not) listed.
        for c in path where !c.isSelfIssued {
            guard let crl = pki.crls.first(where: { $0.issuer == c.issuer && !$0.isDelta }) else {
                lines.append(DemoLine("CRL", "none for \(Self.commonName(c.issuer))", mark: .refused, level: 1))
                continue
            }
            let entry = crl.entry(serialNumber: c.serialNumber)
            let fresh = crl.thisUpdate <= result.time && (crl.nextUpdate.map { result.time <= $0 } ?? false)
            var value = "by \(Self.commonName(crl.issuer)): thisUpdate \(DemoCalendar.utc(crl.thisUpdate)), nextUpdate "
            value += crl.nextUpdate.map { DemoCalendar.utc($0) } ?? "none"
            let what = c == leaf ? "card certificate" : "intermediate"
            if let entry {
                value += "; the \(what) is LISTED (\(entry.reason?.description ?? "no reason code"), revoked "
                value += "\(DemoCalendar.utc(entry.revocationDate)))"
            } else {
                value += "; the \(what) is not listed"
            }
            lines.append(DemoLine("CRL", value, mark: entry == nil && fresh ? .ok : .refused, level: 1))
            crls.append([
                "issuer": .string(crl.issuer.description), "thisUpdate": .string(DemoCalendar.iso(crl.thisUpdate)),
                "nextUpdate": .optional(crl.nextUpdate.map { DemoCalendar.iso($0) }), "covers": .string(what),
                "listed": .bool(entry != nil), "reason": .optional(entry?.reason?.description),
            ])
        }
        return (lines, ["chain": .array(chain), "crls": .array(crls), "validation": .string(validation.outcome.description)])
    }

    /// The CN of a name (the whole name when it has none).
    nonisolated static func commonName(_ dn: DistinguishedName) -> String {
        dn.first("CN") ?? dn.description
    }

    /// The identity lines of an authenticated professional.
    nonisolated static func identityLines(_ r: AuthenticationResult, persona: ProfessionalPersona) -> [DemoLine] {
        guard let id = r.identity else { return [] }
        var who = "\(id.prenom) \(id.nom)"
        if let p = id.profession { who += ", profession \(p)" + (p == persona.profession ? " (\(persona.professionLabel))" : "") }
        var lines = [DemoLine("holder", who)]
        lines.append(DemoLine("identifier", "idNat \(id.idNat)" + (id.rpps.map { ", RPPS \($0)" } ?? "")))
        if let t = id.cardType { lines.append(DemoLine("card type", t)) }
        return lines
    }

    /// The result as JSON, with cli.md's `carte auth` keys.
    nonisolated static func json(_ r: AuthenticationResult) -> DemoJSONValue {
        var o: [String: DemoJSONValue] = [
            "outcome": .string(r.outcome.rawValue), "triesLeft": .optional(r.triesLeft),
            "assurance": .optional(r.assurance?.rawValue), "pinEntry": .optional(r.pinEntry?.rawValue),
            "revocationReason": .optional(r.revocationReason?.description), "detail": .string(r.detail),
            "time": .string(DemoCalendar.iso(r.time)),
        ]
        if let i = r.identity {
            o["identity"] = [
                "idNat": .string(i.idNat), "rpps": .optional(i.rpps), "nom": .string(i.nom), "prenom": .string(i.prenom),
                "profession": .optional(i.profession), "cardType": .optional(i.cardType),
            ]
        } else {
            o["identity"] = .null
        }
        if let c = r.certificate {
            o["certificate"] = ["subject": .string(c.subject), "serial": .string(c.serial), "sha256": .string(c.sha256)]
        } else {
            o["certificate"] = .null
        }
        return .object(o)
    }
}
