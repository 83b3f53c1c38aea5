/// PC/SC v2 part 10 reader features as pure data: the GET_FEATURE_REQUEST answer, the GET_TLV_PROPERTIES
/// answer, and the `PIN_VERIFY_STRUCTURE` / `PIN_MODIFY_STRUCTURE` blocks sent with VERIFY_PIN_DIRECT /
/// MODIFY_PIN_DIRECT (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §3.3; pcsc-lite `src/PCSC/reader.h`).
///
/// Shared by the PC/SC binding (which sends them with `SCardControl`), the CCID driver (which repacks them for
/// PC_to_RDR_Secure) and the simulator's pinpad reader (which parses them back). Nothing here touches a reader; nothing here ever holds a PIN.
public enum PCSCPart10 {
    /// `SCARD_CTL_CODE(code)` as pcsc-lite defines it on Unix: `0x42000000 + code` (pcsc-lite `reader.h`).
    public static func controlCode(_ code: UInt32) -> UInt32 { 0x4200_0000 &+ code }

    /// `CM_IOCTL_GET_FEATURE_REQUEST` = `SCARD_CTL_CODE(3400)` = `0x42000D48` (PC/SC v2 part 10 §2.2).
    public static let getFeatureRequest: UInt32 = controlCode(3400)

    /// The Windows value of the same IOCTL, `0x00313520`; the CCID driver accepts both.
    public static let getFeatureRequestWindows: UInt32 = 0x0031_3520
}

/// A PC/SC part 10 feature tag (PC/SC v2 part 10 §2.3, pcsc-lite `reader.h` `FEATURE_*`).
public enum PCSCFeature: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case verifyPINStart = 0x01
    case verifyPINFinish = 0x02
    case modifyPINStart = 0x03
    case modifyPINFinish = 0x04
    case getKeyPressed = 0x05
    case verifyPINDirect = 0x06
    case modifyPINDirect = 0x07
    case mctReaderDirect = 0x08
    case mctUniversal = 0x09
    case ifdPINProperties = 0x0A
    case abort = 0x0B
    case setSPEMessage = 0x0C
    case verifyPINDirectAppID = 0x0D
    case modifyPINDirectAppID = 0x0E
    case writeDisplay = 0x0F
    case getKey = 0x10
    case ifdDisplayProperties = 0x11
    case getTLVProperties = 0x12
    case ccidEscCommand = 0x13
    case executePACE = 0x20

    public var description: String {
        switch self {
        case .verifyPINStart: return "VERIFY_PIN_START"
        case .verifyPINFinish: return "VERIFY_PIN_FINISH"
        case .modifyPINStart: return "MODIFY_PIN_START"
        case .modifyPINFinish: return "MODIFY_PIN_FINISH"
        case .getKeyPressed: return "GET_KEY_PRESSED"
        case .verifyPINDirect: return "VERIFY_PIN_DIRECT"
        case .modifyPINDirect: return "MODIFY_PIN_DIRECT"
        case .mctReaderDirect: return "MCT_READER_DIRECT"
        case .mctUniversal: return "MCT_UNIVERSAL"
        case .ifdPINProperties: return "IFD_PIN_PROPERTIES"
        case .abort: return "ABORT"
        case .setSPEMessage: return "SET_SPE_MESSAGE"
        case .verifyPINDirectAppID: return "VERIFY_PIN_DIRECT_APP_ID"
        case .modifyPINDirectAppID: return "MODIFY_PIN_DIRECT_APP_ID"
        case .writeDisplay: return "WRITE_DISPLAY"
        case .getKey: return "GET_KEY"
        case .ifdDisplayProperties: return "IFD_DISPLAY_PROPERTIES"
        case .getTLVProperties: return "GET_TLV_PROPERTIES"
        case .ccidEscCommand: return "CCID_ESC_COMMAND"
        case .executePACE: return "EXECUTE_PACE"
        }
    }
}

