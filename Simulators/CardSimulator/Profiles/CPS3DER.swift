import ISO7816

/// A minimal DER encoder (ITU-T X.690 §10) for the PKCS#15 / ISO/IEC 7816-15 files and the holder data objects
/// of the simulated CPS3 card. Only what the profile needs: definite lengths, universal and context tags.
enum CPS3DER {
    /// Tag ‖ definite length ‖ value (tag given as its 1…2 identifier octets).
    static func tlv(_ tag: UInt8, _ value: [UInt8]) -> [UInt8] { BERTLV.encode(UInt32(tag), value) }

    static func sequence(_ items: [UInt8]...) -> [UInt8] { tlv(0x30, items.flatMap { $0 }) }
    static func sequence(of items: [[UInt8]]) -> [UInt8] { tlv(0x30, items.flatMap { $0 }) }
    /// `[n]` constructed context-specific (`A0 + n`).
    static func context(_ n: UInt8, _ items: [UInt8]...) -> [UInt8] { tlv(0xA0 | n, items.flatMap { $0 }) }
    /// `[n]` primitive context-specific (`80 + n`).
    static func contextPrimitive(_ n: UInt8, _ value: [UInt8]) -> [UInt8] { tlv(0x80 | n, value) }

    static func octetString(_ b: [UInt8]) -> [UInt8] { tlv(0x04, b) }
    static func utf8(_ s: String) -> [UInt8] { tlv(0x0C, Array(s.utf8)) }
    static func printable(_ s: String) -> [UInt8] { tlv(0x13, Array(s.utf8)) }
    static func numeric(_ s: String) -> [UInt8] { tlv(0x12, Array(s.utf8)) }
    static func generalizedTime(_ s: String) -> [UInt8] { tlv(0x18, Array(s.utf8)) }
    static func boolean(_ v: Bool) -> [UInt8] { [0x01, 0x01, v ? 0xFF : 0x00] }
    static func null() -> [UInt8] { [0x05, 0x00] }
    static func enumerated(_ v: Int) -> [UInt8] { tlv(0x0A, integerContent(v)) }
    static func integer(_ v: Int) -> [UInt8] { tlv(0x02, integerContent(v)) }

    /// Two's-complement minimal content octets of a non-negative integer.
    static func integerContent(_ v: Int) -> [UInt8] {
        var out: [UInt8] = []
        var x = v
        repeat {
            out.insert(UInt8(x & 0xFF), at: 0)
            x >>= 8
        } while x > 0
        if out[0] & 0x80 != 0 { out.insert(0, at: 0) }
        return out
    }

    /// A named BIT STRING with the given bits set (bit 0 = most significant bit of the first octet), trailing
    /// zero bits removed as DER requires (X.690 §11.2.2).
    static func bitString(_ bits: [Int]) -> [UInt8] {
        guard let top = bits.max() else { return [0x03, 0x01, 0x00] }
        var bytes = [UInt8](repeating: 0, count: top / 8 + 1)
        for b in bits { bytes[b / 8] |= 0x80 >> UInt8(b % 8) }
        let unused = UInt8(7 - top % 8)
        return tlv(0x03, [unused] + bytes)
    }

    /// An OBJECT IDENTIFIER from its dotted text (X.690 §8.19).
    static func oid(_ dotted: String) -> [UInt8] {
        let arcs = dotted.split(separator: ".").compactMap { Int($0) }
        guard arcs.count >= 2 else { return [0x06, 0x00] }
        var content: [UInt8] = []
        func base128(_ v: Int) -> [UInt8] {
            var out: [UInt8] = [UInt8(v & 0x7F)]
            var x = v >> 7
            while x > 0 {
                out.insert(UInt8(x & 0x7F) | 0x80, at: 0)
                x >>= 7
            }
            return out
        }
        content += base128(arcs[0] * 40 + arcs[1])
        for a in arcs.dropFirst(2) { content += base128(a) }
        return tlv(0x06, content)
    }

    /// PKCS#15 `Path ::= SEQUENCE { path OCTET STRING, … }`.
    static func path(_ fids: [UInt16]) -> [UInt8] {
        sequence(octetString(fids.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }))
    }
}
