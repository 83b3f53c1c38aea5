/// An ATR pattern: a value and a mask of the same length; an ATR matches when it has that length and
/// `atr[i] & mask[i] == value[i] & mask[i]` for every byte (the PC/SC "ATR + mask" form of the Windows smart-card
/// registrations, cps.md §2.2).
public struct ATRPattern: Sendable, Hashable, CustomStringConvertible {
    public var value: [UInt8]
    public var mask: [UInt8]

    /// - Precondition: `value` and `mask` have the same length.
    public init(value: [UInt8], mask: [UInt8]) {
        precondition(value.count == mask.count, "ATR pattern value and mask differ in length")
        self.value = value
        self.mask = mask
    }

    /// An exact ATR (mask all `FF`).
    public init(exact: [UInt8]) {
        self.init(value: exact, mask: [UInt8](repeating: 0xFF, count: exact.count))
    }

    /// Parses hex text where `xx` (or `..`) is a wildcard byte and `x`/`.` a wildcard nibble, e.g.
    /// `"3B 75 13 00 00 4x 09 xA 90 00"`. Separators (space, `:`, `-`) are optional. `nil` when malformed.
    public init?(hex: String) {
        var value: [UInt8] = []
        var mask: [UInt8] = []
        var nibbles: [(UInt8, UInt8)] = []  // (value, mask) per nibble
        for c in hex.unicodeScalars {
            switch c {
            case " ", ":", "-", "\t", "\n":
                if nibbles.count % 2 != 0 { return nil }
            case "x", "X", ".":
                nibbles.append((0, 0))
            default:
                guard c.isASCII, c != "+", let d = UInt8(String(c), radix: 16) else { return nil }
                nibbles.append((d, 0xF))
            }
        }
        guard nibbles.count % 2 == 0 else { return nil }
        var k = 0
        while k < nibbles.count {
            value.append(nibbles[k].0 << 4 | nibbles[k + 1].0)
            mask.append(nibbles[k].1 << 4 | nibbles[k + 1].1)
            k += 2
        }
        self.init(value: value, mask: mask)
    }

    /// True when `atr` has the pattern's length and agrees on every masked bit.
    public func matches(_ atr: [UInt8]) -> Bool {
        guard atr.count == value.count else { return false }
        for i in 0..<atr.count where atr[i] & mask[i] != value[i] & mask[i] { return false }
        return true
    }

    /// Hex with `x` for wildcard nibbles, bytes separated by spaces.
    public var description: String {
        let digits = Array("0123456789ABCDEF")
        return zip(value, mask).map { v, m in
            let hi = m & 0xF0 == 0xF0 ? String(digits[Int(v >> 4)]) : "x"
            let lo = m & 0x0F == 0x0F ? String(digits[Int(v & 0x0F)]) : "x"
            return hi + lo
        }.joined(separator: " ")
    }
}

/// What the stack recognises a card as, from its ATR. Raw values are the `kind` names of cli.md (`carte read`),
/// plus `cps4` for the CPS4, which is recognised but not supported yet.
public enum CardKind: String, Sendable, Hashable, CaseIterable {
    case vitale1, vitale2, cps3, cps3Contactless, cps4, desfire, iso14443, unknown

    /// False for kinds recognised but not handled by this stack (CPS4) and for `unknown`.
    public var isSupported: Bool { self != .cps4 && self != .unknown }
}

/// One entry of the known-cards table: a pattern, the kind it means and where the pattern comes from.
public struct KnownCard: Sendable, Hashable {
    public var pattern: ATRPattern
    public var kind: CardKind
    /// A short label (the card's name as the source gives it).
    public var label: String
    /// Where the pattern comes from (spec note section).
    public var source: String

    public init(_ pattern: ATRPattern, _ kind: CardKind, _ label: String, source: String) {
        self.pattern = pattern
        self.kind = kind
        self.label = label
        self.source = source
    }

    private static func p(_ s: String) -> ATRPattern {
        guard let p = ATRPattern(hex: s) else { preconditionFailure("bad built-in ATR pattern \(s)") }
        return p
    }

