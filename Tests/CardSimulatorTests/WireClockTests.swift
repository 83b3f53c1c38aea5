import ISO7816
import Testing
@testable import CardSimulator

/// Values computed by hand from ISO/IEC 7816-3 (see `WireClock`).
@Suite struct WireClockTests {
    @Test func etuAtFourMegahertz() {
        #expect(WireClock.nanoseconds(etu: 1, fi: 372, di: 1, clockKHz: 4000) == 93_000)
        #expect(WireClock.nanoseconds(etu: 1, fi: 372, di: 4, clockKHz: 4000) == 23_250)
        #expect(WireClock.nanoseconds(etu: 10, fi: 512, di: 8, clockKHz: 5000) == 128_000)
    }

    @Test func t0CharacterCountsPerCase() {
        #expect(WireClock.t0Characters(command: h("00 A4 00 0C"), responseDataLength: 0) == 7)  // case 1
        #expect(WireClock.t0Characters(command: h("00 B0 00 00 04"), responseDataLength: 4) == 12)  // 5 + ACK + 4 + SW
        #expect(WireClock.t0Characters(command: h("00 A4 00 0C 02 3F 00"), responseDataLength: 0) == 10)  // 5 + ACK + 2 + SW
        // case 4: case-3 TPDU (5 + ACK + 11 + SW) and GET RESPONSE TPDU (5 + ACK + 25 + SW)
        #expect(WireClock.t0Characters(command: h("00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45 00"), responseDataLength: 25) == 52)
        #expect(WireClock.t0Characters(command: h("00 B0 00 00 04"), responseDataLength: 4, nullProcedureBytes: 3) == 15)
    }

    @Test func t0ExchangeDuration() {
        let p = WireParameters(clockKHz: 4000, fi: 372, di: 1)
        // 12 characters × 12 ETU × 93 µs
        #expect(WireClock.exchangeNanoseconds(command: h("00 B0 00 00 04"), response: h("01 02 03 04 90 00"), parameters: p) == 13_392_000)
        var fast = p
        fast.di = 4
        #expect(WireClock.exchangeNanoseconds(command: h("00 A4 00 0C 02 3F 00"), response: h("90 00"), parameters: fast) == 2_790_000)
        var guardTime = p
        guardTime.extraGuardTime = 2  // 14 ETU per character
        #expect(WireClock.exchangeNanoseconds(command: h("00 A4 00 0C"), response: h("90 00"), parameters: guardTime) == 7 * 14 * 93_000)
    }

    @Test func t1BlocksGuardTimeChainingAndWTX() {
        var p = WireParameters(transmissionProtocol: .t1)
        // (5 + 4) + (2 + 4) = 15 characters × 12 ETU + 1 BGT of 22 ETU
        #expect(WireClock.t1ETU(commandLength: 5, responseLength: 2, parameters: p) == 202)
        // one WTX: + S(WTX request) and S(WTX response), 5 bytes each, + 2 BGT
        #expect(WireClock.t1ETU(commandLength: 5, responseLength: 2, parameters: p, wtx: 1) == 366)
        // 70 bytes with IFSC 32: 3 I-blocks + 2 R-blocks; 96 characters; 6 blocks, 5 BGT
        #expect(WireClock.t1ETU(commandLength: 70, responseLength: 2, parameters: p) == 1262)
        p.extraGuardTime = 255  // 11 ETU characters in T=1
        #expect(WireClock.t1ETU(commandLength: 5, responseLength: 2, parameters: p) == 15 * 11 + 22)
    }

    @Test func atrPPSAndContactless() {
        // 400 cycles at 4 MHz = 100 µs, then 10 characters × 12 ETU × 93 µs
        #expect(WireClock.atrNanoseconds(atrLength: 10, clockKHz: 4000) == 11_260_000)
        #expect(WireClock.ppsNanoseconds(clockKHz: 4000) == 8_928_000)
        // (9 × 8 + 2) + (9 × 5 + 2) = 121 bits × 128/fc + 2 × 1236/fc
        #expect(WireClock.contactlessNanoseconds(commandLength: 5, responseLength: 2) == 1_324_483)
    }

    @Test func waitingTimesForAMuteCard() {
        // T=0: 10 × 960 × 372 / 4 MHz
        #expect(WireClock.waitingTimeNanoseconds(parameters: WireParameters()) == 892_800_000)
        // T=1: 11 ETU (93 µs) + 16 × 960 × 372 / 4 MHz
        #expect(WireClock.waitingTimeNanoseconds(parameters: WireParameters(transmissionProtocol: .t1)) == 1_023_000 + 1_428_480_000)
        // contactless: 256 × 16 × 16 / 13.56 MHz
        #expect(WireClock.waitingTimeNanoseconds(parameters: WireParameters(contactless: true)) == 4_833_038)
    }

    @Test func readerAccumulatesATRPPSAndExchanges() async throws {
        let r = SimulatedReader(name: "Sim")
        try await r.insert(persona: "vitale2-martin")
        _ = try await r.connect(preferred: [.t0])
        _ = try await r.transmit(h("00 A4 00 0C 02 3F 00"))
        let s = await r.statistics
        #expect(s.virtualNanoseconds == 11_260_000 + 8_928_000 + 2_790_000)
        #expect(s.apduCount == 1)
        #expect(s.bytesToCard == 7)
        #expect(s.bytesFromCard == 2)
        #expect(s.atrCount == 1 && s.ppsCount == 1)
        let t = await r.transcript
        #expect(t.map(\.kind) == [.atr, .pps, .apdu])
        #expect(hx(t[1].command) == "FF 10 13 FC")
        #expect(t[2].startNanoseconds == 20_188_000)
        #expect(t[2].durationNanoseconds == 2_790_000)
    }

    @Test func readerWithoutPPSStaysAtTheInitialRate() async throws {
        var c = SimulatedReaderConfiguration.contact()
        c.performsPPS = false
        c.clockKHz = 8000
        c.capabilities.maxClockKHz = 5000
        let r = SimulatedReader(name: "Sim", configuration: c)
        try await r.insert(persona: "vitale2-martin")
        _ = try await r.connect(preferred: [.t0])
        _ = try await r.transmit(h("00 A4 00 0C 02 3F 00"))
        let w = await r.wireParameters
        #expect(w.clockKHz == 5000 && w.di == 1)
        // ATR: 400 cycles at 5 MHz = 80 µs + 120 ETU × 74.4 µs; exchange 120 ETU × 74.4 µs
        #expect(await r.statistics.virtualNanoseconds == 80_000 + 8_928_000 + 8_928_000)
    }
}

@Suite struct WireClockT1ReaderTests {
    @Test func cps4StyleCardNegotiatesT1AndDi12() async throws {
        let r = SimulatedReader(name: "Sim")
        await r.insert(MuteApplicationCard(atr: h("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44")))
        let info = try await r.connect(preferred: [.t0, .t1])
        #expect(info.activeProtocol == .t1)
        await r.resetStatistics()
        #expect(hx(try await r.transmit(h("00 A4 00 0C 02 3F 00"))) == "6D 00")
        // (7 + 4) + (2 + 4) = 17 characters × 12 ETU + 1 BGT = 226 ETU; ETU = 372 / 12 / 4 MHz = 7.75 µs
        #expect(await r.statistics.virtualNanoseconds == 1_751_500)
        #expect(await r.wireParameters.di == 12)
    }
}
