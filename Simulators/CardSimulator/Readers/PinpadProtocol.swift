import ISO7816

extension PCSCPart10 {
    /// The ioctl this simulator announces for `feature`, CCID driver style: `SCARD_CTL_CODE(0x330000 + feature)`
    /// (e.g. `0x42330006` for VERIFY_PIN_DIRECT). Callers must take ioctls from GET_FEATURE_REQUEST, never
    /// hard-code them.
    public static func ioctl(feature: PCSCFeature) -> UInt32 { controlCode(0x33_0000 + UInt32(feature.rawValue)) }
}

/// One thing the simulated keypad user does. `.digits` holds the keys typed (its description is masked).
public enum KeypadEntry: Sendable, Hashable, CustomStringConvertible {
    /// Digits then the validation key.
    case digits(SecretDigits)
    /// The Cancel key: the reader answers `64 01`.
    case cancel
    /// Nobody types: the reader answers `64 00`.
    case timeout

    /// Convenience: `KeypadEntry.typed("1234")`.
    public static func typed(_ digits: String) -> KeypadEntry { .digits(SecretDigits(digits)) }

    public var description: String {
        switch self {
        case .digits(let d): return "digits(\(d.count) keys)"
        case .cancel: return "cancel"
        case .timeout: return "timeout"
        }
    }
}

/// Why the reader refused a PIN structure before the card saw anything.
public enum PinpadOutcome: Sendable, Hashable {
    /// Build this APDU and send it to the card.
    case apdu([UInt8])
    /// Answer this reader status word (`64 00` timeout, `64 01` cancel, `64 02` PINs differ, `64 03` length).
    case readerStatus(StatusWord)
}

/// How the reader places the typed digits: the bit fields of bmFormatString, bmPINBlockString, bmPINLengthFormat and
/// wPINMaxExtraDigit of a PIN_VERIFY_STRUCTURE / PIN_MODIFY_STRUCTURE (PC/SC v2 part 10 §2.5.2–2.5.3, CCID rev 1.1
/// §6.1.11.7–8). The structures themselves are parsed by `PINVerifyStructure` / `PINModifyStructure` (ISO7816).
public struct PINBlockFormat: Sendable, Hashable {
    /// bmFormatString b7: unit of the PIN position, bytes (`true`) or bits.
    public var positionInBytes: Bool
    /// bmFormatString b6…b3: PIN position in the APDU data field, in units.
    public var pinPosition: Int
    /// bmFormatString b2: right justification.
    public var rightJustified: Bool
    /// bmFormatString b1…b0: 0 binary (one byte 00…09 per digit, our reading), 1 BCD (one nibble per digit),
    /// 2 ASCII (`30`…`39`).
    public var encoding: Int
    /// bmPINBlockString b7…b4: size of the PIN length field, in bits (0 = none).
    public var lengthFieldBits: Int
    /// bmPINBlockString b3…b0: PIN block size in bytes (0 = the PIN alone, Lc adjusted).
    public var blockSize: Int
    /// bmPINLengthFormat b4: unit of the length-field position (bytes when set); b3…b0 its position.
    public var lengthPositionInBytes: Bool
    public var lengthPosition: Int
    /// wPINMaxExtraDigit: minimum and maximum number of digits.
    public var minDigits: Int
    public var maxDigits: Int

    public init(bmFormatString f: UInt8, bmPINBlockString b: UInt8, bmPINLengthFormat l: UInt8, wPINMaxExtraDigit w: UInt16) {
        self.init(formatString: f, pinBlockString: b, pinLengthFormat: l, minDigits: Int(w >> 8), maxDigits: Int(w & 0xFF))
    }

    /// The format of a parsed PIN_VERIFY_STRUCTURE.
    public init(_ s: PINVerifyStructure) {
        self.init(
            formatString: s.formatString, pinBlockString: s.pinBlockString, pinLengthFormat: s.pinLengthFormat,
            minDigits: s.minPINLength, maxDigits: s.maxPINLength)
    }

    /// The format of a parsed PIN_MODIFY_STRUCTURE.
    public init(_ s: PINModifyStructure) {
        self.init(
            formatString: s.formatString, pinBlockString: s.pinBlockString, pinLengthFormat: s.pinLengthFormat,
            minDigits: s.minPINLength, maxDigits: s.maxPINLength)
    }

