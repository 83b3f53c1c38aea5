/// The historical bytes of an ATR (ISO/IEC 7816-4 §8.1.1): a category indicator, then COMPACT-TLV objects and
/// maybe a status indicator.
///
/// Category `00`: COMPACT-TLV objects, then a mandatory 3-byte status indicator (LCS, SW1, SW2) as the last bytes.
/// Category `10`: one byte, a DIR data reference. Category `80`: COMPACT-TLV objects, the status indicator (tag 8)
/// optional among them. `81`…`8F` are RFU; any other value is proprietary (e.g. Vitale's `2C`, `43`…`49`).
public struct HistoricalBytes: Sendable, Hashable {
    /// The category indicator byte (the first historical byte).
    public enum Category: Sendable, Hashable {
        case none
        /// `00`: COMPACT-TLV followed by a status indicator in the last 3 bytes.
        case compactTLVWithStatus
        /// `10`: DIR data reference (the next byte).
        case dirDataReference(UInt8?)
        /// `80`: COMPACT-TLV objects, status indicator optional.
        case compactTLV
        /// `81`…`8F`.
        case rfu(UInt8)
        /// Any other first byte: the rest is card-specific.
        case proprietary(UInt8)
    }

    /// Card service data, COMPACT-TLV tag 3 (ISO/IEC 7816-4 §8.1.1.2.3, table 85).
    public struct CardServiceData: Sendable, Hashable {
        public var raw: UInt8
        /// b8: application selection by full DF name.
        public var selectionByFullDFName: Bool { raw & 0x80 != 0 }
        /// b7: application selection by partial DF name.
        public var selectionByPartialDFName: Bool { raw & 0x40 != 0 }
        /// b6: BER-TLV data objects available in EF.DIR.
        public var dataObjectsInEFDIR: Bool { raw & 0x20 != 0 }
        /// b5: BER-TLV data objects available in EF.ATR/INFO.
        public var dataObjectsInEFATR: Bool { raw & 0x10 != 0 }
        /// b4-b2: how EF.DIR and EF.ATR/INFO are read: `100` READ BINARY, `000` READ RECORD(S), `010` GET DATA.
        public var efAccessService: UInt8 { (raw >> 1) & 0x07 }
        /// b1 = 0: the card has an MF.
        public var hasMF: Bool { raw & 0x01 == 0 }
    }

    /// Card capabilities, COMPACT-TLV tag 7, 1…3 bytes (ISO/IEC 7816-4 §8.1.1.2.7, tables 86–88).
    public struct CardCapabilities: Sendable, Hashable {
        /// The 1…3 raw bytes: selection methods, data coding byte, then command chaining / length / channels.
        public var raw: [UInt8]
        /// First software function table: selection methods (DF by full name b8, partial name b7, path b6,
        /// file identifier b5, implicit DF b4, short EF identifier b3, record number b2, record identifier b1).
        public var selectionMethods: UInt8? { raw.count > 0 ? raw[0] : nil }
        /// Second table: the data coding byte (b8 EFs of BER-TLV structure, b7-b6 write behaviour, b5 FF valid
        /// as first tag byte, b4-b1 data unit size as a power of two in quartets).
        public var dataCoding: UInt8? { raw.count > 1 ? raw[1] : nil }
        /// Data unit size in bytes (2^(b4-b1) quartets / 2), when the data coding byte is present.
        public var dataUnitSizeBytes: Double? {
            guard let d = dataCoding else { return nil }
            return Double(1 << Int(d & 0x0F)) / 2
        }
        /// Third table, b8: command chaining (CLA bit 0x10) supported.
        public var commandChaining: Bool { raw.count > 2 && raw[2] & 0x80 != 0 }
        /// Third table, b7: extended Lc and Le fields supported.
        public var extendedLength: Bool { raw.count > 2 && raw[2] & 0x40 != 0 }
        /// Third table, b6: extended length information in EF.ATR/INFO (ISO/IEC 7816-4:2013).
        public var extendedLengthInfoInEFATR: Bool { raw.count > 2 && raw[2] & 0x20 != 0 }
        /// Third table, b3-b1: maximum number of logical channels (b3-b1 + 1; `111` means 8 or more).
        public var maxLogicalChannels: Int? { raw.count > 2 ? Int(raw[2] & 0x07) + 1 : nil }
    }

    /// Status indicator: life cycle status (LCS) and/or SW1-SW2 (ISO/IEC 7816-4 §8.1.1.3).
    public struct StatusIndicator: Sendable, Hashable {
        public var lifeCycleStatus: UInt8?
        public var statusWord: StatusWord?
    }

