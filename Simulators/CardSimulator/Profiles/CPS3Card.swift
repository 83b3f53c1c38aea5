import CarteCrypto
import ISO7816

/// A private RSA key of the simulated CPS3 (cps.md §6.1): its reference, the DF that holds its SDO, who may use
/// it and which MSE templates/algorithms it accepts. The key material never leaves the object.
public final class CPS3Key: CardKey {
    /// MSE tag `84` value: 0x81 signature, 0x82 authentication, 0x83 technical (contactless).
    public let reference: UInt8
    /// `.pin(0x01)` for 0x81/0x82; `.always` for the technical key.
    public let useCondition: AccessCondition
    /// FID of the DF holding the key SDO (`0001` contact, `0002` contactless).
    public let dfFID: UInt16
    /// Algorithm references accepted per CRT tag (`B6` DST, `A4` AT, `B8` CT).
    public let algorithms: [UInt8: Set<UInt8>]
    let privateKey: RSAPrivateKey

    init(reference: UInt8, privateKey: RSAPrivateKey, useCondition: AccessCondition, dfFID: UInt16,
        algorithms: [UInt8: Set<UInt8>])
    {
        self.reference = reference
        self.privateKey = privateKey
        self.useCondition = useCondition
        self.dfFID = dfFID
        self.algorithms = algorithms
    }

    /// Modulus length in bytes (256 for RSA-2048).
    public var modulusLength: Int { privateKey.modulusLength }
}

/// The simulated CPS3 card (contact and contactless personalities of the same IAS-ECC chip), built on the
/// simulator card OS with the layout of `../shared/specs/cps.md` §11.2 [D].
///
/// Contact: ATR `3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00`, T=0 only, so the card OS runs in
/// `strict-t0` (case-4 answers via `61 xx` + GET RESPONSE, wrong Le → `6C xx`); MF (DF name = the ECC root AID
/// of EF.ATR) with EF.DIR, EF.ATR, EF.SN.ICC, CHV SDOs 01 (PIN, 3 tries) and 02 (PUK, 10 tries); DF 0001 (contact
/// PKCS#15 application) with ODF, TokenInfo, PrKDF, CDF, AODF, DODF, certificates, holder data and the key SDOs
/// 0x81/0x82; DF 0002 (contactless application) with its public files.
///
/// Contactless: ATR `3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E`, data returned directly (ISO
/// 14443-4), no PIN object, only the technical key 0x83 (usable without PIN for INTERNAL AUTHENTICATE), no
/// PIN-protected file readable, `3F00/0001/7001` selectable but not readable (cps.md §7).
///
/// Crypto commands (cps.md §6.3): MSE SET `00 22 41 {AA,B6,A4,B8}` (tags `80`/`84` in either order), PSO HASH
/// `00 2A 90 A0` (IAS-ECC `90`/`80` format, resumes SHA-1/SHA-256 from the host's intermediate state and bit
/// count), PSO COMPUTE DIGITAL SIGNATURE `00 2A 9E 9A` (after PSO HASH or with a 20/32-byte digest), INTERNAL
/// AUTHENTICATE `00 88 00 00` (card-side PKCS#1 type 1 padding, input ≤ 40 % of the modulus), PSO DECIPHER
/// `00 2A 80 86` with the `81` padding indicator and command chaining (CLA `10`). GET DATA `00 CB 3F FF` answers the
/// CHV SDOs (MF current) and the private-key SDOs (their DF current) in the IAS-ECC `70 … BF xx yy …` format, and
/// `6A 88` for SE objects like the real card.
public enum CPS3Profile {
    /// Simulation switch: when on (in `CardOS.enabledFlags`), EF_ACTUA `3F00/D010` exists (cps.md §4.1).
    public static let actuaFlag = "cps3.actua"

    /// Errors when building a card.
    public enum BuildError: Error, Sendable, CustomStringConvertible {
        case noCredentials(persona: String, reason: String)
        case noContactlessInterface(persona: String)
        case noContactInterface(persona: String)

        public var description: String {
            switch self {
            case .noCredentials(let p, let r): return "the test PKI has no keys for persona '\(p)': \(r)"
            case .noContactlessInterface(let p): return "persona '\(p)' has no contactless interface"
            case .noContactInterface(let p): return "persona '\(p)' has no contact interface"
            }
        }
    }

