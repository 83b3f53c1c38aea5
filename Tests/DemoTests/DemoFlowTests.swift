import CardSimulator
import Foundation
import Testing
import Vitale

@testable import CarteDemo

/// One in-process run of the whole demo, shared by the tests (the test PKI and the RSA operations make a run cost
/// about a second; the flow is the same each time).
enum DemoRun {
    struct Outcome: Sendable {
        let report: DemoReport
        let readers: SimulatedDemoReaderSet
        let events: [String]
    }

    /// Care date fixed inside every rights period of the family card.
    static let careDate = VitaleDay(year: 2026, month: 6, day: 15)

    static let shared = Task { () async -> Outcome in
        let readers = await SimulatedDemoReaderSet.make()
        let log = EventLog()
        let report = await DemoRunner(readers: readers, configuration: DemoConfiguration(careDate: careDate)).run {
            log.append($0)
        }
        return Outcome(report: report, readers: readers, events: log.names)
    }

    static func run() async -> Outcome { await shared.value }
}

/// Collects event names (the runner calls back on its own executor).
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ e: DemoEvent) {
        let name: String
        switch e {
        case .preparingPKI: name = "preparingPKI"
        case .pkiReady: name = "pkiReady"
        case .readersReady: name = "readersReady"
        case .stepStarted(let k, _): name = "start \(k.rawValue)"
        case .stepFinished(let r): name = "end \(r.kind.rawValue)"
        }
        lock.lock()
        items.append(name)
        lock.unlock()
    }
    var names: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

