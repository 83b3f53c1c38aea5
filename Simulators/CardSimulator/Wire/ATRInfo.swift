import ISO7816

/// What the simulator needs from an ATR (ISO/IEC 7816-3 §8.2): protocols, TA1 (Fi/Di), TC1 (N), IFSC and the
/// historical bytes, read from the decoding of `ISO7816.ATR`. Values are read as the reader reports them (an
/// inverse-convention `3F` ATR is already decoded). Returns `nil` for a malformed ATR; never reads past the input.
public struct ATRInfo: Sendable, Hashable {
    /// TS: `3B` direct, `3F` inverse convention.
    public var ts: UInt8
    /// Protocols offered by TD1, TD2… in ATR order (T=0 when no TDi is present).
    public var protocols: [Int]
    /// Fi and Di from TA1 (defaults 372 and 1, ISO/IEC 7816-3 §8.3, tables 7 and 8; also kept when FI or DI is RFU).
    public var fi: Int
    public var di: Int
    /// f(max) in kHz from TA1 (table 7), 5000 by default.
    public var fMaxKHz: Int
    /// TA1 was present (a PPS may raise the speed).
    public var hasTA1: Bool
    /// Extra guard time N (TC1, §8.3), 0 by default.
    public var extraGuardTime: Int
    /// IFSC for T=1 (first TAi after a TD announcing T=1, i ≥ 3), 32 by default (§11.4.2).
    public var ifsc: Int
    /// Waiting integer WI for T=0 (TC2, §10.2), 10 by default (and when TC2 = 0).
    public var waitingIntegerWI: Int
    /// Block waiting time integer BWI for T=1 (high nibble of the first TBi after T=1, i ≥ 3, §11.4.3), 4 by default.
    public var blockWaitingIntegerBWI: Int
    public var historicalBytes: [UInt8]

    /// `nil` when TS is not `3B`/`3F`, T0 is missing, or the interface or historical bytes announced are not all
    /// present (a missing TCK or trailing bytes are tolerated).
    public init?(_ bytes: [UInt8]) {
        let atr = ATR(bytes)
        guard let ts = atr.ts, atr.convention != nil, let t0 = atr.t0, !atr.interfaceBytesTruncated,
            atr.historicalBytes.count == Int(t0 & 0x0F)
        else { return nil }
        self.ts = ts
        protocols = atr.protocolsInATROrder
        hasTA1 = atr.ta1 != nil
        if let ta1 = atr.ta1, let clock = ATRTables.clockRate(fi: ta1 >> 4),
            let d = ATRTables.baudRateAdjustment(di: ta1 & 0x0F)
        {
            fi = clock.fi
            di = d
            fMaxKHz = Int((clock.fmaxMHz * 1000).rounded())
        } else {
            fi = ATRTables.defaultClockRate.fi
            di = ATRTables.defaultDi
            fMaxKHz = Int(ATRTables.defaultClockRate.fmaxMHz * 1000)
        }
        extraGuardTime = atr.extraGuardTime
        ifsc = Int(atr.firstTA(afterProtocol: 1) ?? 32)
        waitingIntegerWI = atr.tc2.flatMap { $0 == 0 ? nil : Int($0) } ?? 10
        blockWaitingIntegerBWI = Int((atr.firstTB(afterProtocol: 1) ?? 0x40) >> 4)
        historicalBytes = atr.historicalBytes
    }

    /// Builds the ATR a PC/SC part 3 contactless reader reports (pcsc-ccid-vpcd-contactless.md §7.2):
    /// `3B | 8n | 80 | 01 | historical bytes (n ≤ 15) | TCK`, TCK = XOR of T0 … last historical byte.
    public static func contactlessATR(historicalBytes: [UInt8]) -> [UInt8] {
        let h = Array(historicalBytes.prefix(15))
        let body: [UInt8] = [0x80 | UInt8(h.count), 0x80, 0x01] + h
        return [0x3B] + body + [body.reduce(0, ^)]
    }
}
