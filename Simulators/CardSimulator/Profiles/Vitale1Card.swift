import ISO7816

/// The Vitale 1 memory card of vitale.md §9.3 [D] (modelled on the Bull CP8 B0′ reports of §4.2 [R]):
/// inverse-convention ATR, class `BC` only, nibble-addressed memory of 32-bit words whose top 2 bits are not data,
/// zones as streams of 30-bit payloads holding BCD digits, dates on 6 digits with no century.
///
/// Commands: `BC C0 00 00 08` (card info: `ADMAX_hi ADMAX_lo 02 00` + 4 issuer bytes = the first 8 serial digits
/// in BCD), `BC B0 AH AL Le` (Le bytes from nibble address `AHAL`; Le a multiple of 4 else `67 00`; unaligned
/// address, below `0200h` or a read ending past ADMAX → `6B 00`). CLA `00` → `6E 00`; other INS → `6D 00`.
public final class Vitale1Card: VirtualCard {
    public let atr: [UInt8]
    /// Last nibble address + 1 of the memory (`2188h` default, or `2120h`).
    public let admax: Int
    /// Memory words by nibble address (a multiple of 8), from `0200h` up to ADMAX.
    public private(set) var words: [Int: UInt32] = [:]
    let issuerBytes: [UInt8]

    /// Nibble addresses of the zones [D].
    public static let assureZone = 0x0300
    /// Start of the production area holding the four zone pointers (ASSURÉ, BÉNÉFICIAIRES, DROITS, HISTORIQUE).
    public static let productionArea = 0x2128

    public init(persona: PatientPersona, admax: Int = 0x2188) {
        self.atr = persona.atrBytes.isEmpty ? [0x3F, 0x65, 0x25, 0x00, 0x2C, 0x09, 0x69, 0x90, 0x00] : persona.atrBytes
        self.admax = admax
        self.issuerBytes = Vitale2Profile.bcd(String(persona.serial.prefix(8)), bytes: 4)
        var a = 0x0200
        while a + 8 <= admax {
            words[a] = 0x3FFF_FFFF
            a += 8
        }
        var next = Self.assureZone
        var pointers: [Int] = []
        for zone in Self.zones(persona) {
            pointers.append(next)
            let ws = Self.pack(zone)
            for (k, w) in ws.enumerated() { words[next + 8 * k] = w }
            next += 8 * max(ws.count, 1) + 8  // one blank word between zones
        }
        for (k, p) in pointers.enumerated() {
            words[Self.productionArea + 8 * k] = 0x2080_0000 | UInt32(p & 0xFFFF)
        }
    }

    public func powerOn() {}
    public func powerOff() {}
    public func reset() {}

    public func process(_ command: [UInt8]) -> [UInt8] {
        guard let c = try? CommandAPDU(decoding: command) else { return [0x67, 0x00] }
        guard c.cla == 0xBC else { return [0x6E, 0x00] }
        switch c.ins {
        case 0xC0:
            guard c.p1 == 0, c.p2 == 0 else { return [0x6B, 0x00] }
            guard c.data.isEmpty, c.ne == 8 else { return [0x67, 0x00] }
            return [UInt8(admax >> 8), UInt8(admax & 0xFF), 0x02, 0x00] + issuerBytes + [0x90, 0x00]
        case 0xB0:
            guard c.data.isEmpty, let ne = c.ne, ne % 4 == 0 else { return [0x67, 0x00] }
            let address = Int(c.p1) << 8 | Int(c.p2)
            let count = ne / 4
            guard address % 8 == 0, address >= 0x0200, address + 8 * count <= admax else { return [0x6B, 0x00] }
            var out: [UInt8] = []
            out.reserveCapacity(ne + 2)
            for k in 0..<count {
                let w = words[address + 8 * k] ?? 0x3FFF_FFFF
                out += [UInt8(w >> 24), UInt8(w >> 16 & 0xFF), UInt8(w >> 8 & 0xFF), UInt8(w & 0xFF)]
            }
            return out + [0x90, 0x00]
        default:
            return [0x6D, 0x00]
        }
    }

