import ISO7816

/// The Vitale 2 card of vitale.md §9.2 [D], built from a patient persona: MF `MF_VITALE` with DIR, PAN and IDENT,
/// the VITALE application (POINTERS, BENEF, CARTE, AMO, AMC, CERT, PHOTO) and the locked Adèle application.
/// The real AIDs, EF 2001 POINTERS layout and tags are [C]; the other identifiers are our design.
public enum Vitale2Profile {
    /// DF name of the MF, "MF_VITALE" (vitale.md §4.1.1).
    public static let mfName: [UInt8] = [0xD2, 0x50, 0x00, 0x00, 0x02] + Array("MF_VITALE".utf8)
    /// AID of the VITALE application.
    public static let vitaleAID: [UInt8] = [0xD2, 0x50, 0x00, 0x00, 0x02] + Array("VITALE".utf8)
    /// AID of the IAS "Adèle" application (`E8` = è in Latin-1).
    public static let adeleAID: [UInt8] = [0xD2, 0x50, 0x00, 0x00, 0x04, 0x41, 0x64, 0xE8, 0x6C, 0x65, 0x01, 0x01]
    /// The flag that opens protected data (PHOTO, exemptions): a simulated CPS session [D].
    public static let cpsSessionFlag = "cpsSession"

    /// Where each file of the profile lives. Tests may move a [D] file; POINTERS announces the new FID.
    public struct Layout: Sendable, Hashable {
        public struct FileID: Sendable, Hashable {
            public var fid: UInt16
            public var sfi: UInt8?
            public init(fid: UInt16, sfi: UInt8?) { self.fid = fid; self.sfi = sfi }
        }
        public var dir = FileID(fid: 0x2F00, sfi: nil)
        public var pan = FileID(fid: 0x2F02, sfi: nil)
        public var ident = FileID(fid: 0x2002, sfi: 0x02)
        public var pointers = FileID(fid: 0x2001, sfi: 0x01)
        public var benef = FileID(fid: 0x2002, sfi: 0x02)
        public var carte = FileID(fid: 0x2003, sfi: 0x03)
        public var amo = FileID(fid: 0x2004, sfi: 0x04)
        public var amc = FileID(fid: 0x2005, sfi: 0x05)
        public var cert = FileID(fid: 0x2006, sfi: 0x06)
        public var photo = FileID(fid: 0x2007, sfi: 0x07)
        /// FIDs of the two DFs (not announced anywhere; [D]).
        public var vitaleDF: UInt16 = 0x2000
        public var adeleDF: UInt16 = 0x3000
        /// Size of IDENT and BENEF (fixed size, `00`-padded) when the templates fit, in bytes.
        public var identityFileSize = 240
        /// Encode the `65` template lengths as `81 xx` (negative test for 1-byte-length parsers, §9.2 rules).
        public var forceLongFormLengths = false
        /// The reversible blocking of the arrêté of 1998 (vitale.md §9.4 scenario 16 [D]): SELECT still works,
        /// every READ BINARY / READ RECORD answers `69 85`.
        public var blocked = false
        public init() {}
    }

