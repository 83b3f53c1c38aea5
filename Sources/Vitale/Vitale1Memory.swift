/// The Vitale 1 memory model: a Bull CP8 "B0-style" card read with class `BC` (`../shared/specs/vitale.md` §4.2 [R],
/// our simulator design §9.3 [D]).
///
/// - Memory is nibble-addressed; one 32-bit word covers 8 nibbles, so word addresses step by 8.
/// - The top 2 bits of a word are not data: zones are bit streams made of the low 30 bits of successive words,
///   read 4 bits at a time (BCD digits, `F` = filler; text as Latin-1 byte pairs ended by `FF`).
/// - `BC C0 00 00 08` gives ADMAX (bytes 0–1); `BC B0 AH AL Le` reads Le bytes (a multiple of 4) from nibble address
///   `AHAL`.
/// - The production area `2128h–2180h` holds pointer words `20 80 AH AL`: ASSURÉ, BÉNÉFICIAIRES, DROITS, HISTORIQUE.
public enum Vitale1Memory {
    /// Class byte of every Vitale 1 command.
    public static let cla: UInt8 = 0xBC
    /// First nibble address of the memory.
    public static let memoryStart = 0x0200
    /// Production area (pointer words), nibble addresses.
    public static let productionAreaStart = 0x2128
    public static let productionAreaLast = 0x2180
    /// Nibbles per 32-bit word.
    public static let nibblesPerWord = 8
    /// Largest Le that is a multiple of 4 in a short APDU (63 words).
    public static let maxReadBytes = 252

    /// The zone addresses found in the production area.
    public struct Pointers: Sendable, Hashable {
        public var assure: Int
        public var beneficiaires: Int
        public var droits: Int?
        public var historique: Int?
    }

