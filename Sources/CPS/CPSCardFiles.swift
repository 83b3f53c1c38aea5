import ISO7816

/// EF.ATR (`3F00/2F01`, SFI `1D`) of an IAS-ECC CPS3 (cps.md §4.1): the card's capabilities and I/O buffer sizes.
///
/// The real card stores a stray leading category byte `80` (sometimes `80 00`) and may pad the file with zeros;
/// both are accepted, as OpenSC's `ef-atr.c` does for CPx cards ("buggy storage").
public struct CPSEFATR: Sendable, Hashable {
    /// Card service data (tag `43`), if present.
    public var cardServiceData: UInt8?
    /// Pre-issuing data (tag `46`), e.g. `04 B0 EC C1`.
    public var preIssuingData: [UInt8]
    /// Card capabilities (tag `47`), e.g. `94 01 80`.
    public var cardCapabilities: [UInt8]
    /// AID of the IAS-ECC root application (tag `4F`), e.g. `80 25 00 00 01 FF 01 00`.
    public var aid: [UInt8]?
    /// IAS-ECC I/O buffer sizes (tag `E0`, four 2-byte integers, bytes): max command data sent and received, with
    /// and without secure messaging, in the order the card stores them (`0104 0104 0100 0100` on a CPS3).
    public var ioBufferSizes: [Int]
    /// Status bytes (tag `82`), e.g. `90 00`.
    public var status: [UInt8]?

    /// Largest data field the card sends in one answer (bytes): the third buffer size (`0100` = 256 on a CPS3),
    /// else the first, else `nil`.
    public var maxResponseData: Int? { ioBufferSizes.count >= 3 ? ioBufferSizes[2] : ioBufferSizes.first }
    /// Largest data field the card accepts in one command (bytes): the first buffer size.
    public var maxCommandData: Int? { ioBufferSizes.first }

    /// Decodes EF.ATR.
    /// - Parameter bytes: the file content (57 bytes on a CPS3; leading `80`/`80 00`, trailing `00` accepted).
    /// - Throws: `CPSError.malformed` when the remaining bytes are not BER-TLV.
    public init(parsing bytes: [UInt8]) throws(CPSError) {
        var b = bytes[...]
        if b.first == 0x80 { b = b.dropFirst() }
        // Trailing zero padding (and a zero after the stray 80) is skipped as ISO/IEC 7816-4 §5.2.2 padding.
        let objects: [BERTLV]
        do { objects = try BERTLV.decode(Array(b), skipPadding: true) } catch {
            throw .malformed("EF.ATR", reason: error.description)
        }
        cardServiceData = objects.first { $0.tag == 0x43 }?.value.first
        preIssuingData = objects.first { $0.tag == 0x46 }?.value ?? []
        cardCapabilities = objects.first { $0.tag == 0x47 }?.value ?? []
        aid = objects.first { $0.tag == 0x4F }?.value
        status = objects.first { $0.tag == 0x82 }?.value
        var sizes: [Int] = []
        if let e0 = objects.first(where: { $0.tag == 0xE0 }) {
            for c in e0.children where c.tag == 0x02 && !c.value.isEmpty && c.value.count <= 4 {
                sizes.append(c.value.reduce(0) { $0 << 8 | Int($1) })
            }
        }
        ioBufferSizes = sizes
    }
}

/// The card serial from EF.SN.ICC (`3F00/D003`, SFI `1C`): `5A 0A 80 25 00 00 01 <8 BCD digits> <Luhn digit, F>`
/// (cps.md §4.1) [C].
public struct CPSSerialNumber: Sendable, Hashable, CustomStringConvertible {
    /// The whole PAN as hex digits (20 nibbles, filler `F` included), e.g. `80250000019921384 50F`.
    public var pan: [UInt8]
    /// The 8 digits after the issuer prefix, e.g. `00412345`.
    public var digits: String
    /// The Luhn digit that follows, if it is a decimal digit.
    public var checkDigit: Int?
    /// The token serial as the Cryptolib labels cards, `00` + the 8 digits (10 digits, cps.md §11.2 [D]).
    public var cardNumber: String { "00" + digits }
    public var description: String { cardNumber }

    /// Decodes EF.SN.ICC.
    /// - Throws: `CPSError.malformed` when the file is not 12 bytes `5A 0A 80 25 00 00 01 …` or the digits are not BCD.
    public init(parsing bytes: [UInt8]) throws(CPSError) {
        guard bytes.count >= 12, bytes[0] == 0x5A, bytes[1] == 0x0A else {
            throw .malformed("EF.SN.ICC", reason: "expected 12 bytes starting 5A 0A, got \(bytes.count) bytes")
        }
        let pan = Array(bytes[2..<12])
        guard Array(pan[0..<5]) == CPS.issuerPrefix else {
            throw .malformed("EF.SN.ICC", reason: "the PAN does not start with the ANS issuer number 80 25 00 00 01")
        }
        var d = ""
        for byte in pan[5..<9] {
            for nibble in [byte >> 4, byte & 0x0F] {
                guard nibble <= 9 else { throw .malformed("EF.SN.ICC", reason: "serial digits are not BCD") }
                d.append(Character(String(nibble)))
            }
        }
        self.pan = pan
        digits = d
        let last = pan[9] >> 4
        checkDigit = last <= 9 ? Int(last) : nil
    }
}

/// The PIN counters of a CHV SDO (cps.md §5): `70 … BF 81 01 … A0 { 9A max, 9B remaining, 9D usage }`.
public struct CPSPinStatus: Sendable, Hashable {
    /// Tries left before the PIN blocks (0 = blocked).
    public var triesLeft: Int
    /// Tries allowed (`9A`), if the card said.
    public var maximumTries: Int?
    /// Uses left (`9D`), if the card said; 0 means no more verification possible.
    public var usesLeft: Int?

    public init(triesLeft: Int, maximumTries: Int? = nil, usesLeft: Int? = nil) {
        self.triesLeft = triesLeft
        self.maximumTries = maximumTries
        self.usesLeft = usesLeft
    }

    public var isBlocked: Bool { triesLeft == 0 }

    /// Decodes the GET DATA answer of the CHV SDO.
    /// - Throws: `CPSError.malformed` when there is no `9B` (tries remaining).
    public init(parsingSDO bytes: [UInt8]) throws(CPSError) {
        let objects: [BERTLV]
        do { objects = try BERTLV.decode(bytes, skipPadding: false) } catch {
            throw .malformed("PIN data object", reason: error.description)
        }
        func int(_ tag: UInt32) -> Int? {
            guard let v = objects.first(tag: tag)?.value ?? objects.first(where: { $0.tag == tag })?.value,
                !v.isEmpty, v.count <= 4
            else { return nil }
            return v.reduce(0) { $0 << 8 | Int($1) }
        }
        guard let remaining = int(0x9B) else {
            throw .malformed("PIN data object", reason: "no tries-remaining element (9B)")
        }
        var left = remaining
        let uses = int(0x9D)
        // The Cryptolib reports 0 tries when the usage counter is exhausted (cps.md §5).
        if uses == 0 { left = 0 }
        self.init(triesLeft: left, maximumTries: int(0x9A), usesLeft: uses)
    }
}