    /// Builds the card.
    /// - Parameters:
    ///   - persona: a patient persona with `card == "vitale2"`.
    ///   - layout: file identifiers (default: vitale.md §9.2).
    ///   - t0Mode: `.auto` (default) or `.strictT0`.
    public static func makeCard(persona: PatientPersona, layout: Layout = Layout(), t0Mode: T0Mode = .auto) -> OSCard {
        let mf = DedicatedFile(fid: 0x3F00, name: mfName, label: "MF_VITALE")
        let lf = layout.forceLongFormLengths
        mf.add(ElementaryFile(fid: layout.dir.fid, sfi: layout.dir.sfi, label: "DIR", bytes: dirContent()))
        mf.add(ElementaryFile(fid: layout.pan.fid, sfi: layout.pan.sfi, label: "PAN", bytes: panContent(persona.serial)))
        mf.add(ElementaryFile(
            fid: layout.ident.fid, sfi: layout.ident.sfi, label: "IDENT",
            bytes: padded(persona.beneficiaries.flatMap { identTemplate($0, longForm: lf) }, to: layout.identityFileSize)))

        let vitale = DedicatedFile(fid: layout.vitaleDF, name: vitaleAID, label: "VITALE")
        vitale.add(ElementaryFile(fid: layout.pointers.fid, sfi: layout.pointers.sfi, label: "POINTERS",
            bytes: pointersContent(layout)))
        vitale.add(ElementaryFile(fid: layout.benef.fid, sfi: layout.benef.sfi, label: "BENEF",
            bytes: padded(persona.beneficiaries.flatMap { benefTemplate($0, insuredNIR: persona.insured.nir, longForm: lf) },
                to: layout.identityFileSize)))
        vitale.add(ElementaryFile(fid: layout.carte.fid, sfi: layout.carte.sfi, label: "CARTE", bytes: carteContent(persona)))
        vitale.add(ElementaryFile(fid: layout.amo.fid, sfi: layout.amo.sfi, label: "AMO", bytes: amoContent(persona)))
        vitale.add(ElementaryFile(fid: layout.amc.fid, sfi: layout.amc.sfi, label: "AMC", bytes: [UInt8](repeating: 0, count: 32)))
        vitale.add(ElementaryFile(fid: layout.cert.fid, sfi: layout.cert.sfi, label: "CERT", bytes: certContent(persona.serial)))
        vitale.add(ElementaryFile(fid: layout.photo.fid, sfi: layout.photo.sfi, label: "PHOTO",
            bytes: [UInt8](repeating: 0xA5, count: 64), read: .flag(cpsSessionFlag)))
        mf.add(vitale)
        mf.add(DedicatedFile(fid: layout.adeleDF, name: adeleAID, label: "ADELE", refusesAllButSelect: true))

        let os = CardOS(masterFile: mf, t0Mode: t0Mode)
        os.supportedClasses = [0x00]
        if layout.blocked {
            for ins in [ISOCommands.readBinary, ISOCommands.readRecord] {
                os.register(ins: ins) { _, _ in ResponseAPDU(sw1: 0x69, sw2: 0x85) }
            }
        }
        return OSCard(label: persona.id, atr: persona.atrBytes, os: os)
    }

    static func padded(_ b: [UInt8], to size: Int) -> [UInt8] {
        let target = max(size, (b.count + 2 + 15) / 16 * 16)
        return b + [UInt8](repeating: 0, count: target - b.count)
    }

    /// Latin-1 bytes of a text (characters outside Latin-1 become `?`).
    static func ascii(_ s: String) -> [UInt8] {
        s.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") }
    }

    /// EF.DIR: `61{4F AID, 50 label}` for VITALE and Adèle.
    static func dirContent() -> [UInt8] {
        BERTLV.encode(0x61, BERTLV.encode(0x4F, vitaleAID) + BERTLV.encode(0x50, ascii("VITALE")))
            + BERTLV.encode(0x61, BERTLV.encode(0x4F, adeleAID) + BERTLV.encode(0x50, [0x41, 0x64, 0xE8, 0x6C, 0x65]))
    }

    /// PAN: `5A 08` + the 16 serial digits in BCD.
    static func panContent(_ serial: String) -> [UInt8] {
        BERTLV.encode(0x5A, bcd(serial, bytes: 8))
    }

    static func bcd(_ digits: String, bytes: Int) -> [UInt8] {
        var n = digits.unicodeScalars.map { s -> UInt8 in
            let v = s.value
            return v >= 48 && v <= 57 ? UInt8(v - 48) : 0xF
        }
        while n.count < bytes * 2 { n.append(0xF) }
        return (0..<bytes).map { n[2 * $0] << 4 | n[2 * $0 + 1] }
    }

    /// IDENT: `65{80 nom usuel, 81 prénom, 82 date de naissance}`.
    static func identTemplate(_ b: Beneficiary, longForm: Bool) -> [UInt8] {
        BERTLV.encode(0x65,
            BERTLV.encode(0x80, ascii(b.nomUsuel)) + BERTLV.encode(0x81, ascii(b.prenom))
                + BERTLV.encode(0x82, ascii(b.dateNaissance)), forceLongFormLength: longForm)
    }

