/// The matricule INS: the person's own NIR, or failing that their NIA, 15 characters with its key,
/// under the OID of its assigning authority (`../shared/specs/ins.md` §2.1, §2.2, §2.7).
///
/// This stack cannot *qualify* a matricule INS: only the CNAM INSi teleservice returns or confirms
/// it (ins.md §2.1). Every value built here is therefore ``qualification`` =
/// ``INSQualification/notQualified``, and must not be carried as a validated identity (FR Core
/// invariant fr-core-1 ties the INS slices to identity status VALI).
public struct MatriculeINS: Sendable, Hashable, CustomStringConvertible {
    /// The validated number (structure and key checked).
    public let nir: NIR
    /// Who assigned it: production NIR, NIA, test or demonstration NIR.
    public let authority: INSAuthority

    /// Always ``INSQualification/notQualified``: see the type's documentation.
    public var qualification: INSQualification { .notQualified }

    /// Builds a matricule from a valid NIR/NIA.
    /// - Parameter authority: nil picks ``INSAuthority/nir`` for a definitive NIR (first digit 1/2)
    ///   and ``INSAuthority/nia`` otherwise; pass ``INSAuthority/testNIR`` or
    ///   ``INSAuthority/demoNIR`` for fictitious test or demonstration patients (the number alone
    ///   cannot tell them apart).
    public init(nir: NIR, authority: INSAuthority? = nil) {
        self.nir = nir
        self.authority = authority ?? (nir.kind == .nir ? .nir : .nia)
    }

    /// Parses and validates `text` (13 or 15 characters) then builds the matricule.
    /// - Throws: ``NIRError``.
    public init(_ text: String, authority: INSAuthority? = nil) throws(NIRError) {
        self.init(nir: try NIR(text), authority: authority)
    }

    /// The OID of ``authority``.
    public var oid: String { authority.oid }

    /// Masked, with the authority: `INS-NIR 2 79 •• •• ••• ••• 83 (not qualified: …)`.
    public var description: String {
        "\(authority.typeCode) \(nir.masked) (\(qualification.description))"
    }

    /// FHIR `Identifier` (FR Core `fr-core-patient-ins` slices INS-NIR / INS-NIA / INS-NIR-TEST /
    /// INS-NIR-DEMO, ins.md §2.7) as one JSON object with keys in this order: `use` (`official`,
    /// or `temp` for a NIA), `type` (coding in `fr-core-cs-v2-0203`), `system` (`urn:oid:…`),
    /// `value` (the 15 characters, unmasked: this is for another system, never for display).
    public var fhirIdentifierJSON: String {
        FHIRIdentifier.json(
            use: authority == .nia ? "temp" : "official", typeCode: authority.typeCode,
            oid: authority.oid, value: nir.formatted)
    }

    /// HL7 v2 CX (e.g. PID-3), ins.md §2.7 [C example]:
    /// `279035121518989^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS`. CX.1 = the 15
    /// characters (unmasked), CX.4 = assigning authority (namespace, OID, `ISO`), CX.5 = `INS`.
    public var hl7v2CX: String {
        "\(nir.formatted)^^^\(authority.hl7Namespace)&\(authority.oid)&ISO^INS"
    }
}

/// Assigning authority of a matricule INS (ins.md §2.2, FR Core).
public enum INSAuthority: String, Sendable, Hashable, CaseIterable {
    /// 1.2.250.1.213.1.4.8, INS-NIR (production).
    case nir
    /// 1.2.250.1.213.1.4.9, INS-NIA.
    case nia
    /// 1.2.250.1.213.1.4.10, INS-NIR of fictitious test patients.
    case testNIR
    /// 1.2.250.1.213.1.4.11, INS-NIR of demonstration patients.
    case demoNIR

    public var oid: String {
        switch self {
        case .nir: INSOID.nir
        case .nia: INSOID.nia
        case .testNIR: INSOID.testNIR
        case .demoNIR: INSOID.demoNIR
        }
    }

    /// Identifier type code in FR Core `fr-core-cs-v2-0203`.
    public var typeCode: String {
        switch self {
        case .nir: "INS-NIR"
        case .nia: "INS-NIA"
        case .testNIR: "INS-NIR-TEST"
        case .demoNIR: "INS-NIR-DEMO"
        }
    }

    /// HL7 v2 namespace ID of CX.4.1 (ins.md §2.7 gives `ASIP-SANTE-INS-NIR`; the NIA one follows
    /// the same pattern [I]).
    public var hl7Namespace: String { self == .nia ? "ASIP-SANTE-INS-NIA" : "ASIP-SANTE-INS-NIR" }
}

/// Whether an INS has been qualified through the INSi teleservice.
public enum INSQualification: Sendable, Hashable, CustomStringConvertible {
    /// Not qualified: needs the INSi teleservice (this stack has no access to it).
    case notQualified

    public var description: String { "not qualified: needs the INSi teleservice" }
}

extension INSC {
    /// FHIR `Identifier` of the FR Core `INS-C` slice (ins.md §1.1): `use` = `secondary`, type
    /// `INS-C` in `fr-core-cs-v2-0203`, `system` = `urn:oid:1.2.250.1.213.1.4.2`, `value` = the
    /// 22 digits.
    public var fhirIdentifierJSON: String {
        FHIRIdentifier.json(use: "secondary", typeCode: "INS-C", oid: INSOID.insc, value: value)
    }

    /// HL7 v2 CX as Mediboard sent it (ins.md §2.7 [I]): `<22 digits>^^^&1.2.250.1.213.1.4.2&ISO^INS-C`.
    public var hl7v2CX: String { "\(value)^^^&\(INSOID.insc)&ISO^INS-C" }
}

enum FHIRIdentifier {
    static let typeSystem = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"

    /// Values are digits, `2A`/`2B`, fixed codes and OIDs: nothing to escape in JSON.
    static func json(use: String, typeCode: String, oid: String, value: String) -> String {
        #"{"use":"\#(use)","type":{"coding":[{"system":"\#(typeSystem)","code":"\#(typeCode)"}]},"#
            + #""system":"urn:oid:\#(oid)","value":"\#(value)"}"#
    }
}