@Suite("carte demo: the whole flow in-process (issue 6)")
struct DemoFlowTests {
    @Test("steps run in order, each announced before and after")
    func order() async {
        let run = await DemoRun.run()
        #expect(run.report.steps.map(\.kind) == [.pharmacist, .vitale, .badge, .revoked])
        #expect(
            run.events == [
                "readersReady", "preparingPKI", "pkiReady", "start pharmacist", "end pharmacist", "start vitale",
                "end vitale", "start badge", "end badge", "start revoked", "end revoked",
            ])
        #expect(run.report.backend == "simulated")
        #expect(run.report.readers["professional"] == "Carte demo pinpad reader 00 00")
        #expect(run.report.readers["patient"] == "Carte demo patient reader 01 00")
        #expect(run.report.readers["badge"] == "Carte demo contactless reader 02 00")
    }

    @Test("step 1: the pharmacist is authenticated with cps-pin, the PIN typed on the pinpad")
    func pharmacist() async throws {
        let step = try #require(await DemoRun.run().report.step(.pharmacist))
        #expect(step.status == .passed)
        let auth = try #require(step.facts["authentication"])
        #expect(auth["outcome"] == "authenticated")
        #expect(auth["assurance"] == "cps-pin")
        #expect(auth["pinEntry"] == "pinpad")
        #expect(auth["identity"]?["rpps"] == "99700567890")
        #expect(auth["identity"]?["nom"] == "MOREAU")
        #expect(auth["identity"]?["prenom"] == "PAUL")
        #expect(auth["identity"]?["profession"] == "21")
        // The chain is named: card certificate, intermediate, trust anchor; the intermediate's CRL does not list it.
        let chain = try #require(step.facts["pki"]?["chain"]?.arrayValue)
        #expect(chain.map { $0["role"]?.stringValue } == ["card certificate", "intermediate CA", "trust anchor"])
        #expect(chain[1]["subject"]?.stringValue?.contains("CN=SIMU AC IGC-SANTE FORT PERSONNES") == true)
        #expect(chain[2]["subject"]?.stringValue?.contains("CN=SIMU AC RACINE IGC-SANTE FORT") == true)
        let crls = try #require(step.facts["pki"]?["crls"]?.arrayValue)
        #expect(crls.count == 2)
        #expect(crls.allSatisfy { $0["listed"] == false })
        #expect(crls.allSatisfy { $0["thisUpdate"]?.stringValue != nil && $0["nextUpdate"]?.stringValue != nil })
        #expect(step.lines.contains(DemoLine("PIN", "PIN typed on the reader's pinpad (it never reached the host)", mark: .ok)))
        #expect((step.wireNanoseconds ?? 0) > 0)
        #expect((step.apduCount ?? 0) > 0)
    }

    @Test("the PIN lines of every step say how the PIN was typed, never a digit")
    func pinLinesHoldNoDigit() async {
        let report = await DemoRun.run().report
        let pinLines = report.steps.flatMap(\.lines).filter { $0.key == "PIN" }
        #expect(pinLines.count == 3)
        for line in pinLines { #expect(line.value.allSatisfy { !$0.isNumber }) }
    }

    @Test("the pinpad reader's transcript never holds the PIN")
    func pinNeverInTranscript() async {
        let run = await DemoRun.run()
        let transcript = await run.readers.simulatedReader(.professional).transcript
        let verifies = transcript.filter { $0.kind == .apdu && $0.command.count > 5 && $0.command[1] == 0x20 }
        #expect(!verifies.isEmpty)
        for v in verifies { #expect(v.command.dropFirst(5).allSatisfy { $0 == 0x2A }) }
    }

    @Test("step 2: three INS-C, LUCAS has none and the reason says why, rights open at the care date")
    func vitale() async throws {
        let step = try #require(await DemoRun.run().report.step(.vitale))
        #expect(step.status == .passed)
        let b = try #require(step.facts["beneficiaries"]?.arrayValue)
        #expect(b.map { $0["prenom"]?.stringValue } == ["THOMAS", "SOPHIE", "EMMA", "LUCAS"])
        #expect(
            b.map { $0["insc"] } == [
                "0704399636225942952020", "1529412240382861057364", "1251407495617069929375", .null,
            ])
        #expect(b.map { $0["inscSource"] } == ["cardNIR", "nirCertifie", "nirCertifie", .null])
        #expect(
            b[3]["inscReason"]
                == "no INS-C: this beneficiary (qualité 06) is an ayant droit with no NIR certifié on the card, and the card NIR belongs to the assuré"
        )
        #expect(b.allSatisfy { $0["rightsOpen"] == true })
        #expect(step.facts["careDate"] == .string(DemoRun.careDate.description))
        #expect(step.facts["insured"]?["nir"] == "1 71 •• •• ••• ••• 38")
        #expect(b[1]["nirCertifie"] == "2 74 •• •• ••• ••• 64")
    }

    @Test("no full NIR anywhere in the text or the JSON")
    func nirsMasked() async {
        let report = await DemoRun.run().report
        let text = DemoTextRenderer.render(report)
        let json = DemoJSON.render(report)
        for nir in ["171096912304538", "274051305501264", "212037510123485", "1710969123045", "2740513055012"] {
            #expect(!text.contains(nir))
            #expect(!json.contains(nir))
        }
        #expect(text.contains("1 71 •• •• ••• ••• 38"))
    }

    @Test("step 3: the badge is enrolled to durand after her CPS, the tap is accepted with assurance badge")
    func badge() async throws {
        let step = try #require(await DemoRun.run().report.step(.badge))
        #expect(step.status == .passed)
        #expect(step.facts["authentication"]?["assurance"] == "cps-pin")
        #expect(step.facts["authentication"]?["pinEntry"] == "pinpad")
        #expect(step.facts["authentication"]?["identity"]?["rpps"] == "99700412345")
        let enrolment = try #require(step.facts["enrolment"])
        #expect(enrolment["enrolled"] == true)
        #expect(enrolment["badgeNumber"] == "B-000417")
        #expect(enrolment["uid"] == "045A3C12B26E80")
        #expect(enrolment["idNat"] == "899700412345")
        let tap = try #require(step.facts["tap"])
        #expect(tap["outcome"] == "authenticated")
        #expect(tap["assurance"] == "badge")
        #expect(tap["identity"]?["idNat"] == "899700412345")
        #expect(tap["identity"]?["nom"] == "DURAND")
        #expect(tap["pinEntry"] == .null)
        #expect(step.facts["tapAfterWindow"]?["outcome"] == "cpsRequired")
        #expect(step.outcome == "badge B-000417 enrolled, tap accepted (assurance badge)")
    }

    @Test("step 4: roux is refused as revoked (keyCompromise), before any PIN")
    func revoked() async throws {
        let step = try #require(await DemoRun.run().report.step(.revoked))
        #expect(step.status == .passed)
        let auth = try #require(step.facts["authentication"])
        #expect(auth["outcome"] == "revoked")
        #expect(auth["revocationReason"] == "keyCompromise")
        #expect(auth["pinEntry"] == .null)
        #expect(auth["assurance"] == .null)
        let crls = try #require(step.facts["pki"]?["crls"]?.arrayValue)
        #expect(crls.contains { $0["covers"] == "card certificate" && $0["listed"] == true && $0["reason"] == "keyCompromise" })
        #expect(step.outcome == "refused: revoked (keyCompromise)")
    }

    @Test("the summary has a row per step with wire and wall time, and the JSON document says the same")
    func summary() async throws {
        let report = await DemoRun.run().report
        let text = DemoTextRenderer.summary(report)
        for kind in DemoStepKind.allCases { #expect(text.contains("\(kind.number). \(kind.rawValue)")) }
        #expect(text.contains("wire (virtual)"))
        let data = Data(DemoJSON.render(report).utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let steps = try #require(object["steps"] as? [[String: Any]])
        #expect(steps.map { $0["kind"] as? String } == ["pharmacist", "vitale", "badge", "revoked"])
        #expect(steps.map { $0["status"] as? String } == report.steps.map(\.status.rawValue))
        #expect(object["allExpected"] as? Bool == report.allExpected)
        #expect(steps.allSatisfy { ($0["wireMilliseconds"] as? Double).map { $0 > 0 } ?? false })
    }
}

@Suite("carte demo: a step that does not give its expected outcome fails the run")
struct DemoFailureTests {
    @Test("the revoked card in the pharmacist's place: step 1 fails as revoked, the others still run")
    func wrongPharmacist() async throws {
        let readers = await SimulatedDemoReaderSet.make()
        let report = await DemoRunner(
            readers: readers,
            configuration: DemoConfiguration(careDate: DemoRun.careDate, pharmacist: "cps3-roux-revoked")
        ).run()
        let step = try #require(report.step(.pharmacist))
        #expect(step.status == .failed)
        #expect(step.facts["authentication"]?["outcome"] == "revoked")
        #expect(step.outcome == "revoked")
        #expect(report.steps.map(\.status) == [.failed, .passed, .passed, .passed])
        #expect(!report.allExpected)
        #expect(DemoTextRenderer.summary(report).contains("✗ 3 of 4 steps gave their expected outcome"))
    }

    @Test("a valid card in the revoked card's place: step 4 fails, since the refusal was expected")
    func validCardWhereRefusalExpected() async throws {
        let readers = await SimulatedDemoReaderSet.make()
        let report = await DemoRunner(
            readers: readers, configuration: DemoConfiguration(careDate: DemoRun.careDate, revoked: "cps3-durand")
        ).run()
        let step = try #require(report.step(.revoked))
        #expect(step.status == .failed)
        #expect(step.facts["authentication"]?["outcome"] == "pinEntryTimeout")
        #expect(!report.allExpected)
    }

    @Test("an unknown persona for the Vitale step: that step fails with the catalogue's reason")
    func unknownPatient() async throws {
        let readers = await SimulatedDemoReaderSet.make()
        let report = await DemoRunner(
            readers: readers, configuration: DemoConfiguration(careDate: DemoRun.careDate, family: "vitale2-nobody")
        ).run()
        let step = try #require(report.step(.vitale))
        #expect(step.status == .failed)
        #expect(
            step.facts["error"]
                == "cannot put the simulated card in the reader: unknown persona 'vitale2-nobody' (see carte simulate --list)")
        #expect(report.step(.pharmacist)?.status == .passed)
    }
}