    /// A PC/SC part 3 storage-card descriptor (`4F 0C A0 00 00 03 06 SS NN NN 00 00 00 00`, see
    /// pcsc-ccid-vpcd-contactless.md §7.2), found in readers' synthesised ATRs for MIFARE, FeliCa and the like.
    public struct PCSCStorageCard: Sendable, Hashable {
        /// SS: the standard, e.g. `03` ISO/IEC 14443-A part 3, `11` FeliCa.
        public var standard: UInt8
        /// NN NN: the card name, e.g. `0001` MIFARE Classic 1K, `0002` 4K, `0003` Ultralight, `0026` Mini.
        public var cardName: UInt16
    }

    public var bytes: [UInt8]
    public var category: Category
    /// The COMPACT-TLV objects, in order (category 00 and 80).
    public var objects: [CompactTLV]
    public var countryCode: [UInt8]?
    public var issuerIdentifier: [UInt8]?
    public var cardServiceData: CardServiceData?
    public var initialAccessData: [UInt8]?
    public var cardIssuerData: [UInt8]?
    public var preIssuingData: [UInt8]?
    public var cardCapabilities: CardCapabilities?
    public var status: StatusIndicator?
    /// Application identifier (COMPACT-TLV tag F).
    public var applicationIdentifier: [UInt8]?
    public var pcscStorageCard: PCSCStorageCard?
    /// Problems found while decoding; the fields above hold what could be read.
    public var errors: [String]

    /// Decodes the historical bytes. Never fails: problems go to `errors`.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        objects = []
        errors = []
        guard let first = bytes.first else {
            category = .none
            return
        }
        switch first {
        case 0x00:
            category = .compactTLVWithStatus
            if bytes.count < 4 {
                errors.append("historical bytes of category 00 need a 3-byte status indicator at the end")
            } else {
                decodeObjects(Array(bytes[1..<(bytes.count - 3)]))
                let n = bytes.count
                status = StatusIndicator(
                    lifeCycleStatus: bytes[n - 3], statusWord: StatusWord(sw1: bytes[n - 2], sw2: bytes[n - 1]))
            }
        case 0x10:
            category = .dirDataReference(bytes.count > 1 ? bytes[1] : nil)
            if bytes.count != 2 { errors.append("historical bytes of category 10 must hold exactly one DIR data reference byte") }
        case 0x80:
            category = .compactTLV
            decodeObjects(Array(bytes.dropFirst()))
        case 0x81...0x8F:
            category = .rfu(first)
        default:
            category = .proprietary(first)
        }
    }

    private mutating func decodeObjects(_ b: [UInt8]) {
        var rest = b
        // PC/SC part 3 storage cards: `4F len A0 00 00 03 06 …` uses a BER-style AID tag with a length byte.
        if rest.count >= 2, rest[0] == 0x4F, Int(rest[1]) <= rest.count - 2 {
            let len = Int(rest[1])
            let aid = Array(rest[2..<(2 + len)])
            if aid.count >= 8, Array(aid[0..<5]) == [0xA0, 0x00, 0x00, 0x03, 0x06] {
                applicationIdentifier = aid
                pcscStorageCard = PCSCStorageCard(standard: aid[5], cardName: UInt16(aid[6]) << 8 | UInt16(aid[7]))
                rest = Array(rest[(2 + len)...])
            }
        }
        let r = CompactTLV.decodeLenient(rest)
        if let e = r.error { errors.append("historical bytes: \(e)") }
        objects = r.objects
        for o in r.objects {
            switch o.tag {
            case 0x1: countryCode = o.value
            case 0x2: issuerIdentifier = o.value
            case 0x3:
                if o.value.count == 1 { cardServiceData = CardServiceData(raw: o.value[0]) }
                else { errors.append("card service data (tag 3) must be 1 byte, found \(o.value.count)") }
            case 0x4: initialAccessData = o.value
            case 0x5: cardIssuerData = o.value
            case 0x6: preIssuingData = o.value
            case 0x7:
                if (1...3).contains(o.value.count) { cardCapabilities = CardCapabilities(raw: o.value) }
                else { errors.append("card capabilities (tag 7) must be 1 to 3 bytes, found \(o.value.count)") }
            case 0x8:
                switch o.value.count {
                case 1: status = StatusIndicator(lifeCycleStatus: o.value[0], statusWord: nil)
                case 2: status = StatusIndicator(lifeCycleStatus: nil, statusWord: StatusWord(sw1: o.value[0], sw2: o.value[1]))
                case 3:
                    status = StatusIndicator(
                        lifeCycleStatus: o.value[0], statusWord: StatusWord(sw1: o.value[1], sw2: o.value[2]))
                default: errors.append("status indicator (tag 8) must be 1 to 3 bytes, found \(o.value.count)")
                }
            case 0xF: applicationIdentifier = o.value
            default: break
            }
        }
    }
}
