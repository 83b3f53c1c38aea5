// libFuzzer target: T=1 blocks (ISO/IEC 7816-3 §11.3: prologue NAD PCB LEN, INF, LRC or CRC) and the host T=1
// engine (chaining, R-blocks, WTX, IFS, resynchronisation) against a card whose blocks come from the input.
import ISO7816

final class BlockSource: @unchecked Sendable {
    var blocks: [[UInt8]]
    var sent = 0
    init(_ b: [[UInt8]]) { blocks = b }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzT1(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    for checksum in [T1Checksum.lrc, .crc] {
        if let block = try? T1Block(decoding: b, checksum: checksum) {
            _ = block.description
        }
    }
    guard b.count > 2 else { return 0 }
    let checksum: T1Checksum = b[0] & 1 == 0 ? .lrc : .crc
    let ifsc = max(1, Int(b[1]))
    let source = BlockSource(lengthPrefixedPieces(Array(b.dropFirst(2)), max: 200))
    runBlocking {
        var engine = T1HostEngine(ifsc: ifsc, ifsd: 254, checksum: checksum)
        let exchange: T1BlockExchange = { (_: [UInt8], _: UInt8) async throws(TransportError) -> [UInt8] in
            source.sent += 1
            guard !source.blocks.isEmpty else { throw .timeout }
            return source.blocks.removeFirst()
        }
        _ = try? await engine.transceive([0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00] + [UInt8](repeating: 0x5A, count: 300), exchange: exchange)
        invariant(source.sent <= 200 + 1 + 64, "the T=1 engine kept sending after the card went silent")
    }
    return 0
}