@Suite("carte demo: rendering")
struct DemoRenderingTests {
    @Test("step lines are aligned on the longest key, marks in the first column")
    func alignment() {
        let r = DemoStepReport(
            kind: .revoked, title: "T", status: .passed, expected: "e", outcome: "o",
            lines: [DemoLine("a", "1", mark: .ok), DemoLine("longer", "2"), DemoLine("sub", "3", mark: .refused, level: 1)],
            wireNanoseconds: 1_500_000, wallNanoseconds: 250_000_000)
        #expect(
            DemoTextRenderer.step(r)
                == "\n━━ 4. T\n  ✓ a       1\n    longer  2\n  ✗   sub   3\n  → ✓ as expected: o   (wire 1.5 ms virtual, wall 250 ms)\n")
    }

    @Test("a report with an unavailable step is not all expected, and the summary says which")
    func unavailableIsNotExpected() {
        let ok = DemoStepReport(kind: .vitale, title: "V", status: .passed, expected: "e", outcome: "fine")
        let missing = DemoStepReport(
            kind: .badge, title: "B", status: .unavailable, expected: "e", outcome: "not available in this build",
            facts: ["unavailableBecause": "x"])
        let report = DemoReport(backend: "simulated", readers: [:], steps: [ok, missing], pkiPreparationNanoseconds: 0, wallNanoseconds: 0)
        #expect(!report.allExpected)
        #expect(DemoTextRenderer.summary(report).contains("3. badge: not available in this build: x"))
        #expect(!DemoReport(backend: "simulated", readers: [:], steps: [], pkiPreparationNanoseconds: 0, wallNanoseconds: 0).allExpected)
    }

    @Test("through pcscd there is no wire clock, and the summary says so")
    func noWireClock() {
        let step = DemoStepReport(kind: .vitale, title: "V", status: .passed, expected: "e", outcome: "fine", wallNanoseconds: 5_000_000)
        let report = DemoReport(backend: "pcsc", readers: [:], steps: [step], pkiPreparationNanoseconds: 0, wallNanoseconds: 0)
        let text = DemoTextRenderer.summary(report)
        #expect(text.contains("wire time is not measured through pcscd"))
        #expect(text.contains("n/a"))
        #expect(DemoTextRenderer.step(step).hasSuffix("(wall 5.0 ms)\n"))
    }

    @Test("milliseconds for people")
    func durations() {
        #expect(DemoTextRenderer.milliseconds(1_234_567) == "1.2 ms")
        #expect(DemoTextRenderer.milliseconds(123_456_789) == "123 ms")
        #expect(DemoTextRenderer.milliseconds(2_345_678_901) == "2.35 s")
    }
}
