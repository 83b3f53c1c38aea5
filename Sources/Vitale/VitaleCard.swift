/// The carte Vitale generation (`../shared/specs/vitale.md` §1, §2).
public enum VitaleKind: String, Sendable, Hashable, Codable {
    /// Bull CP8 memory-style card, inverse convention, class `BC` (1998–2007).
    case vitale1
    /// ISO/IEC 7816-4 file system card (from 2007).
    case vitale2
}

/// What a carte Vitale says, read from the card (`../shared/specs/vitale.md` §6.2 groups 101–109).
public struct VitaleCard: Sendable, Hashable {
    /// Card generation.
    public var kind: VitaleKind
    /// The ATR the card answered (2…33 bytes).
    public var atr: [UInt8]
    /// Card serial number (16 digits on the simulated cards; group 101.2), `nil` when the card does not give it.
    public var serial: String?
    /// Card type code (group 101.1), when present.
    public var cardType: String?
    /// Start of validity, as stored (`AAAAMMJJ`); Vitale 1 has none.
    public var validityStart: String?
    /// End of validity, as stored; often absent (the sources disagree on a validity period, §1.2).
    public var validityEnd: String?
    /// The ouvrant droit and his or her organism.
    public var insured: VitaleInsured
    /// Every beneficiary, in card order (index 0 first); identity and NIR templates paired by index.
    public var beneficiaries: [VitaleBeneficiary]
    /// Data the card holds but only shows inside a CPS session (answered `69 82`); not a failure.
    public var protectedData: [VitaleProtectedData]
    /// The care date the rights were checked against.
    public var careDate: VitaleDay

    public init(
        kind: VitaleKind, atr: [UInt8], serial: String?, cardType: String? = nil, validityStart: String?,
        validityEnd: String? = nil, insured: VitaleInsured, beneficiaries: [VitaleBeneficiary],
        protectedData: [VitaleProtectedData] = [], careDate: VitaleDay
    ) {
        self.kind = kind
        self.atr = atr
        self.serial = serial
        self.cardType = cardType
        self.validityStart = validityStart
        self.validityEnd = validityEnd
        self.insured = insured
        self.beneficiaries = beneficiaries
        self.protectedData = protectedData
        self.careDate = careDate
    }

    /// True for a CNDA test card (caisse `349` or centre `0349`) or a GIE SESAM-Vitale card (régime `01`, caisse
    /// `999`), `vitale.md` §6.3 "Organism codes". Such cards must be refused outside test mode.
    public var isTestCard: Bool { testCardReason != nil }

    /// Why the card is a test card, or `nil`.
    public var testCardReason: String? {
        if insured.caisse == "349" || insured.centre == "0349" { return "CNDA test card (caisse 349)" }
        if insured.regime == "01" && insured.caisse == "999" { return "GIE SESAM-Vitale card (régime 01, caisse 999)" }
        return nil
    }

    /// The assuré himself: the first beneficiary of qualité `00` (§6.3 "Qualité").
    public var assure: VitaleBeneficiary? { beneficiaries.first { $0.qualite == "00" } }
}

/// The ouvrant droit (group 101): card NIR and paying organism.
public struct VitaleInsured: Sendable, Hashable {
    /// The card NIR: 13 characters + 2-digit key (15), the ouvrant droit's NSS.
    public var nir: String
    /// Code régime, 2 digits (01 régime général, 02 agricole…).
    public var regime: String
    /// Caisse gestionnaire, 3 digits.
    public var caisse: String
    /// Centre gestionnaire, 4 digits.
    public var centre: String
    /// Code gestion, 2 digits (`65` detainee, …).
    public var codeGestion: String

    public init(nir: String, regime: String, caisse: String, centre: String, codeGestion: String) {
        self.nir = nir
        self.regime = regime
        self.caisse = caisse
        self.centre = centre
        self.codeGestion = codeGestion
    }
}

/// One beneficiary (group 104 with its rights 105 and AMC 109).
public struct VitaleBeneficiary: Sendable, Hashable {
    /// Position on the card, 0-based: identity template `i` and NIR template `i` are the same person.
    public var index: Int
    public var nomUsuel: String
    /// Nom patronymique (birth name); `nil` when the card does not carry one.
    public var nomPatronymique: String?
    /// The whole usual first-name field.
    public var prenom: String
    /// Birth date exactly as stored.
    public var dateNaissance: VitaleCardDate
    /// Rang de naissance (twin rank), 1 by default.
    public var rang: Int
    /// Qualité, 2 digits `00`…`09` (`00` = assuré).
    public var qualite: String
    /// The card NIR (the ouvrant droit's, 15 characters), as the NIR template of this beneficiary holds it.
    public var nir: String?
    /// The beneficiary's own NIR certifié (15 characters) when the card has it.
    public var nirCertifie: String?
    /// NIR certification date, as stored.
    public var dateCertification: String?
    /// The 22-digit INS-C, or `nil` (then `inscReason` says why); `ins.md` §1.2.
    public var insc: String?
    /// Why `insc` is `nil`; `nil` when an INS-C was derived.
    public var inscReason: String?
    /// AMO rights periods (at most 3), as stored.
    public var rights: [VitaleRightsPeriod]
    /// Complementary cover, when present.
    public var amc: VitaleAMC?

