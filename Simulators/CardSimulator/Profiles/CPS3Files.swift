import ISO7816

/// The contents of the simulated CPS3 card's files (`../shared/specs/cps.md` §3.1, §4, §11.2): EF.DIR, EF.ATR,
/// EF.SN.ICC, the PKCS#15 files (ODF, TokenInfo, PrKDF, CDF, AODF, DODF in ISO/IEC 7816-15 DER) and the holder
/// data objects. Real bytes where the spec has them ([C]); our [D] layout elsewhere. Pure functions: no state.
public enum CPS3Files {
    // MARK: Identifiers (cps.md §3, §6.1, §11.2)

    /// PKCS#15 application of the contact interface, `E8 28 BD 08 0F 80 25 00 00 01 FF 00 10` (label "CPX IAS").
    public static let contactAID: [UInt8] = [0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x10]
    /// PKCS#15 application of the contactless interface, `… FF 00 20` (label "CPX IAS CL").
    public static let contactlessAID: [UInt8] = [0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x20]
    /// The IAS-ECC root AID found in EF.ATR (tag `4F`), `80 25 00 00 01 FF 01 00`: the DF name of the MF here.
    public static let eccRootAID: [UInt8] = [0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x01, 0x00]
    /// Issuer prefix of the PAN, `80 25 00 00 01` (cps.md §3 notes).
    public static let issuerPrefix: [UInt8] = [0x80, 0x25, 0x00, 0x00, 0x01]

    /// Contact ATR (T=0 only), cps.md §2.1.
    public static let contactATR: [UInt8] = [
        0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90, 0x00,
    ]
    /// Historical bytes of the contactless personality (copied from the ATS), cps.md §2.3.
    public static let contactlessHistoricalBytes: [UInt8] = [
        0x00, 0x31, 0xB8, 0x64, 0x04, 0xB0, 0xEC, 0xC1, 0x73, 0x94, 0x01, 0x80, 0x82, 0x90, 0x00,
    ]
    /// Contactless ATR as a PC/SC part 3 reader builds it, `3B 8F 80 01 … 0E` (cps.md §2.1).
    public static var contactlessATR: [UInt8] { ATRInfo.contactlessATR(historicalBytes: contactlessHistoricalBytes) }

    /// File identifiers of the [D] layout (cps.md §11.2).
    public enum FID {
        public static let dir: UInt16 = 0x2F00
        public static let atr: UInt16 = 0x2F01
        public static let snICC: UInt16 = 0xD003
        public static let actua: UInt16 = 0xD010
        public static let pkcs15Contact: UInt16 = 0x0001
        public static let pkcs15Contactless: UInt16 = 0x0002
        public static let odf: UInt16 = 0x5031
        public static let tokenInfo: UInt16 = 0x5032
        public static let prkdf: UInt16 = 0x4400
        public static let pukdf: UInt16 = 0x4401
        public static let cdf: UInt16 = 0x4402
        public static let aodf: UInt16 = 0x4403
        public static let dodf: UInt16 = 0x4404
        public static let signatureCertificate: UInt16 = 0xC001
        public static let authenticationCertificate: UInt16 = 0xC002
        public static let technicalCertificate: UInt16 = 0xC003
        public static let idCard: UInt16 = 0xD101
        public static let namePS: UInt16 = 0xD102
        public static let langPS: UInt16 = 0xD103
        public static let infoPS: UInt16 = 0xD104
        public static let cpsData: UInt16 = 0xD107
        /// `CPS_ACTIVITY_01_PS` … `_16_PS` → D120 … D12F.
        public static let firstActivity: UInt16 = 0xD120
        public static let contactOnly: UInt16 = 0x7001
    }

    /// Key references (MSE tag `84`), cps.md §6.1: signature 0x81, authentication 0x82, technical (CL) 0x83 [I].
    public enum KeyReference {
        public static let signature: UInt8 = 0x81
        public static let authentication: UInt8 = 0x82
        public static let technical: UInt8 = 0x83
    }

    /// PKCS#15 object identifiers (CKA_ID): the application AID ‖ `01` (signature), `02` (authentication), `03`
    /// (technical), cps.md §6.1.
    public static func keyID(_ n: UInt8) -> [UInt8] { contactAID + [n] }

    // MARK: MF files

