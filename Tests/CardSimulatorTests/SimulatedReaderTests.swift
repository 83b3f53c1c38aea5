import ISO7816
import Testing
@testable import CardSimulator

func expectTransportError(
    _ expected: TransportError, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(expected), nothing thrown", sourceLocation: sourceLocation)
    } catch let e as TransportError {
        #expect(e == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct SimulatedReaderContactTests {
    @Test func connectChecksCardAndProtocol() async throws {
        let r = SimulatedReader(name: "Sim Contact 00 00")
        await expectTransportError(.noCard) { _ = try await r.connect(preferred: [.t0, .t1]) }
        try await r.insert(persona: "vitale2-martin")
        await expectTransportError(.protocolMismatch(requested: [.t1], available: [.t0])) {
            _ = try await r.connect(preferred: [.t1])
        }
        await expectTransportError(.failed("transmit before connect on Sim Contact 00 00")) {
            _ = try await r.transmit(h("00 A4 00 0C 02 3F 00"))
        }
        let info = try await r.connect(preferred: [.t0, .t1])
        #expect(hx(info.atr) == "3B 75 13 00 00 47 09 EA 90 00")
        #expect(info.activeProtocol == .t0)
        #expect(hx(try await r.transmit(h("00 A4 00 0C 02 3F 00"))) == "90 00")
        #expect(hx(try await r.transmit(h("FF CA 00 00 00"))) == "6E 00")  // a contact reader passes CLA FF on
        let stats = await r.statistics
        #expect(stats.ppsCount == 1)
        #expect(stats.apduCount == 2)
        let wire = await r.wireParameters
        #expect(wire.fi == 372 && wire.di == 4)
    }

    @Test func removalLosesTheSessionAndReinsertionWorks() async throws {
        let r = SimulatedReader(name: "Sim")
        try await r.insert(persona: "vitale2-martin")
        _ = try await r.connect(preferred: [.t0])
        await r.remove()
        await expectTransportError(.cardRemoved) { _ = try await r.transmit(h("00 A4 00 0C 02 3F 00")) }
        try await r.insert(persona: "vitale1-lefebvre")
        let info = try await r.connect(preferred: [.t0])
        #expect(hx(info.atr) == "3F 65 25 00 2C 09 69 90 00")
        #expect(hx(try await r.transmit(h("BC C0 00 00 08"))) == "21 88 02 00 72 34 56 78 90 00")
        #expect(await r.statistics.ppsCount == 1)  // only the Vitale 2 had TA1
    }

    @Test func dispositionDecidesWhatHappensToTheSecurityState() async throws {
        let r = SimulatedReader(name: "Sim")
        await r.insert(OSCard(label: "test", atr: h("3B 02 14 50"), os: makeTestOS()))
        _ = try await r.connect(preferred: [.t0])
        #expect(hx(try await r.transmit(h("00 20 00 81 04 31 32 33 34"))) == "90 00")
        await r.disconnect(.leave)
        _ = try await r.connect(preferred: [.t0])
        #expect(hx(try await r.transmit(h("00 20 00 81"))) == "90 00")
        await r.disconnect(.reset)
        _ = try await r.connect(preferred: [.t0])
        #expect(hx(try await r.transmit(h("00 20 00 81"))) == "63 C3")
        _ = try await r.transmit(h("00 20 00 81 04 31 32 33 34"))
        await r.disconnect(.unpower)
        _ = try await r.connect(preferred: [.t0])
        #expect(hx(try await r.transmit(h("00 20 00 81"))) == "63 C3")
        #expect(await r.statistics.atrCount == 3)
    }

    @Test func transcriptMasksPINData() async throws {
        let r = SimulatedReader(name: "Sim")
        await r.insert(OSCard(label: "test", atr: h("3B 02 14 50"), os: makeTestOS()))
        _ = try await r.connect(preferred: [.t0])
        _ = try await r.transmit(h("00 20 00 81 04 31 32 33 34"))
        let apdus = await r.transcript.filter { $0.kind == .apdu }
        #expect(hx(apdus[0].command) == "00 20 00 81 04 2A 2A 2A 2A")
        #expect(hx(apdus[0].response) == "90 00")
    }

    @Test("The transcript is bounded: a long-running reader keeps the last transcriptLimit..2×limit entries")
    func transcriptIsBounded() async throws {
        var configuration = SimulatedReaderConfiguration.contact()
        configuration.transcriptLimit = 4
        let r = SimulatedReader(name: "Sim", configuration: configuration)
        await r.insert(OSCard(label: "test", atr: h("3B 02 14 50"), os: makeTestOS()))
        _ = try await r.connect(preferred: [.t0])
        for p2 in 0..<20 { _ = try await r.transmit([0x00, 0x20, 0x00, UInt8(0x80 + p2 % 2)]) }
        let log = await r.transcript
        #expect(log.count >= 4 && log.count <= 8)
        // The newest entry is the last VERIFY sent (P2 = 81 for p2 = 19).
        #expect(hx(log.last?.command ?? []) == "00 20 00 81")
        #expect(await r.statistics.atrCount == 1)
    }

    @Test func shortAPDUReaderRefusesExtendedCommands() async throws {
        let r = SimulatedReader(name: "Sim")
        await r.insert(OSCard(label: "test", atr: h("3B 02 14 50"), os: makeTestOS()))
        _ = try await r.connect(preferred: [.t0])
        let extended = [0x00, 0xD6, 0x00, 0x00, 0x00, 0x01, 0x00] + [UInt8](repeating: 0, count: 256)
        await expectTransportError(.notSupported("a 263-byte command (this reader takes at most 261 bytes)")) {
            _ = try await r.transmit(extended)
        }
        let wide = SimulatedReader(name: "Sim CL", configuration: .contactless())
        await wide.insert(OSCard(label: "test", atr: h("3B 02 14 50"), os: makeTestOS(),
            contactless: ContactlessInterface(uid: [1, 2, 3, 4], historicalBytes: [])))
        _ = try await wide.connect(preferred: [.t1])
        #expect(hx(try await wide.transmit(extended)) == "69 86")  // reaches the card: no current EF
    }

    @Test func twoSlotReaderSharesAPrefix() async throws {
        let (a, b) = SimulatedReader.twoSlot(namePrefix: "Sim Bifente")
        #expect(a.readerName == "Sim Bifente 00 00")
        #expect(b.readerName == "Sim Bifente 00 01")
        try await a.insert(persona: "cps3-durand")
        try await b.insert(persona: "vitale2-martin")
        _ = try await a.connect(preferred: [.t0])
        _ = try await b.connect(preferred: [.t0])
        // RufusAdmin's probe: SELECT 3F00 on both slots (the CPS3 profile answers its FCI through 61 xx).
        #expect(hx(try await a.transmit(h("00 A4 00 00 02 3F 00"))) == "61 2A")
        #expect(hx(try await b.transmit(h("00 A4 00 0C 02 3F 00"))) == "90 00")
    }

    @Test func transactionsAreAFIFOLock() async throws {
        let r = SimulatedReader(name: "Sim")
        try await r.beginTransaction()
        #expect(await r.isInTransaction)
        let second = Task {
            try await r.beginTransaction()
            await r.endTransaction()
            return true
        }
        await r.endTransaction()
        #expect(try await second.value)
        #expect(await !r.isInTransaction)
    }

    @Test func unpluggedReaderIsGone() async throws {
        let r = SimulatedReader(name: "Sim")
        try await r.insert(persona: "vitale2-martin")
        await r.unplug()
        await expectTransportError(.readerGone("Sim")) { _ = try await r.connect(preferred: [.t0]) }
        await expectTransportError(.readerGone("Sim")) { try await r.beginTransaction() }
        await r.plugIn()
        _ = try await r.connect(preferred: [.t0])
    }
}