    /// Builds the card of a CPS persona with its keys and certificates from the shared test PKI.
    /// - Parameters:
    ///   - persona: a professional persona (`card == "cps3"`).
    ///   - interface: `.contact` (default) or `.contactless` (only for personas with a contactless interface).
    /// - Throws: `BuildError` when the test PKI cannot give the persona's keys or the interface does not exist.
    public static func makeCard(persona: ProfessionalPersona, interface: CardInterface = .contact) throws(BuildError)
        -> OSCard
    {
        let creds: TestPKI.Credentials
        do { creds = try TestPKI.shared().credentials(forPersona: persona.id) } catch {
            throw .noCredentials(persona: persona.id, reason: error.description)
        }
        return try makeCard(persona: persona, credentials: creds, interface: interface)
    }

    /// Builds the card with explicit credentials (tests can pass their own keys).
    public static func makeCard(persona: ProfessionalPersona, credentials: TestPKI.Credentials, interface: CardInterface)
        throws(BuildError) -> OSCard
    {
        let cl = interface == .contactless
        if cl && !persona.interfaces.contains("contactless") { throw .noContactlessInterface(persona: persona.id) }
        if !cl && !persona.interfaces.contains("contact") { throw .noContactInterface(persona: persona.id) }

        let pinRequired: AccessCondition = cl ? .never : .pin(0x01)
        let mf = DedicatedFile(fid: 0x3F00, name: CPS3Files.eccRootAID, label: "MF")
        let dir = ElementaryFile(fid: CPS3Files.FID.dir, sfi: 0x1E, label: "EF.DIR", bytes: CPS3Files.dir())
        let atr = ElementaryFile(fid: CPS3Files.FID.atr, sfi: 0x1D, label: "EF.ATR", bytes: CPS3Files.atrFile)
        let sn = ElementaryFile(fid: CPS3Files.FID.snICC, sfi: 0x1C, label: "EF.SN.ICC",
            bytes: CPS3Files.snICC(serialDigits: persona.serialDigits))
        let actua = ElementaryFile(fid: CPS3Files.FID.actua, label: "EF_ACTUA",
            bytes: BERTLV.encode(0xEC, BERTLV.encode(0x81, [0x20, 0x24, 0x01, 0x01, 0x08, 0x00, 0x00])
                + BERTLV.encode(0x82, [0x20, 0x24, 0x01, 0x01, 0x08, 0x05, 0x00])))
        mf.add(dir).add(atr).add(sn)

        // DF 0001: contact PKCS#15 application.
        let app = DedicatedFile(fid: CPS3Files.FID.pkcs15Contact, name: CPS3Files.contactAID, label: "CPS3 PKCS#15")
        app.add(ElementaryFile(fid: CPS3Files.FID.odf, label: "ODF", bytes: CPS3Files.odf(contactless: false)))
        app.add(ElementaryFile(fid: CPS3Files.FID.tokenInfo, label: "TokenInfo",
            bytes: CPS3Files.tokenInfo(serialDigits: persona.serialDigits, contactless: false)))
        app.add(ElementaryFile(fid: CPS3Files.FID.prkdf, label: "PrKDF", bytes: CPS3Files.prkdf(contactless: false)))
        app.add(ElementaryFile(fid: CPS3Files.FID.cdf, label: "CDF", bytes: CPS3Files.cdf(contactless: false)))
        app.add(ElementaryFile(fid: CPS3Files.FID.aodf, label: "AODF", bytes: CPS3Files.aodf()))
        app.add(ElementaryFile(fid: CPS3Files.FID.dodf, label: "DODF",
            bytes: CPS3Files.dodf(situationCount: persona.situations.count)))
        app.add(ElementaryFile(fid: CPS3Files.FID.signatureCertificate, label: "Certificat de Signature CPS",
            bytes: credentials.signCert.der))
        app.add(ElementaryFile(fid: CPS3Files.FID.authenticationCertificate, label: "Certificat d'Authentification CPS",
            bytes: credentials.authCert.der))
        app.add(ElementaryFile(fid: CPS3Files.FID.idCard, label: "CPS_ID_CARD", bytes: CPS3Files.idCard(persona)))
        app.add(ElementaryFile(fid: CPS3Files.FID.namePS, label: "CPS_NAME_PS", bytes: CPS3Files.namePS(persona)))
        app.add(ElementaryFile(fid: CPS3Files.FID.langPS, label: "CPS_LANG_PS", bytes: CPS3Files.langPS()))
        app.add(ElementaryFile(fid: CPS3Files.FID.infoPS, label: "CPS_INFO_PS", bytes: CPS3Files.infoPS(persona)))
        app.add(ElementaryFile(fid: CPS3Files.FID.cpsData, label: "CPS_DATA", bytes: CPS3Files.cpsData(),
            update: cl ? .never : .always))
        for (i, s) in persona.situations.prefix(16).enumerated() {
            app.add(ElementaryFile(fid: CPS3Files.FID.firstActivity + UInt16(i), label: "CPS_ACTIVITY_\(i + 1)",
                bytes: CPS3Files.activity(s, index: i + 1), read: pinRequired))
        }
        app.add(ElementaryFile(fid: CPS3Files.FID.contactOnly, label: "7001 contact only",
            bytes: [UInt8](repeating: 0, count: 16), read: cl ? .never : .always))
        mf.add(app)

        // DF 0002: contactless PKCS#15 application (present on both interfaces; its key only works over CL).
        let clApp = DedicatedFile(fid: CPS3Files.FID.pkcs15Contactless, name: CPS3Files.contactlessAID,
            label: "CPS3 PKCS#15 CL")
        clApp.add(ElementaryFile(fid: CPS3Files.FID.odf, label: "ODF CL", bytes: CPS3Files.odf(contactless: true)))
        clApp.add(ElementaryFile(fid: CPS3Files.FID.tokenInfo, label: "TokenInfo CL",
            bytes: CPS3Files.tokenInfo(serialDigits: persona.serialDigits, contactless: true)))
        clApp.add(ElementaryFile(fid: CPS3Files.FID.prkdf, label: "PrKDF CL", bytes: CPS3Files.prkdf(contactless: true)))
        clApp.add(ElementaryFile(fid: CPS3Files.FID.cdf, label: "CDF CL", bytes: CPS3Files.cdf(contactless: true)))
        if let tech = credentials.technicalCert {
            clApp.add(ElementaryFile(fid: CPS3Files.FID.technicalCertificate, label: "Certificat Technique CPS",
                bytes: tech.der))
        }
        mf.add(clApp)

        let os = CardOS(masterFile: mf, t0Mode: cl ? .auto : .strictT0)
        os.supportedClasses = [0x00]
        os.chainableInstructions = [CPS3Commands.pso]
        let state = CPS3State(interface: interface, masterFile: mf, actua: actua)
        if cl {
            if let techKey = credentials.technicalKey {
                os.keyStore.register(CPS3Key(reference: CPS3Files.KeyReference.technical, privateKey: techKey,
                    useCondition: .always, dfFID: CPS3Files.FID.pkcs15Contactless, algorithms: [0xA4: [0x02]]))
            }
        } else {
            os.install(pin: PINObject(reference: 0x01, value: persona.pin.asciiBytes, maxTries: 3,
                triesLeft: max(0, min(3, persona.pinTriesLeft)), lengthRange: 4...8, padding: nil,
                unblockingReference: 0x02))
            os.install(pin: PINObject(reference: 0x02, value: persona.puk.asciiBytes, maxTries: 10,
                lengthRange: 8...8, padding: nil))
            os.keyStore.register(CPS3Key(reference: CPS3Files.KeyReference.signature, privateKey: credentials.signKey,
                useCondition: .pin(0x01), dfFID: CPS3Files.FID.pkcs15Contact, algorithms: [0xB6: [0x12, 0x42]]))
            os.keyStore.register(CPS3Key(reference: CPS3Files.KeyReference.authentication,
                privateKey: credentials.authKey, useCondition: .pin(0x01), dfFID: CPS3Files.FID.pkcs15Contact,
                algorithms: [0xA4: [0x02], 0xB8: [0x1A]]))
        }
        CPS3Commands.install(into: os, state: state)
        return OSCard(
            label: persona.id, atr: cl ? CPS3Files.contactlessATR : CPS3Files.contactATR, os: os,
            contactless: cl ? ContactlessInterface(uid: nil, historicalBytes: CPS3Files.contactlessHistoricalBytes) : nil,
            hasContactInterface: !cl)
    }

    /// The card profile registration line used by `CardProfiles.builtIn` (card kind `"cps3"`).
    static let builder: CardProfileBuilder = { p, ctx in
        guard case .professional(let pp) = p else { return nil }
        return try? makeCard(persona: pp, interface: ctx.interface)
    }
}

/// Per-card state the CPS3 handlers share (the card OS holds the rest).
final class CPS3State {
    let interface: CardInterface
    let masterFile: DedicatedFile
    let actua: ElementaryFile
    init(interface: CardInterface, masterFile: DedicatedFile, actua: ElementaryFile) {
        self.interface = interface
        self.masterFile = masterFile
        self.actua = actua
    }
    var contactless: Bool { interface == .contactless }
}
