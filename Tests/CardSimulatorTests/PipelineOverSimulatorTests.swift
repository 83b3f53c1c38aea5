import ISO7816
import Testing
@testable import CardSimulator

/// The host-side APDU pipeline (ISO7816.APDUChannel) over a simulated reader: the T=0 realism of `strict-t0`
/// (`61 xx`, `6C xx`) is resolved by the pipeline and the data come out unchanged.
@Suite struct PipelineOverSimulatorTests {
    @Test func strictT0VitaleReadsThroughTheChannel() async throws {
        let reader = SimulatedReader(name: "Sim")
        try await reader.insert(persona: "vitale2-martin", t0Mode: .strictT0)
        let channel = try await APDUChannel.connect(reader)
        #expect(hx(channel.atr) == "3B 75 13 00 00 47 09 EA 90 00")
        let select = try await channel.send(CommandAPDU(
            ins: 0xA4, p1: 0x04, p2: 0x00, data: Vitale2Profile.vitaleAID, ne: 256))
        #expect(select.isSuccess)
        #expect(hx(select.data) == Vitale2ProfileTests.vitaleFCI)
        let benef = try await channel.readBinary(sfi: 2)
        #expect(benef.count == 240)
        #expect(hx(Array(benef.prefix(26))) == Vitale2ProfileTests.martinBenef)
        let sent = await reader.transcript.filter { $0.kind == .apdu }.map { hx(Array($0.command.prefix(2))) }
        #expect(sent.contains("00 C0"))  // the pipeline fetched the 61 xx data with GET RESPONSE
    }
}
