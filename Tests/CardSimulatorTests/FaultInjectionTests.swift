import ISO7816
import Testing
@testable import CardSimulator

@Suite struct FaultInjectionTests {
    static let selectMF = h("00 A4 00 0C 02 3F 00")

    func connected(_ plan: FaultPlan, persona: String = "vitale2-martin") async throws -> SimulatedReader {
        let r = SimulatedReader(name: "Sim")
        try await r.insert(persona: persona)
        _ = try await r.connect(preferred: [.t0])
        await r.setFaultPlan(plan)
        return r
    }

    @Test func cardRemovedBeforeAPDU() async throws {
        let r = try await connected(FaultPlan([.cardRemovedBefore(apdu: 2)]))
        #expect(hx(try await r.transmit(Self.selectMF)) == "90 00")
        await expectTransportError(.cardRemoved) { _ = try await r.transmit(Self.selectMF) }
        #expect(await !r.hasCard)
        await expectTransportError(.cardRemoved) { _ = try await r.transmit(Self.selectMF) }
        await expectTransportError(.noCard) { _ = try await r.connect(preferred: [.t0]) }
    }

    @Test func muteCardAndTimeout() async throws {
        let r = try await connected(FaultPlan([.muteCard(apdu: 1), .muteCard(apdu: 2, asTimeout: true)]))
        let before = await r.statistics.virtualNanoseconds
        await expectTransportError(.cardMute) { _ = try await r.transmit(Self.selectMF) }
        // the 7-byte case-3 command (5 + ACK + 2 = 8 characters, no SW) at Di 4, then WT = 10 × 960 × 372 / 4 MHz
        #expect(await r.statistics.virtualNanoseconds - before == 8 * 12 * 23_250 + 892_800_000)
        await expectTransportError(.timeout) { _ = try await r.transmit(Self.selectMF) }
        #expect(hx(try await r.transmit(Self.selectMF)) == "90 00")
    }

    @Test func slowCardAddsWTXAndVirtualTime() async throws {
        let r = try await connected(FaultPlan([.slowCard(apdu: 1, wtxCount: 2, extraMilliseconds: 5)]))
        let before = await r.statistics.virtualNanoseconds
        #expect(hx(try await r.transmit(Self.selectMF)) == "90 00")
        let s = await r.statistics
        #expect(s.wtxCount == 2)
        // (10 + 2 NULL bytes) × 12 ETU × 23.25 µs + 5 ms
        #expect(s.virtualNanoseconds - before == 12 * 12 * 23_250 + 5_000_000)
    }

    @Test func corruptedTruncatedAndReplacedAnswers() async throws {
        let r = try await connected(FaultPlan([
            .corruptResponse(apdu: 1, byteIndex: 0, mask: 0xFF), .truncateResponse(apdu: 2, keepBytes: 1),
            .replaceStatusWord(apdu: 3, sw: StatusWord(0x6A82)),
        ]))
        #expect(hx(try await r.transmit(Self.selectMF)) == "6F 00")
        #expect(hx(try await r.transmit(Self.selectMF)) == "90")
        #expect(hx(try await r.transmit(h("00 B0 82 00 02"))) == "65 1A 6A 82")
        #expect(hx(try await r.transmit(Self.selectMF)) == "90 00")
    }

    @Test func flakyTransmitFailsEveryKth() async throws {
        let r = try await connected(FaultPlan([.flakyTransmit(every: 2)]))
        var outcomes: [String] = []
        for _ in 0..<4 {
            do { outcomes.append(hx(try await r.transmit(Self.selectMF))) } catch { outcomes.append("\(error)") }
        }
        #expect(outcomes == ["90 00", "transport failure: simulated flaky transmit (APDU #2)", "90 00",
            "transport failure: simulated flaky transmit (APDU #4)"])
    }

    @Test func readerUnpluggedBeforeAPDU() async throws {
        let r = try await connected(FaultPlan([.readerUnpluggedBefore(apdu: 1)]))
        await expectTransportError(.readerGone("Sim")) { _ = try await r.transmit(Self.selectMF) }
        await expectTransportError(.readerGone("Sim")) { _ = try await r.connect(preferred: [.t0]) }
        #expect(await !r.isPluggedIn)
    }

    @Test func cardSwappedWithRemovalReported() async throws {
        let r = try await connected(FaultPlan([.swapCard(beforeAPDU: 2, persona: "vitale2-bernard-family")]))
        _ = try await r.transmit(Self.selectMF)
        await expectTransportError(.cardRemoved) { _ = try await r.transmit(Self.selectMF) }
        let info = try await r.connect(preferred: [.t0])
        #expect(hx(info.atr) == "3B 75 13 00 00 45 09 EA 90 00")
    }

    @Test func cardSwappedSilently() async throws {
        let r = try await connected(
            FaultPlan([.swapCard(beforeAPDU: 2, persona: "vitale2-bernard-family", reportRemoval: false)]))
        let first = try await r.transmit(h("00 B0 82 00 0A"))
        #expect(hx(first) == "65 1A 80 06 4D 41 52 54 49 4E 90 00")  // MARTIN
        let second = try await r.transmit(h("00 B0 82 00 0B"))
        #expect(hx(second) == "65 1B 80 07 42 45 52 4E 41 52 44 90 00")  // BERNARD, nobody told the host
    }

    @Test func cardResetByAnotherApplicationDropsTheSecurityState() async throws {
        let r = SimulatedReader(name: "Sim")
        await r.insert(OSCard(label: "test", atr: h("3B 02 14 50"), os: makeTestOS()))
        _ = try await r.connect(preferred: [.t0])
        await r.setFaultPlan(FaultPlan([.cardResetByOtherApplication(beforeAPDU: 2)]))
        #expect(hx(try await r.transmit(h("00 20 00 81 04 31 32 33 34"))) == "90 00")
        await expectTransportError(.cardReset) { _ = try await r.transmit(h("00 20 00 81")) }
        await expectTransportError(.cardReset) { _ = try await r.transmit(h("00 20 00 81")) }
        _ = try await r.connect(preferred: [.t0])
        #expect(hx(try await r.transmit(h("00 20 00 81"))) == "63 C3")
    }

    @Test func unknownSwapPersonaIsAClearFailure() async throws {
        let r = try await connected(FaultPlan([.swapCard(beforeAPDU: 1, persona: "nobody")]))
        await expectTransportError(.failed("fault plan names unknown persona nobody")) { _ = try await r.transmit(Self.selectMF) }
    }
}