    /// EF.DIR, 101 bytes: two application templates (cps.md §3.1; CL path `3F00/0002` [D]).
    ///
    /// Record order [I]: the contactless template first, then the contact one. cps.md §3.1 reports that OpenSC
    /// listed "CPX IAS" before "CPX IAS CL" on a real card; OpenSC's `sc_enum_apps` moves a known application found
    /// after the first record to the head of its list, so that printed order means the card stores the CL record
    /// first (with the contact record first, OpenSC would list — and bind by default — the CL application).
    public static func dir() -> [UInt8] {
        func app(_ aid: [UInt8], _ label: String, _ df: UInt16) -> [UInt8] {
            BERTLV.encode(0x61,
                BERTLV.encode(0x4F, aid) + BERTLV.encode(0x50, Array(label.utf8))
                    + BERTLV.encode(0x51, [0x3F, 0x00, UInt8(df >> 8), UInt8(df & 0xFF)])
                    + BERTLV.encode(0x73, BERTLV.encode(0x4F, contactAID)))
        }
        return app(contactlessAID, "CPX IAS CL", FID.pkcs15Contactless) + app(contactAID, "CPX IAS", FID.pkcs15Contact)
    }

    /// EF.ATR, the 57 bytes read from a real CPS3 including the stray leading `80` (cps.md §4.1).
    public static let atrFile: [UInt8] = [
        0x80, 0x43, 0x01, 0xB8, 0x46, 0x04, 0x04, 0xB0, 0xEC, 0xC1, 0x47, 0x03, 0x94, 0x01, 0x80, 0x4F, 0x08, 0x80,
        0x25, 0x00, 0x00, 0x01, 0xFF, 0x01, 0x00, 0xE0, 0x10, 0x02, 0x02, 0x01, 0x04, 0x02, 0x02, 0x01, 0x04, 0x02,
        0x02, 0x01, 0x00, 0x02, 0x02, 0x01, 0x00, 0x78, 0x08, 0x06, 0x06, 0x2B, 0x81, 0x22, 0xF8, 0x78, 0x02, 0x82,
        0x02, 0x90, 0x00,
    ]

    /// Luhn check digit of a digit string (ISO/IEC 7812-1 annex B).
    public static func luhnDigit(_ digits: String) -> Int {
        var sum = 0
        for (i, ch) in digits.reversed().enumerated() {
            var d = Int(ch.asciiValue ?? 48) - 48
            if i % 2 == 0 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
        }
        return (10 - sum % 10) % 10
    }

    /// The 10-byte PAN: `80 25 00 00 01` ‖ 8 BCD digits ‖ Luhn digit + `F` (cps.md §11.2 [D]).
    /// - Parameter serialDigits: the persona's 8 card digits (non-digits become 0; shorter strings are left-padded
    ///   with zeros, longer ones keep their last 8 digits).
    public static func pan(serialDigits: String) -> [UInt8] {
        var digits = String(serialDigits.map { $0.isASCII && $0.isNumber ? $0 : "0" }.suffix(8))
        digits = String(repeating: "0", count: 8 - digits.count) + digits
        let luhn = luhnDigit("8025000001" + digits)
        let nibbles = digits.compactMap { $0.wholeNumberValue } + [luhn, 0xF]
        var out = issuerPrefix
        for i in stride(from: 0, to: nibbles.count, by: 2) { out.append(UInt8(nibbles[i] << 4 | nibbles[i + 1])) }
        return out
    }

    /// EF.SN.ICC, 12 bytes: `5A 0A` ‖ PAN (cps.md §4.1).
    public static func snICC(serialDigits: String) -> [UInt8] { BERTLV.encode(0x5A, pan(serialDigits: serialDigits)) }

    /// The token serial number OpenSC derives (the last 8 bytes of the PAN, cps.md §4.1) and puts in TokenInfo.
    public static func tokenSerial(serialDigits: String) -> [UInt8] { Array(pan(serialDigits: serialDigits).suffix(8)) }

    /// Token label `CPS3v3-00<8 digits>` (cps.md §11.2 [D]).
    public static func tokenLabel(serialDigits: String) -> String {
        var digits = String(serialDigits.filter { $0.isASCII && $0.isNumber }.suffix(8))
        digits = String(repeating: "0", count: 8 - digits.count) + digits
        return "CPS3v3-00" + digits
    }

    // MARK: PKCS#15 (ISO/IEC 7816-15, PKCS#15 v1.1)

    static func absolutePath(_ df: UInt16, _ ef: UInt16) -> [UInt8] { CPS3DER.path([0x3F00, df, ef]) }