    init(formatString f: UInt8, pinBlockString b: UInt8, pinLengthFormat l: UInt8, minDigits: Int, maxDigits: Int) {
        positionInBytes = f & 0x80 != 0
        pinPosition = Int(f >> 3 & 0x0F)
        rightJustified = f & 0x04 != 0
        encoding = Int(f & 0x03)
        lengthFieldBits = Int(b >> 4)
        blockSize = Int(b & 0x0F)
        lengthPositionInBytes = l & 0x10 != 0
        lengthPosition = Int(l & 0x0F)
        self.minDigits = minDigits
        self.maxDigits = maxDigits
    }

    /// Bits one digit occupies.
    var digitBits: Int { encoding == 1 ? 4 : 8 }

    func digitValue(_ ascii: UInt8) -> UInt32 {
        let d = UInt32(ascii &- 0x30)
        return encoding == 2 ? UInt32(ascii) : d
    }

    /// Writes `digits` (ASCII) into `data` at `unitOffset` (in this format's unit), and the length field.
    func write(_ digits: [UInt8], into data: inout [UInt8], unitOffset: Int, writeLength: Bool) {
        let unit = positionInBytes ? 8 : 1
        var bit = unitOffset * unit
        if rightJustified {
            let end = (blockSize == 0 ? data.count : min(data.count, unitOffset * unit / 8 + blockSize)) * 8
            bit = end - digits.count * digitBits
        }
        for d in digits {
            PINBlockBuilder.writeBits(&data, bitOffset: bit, count: digitBits, value: digitValue(d))
            bit += digitBits
        }
        if writeLength && lengthFieldBits > 0 {
            let lbit = lengthPosition * (lengthPositionInBytes ? 8 : 1)
            PINBlockBuilder.writeBits(&data, bitOffset: lbit, count: lengthFieldBits, value: UInt32(digits.count))
        }
    }
}

/// Builds the APDU a pinpad reader sends, from a PIN_VERIFY_STRUCTURE or PIN_MODIFY_STRUCTURE and the keys typed,
/// as a CCID reader's firmware does. The structures are parsed by `PINVerifyStructure(parsing:)` /
/// `PINModifyStructure(parsing:)`; this type holds only the reader side (keypad, digit checks, PIN block).
/// Pure functions, testable without a reader.
public enum PINBlockBuilder {
    /// Header size of PIN_VERIFY_STRUCTURE before abData (19 bytes) and of PIN_MODIFY_STRUCTURE (24 bytes).
    public static let verifyHeaderSize = PINVerifyStructure.headerSize
    public static let modifyHeaderSize = PINModifyStructure.headerSize

    static func writeBits(_ data: inout [UInt8], bitOffset: Int, count: Int, value: UInt32) {
        for k in 0..<count {
            let bit = bitOffset + k
            let byte = bit / 8
            guard byte >= 0, byte < data.count else { continue }
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if (value >> UInt32(count - 1 - k)) & 1 == 1 { data[byte] |= mask } else { data[byte] &= ~mask }
        }
    }

    /// Splits the template APDU (at least 4 bytes, as the parsers guarantee): header (CLA INS P1 P2) and the data
    /// field, with or without an Lc byte.
    static func splitTemplate(_ t: [UInt8], hasLc: Bool) -> (header: [UInt8], data: [UInt8]) {
        let header = Array(t.prefix(4))
        if hasLc {
            guard t.count >= 5 else { return (header, []) }
            return (header, Array(t.dropFirst(5)))
        }
        return (header, Array(t.dropFirst(4)))
    }

    /// The reader's refusal of a structure its parser rejected, in the reader's words (`name` is
    /// `PIN_VERIFY_STRUCTURE` or `PIN_MODIFY_STRUCTURE`; `declared` its ulDataLength, nil when the header is short).
    static func refusal(_ name: String, _ s: [UInt8], headerSize: Int, declared: Int?) -> TransportError {
        guard let declared else { return .failed("\(name) shorter than \(headerSize) bytes") }
        let following = s.count - headerSize
        guard declared == following else {
            return .failed("\(name) ulDataLength \(declared) but \(following) APDU bytes follow")
        }
        return .failed("\(name) carries no APDU template")
    }

