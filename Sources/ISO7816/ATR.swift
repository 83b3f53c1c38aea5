/// An Answer-To-Reset decoded as ISO/IEC 7816-3 §8 describes it.
///
/// Layout: `TS T0 {TAi TBi TCi TDi}… historical bytes (K) [TCK]`, at most 33 bytes. Decoding never fails and never
/// reads past the input: every problem (truncation, over-length, RFU value, bad TCK, trailing bytes) is a sentence
/// in `errors`, and everything that could be read is still decoded.
///
/// The bytes are taken as a PC/SC reader delivers them: already converted to direct values. For an
/// inverse-convention card TS is reported as `3F` (its decoded value) and the following bytes are read as they are
/// (see vitale.md §2.1: Vitale 1 `3F 65 25 00 2C 09 69 90 00`).
public struct ATR: Sendable, Hashable {
    /// The convention announced by TS (§8.1): `3B` direct, `3F` inverse.
    public enum Convention: String, Sendable, Hashable {
        case direct, inverse
    }

    /// The interface bytes of one group i (i = 1, 2, …): TAi, TBi, TCi, TDi, each present or not.
    public struct InterfaceBytes: Sendable, Hashable {
        /// i, starting at 1.
        public var index: Int
        public var ta: UInt8?
        public var tb: UInt8?
        public var tc: UInt8?
        public var td: UInt8?
        /// The protocol T announced by TDi (its low nibble), which qualifies the group i+1.
        public var nextProtocol: Int? { td.map { Int($0 & 0x0F) } }
    }

    /// TA2, the specific mode byte (§8.3): the card works in the given protocol without PPS.
    public struct SpecificMode: Sendable, Hashable {
        /// T, the protocol of the specific mode (b4-b1).
        public var `protocol`: Int
        /// b8 = 0: the card can change to negotiable mode (after a warm reset).
        public var canChangeMode: Bool
        /// b5 = 1: the transmission parameters are implicitly defined, not those of TA1.
        public var implicitParameters: Bool
    }

    /// The class indicator: the first TA after a TD announcing T=15 (§8.3, table 10 and §6.2.4).
    public struct ClassIndicator: Sendable, Hashable {
        public enum ClockStop: String, Sendable, Hashable {
            case notSupported, stateL, stateH, noPreference
        }
        public var raw: UInt8
        /// The operating classes accepted, among "A" (5 V), "B" (3 V), "C" (1.8 V), from b1, b2, b3.
        public var classes: [String] {
            var out: [String] = []
            if raw & 0x01 != 0 { out.append("A") }
            if raw & 0x02 != 0 { out.append("B") }
            if raw & 0x04 != 0 { out.append("C") }
            return out
        }
        /// b8-b7: clock stop indicator.
        public var clockStop: ClockStop {
            switch raw >> 6 {
            case 0: return .notSupported
            case 1: return .stateL
            case 2: return .stateH
            default: return .noPreference
            }
        }
    }

    /// The bytes as given.
    public let bytes: [UInt8]
    /// TS, or `nil` for an empty input.
    public private(set) var ts: UInt8?
    /// `nil` when TS is neither `3B` nor `3F`.
    public private(set) var convention: Convention?
    /// T0 (Y1 ‖ K), or `nil` when missing.
    public private(set) var t0: UInt8?
    /// The groups of interface bytes present, group 1 first (empty when T0 announces none).
    public private(set) var interfaceBytes: [InterfaceBytes] = []
    /// The historical bytes actually present (fewer than K when truncated).
    public private(set) var historicalBytes: [UInt8] = []
    /// The decoded historical bytes.
    public var historical: HistoricalBytes { HistoricalBytes(historicalBytes) }
    /// True when a protocol other than T=0 is announced, which makes TCK mandatory (§8.2.5).
    public private(set) var tckRequired = false
    /// The check byte, when expected and present.
    public private(set) var tck: UInt8?
    /// True when T0 … TCK XOR to zero; `nil` when no TCK is expected or it is missing.
    public private(set) var tckValid: Bool?
    /// Bytes after the end of the ATR as T0 and the TDi describe it.
    public private(set) var extraBytes: [UInt8] = []
    /// Problems found, in the user's words (historical-bytes problems included); empty for a well-formed ATR.
    public private(set) var errors: [String] = []
    /// True when T0 or a TDi announces an interface byte that is missing (the ATR ends inside the interface bytes;
    /// `interfaceBytes` then holds what was read).
    public private(set) var interfaceBytesTruncated = false