    /// ODF: privateKeys [0], certificates [4], dataObjects [7], authObjects [8] → absolute paths under `df`.
    /// The contactless application has no AODF and no DODF.
    public static func odf(contactless: Bool) -> [UInt8] {
        let df = contactless ? FID.pkcs15Contactless : FID.pkcs15Contact
        var out = CPS3DER.context(0, absolutePath(df, FID.prkdf)) + CPS3DER.context(4, absolutePath(df, FID.cdf))
        if !contactless {
            out += CPS3DER.context(7, absolutePath(df, FID.dodf)) + CPS3DER.context(8, absolutePath(df, FID.aodf))
        }
        return out
    }

    /// One `AlgorithmInfo` of TokenInfo `supportedAlgorithms`: reference, PKCS#11 mechanism, NULL parameters,
    /// supported operations, object identifier, card algorithm reference (IAS-ECC `80` value).
    static func algorithmInfo(ref: Int, mechanism: Int, operations: [Int], oid: String, algRef: Int) -> [UInt8] {
        CPS3DER.sequence(
            CPS3DER.integer(ref), CPS3DER.integer(mechanism), CPS3DER.null(), CPS3DER.bitString(operations),
            CPS3DER.oid(oid), CPS3DER.integer(algRef))
    }

    /// The six algorithms of a real CPS3v3 TokenInfo (cps.md §4.2): 1 SHA-1 (10), 2 SHA-256 (40), 3 SHA1-RSA-PKCS
    /// (12), 4 SHA256-RSA-PKCS (42), 5 RSA-PKCS signature by INTERNAL AUTHENTICATE (02), 6 RSA-PKCS decipher (1A).
    /// Operations bits (PKCS#15): compute-signature 1, decipher 5, hash 6.
    static func supportedAlgorithms(contactless: Bool) -> [UInt8] {
        let rsa = "1.2.840.113549.1.1.1"
        if contactless {
            return algorithmInfo(ref: 5, mechanism: 0x0001, operations: [1], oid: rsa, algRef: 0x02)
        }
        return algorithmInfo(ref: 1, mechanism: 0x0220, operations: [6], oid: "1.3.14.3.2.26", algRef: 0x10)
            + algorithmInfo(ref: 2, mechanism: 0x0250, operations: [6], oid: "2.16.840.1.101.3.4.2.1", algRef: 0x40)
            + algorithmInfo(ref: 3, mechanism: 0x0006, operations: [1], oid: "1.2.840.113549.1.1.5", algRef: 0x12)
            + algorithmInfo(ref: 4, mechanism: 0x0040, operations: [1], oid: "1.2.840.113549.1.1.11", algRef: 0x42)
            + algorithmInfo(ref: 5, mechanism: 0x0001, operations: [1], oid: rsa, algRef: 0x02)
            + algorithmInfo(ref: 6, mechanism: 0x0001, operations: [5], oid: rsa, algRef: 0x1A)
    }

    /// TokenInfo: version 0, serial (last 8 PAN bytes), manufacturerID "ASIP SANTE", label `CPS3v3-…`, flags
    /// readOnly|loginRequired (contact) or readOnly (contactless), supportedAlgorithms, lastUpdate
    /// `20100316110000Z` (cps.md §4.2, §11.2).
    public static func tokenInfo(serialDigits: String, contactless: Bool) -> [UInt8] {
        CPS3DER.sequence(
            CPS3DER.integer(0),
            CPS3DER.octetString(tokenSerial(serialDigits: serialDigits)),
            CPS3DER.utf8("ASIP SANTE"),
            CPS3DER.contextPrimitive(0, Array(tokenLabel(serialDigits: serialDigits).utf8)),
            CPS3DER.bitString(contactless ? [0] : [0, 1]),
            CPS3DER.tlv(0xA2, supportedAlgorithms(contactless: contactless)),
            CPS3DER.generalizedTime("20100316110000Z"))
    }

    /// `CommonObjectAttributes`: label, flags (private 0, modifiable 1), authId.
    static func commonObject(label: String, private isPrivate: Bool, modifiable: Bool = false, authID: UInt8?) -> [UInt8] {
        var flags: [Int] = []
        if isPrivate { flags.append(0) }
        if modifiable { flags.append(1) }
        var body = CPS3DER.utf8(label) + CPS3DER.bitString(flags)
        if let authID { body += CPS3DER.octetString([authID]) }
        return CPS3DER.tlv(0x30, body)
    }

