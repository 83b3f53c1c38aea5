import CCID
import CCIDDevice
import ISO7816
import Testing

/// The APDU pipeline (`APDUChannel`) over the CCID transport: card applications see the same answers whatever the
/// reader level and the card protocol (T=0 GET RESPONSE and 6C xx are handled above the transport).
@Suite("APDUChannel over CCID readers")
struct CCIDPipelineTests {
    @Test("SELECT and a whole-file READ BINARY through every simulated reader, T=1 and T=0 cards",
          arguments: [("ingenico-leo", "T=1"), ("extended-apdu", "T=1"), ("gempc-twin", "T=1"), ("acr39u", "T=1"),
                      ("ingenico-leo", "T=0"), ("gempc-twin", "T=0")])
    func selectAndReadWholeFile(_ profileID: String, _ cardProtocol: String) async throws {
        let profile = try #require(CCIDReaderProfile.all.first { $0.id == profileID })
        let card = FileTestCard(atr: cardProtocol == "T=1" ? t1ATR : t0ATR)
        let content = card.content
        let reader = CCIDSimulatedReader.make(card: card, profile: profile)
        let channel = try await APDUChannel.connect(reader.transport)
        #expect(channel.activeProtocol == (cardProtocol == "T=1" ? .t1 : .t0))
        let select = try await channel.send(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: FileTestCard.aid, ne: 256))
        #expect(select.bytes == FileTestCard.fci + [0x90, 0x00])
        #expect(try await channel.readBinary() == content)
    }
}
