import Authentication
import CPS
import CardSimulator
import Foundation
import Testing

@Suite("PIN change and unblock with the same guards (cps.md §5)")
struct PINManagementTests {
    static func codes(_ a: String, _ b: String, _ calls: CallCounter) -> @Sendable () async -> (SecretPIN, SecretPIN)? {
        { calls.hit(); return (SecretPIN(testDigits: a)!, SecretPIN(testDigits: b)!) }
    }

    @Test("change: right current PIN → changed; wrong → wrongPin 2 with the card's counter at 2", arguments: CardSource.allCases)
    func change(source: CardSource) async throws {
        let (reader, card) = try await Fixture.reader(source, "cps3-moreau-pharmacist")
        let calls = CallCounter()
        let ok = await CPSPINManagement.changePIN(transport: reader, codes: { let c = await Self.codes("4321", "6789", calls)()!; return (c.0, c.1) })
        #expect(ok.outcome == .changed)
        let bad = await CPSPINManagement.changePIN(transport: reader, codes: { let c = await Self.codes("4321", "1111", calls)()!; return (c.0, c.1) })
        #expect(bad.outcome == .wrongPin)
        #expect(bad.triesLeft == 2)
        #expect(card.os.pins[0x01]?.triesLeft == 2)
        #expect(calls.count == 2)
    }

    @Test("change with one try left: refused unless confirmed, and the codes are not even asked", arguments: CardSource.allCases)
    func changeLastTry(source: CardSource) async throws {
        let (reader, card) = try await Fixture.reader(source, "cps3-fabre-last-try")
        let calls = CallCounter()
        let r = await CPSPINManagement.changePIN(transport: reader, codes: { let c = await Self.codes("8642", "1111", calls)()!; return (c.0, c.1) })
        #expect(r.outcome == .lastTryNotConfirmed)
        #expect(calls.count == 0)
        #expect(card.os.pins[0x01]?.triesLeft == 1)
    }

    @Test("on a pinpad reader no code is typed on the host: notSupported, nothing asked, nothing sent")
    func pinpadReader() async throws {
        let (reader, card) = try await Fixture.reader(.simulator, "cps3-durand", configuration: .pinpad())
        let calls = CallCounter()
        let r = await CPSPINManagement.changePIN(transport: reader, codes: { let c = await Self.codes("1234", "5678", calls)()!; return (c.0, c.1) })
        #expect(r.outcome == .notSupported)
        #expect(calls.count == 0)
        #expect(card.os.pins[0x01]?.triesLeft == 3)
        #expect(await reader.transcript.allSatisfy { $0.command.count < 2 || ![0x20, 0x24, 0x2C].contains($0.command[1]) })
    }

    @Test("unblock: a blocked PIN is reset with the code de déblocage; a wrong code costs a PUK try only", arguments: CardSource.allCases)
    func unblock(source: CardSource) async throws {
        let (reader, card) = try await Fixture.reader(source, "cps3-moreau-pharmacist")
        let s = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        for _ in 0..<3 { _ = try await s.verify(pin: SecretPIN(testDigits: "0000")!) }
        #expect(card.os.pins[0x01]?.triesLeft == 0)
        let calls = CallCounter()
        let wrong = await CPSPINManagement.unblockPIN(transport: reader, codes: { let c = await Self.codes("11111111", "4321", calls)()!; return (c.0, c.1) })
        #expect(wrong.outcome == .wrongPuk)
        #expect(wrong.triesLeft == 9)
        #expect(card.os.pins[0x02]?.triesLeft == 9)
        let ok = await CPSPINManagement.unblockPIN(transport: reader, codes: { let c = await Self.codes("87654321", "4321", calls)()!; return (c.0, c.1) })
        #expect(ok.outcome == .unblocked)
        #expect(card.os.pins[0x01]?.triesLeft == 3)
    }
}
