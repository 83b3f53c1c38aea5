import ISO7816

/// Identifiers and fixed APDUs of the CPS3 (cps.md §3, §4, §5, §6). `[C]` values are those the Cryptolib and
/// OpenSC send; `[D]` ones are the simulator's layout (cps.md §11.2), used only as fallbacks after PKCS#15 discovery.
public enum CPS {
    /// PKCS#15 application of the contact interface, `E8 28 BD 08 0F 80 25 00 00 01 FF 00 10` (cps.md §3) [C].
    public static let contactAID: [UInt8] = [0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x10]
    /// PKCS#15 application of the contactless interface, `… FF 00 20` (cps.md §3) [C].
    public static let contactlessAID: [UInt8] = [0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x20]
    /// Issuer prefix of the PAN in EF.SN.ICC, `80 25 00 00 01` (cps.md §3, §4.1) [C].
    public static let issuerPrefix: [UInt8] = [0x80, 0x25, 0x00, 0x00, 0x01]

    /// SFIs of the MF-level EFs (cps.md §4.1) [C].
    public static let sfiDIR: UInt8 = 0x1E
    public static let sfiATR: UInt8 = 0x1D
    public static let sfiSerial: UInt8 = 0x1C

    /// PIN references: code porteur `01`, code de déblocage `02` (cps.md §4.1, §5) [C]/[I].
    public static let pinReference: UInt8 = 0x01
    public static let pukReference: UInt8 = 0x02

    /// Key references for MSE SET (cps.md §6.1): signature `81`, authentication `82`, technical (CL) `83` [I].
    public static let signatureKey: UInt8 = 0x81
    public static let authenticationKey: UInt8 = 0x82
    public static let technicalKey: UInt8 = 0x83

    /// GET DATA of the CHV SDO of PIN `ref` with the MF selected: `00 CB 3F FF 0A 4D 08 70 06 BF 81 <ref> 02 A0 80`
    /// (cps.md §5, trace S4-2275) [C].
    public static func pinStatusCommand(reference: UInt8 = pinReference) -> CommandAPDU {
        CommandAPDU(
            ins: 0xCB, p1: 0x3F, p2: 0xFF,
            data: [0x4D, 0x08, 0x70, 0x06, 0xBF, 0x81, reference, 0x02, 0xA0, 0x80], ne: 256)
    }

    /// VERIFY without data: asks the tries left without presenting anything (ISO/IEC 7816-4 §11.5.6).
    public static func verifyStatusCommand(reference: UInt8 = pinReference) -> CommandAPDU {
        CommandAPDU(ins: 0x20, p1: 0x00, p2: reference)
    }

    /// SELECT by path with the path including `3F00` (`P1 = 09`), FCP wanted (`P2 = 04`), as the Cryptolib sends it
    /// (cps.md §4.1, §6.3 A) [C].
    public static func selectPath(_ path: [UInt8], fcp: Bool = true) -> CommandAPDU {
        CommandAPDU(ins: 0xA4, p1: 0x09, p2: fcp ? 0x04 : 0x0C, data: path, ne: fcp ? 256 : nil)
    }

    /// SELECT of an EF by its FID under the current DF, no answer data: `00 A4 02 0C 02 <FID>` (ISO/IEC 7816-4
    /// §11.1.1; OpenSC's IAS-ECC driver selects CPx files with `P1 = 02`, cps.md §10.2).
    public static func selectEF(fid: [UInt8]) -> CommandAPDU {
        CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x0C, data: fid)
    }

    /// SELECT by DF name (AID), no answer data (`00 A4 04 0C`).
    public static func selectAID(_ aid: [UInt8]) -> CommandAPDU {
        CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x0C, data: aid)
    }

    /// MSE SET AT for INTERNAL AUTHENTICATE: algorithm `02` (card-padded PKCS#1 v1.5), key `ref`
    /// (`00 22 41 A4 06 80 01 02 84 01 82`, cps.md §6.3 D) [C].
    public static func mseSetAuthentication(key: UInt8 = authenticationKey) -> CommandAPDU {
        CommandAPDU(ins: 0x22, p1: 0x41, p2: 0xA4, data: [0x80, 0x01, 0x02, 0x84, 0x01, key])
    }

    /// MSE SET DST for PSO CDS with SHA-256/PKCS#1 (`00 22 41 B6 06 80 01 42 84 01 81`, cps.md §6.3 C) [C].
    public static func mseSetSignature(key: UInt8 = signatureKey) -> CommandAPDU {
        CommandAPDU(ins: 0x22, p1: 0x41, p2: 0xB6, data: [0x80, 0x01, 0x42, 0x84, 0x01, key])
    }

    /// INTERNAL AUTHENTICATE `00 88 00 00 Lc <data> 00` (cps.md §6.3 D) [C].
    public static func internalAuthenticate(_ data: [UInt8]) -> CommandAPDU {
        CommandAPDU(ins: 0x88, p1: 0x00, p2: 0x00, data: data, ne: 256)
    }

    /// PSO COMPUTE DIGITAL SIGNATURE over a host-computed digest `00 2A 9E 9A 20 <digest> 00` (cps.md §6.3 C) [C].
    public static func psoComputeSignature(digest: [UInt8]) -> CommandAPDU {
        CommandAPDU(ins: 0x2A, p1: 0x9E, p2: 0x9A, data: digest, ne: 256)
    }
}

/// The module's name (kept for the module smoke test).
public enum CPSModule {
    public static let name = "CPS"
}
