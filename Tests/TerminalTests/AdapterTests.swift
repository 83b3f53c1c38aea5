import PCSC
import Testing

@testable import Terminal

@Suite("Adapters")
struct AdapterTests {
    @Test("PC/SC events: snapshot, arrivals, departures, restart, mute cards")
    func pcscMapping() {
        var m = PCSCEventMapper()
        let atr: [UInt8] = [0x3B, 0x65, 0x00, 0x00, 0x9C]
        #expect(m.map(.snapshot([
            PCSCReaderSnapshot(name: "A 00 00", state: .present, atr: atr),
            PCSCReaderSnapshot(name: "B 01 00", state: .empty, atr: []),
        ])) == [
            .readerAdded(ReaderDescriptor(name: "A 00 00")), .cardInserted(reader: "A 00 00", atr: atr),
            .readerAdded(ReaderDescriptor(name: "B 01 00")),
        ])
        #expect(m.map(.readerAdded("A 00 00")) == [])
        #expect(m.map(.cardMute(reader: "B 01 00")) == [.cardInserted(reader: "B 01 00", atr: [])])
        #expect(m.map(.monitoringDegraded(reason: "pcscd stopped")) == [.monitoringDegraded(reason: "pcscd stopped")])
        #expect(m.map(.monitoringRestored) == [.monitoringRestored])
        // After the restart only B is back, with a card.
        #expect(m.map(.snapshot([PCSCReaderSnapshot(name: "B 01 00", state: .present, atr: atr)])) == [
            .readerRemoved("A 00 00"), .cardInserted(reader: "B 01 00", atr: atr),
        ])
        #expect(m.map(.readerRemoved("A 00 00")) == [])
        #expect(m.map(.readerRemoved("B 01 00")) == [.readerRemoved("B 01 00")])
    }

    @Test("INS-C masking keeps 2 digits at each end")
    func inscMask() {
        #expect(VitaleCardFlow.maskINSC("1234567890123456789012") == "12••••••••••••••••••12")
        #expect(VitaleCardFlow.maskINSC("123") == "•••")
    }
}