    // MARK: Encoding

    /// Packs a nibble stream into words: 30-bit payloads (7.5 nibbles each), top 2 bits `00`, filler `F`.
    public static func pack(_ nibbles: [UInt8]) -> [UInt32] {
        var bits: [Bool] = []
        for n in nibbles { for b in (0..<4).reversed() { bits.append((n >> UInt8(b)) & 1 == 1) } }
        while bits.count % 30 != 0 { bits.append(true) }
        return stride(from: 0, to: bits.count, by: 30).map { start in
            bits[start..<(start + 30)].reduce(UInt32(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
    }

    /// Joins the 30-bit payloads of words and reads the nibble stream back from `bitOffset` (vitale.md §4.2
    /// decoding; the reported example of §4.2 lines its digits up at bit offset 2).
    public static func unpack(_ words: [UInt32], bitOffset: Int = 0) -> [UInt8] {
        var bits: [Bool] = []
        for w in words { for b in (0..<30).reversed() { bits.append((w >> UInt32(b)) & 1 == 1) } }
        bits = Array(bits.dropFirst(max(0, bitOffset)))
        return stride(from: 0, to: bits.count - bits.count % 4, by: 4).map { s in
            bits[s..<(s + 4)].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
    }

    static func digits(_ s: String) -> [UInt8] {
        s.unicodeScalars.map { v in
            switch v {
            case "0"..."9": return UInt8(v.value - 48)
            case "A": return 0xA
            case "B": return 0xB
            default: return 0xF
            }
        }
    }

    /// NIR on 13 nibbles with `2A`/`2B` coded as nibbles `A 2` / `B 2` [D].
    static func nirNibbles(_ nir13: String) -> [UInt8] {
        let n = nir13.replacingOccurrences(of: "2A", with: "A2").replacingOccurrences(of: "2B", with: "B2")
        return digits(n)
    }

    static func textNibbles(_ s: String) -> [UInt8] {
        (Vitale2Profile.ascii(s) + [0xFF]).flatMap { [$0 >> 4, $0 & 0x0F] }
    }

    /// The four zones as nibble streams [D]:
    /// ASSURÉ = card type (2) ‖ serial (16) ‖ NIR (13) ‖ key (2) ‖ régime (2) ‖ caisse (3) ‖ centre (4) ‖ code
    /// gestion (2); BÉNÉFICIAIRES = per person date `AAMMJJ` (6) ‖ rang (1) ‖ qualité (1) ‖ nom ‖ `FF` ‖ prénom ‖ `FF`;
    /// DROITS = per person a count nibble (0…3) then `AAMMJJ` start/end pairs; HISTORIQUE = empty.
    static func zones(_ p: PatientPersona) -> [[UInt8]] {
        let nir = p.insured.nir
        let nir13 = String(nir.prefix(13))
        let key = String(nir.dropFirst(13).prefix(2))
        var assure = digits("01") + digits(p.serial)
        assure += nirNibbles(nir13) + digits(key)
        assure += digits(p.insured.regime) + digits(p.insured.caisse) + digits(p.insured.centre)
            + digits(p.insured.codeGestion)
        var benef: [UInt8] = []
        var droits: [UInt8] = []
        for b in p.beneficiaries.prefix(19) {
            benef += digits(String(b.dateNaissance.suffix(6))) + digits(String(b.rang % 10))
                + digits(String(b.qualite.suffix(1)))
            benef += textNibbles(b.nomUsuel) + textNibbles(b.prenom)
            let periods = b.amo.prefix(3)
            droits.append(UInt8(periods.count))
            for r in periods { droits += digits(String(r.start.suffix(6))) + digits(String(r.end.suffix(6))) }
        }
        return [assure, benef, droits, []]
    }
}
