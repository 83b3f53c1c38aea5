import CarteCrypto
import ISO7816

/// The IAS-ECC commands the CPS3 profile adds to (or refines in) the card OS (cps.md §4–§6, §11.1):
/// SELECT with IAS-ECC FCPs (`A1 { 8C contact rules, 9C contactless rules }`), GET DATA for SDOs, MSE SET,
/// PSO HASH / COMPUTE DIGITAL SIGNATURE / DECIPHER, INTERNAL AUTHENTICATE.
enum CPS3Commands {
    static let mse: UInt8 = 0x22
    static let pso: UInt8 = 0x2A
    static let internalAuthenticate: UInt8 = 0x88

    /// MSE state keys in `SecurityEnvironment.scratch`.
    static let hashKey = "cps3.psoHash"
    static let hashAlgorithmKey = "cps3.psoHashAlgorithm"

    static func sw(_ v: UInt16) -> ResponseAPDU { ResponseAPDU(statusWord: StatusWord(v)) }

    static func install(into os: CardOS, state: CPS3State) {
        os.register(ins: ISOCommands.select) { os, c in select(os, c, state) }
        os.register(ins: ISOCommands.getDataOdd) { os, c in getData(os, c, state) }
        os.register(ins: mse) { os, c in manageSecurityEnvironment(os, c, state) }
        os.register(ins: pso) { os, c in performSecurityOperation(os, c, state) }
        os.register(ins: internalAuthenticate) { os, c in internalAuth(os, c, state) }
        if state.contactless {
            // No PIN object over the contactless interface (cps.md §7): the PIN commands are refused.
            for ins in [ISOCommands.verify, ISOCommands.changeReferenceData, ISOCommands.resetRetryCounter] {
                os.register(ins: ins) { _, _ in sw(0x6982) }
            }
        }
    }

    // MARK: SELECT with IAS-ECC FCPs

    /// IAS-ECC security attributes: `A1 { 8C <AM> <SCBs> 9C <AM> <SCBs> }` (cps.md §4.1 FCP examples).
    /// AM `7B`: delete, terminate, activate, deactivate, update, read. SCB `00` always, `FF` never, `12` user
    /// authentication (PIN in SE 2).
    static func scb(_ c: AccessCondition) -> UInt8 {
        switch c {
        case .always: return 0x00
        case .never: return 0xFF
        case .pin: return 0x12
        case .flag: return 0xFF
        }
    }

    static func efFCP(_ e: ElementaryFile) -> [UInt8] {
        // The files the host's own tools never change carry the real card's management rules (`45`).
        let management: UInt8 = (e.fid == CPS3Files.FID.atr || e.fid == CPS3Files.FID.dir) ? 0x45 : 0xFF
        let upd = e.updateCondition == .never ? management : scb(e.updateCondition)
        let contact: [UInt8] = [0x7B, management, 0xFF, 0xFF, 0xFF, upd, scb(e.readCondition)]
        // Contactless rules (`9C`): read as over contact for public files, never for PIN-protected ones.
        let clRules: [UInt8] = [0x7B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, e.readCondition == .always ? 0x00 : 0xFF]
        var body = BERTLV.encode(0x80, [UInt8(e.size >> 8 & 0xFF), UInt8(e.size & 0xFF)])
        body += BERTLV.encode(0x82, [0x01])
        body += BERTLV.encode(0x83, [UInt8(e.fid >> 8), UInt8(e.fid & 0xFF)])
        if let s = e.sfi { body += BERTLV.encode(0x88, [s << 3]) }
        body += BERTLV.encode(0xA1, BERTLV.encode(0x8C, contact) + BERTLV.encode(0x9C, clRules))
        body += BERTLV.encode(0x8A, [0x05])
        return BERTLV.encode(0x62, body)
    }