    /// Decodes `bytes` (any length; problems are reported in `errors`).
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        decode()
    }

    /// Decodes hexadecimal text (spaces, `:` and `-` allowed). `nil` when the text is not hexadecimal.
    public init?(hex: String) {
        guard let b = [UInt8](hex: hex) else { return nil }
        self.init(b)
    }

    /// The longest ATR allowed: TS + 32 bytes (§8.2.1).
    public static let maximumLength = 33

    private mutating func decode() {
        let b = bytes
        let n = b.count
        if n > ATR.maximumLength {
            errors.append("the ATR is \(n) bytes long; ISO/IEC 7816-3 allows at most 33")
        }
        guard n >= 1 else {
            errors.append("the ATR is empty")
            return
        }
        ts = b[0]
        switch b[0] {
        case 0x3B: convention = .direct
        case 0x3F: convention = .inverse
        case 0x03:
            errors.append("TS = 03 is an inverse-convention TS read without conversion; expected 3B or 3F")
        default:
            errors.append("TS = \([b[0]].hexString()) is neither 3B (direct convention) nor 3F (inverse convention)")
        }
        guard n >= 2 else {
            errors.append("the ATR is truncated: T0 is missing")
            return
        }
        let t0 = b[1]
        self.t0 = t0
        var i = 2
        var y = t0 >> 4
        var index = 1
        var truncated = false
        groups: while true {
            var g = InterfaceBytes(index: index)
            let names = ["A", "B", "C", "D"]
            for k in 0..<4 where y & (1 << UInt8(k)) != 0 {
                guard i < n else {
                    errors.append("the ATR is truncated: T\(names[k])\(index) is announced but missing")
                    truncated = true
                    interfaceBytesTruncated = true
                    if g.ta != nil || g.tb != nil || g.tc != nil { interfaceBytes.append(g) }
                    break groups
                }
                switch k {
                case 0: g.ta = b[i]
                case 1: g.tb = b[i]
                case 2: g.tc = b[i]
                default: g.td = b[i]
                }
                i += 1
            }
            if y != 0 { interfaceBytes.append(g) }
            guard let td = g.td else { break }
            if td & 0x0F == 0x0F && index == 1 {
                errors.append("TD1 announces T=15, which ISO/IEC 7816-3 §8.2.3 does not allow in TD1")
            }
            if td & 0x0F != 0 { tckRequired = true }
            y = td >> 4
            index += 1
        }
        // Protocol order check (§8.2.3: ascending order).
        let announced = interfaceBytes.compactMap(\.nextProtocol).filter { $0 != 15 }
        if announced != announced.sorted() {
            errors.append("the TDi announce protocols out of ascending order (\(announced.map { "T=\($0)" }.joined(separator: ", ")))")
        }
        let k = Int(t0 & 0x0F)
        if !truncated {
            let available = n - i
            if available < k {
                errors.append("the ATR is truncated: T0 announces \(k) historical bytes, only \(available) present")
                truncated = true
            }
            let take = min(k, available)
            historicalBytes = Array(b[i..<(i + take)])
            i += take
        }
        if tckRequired {
            if i < n {
                tck = b[i]
                var x: UInt8 = 0
                for j in 1...i { x ^= b[j] }
                tckValid = x == 0
                if x != 0 {
                    var expected: UInt8 = 0
                    for j in 1..<i { expected ^= b[j] }
                    errors.append("TCK = \([b[i]].hexString()) is wrong; T0 … last historical byte XOR to \([expected].hexString())")
                }
                i += 1
            } else if !truncated {
                errors.append("the ATR is truncated: TCK is required (a protocol other than T=0 is offered) but missing")
            }
        }
        if i < n {
            extraBytes = Array(b[i...])
            errors.append("\(extraBytes.count) byte\(extraBytes.count == 1 ? "" : "s") after the end of the ATR: \(extraBytes.hexString(separator: " "))")
        }
        errors += HistoricalBytes(historicalBytes).errors
        // Parameter sanity.
        if let ta1 = ta1 {
            if ATRTables.clockRate(fi: ta1 >> 4) == nil { errors.append("TA1 = \([ta1].hexString()): FI = \(ta1 >> 4) is RFU") }
            if ATRTables.baudRateAdjustment(di: ta1 & 0x0F) == nil {
                errors.append("TA1 = \([ta1].hexString()): DI = \(ta1 & 0x0F) is RFU")
            }
        }
        if protocols.contains(1) {
            if let ta = firstTA(afterProtocol: 1), ta == 0x00 || ta == 0xFF {
                errors.append("IFSC = \([ta].hexString()) is invalid (T=1 allows 01 to FE)")
            }
            if let tb = firstTB(afterProtocol: 1), tb >> 4 > 9 {
                errors.append("BWI = \(tb >> 4) is RFU (T=1 allows 0 to 9)")
            }
        }
    }

    // MARK: Derived parameters

    private func group(_ i: Int) -> InterfaceBytes? { interfaceBytes.first { $0.index == i } }

    /// TA1 (FI ‖ DI), if present.
    public var ta1: UInt8? { group(1)?.ta }
    /// TB1 (deprecated Vpp / programming current), if present.
    public var tb1: UInt8? { group(1)?.tb }
    /// TC1 (extra guard time N), if present.
    public var tc1: UInt8? { group(1)?.tc }

    /// The protocols offered: the T values of the TDi (T=15 excluded), ascending and unique; `[0]` when TD1 is
    /// absent (§8.2.3).
    public var protocols: [Int] {
        guard group(1)?.td != nil else { return [0] }
        let ts = Set(interfaceBytes.compactMap(\.nextProtocol).filter { $0 != 15 })
        return ts.isEmpty ? [0] : ts.sorted()
    }

    /// The protocols offered in the order the TDi announce them (T=15 excluded, each once); `[0]` when none is
    /// announced (§8.2.3). A card lists its default protocol first.
    public var protocolsInATROrder: [Int] {
        var out: [Int] = []
        for t in interfaceBytes.compactMap(\.nextProtocol) where t != 15 && !out.contains(t) { out.append(t) }
        return out.isEmpty ? [0] : out
    }

    /// TC2 as sent (the T=0 work waiting integer WI, §10.2), if present; `workWaitingInteger` gives the value in
    /// force.
    public var tc2: UInt8? { group(2)?.tc }

    /// Fi (clock rate conversion integer), 372 when TA1 is absent, `nil` when FI is RFU.
    public var fi: Int? {
        guard let ta1 else { return ATRTables.defaultClockRate.fi }
        return ATRTables.clockRate(fi: ta1 >> 4)?.fi
    }
    /// fmax in MHz, 5 when TA1 is absent, `nil` when FI is RFU.
    public var fmaxMHz: Double? {
        guard let ta1 else { return ATRTables.defaultClockRate.fmaxMHz }
        return ATRTables.clockRate(fi: ta1 >> 4)?.fmaxMHz
    }
    /// Di (baud rate adjustment integer), 1 when TA1 is absent, `nil` when DI is RFU.
    public var di: Int? {
        guard let ta1 else { return ATRTables.defaultDi }
        return ATRTables.baudRateAdjustment(di: ta1 & 0x0F)
    }

    /// N, the extra guard time in ETU from TC1 (0 when absent; 255 means the minimum guard time, §8.3).
    public var extraGuardTime: Int { Int(tc1 ?? 0) }

    /// WI, the T=0 work waiting integer from TC2 (10 when absent), §10.2.
    public var workWaitingInteger: Int {
        if let g1 = group(1), g1.nextProtocol == 0, let tc2 = group(2)?.tc, tc2 != 0 { return Int(tc2) }
        return 10
    }

    /// TA2, the specific mode byte, when present.
    public var specificMode: SpecificMode? {
        guard let ta2 = group(2)?.ta else { return nil }
        return SpecificMode(protocol: Int(ta2 & 0x0F), canChangeMode: ta2 & 0x80 == 0, implicitParameters: ta2 & 0x10 != 0)
    }

    /// The first TAi (i ≥ 3) in a group announced for protocol `t`.
    public func firstTA(afterProtocol t: Int) -> UInt8? {
        for g in interfaceBytes where g.index >= 3 {
            if group(g.index - 1)?.nextProtocol == t, let ta = g.ta { return ta }
        }
        return nil
    }
    /// The first TBi (i ≥ 3) in a group announced for protocol `t`.
    public func firstTB(afterProtocol t: Int) -> UInt8? {
        for g in interfaceBytes where g.index >= 3 {
            if group(g.index - 1)?.nextProtocol == t, let tb = g.tb { return tb }
        }
        return nil
    }
    /// The first TCi (i ≥ 3) in a group announced for protocol `t`.
    public func firstTC(afterProtocol t: Int) -> UInt8? {
        for g in interfaceBytes where g.index >= 3 {
            if group(g.index - 1)?.nextProtocol == t, let tc = g.tc { return tc }
        }
        return nil
    }

    /// T=1 IFSC in bytes (first TA after T=1; 32 when absent); `nil` when T=1 is not offered (§11.4.2).
    public var ifsc: Int? { protocols.contains(1) ? Int(firstTA(afterProtocol: 1) ?? 32) : nil }
    /// T=1 character waiting integer CWI (low nibble of the first TB after T=1; 13 when absent), §11.4.3.
    public var cwi: Int? { protocols.contains(1) ? Int((firstTB(afterProtocol: 1) ?? 0x4D) & 0x0F) : nil }
    /// T=1 block waiting integer BWI (high nibble of the first TB after T=1; 4 when absent), §11.4.3.
    public var bwi: Int? { protocols.contains(1) ? Int((firstTB(afterProtocol: 1) ?? 0x4D) >> 4) : nil }
    /// T=1 error detection code from the first TC after T=1: true for CRC, false for LRC (default).
    public var usesCRC: Bool? { protocols.contains(1) ? (firstTC(afterProtocol: 1) ?? 0) & 0x01 != 0 : nil }

    /// The class indicator (first TA after T=15), when present.
    public var classIndicator: ClassIndicator? { firstTA(afterProtocol: 15).map { ClassIndicator(raw: $0) } }

    /// The card capabilities in the historical bytes say command chaining is supported.
    public var supportsCommandChaining: Bool { historical.cardCapabilities?.commandChaining ?? false }
    /// The card capabilities in the historical bytes say extended Lc/Le are supported.
    public var supportsExtendedLength: Bool { historical.cardCapabilities?.extendedLength ?? false }

    /// True when nothing was found wrong.
    public var isWellFormed: Bool { errors.isEmpty }
}
