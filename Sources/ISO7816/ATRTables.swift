/// The transmission-parameter tables of ISO/IEC 7816-3 §8.3 (TA1 = FI ‖ DI).
public enum ATRTables {
    /// One row of ISO/IEC 7816-3 table 7: the clock rate conversion integer Fi and the maximum clock frequency
    /// fmax (MHz) coded by FI (the high nibble of TA1).
    public struct ClockRate: Sendable, Hashable {
        /// Fi, clock cycles per ETU before division by Di.
        public var fi: Int
        /// fmax in MHz.
        public var fmaxMHz: Double
    }

    /// The default values when TA1 is absent: FI = 1 (Fi = 372, fmax = 5 MHz), DI = 1 (Di = 1), §8.3.
    public static let defaultClockRate = ClockRate(fi: 372, fmaxMHz: 5)
    public static let defaultDi = 1

    /// Table 7: FI (0…15) → Fi and fmax; `nil` for the RFU values 7, 8, 14, 15.
    public static func clockRate(fi code: UInt8) -> ClockRate? {
        switch code & 0x0F {
        case 0x0: return ClockRate(fi: 372, fmaxMHz: 4)
        case 0x1: return ClockRate(fi: 372, fmaxMHz: 5)
        case 0x2: return ClockRate(fi: 558, fmaxMHz: 6)
        case 0x3: return ClockRate(fi: 744, fmaxMHz: 8)
        case 0x4: return ClockRate(fi: 1116, fmaxMHz: 12)
        case 0x5: return ClockRate(fi: 1488, fmaxMHz: 16)
        case 0x6: return ClockRate(fi: 1860, fmaxMHz: 20)
        case 0x9: return ClockRate(fi: 512, fmaxMHz: 5)
        case 0xA: return ClockRate(fi: 768, fmaxMHz: 7.5)
        case 0xB: return ClockRate(fi: 1024, fmaxMHz: 10)
        case 0xC: return ClockRate(fi: 1536, fmaxMHz: 15)
        case 0xD: return ClockRate(fi: 2048, fmaxMHz: 20)
        default: return nil
        }
    }

    /// Table 8: DI (0…15) → the baud rate adjustment integer Di; `nil` for the RFU values 0 and 10…15.
    public static func baudRateAdjustment(di code: UInt8) -> Int? {
        switch code & 0x0F {
        case 0x1: return 1
        case 0x2: return 2
        case 0x3: return 4
        case 0x4: return 8
        case 0x5: return 16
        case 0x6: return 32
        case 0x7: return 64
        case 0x8: return 12
        case 0x9: return 20
        default: return nil
        }
    }
}
