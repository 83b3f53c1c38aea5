import CarteCrypto
import Foundation

/// A certificate read from a CPS card (cps.md §6.1, §8.4), parsed with CarteCrypto.
public struct CPSCertificate: Sendable, Hashable {
    /// What the card uses the certificate's key for.
    public enum Usage: String, Sendable, Hashable, Codable {
        /// "Certificat d'Authentification CPS", key `0x82` (INTERNAL AUTHENTICATE).
        case authentication
        /// "Certificat de Signature CPS", key `0x81` (PSO CDS).
        case signature
        /// "Certificat Technique CPS" of the contactless application (no PIN).
        case technical
        case other
    }

    public var usage: Usage
    /// The CDF label (e.g. "Certificat d'Authentification CPS").
    public var label: String
    /// The PKCS#15 iD, if the CDF gave one.
    public var id: [UInt8]?
    /// The EF it was read from.
    public var path: [UInt8]
    public var certificate: Certificate

    public var subject: String { certificate.subject.description }
    public var issuer: String { certificate.issuer.description }
    /// Serial number as uppercase hex.
    public var serial: String { certificate.serialHex }
    public var notBefore: Date { certificate.notBefore }
    public var notAfter: Date { certificate.notAfter }
    public var keyUsage: KeyUsage? { certificate.keyUsage }
    /// SHA-256 of the DER, 32 bytes.
    public var sha256: [UInt8] { certificate.sha256Fingerprint }

    /// The usage from a CDF label, else from the last byte of the iD (`01` signature, `02` authentication,
    /// `03` technical; cps.md §6.1 CKA_IDs).
    static func usage(label: String, id: [UInt8]?) -> Usage {
        let l = label.lowercased()
        if l.contains("technique") || l.contains("tech") { return .technical }
        if l.contains("authentification") || l.contains("authentication") { return .authentication }
        if l.contains("signature") { return .signature }
        switch id?.last {
        case 0x01: return .signature
        case 0x02: return .authentication
        case 0x03: return .technical
        default: return .other
        }
    }
}

/// The holder as a CPx certificate names it (cps.md §8.4): `CN=<IdNat_PS>+SN=<NOM>+GN=<PRÉNOM>, title=<profession
/// label>`; staff cards add `O`/`OU` (structure) and may carry `CN=<IdNat_Struct>/<code>`.
public struct CertificateHolder: Sendable, Hashable, Codable {
    /// The national identifier from CN (the whole CN, e.g. `899700412345` or `3750712184/GIRARD0042`).
    public var idNat: String?
    /// The RPPS when CN is `8` + 11 digits.
    public var rpps: String?
    public var nom: String?
    public var prenom: String?
    /// The `title` attribute (profession label, or a staff function).
    public var title: String?
    /// Organisation (`O`) and unit (`OU`), present on structure-attached staff cards.
    public var organisation: String?
    public var organisationalUnit: String?

    public init(_ cert: Certificate) {
        let s = cert.subject
        idNat = s.first("CN")
        nom = s.first("SN") ?? s.first("surname")
        prenom = s.first("GN") ?? s.first("givenName")
        title = s.first("title")
        organisation = s.first("O")
        organisationalUnit = s.first("OU")
        if let cn = idNat, cn.count == 12, cn.hasPrefix("8"), cn.allSatisfy(\.isNumber) {
            rpps = String(cn.dropFirst())
        }
    }

    /// A personal health-professional identifier: `8`+RPPS, or `0`+ADELI (9 characters).
    public var isPersonalProfessionalID: Bool {
        guard let cn = idNat else { return false }
        if rpps != nil { return true }
        return cn.hasPrefix("0") && cn.count == 10 && !cn.contains("/")
    }
}
