/// Minimal BER-TLV encoding used to build simulated card contents (named apart from ISO7816.BERTLV, the host-side codec) (ISO/IEC 7816-4 §6.3, ISO/IEC 8825-1).
public enum CardTLV {
    /// Encodes a tag (1…3 bytes, given as its big-endian integer value, e.g. `0x65`, `0x5F37`, `0x7F21`), a
    /// definite length (short form below 128; `81 xx` / `82 xx xx` above) and the value.
    /// - Parameter forceLongForm: encode lengths below 128 as `81 xx` anyway (a negative test for parsers that only
    ///   accept 1-byte lengths, vitale.md §9.2 rules).
    public static func encode(_ tag: UInt32, _ value: [UInt8], forceLongForm: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        if tag > 0xFFFF { out.append(UInt8(tag >> 16 & 0xFF)) }
        if tag > 0xFF { out.append(UInt8(tag >> 8 & 0xFF)) }
        out.append(UInt8(tag & 0xFF))
        out += length(value.count, forceLongForm: forceLongForm)
        return out + value
    }

    /// The definite length octets for `n` bytes.
    public static func length(_ n: Int, forceLongForm: Bool = false) -> [UInt8] {
        if n < 0x80 && !forceLongForm { return [UInt8(n)] }
        if n <= 0xFF { return [0x81, UInt8(n)] }
        return [0x82, UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
    }

    /// Latin-1 bytes of a text (characters outside Latin-1 become `?`).
    public static func latin1(_ s: String) -> [UInt8] {
        s.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") }
    }

    /// Parses one level of BER-TLV objects; stops at a `00` or `FF` padding byte or at the end, and returns
    /// `nil` when an object runs past the input (never reads past it).
    public static func parse(_ bytes: [UInt8]) -> [(tag: UInt32, value: [UInt8])]? {
        var out: [(UInt32, [UInt8])] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x00 || bytes[i] == 0xFF { break }
            var tag = UInt32(bytes[i])
            if bytes[i] & 0x1F == 0x1F {
                repeat {
                    i += 1
                    guard i < bytes.count else { return nil }
                    tag = tag << 8 | UInt32(bytes[i])
                } while bytes[i] & 0x80 != 0 && tag <= 0xFFFFFF
            }
            i += 1
            guard i < bytes.count else { return nil }
            var len = Int(bytes[i])
            i += 1
            if len & 0x80 != 0 {
                let n = len & 0x7F
                guard n >= 1, n <= 3, i + n <= bytes.count else { return nil }
                len = 0
                for k in 0..<n { len = len << 8 | Int(bytes[i + k]) }
                i += n
            }
            guard len <= bytes.count - i else { return nil }
            out.append((tag, Array(bytes[i..<(i + len)])))
            i += len
        }
        return out
    }
}
