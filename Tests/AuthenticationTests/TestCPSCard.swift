import CPS
import CardSimulator
import CarteCrypto
import Foundation
import ISO7816

/// A test-only CPS3 built on the simulator's `CardOS` with the cps.md §11.2 [D] layout and a persona's TestPKI keys,
/// until the `cpssim` profile lands. It answers exactly the commands of cps.md §5/§6.3: SFI reads, SELECT by path,
/// GET DATA on the CHV SDO, VERIFY/CHANGE/RESET RETRY COUNTER (CardOS), MSE SET, INTERNAL AUTHENTICATE (card-side
/// PKCS#1 type-1 padding), PSO CDS.
enum TestCPSCard {
    static let contactATR: [UInt8] = [0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90, 0x00]
    static let clHistorical: [UInt8] = [0x00, 0x31, 0xB8, 0x64, 0x04, 0xB0, 0xEC, 0xC1, 0x73, 0x94, 0x01, 0x80, 0x82, 0x90, 0x00]
    static let efATR: [UInt8] = [UInt8](hex: "80 43 01 B8 46 04 04 B0 EC C1 47 03 94 01 80 4F 08 80 25 00 00 01 FF 01 00 E0 10 02 02 01 04 02 02 01 04 02 02 01 00 02 02 01 00 78 08 06 06 2B 81 22 F8 78 02 82 02 90 00")!

    static func tlv(_ tag: UInt8, _ v: [UInt8]) -> [UInt8] { [tag] + BERTLV.encodeLength(v.count) + v }
    static func utf8(_ s: String) -> [UInt8] { tlv(0x0C, Array(s.utf8)) }
    static func printable(_ s: String) -> [UInt8] { tlv(0x13, Array(s.utf8)) }
    static func int(_ i: Int) -> [UInt8] { tlv(0x02, [UInt8(i)]) }

    static func serialFile(_ digits: String) -> [UInt8] {
        let d = digits.compactMap { $0.wholeNumberValue }.map(UInt8.init)
        var bcd: [UInt8] = []
        for i in stride(from: 0, to: 8, by: 2) { bcd.append(d[i] << 4 | d[i + 1]) }
        return [0x5A, 0x0A] + CPS.issuerPrefix + bcd + [0x0F]
    }

