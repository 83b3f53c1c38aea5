import ISO7816

/// The answer to DESFire GetVersion (native `60`, three frames; `../shared/specs/pcsc-ccid-vpcd-contactless.md`
/// §7.3): 7 bytes of hardware information, 7 bytes of software information, then 14 bytes of production data.
public struct DESFireVersion: Sendable, Hashable {
    /// One of the first two frames.
    public struct Part: Sendable, Hashable {
        /// Vendor ID (`04` = NXP).
        public var vendorID: UInt8
        /// Type (`01` = MIFARE DESFire), subtype, major and minor version (`01 00`/`01 04` = EV1).
        public var type: UInt8, subtype: UInt8, majorVersion: UInt8, minorVersion: UInt8
        /// The raw storage size byte: the upper 7 bits n give 2ⁿ bytes; the lowest bit set means "between 2ⁿ and
        /// 2ⁿ⁺¹ bytes".
        public var storageSizeByte: UInt8
        /// Communication protocol type (`05` = ISO/IEC 14443-2 and -3).
        public var protocolType: UInt8

        /// 2ⁿ bytes, the storage size (or its lower bound when `storageSizeIsExact` is false).
        public var storageSize: Int { 1 << Int(min(storageSizeByte >> 1, 30)) }
        /// False when the size lies between `storageSize` and twice that.
        public var storageSizeIsExact: Bool { storageSizeByte & 1 == 0 }
        /// "NXP" for vendor 04, otherwise the hex value.
        public var vendorName: String { vendorID == 0x04 ? "NXP" : "vendor \([vendorID].hexString())" }

        init(_ b: ArraySlice<UInt8>) {
            let s = b.startIndex
            vendorID = b[s]
            type = b[s + 1]
            subtype = b[s + 2]
            majorVersion = b[s + 3]
            minorVersion = b[s + 4]
            storageSizeByte = b[s + 5]
            protocolType = b[s + 6]
        }
    }

    public var hardware: Part
    public var software: Part
    /// The 7-byte UID (as stored by the manufacturer; a random-ID card still gives its real UID here).
    public var uid: [UInt8]
    /// 5-byte production batch number.
    public var batchNumber: [UInt8]
    /// Production calendar week 1…53 and year (2000 + yy), decoded from BCD; nil when not valid BCD.
    public var productionWeek: Int?
    public var productionYear: Int?

    /// True for an NXP MIFARE DESFire (hardware vendor `04`, type `01`): EV1 and later know AuthenticateAES.
    public var isDESFire: Bool { hardware.vendorID == 0x04 && hardware.type == 0x01 }

    /// Parses the 28 bytes of the three frames concatenated (frame MACs already removed).
    /// - Throws: `BadgeError.malformedResponse` when the length is not 28.
    public init(parsing bytes: [UInt8]) throws(BadgeError) {
        guard bytes.count == 28 else {
            throw .malformedResponse("GetVersion gave \(bytes.count) bytes, 28 expected (7 + 7 + 14)")
        }
        hardware = Part(bytes[0..<7])
        software = Part(bytes[7..<14])
        uid = Array(bytes[14..<21])
        batchNumber = Array(bytes[21..<26])
        productionWeek = Self.bcd(bytes[26])
        productionYear = Self.bcd(bytes[27]).map { 2000 + $0 }
    }

    static func bcd(_ b: UInt8) -> Int? {
        let hi = Int(b >> 4)
        let lo = Int(b & 0x0F)
        guard hi <= 9, lo <= 9 else { return nil }
        return hi * 10 + lo
    }
}
