/// Why a TLV byte string could not be decoded (or encoded). `offset` is the byte position in the input where the
/// problem starts.
public enum TLVError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The tag runs past the end of the input.
    case truncatedTag(offset: Int)
    /// A BER-TLV tag longer than 4 bytes (this stack keeps tags in a `UInt32`).
    case tagTooLong(offset: Int)
    /// The length field runs past the end of the input.
    case truncatedLength(offset: Int)
    /// A length form that ISO/IEC 7816-4 §5.2 does not allow here (indefinite `80`, or more than 4 length bytes).
    case invalidLength(offset: Int, firstByte: UInt8)
    /// The value announces `declared` bytes but only `available` remain.
    case truncatedValue(offset: Int, declared: Int, available: Int)
    /// Constructed objects nested deeper than the decoder accepts.
    case nestingTooDeep(offset: Int)
    /// A tag or length that cannot be encoded (e.g. a SIMPLE-TLV tag of 00 or FF, a COMPACT-TLV value > 15 bytes).
    case notEncodable(String)

    public var description: String {
        switch self {
        case .truncatedTag(let o): return "TLV tag truncated at byte \(o)"
        case .tagTooLong(let o): return "BER-TLV tag at byte \(o) is longer than 4 bytes"
        case .truncatedLength(let o): return "TLV length truncated at byte \(o)"
        case .invalidLength(let o, let b):
            return "TLV length at byte \(o) uses a form that is not allowed (first length byte \([b].hexString()))"
        case .truncatedValue(let o, let d, let a):
            return "TLV value at byte \(o) announces \(d) bytes but only \(a) remain"
        case .nestingTooDeep(let o): return "BER-TLV objects nested too deeply at byte \(o)"
        case .notEncodable(let why): return "TLV cannot be encoded: \(why)"
        }
    }
}

// MARK: - BER-TLV

/// A BER-TLV data object as used by ISO/IEC 7816-4 §5.2 and §6 (tag 1…4 bytes, length 1…5 bytes, value).
///
/// The tag is kept as the big-endian integer of its bytes (`0x5F20`, `0x9F7F`, `0x7F49`…). A constructed object
/// (bit 6 of the first tag byte) has its value decoded into `children`; its `value` still holds the raw bytes.
public struct BERTLV: Sendable, Hashable, CustomStringConvertible {
    /// Tag bytes as a big-endian integer, e.g. `0x6F`, `0x5F2D`, `0xBF0C`.
    public var tag: UInt32
    /// The raw value field (for a constructed object: the encoding of its children, as read).
    public var value: [UInt8]
    /// The decoded children of a constructed object; empty for a primitive object.
    public var children: [BERTLV]

    /// Makes a primitive object.
    public init(tag: UInt32, value: [UInt8]) {
        self.tag = tag
        self.value = value
        self.children = []
    }

    /// Makes a constructed object from its children (`value` is their encoding).
    public init(tag: UInt32, children: [BERTLV]) {
        self.tag = tag
        self.children = children
        self.value = children.flatMap { $0.encoded }
    }

    /// The tag's bytes, 1…4 (`0x00` alone for tag 0).
    public var tagBytes: [UInt8] { BERTLV.tagBytes(tag) }

    /// True when bit 6 (0x20) of the first tag byte is set (ISO/IEC 7816-4 §5.2.2.1, ITU-T X.690 §8.1.2).
    public var isConstructed: Bool { BERTLV.isConstructed(tag) }

    /// Tag, length (shortest form), value.
    public var encoded: [UInt8] { tagBytes + BERTLV.encodeLength(value.count) + value }

    /// Tag, length, value; with `forceLongFormLength` a length below 128 is written `81 xx` (see
    /// `encodeLength(_:forceLongForm:)`).
    public func encoded(forceLongFormLength: Bool) -> [UInt8] {
        tagBytes + BERTLV.encodeLength(value.count, forceLongForm: forceLongFormLength) + value
    }

    public var description: String {
        "\(tagBytes.hexString()) [\(value.count)]" + (children.isEmpty ? "" : " {" + children.map(\.description).joined(separator: ", ") + "}")
    }

    /// The first descendant (depth-first, this object excluded) with `tag`.
    public func first(tag wanted: UInt32) -> BERTLV? {
        for c in children {
            if c.tag == wanted { return c }
            if let d = c.first(tag: wanted) { return d }
        }
        return nil
    }

