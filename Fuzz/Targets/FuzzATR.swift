// libFuzzer target: ATR decoding (ISO/IEC 7816-3 §8), historical bytes (7816-4 §8.1.1), card recognition.
import ISO7816

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzATR(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    let atr = ATR(b)
    invariant(atr.bytes == b, "ATR.bytes differs from the input")
    _ = atr.protocols
    _ = atr.fi
    _ = atr.di
    _ = atr.fmaxMHz
    _ = atr.ifsc
    _ = atr.cwi
    _ = atr.bwi
    _ = atr.classIndicator
    _ = atr.specificMode
    _ = atr.supportsExtendedLength
    _ = atr.historical.cardCapabilities
    _ = HistoricalBytes(b)
    _ = KnownCard.kind(of: b)
    _ = ATR(hex: b.hexString(separator: " "))
    return 0
}
