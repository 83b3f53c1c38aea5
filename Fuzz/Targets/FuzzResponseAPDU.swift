// libFuzzer target: C-APDU/R-APDU decoding (ISO/IEC 7816-4 §5.1, §5.3) and the APDU pipeline's T=0 rules
// (`61 xx` GET RESPONSE loop, `6C xx` re-issue, chained READ BINARY) over a transport answering from the input.
import ISO7816

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponseAPDU(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    if let r = try? ResponseAPDU(decoding: b) {
        invariant(r.bytes == b, "ResponseAPDU.bytes differs from the input")
    }
    if let c = try? CommandAPDU(decoding: b) {
        _ = try? c.encoded(extended: false)
        _ = try? c.encoded(extended: true)
    }
    guard !b.isEmpty else { return 0 }
    // First byte picks the protocol and the reader, the rest are the card's answers.
    let proto: TransmissionProtocol = b[0] & 1 == 0 ? .t0 : .t1
    let caps: ReaderCapabilities = b[0] & 2 == 0 ? .shortAPDU
        : ReaderCapabilities(supportsExtendedLength: true, maxCommandLength: 65544, maxResponseLength: 65538)
    let answers = lengthPrefixedPieces(Array(b.dropFirst()))
    let limit = max(4, answers.count)
    runBlocking {
        let t = FuzzedTransport(atr: [0x3B, 0x80, 0x80, 0x01, 0x01], protocol: proto, answers: answers, capabilities: caps)
        let config = APDUChannelConfiguration(getResponseLimit: limit, readBinaryLimit: 4096)
        let ch = APDUChannel(transport: t, atr: t.atr, activeProtocol: proto, readerCapabilities: caps, configuration: config)
        _ = try? await ch.send(CommandAPDU(ins: 0xCA, p1: 0x9F, p2: 0x7F, ne: 256))
        _ = try? await ch.send(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: [0xA0, 0x00, 0x00, 0x00, 0x03], ne: 256))
        _ = try? await ch.readBinary(sfi: 2)
        _ = try? await ch.readBinary(offset: 40000, length: 300)
        // Each of the 4 operations stops at the first transport error: at most one transmit each after the end.
        invariant(t.transmittedAfterEnd <= 4, "the pipeline kept sending after the card was removed")
    }
    return 0
}