    static func validDigits(_ d: SecretDigits, _ f: PINBlockFormat, readerMin: Int, readerMax: Int) -> Bool {
        let n = d.count
        return n >= max(f.minDigits, readerMin) && n <= min(f.maxDigits == 0 ? 255 : f.maxDigits, readerMax)
            && d.asciiBytes.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// VERIFY_PIN_DIRECT.
    /// - Parameters:
    ///   - structure: PIN_VERIFY_STRUCTURE (19-byte header + abData; multi-byte fields little-endian).
    ///   - entry: what the user does on the keypad.
    ///   - templateHasLc: whether this reader expects abData with an Lc byte (CLA INS P1 P2 Lc data) or without.
    ///   - readerMinDigits/readerMaxDigits: bMinPINSize / bMaxPINSize of the reader.
    /// - Returns: `.apdu` to send, or `.readerStatus` (`64 00`, `64 01`, `64 03`).
    /// - Throws: `TransportError.failed` when the structure is malformed (the reader rejects the control call).
    public static func verify(
        structure s: [UInt8], entry: KeypadEntry, templateHasLc: Bool, readerMinDigits: Int, readerMaxDigits: Int
    ) throws(TransportError) -> PinpadOutcome {
        let parsed: PINVerifyStructure
        do { parsed = try PINVerifyStructure(parsing: s) } catch {
            throw refusal(
                "PIN_VERIFY_STRUCTURE", s, headerSize: verifyHeaderSize,
                declared: PINVerifyStructure.declaredDataLength(in: s))
        }
        let f = PINBlockFormat(parsed)
        let (header, template) = splitTemplate(parsed.apdu, hasLc: templateHasLc)
        let digits: SecretDigits
        switch entry {
        case .cancel: return .readerStatus(StatusWord(0x6401))
        case .timeout: return .readerStatus(StatusWord(0x6400))
        case .digits(let d): digits = d
        }
        guard validDigits(digits, f, readerMin: readerMinDigits, readerMax: readerMaxDigits) else {
            return .readerStatus(StatusWord(0x6403))
        }
        var data = template
        if f.blockSize == 0 {
            let bits = (f.positionInBytes ? 8 : 1) * f.pinPosition + digits.count * f.digitBits
            let needed = (bits + 7) / 8
            if data.count < needed { data += [UInt8](repeating: 0xFF, count: needed - data.count) }
            if data.count > needed { data = Array(data.prefix(needed)) }
        }
        f.write(digits.asciiBytes, into: &data, unitOffset: f.pinPosition, writeLength: true)
        return .apdu(header + [UInt8(truncatingIfNeeded: data.count)] + data)
    }

    /// MODIFY_PIN_DIRECT: bConfirmPIN b1 asks for the current PIN, b0 for a confirmation of the new one
    /// (`64 02` when they differ). Old and new PINs go at bInsertionOffsetOld / bInsertionOffsetNew (in the format's
    /// unit); the length field, when present, describes the new PIN.
    public static func modify(
        structure s: [UInt8], entries: [KeypadEntry], templateHasLc: Bool, readerMinDigits: Int, readerMaxDigits: Int
    ) throws(TransportError) -> PinpadOutcome {
        let parsed: PINModifyStructure
        do { parsed = try PINModifyStructure(parsing: s) } catch {
            throw refusal(
                "PIN_MODIFY_STRUCTURE", s, headerSize: modifyHeaderSize,
                declared: PINModifyStructure.declaredDataLength(in: s))
        }
        let f = PINBlockFormat(parsed)
        let offsetOld = Int(parsed.insertionOffsetOld), offsetNew = Int(parsed.insertionOffsetNew)
        let confirm = parsed.confirmPIN & 0x01 != 0, askOld = parsed.confirmPIN & 0x02 != 0
        let (header, template) = splitTemplate(parsed.apdu, hasLc: templateHasLc)
        var queue = entries[...]
        enum Next { case ok(SecretDigits), status(StatusWord) }
        func next() -> Next {
            guard let e = queue.popFirst() else { return .status(StatusWord(0x6400)) }
            switch e {
            case .cancel: return .status(StatusWord(0x6401))
            case .timeout: return .status(StatusWord(0x6400))
            case .digits(let d):
                return validDigits(d, f, readerMin: readerMinDigits, readerMax: readerMaxDigits)
                    ? .ok(d) : .status(StatusWord(0x6403))
            }
        }
        var old: SecretDigits?
        if askOld {
            switch next() {
            case .status(let sw): return .readerStatus(sw)
            case .ok(let d): old = d
            }
        }
        let new: SecretDigits
        switch next() {
        case .status(let sw): return .readerStatus(sw)
        case .ok(let d): new = d
        }
        if confirm {
            switch next() {
            case .status(let sw): return .readerStatus(sw)
            case .ok(let d): if d != new { return .readerStatus(StatusWord(0x6402)) }
            }
        }
        var data = template
        if let old { f.write(old.asciiBytes, into: &data, unitOffset: offsetOld, writeLength: false) }
        f.write(new.asciiBytes, into: &data, unitOffset: offsetNew, writeLength: true)
        return .apdu(header + [UInt8(truncatingIfNeeded: data.count)] + data)
    }
}
