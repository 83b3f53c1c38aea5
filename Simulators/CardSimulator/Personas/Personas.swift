import Foundation
import ISO7816

/// The synthetic personas of `personas.json` (bundled copy of `../shared/fixtures/personas.json`), decoded with
/// every field. Dates stay as stored on the card (`AAAAMMJJ`, or `AAMMJJ` without century; lunar values kept).
///
/// Descriptions never show a PIN, PUK or key, and mask NIRs.
public struct PersonaFile: Codable, Sendable {
    public var about: String?
    public var patients: [PatientPersona]
    public var professionals: [ProfessionalPersona]
    public var badges: [BadgePersona]
    public var site: SitePersona
    public var testPKI: TestPKINames

    /// Decodes the bundled `personas.json`.
    /// - Throws: `PersonaCatalog.CatalogError.fixtureUnreadable` when the resource is missing or malformed.
    public static func bundled() throws(PersonaCatalog.CatalogError) -> PersonaFile {
        guard let url = Bundle.module.url(forResource: "personas", withExtension: "json") else {
            throw .fixtureUnreadable("personas.json is not in the CardSimulator bundle")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .fixtureUnreadable("cannot read \(url.path)") }
        return try decode(data)
    }

    /// Decodes personas from JSON bytes.
    public static func decode(_ data: Data) throws(PersonaCatalog.CatalogError) -> PersonaFile {
        do { return try JSONDecoder().decode(PersonaFile.self, from: data) } catch {
            throw .fixtureUnreadable("personas JSON does not match the expected shape: \(error)")
        }
    }
}

/// A digit string that must never be printed (PIN, PUK, key): its description is `****`.
public struct SecretDigits: Codable, Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The digits as ASCII bytes (`"1234"` → `31 32 33 34`), for building the card's PIN object.
    public let asciiBytes: [UInt8]
    public init(_ digits: String) { asciiBytes = Array(digits.utf8) }
    public init(from decoder: any Decoder) throws {
        asciiBytes = Array(try decoder.singleValueContainer().decode(String.self).utf8)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(String(decoding: asciiBytes, as: UTF8.self))
    }
    public var count: Int { asciiBytes.count }
    public var description: String { "****" }
    public var debugDescription: String { "****" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Masks a NIR for display: the first character and the key stay, the rest becomes `*`.
public func maskedNIR(_ nir: String) -> String {
    guard nir.count > 3 else { return String(repeating: "*", count: nir.count) }
    return String(nir.prefix(1)) + String(repeating: "*", count: nir.count - 3) + String(nir.suffix(2))
}

public struct PatientPersona: Codable, Sendable, CustomStringConvertible {
    public var id: String
    /// `"vitale1"` or `"vitale2"`.
    public var card: String
    /// ATR as hex text.
    public var atr: String
    /// Card serial number, 16 digits.
    public var serial: String
    /// Start of card validity `AAAAMMJJ` (Vitale 2 only).
    public var validityStart: String?
    public var insured: InsuredPerson
    public var beneficiaries: [Beneficiary]
    public var notes: String?

    public var atrBytes: [UInt8] { [UInt8](hex: atr) ?? [] }
    public var description: String { "patient \(id) (\(card), NIR \(maskedNIR(insured.nir)))" }
}

public struct InsuredPerson: Codable, Sendable {
    /// NIR + key, 15 characters (`2A`/`2B` allowed in positions 6-7).
    public var nir: String
    public var regime: String
    public var caisse: String
    public var centre: String
    public var codeGestion: String
}

public struct Beneficiary: Codable, Sendable {
    public var nomUsuel: String
    public var nomPatronymique: String?
    public var prenom: String
    public var dateNaissance: String
    public var rang: Int
    public var qualite: String
    public var nirCertifie: String?
    public var dateCertification: String?
    public var amo: [RightsPeriod]
}

public struct RightsPeriod: Codable, Sendable, Hashable {
    public var start: String
    public var end: String
}

public struct ProfessionalPersona: Codable, Sendable, CustomStringConvertible {
    public var id: String
    /// `"cps3"`.
    public var card: String
    /// `"contact"` and/or `"contactless"`.
    public var interfaces: [String]
    /// CPS, CPE, …
    public var cardType: String
    public var serialDigits: String
    public var idNatType: Int
    public var rpps: String?
    public var idNat: String?
    public var civilite: String
    public var nomExercice: String
    public var prenomExercice: String
    public var profession: String
    public var professionLabel: String
    public var specialite: String?
    public var pin: SecretDigits
    public var puk: SecretDigits
    public var pinTriesLeft: Int
    public var situations: [Situation]
    public var certificates: CertificateStatus
    public var notes: String?

    public var description: String { "professional \(id) (\(cardType) \(nomExercice))" }
}

public struct Situation: Codable, Sendable {
    public var modeExercice: String
    public var idStructType: Int
    public var idStruct: String
    public var raisonSociale: String
    public var secteurActivite: String
}

public struct CertificateStatus: Codable, Sendable {
    /// `valid`, `revoked` or `expired`.
    public var status: String
    public var reason: String?
}

public struct BadgePersona: Codable, Sendable, CustomStringConvertible {
    public var id: String
    /// `desfire-ev1` or `iso14443a-uid`.
    public var card: String
    public var uid: String
    /// The ATR a PC/SC part 3 reader builds for it.
    public var atr: String
    public var application: BadgeApplication?
    public var notes: String?

    public var uidBytes: [UInt8] { [UInt8](hex: uid) ?? [] }
    public var atrBytes: [UInt8] { [UInt8](hex: atr) ?? [] }
    public var description: String { "badge \(id) (\(card))" }
}

public struct BadgeApplication: Codable, Sendable {
    public var aid: String
    public var keyType: String
    public var keyNumber: Int
    public var fileId: Int
    public var content: BadgeContent
}

public struct BadgeContent: Codable, Sendable {
    public var badgeNumber: String
    public var holder: String
}

public struct SitePersona: Codable, Sendable, CustomStringConvertible {
    public var desfireMasterKeyAES128: SecretDigits
    public var notes: String?
    public var description: String { "site (master key hidden)" }
}

public struct TestPKINames: Codable, Sendable {
    public var root: String
    public var intermediate: String
    public var notes: String?
}