    /// A private RSA key entry. KeyUsageFlags bits: decrypt 1, sign 2, nonRepudiation 9. No algReference, like
    /// the real card (OpenSC adds them at bind time, cps.md §4.2).
    static func privateKey(label: String, id: [UInt8], usage: [Int], reference: UInt8, df: UInt16, authID: UInt8?)
        -> [UInt8]
    {
        CPS3DER.sequence(
            commonObject(label: label, private: authID != nil, authID: authID),
            CPS3DER.sequence(CPS3DER.octetString(id), CPS3DER.bitString(usage), CPS3DER.integer(Int(reference))),
            CPS3DER.context(1, CPS3DER.sequence(CPS3DER.path([0x3F00, df]), CPS3DER.integer(2048))))
    }

    /// PrKDF: contact `CPS_PRIV_SIG` (…01, ref 81, nonRepudiation) and `CPS_PRIV_AUT` (…02, ref 82,
    /// decrypt|sign), both behind auth ID 01; contactless `CPS_PRIV_TECH_AUT` (…03, ref 83, sign, no PIN).
    public static func prkdf(contactless: Bool) -> [UInt8] {
        if contactless {
            return privateKey(label: "CPS_PRIV_TECH_AUT", id: keyID(3), usage: [2], reference: KeyReference.technical,
                df: FID.pkcs15Contactless, authID: nil)
        }
        return privateKey(label: "CPS_PRIV_SIG", id: keyID(1), usage: [9], reference: KeyReference.signature,
            df: FID.pkcs15Contact, authID: 0x01)
            + privateKey(label: "CPS_PRIV_AUT", id: keyID(2), usage: [1, 2], reference: KeyReference.authentication,
                df: FID.pkcs15Contact, authID: 0x01)
    }

    /// An X.509 certificate entry pointing at its EF.
    static func certificate(label: String, id: [UInt8], df: UInt16, fid: UInt16) -> [UInt8] {
        CPS3DER.sequence(
            commonObject(label: label, private: false, authID: nil),
            CPS3DER.sequence(CPS3DER.octetString(id)),
            CPS3DER.context(1, CPS3DER.sequence(absolutePath(df, fid))))
    }

    /// CDF: "Certificat de Signature CPS" (C001), "Certificat d'Authentification CPS" (C002); contactless
    /// "Certificat Technique CPS" (C003) — cps.md §6.1 labels, [D] FIDs.
    public static func cdf(contactless: Bool) -> [UInt8] {
        if contactless {
            return certificate(label: "Certificat Technique CPS", id: keyID(3), df: FID.pkcs15Contactless,
                fid: FID.technicalCertificate)
        }
        return certificate(label: "Certificat de Signature CPS", id: keyID(1), df: FID.pkcs15Contact,
            fid: FID.signatureCertificate)
            + certificate(label: "Certificat d'Authentification CPS", id: keyID(2), df: FID.pkcs15Contact,
                fid: FID.authenticationCertificate)
    }

    /// AODF: one PIN, auth ID 01, reference 01 (global, in the MF), ASCII numeric, min 4, stored 8, max 8, flags
    /// initialized, no padding (cps.md §5, §11.2 [D]).
    public static func aodf() -> [UInt8] {
        CPS3DER.sequence(
            commonObject(label: "Code Porteur", private: false, modifiable: true, authID: nil),
            CPS3DER.sequence(CPS3DER.octetString([0x01])),
            CPS3DER.context(1, CPS3DER.sequence(
                CPS3DER.bitString([4]),  // initialized
                CPS3DER.enumerated(1),  // ascii-numeric
                CPS3DER.integer(4), CPS3DER.integer(8), CPS3DER.integer(8),
                CPS3DER.contextPrimitive(0, [0x01]),
                CPS3DER.path([0x3F00]))))
    }

    /// One data object of the DODF (opaque DO, application "CPS").
    static func dataObject(label: String, fid: UInt16, private isPrivate: Bool, modifiable: Bool = false) -> [UInt8] {
        CPS3DER.sequence(
            commonObject(label: label, private: isPrivate, modifiable: modifiable, authID: isPrivate ? 0x01 : nil),
            CPS3DER.sequence(CPS3DER.utf8("CPS")),
            CPS3DER.context(1, absolutePath(FID.pkcs15Contact, fid)))
    }

