import Authentication
import CPS
import CardSimulator
import Foundation
import ISO7816
import PCSC
import Testing
import VirtualPCD

/// The persona cases of issue 5 through the real pcscd and vpcd (keypad entry: vpcd has no PIN pad). Enabled by
/// `CARTE_E2E=1` with a private pcscd + vpcd running and `PCSCLITE_CSOCK_NAME` exported (vpcd slot 0 on
/// `CARTE_VPCD_PORT`, default 35963, reader `Virtual PCD 00 00` or `CARTE_VPCD_READER`):
///
///     eval "$(scripts/pcscd-vpcd.sh start)"
///     CARTE_E2E=1 swift test --skip-build --filter AuthenticationPCSCEndToEndTests
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["CARTE_E2E"] == "1",
        "end-to-end through pcscd + vpcd: set CARTE_E2E=1 with scripts/pcscd-vpcd.sh running"))
struct AuthenticationPCSCEndToEndTests {
    static var port: Int { Int(ProcessInfo.processInfo.environment["CARTE_VPCD_PORT"] ?? "") ?? 35963 }
    static var readerName: String { ProcessInfo.processInfo.environment["CARTE_VPCD_READER"] ?? "Virtual PCD 00 00" }

    /// Attaches `persona`'s simulated CPS3 to vpcd slot 0, waits until pcscd shows it, runs `body` on a `PCSCCard`,
    /// then takes the card out and waits until pcscd sees the slot empty.
    func withCard<T>(_ persona: String, _ body: (PCSCCard, OSCard) async throws -> T) async throws -> T {
        let p = try #require(try PersonaFile.bundled().professionals.first { $0.id == persona })
        let card = try CPS3Profile.makeCard(persona: p, interface: .contact)
        let client = VPCDSlotClient(port: Self.port)
        try client.insert(SharedCard(card))
        defer { client.stop() }
        var seen = false
        for _ in 0..<120 where !seen {
            let probe = PCSCCard(readerName: Self.readerName)
            if let info = try? await probe.connect(preferred: [.t0, .t1]), info.atr == card.atr { seen = true }
            await probe.disconnect(.leave)
            if !seen { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        try #require(seen, "pcscd did not show the simulated card in \(Self.readerName)")
        let transport = PCSCCard(readerName: Self.readerName)
        let result = try await body(transport, card)
        await transport.disconnect(.leave)
        client.remove()
        for _ in 0..<120 {
            let probe = PCSCCard(readerName: Self.readerName)
            let present = (try? await probe.connect(preferred: [.t0, .t1])) != nil
            await probe.disconnect(.leave)
            if !present { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return result
    }

    func authenticate(_ t: PCSCCard, pin: String, confirm: Bool = false, calls: CallCounter = CallCounter()) async throws
        -> AuthenticationResult
    {
        try await Fixture.authenticator().authenticate(transport: t, confirmLastTry: confirm, keypad: Fixture.keypad(pin, calls))
    }

    @Test("durand: right PIN → authenticated (keypad); wrong PIN → wrongPin 2 and the card's counter says 2")
    func durand() async throws {
        try await withCard("cps3-durand") { t, card in
            let ok = try await authenticate(t, pin: "1234")
            #expect(ok.outcome == .authenticated)
            #expect(ok.assurance == .cpsPin)
            #expect(ok.pinEntry == .keypad)
            #expect(ok.identity?.rpps == "99700412345")
            let bad = try await authenticate(t, pin: "0000")
            #expect(bad.outcome == .wrongPin)
            #expect(bad.triesLeft == 2)
            let s = try await CPSSession.connect(t, certificateCache: CPSCertificateCache())
            #expect(try await s.pinStatus().triesLeft == 2)
            #expect(card.os.pins[0x01]?.triesLeft == 2)
        }
    }

    @Test("roux → revoked, blanc → expired, both before any PIN")
    func refusedCertificates() async throws {
        let calls = CallCounter()
        let roux = try await withCard("cps3-roux-revoked") { t, _ in try await authenticate(t, pin: "1357", calls: calls) }
        #expect(roux.outcome == .revoked)
        #expect(roux.revocationReason == .keyCompromise)
        let blanc = try await withCard("cps3-blanc-expired") { t, _ in try await authenticate(t, pin: "9753", calls: calls) }
        #expect(blanc.outcome == .expired)
        #expect(calls.count == 0)
    }

    @Test("fabre → lastTryNotConfirmed without presenting; confirmed → authenticated")
    func fabre() async throws {
        try await withCard("cps3-fabre-last-try") { t, card in
            let calls = CallCounter()
            let refused = try await authenticate(t, pin: "8642", calls: calls)
            #expect(refused.outcome == .lastTryNotConfirmed)
            #expect(calls.count == 0)
            #expect(card.os.pins[0x01]?.triesLeft == 1)
            let confirmed = try await authenticate(t, pin: "8642", confirm: true, calls: calls)
            #expect(confirmed.outcome == .authenticated)
        }
    }

    @Test("girard (CPE) → authenticated as staff")
    func girard() async throws {
        let r = try await withCard("cpe-girard") { t, _ in try await authenticate(t, pin: "2468") }
        #expect(r.outcome == .authenticated)
        #expect(r.identity?.cardType == "CPE")
        #expect(r.identity?.isHealthProfessional == false)
    }
}
