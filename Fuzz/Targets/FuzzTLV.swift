// libFuzzer target: BER-TLV (ISO/IEC 7816-4 §5.2, with and without padding), SIMPLE-TLV and COMPACT-TLV.
import ISO7816

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    for skip in [true, false] {
        let (objects, error) = BERTLV.decodeLenient(b, skipPadding: skip)
        if error == nil, !skip {
            // What decodes without error re-encodes (minimal lengths) into something that decodes to the same objects.
            let again = BERTLV.decodeLenient(objects.encoded, skipPadding: false)
            invariant(again.error == nil && again.objects == objects, "BER-TLV re-encoding does not decode back")
        }
        for o in objects {
            _ = o.description
            _ = BERTLV.all(tag: 0x80, in: o.children)
            _ = o.child(path: [0x65, 0x80])
        }
    }
    if let simple = try? SimpleTLV.decode(b) {
        for o in simple { _ = try? o.encoded() }
    }
    let compact = CompactTLV.decodeLenient(b)
    for o in compact.objects { _ = try? o.encoded() }
    return 0
}
