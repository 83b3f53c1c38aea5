/// What the simulator needs from an ATR (ISO/IEC 7816-3 §8.2): protocols, TA1 (Fi/Di), TC1 (N), IFSC and the
/// historical bytes. Values are read as the reader reports them (an inverse-convention `3F` ATR is already
/// decoded). Returns `nil` for a malformed ATR; never reads past the input.
public struct ATRInfo: Sendable, Hashable {
    /// TS: `3B` direct, `3F` inverse convention.
    public var ts: UInt8
    /// Protocols offered by TD1, TD2… (T=0 when no TDi is present).
    public var protocols: [Int]
    /// Fi and Di from TA1 (defaults 372 and 1, ISO/IEC 7816-3 §8.3, tables 7 and 8).
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
    /// Waiting integer WI for T=0 (TC2, §10.2), 10 by default.
    public var waitingIntegerWI: Int
    /// Block waiting time integer BWI for T=1 (high nibble of the first TBi after T=1, i ≥ 3, §11.4.3), 4 by default.
    public var blockWaitingIntegerBWI: Int
    public var historicalBytes: [UInt8]

    static let fiTable: [Int?] = [372, 372, 558, 744, 1116, 1488, 1860, nil, nil, 512, 768, 1024, 1536, 2048, nil, nil]
    static let fMaxTable: [Int?] = [4000, 5000, 6000, 8000, 12000, 16000, 20000, nil, nil, 5000, 7500, 10000, 15000, 20000, nil, nil]
    static let diTable: [Int?] = [nil, 1, 2, 4, 8, 16, 32, 64, 12, 20, nil, nil, nil, nil, nil, nil]

    public init?(_ atr: [UInt8]) {
        guard atr.count >= 2, atr[0] == 0x3B || atr[0] == 0x3F else { return nil }
        ts = atr[0]
        var i = 1
        var y = atr[1] >> 4
        let k = Int(atr[1] & 0x0F)
        i = 2
        var level = 1
        var protocols: [Int] = []
        var lastProtocol = 0
        fi = 372; di = 1; fMaxKHz = 5000; hasTA1 = false; extraGuardTime = 0; ifsc = 32
        waitingIntegerWI = 10; blockWaitingIntegerBWI = 4
        var sawBWI = false
        while true {
            var ta: UInt8?, tb: UInt8?, tc: UInt8?, td: UInt8?
            if y & 1 != 0 { guard i < atr.count else { return nil }; ta = atr[i]; i += 1 }
            if y & 2 != 0 { guard i < atr.count else { return nil }; tb = atr[i]; i += 1 }
            if y & 4 != 0 { guard i < atr.count else { return nil }; tc = atr[i]; i += 1 }
            if y & 8 != 0 { guard i < atr.count else { return nil }; td = atr[i]; i += 1 }
            if level == 1 {
                if let ta {
                    hasTA1 = true
                    if let f = Self.fiTable[Int(ta >> 4)], let d = Self.diTable[Int(ta & 0x0F)] {
                        fi = f; di = d
                        fMaxKHz = Self.fMaxTable[Int(ta >> 4)] ?? 5000
                    }
                }
                if let tc { extraGuardTime = Int(tc) }
            } else if level == 2 {
                if let tc, tc != 0 { waitingIntegerWI = Int(tc) }
            }
            if level >= 3, lastProtocol == 1, let ta, ifsc == 32 {
                ifsc = Int(ta)
            }
            if level >= 3, lastProtocol == 1, let tb, !sawBWI {
                blockWaitingIntegerBWI = Int(tb >> 4)
                sawBWI = true
            }
            guard let td else { break }
            lastProtocol = Int(td & 0x0F)
            if !protocols.contains(lastProtocol) { protocols.append(lastProtocol) }
            y = td >> 4
            level += 1
        }
        guard i + k <= atr.count else { return nil }
        historicalBytes = Array(atr[i..<(i + k)])
        let offered = protocols.filter { $0 != 15 }
        self.protocols = offered.isEmpty ? [0] : offered
    }

    /// Builds the ATR a PC/SC part 3 contactless reader reports (pcsc-ccid-vpcd-contactless.md §7.2):
    /// `3B | 8n | 80 | 01 | historical bytes (n ≤ 15) | TCK`, TCK = XOR of T0 … last historical byte.
    public static func contactlessATR(historicalBytes: [UInt8]) -> [UInt8] {
        let h = Array(historicalBytes.prefix(15))
        let body: [UInt8] = [0x80 | UInt8(h.count), 0x80, 0x01] + h
        return [0x3B] + body + [body.reduce(0, ^)]
    }
}