/// Why a part 10 structure could not be parsed or built.
public enum PCSCPart10Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// A TLV announces more bytes than remain.
    case truncatedTLV(offset: Int)
    /// A GET_FEATURE_REQUEST entry whose length is not 4.
    case badFeatureLength(tag: UInt8, length: Int)
    /// A PIN structure shorter than its fixed header, or whose ulDataLength disagrees with the APDU that follows.
    case malformedPINStructure(String)
    /// The PIN length bounds cannot be met (min > max after clamping to the reader, or max > 255).
    case invalidPINLength(min: Int, max: Int)
    /// The APDU template is not 4 header bytes (CLA INS P1 P2).
    case invalidAPDUHeader(count: Int)

    public var description: String {
        switch self {
        case .truncatedTLV(let o): return "reader feature list truncated at byte \(o)"
        case .badFeatureLength(let t, let l):
            return "reader feature 0x" + [t].hexString() + " has length \(l), 4 expected"
        case .malformedPINStructure(let why): return "malformed PIN structure: \(why)"
        case .invalidPINLength(let mn, let mx): return "PIN length bounds \(mn)…\(mx) cannot be used with this reader"
        case .invalidAPDUHeader(let n): return "PIN APDU header must be 4 bytes (CLA INS P1 P2), got \(n)"
        }
    }
}

/// The answer to GET_FEATURE_REQUEST: `tag (1) | length = 4 (1) | ioctl (4, big-endian)` repeated
/// (PC/SC v2 part 10 §2.2; spec note §3.3). Unknown tags are kept in `unknown`.
public struct PCSCFeatureList: Sendable, Hashable {
    /// Known features → their control code (ioctl) to use with `SCardControl`.
    public var controlCodes: [PCSCFeature: UInt32]
    /// Entries whose tag this stack does not know, tag → ioctl.
    public var unknown: [UInt8: UInt32]

    public init(controlCodes: [PCSCFeature: UInt32] = [:], unknown: [UInt8: UInt32] = [:]) {
        self.controlCodes = controlCodes
        self.unknown = unknown
    }

