/// First-name normalisation for the INS-C seed (`../shared/specs/ins.md` §1.3 steps 1–2).
///
/// Rules, in order:
/// 1. Uppercase; `Œ`→`OE`, `Æ`→`AE` (ligatures [U] in the spec: spelled out, the safe choice).
/// 2. Accents become base letters (`É`→`E`) [I]; letters with a stroke too (`Ø`→`O`, `Ł`→`L`,
///    `Đ`→`D`) [D]; `ß` uppercases to `SS`.
/// 3. Everything that is not a letter A–Z is dropped: spaces (multi-word names are concatenated,
///    "ANNE SOPHIE" → "ANNESOPHIE" [C]), hyphens, apostrophes, digits, other scripts [I].
/// 4. Keep the first 10 letters, or right-pad with ASCII spaces to exactly 10 [C].
///
/// Combining marks (a decomposed `E` + U+0301) are dropped by rule 3, so composed and decomposed
/// input give the same result.
public enum INSCFirstName {
    /// The 10-character seed part for `prenom` (may be all spaces when no letter is left; the
    /// INS-C computation refuses that case).
    public static func normalise(_ prenom: String) -> String {
        var copy = prenom
        var out = [UInt8](repeating: 0x20, count: 10)
        _ = copy.withUTF8 { normalise(utf8: $0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes the normalised name into `out` (10 bytes, pre-filled with spaces by the caller) and
    /// returns the number of letters written (0…10), or -1 when the bytes are not valid UTF-8
    /// (a Latin-1 export, say: guessing would silently give a wrong INS-C). The whole field is
    /// checked, not only its first 10 letters. Pure ASCII takes a byte-only path.
    static func normalise(utf8 input: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        var i = 0
        let count = input.count
        while i < count {
            let b = input[i]
            if b < 0x80 {
                var u = b
                if u >= 0x61 && u <= 0x7A { u -= 0x20 }
                if u >= 0x41 && u <= 0x5A && n < 10 {
                    out[n] = u
                    n += 1
                }
                i += 1
                continue
            }
            // Non-ASCII: decode one scalar.
            let (scalar, length) = decodeScalar(input, at: i)
            guard let scalar else { return -1 }
            i += length
            guard n < 10, let folded = foldTable[scalar] else { continue }
            for f in folded.utf8 where n < 10 {
                out[n] = f
                n += 1
            }
        }
        return n
    }

    static func normalise(utf8 input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Int {
        out.withUnsafeMutableBufferPointer { normalise(utf8: input, into: $0.baseAddress!) }
    }

    /// Decodes the UTF-8 scalar starting at `i`: (value, bytes consumed); nil value when malformed
    /// (bad lead byte, missing continuation, overlong form, surrogate, beyond U+10FFFF).
    @inline(__always)
    static func decodeScalar(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32?, Int) {
        let b0 = UInt32(p[i])
        let need: Int
        var v: UInt32
        switch b0 {
        case 0xC2...0xDF: need = 1; v = b0 & 0x1F
        case 0xE0...0xEF: need = 2; v = b0 & 0x0F
        case 0xF0...0xF4: need = 3; v = b0 & 0x07
        default: return (nil, 1)
        }
        guard i + need < p.count else { return (nil, 1) }
        for k in 1...need {
            let c = UInt32(p[i + k])
            guard c & 0xC0 == 0x80 else { return (nil, 1) }
            v = (v << 6) | (c & 0x3F)
        }
        let minimum: UInt32 = need == 1 ? 0x80 : need == 2 ? 0x800 : 0x10000
        guard v >= minimum, v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else { return (nil, 1) }
        return (v, need + 1)
    }

    /// Uppercase-and-fold result of the letters of U+00C0–U+024F and U+1E00–U+1EFF (Latin-1
    /// Supplement, Latin Extended-A/B, Latin Extended Additional), computed from the Unicode
    /// canonical decompositions plus the ligature and stroke rules above. Scalars not listed
    /// are dropped.
    static let foldTable: [UInt32: String] = [
        0x00C0: "A", 0x00C1: "A", 0x00C2: "A", 0x00C3: "A", 0x00C4: "A", 0x00C5: "A", 0x00C6: "AE", 0x00C7: "C",
        0x00C8: "E", 0x00C9: "E", 0x00CA: "E", 0x00CB: "E", 0x00CC: "I", 0x00CD: "I", 0x00CE: "I", 0x00CF: "I",
        0x00D0: "D", 0x00D1: "N", 0x00D2: "O", 0x00D3: "O", 0x00D4: "O", 0x00D5: "O", 0x00D6: "O", 0x00D8: "O",
        0x00D9: "U", 0x00DA: "U", 0x00DB: "U", 0x00DC: "U", 0x00DD: "Y", 0x00DE: "TH", 0x00DF: "SS", 0x00E0: "A",
        0x00E1: "A", 0x00E2: "A", 0x00E3: "A", 0x00E4: "A", 0x00E5: "A", 0x00E6: "AE", 0x00E7: "C", 0x00E8: "E",
        0x00E9: "E", 0x00EA: "E", 0x00EB: "E", 0x00EC: "I", 0x00ED: "I", 0x00EE: "I", 0x00EF: "I", 0x00F0: "D",
        0x00F1: "N", 0x00F2: "O", 0x00F3: "O", 0x00F4: "O", 0x00F5: "O", 0x00F6: "O", 0x00F8: "O", 0x00F9: "U",
        0x00FA: "U", 0x00FB: "U", 0x00FC: "U", 0x00FD: "Y", 0x00FE: "TH", 0x00FF: "Y", 0x0100: "A", 0x0101: "A",
        0x0102: "A", 0x0103: "A", 0x0104: "A", 0x0105: "A", 0x0106: "C", 0x0107: "C", 0x0108: "C", 0x0109: "C",
        0x010A: "C", 0x010B: "C", 0x010C: "C", 0x010D: "C", 0x010E: "D", 0x010F: "D", 0x0110: "D", 0x0111: "D",
        0x0112: "E", 0x0113: "E", 0x0114: "E", 0x0115: "E", 0x0116: "E", 0x0117: "E", 0x0118: "E", 0x0119: "E",
        0x011A: "E", 0x011B: "E", 0x011C: "G", 0x011D: "G", 0x011E: "G", 0x011F: "G", 0x0120: "G", 0x0121: "G",
        0x0122: "G", 0x0123: "G", 0x0124: "H", 0x0125: "H", 0x0126: "H", 0x0127: "H", 0x0128: "I", 0x0129: "I",
        0x012A: "I", 0x012B: "I", 0x012C: "I", 0x012D: "I", 0x012E: "I", 0x012F: "I", 0x0130: "I", 0x0131: "I",
        0x0132: "IJ", 0x0133: "IJ", 0x0134: "J", 0x0135: "J", 0x0136: "K", 0x0137: "K", 0x0139: "L", 0x013A: "L",
        0x013B: "L", 0x013C: "L", 0x013D: "L", 0x013E: "L", 0x013F: "L", 0x0140: "L", 0x0141: "L", 0x0142: "L",
        0x0143: "N", 0x0144: "N", 0x0145: "N", 0x0146: "N", 0x0147: "N", 0x0148: "N", 0x0149: "N", 0x014C: "O",
        0x014D: "O", 0x014E: "O", 0x014F: "O", 0x0150: "O", 0x0151: "O", 0x0152: "OE", 0x0153: "OE", 0x0154: "R",
        0x0155: "R", 0x0156: "R", 0x0157: "R", 0x0158: "R", 0x0159: "R", 0x015A: "S", 0x015B: "S", 0x015C: "S",
        0x015D: "S", 0x015E: "S", 0x015F: "S", 0x0160: "S", 0x0161: "S", 0x0162: "T", 0x0163: "T", 0x0164: "T",
        0x0165: "T", 0x0166: "T", 0x0167: "T", 0x0168: "U", 0x0169: "U", 0x016A: "U", 0x016B: "U", 0x016C: "U",
        0x016D: "U", 0x016E: "U", 0x016F: "U", 0x0170: "U", 0x0171: "U", 0x0172: "U", 0x0173: "U", 0x0174: "W",
        0x0175: "W", 0x0176: "Y", 0x0177: "Y", 0x0178: "Y", 0x0179: "Z", 0x017A: "Z", 0x017B: "Z", 0x017C: "Z",
        0x017D: "Z", 0x017E: "Z", 0x017F: "S", 0x01A0: "O", 0x01A1: "O", 0x01AF: "U", 0x01B0: "U", 0x01CD: "A",
        0x01CE: "A", 0x01CF: "I", 0x01D0: "I", 0x01D1: "O", 0x01D2: "O", 0x01D3: "U", 0x01D4: "U", 0x01D5: "U",
        0x01D6: "U", 0x01D7: "U", 0x01D8: "U", 0x01D9: "U", 0x01DA: "U", 0x01DB: "U", 0x01DC: "U", 0x01DE: "A",
        0x01DF: "A", 0x01E0: "A", 0x01E1: "A", 0x01E6: "G", 0x01E7: "G", 0x01E8: "K", 0x01E9: "K", 0x01EA: "O",
        0x01EB: "O", 0x01EC: "O", 0x01ED: "O", 0x01F0: "J", 0x01F4: "G", 0x01F5: "G", 0x01F8: "N", 0x01F9: "N",
        0x01FA: "A", 0x01FB: "A", 0x0200: "A", 0x0201: "A", 0x0202: "A", 0x0203: "A", 0x0204: "E", 0x0205: "E",
        0x0206: "E", 0x0207: "E", 0x0208: "I", 0x0209: "I", 0x020A: "I", 0x020B: "I", 0x020C: "O", 0x020D: "O",
        0x020E: "O", 0x020F: "O", 0x0210: "R", 0x0211: "R", 0x0212: "R", 0x0213: "R", 0x0214: "U", 0x0215: "U",
        0x0216: "U", 0x0217: "U", 0x0218: "S", 0x0219: "S", 0x021A: "T", 0x021B: "T", 0x021E: "H", 0x021F: "H",
        0x0226: "A", 0x0227: "A", 0x0228: "E", 0x0229: "E", 0x022A: "O", 0x022B: "O", 0x022C: "O", 0x022D: "O",
        0x022E: "O", 0x022F: "O", 0x0230: "O", 0x0231: "O", 0x0232: "Y", 0x0233: "Y", 0x1E00: "A", 0x1E01: "A",
        0x1E02: "B", 0x1E03: "B", 0x1E04: "B", 0x1E05: "B", 0x1E06: "B", 0x1E07: "B", 0x1E08: "C", 0x1E09: "C",
        0x1E0A: "D", 0x1E0B: "D", 0x1E0C: "D", 0x1E0D: "D", 0x1E0E: "D", 0x1E0F: "D", 0x1E10: "D", 0x1E11: "D",
        0x1E12: "D", 0x1E13: "D", 0x1E14: "E", 0x1E15: "E", 0x1E16: "E", 0x1E17: "E", 0x1E18: "E", 0x1E19: "E",
        0x1E1A: "E", 0x1E1B: "E", 0x1E1C: "E", 0x1E1D: "E", 0x1E1E: "F", 0x1E1F: "F", 0x1E20: "G", 0x1E21: "G",
        0x1E22: "H", 0x1E23: "H", 0x1E24: "H", 0x1E25: "H", 0x1E26: "H", 0x1E27: "H", 0x1E28: "H", 0x1E29: "H",
        0x1E2A: "H", 0x1E2B: "H", 0x1E2C: "I", 0x1E2D: "I", 0x1E2E: "I", 0x1E2F: "I", 0x1E30: "K", 0x1E31: "K",
        0x1E32: "K", 0x1E33: "K", 0x1E34: "K", 0x1E35: "K", 0x1E36: "L", 0x1E37: "L", 0x1E38: "L", 0x1E39: "L",
        0x1E3A: "L", 0x1E3B: "L", 0x1E3C: "L", 0x1E3D: "L", 0x1E3E: "M", 0x1E3F: "M", 0x1E40: "M", 0x1E41: "M",
        0x1E42: "M", 0x1E43: "M", 0x1E44: "N", 0x1E45: "N", 0x1E46: "N", 0x1E47: "N", 0x1E48: "N", 0x1E49: "N",
        0x1E4A: "N", 0x1E4B: "N", 0x1E4C: "O", 0x1E4D: "O", 0x1E4E: "O", 0x1E4F: "O", 0x1E50: "O", 0x1E51: "O",
        0x1E52: "O", 0x1E53: "O", 0x1E54: "P", 0x1E55: "P", 0x1E56: "P", 0x1E57: "P", 0x1E58: "R", 0x1E59: "R",
        0x1E5A: "R", 0x1E5B: "R", 0x1E5C: "R", 0x1E5D: "R", 0x1E5E: "R", 0x1E5F: "R", 0x1E60: "S", 0x1E61: "S",
        0x1E62: "S", 0x1E63: "S", 0x1E64: "S", 0x1E65: "S", 0x1E66: "S", 0x1E67: "S", 0x1E68: "S", 0x1E69: "S",
        0x1E6A: "T", 0x1E6B: "T", 0x1E6C: "T", 0x1E6D: "T", 0x1E6E: "T", 0x1E6F: "T", 0x1E70: "T", 0x1E71: "T",
        0x1E72: "U", 0x1E73: "U", 0x1E74: "U", 0x1E75: "U", 0x1E76: "U", 0x1E77: "U", 0x1E78: "U", 0x1E79: "U",
        0x1E7A: "U", 0x1E7B: "U", 0x1E7C: "V", 0x1E7D: "V", 0x1E7E: "V", 0x1E7F: "V", 0x1E80: "W", 0x1E81: "W",
        0x1E82: "W", 0x1E83: "W", 0x1E84: "W", 0x1E85: "W", 0x1E86: "W", 0x1E87: "W", 0x1E88: "W", 0x1E89: "W",
        0x1E8A: "X", 0x1E8B: "X", 0x1E8C: "X", 0x1E8D: "X", 0x1E8E: "Y", 0x1E8F: "Y", 0x1E90: "Z", 0x1E91: "Z",
        0x1E92: "Z", 0x1E93: "Z", 0x1E94: "Z", 0x1E95: "Z", 0x1E96: "H", 0x1E97: "T", 0x1E98: "W", 0x1E99: "Y",
        0x1E9A: "A", 0x1E9B: "S", 0x1EA0: "A", 0x1EA1: "A", 0x1EA2: "A", 0x1EA3: "A", 0x1EA4: "A", 0x1EA5: "A",
        0x1EA6: "A", 0x1EA7: "A", 0x1EA8: "A", 0x1EA9: "A", 0x1EAA: "A", 0x1EAB: "A", 0x1EAC: "A", 0x1EAD: "A",
        0x1EAE: "A", 0x1EAF: "A", 0x1EB0: "A", 0x1EB1: "A", 0x1EB2: "A", 0x1EB3: "A", 0x1EB4: "A", 0x1EB5: "A",
        0x1EB6: "A", 0x1EB7: "A", 0x1EB8: "E", 0x1EB9: "E", 0x1EBA: "E", 0x1EBB: "E", 0x1EBC: "E", 0x1EBD: "E",
        0x1EBE: "E", 0x1EBF: "E", 0x1EC0: "E", 0x1EC1: "E", 0x1EC2: "E", 0x1EC3: "E", 0x1EC4: "E", 0x1EC5: "E",
        0x1EC6: "E", 0x1EC7: "E", 0x1EC8: "I", 0x1EC9: "I", 0x1ECA: "I", 0x1ECB: "I", 0x1ECC: "O", 0x1ECD: "O",
        0x1ECE: "O", 0x1ECF: "O", 0x1ED0: "O", 0x1ED1: "O", 0x1ED2: "O", 0x1ED3: "O", 0x1ED4: "O", 0x1ED5: "O",
        0x1ED6: "O", 0x1ED7: "O", 0x1ED8: "O", 0x1ED9: "O", 0x1EDA: "O", 0x1EDB: "O", 0x1EDC: "O", 0x1EDD: "O",
        0x1EDE: "O", 0x1EDF: "O", 0x1EE0: "O", 0x1EE1: "O", 0x1EE2: "O", 0x1EE3: "O", 0x1EE4: "U", 0x1EE5: "U",
        0x1EE6: "U", 0x1EE7: "U", 0x1EE8: "U", 0x1EE9: "U", 0x1EEA: "U", 0x1EEB: "U", 0x1EEC: "U", 0x1EED: "U",
        0x1EEE: "U", 0x1EEF: "U", 0x1EF0: "U", 0x1EF1: "U", 0x1EF2: "Y", 0x1EF3: "Y", 0x1EF4: "Y", 0x1EF5: "Y",
        0x1EF6: "Y", 0x1EF7: "Y", 0x1EF8: "Y", 0x1EF9: "Y",
    ]
}
