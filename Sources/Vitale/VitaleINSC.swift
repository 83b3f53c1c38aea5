import INS

/// Fills each beneficiary's INS-C through the INS module (`../shared/specs/ins.md` §1.2: the beneficiary's NIR
/// certifié, else the card NIR for the assuré himself (qualité 00), else none, with the reason).
public enum VitaleINSC {
    /// `card` with `insc` (22 digits) or `inscReason` set on every beneficiary. The birth date goes in as stored
    /// (lunar values verbatim), the first-name field whole.
    public static func applied(to card: VitaleCard) -> VitaleCard {
        var c = card
        for i in c.beneficiaries.indices {
            let b = c.beneficiaries[i]
            let result = INSC.forBeneficiary(
                qualite: b.qualite, nirCertifie: b.nirCertifie, cardNIR: b.nir ?? card.insured.nir, prenom: b.prenom,
                dateNaissance: b.dateNaissance.raw)
            switch result {
            case .success(let insc):
                c.beneficiaries[i].insc = insc.value
                c.beneficiaries[i].inscReason = nil
            case .failure(let why):
                c.beneficiaries[i].insc = nil
                c.beneficiaries[i].inscReason = why.description
            }
        }
        return c
    }
}