    /// Parses the GET_FEATURE_REQUEST answer.
    /// - Parameter bytes: 0…n bytes, a multiple of 6 for a well-formed answer. An empty answer is an empty list.
    /// - Throws: `PCSCPart10Error.truncatedTLV` or `.badFeatureLength`.
    public init(parsing bytes: [UInt8]) throws(PCSCPart10Error) {
        self.init()
        var i = 0
        while i < bytes.count {
            guard i + 2 <= bytes.count else { throw .truncatedTLV(offset: i) }
            let tag = bytes[i]
            let len = Int(bytes[i + 1])
            guard i + 2 + len <= bytes.count else { throw .truncatedTLV(offset: i) }
            guard len == 4 else { throw .badFeatureLength(tag: tag, length: len) }
            let v = bytes[(i + 2)..<(i + 6)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if let f = PCSCFeature(rawValue: tag) { controlCodes[f] = v } else { unknown[tag] = v }
            i += 6
        }
    }

    /// Encodes the list back to its wire form, ordered by tag (used by simulated readers).
    public var encoded: [UInt8] {
        var all: [(UInt8, UInt32)] = controlCodes.map { ($0.key.rawValue, $0.value) }
        all += unknown.map { ($0.key, $0.value) }
        var out: [UInt8] = []
        for (t, v) in all.sorted(by: { $0.0 < $1.0 }) {
            out += [t, 4, UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
        return out
    }

    /// The ioctl for `feature`, or `nil` when the reader does not offer it.
    public subscript(feature: PCSCFeature) -> UInt32? { controlCodes[feature] }

    /// True when the reader can verify a PIN on its own keypad (VERIFY_PIN_DIRECT present).
    public var hasPinpad: Bool { controlCodes[.verifyPINDirect] != nil }
}

/// A GET_TLV_PROPERTIES tag (PC/SC v2 part 10 §2.6.14; spec note §3.3).
public enum PCSCTLVProperty: UInt8, Sendable, Hashable, CaseIterable {
    case wLcdLayout = 0x01
    case bEntryValidationCondition = 0x02
    case bTimeOut2 = 0x03
    case wLcdMaxCharacters = 0x04
    case wLcdMaxLines = 0x05
    case bMinPINSize = 0x06
    case bMaxPINSize = 0x07
    case sFirmwareID = 0x08
    case bPPDUSupport = 0x09
    case dwMaxAPDUDataSize = 0x0A
    case wIdVendor = 0x0B
    case wIdProduct = 0x0C
}

/// The answer to GET_TLV_PROPERTIES: `tag (1) | length (1) | value (length bytes, little-endian)`
/// (PC/SC v2 part 10 §2.6.14). Values are kept raw; integer accessors decode little-endian.
public struct PCSCTLVProperties: Sendable, Hashable {
    /// Raw values by tag (unknown tags included).
    public var raw: [UInt8: [UInt8]]

    public init(raw: [UInt8: [UInt8]] = [:]) { self.raw = raw }

    /// Parses the GET_TLV_PROPERTIES answer.
    /// - Throws: `PCSCPart10Error.truncatedTLV` when a length runs past the end.
    public init(parsing bytes: [UInt8]) throws(PCSCPart10Error) {
        self.init()
        var i = 0
        while i < bytes.count {
            guard i + 2 <= bytes.count else { throw .truncatedTLV(offset: i) }
            let tag = bytes[i]
            let len = Int(bytes[i + 1])
            guard i + 2 + len <= bytes.count else { throw .truncatedTLV(offset: i) }
            raw[tag] = Array(bytes[(i + 2)..<(i + 2 + len)])
            i += 2 + len
        }
    }

    /// The property as an unsigned little-endian integer (1, 2 or 4 bytes), or `nil` when absent or longer
    /// than 8 bytes.
    public func integer(_ property: PCSCTLVProperty) -> UInt64? {
        guard let v = raw[property.rawValue], !v.isEmpty, v.count <= 8 else { return nil }
        return v.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// bMinPINSize, in digits.
    public var minPINSize: Int? { integer(.bMinPINSize).map(Int.init) }
    /// bMaxPINSize, in digits.
    public var maxPINSize: Int? { integer(.bMaxPINSize).map(Int.init) }
    /// dwMaxAPDUDataSize, in bytes (vpcd answers 65536).
    public var maxAPDUDataSize: Int? { integer(.dwMaxAPDUDataSize).map(Int.init) }
    /// sFirmwareID as text.
    public var firmwareID: String? { raw[PCSCTLVProperty.sFirmwareID.rawValue].map { String(decoding: $0, as: UTF8.self) } }

    /// Encodes a property list (used by simulated readers): each value little-endian on `size` bytes.
    public static func encode(_ values: [(PCSCTLVProperty, UInt64, size: Int)]) -> [UInt8] {
        var out: [UInt8] = []
        for (p, v, n) in values {
            out += [p.rawValue, UInt8(n)]
            for k in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
        }
        return out
    }
}

/// How a PIN is coded in the APDU the reader builds (bmFormatString b1..b0, PC/SC v2 part 10 §2.5.2).
public enum PINFormat: UInt8, Sendable, Hashable {
    case binary = 0b00
    case bcd = 0b01
    case ascii = 0b10
}

/// What reader differences the PIN structure builder must respect ("quirks live in one place",
/// `../shared/specs/architecture.md`).
public struct PinpadProfile: Sendable, Hashable {
    /// The reader wants the APDU template to carry a placeholder Lc byte (`00`) after the header.
    public var lcPlaceholder: Bool
    /// The reader's bMinPINSize (digits), if it announced one.
    public var readerMinPIN: Int?
    /// The reader's bMaxPINSize (digits), if it announced one.
    public var readerMaxPIN: Int?

    public init(lcPlaceholder: Bool = false, readerMinPIN: Int? = nil, readerMaxPIN: Int? = nil) {
        self.lcPlaceholder = lcPlaceholder
        self.readerMinPIN = readerMinPIN
        self.readerMaxPIN = readerMaxPIN
    }

    /// A profile from a reader's GET_TLV_PROPERTIES answer.
    public init(properties: PCSCTLVProperties, lcPlaceholder: Bool = false) {
        self.init(lcPlaceholder: lcPlaceholder, readerMinPIN: properties.minPINSize, readerMaxPIN: properties.maxPINSize)
    }

    /// Clamps the card's PIN length bounds to the reader's.
    /// - Throws: `PCSCPart10Error.invalidPINLength` when nothing is left (min > max) or max > 255.
    public func clamp(min: Int, max: Int) throws(PCSCPart10Error) -> (min: Int, max: Int) {
        var lo = min
        var hi = max
        if let r = readerMinPIN, r > lo { lo = r }
        if let r = readerMaxPIN, r > 0, r < hi { hi = r }
        guard lo >= 0, hi <= 255, lo <= hi else { throw .invalidPINLength(min: lo, max: hi) }
        return (lo, hi)
    }
}

/// `PIN_VERIFY_STRUCTURE` (PC/SC v2 part 10 §2.5.2; pcsc-lite `reader.h`): a packed 19-byte header and the
/// VERIFY APDU template the reader completes with the PIN typed on its keypad. Multi-byte fields little-endian.
///
/// | offset | field |
/// |---|---|
/// | 0 | bTimerOut (s) |
/// | 1 | bTimerOut2 (s) |
/// | 2 | bmFormatString |
/// | 3 | bmPINBlockString |
/// | 4 | bmPINLengthFormat |
/// | 5–6 | wPINMaxExtraDigit (min digits in the high byte, max in the low byte) |
/// | 7 | bEntryValidationCondition |
/// | 8 | bNumberMessage |
/// | 9–10 | wLangId |
/// | 11 | bMsgIndex |
/// | 12–14 | bTeoPrologue |
/// | 15–18 | ulDataLength |
/// | 19… | abData (the APDU template) |
public struct PINVerifyStructure: Sendable, Hashable {
    public var timeout: UInt8
    public var timeout2: UInt8
    public var formatString: UInt8
    public var pinBlockString: UInt8
    public var pinLengthFormat: UInt8
    public var minPINLength: Int
    public var maxPINLength: Int
    public var entryValidationCondition: UInt8
    public var numberMessage: UInt8
    public var langID: UInt16
    public var msgIndex: UInt8
    public var teoPrologue: [UInt8]
    /// The APDU template (`CLA INS P1 P2` and, with the Lc placeholder profile, `00`).
    public var apdu: [UInt8]

    /// Builds the structure for a VERIFY of PIN reference `p2`.
    /// - Parameters:
    ///   - header: CLA INS P1 P2 of the VERIFY command, e.g. `00 20 00 81`.
    ///   - format: how the reader codes the digits (bmFormatString b1..b0); unit bits, position 0, left-justified.
    ///   - minPIN / maxPIN: the card's PIN length bounds in digits, clamped to the reader's by `profile`.
    ///   - profile: the reader's quirks (Lc placeholder; PIN size limits).
    ///   - timeout / timeout2: seconds (0 = reader default).
    ///   - entryValidation: bEntryValidationCondition (02 = validation key).
    ///   - langID: wLangId (0 = reader default; 0x040C French).
    /// - Throws: `PCSCPart10Error.invalidAPDUHeader`, `.invalidPINLength`.
    public init(
        header: [UInt8], format: PINFormat = .ascii, minPIN: Int, maxPIN: Int, profile: PinpadProfile = .init(),
        timeout: UInt8 = 30, timeout2: UInt8 = 30, entryValidation: UInt8 = 0x02, numberMessage: UInt8 = 0,
        langID: UInt16 = 0, pinBlockString: UInt8 = 0x00, pinLengthFormat: UInt8 = 0x00
    ) throws(PCSCPart10Error) {
        guard header.count == 4 else { throw .invalidAPDUHeader(count: header.count) }
        let (lo, hi) = try profile.clamp(min: minPIN, max: maxPIN)
        self.timeout = timeout
        self.timeout2 = timeout2
        self.formatString = format.rawValue
        self.pinBlockString = pinBlockString
        self.pinLengthFormat = pinLengthFormat
        self.minPINLength = lo
        self.maxPINLength = hi
        self.entryValidationCondition = entryValidation
        self.numberMessage = numberMessage
        self.langID = langID
        self.msgIndex = 0
        self.teoPrologue = [0, 0, 0]
        self.apdu = header + (profile.lcPlaceholder ? [0x00] : [])
    }

    /// The bytes to send with VERIFY_PIN_DIRECT: 19-byte header ‖ APDU template.
    public var encoded: [UInt8] {
        var out: [UInt8] = [timeout, timeout2, formatString, pinBlockString, pinLengthFormat]
        out += [UInt8(truncatingIfNeeded: maxPINLength), UInt8(truncatingIfNeeded: minPINLength)]
        out += [entryValidationCondition, numberMessage, UInt8(langID & 0xFF), UInt8(langID >> 8), msgIndex]
        out += teoPrologue.count == 3 ? teoPrologue : [0, 0, 0]
        out += littleEndian32(apdu.count)
        out += apdu
        return out
    }

    /// Size of the fixed header before abData: 19 bytes.
    public static let headerSize = 19

    /// ulDataLength (bytes 15–18, little-endian) of a structure in wire form, or `nil` when `b` is shorter than the
    /// 19-byte header. Says what the sender announced, not what follows.
    public static func declaredDataLength(in b: [UInt8]) -> Int? {
        b.count >= headerSize ? readLittleEndian32(b, at: 15) : nil
    }

    /// Parses a structure received by a (simulated) pinpad reader.
    /// - Throws: `PCSCPart10Error.malformedPINStructure` when shorter than 19 + 4 bytes or when ulDataLength
    ///   disagrees with the bytes that follow.
    public init(parsing b: [UInt8]) throws(PCSCPart10Error) {
        try checkAPDUTemplateLength(b, headerSize: Self.headerSize, declared: Self.declaredDataLength(in: b))
        timeout = b[0]
        timeout2 = b[1]
        formatString = b[2]
        pinBlockString = b[3]
        pinLengthFormat = b[4]
        maxPINLength = Int(b[5])
        minPINLength = Int(b[6])
        entryValidationCondition = b[7]
        numberMessage = b[8]
        langID = UInt16(b[9]) | UInt16(b[10]) << 8
        msgIndex = b[11]
        teoPrologue = Array(b[12..<15])
        apdu = Array(b[19...])
    }

    /// The PIN format announced by bmFormatString, or `nil` for the reserved value 11.
    public var pinFormat: PINFormat? { PINFormat(rawValue: formatString & 0x03) }
}

/// `PIN_MODIFY_STRUCTURE` (PC/SC v2 part 10 §2.5.3; pcsc-lite `reader.h`): a packed 24-byte header and the
/// CHANGE REFERENCE DATA APDU template. Multi-byte fields little-endian.
///
/// Offsets: 0 bTimerOut, 1 bTimerOut2, 2 bmFormatString, 3 bmPINBlockString, 4 bmPINLengthFormat,
/// 5 bInsertionOffsetOld, 6 bInsertionOffsetNew, 7–8 wPINMaxExtraDigit, 9 bConfirmPIN,
/// 10 bEntryValidationCondition, 11 bNumberMessage, 12–13 wLangId, 14–16 bMsgIndex1…3, 17–19 bTeoPrologue,
/// 20–23 ulDataLength, 24… abData.
public struct PINModifyStructure: Sendable, Hashable {
    public var timeout: UInt8
    public var timeout2: UInt8
    public var formatString: UInt8
    public var pinBlockString: UInt8
    public var pinLengthFormat: UInt8
    /// Offset (in bytes for ASCII PINs) of the current PIN in the APDU data.
    public var insertionOffsetOld: UInt8
    /// Offset of the new PIN in the APDU data.
    public var insertionOffsetNew: UInt8
    public var minPINLength: Int
    public var maxPINLength: Int
    /// bConfirmPIN: b0 = confirm the new PIN, b1 = ask for the current PIN.
    public var confirmPIN: UInt8
    public var entryValidationCondition: UInt8
    public var numberMessage: UInt8
    public var langID: UInt16
    public var msgIndex: [UInt8]
    public var teoPrologue: [UInt8]
    public var apdu: [UInt8]

    /// Builds the structure for a CHANGE REFERENCE DATA (`00 24 00 P2`) with current and new PIN.
    /// - Parameters: `currentPINLength` is the fixed byte width reserved for the current PIN when both are sent
    ///   (the new PIN follows at that offset); other parameters as in `PINVerifyStructure`.
    /// - Throws: `PCSCPart10Error.invalidAPDUHeader`, `.invalidPINLength`.
    public init(
        header: [UInt8], format: PINFormat = .ascii, minPIN: Int, maxPIN: Int, profile: PinpadProfile = .init(),
        askCurrentPIN: Bool = true, confirmNewPIN: Bool = true, currentPINLength: UInt8 = 0,
        timeout: UInt8 = 30, timeout2: UInt8 = 30, entryValidation: UInt8 = 0x02, numberMessage: UInt8 = 0,
        langID: UInt16 = 0, pinBlockString: UInt8 = 0x00, pinLengthFormat: UInt8 = 0x00
    ) throws(PCSCPart10Error) {
        guard header.count == 4 else { throw .invalidAPDUHeader(count: header.count) }
        let (lo, hi) = try profile.clamp(min: minPIN, max: maxPIN)
        self.timeout = timeout
        self.timeout2 = timeout2
        self.formatString = format.rawValue
        self.pinBlockString = pinBlockString
        self.pinLengthFormat = pinLengthFormat
        self.insertionOffsetOld = 0
        self.insertionOffsetNew = askCurrentPIN ? currentPINLength : 0
        self.minPINLength = lo
        self.maxPINLength = hi
        self.confirmPIN = (confirmNewPIN ? 0x01 : 0) | (askCurrentPIN ? 0x02 : 0)
        self.entryValidationCondition = entryValidation
        self.numberMessage = numberMessage
        self.langID = langID
        self.msgIndex = [0, 0, 0]
        self.teoPrologue = [0, 0, 0]
        self.apdu = header + (profile.lcPlaceholder ? [0x00] : [])
    }

    /// The bytes to send with MODIFY_PIN_DIRECT: 24-byte header ‖ APDU template.
    public var encoded: [UInt8] {
        var out: [UInt8] = [timeout, timeout2, formatString, pinBlockString, pinLengthFormat]
        out += [insertionOffsetOld, insertionOffsetNew]
        out += [UInt8(truncatingIfNeeded: maxPINLength), UInt8(truncatingIfNeeded: minPINLength)]
        out += [confirmPIN, entryValidationCondition, numberMessage, UInt8(langID & 0xFF), UInt8(langID >> 8)]
        out += msgIndex.count == 3 ? msgIndex : [0, 0, 0]
        out += teoPrologue.count == 3 ? teoPrologue : [0, 0, 0]
        out += littleEndian32(apdu.count)
        out += apdu
        return out
    }

    /// Size of the fixed header before abData: 24 bytes.
    public static let headerSize = 24

    /// ulDataLength (bytes 20–23, little-endian) of a structure in wire form, or `nil` when `b` is shorter than the
    /// 24-byte header. Says what the sender announced, not what follows.
    public static func declaredDataLength(in b: [UInt8]) -> Int? {
        b.count >= headerSize ? readLittleEndian32(b, at: 20) : nil
    }

    /// Parses a structure received by a (simulated) pinpad reader.
    /// - Throws: `PCSCPart10Error.malformedPINStructure`.
    public init(parsing b: [UInt8]) throws(PCSCPart10Error) {
        try checkAPDUTemplateLength(b, headerSize: Self.headerSize, declared: Self.declaredDataLength(in: b))
        timeout = b[0]
        timeout2 = b[1]
        formatString = b[2]
        pinBlockString = b[3]
        pinLengthFormat = b[4]
        insertionOffsetOld = b[5]
        insertionOffsetNew = b[6]
        maxPINLength = Int(b[7])
        minPINLength = Int(b[8])
        confirmPIN = b[9]
        entryValidationCondition = b[10]
        numberMessage = b[11]
        langID = UInt16(b[12]) | UInt16(b[13]) << 8
        msgIndex = Array(b[14..<17])
        teoPrologue = Array(b[17..<20])
        apdu = Array(b[24...])
    }
}

private func littleEndian32(_ v: Int) -> [UInt8] {
    let u = UInt32(truncatingIfNeeded: v)
    return [UInt8(u & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u >> 16 & 0xFF), UInt8(u >> 24)]
}

/// The checks shared by the verify and modify structure parsers: the header is complete, ulDataLength announces
/// exactly the bytes that follow, and the APDU template holds at least CLA INS P1 P2.
private func checkAPDUTemplateLength(_ b: [UInt8], headerSize: Int, declared: Int?) throws(PCSCPart10Error) {
    guard let n = declared else { throw .malformedPINStructure("\(b.count) bytes, header needs \(headerSize)") }
    guard n == b.count - headerSize else {
        throw .malformedPINStructure("ulDataLength \(n) but \(b.count - headerSize) bytes follow")
    }
    guard n >= 4 else { throw .malformedPINStructure("APDU template of \(n) bytes, at least 4 needed") }
}

private func readLittleEndian32(_ b: [UInt8], at i: Int) -> Int {
    Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24
}

/// PC/SC part 3 contactless helpers (spec note §7.1–7.2).
public enum ContactlessATR {
    /// True when `atr` has the form a PC/SC part 3 contactless reader builds: `3B 8n 80 01 …` (T0 high nibble 8,
    /// TD1 = 80, TD2 = 01), with n historical bytes and a TCK, i.e. exactly 4 + n + 1 bytes.
    public static func isContactless(_ atr: [UInt8]) -> Bool {
        guard atr.count >= 5, atr[0] == 0x3B, atr[1] & 0xF0 == 0x80, atr[2] == 0x80, atr[3] == 0x01 else { return false }
        let n = Int(atr[1] & 0x0F)
        return atr.count == 4 + n + 1
    }

    /// `FF CA 00 00 00`: the PC/SC part 3 Get Data (UID) pseudo-APDU. Send it only to a contactless slot.
    public static let getUIDCommand: [UInt8] = [0xFF, 0xCA, 0x00, 0x00, 0x00]

    /// Status words meaning "the reader cannot give the UID": `6A 81`, `68 84`, `6E 00`, `6D 00`.
    public static func meansUIDNotAvailable(_ sw: StatusWord) -> Bool {
        [0x6A81, 0x6884, 0x6E00, 0x6D00].contains(sw.value)
    }
}
