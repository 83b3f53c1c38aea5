/// What kind of contactless card a PC/SC part 3 ATR announces (`../shared/specs/pcsc-ccid-vpcd-contactless.md`
/// §7.2).
public enum ContactlessCardKind: Sendable, Hashable {
    /// A storage card (MIFARE Classic / Ultralight, FeliCa…): historical bytes `80 4F 0C A0 00 00 03 06 SS NN NN`.
    /// `standard` is SS, `cardName` is NN NN (e.g. `00 01` MIFARE Classic 1K).
    case storageCard(standard: UInt8, cardName: UInt16)
    /// An ISO/IEC 14443-4 card (DESFire, CPS contactless, IAS…): `3B 8n 80 01 …`; its historical bytes are the
    /// ATS historical bytes.
    case iso14443_4(historicalBytes: [UInt8])
    /// Not a PC/SC part 3 contactless ATR.
    case unknown

    /// Classifies an ATR by its structure `3B 8n 80 01 historical… TCK` (never crashes, any input).
    public init(atr: [UInt8]) {
        guard atr.count >= 5, atr[0] == 0x3B, atr[1] & 0xF0 == 0x80, atr[2] == 0x80, atr[3] == 0x01 else {
            self = .unknown
            return
        }
        let n = Int(atr[1] & 0x0F)
        guard atr.count == 4 + n + 1 else {
            self = .unknown
            return
        }
        let hist = Array(atr[4..<(4 + n)])
        if hist.count >= 11, hist[0] == 0x80, hist[1] == 0x4F, hist[2] == 0x0C,
            Array(hist[3..<8]) == [0xA0, 0x00, 0x00, 0x03, 0x06]
        {
            self = .storageCard(standard: hist[8], cardName: UInt16(hist[9]) << 8 | UInt16(hist[10]))
        } else {
            self = .iso14443_4(historicalBytes: hist)
        }
    }
}