    static func cdfEntry(_ label: String, id: UInt8, path: [UInt8]) -> [UInt8] {
        tlv(0x30, tlv(0x30, utf8(label)) + tlv(0x30, tlv(0x04, CPS.contactAID + [id])) + tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0x04, path)))))
    }
    static func dodfEntry(_ label: String, path: [UInt8], private isPrivate: Bool = false) -> [UInt8] {
        let common = utf8(label) + (isPrivate ? tlv(0x04, [0x01]) : [])
        return tlv(0x30, tlv(0x30, common) + tlv(0x30, utf8("CPS")) + tlv(0xA1, tlv(0x30, tlv(0x04, path))))
    }

    /// Builds the card of `persona` (a professional of personas.json).
    /// - Parameters: `moveCertificates` puts the authentication certificate at another FID that only the CDF names
    ///   (discovery must follow the CDF, not the [D] identifiers).
    ///   `authKeyOverride` puts another authentication key in the card (a card cloning this one's files and serial).
    static func make(
        persona id: String, pki: TestPKI, authCertificateOverride: Certificate? = nil, authKeyOverride: RSAPrivateKey? = nil
    ) throws -> OSCard {
        let file = try PersonaFile.bundled()
        guard let p = file.professionals.first(where: { $0.id == id }) else { throw TestPKI.TestPKIError.unknownPersona(id) }
        let cred = try pki.credentials(forPersona: id)
        let authCert = authCertificateOverride ?? cred.authCert

        let mf = DedicatedFile(fid: 0x3F00, label: "MF")
        let dir =
            tlv(0x61, tlv(0x4F, CPS.contactAID) + tlv(0x50, Array("CPX IAS".utf8)) + tlv(0x51, [0x3F, 0x00, 0x00, 0x01]))
            + tlv(0x61, tlv(0x4F, CPS.contactlessAID) + tlv(0x50, Array("CPX IAS CL".utf8)) + tlv(0x51, [0x3F, 0x00, 0x00, 0x02]))
        mf.add(ElementaryFile(fid: 0x2F00, sfi: 0x1E, label: "EF.DIR", bytes: dir))
        mf.add(ElementaryFile(fid: 0x2F01, sfi: 0x1D, label: "EF.ATR", bytes: efATR))
        mf.add(ElementaryFile(fid: 0xD003, sfi: 0x1C, label: "EF.SN.ICC", bytes: serialFile(p.serialDigits)))

        let app = DedicatedFile(fid: 0x0001, name: CPS.contactAID, label: "PKCS15 contact")
        let odf = tlv(0xA4, tlv(0x30, tlv(0x04, [0x3F, 0x00, 0x00, 0x01, 0x44, 0x02]))) + tlv(0xA7, tlv(0x30, tlv(0x04, [0x44, 0x04])))
        app.add(ElementaryFile(fid: 0x5031, label: "ODF", bytes: odf + [0x00, 0x00]))
        // The authentication certificate sits at 0xC0A2 (not the [D] C002): only the CDF says so.
        let cdf = cdfEntry("Certificat de Signature CPS", id: 0x01, path: [0xC0, 0x01])
            + cdfEntry("Certificat d'Authentification CPS", id: 0x02, path: [0x3F, 0x00, 0x00, 0x01, 0xC0, 0xA2])
        app.add(ElementaryFile(fid: 0x4402, label: "CDF", bytes: cdf))
        app.add(ElementaryFile(fid: 0xC001, label: "sign cert", bytes: cred.signCert.der + [0x00, 0x00, 0x00]))
        app.add(ElementaryFile(fid: 0xC0A2, label: "auth cert", bytes: authCert.der))
        var dodf = dodfEntry("CPS_ID_CARD", path: [0xD1, 0x01]) + dodfEntry("CPS_NAME_PS", path: [0xD1, 0x02])
            + dodfEntry("CPS_INFO_PS", path: [0xD1, 0x04])
        let codes = ["CPS": 0, "CPF": 1, "CPE": 2, "CPA": 3]
        app.add(ElementaryFile(fid: 0xD101, label: "CPS_ID_CARD", bytes: tlv(0x30,
            int(codes[p.cardType] ?? 9) + tlv(0x04, CPS.issuerPrefix) + tlv(0x12, Array(p.serialDigits.utf8))
            + tlv(0x18, Array("20250101000000Z".utf8)) + tlv(0x18, Array("20280101000000Z".utf8)) + tlv(0x01, [0xFF]))))
        let idNat = p.idNat ?? p.rpps ?? ""
        app.add(ElementaryFile(fid: 0xD102, label: "CPS_NAME_PS", bytes: tlv(0x30,
            int(p.idNatType) + printable(idNat) + int(p.civilite == "M" ? 1 : 2) + utf8(p.nomExercice)
            + utf8(p.prenomExercice) + printable(p.profession))))
        app.add(ElementaryFile(fid: 0xD104, label: "CPS_INFO_PS", bytes: tlv(0x30,
            printable(p.profession) + (p.specialite.map(printable) ?? []))))
        for (i, s) in p.situations.enumerated() {
            let fid = UInt16(0xD120 + i)
            dodf += dodfEntry(String(format: "CPS_ACTIVITY_%02d_PS", i + 1), path: [0xD1, UInt8(0x20 + i)], private: true)
            app.add(ElementaryFile(fid: fid, label: "situation", bytes: tlv(0x30,
                int(i + 1) + printable(s.modeExercice) + int(0) + printable(s.secteurActivite) + int(s.idStructType)
                + printable(s.idStruct) + utf8(s.raisonSociale)), read: .pin(0x01)))
        }
        app.add(ElementaryFile(fid: 0x4404, label: "DODF", bytes: dodf))
        mf.add(app)

        if let tech = cred.technicalCert {
            let cl = DedicatedFile(fid: 0x0002, name: CPS.contactlessAID, label: "PKCS15 contactless")
            cl.add(ElementaryFile(fid: 0x5031, label: "ODF", bytes: tlv(0xA4, tlv(0x30, tlv(0x04, [0x44, 0x02])))))
            cl.add(ElementaryFile(fid: 0x4402, label: "CDF", bytes: cdfEntry("Certificat Technique CPS", id: 0x03, path: [0xC0, 0x03])))
            cl.add(ElementaryFile(fid: 0xC003, label: "tech cert", bytes: tech.der))
            mf.add(cl)
        }

        let os = CardOS(masterFile: mf, t0Mode: .strictT0)
        os.install(pin: PINObject(reference: 0x01, value: p.pin.asciiBytes, maxTries: 3, triesLeft: p.pinTriesLeft, padding: nil, unblockingReference: 0x02))
        os.install(pin: PINObject(reference: 0x02, value: p.puk.asciiBytes, maxTries: 10, lengthRange: 8...8, padding: nil))
        let authKey = authKeyOverride ?? cred.authKey, signKey = cred.signKey, techKey = cred.technicalKey

        os.register(ins: 0xCB) { os, c in
            // CHV SDO: 4D 08 70 06 BF 81 <ref> 02 A0 80
            guard c.p1 == 0x3F, c.p2 == 0xFF, c.data.count == 10, c.data[4] == 0xBF, c.data[5] == 0x81 else {
                return ResponseAPDU(statusWord: StatusWord(0x6A88))
            }
            guard os.currentDF === os.masterFile else { return ResponseAPDU(statusWord: StatusWord(0x6A88)) }
            guard let pin = os.pins[c.data[6]] else { return ResponseAPDU(statusWord: StatusWord(0x6A88)) }
            let a0 = tlv(0x9A, [UInt8(pin.maxTries)]) + tlv(0x9B, [UInt8(max(0, pin.triesLeft))])
                + [0xA1, 0x08, 0x8C, 0x06, 0xF3, 0x00, 0x00, 0x13, 0xFF, 0x00]
            return ResponseAPDU(data: tlv(0x70, [0xBF, 0x81, c.data[6]] + BERTLV.encodeLength(a0.count + 2) + tlv(0xA0, a0)), statusWord: .success)
        }
        os.register(ins: 0x22) { os, c in
            guard c.p1 == 0x41, let t = try? BERTLV.decode(c.data, skipPadding: false) else { return ResponseAPDU(statusWord: StatusWord(0x6A80)) }
            var m: [UInt8: [UInt8]] = [:]
            for o in t { m[UInt8(o.tag & 0xFF)] = o.value }
            os.securityEnvironment.templates[c.p2] = m
            return ResponseAPDU(statusWord: .success)
        }
        os.register(ins: 0x88) { os, c in
            guard let at = os.securityEnvironment.templates[0xA4], at[0x80] == [0x02], let ref = at[0x84]?.first else {
                return ResponseAPDU(statusWord: StatusWord(0x6985))
            }
            let key: RSAPrivateKey?
            switch ref {
            case 0x82:
                guard os.isSatisfied(.pin(0x01)) else { return ResponseAPDU(statusWord: StatusWord(0x6982)) }
                key = authKey
            case 0x83: key = techKey
            default: key = nil
            }
            guard let key, c.data.count <= 102, let sig = try? key.signPKCS1(digestInfo: c.data) else {
                return ResponseAPDU(statusWord: StatusWord(0x6A80))
            }
            return ResponseAPDU(data: sig, statusWord: .success)
        }
        os.register(ins: 0x2A) { os, c in
            guard c.p1 == 0x9E, c.p2 == 0x9A, let dst = os.securityEnvironment.templates[0xB6], dst[0x84] == [0x81],
                dst[0x80] == [0x42], c.data.count == 32
            else { return ResponseAPDU(statusWord: StatusWord(0x6985)) }
            guard os.isSatisfied(.pin(0x01)) else { return ResponseAPDU(statusWord: StatusWord(0x6982)) }
            guard let sig = try? signKey.signPKCS1(digestInfo: DigestInfo.encode(.sha256, digest: c.data)) else {
                return ResponseAPDU(statusWord: StatusWord(0x6F00))
            }
            return ResponseAPDU(data: sig, statusWord: .success)
        }
        let cl = p.interfaces.contains("contactless") ? ContactlessInterface(uid: [0x08, 0x12, 0x34, 0x56], historicalBytes: clHistorical) : nil
        return OSCard(label: id, atr: contactATR, os: os, contactless: cl)
    }
}