@Suite struct SimulatedReaderContactlessTests {
    func reader() -> SimulatedReader { SimulatedReader(name: "Sim CL", configuration: .contactless()) }

    @Test func cpsContactlessATRIsBuiltFromItsHistoricalBytes() async throws {
        let r = reader()
        try await r.insert(persona: "cps3-durand")
        let info = try await r.connect(preferred: [.t0, .t1])
        #expect(hx(info.atr) == "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E")
        #expect(info.activeProtocol == .t1)
        #expect(hx(try await r.transmit(h("FF CA 00 00 00"))) == "6A 81")
    }

    @Test func badgeATRsAndUID() async throws {
        let r = reader()
        try await r.insert(persona: "desfire-durand")
        #expect(hx(try await r.connect(preferred: [.t1]).atr) == "3B 81 80 01 80 80")
        #expect(hx(try await r.transmit(h("FF CA 00 00 00"))) == "04 5A 3C 12 B2 6E 80 90 00")
        try await r.insert(persona: "uid-visitor")
        #expect(hx(try await r.connect(preferred: [.t1]).atr) == "3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A")
        #expect(hx(try await r.transmit(h("FF CA 00 00 00"))) == "A1 B2 C3 D4 90 00")
        #expect(hx(try await r.transmit(h("FF CA 00 00 02"))) == "6C 04")
        #expect(hx(try await r.transmit(h("FF CA 01 00 00"))) == "80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 90 00")
        #expect(hx(try await r.transmit(h("FF CA 02 00 00"))) == "6A 81")
        #expect(hx(try await r.transmit(h("FF 82 00 00 06 FF FF FF FF FF FF"))) == "6A 81")
        let s = await r.statistics
        #expect(s.apduCount == 0)  // pseudo-APDUs never reach the card
        #expect(await r.transcript.filter { $0.kind == .readerPseudoAPDU }.count == 6)
    }

    @Test func contactOnlyCardIsMuteOnAContactlessReader() async throws {
        let r = reader()
        try await r.insert(persona: "vitale2-martin")
        await expectTransportError(.cardMute) { _ = try await r.connect(preferred: [.t1]) }
    }

    @Test func contactlessATRFormula() {
        #expect(hx(ATRInfo.contactlessATR(historicalBytes: [0x80])) == "3B 81 80 01 80 80")
        #expect(hx(ATRInfo.contactlessATR(historicalBytes: [])) == "3B 80 80 01 01")
    }
}
