import Foundation
import ISO7816

/// The card types of the CPx family (cps.md §1.2): legacy numeric code and TRE_R87 string code.
public enum CPSCardType: String, Sendable, Hashable, Codable, CaseIterable {
    case cps = "CPS", cpf = "CPF", cpe = "CPE", cpa = "CPA", csa = "CSA"

    /// From the legacy SESAM-Vitale numeric code (0 CPS, 1 CPF, 2 CDE/CPE, 3 CDA/CPA, 4 CSA) or a string code.
    public init?(code: String) {
        switch code.uppercased() {
        case "0", "CPS": self = .cps
        case "1", "CPF": self = .cpf
        case "2", "CPE", "CDE": self = .cpe
        case "3", "CPA", "CDA": self = .cpa
        case "4", "CSA": self = .csa
        default: return nil
        }
    }

    /// A health professional's own card (CPS, or CPF for one in training); CPE/CPA/CSA are staff or servers.
    public var isHealthProfessional: Bool { self == .cps || self == .cpf }
}

/// The holder of a CPS card, from the business data objects `CPS_ID_CARD`, `CPS_NAME_PS`, `CPS_INFO_PS`
/// (cps.md §4.3, §4.4; on-card ASN.1 of the simulator's [D] proposal in §11.2, decoded leniently: every
/// INTEGER or string field is accepted in either form).
public struct CPSHolder: Sendable, Hashable {
    public var cardType: CPSCardType?
    /// The card type exactly as stored (numeric code or string).
    public var cardTypeCode: String?
    /// Type of the national identifier (cps.md §4.4: `8` RPPS, `0` ADELI, `3` FINESS/internal…).
    public var idNatType: Int?
    /// The national identifier as stored, *without* its type prefix when the card keeps it apart
    /// (e.g. `99700412345`, `3750712184/GIRARD0042`).
    public var idNatValue: String?
    /// Civilité as stored (`M`, `MME`, or a numeric code).
    public var civilite: String?
    public var nomExercice: String?
    public var prenomExercice: String?
    /// Profession code (TRE_G15, e.g. `10` Médecin), empty for staff cards.
    public var profession: String?
    /// Spécialité ordinale (TRE_R38, e.g. `SM26`), if any.
    public var specialite: String?
    /// Category / profession label of `CPS_INFO_PS` (e.g. `Medecin`), if present.
    public var categorie: String?
    /// Card validity as stored (`CPS_ID_CARD`), if present.
    public var validFrom: Date?
    public var validUntil: Date?
    /// The card says it is a test card.
    public var isTestCard: Bool?

    public init() {}

    /// The IdNat_PS as certificates carry it in CN: type digit + identifier (cps.md §4.4, §8.4), e.g. `899700412345`.
    public var idNat: String? {
        guard let v = idNatValue else { return nil }
        guard let t = idNatType else { return v }
        return v.hasPrefix(String(t)) && v.count > 11 ? v : "\(t)\(v)"
    }

    /// The 11-digit RPPS number when the identifier is an RPPS (type 8).
    public var rpps: String? {
        guard idNatType == 8, let v = idNatValue else { return nil }
        let digits = v.count == 12 && v.hasPrefix("8") ? String(v.dropFirst()) : v
        return digits.count == 11 && digits.allSatisfy(\.isNumber) ? digits : nil
    }
}

/// A situation d'exercice (`CPS_ACTIVITY_xx_PS`, cps.md §4.4 group 2; [D] ASN.1 of §11.2). PIN-protected.
public struct CPSSituation: Sendable, Hashable {
    public var index: Int
    public var modeExercice: String?
    public var statutExercice: String?
    public var secteurActivite: String?
    public var idStructType: Int?
    public var idStruct: String?
    public var raisonSociale: String?
}

/// One element of a DER SEQUENCE, reduced to what the business objects use.
enum DERField: Sendable, Hashable {
    case integer(Int)
    case text(String)
    case boolean(Bool)
    case time(Date?, String)
    case bytes([UInt8])
    case other

    var string: String? {
        switch self {
        case .integer(let i): return String(i)
        case .text(let s): return s
        case .bytes(let b): return String(bytes: b, encoding: .utf8)
        default: return nil
        }
    }
    var int: Int? {
        switch self {
        case .integer(let i): return i
        case .text(let s): return Int(s)
        default: return nil
        }
    }

    /// The fields of the outer SEQUENCE (`30 …`) of `bytes`; trailing `00`/`FF` padding ignored.
    static func sequence(_ bytes: [UInt8], what: String) throws(CPSError) -> [DERField] {
        // Files are often larger than their value and padded: only the first element counts.
        let decoded = BERTLV.decodeLenient(bytes, skipPadding: false)
        let objects = decoded.objects
        if objects.isEmpty, let e = decoded.error { throw .malformed(what, reason: e.description) }
        guard let seq = objects.first, seq.tag == 0x30 else { throw .malformed(what, reason: "not a SEQUENCE") }
        return seq.children.map(field)
    }

