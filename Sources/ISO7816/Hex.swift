/// Hexadecimal rendering and parsing of byte strings, used for logs, transcripts, the CLI and tests.
extension Sequence where Element == UInt8 {
    /// Uppercase hexadecimal, two digits per byte, joined by `separator` (default: none).
    public func hexString(separator: String = "") -> String {
        let digits: [Character] = Array("0123456789ABCDEF")
        var out = ""
        var first = true
        for b in self {
            if !first { out += separator }
            first = false
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return out
    }
}

extension Array where Element == UInt8 {
    /// Parses hexadecimal text; spaces, tabs, newlines, `:` and `-` between bytes are ignored.
    /// Returns `nil` when a character is not a hex digit or the digit count is odd.
    public init?(hex: String) {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8? = nil
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"),
                UInt8(ascii: ":"), UInt8(ascii: "-"):
                if high != nil { return nil }
                continue
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        if high != nil { return nil }
        self = out
    }
}
