import ISO7816

/// The raw contents of the Vitale 2 files a read needs (each `nil` when the file was absent or protected).
public struct Vitale2Files: Sendable, Hashable {
    /// MF_VITALE identity file (SFI 2 under the MF, [R] RufusAdmin): `65{80 nom, 81 prénom, 82 date}` per person.
    public var ident: [UInt8]?
    /// VITALE beneficiary file (SFI 2, [R] RufusAdmin): `65{93 NIR, 84 rang, 85 qualité, 86 NIR certifié, …}`.
    public var benef: [UInt8]?
    /// Card file `66` (validity, type, serial), [D] §9.2.
    public var carte: [UInt8]?
    /// AMO file: `67` (organism) + one `68` per beneficiary (rights), [D] §9.2.
    public var amo: [UInt8]?
    /// AMC file: one `69` per beneficiary that has one, [D] §9.2.
    public var amc: [UInt8]?

    public init(ident: [UInt8]? = nil, benef: [UInt8]? = nil, carte: [UInt8]? = nil, amo: [UInt8]? = nil, amc: [UInt8]? = nil) {
        self.ident = ident
        self.benef = benef
        self.carte = carte
        self.amo = amo
        self.amc = amc
    }
}

/// Decodes the Vitale 2 files into a `VitaleCard` (tags: `../shared/specs/vitale.md` §6.1 [C] and §9.2 [D]).
/// INS-C values are not computed here (see `VitaleINSC`).
public enum Vitale2Decoder {
    /// - Throws: `VitaleError.corruptedData` for a malformed TLV, a field that cannot be what it claims, or identity
    ///   and NIR files listing a different number of people;
    ///   `VitaleError.missingData` when there is no identity template or no NIR at all.
    public static func decode(
        _ files: Vitale2Files, atr: [UInt8], careDate: VitaleDay, protectedData: [VitaleProtectedData] = []
    ) throws(VitaleError) -> VitaleCard {
        let identTemplates = try templates(0x65, in: files.ident, file: "identity")
        let nirTemplates = try templates(0x65, in: files.benef, file: "beneficiary")
        guard !identTemplates.isEmpty else { throw .missingData("any beneficiary identity") }
        // Identity i and NIR i are the same person: different counts would pair people with the wrong NIR.
        if !nirTemplates.isEmpty && nirTemplates.count != identTemplates.count {
            throw .corruptedData(
                file: "beneficiary",
                detail: "\(identTemplates.count) identities but \(nirTemplates.count) NIR templates; they cannot be paired")
        }

        // Card
        let carteObjects = try objects(files.carte, file: "card")
        let card66 = carteObjects.first { $0.tag == 0x66 }
        let validityStart = card66.flatMap { text($0, 0x80) }
        let validityEnd = card66.flatMap { text($0, 0x81) }
        let cardType = card66.flatMap { text($0, 0x82) }
        var serial = card66.flatMap { text($0, 0x83) }
        if let s = serial, s.isEmpty { serial = nil }

        // AMO: organism and rights
        let amoObjects = try objects(files.amo, file: "AMO")
        let org = amoObjects.first { $0.tag == 0x67 }
        var rightsByIndex: [Int: [VitaleRightsPeriod]] = [:]
        let rightsTemplates = amoObjects.filter { $0.tag == 0x68 }
        let rightsIndexes = beneficiaryIndexes(rightsTemplates)
        for (n, t) in rightsTemplates.enumerated() {
            let index = rightsIndexes[n]
            var periods: [VitaleRightsPeriod] = []
            for p in t.children where p.tag == 0xA0 {
                guard let s = text(p, 0x80), let e = text(p, 0x81) else {
                    throw .corruptedData(file: "AMO", detail: "rights period without start or end")
                }
                periods.append(VitaleRightsPeriod(start: s, end: e))
            }
            rightsByIndex[index, default: []] += periods
        }

        // AMC
        var amcByIndex: [Int: VitaleAMC] = [:]
        let amcTemplates = try objects(files.amc, file: "AMC").filter { $0.tag == 0x69 }
        let amcIndexes = beneficiaryIndexes(amcTemplates)
        for (n, t) in amcTemplates.enumerated() {
            let index = amcIndexes[n]
            amcByIndex[index] = VitaleAMC(
                numeroB2: text(t, 0x81), numeroEDI: text(t, 0x82), numeroAdherent: text(t, 0x83),
                indicateurTraitement: text(t, 0x84), validityStart: text(t, 0x85), validityEnd: text(t, 0x86),
                codeRoutage: text(t, 0x87), identifiantHote: text(t, 0x88), nomDomaine: text(t, 0x89))
        }

        // Beneficiaries: identity template i pairs with NIR template i
        var beneficiaries: [VitaleBeneficiary] = []
        for (i, id) in identTemplates.enumerated() {
            let nirT: BERTLV? = i < nirTemplates.count ? nirTemplates[i] : nil
            func field(_ tag: UInt32) -> String? { text(id, tag) ?? nirT.flatMap { text($0, tag) } }
            guard let nom = field(0x80) else { throw .corruptedData(file: "identity", detail: "beneficiary \(i + 1) has no name") }
            guard let prenom = field(0x81) else {
                throw .corruptedData(file: "identity", detail: "beneficiary \(i + 1) has no first name")
            }
            guard let rawDate = field(0x82) else {
                throw .corruptedData(file: "identity", detail: "beneficiary \(i + 1) has no birth date")
            }
            guard let date = VitaleCardDate(rawDate) else {
                throw .corruptedData(file: "identity", detail: "birth date of beneficiary \(i + 1) is not 6 or 8 digits")
            }
            let nir = try field(0x93).map { v throws(VitaleError) in try checkedNIR(v, what: "card NIR") }
            let certified = try field(0x86).map { v throws(VitaleError) in try checkedNIR(v, what: "NIR certifié") }
            let rang = field(0x84).flatMap { Int($0) } ?? 1
            var qualite = field(0x85) ?? (i == 0 ? "00" : "")
            if qualite.count == 1 { qualite = "0" + qualite }
            beneficiaries.append(
                VitaleBeneficiary(
                    index: i, nomUsuel: nom, nomPatronymique: field(0x88) ?? nom, prenom: prenom, dateNaissance: date,
                    rang: rang == 0 ? 1 : rang, qualite: qualite, nir: nir, nirCertifie: certified,
                    dateCertification: field(0x87), rights: rightsByIndex[i] ?? [], amc: amcByIndex[i]))
        }

        guard let cardNIR = beneficiaries.lazy.compactMap(\.nir).first else { throw .missingData("the insured person's NIR") }
        let insured = VitaleInsured(
            nir: cardNIR, regime: org.flatMap { text($0, 0x80) } ?? "", caisse: org.flatMap { text($0, 0x81) } ?? "",
            centre: org.flatMap { text($0, 0x82) } ?? "", codeGestion: org.flatMap { text($0, 0x83) } ?? "")
        return VitaleCard(
            kind: .vitale2, atr: atr, serial: serial, cardType: cardType, validityStart: validityStart,
            validityEnd: validityEnd, insured: insured, beneficiaries: beneficiaries, protectedData: protectedData,
            careDate: careDate)
    }

