/// Object identifiers of the French national health identifiers (`../shared/specs/ins.md` §1.1, §2.2).
public enum INSOID {
    /// INS-C, the identifier computed from carte Vitale data (2009–2021).
    public static let insc = "1.2.250.1.213.1.4.2"
    /// Matricule INS when it is a NIR.
    public static let nir = "1.2.250.1.213.1.4.8"
    /// Matricule INS when it is a NIA.
    public static let nia = "1.2.250.1.213.1.4.9"
    /// Test NIR.
    public static let testNIR = "1.2.250.1.213.1.4.10"
    /// Demonstration NIR.
    public static let demoNIR = "1.2.250.1.213.1.4.11"
}