    /// Follows `path` down the children: `path[0]` is a direct child of this object, and so on.
    public func child(path: [UInt32]) -> BERTLV? { BERTLV.find(path: path, in: children) }

    // MARK: Static helpers

    static func isConstructed(_ tag: UInt32) -> Bool { (tagBytes(tag).first ?? 0) & 0x20 != 0 }

    static func tagBytes(_ tag: UInt32) -> [UInt8] {
        if tag <= 0xFF { return [UInt8(tag)] }
        if tag <= 0xFFFF { return [UInt8(tag >> 8), UInt8(tag & 0xFF)] }
        if tag <= 0xFF_FFFF { return [UInt8(tag >> 16), UInt8((tag >> 8) & 0xFF), UInt8(tag & 0xFF)] }
        return [UInt8(tag >> 24), UInt8((tag >> 16) & 0xFF), UInt8((tag >> 8) & 0xFF), UInt8(tag & 0xFF)]
    }

    /// The shortest definite length field for `n` (ISO/IEC 7816-4 §5.2.2.2): `n` ≤ 127 on one byte, else
    /// `81`…`84` followed by 1…4 bytes.
    public static func encodeLength(_ n: Int) -> [UInt8] {
        precondition(n >= 0)
        if n < 0x80 { return [UInt8(n)] }
        if n <= 0xFF { return [0x81, UInt8(n)] }
        if n <= 0xFFFF { return [0x82, UInt8(n >> 8), UInt8(n & 0xFF)] }
        if n <= 0xFF_FFFF { return [0x83, UInt8(n >> 16), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] }
        return [0x84, UInt8((n >> 24) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
    }

    /// Definite length field for `n` bytes, in long form even below 128 when `forceLongForm` is set: `81 xx` for
    /// `n` ≤ 255, then as `encodeLength(_:)`. BER accepts such a length (ISO/IEC 8825-1 §8.1.3.5), DER and the
    /// shortest-form rule do not (X.690 §10.1); card profiles use it as a negative test for readers that only accept
    /// 1-byte lengths (vitale.md §9.2).
    public static func encodeLength(_ n: Int, forceLongForm: Bool) -> [UInt8] {
        if forceLongForm && n < 0x80 {
            precondition(n >= 0)
            return [0x81, UInt8(n)]
        }
        return encodeLength(n)
    }

    /// The encoding of one object without building it: `tag` (big-endian integer of its 1…4 bytes, e.g. `0x65`,
    /// `0x5F37`, `0xBF8102`), the definite length of `value` (shortest form, or `81 xx` below 128 with
    /// `forceLongFormLength`), `value`. A constructed tag takes its children's concatenated encoding as `value`.
    public static func encode(_ tag: UInt32, _ value: [UInt8], forceLongFormLength: Bool = false) -> [UInt8] {
        tagBytes(tag) + encodeLength(value.count, forceLongForm: forceLongFormLength) + value
    }

    /// The first object reached by following `path` through `objects` (top level first).
    public static func find(path: [UInt32], in objects: [BERTLV]) -> BERTLV? {
        guard let head = path.first else { return nil }
        for o in objects where o.tag == head {
            if path.count == 1 { return o }
            if let d = find(path: Array(path.dropFirst()), in: o.children) { return d }
        }
        return nil
    }

    /// Every object with `tag`, anywhere in `objects` (depth-first, document order).
    public static func all(tag wanted: UInt32, in objects: [BERTLV]) -> [BERTLV] {
        var out: [BERTLV] = []
        for o in objects {
            if o.tag == wanted { out.append(o) }
            out += all(tag: wanted, in: o.children)
        }
        return out
    }

    /// Maximum nesting of constructed objects accepted by the decoder.
    public static let maximumDepth = 32

    /// Decodes a sequence of BER-TLV objects.
    ///
    /// - Parameters:
    ///   - bytes: the encoded objects.
    ///   - skipPadding: skip `00` and `FF` bytes before, between and after objects (ISO/IEC 7816-4 §5.2.2 allows
    ///     them; card files padded with `FF` or `00` use it). With `false` they are read as tags.
    /// - Returns: the top-level objects; constructed ones carry their decoded `children`.
    /// - Throws: `TLVError` for a truncated tag/length/value, a tag over 4 bytes, a forbidden length form or
    ///   nesting deeper than `maximumDepth`.
    public static func decode(_ bytes: [UInt8], skipPadding: Bool = true) throws(TLVError) -> [BERTLV] {
        let r = decodeLenient(bytes, skipPadding: skipPadding)
        if let e = r.error { throw e }
        return r.objects
    }

    /// Decodes as much as possible: the objects read before the first problem, and that problem (or `nil`).
    public static func decodeLenient(_ bytes: [UInt8], skipPadding: Bool = true) -> (objects: [BERTLV], error: TLVError?) {
        var i = 0
        var objects: [BERTLV] = []
        do {
            try decodeList(bytes, from: &i, end: bytes.count, depth: 0, skipPadding: skipPadding, into: &objects)
            return (objects, nil)
        } catch {
            return (objects, error)
        }
    }

    /// Decodes one level of BER-TLV objects, the way a card reads a command data field: every object keeps its raw
    /// `value` and `children` stays empty even for a constructed tag, so content that is not itself BER-TLV (e.g.
    /// `7F 21 02 5F 37`, or an IAS-ECC SDO reference `70 { BF cls ref … }`) does not fail the decoding.
    ///
    /// - Parameters:
    ///   - bytes: the encoded objects.
    ///   - skipPadding: as in `decode(_:skipPadding:)`.
    ///   - maximumLengthBytes: the most bytes accepted after a long-form first length byte, 1…4. A command data
    ///     field is at most 65 535 bytes (ISO/IEC 7816-4 §5.1), so a card may refuse `84` with 3 here.
    /// - Returns: the top-level objects, `children` empty.
    /// - Throws: `TLVError` for a truncated tag/length/value, a tag over 4 bytes, or a length form that is not
    ///   allowed (`80`, `85`…`FF`, or more length bytes than `maximumLengthBytes`).
    public static func decodeOneLevel(
        _ bytes: [UInt8], skipPadding: Bool = true, maximumLengthBytes: Int = 4
    ) throws(TLVError) -> [BERTLV] {
        var i = 0
        var objects: [BERTLV] = []
        try decodeList(bytes, from: &i, end: bytes.count, depth: 0, skipPadding: skipPadding,
            nested: false, maximumLengthBytes: min(4, maximumLengthBytes), into: &objects)
        return objects
    }

    private static func decodeList(
        _ b: [UInt8], from i: inout Int, end: Int, depth: Int, skipPadding: Bool, nested: Bool = true,
        maximumLengthBytes: Int = 4, into out: inout [BERTLV]
    ) throws(TLVError) {
        if depth > maximumDepth { throw .nestingTooDeep(offset: i) }
        while i < end {
            if skipPadding && (b[i] == 0x00 || b[i] == 0xFF) {
                i += 1
                continue
            }
            let start = i
            // Tag
            var tag = UInt32(b[i])
            var tagLen = 1
            if b[i] & 0x1F == 0x1F {
                repeat {
                    guard start + tagLen < end else { throw .truncatedTag(offset: start) }
                    guard tagLen < 4 else { throw .tagTooLong(offset: start) }
                    tag = tag << 8 | UInt32(b[start + tagLen])
                    tagLen += 1
                } while b[start + tagLen - 1] & 0x80 != 0
            }
            i = start + tagLen
            // Length
            guard i < end else { throw .truncatedLength(offset: i) }
            let lenOffset = i
            let first = b[i]
            var length: Int
            if first < 0x80 {
                length = Int(first)
                i += 1
            } else {
                let n = Int(first & 0x7F)
                guard n >= 1 && n <= maximumLengthBytes else { throw .invalidLength(offset: lenOffset, firstByte: first) }
                guard i + n < end else { throw .truncatedLength(offset: lenOffset) }
                length = 0
                for k in 1...n { length = length << 8 | Int(b[i + k]) }
                i += 1 + n
            }
            guard length <= end - i else {
                throw .truncatedValue(offset: lenOffset, declared: length, available: end - i)
            }
            let value = Array(b[i..<(i + length)])
            var object = BERTLV(tag: tag, value: value)
            if nested && BERTLV.isConstructed(tag) {
                var j = i
                var kids: [BERTLV] = []
                try decodeList(b, from: &j, end: i + length, depth: depth + 1, skipPadding: skipPadding, into: &kids)
                object.children = kids
            }
            out.append(object)
            i += length
        }
    }
}

extension Array where Element == BERTLV {
    /// The first object reached by following `path` (see `BERTLV.find(path:in:)`).
    public func first(path: [UInt32]) -> BERTLV? { BERTLV.find(path: path, in: self) }
    /// The first object with `tag` anywhere in the tree.
    public func first(tag: UInt32) -> BERTLV? { BERTLV.all(tag: tag, in: self).first }
    /// The concatenated encoding of the objects.
    public var encoded: [UInt8] { flatMap { $0.encoded } }
}

// MARK: - SIMPLE-TLV

/// A SIMPLE-TLV data object (ISO/IEC 7816-4 §5.2.1): tag one byte `01`…`FE`; length one byte `00`…`FE`, or `FF`
/// followed by two bytes (0…65535).
public struct SimpleTLV: Sendable, Hashable {
    public var tag: UInt8
    public var value: [UInt8]

    public init(tag: UInt8, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }

    /// - Throws: `TLVError.notEncodable` for tag `00`/`FF` or a value over 65535 bytes.
    public func encoded() throws(TLVError) -> [UInt8] {
        guard tag != 0x00 && tag != 0xFF else { throw .notEncodable("SIMPLE-TLV tag \([tag].hexString()) is invalid") }
        guard value.count <= 0xFFFF else { throw .notEncodable("SIMPLE-TLV value of \(value.count) bytes") }
        if value.count < 0xFF { return [tag, UInt8(value.count)] + value }
        return [tag, 0xFF, UInt8(value.count >> 8), UInt8(value.count & 0xFF)] + value
    }

    /// Decodes consecutive SIMPLE-TLV objects.
    /// - Throws: `TLVError` for a truncated field or a tag `00`/`FF` (reported as `.invalidLength` is not used;
    ///   an invalid tag is `.notEncodable` with its offset in the message).
    public static func decode(_ b: [UInt8]) throws(TLVError) -> [SimpleTLV] {
        var out: [SimpleTLV] = []
        var i = 0
        while i < b.count {
            let tag = b[i]
            guard tag != 0x00 && tag != 0xFF else {
                throw .notEncodable("SIMPLE-TLV tag \([tag].hexString()) at byte \(i) is invalid")
            }
            guard i + 1 < b.count else { throw .truncatedLength(offset: i + 1) }
            var len = Int(b[i + 1])
            var v = i + 2
            if len == 0xFF {
                guard i + 3 < b.count else { throw .truncatedLength(offset: i + 1) }
                len = Int(b[i + 2]) << 8 | Int(b[i + 3])
                v = i + 4
            }
            guard len <= b.count - v else { throw .truncatedValue(offset: i + 1, declared: len, available: b.count - v) }
            out.append(SimpleTLV(tag: tag, value: Array(b[v..<(v + len)])))
            i = v + len
        }
        return out
    }
}

// MARK: - COMPACT-TLV

/// A COMPACT-TLV data object (ISO/IEC 7816-4 §8.1.1.2, used in the historical bytes): one byte `T L` (tag in the
/// high nibble, length 0…15 in the low nibble) followed by L value bytes.
public struct CompactTLV: Sendable, Hashable {
    /// The tag nibble, 0…15 (e.g. 1 country code, 3 card service data, 7 card capabilities, 8 status indicator).
    public var tag: UInt8
    public var value: [UInt8]

    public init(tag: UInt8, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }

    /// - Throws: `TLVError.notEncodable` for a tag over 15 or a value over 15 bytes.
    public func encoded() throws(TLVError) -> [UInt8] {
        guard tag <= 0x0F else { throw .notEncodable("COMPACT-TLV tag \(tag) is over 15") }
        guard value.count <= 15 else { throw .notEncodable("COMPACT-TLV value of \(value.count) bytes") }
        return [tag << 4 | UInt8(value.count)] + value
    }

    /// Decodes consecutive COMPACT-TLV objects.
    /// - Throws: `TLVError.truncatedValue` when a length runs past the end.
    public static func decode(_ b: [UInt8]) throws(TLVError) -> [CompactTLV] {
        let r = decodeLenient(b)
        if let e = r.error { throw e }
        return r.objects
    }

    /// The objects read before the first problem, and that problem (or `nil`).
    public static func decodeLenient(_ b: [UInt8]) -> (objects: [CompactTLV], error: TLVError?) {
        var out: [CompactTLV] = []
        var i = 0
        while i < b.count {
            let len = Int(b[i] & 0x0F)
            guard len <= b.count - i - 1 else {
                return (out, .truncatedValue(offset: i, declared: len, available: b.count - i - 1))
            }
            out.append(CompactTLV(tag: b[i] >> 4, value: Array(b[(i + 1)..<(i + 1 + len)])))
            i += 1 + len
        }
        return (out, nil)
    }
}
