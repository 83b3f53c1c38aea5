import Foundation
import Testing
import VirtualPCD

@testable import CarteDemo

/// `carte demo --pcsc`: the same flow through the real pcscd and vpcd. Enabled by `CARTE_E2E=1` with a private
/// pcscd + vpcd running and `PCSCLITE_CSOCK_NAME` exported (vpcd slot 0 on `CARTE_VPCD_PORT`, default 35963):
///
///     eval "$(scripts/pcscd-vpcd.sh start)"
///     CARTE_E2E=1 swift test --skip-build --filter DemoPCSCEndToEndTests
///
/// Uses both vpcd slots: nothing else may be attached there during the run.
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["CARTE_E2E"] == "1",
        "end-to-end through pcscd + vpcd: set CARTE_E2E=1 with scripts/pcscd-vpcd.sh running"))
struct DemoPCSCEndToEndTests {
    @Test("the whole demo through pcscd: every step as expected, PIN on the host keypad, no wire clock")
    func wholeFlow() async throws {
        let port = Int(ProcessInfo.processInfo.environment["CARTE_VPCD_PORT"] ?? "") ?? VPCDAddress.defaultPort
        let readers = try await PCSCDemoReaderSet.make(vpcd: VPCDAddress(port: port))
        let report = await DemoRunner(readers: readers, configuration: DemoConfiguration(careDate: DemoRun.careDate)).run()
        await readers.shutdown()
        #expect(report.backend == "pcsc")
        #expect(report.steps.map(\.status) == [.passed, .passed, .passed, .passed])
        #expect(report.step(.pharmacist)?.facts["authentication"]?["pinEntry"] == "keypad")
        #expect(report.step(.revoked)?.facts["authentication"]?["revocationReason"] == "keyCompromise")
        #expect(report.step(.badge)?.facts["tap"]?["assurance"] == "badge")
        #expect(
            report.step(.vitale)?.facts["beneficiaries"]?.arrayValue?.map { $0["insc"] } == [
                "0704399636225942952020", "1529412240382861057364", "1251407495617069929375", .null,
            ])
        #expect(report.wireNanoseconds == nil)
    }
}