    /// DODF: CPS_DATA (D107, writable), CPS_ID_CARD, CPS_NAME_PS, CPS_LANG_PS, CPS_INFO_PS (D101…D104, free),
    /// CPS_ACTIVITY_nn_PS (D120 + n − 1, private behind auth ID 01) for the persona's situations.
    public static func dodf(situationCount: Int) -> [UInt8] {
        var out = dataObject(label: "CPS_DATA", fid: FID.cpsData, private: false, modifiable: true)
        out += dataObject(label: "CPS_ID_CARD", fid: FID.idCard, private: false)
        out += dataObject(label: "CPS_NAME_PS", fid: FID.namePS, private: false)
        out += dataObject(label: "CPS_LANG_PS", fid: FID.langPS, private: false)
        out += dataObject(label: "CPS_INFO_PS", fid: FID.infoPS, private: false)
        for i in 0..<min(situationCount, 16) {
            let n = i + 1
            out += dataObject(label: "CPS_ACTIVITY_\(n < 10 ? "0" : "")\(n)_PS", fid: FID.firstActivity + UInt16(i),
                private: true)
        }
        return out
    }

    // MARK: Holder data objects (cps.md §11.2 business-data ASN.1 [D])

    /// TRE_R87 card type → the legacy numeric code (cps.md §1.2): CPS 0, CPF 1, CPE/CDE 2, CPA/CDA 3, CSA 4.
    public static func cardTypeCode(_ t: String) -> Int {
        switch t.uppercased() {
        case "CPS": return 0
        case "CPF": return 1
        case "CPE", "CDE": return 2
        case "CPA", "CDA": return 3
        case "CSA": return 4
        default: return 0
        }
    }

    /// `CpsIdCard`: type, issuer `80 25 00 00 01`, number, validity, test card TRUE.
    public static func idCard(_ p: ProfessionalPersona) -> [UInt8] {
        CPS3DER.sequence(
            CPS3DER.integer(cardTypeCode(p.cardType)), CPS3DER.octetString(issuerPrefix),
            CPS3DER.numeric(String(tokenLabel(serialDigits: p.serialDigits).dropFirst(7))),
            CPS3DER.generalizedTime("20240101000000Z"), CPS3DER.generalizedTime("20270101000000Z"),
            CPS3DER.boolean(true))
    }

    /// National identifier as the card carries it: the persona's idNat, else `8` + RPPS (cps.md §4.4).
    public static func nationalID(_ p: ProfessionalPersona) -> String { p.idNat ?? "\(p.idNatType)\(p.rpps ?? "")" }

    static func civiliteCode(_ c: String) -> Int {
        switch c.uppercased() {
        case "M": return 1
        case "MME": return 2
        case "MLLE": return 3
        default: return 0
        }
    }

    /// `CpsNamePs`: identifier type, identifier, civility, names, profession code.
    public static func namePS(_ p: ProfessionalPersona) -> [UInt8] {
        CPS3DER.sequence(
            CPS3DER.integer(p.idNatType), CPS3DER.printable(nationalID(p)), CPS3DER.integer(civiliteCode(p.civilite)),
            CPS3DER.utf8(p.nomExercice), CPS3DER.utf8(p.prenomExercice), CPS3DER.printable(p.profession))
    }

    /// `CpsLangPs`: `fr`.
    public static func langPS() -> [UInt8] { CPS3DER.sequence(CPS3DER.printable("fr")) }

    /// `CpsInfoPs`: profession, specialty (when any), category label.
    public static func infoPS(_ p: ProfessionalPersona) -> [UInt8] {
        var body = CPS3DER.printable(p.profession)
        if let s = p.specialite { body += CPS3DER.printable(s) }
        body += CPS3DER.printable(p.professionLabel)
        return CPS3DER.tlv(0x30, body)
    }

    /// Mode d'exercice letter → code (cps.md §4.4): L liberal 0, S employee 1, R replacement 4, B unpaid 7.
    static func modeCode(_ m: String) -> Int {
        switch m.uppercased() {
        case "L": return 0
        case "S": return 1
        case "R": return 4
        case "B": return 7
        default: return 0
        }
    }

    /// `CpsActivity` for situation `index` (1-based).
    public static func activity(_ s: Situation, index: Int) -> [UInt8] {
        let sector = Int(s.secteurActivite.filter { $0.isASCII && $0.isNumber }) ?? 0
        return CPS3DER.sequence(
            CPS3DER.integer(index), CPS3DER.integer(modeCode(s.modeExercice)), CPS3DER.integer(1),
            CPS3DER.integer(sector), CPS3DER.integer(s.idStructType), CPS3DER.printable(s.idStruct),
            CPS3DER.utf8(s.raisonSociale), CPS3DER.boolean(true), CPS3DER.boolean(true))
    }

    /// `CpsData`: 256 bytes, zero at issue, application-writable.
    public static func cpsData() -> [UInt8] { [UInt8](repeating: 0, count: 256) }
}