    static func field(_ o: BERTLV) -> DERField {
        switch o.tag {
        case 0x02, 0x0A:
            guard !o.value.isEmpty, o.value.count <= 7 else { return .other }
            var v = Int(Int8(bitPattern: o.value[0]))
            for b in o.value.dropFirst() { v = v << 8 | Int(b) }
            return .integer(v)
        case 0x0C, 0x12, 0x13, 0x14, 0x16, 0x1A, 0x1E:
            return .text(String(decoding: o.value, as: UTF8.self))
        case 0x01: return .boolean(o.value.first.map { $0 != 0 } ?? false)
        case 0x18, 0x17:
            let s = String(decoding: o.value, as: UTF8.self)
            return .time(parseTime(s), s)
        case 0x04: return .bytes(o.value)
        default: return .other
        }
    }

    static func parseTime(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        for fmt in ["yyyyMMddHHmmss'Z'", "yyMMddHHmmss'Z'", "yyyyMMddHHmmssZ", "yyyyMMdd"] {
            f.dateFormat = fmt
            if let d = f.date(from: s) { return d }
        }
        return nil
    }
}

extension CPSHolder {
    /// Decodes the holder from the contents of `CPS_ID_CARD`, `CPS_NAME_PS` and `CPS_INFO_PS` (any may be absent).
    /// - Throws: `CPSError.malformed` naming the object that does not decode.
    public init(idCard: [UInt8]?, name: [UInt8]?, info: [UInt8]?) throws(CPSError) {
        self.init()
        if let idCard { try apply(idCard: idCard) }
        if let name { try apply(name: name) }
        if let info { try apply(info: info) }
    }

    private static let civilites = [1: "M", 2: "MME", 3: "MLLE"]

    /// Applies `CPS_ID_CARD` (`SEQUENCE { typeCarte, emetteur, numeroSerie, debutValidite, finValidite, carteTest }`).
    mutating func apply(idCard bytes: [UInt8]) throws(CPSError) {
        let f = try DERField.sequence(bytes, what: "CPS_ID_CARD")
        guard let first = f.first?.string else { throw .malformed("CPS_ID_CARD", reason: "no card type") }
        cardTypeCode = first
        cardType = CPSCardType(code: first)
        var dates: [Date] = []
        for x in f.dropFirst() {
            switch x {
            case .time(let d, _): if let d { dates.append(d) }
            case .boolean(let b): isTestCard = b
            default: break
            }
        }
        if dates.count >= 2 {
            validFrom = dates[0]
            validUntil = dates[1]
        }
    }

    /// Applies `CPS_NAME_PS` (`SEQUENCE { typeIdNat, idNat, civilite, nomExercice, prenomExercice, profession }`).
    mutating func apply(name bytes: [UInt8]) throws(CPSError) {
        let f = try DERField.sequence(bytes, what: "CPS_NAME_PS")
        guard f.count >= 5 else { throw .malformed("CPS_NAME_PS", reason: "\(f.count) fields, at least 5 expected") }
        idNatType = f[0].int
        idNatValue = f[1].string
        if case .integer(let c) = f[2] { civilite = Self.civilites[c] ?? String(c) } else { civilite = f[2].string }
        nomExercice = f[3].string
        prenomExercice = f[4].string
        if f.count > 5, let p = f[5].string { profession = p }
    }

    /// Applies `CPS_INFO_PS` (`SEQUENCE { profession, specialite OPTIONAL, categorie OPTIONAL }`).
    mutating func apply(info bytes: [UInt8]) throws(CPSError) {
        let f = try DERField.sequence(bytes, what: "CPS_INFO_PS")
        if let p = f.first?.string, profession == nil || profession == "" { profession = p }
        // Both OPTIONAL fields are strings: with three fields the second is the specialité; with two, it is one
        // only when it looks like a code (TRE_R38 `SM26`: no lowercase, a digit, ≤ 8 characters), else the category.
        if f.count >= 3 {
            if let s = f[1].string, !s.isEmpty { specialite = s }
            categorie = f[2].string
        } else if f.count == 2, let s = f[1].string, !s.isEmpty {
            if Self.looksLikeCode(s) { specialite = s } else { categorie = s }
        }
    }

    static func looksLikeCode(_ s: String) -> Bool {
        s.count <= 8 && s.contains(where: \.isNumber) && !s.contains(where: { $0.isLowercase || $0 == " " })
    }
}

extension CPSSituation {
    /// Decodes `CPS_ACTIVITY_xx_PS` (`SEQUENCE { numLogique, modeExercice, statutExercice, secteurActivite,
    /// typeIdStruct, idStruct, raisonSociale, … }`).
    /// - Throws: `CPSError.malformed` when the bytes are not a SEQUENCE of at least 7 fields.
    public init(parsing bytes: [UInt8], index: Int) throws(CPSError) {
        let f = try DERField.sequence(bytes, what: "situation \(index)")
        guard f.count >= 7 else { throw .malformed("situation \(index)", reason: "\(f.count) fields, at least 7 expected") }
        self.index = f[0].int ?? index
        modeExercice = f[1].string
        statutExercice = f[2].string
        secteurActivite = f[3].string
        idStructType = f[4].int
        idStruct = f[5].string
        raisonSociale = f[6].string
    }
}