    /// The 0-based beneficiary index of each `68`/`69` template from its `80` index byte. The byte counts from 1
    /// (as our simulator writes it, §9.2 [D]) unless some template says 0; a template without `80` takes its position.
    static func beneficiaryIndexes(_ templates: [BERTLV]) -> [Int] {
        let raw = templates.map { t in t.children.first { $0.tag == 0x80 }?.value.first.map(Int.init) }
        let oneBased = !raw.contains(0)
        return raw.enumerated().map { n, r in r.map { oneBased ? $0 - 1 : $0 } ?? n }
    }

    /// The BER-TLV objects of a file (00 padding skipped); empty for an absent file.
    static func objects(_ bytes: [UInt8]?, file: String) throws(VitaleError) -> [BERTLV] {
        guard let bytes else { return [] }
        do { return try BERTLV.decode(bytes) } catch { throw .corruptedData(file: file, detail: error.description) }
    }

    static func templates(_ tag: UInt32, in bytes: [UInt8]?, file: String) throws(VitaleError) -> [BERTLV] {
        try objects(bytes, file: file).filter { $0.tag == tag }
    }

    /// A child's value as Latin-1 text with surrounding spaces removed (RufusAdmin decodes Latin-1 and trims).
    static func text(_ template: BERTLV, _ tag: UInt32) -> String? {
        guard let o = template.children.first(where: { $0.tag == tag }) else { return nil }
        return latin1(o.value)
    }

    static func latin1(_ bytes: [UInt8]) -> String {
        var s = ""
        s.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
        return s.trimmingTrailingSpaces()
    }

    /// A NIR field must be 15 characters: digits, with `2A`/`2B` allowed at positions 6–7.
    static func checkedNIR(_ v: String, what: String) throws(VitaleError) -> String {
        let u = Array(v.utf8)
        let ok = u.count == 15
            && u.enumerated().allSatisfy { i, c in
                (c >= 0x30 && c <= 0x39) || (i == 6 && (c == 0x41 || c == 0x42) && u[5] == 0x32)
            }
        guard ok else { throw .corruptedData(file: "beneficiary", detail: "the \(what) is not 15 NIR characters") }
        return v
    }
}