    /// The table, most specific entries first (exact ATRs before masks), so the CPS4 T=0 release-candidate ATR,
    /// which also satisfies the CPS3 contact mask, is recognised as CPS4 (cps.md §2.2).
    public static let table: [KnownCard] = [
        // Vitale 1, inverse convention (vitale.md §2.1)
        KnownCard(p("3F 65 25 00 22 09 F9 90 00"), .vitale1, "Sesam Vitale (French health card)", source: "vitale.md §2.1"),
        KnownCard(p("3F 65 25 00 22 09 69 90 00"), .vitale1, "Sesam Vitale (French health card)", source: "vitale.md §2.1"),
        KnownCard(p("3F 65 25 00 2C 09 F9 90 00"), .vitale1, "Sesam Vitale (French health card)", source: "vitale.md §2.1"),
        KnownCard(p("3F 65 25 00 2C 09 69 90 00"), .vitale1, "Sesam Vitale (French health card)", source: "vitale.md §2.1"),
        KnownCard(p("3F 65 25 00 52 09 6A 90 00"), .vitale1, "French carte Vitale", source: "vitale.md §2.1"),
        KnownCard(p("3F 65 25 00 A3 09 6A 90 00"), .vitale1, "Sesam Vitale (French health card)", source: "vitale.md §2.1"),
        KnownCard(p("3F 65 25 00 A4 09 6A 90 00"), .vitale1, "Sesam Vitale (French health card)", source: "vitale.md §2.1"),
        // Vitale 2, direct convention: 43…49 batches, EA or FA (vitale.md §2.2)
        KnownCard(p("3B 75 13 00 00 4x 09 xA 90 00"), .vitale2, "Carte Vitale 2", source: "vitale.md §2.2"),
        // CPS4 (cps.md §2.1), exact, before the CPS3 contact mask
        KnownCard(p("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44"), .cps4, "CPS4 contact (production)", source: "cps.md §2.1"),
        KnownCard(p("3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44"), .cps4, "CPS4 contact (release candidate)", source: "cps.md §2.1"),
        KnownCard(p("3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00"), .cps4, "CPS4 contact (release candidate, T=0)", source: "cps.md §2.1"),
        // CPS3 contact: the Cryptolib/OpenSC value and mask (cps.md §2.2)
        KnownCard(
            ATRPattern(
                value: [0x3B, 0, 0, 0, 0, 0, 0x12, 0x25, 0x00, 0x64, 0x80, 0, 0, 0, 0, 0x90, 0x00],
                mask: [0xFF, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF]),
            .cps3, "CPS3 contact (Carte de Professionnel de Santé)", source: "cps.md §2.2"),
        // CPS3 contactless: the Cryptolib CL value and mask (cps.md §2.2)
        KnownCard(
            ATRPattern(
                value: [0x3B, 0x8F, 0x80, 0x01, 0x00, 0x31, 0xB8, 0x64, 0x00, 0x00, 0xEC, 0xC0, 0x73, 0x94, 0x01, 0x80,
                    0x82, 0x90, 0x00, 0x0E],
                mask: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0xFF, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF,
                    0xFF, 0xFF, 0xFF, 0xFF]),
            .cps3Contactless, "CPS3 contactless", source: "cps.md §2.2"),
        // DESFire through a PC/SC contactless reader (pcsc-ccid-vpcd-contactless.md §7.2; pcsc-tools list)
        KnownCard(p("3B 81 80 01 80 80"), .desfire, "MIFARE DESFire (EV1…)", source: "pcsc-ccid-vpcd-contactless.md §7.2"),
        KnownCard(p("3B 86 80 01 06 75 77 81 02 80 00"), .desfire, "MIFARE DESFire EV1 (ATS historical bytes)", source: "smartcard_list.txt"),
        // ISO 14443 storage cards (MIFARE Classic, Ultralight, …): UID only (pcsc-ccid-vpcd-contactless.md §7.2)
        KnownCard(p("3B 8F 80 01 80 4F 0C A0 00 00 03 06 xx xx xx 00 00 00 00 xx"), .iso14443,
            "ISO 14443 storage card (PC/SC part 3)", source: "pcsc-ccid-vpcd-contactless.md §7.2"),
    ]

    /// The first table entry matching `atr`, or `nil`.
    public static func identify(_ atr: [UInt8]) -> KnownCard? {
        table.first { $0.pattern.matches(atr) }
    }

    /// The kind of card with this ATR; `.unknown` when no entry matches.
    public static func kind(of atr: [UInt8]) -> CardKind { identify(atr)?.kind ?? .unknown }
}
