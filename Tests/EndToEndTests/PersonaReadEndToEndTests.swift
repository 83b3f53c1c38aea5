import CPS
import CardSimulator
import Foundation
import ISO7816
import PCSC
import Testing
import Vitale
import VirtualPCD

/// Every card persona read through the real pcscd + vpcd gives exactly what the same card gives in-process: the
/// PC/SC path changes nothing in what the counter sees (issue 10, "in-process and through pcscd + vpcd").
///
/// Uses slot 0 ("Virtual PCD 00 00", TCP 35963). Enabled by `CARTE_E2E=1` with `scripts/pcscd-vpcd.sh` running.
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["CARTE_E2E"] == "1",
        "end-to-end tests through pcscd + vpcd: set CARTE_E2E=1 with scripts/pcscd-vpcd.sh running"))
struct PersonaReadEndToEndTests {
    static let reader = "Virtual PCD 00 00"
    static let careDate = VitaleDay(year: 2026, month: 1, day: 15)

    static let vitalePersonas = [
        "vitale2-martin", "vitale2-bernard-family", "vitale2-petit-twins", "vitale2-nguyen-lunar",
        "vitale2-santoni-corsica", "vitale2-roussel-expired", "vitale1-lefebvre", "vitale2-test-card",
    ]
    static let cpsPersonas = [
        "cps3-durand", "cps3-moreau-pharmacist", "cpe-girard", "cps3-roux-revoked", "cps3-blanc-expired",
        "cps3-fabre-last-try",
    ]

    /// Attaches `persona`'s card to vpcd slot 0 and opens it through pcscd once pcscd shows its ATR (≤ 10 s: pcscd
    /// polls card presence about every 400 ms).
    static func attach(_ persona: String) async throws -> (VPCDSlotClient, PCSCCard) {
        let card = try PersonaCatalog.makeCard(persona: persona)
        let atr = card.atr
        let client = VPCDSlotClient(port: 35963)
        try client.insert(card)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let snapshot = try? await pcscReaderSnapshot(),
                snapshot.first(where: { $0.name == reader })?.atr == atr
            {
                return (client, try await PCSCCard.open(reader: reader))
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        client.stop()
        throw TransportError.timeout
    }

    /// Detaches the card and waits until pcscd sees slot 0 empty, so the next persona's insertion is unambiguous.
    static func detach(_ client: VPCDSlotClient, _ card: PCSCCard) async {
        await card.disconnect(.leave)
        client.stop()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let s = try? await pcscReaderSnapshot(), s.first(where: { $0.name == reader })?.hasCard == false {
                return
            }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    @Test(arguments: vitalePersonas)
    func vitaleReadsTheSameThroughPCSC(persona: String) async throws {
        let inProcess = SimulatedReader(name: "in-process")
        try await inProcess.insert(persona: persona)
        let expected = try await VitaleSession(transport: inProcess).readCard(careDate: Self.careDate)

        let (client, card) = try await Self.attach(persona)
        let got: VitaleCard
        do {
            got = try await VitaleSession(transport: card).readCard(careDate: Self.careDate)
        } catch {
            await Self.detach(client, card)
            throw error
        }
        await Self.detach(client, card)
        #expect(got == expected)
        #expect(got.beneficiaries.count == expected.beneficiaries.count)
        #expect(!got.beneficiaries.isEmpty)
    }

    @Test(arguments: cpsPersonas)
    func cpsReadsTheSameThroughPCSC(persona: String) async throws {
        let inProcess = SimulatedReader(name: "in-process")
        try await inProcess.insert(persona: persona)
        let expected = try await CPSSession.connect(inProcess, certificateCache: CPSCertificateCache()).read()

        let (client, card) = try await Self.attach(persona)
        let got: CPSCardSummary
        do {
            got = try await CPSSession.connect(card, certificateCache: CPSCertificateCache()).read()
        } catch {
            await Self.detach(client, card)
            throw error
        }
        await Self.detach(client, card)
        #expect(got.atr == expected.atr)
        #expect(got.serial == expected.serial)
        #expect(got.holder == expected.holder)
        #expect(got.certificates == expected.certificates)
        #expect(got.certificates.count == 2)
        #expect(got.pinTriesLeft == expected.pinTriesLeft)
    }
}