    /// Reads the pointer words `20 80 AH AL` in order.
    /// - Throws: `VitaleError.corruptedData` when fewer than two pointers (ASSURÉ, BÉNÉFICIAIRES) are found.
    public static func pointers(fromProductionArea bytes: [UInt8]) throws(VitaleError) -> Pointers {
        var found: [Int] = []
        var i = 0
        while i + 4 <= bytes.count {
            if bytes[i] == 0x20 && bytes[i + 1] == 0x80 { found.append(Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])) }
            i += 4
        }
        guard found.count >= 2 else {
            throw .corruptedData(file: "production area", detail: "\(found.count) zone pointer(s) instead of 4")
        }
        for a in found where a % nibblesPerWord != 0 || a < memoryStart {
            throw .corruptedData(file: "production area", detail: "zone pointer \(String(a, radix: 16)) is not a word address")
        }
        return Pointers(
            assure: found[0], beneficiaires: found[1], droits: found.count > 2 ? found[2] : nil,
            historique: found.count > 3 ? found[3] : nil)
    }

    /// Joins the 30-bit payloads of the words in `bytes` (4 bytes per word, a trailing partial word ignored) and
    /// cuts the bit stream into nibbles.
    public static func nibbles(fromWords bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        var acc: UInt64 = 0
        var bits = 0
        var i = 0
        while i + 4 <= bytes.count {
            let word = UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
            acc = acc << 30 | UInt64(word & 0x3FFF_FFFF)
            bits += 30
            while bits >= 4 {
                out.append(UInt8((acc >> UInt64(bits - 4)) & 0xF))
                bits -= 4
            }
            acc &= (1 << UInt64(bits)) - 1
            i += 4
        }
        return out
    }

    /// A cursor over a nibble stream.
    struct Reader {
        let n: [UInt8]
        var i = 0

        var atEnd: Bool { i >= n.count }

        mutating func skipFiller() { while i < n.count && n[i] == 0xF { i += 1 } }

        /// `count` BCD digits as text.
        mutating func digits(_ count: Int, field: String) throws(VitaleError) -> String {
            guard i + count <= n.count else { throw .corruptedData(file: "Vitale 1 memory", detail: "\(field) is cut short") }
            var s = ""
            for k in 0..<count {
                let d = n[i + k]
                guard d <= 9 else {
                    throw .corruptedData(file: "Vitale 1 memory", detail: "\(field) holds a non-digit nibble \(String(d, radix: 16, uppercase: true))")
                }
                s.append(Character(Unicode.Scalar(0x30 + d)))
            }
            i += count
            return s
        }

        /// Latin-1 bytes (two nibbles each) up to the `FF` terminator.
        mutating func text(field: String) throws(VitaleError) -> String {
            var s = ""
            while true {
                guard i + 2 <= n.count else {
                    throw .corruptedData(file: "Vitale 1 memory", detail: "\(field) has no FF terminator")
                }
                let b = n[i] << 4 | n[i + 1]
                i += 2
                if b == 0xFF { return s.trimmingTrailingSpaces() }
                s.unicodeScalars.append(Unicode.Scalar(b))
                if s.unicodeScalars.count > 64 { throw .corruptedData(file: "Vitale 1 memory", detail: "\(field) is too long") }
            }
        }
    }

    /// The ASSURÉ zone: card type (2), serial (16), NIR (13, `2A`/`2B` as `A2`/`B2` nibbles), key (2), régime (2),
    /// caisse (3), centre (4), code gestion (2), after any `F` filler.
    public static func decodeAssure(_ nibbles: [UInt8]) throws(VitaleError) -> (cardType: String, serial: String, insured: VitaleInsured) {
        var r = Reader(n: nibbles)
        r.skipFiller()
        let type = try r.digits(2, field: "card type")
        let serial = try r.digits(16, field: "serial number")
        guard r.i + 13 <= nibbles.count else { throw .corruptedData(file: "Vitale 1 memory", detail: "NIR is cut short") }
        var nir = ""
        let body = Array(nibbles[r.i..<(r.i + 13)])
        var k = 0
        while k < 13 {
            // Corsica: the département letters are coded as A2 / B2 (either nibble order accepted)
            if k == 5 && k + 1 < 13 {
                let pair = (body[5], body[6])
                if pair == (0xA, 0x2) || pair == (0x2, 0xA) { nir += "2A"; k += 2; continue }
                if pair == (0xB, 0x2) || pair == (0x2, 0xB) { nir += "2B"; k += 2; continue }
            }
            guard body[k] <= 9 else { throw .corruptedData(file: "Vitale 1 memory", detail: "NIR holds a non-digit nibble") }
            nir.append(Character(Unicode.Scalar(0x30 + body[k])))
            k += 1
        }
        r.i += 13
        let key = try r.digits(2, field: "NIR key")
        let regime = try r.digits(2, field: "régime")
        let caisse = try r.digits(3, field: "caisse")
        let centre = try r.digits(4, field: "centre")
        let gestion = try r.digits(2, field: "code gestion")
        return (type, serial, VitaleInsured(nir: nir + key, regime: regime, caisse: caisse, centre: centre, codeGestion: gestion))
    }

    /// One beneficiary of the BÉNÉFICIAIRES zone.
    public struct RawBeneficiary: Sendable, Hashable {
        public var date: String
        public var rang: Int
        public var qualite: String
        public var nom: String
        public var prenom: String
    }

    /// The BÉNÉFICIAIRES zone: per person, date `AAMMJJ` (6 BCD), rang (1), qualité (1), nom and prénom as
    /// Latin-1 bytes each ended by `FF`; `F` filler between people. At most 19 people.
    public static func decodeBeneficiaires(_ nibbles: [UInt8]) throws(VitaleError) -> [RawBeneficiary] {
        var r = Reader(n: nibbles)
        var out: [RawBeneficiary] = []
        while true {
            r.skipFiller()
            if r.atEnd { break }
            guard out.count < 19 else {
                throw .corruptedData(file: "Vitale 1 memory", detail: "more than 19 beneficiaries")
            }
            let date = try r.digits(6, field: "birth date")
            let rang = Int(try r.digits(1, field: "rang")) ?? 1
            let qualite = "0" + (try r.digits(1, field: "qualité"))
            let nom = try r.text(field: "name")
            let prenom = try r.text(field: "first name")
            out.append(RawBeneficiary(date: date, rang: rang == 0 ? 1 : rang, qualite: qualite, nom: nom, prenom: prenom))
        }
        return out
    }

    /// The DROITS zone: for each beneficiary in order, a count nibble (0…3) then that many `AAMMJJ` start/end
    /// pairs (12 nibbles each); `F` filler after the last beneficiary.
    public static func decodeDroits(_ nibbles: [UInt8], beneficiaryCount: Int) throws(VitaleError) -> [[VitaleRightsPeriod]] {
        var out: [[VitaleRightsPeriod]] = []
        var r = Reader(n: nibbles)
        for k in 0..<beneficiaryCount {
            guard !r.atEnd, nibbles[r.i] != 0xF else { break }  // no rights recorded for the others
            let count = Int(nibbles[r.i])
            r.i += 1
            guard count <= 3 else {
                throw .corruptedData(file: "Vitale 1 memory", detail: "beneficiary \(k + 1) has \(count) rights periods (at most 3)")
            }
            var periods: [VitaleRightsPeriod] = []
            for _ in 0..<count {
                let s = try r.digits(6, field: "rights start")
                let e = try r.digits(6, field: "rights end")
                periods.append(VitaleRightsPeriod(start: s, end: e))
            }
            out.append(periods)
        }
        return out
    }
}