    public init(
        index: Int, nomUsuel: String, nomPatronymique: String?, prenom: String, dateNaissance: VitaleCardDate,
        rang: Int, qualite: String, nir: String?, nirCertifie: String?, dateCertification: String? = nil,
        insc: String? = nil, inscReason: String? = nil, rights: [VitaleRightsPeriod], amc: VitaleAMC? = nil
    ) {
        self.index = index
        self.nomUsuel = nomUsuel
        self.nomPatronymique = nomPatronymique
        self.prenom = prenom
        self.dateNaissance = dateNaissance
        self.rang = rang
        self.qualite = qualite
        self.nir = nir
        self.nirCertifie = nirCertifie
        self.dateCertification = dateCertification
        self.insc = insc
        self.inscReason = inscReason
        self.rights = rights
        self.amc = amc
    }

    /// The qualité in words (`vitale.md` §6.3 table).
    public var qualiteLabel: String {
        switch qualite {
        case "00": return "assuré"
        case "01": return "ascendant, descendant, collatéral"
        case "02": return "conjoint"
        case "03": return "conjoint divorcé"
        case "04": return "concubin"
        case "05": return "conjoint séparé"
        case "06": return "enfant"
        case "07": return "bénéficiaire hors article 313"
        case "08": return "conjoint veuf"
        case "09": return "autre ayant droit"
        default: return "qualité \(qualite)"
        }
    }

    /// Checks the AMO rights at `careDate` (`vitale.md` §6.3 "AMO rights"): open when one period contains it.
    /// Expired rights do not make the card invalid; the software must warn (ADRi/CDRi).
    public func rightsOpen(at careDate: VitaleDay) -> VitaleRightsStatus {
        if rights.isEmpty { return .noPeriod }
        for p in rights where p.contains(careDate) { return .open(p) }
        if let future = rights.filter({ p in p.startDay.map { $0 > careDate } ?? false }).first {
            return .notYetOpen(future)
        }
        let last = rights.compactMap(\.endDay).max()
        return .closed(lastEnd: last)
    }
}

/// The outcome of a rights check at a care date.
public enum VitaleRightsStatus: Sendable, Hashable, CustomStringConvertible {
    /// A period contains the care date.
    case open(VitaleRightsPeriod)
    /// Every period ended before the care date (`lastEnd`, or `nil` when unreadable).
    case closed(lastEnd: VitaleDay?)
    /// The only periods start after the care date.
    case notYetOpen(VitaleRightsPeriod)
    /// The card has no rights period for this beneficiary.
    case noPeriod

    public var isOpen: Bool {
        if case .open = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .open(let p): return "rights open (\(p.start)–\(p.end))"
        case .closed(let e): return "rights closed" + (e.map { " since \($0)" } ?? "")
        case .notYetOpen(let p): return "rights not open yet (start \(p.start))"
        case .noPeriod: return "no rights period on the card"
        }
    }
}

/// One AMO rights period (group 105), dates as stored (`AAAAMMJJ`; `AAMMJJ` on Vitale 1).
public struct VitaleRightsPeriod: Sendable, Hashable {
    public var start: String
    public var end: String

    public init(start: String, end: String) {
        self.start = start
        self.end = end
    }

    var startDay: VitaleDay? { VitaleDay(stored: start) }
    var endDay: VitaleDay? { VitaleDay(stored: end) }

    /// True when `day` lies in [start, end] (both inclusive). An unreadable bound does not match.
    public func contains(_ day: VitaleDay) -> Bool {
        guard let s = startDay, let e = endDay else { return false }
        return s <= day && day <= e
    }
}

/// Complementary cover (group 109), `vitale.md` §9.2 template `69`.
public struct VitaleAMC: Sendable, Hashable {
    /// N° complémentaire B2 (8 characters).
    public var numeroB2: String?
    /// N° EDI.
    public var numeroEDI: String?
    /// Membership number.
    public var numeroAdherent: String?
    /// AMC processing indicator (2 characters).
    public var indicateurTraitement: String?
    public var validityStart: String?
    public var validityEnd: String?
    public var codeRoutage: String?
    public var identifiantHote: String?
    public var nomDomaine: String?

    public init(
        numeroB2: String? = nil, numeroEDI: String? = nil, numeroAdherent: String? = nil,
        indicateurTraitement: String? = nil, validityStart: String? = nil, validityEnd: String? = nil,
        codeRoutage: String? = nil, identifiantHote: String? = nil, nomDomaine: String? = nil
    ) {
        self.numeroB2 = numeroB2
        self.numeroEDI = numeroEDI
        self.numeroAdherent = numeroAdherent
        self.indicateurTraitement = indicateurTraitement
        self.validityStart = validityStart
        self.validityEnd = validityEnd
        self.codeRoutage = codeRoutage
        self.identifiantHote = identifiantHote
        self.nomDomaine = nomDomaine
    }
}

/// Data the card refused with `69 82` (security status not satisfied): it needs a CPS session (§7).
public struct VitaleProtectedData: Sendable, Hashable, CustomStringConvertible {
    /// What it is ("exemptions", "photo", or the POINTERS label of the file).
    public var what: String
    /// The file identifier when known.
    public var fileID: UInt16?

    public init(what: String, fileID: UInt16? = nil) {
        self.what = what
        self.fileID = fileID
    }

    public var description: String { "\(what): needs a CPS session" }
}