    static func dfFCP(_ d: DedicatedFile) -> [UInt8] {
        var body = BERTLV.encode(0x82, [0x38])
        if let fid = d.fid { body += BERTLV.encode(0x83, [UInt8(fid >> 8), UInt8(fid & 0xFF)]) }
        if let name = d.name { body += BERTLV.encode(0x84, name) }
        // AM 7B for a DF: delete, terminate, activate, deactivate, create EF (never), create DF (never).
        let rules: [UInt8] = [0x7B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        body += BERTLV.encode(0xA1, BERTLV.encode(0x8C, rules) + BERTLV.encode(0x9C, rules))
        body += BERTLV.encode(0x8A, [0x05])
        return BERTLV.encode(0x62, body)
    }

    /// SELECT: the card OS's selection, then the IAS-ECC FCP in place of the generic one. P1 `01`/`02` with a FID
    /// that is not a child (e.g. `3F00`) falls back to the P1 `00` search, as IAS-ECC cards accept it.
    static func select(_ os: CardOS, _ c: CommandAPDU, _ state: CPS3State) -> ResponseAPDU {
        let wantActua = os.enabledFlags.contains(CPS3Profile.actuaFlag)
        let hasActua = state.masterFile.child(fid: CPS3Files.FID.actua) != nil
        if wantActua && !hasActua { state.masterFile.add(state.actua) }
        if !wantActua && hasActua { state.masterFile.removeChild(fid: CPS3Files.FID.actua) }

        var r = ISOCommands.selectFile(os, c)
        if r.statusWord == StatusWord(0x6A82), c.p1 == 0x01 || c.p1 == 0x02 {
            var c0 = c
            c0.p1 = 0x00
            r = ISOCommands.selectFile(os, c0)
        }
        guard r.statusWord == .success, !r.data.isEmpty else { return r }
        var fcp: [UInt8]
        if let e = os.currentEF { fcp = efFCP(e) } else { fcp = dfFCP(os.currentDF) }
        if c.p2 & 0x0C == 0x00 { fcp[0] = 0x6F }
        return ResponseAPDU(data: fcp, statusWord: .success)
    }

    // MARK: GET DATA for SDOs (IAS-ECC, cps.md §5 and §6.3 F)

    /// Parses `4D LL 70 LL BF <class> <ref> LL <tag> 80` → (class, reference, requested tag).
    static func parseSDORequest(_ d: [UInt8]) -> (cls: UInt8, ref: UInt8, tag: UInt16)? {
        guard let outer = try? BERTLV.decodeOneLevel(d, maximumLengthBytes: 3), outer.count == 1, outer[0].tag == 0x4D,
            let tpl = try? BERTLV.decodeOneLevel(outer[0].value, maximumLengthBytes: 3), tpl.count == 1,
            tpl[0].tag == 0x70
        else { return nil }
        let v = tpl[0].value
        guard v.count >= 6, v[0] == 0xBF else { return nil }
        let len = Int(v[3])
        guard v.count == 4 + len, len >= 2 else { return nil }
        let body = Array(v[4...])
        var tag: UInt16
        var rest: ArraySlice<UInt8>
        if body[0] & 0x1F == 0x1F, body.count >= 3 {
            tag = UInt16(body[0]) << 8 | UInt16(body[1])
            rest = body[2...]
        } else {
            tag = UInt16(body[0])
            rest = body[1...]
        }
        guard rest.first == 0x80 else { return nil }
        return (v[1], v[2], tag)
    }

    /// `70 LL BF <class> <ref> LL <content>`.
    static func sdoAnswer(cls: UInt8, ref: UInt8, _ content: [UInt8]) -> [UInt8] {
        BERTLV.encode(0x70, BERTLV.encode(0xBF_0000 | UInt32(cls) << 8 | UInt32(ref), content))
    }

    /// DOCP of a CHV: `A0 { 9A max, 9B remaining, [9D usage], A1 { 8C F3 00 00 13 FF 00 } }` — the real card's
    /// bytes for the PIN (cps.md §5), with the live counter.
    static func chvDOCP(_ pin: PINObject) -> [UInt8] {
        var body = BERTLV.encode(0x9A, [UInt8(pin.maxTries)]) + BERTLV.encode(0x9B, [UInt8(max(0, pin.triesLeft))])
        if pin.reference == 0x02 { body += BERTLV.encode(0x9D, [0x00, 0x64]) }
        body += BERTLV.encode(0xA1, BERTLV.encode(0x8C, [0xF3, 0x00, 0x00, 0x13, 0xFF, 0x00]))
        return BERTLV.encode(0xA0, body)
    }

    /// DOCP of a private RSA key: `A0 { A1 { 8C <AM> <SCBs> }, 80 02 <size in bytes> }`. AM bits 40 PSO CDS, 20
    /// INTERNAL AUTHENTICATE, 10 PSO DECIPHER; SCB `12` = user authentication, `00` = always.
    static func keyDOCP(_ k: CPS3Key) -> [UInt8] {
        let s = scb(k.useCondition)
        var am: UInt8 = 0
        var scbs: [UInt8] = []
        if k.algorithms[0xB6] != nil { am |= 0x40; scbs.append(s) }
        if k.algorithms[0xA4] != nil { am |= 0x20; scbs.append(s) }
        if k.algorithms[0xB8] != nil { am |= 0x10; scbs.append(s) }
        let size = k.modulusLength
        return BERTLV.encode(0xA0,
            BERTLV.encode(0xA1, BERTLV.encode(0x8C, [am] + scbs))
                + BERTLV.encode(0x80, [UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]))
    }

    static func getData(_ os: CardOS, _ c: CommandAPDU, _ state: CPS3State) -> ResponseAPDU {
        guard c.p1 == 0x3F, c.p2 == 0xFF else { return ISOCommands.getDataOddHandler(os, c) }
        guard let req = parseSDORequest(c.data) else { return sw(0x6A80) }
        switch req.cls {
        case 0x81:  // CHV, global: read with the MF current (cps.md §4.1)
            guard os.currentDF === os.masterFile, let pin = os.pins[req.ref] else { return sw(0x6A88) }
            switch req.tag {
            case 0xA0:
                return ResponseAPDU(data: sdoAnswer(cls: 0x81, ref: req.ref, chvDOCP(pin)), statusWord: .success)
            case 0x7F41:
                let sizes = BERTLV.encode(0x80, [UInt8(pin.lengthRange.upperBound)])
                    + BERTLV.encode(0x81, [UInt8(pin.lengthRange.lowerBound)])
                return ResponseAPDU(data: sdoAnswer(cls: 0x81, ref: req.ref, BERTLV.encode(0x7F41, sizes)),
                    statusWord: .success)
            default:
                return sw(0x6A80)
            }
        case 0x90:  // RSA private key, in its DF
            guard let key = os.keyStore[req.ref | 0x80] as? CPS3Key, os.currentDF.fid == key.dfFID,
                os.currentDF.parent === os.masterFile
            else { return sw(0x6A88) }
            guard req.tag == 0xA0 || req.tag == 0x7F48 else { return sw(0x6A80) }
            // The private components are never readable: both requests answer the key's DOCP.
            return ResponseAPDU(data: sdoAnswer(cls: 0x90, ref: req.ref, keyDOCP(key)), statusWord: .success)
        default:  // SE objects (1D) and anything else: like the real card (S4-2275)
            return sw(0x6A88)
        }
    }

    // MARK: MSE SET (ISO/IEC 7816-4 §11.5.11)

    static func manageSecurityEnvironment(_ os: CardOS, _ c: CommandAPDU, _ state: CPS3State) -> ResponseAPDU {
        if c.p1 == 0xF3 {  // RESTORE: back to the default (empty) environment
            os.securityEnvironment.templates.removeAll()
            os.securityEnvironment.scratch.removeAll()
            return sw(0x9000)
        }
        guard c.p1 == 0x41 else { return sw(0x6A86) }
        let crt = c.p2
        guard [0xAA, 0xB6, 0xA4, 0xB8].contains(crt) else { return sw(0x6A86) }
        guard let objects = try? BERTLV.decodeOneLevel(c.data, maximumLengthBytes: 3), !objects.isEmpty else {
            return sw(0x6A80)
        }
        var values: [UInt8: [UInt8]] = [:]
        for o in objects {
            guard o.tag <= 0xFF, values[UInt8(o.tag)] == nil else { return sw(0x6A80) }
            values[UInt8(o.tag)] = o.value
        }
        guard let alg = values[0x80], alg.count == 1 else { return sw(0x6A80) }
        if crt == 0xAA {
            guard values.count == 1, alg[0] == 0x10 || alg[0] == 0x40 else { return sw(0x6A80) }
            os.securityEnvironment.templates[crt] = values
            os.securityEnvironment.scratch[hashKey] = nil
            return sw(0x9000)
        }
        if values[0x81] != nil {
            // A file reference: the technical key refuses it (cps.md §6.3 G); contact keys ignore it.
            if state.contactless { return sw(0x6A80) }
        }
        guard Set(values.keys).isSubset(of: [0x80, 0x84, 0x81]) else { return sw(0x6A80) }
        var ref: UInt8
        if let k = values[0x84] {
            guard k.count == 1 else { return sw(0x6A80) }
            ref = k[0]
        } else if state.contactless {
            ref = CPS3Files.KeyReference.technical
        } else {
            return sw(0x6A80)
        }
        guard let key = os.keyStore[ref] as? CPS3Key else { return sw(0x6A88) }
        guard let allowed = key.algorithms[crt], allowed.contains(alg[0]) else { return sw(0x6A80) }
        values[0x84] = [ref]
        os.securityEnvironment.templates[crt] = values
        return sw(0x9000)
    }

    // MARK: PSO (ISO/IEC 7816-8)

    static func performSecurityOperation(_ os: CardOS, _ c: CommandAPDU, _ state: CPS3State) -> ResponseAPDU {
        switch (c.p1, c.p2) {
        case (0x90, 0xA0): return psoHash(os, c)
        case (0x9E, 0x9A): return psoComputeSignature(os, c, state)
        case (0x80, 0x86): return psoDecipher(os, c)
        default: return sw(0x6A86)
        }
    }

    /// PSO HASH, IAS-ECC format (cps.md §6.3 B): `90 L <state ‖ 8-byte bit count>` (L = 0 for a fresh hash)
    /// then `80 LL <last block>`; the card resumes the hash and keeps the digest for PSO CDS.
    static func psoHash(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard let ht = os.securityEnvironment.templates[0xAA], let alg = ht[0x80]?.first else { return sw(0x6985) }
        let algorithm: SHAStream.Algorithm = alg == 0x10 ? .sha1 : .sha256
        guard let objects = try? BERTLV.decodeOneLevel(c.data, maximumLengthBytes: 3), !objects.isEmpty else {
            return sw(0x6A80)
        }
        var intermediate: [UInt8] = []
        var last: [UInt8]?
        for o in objects {
            switch o.tag {
            case 0x90: intermediate = o.value
            case 0x80: last = o.value
            default: return sw(0x6A80)
            }
        }
        guard let last, last.count <= 64 else { return sw(0x6A80) }
        var stream: SHAStream
        if intermediate.isEmpty {
            stream = SHAStream(algorithm)
        } else {
            guard intermediate.count == algorithm.stateLength + 8 else { return sw(0x6A80) }
            let state = Array(intermediate.prefix(algorithm.stateLength))
            let bits = intermediate.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            do { stream = try SHAStream(algorithm, resumingState: state, bitCount: bits) } catch { return sw(0x6A80) }
        }
        stream.update(last)
        os.securityEnvironment.scratch[hashKey] = stream.finalize()
        os.securityEnvironment.scratch[hashAlgorithmKey] = [alg]
        return sw(0x9000)
    }

    /// Checks the key of a CRT and its access condition. Returns the key or the refusal.
    enum KeyCheck {
        case success((CPS3Key, UInt8))
        case failure(ResponseAPDU)
    }

    static func keyFor(_ os: CardOS, crt: UInt8) -> KeyCheck {
        guard let t = os.securityEnvironment.templates[crt], let ref = t[0x84]?.first, let alg = t[0x80]?.first,
            let key = os.keyStore[ref] as? CPS3Key
        else { return .failure(sw(0x6985)) }
        guard os.isSatisfied(key.useCondition) else { return .failure(sw(0x6982)) }
        return .success((key, alg))
    }

    /// PSO COMPUTE DIGITAL SIGNATURE: no data → the PSO HASH digest; or a 20/32-byte digest matching the DST
    /// algorithm (12 SHA-1, 42 SHA-256). The card builds the DigestInfo and the PKCS#1 v1.5 signature.
    static func psoComputeSignature(_ os: CardOS, _ c: CommandAPDU, _ state: CPS3State) -> ResponseAPDU {
        if state.contactless { return sw(0x6982) }
        let key: CPS3Key
        let alg: UInt8
        switch keyFor(os, crt: 0xB6) {
        case .failure(let r): return r
        case .success(let (k, a)): (key, alg) = (k, a)
        }
        let hash: HashAlgorithm = alg == 0x12 ? .sha1 : .sha256
        var digest = c.data
        if digest.isEmpty {
            guard let h = os.securityEnvironment.scratch[hashKey],
                os.securityEnvironment.scratch[hashAlgorithmKey] == [alg == 0x12 ? 0x10 : 0x40]
            else { return sw(0x6985) }
            digest = h
        }
        guard digest.count == hash.digestLength else { return sw(0x6A80) }
        os.securityEnvironment.scratch[hashKey] = nil
        do {
            let sig = try key.privateKey.signPKCS1(digestInfo: DigestInfo.encode(hash, digest: digest))
            return ResponseAPDU(data: sig, statusWord: .success)
        } catch { return sw(0x6F00) }
    }

    /// PSO DECIPHER: data `81` ‖ cryptogram (modulus length), usually sent with command chaining; answers the
    /// PKCS#1 v1.5 (type 2) plaintext.
    static func psoDecipher(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        let key: CPS3Key
        switch keyFor(os, crt: 0xB8) {
        case .failure(let r): return r
        case .success(let (k, _)): key = k
        }
        guard c.data.first == 0x81 else { return sw(0x6A80) }
        let cryptogram = Array(c.data.dropFirst())
        guard cryptogram.count == key.modulusLength else { return sw(0x6700) }
        do {
            return ResponseAPDU(data: try key.privateKey.decryptPKCS1(cryptogram), statusWord: .success)
        } catch { return sw(0x6A80) }
    }

    // MARK: INTERNAL AUTHENTICATE (ISO/IEC 7816-4 §11.5.10)

    /// The card pads the input (PKCS#1 type 1) and signs with the AT key; input at most 40 % of the modulus
    /// (cps.md §6.3 D).
    static func internalAuth(_ os: CardOS, _ c: CommandAPDU, _ state: CPS3State) -> ResponseAPDU {
        guard c.p1 == 0x00, c.p2 == 0x00 else { return sw(0x6A86) }
        let key: CPS3Key
        switch keyFor(os, crt: 0xA4) {
        case .failure(let r): return r
        case .success(let (k, _)): key = k
        }
        guard !c.data.isEmpty, c.data.count <= key.modulusLength * 40 / 100 else { return sw(0x6700) }
        do {
            return ResponseAPDU(data: try key.privateKey.signPKCS1(digestInfo: c.data), statusWord: .success)
        } catch { return sw(0x6F00) }
    }
}