    /// BENEF: `65{93 NIR of the ouvrant droit, 84 rang, 85 qualité, [86 NIR certifié], [87 certification date],
    /// [88 nom patronymique when it differs from the nom usuel]}`.
    static func benefTemplate(_ b: Beneficiary, insuredNIR: String, longForm: Bool) -> [UInt8] {
        var body = BERTLV.encode(0x93, ascii(insuredNIR)) + BERTLV.encode(0x84, ascii(String(b.rang)))
            + BERTLV.encode(0x85, ascii(b.qualite))
        if let n = b.nirCertifie { body += BERTLV.encode(0x86, ascii(n)) }
        if let d = b.dateCertification { body += BERTLV.encode(0x87, ascii(d)) }
        if let p = b.nomPatronymique, p != b.nomUsuel { body += BERTLV.encode(0x88, ascii(p)) }
        return BERTLV.encode(0x65, body, forceLongFormLength: longForm)
    }

    /// CARTE: `66{80 début validité, 82 type "2", 83 serial}`, `00`-padded to 48 bytes.
    static func carteContent(_ p: PatientPersona) -> [UInt8] {
        var body: [UInt8] = []
        if let v = p.validityStart { body += BERTLV.encode(0x80, ascii(v)) }
        body += BERTLV.encode(0x82, ascii("2")) + BERTLV.encode(0x83, ascii(p.serial))
        return padded(BERTLV.encode(0x66, body), to: 48)
    }

    /// AMO: `67{80 régime, 81 caisse, 82 centre, 83 code gestion}` then per beneficiary
    /// `68{80 index (1 byte), A0{80 début, 81 fin} × ≤3}`.
    static func amoContent(_ p: PatientPersona) -> [UInt8] {
        var out = BERTLV.encode(0x67,
            BERTLV.encode(0x80, ascii(p.insured.regime)) + BERTLV.encode(0x81, ascii(p.insured.caisse))
                + BERTLV.encode(0x82, ascii(p.insured.centre)) + BERTLV.encode(0x83, ascii(p.insured.codeGestion)))
        for (i, b) in p.beneficiaries.enumerated() {
            var body = BERTLV.encode(0x80, [UInt8(truncatingIfNeeded: i + 1)])
            for period in b.amo.prefix(3) {
                body += BERTLV.encode(0xA0,
                    BERTLV.encode(0x80, ascii(period.start)) + BERTLV.encode(0x81, ascii(period.end)))
            }
            out += BERTLV.encode(0x68, body)
        }
        return padded(out, to: 64)
    }

    /// CERT: a dummy card-verifiable certificate `7F21{42 CA reference, 5F37 signature (64 bytes),
    /// 5F38 public-key remainder (16 bytes)}` derived from the serial (not a real signature).
    static func certContent(_ serial: String) -> [UInt8] {
        var g = SplitMix64(seed: serial.utf8.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 })
        let sig = (0..<64).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        let rem = (0..<16).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        return BERTLV.encode(0x7F21,
            BERTLV.encode(0x42, ascii("SIMUCA01")) + BERTLV.encode(0x5F37, sig) + BERTLV.encode(0x5F38, rem))
    }

    /// EF 2001 POINTERS (vitale.md §4.1.3): `E0{A0{82 eid(2) 00 00 AID}…, 80 0C label(8) eid(2) FID(2)…}`.
    /// With the default layout it is the 140-byte example of vitale.md §9.2.
    public static func pointersContent(_ layout: Layout) -> [UInt8] {
        let apps = BERTLV.encode(0x82, [0x00, 0x01, 0x00, 0x00] + mfName)
            + BERTLV.encode(0x82, [0x00, 0x02, 0x00, 0x00] + vitaleAID)
        var body = BERTLV.encode(0xA0, apps)
        let files: [(String, UInt16, UInt16)] = [
            ("IDENT", 1, layout.ident.fid), ("BENEF", 2, layout.benef.fid), ("CARTE", 2, layout.carte.fid),
            ("AMO", 2, layout.amo.fid), ("AMC", 2, layout.amc.fid), ("CERT", 2, layout.cert.fid),
            ("PHOTO", 2, layout.photo.fid),
        ]
        for (label, eid, fid) in files {
            let name = Array((label + "        ").utf8.prefix(8))
            body += BERTLV.encode(0x80, name + [UInt8(eid >> 8), UInt8(eid & 0xFF), UInt8(fid >> 8), UInt8(fid & 0xFF)])
        }
        return BERTLV.encode(0xE0, body)
    }
}
