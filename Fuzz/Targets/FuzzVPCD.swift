// libFuzzer target: the vpcd stream (pcsc-ccid-vpcd-contactless.md §4.1): 2-byte big-endian length frames split
// and coalesced arbitrarily by TCP, and the classification of each payload. VPCDFrameParser.swift and
// VPCDControl.swift are compiled into this target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVPCD(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    guard !b.isEmpty else { return 0 }
    // The whole stream at once, and the same stream in reads of (first byte % 7 + 1) bytes: same frames.
    var whole = VPCDFrameParser()
    let all = whole.append(b.dropFirst())
    var split = VPCDFrameParser()
    var pieces: [[UInt8]] = []
    let step = Int(b[0] % 7) + 1
    var i = 1
    while i < b.count {
        pieces += split.append(b[i..<min(b.count, i + step)])
        i += step
    }
    invariant(all == pieces, "frames depend on how the stream was split")
    invariant(whole.pendingByteCount == split.pendingByteCount, "pending bytes depend on the split")
    for f in all {
        _ = VPCDMessage(payload: f)
        if let framed = try? VPCDFrameParser.frame(f) {
            var again = VPCDFrameParser()
            invariant(again.append(framed) == [f], "a framed payload does not parse back")
        }
    }
    return 0
}
