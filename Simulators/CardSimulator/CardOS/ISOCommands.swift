import ISO7816

/// The interindustry commands of ISO/IEC 7816-4 that every simulated card shares (§11: SELECT, READ BINARY,
/// READ RECORD, UPDATE BINARY, GET DATA, VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, GET CHALLENGE,
/// GET RESPONSE). Profiles replace or add handlers through `CardOS.register(ins:_:)`.
public enum ISOCommands {
    public static let select: UInt8 = 0xA4
    public static let readBinary: UInt8 = 0xB0
    public static let readRecord: UInt8 = 0xB2
    public static let updateBinary: UInt8 = 0xD6
    public static let getData: UInt8 = 0xCA
    public static let getDataOdd: UInt8 = 0xCB
    public static let verify: UInt8 = 0x20
    public static let changeReferenceData: UInt8 = 0x24
    public static let resetRetryCounter: UInt8 = 0x2C
    public static let getChallenge: UInt8 = 0x84
    public static let getResponse: UInt8 = 0xC0

    static func installStandardHandlers(into os: CardOS) {
        os.register(ins: select, selectFile)
        os.register(ins: readBinary, readBinaryHandler)
        os.register(ins: readRecord, readRecordHandler)
        os.register(ins: updateBinary, updateBinaryHandler)
        os.register(ins: getData, getDataHandler)
        os.register(ins: getDataOdd, getDataOddHandler)
        os.register(ins: verify, verifyHandler)
        os.register(ins: changeReferenceData, changeReferenceDataHandler)
        os.register(ins: resetRetryCounter, resetRetryCounterHandler)
        os.register(ins: getChallenge, getChallengeHandler)
        os.register(ins: getResponse, getResponseHandler)
    }

    static func sw(_ v: UInt16) -> ResponseAPDU { ResponseAPDU(statusWord: StatusWord(v)) }

    static func fid(_ d: [UInt8], at i: Int) -> UInt16 { UInt16(d[i]) << 8 | UInt16(d[i + 1]) }

    // MARK: SELECT (ISO/IEC 7816-4 §11.1.1)

    /// P1: 00 MF/DF/EF by FID, 01 child DF, 02 EF under the current DF, 03 parent DF, 04 DF name,
    /// 08 path from the MF, 09 path from the current DF (a leading `3F00` is accepted in both).
    /// P2: 00 FCI (`6F`), 04 FCP (`62`), 0C no data; `0x02` (next occurrence) is refused with `6A 86`.
    static func selectFile(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        let answer: UInt8 = c.p2 & 0x0C
        guard c.p2 & 0xF3 == 0, answer != 0x08 else { return sw(0x6A86) }
        let d = c.data
        var targetDF: DedicatedFile?
        var targetEF: ElementaryFile?
        switch c.p1 {
        case 0x00:
            if d.isEmpty || d == [0x3F, 0x00] { targetDF = os.masterFile; break }
            guard d.count == 2 else { return sw(0x6A87) }
            let f = fid(d, at: 0)
            if let n = os.currentDF.child(fid: f) {
                switch n {
                case .ef(let e): targetEF = e
                case .df(let x): targetDF = x
                }
            } else if os.currentDF.fid == f {
                targetDF = os.currentDF
            } else if let p = os.currentDF.parent, p.fid == f {
                targetDF = p
            } else if let p = os.currentDF.parent, case .df(let x)? = p.child(fid: f) {
                targetDF = x
            } else if let p = os.currentDF.parent, case .ef(let e)? = p.child(fid: f) {
                targetEF = e
            } else { return sw(0x6A82) }
        case 0x01:
            guard d.count == 2 else { return sw(0x6A87) }
            guard case .df(let x)? = os.currentDF.child(fid: fid(d, at: 0)) else { return sw(0x6A82) }
            targetDF = x
        case 0x02:
            guard d.count == 2 else { return sw(0x6A87) }
            guard case .ef(let e)? = os.currentDF.child(fid: fid(d, at: 0)) else { return sw(0x6A82) }
            targetEF = e
        case 0x03:
            guard d.isEmpty else { return sw(0x6A87) }
            guard let p = os.currentDF.parent else { return sw(0x6A82) }
            targetDF = p
        case 0x04:
            guard (1...16).contains(d.count) else { return sw(0x6A87) }
            guard let x = os.masterFile.findDF(name: d) else { return sw(0x6A82) }
            targetDF = x
        case 0x08, 0x09:
            guard d.count >= 2, d.count % 2 == 0 else { return sw(0x6A87) }
            var ids = stride(from: 0, to: d.count, by: 2).map { fid(d, at: $0) }
            var df: DedicatedFile = c.p1 == 0x08 ? os.masterFile : os.currentDF
            if ids.first == 0x3F00 {
                df = os.masterFile
                ids.removeFirst()
            }
            if ids.isEmpty { targetDF = df; break }
            for (k, f) in ids.enumerated() {
                guard let n = df.child(fid: f) else { return sw(0x6A82) }
                switch n {
                case .df(let x): df = x
                case .ef(let e):
                    guard k == ids.count - 1 else { return sw(0x6A82) }
                    targetEF = e
                }
            }
            if targetEF == nil { targetDF = df } else { targetDF = nil }
        default:
            return sw(0x6A86)
        }
        var payload: [UInt8] = []
        if let e = targetEF {
            if let p = e.parent { os.currentDF = p }
            os.currentEF = e
            payload = e.fcp
            if answer == 0x00 { payload[0] = 0x6F }
        } else if let x = targetDF {
            os.currentDF = x
            os.currentEF = nil
            payload = answer == 0x00 ? x.fci : x.fcp
        }
        if answer == 0x0C { return sw(0x9000) }
        return ResponseAPDU(data: payload, statusWord: .success)
    }

    // MARK: READ BINARY / UPDATE BINARY (§11.2.3, §11.2.5)

    /// Resolves the EF and offset of a BINARY command: P1 bit 8 set → SFI in P1 b5…b1 and an 8-bit offset in P2
    /// (the EF becomes current); otherwise a 15-bit offset in P1-P2 on the current EF.
    enum BinaryTarget { case found(ElementaryFile, Int), refused(ResponseAPDU) }

    static func binaryTarget(_ os: CardOS, _ c: CommandAPDU) -> BinaryTarget {
        if c.p1 & 0x80 != 0 {
            guard c.p1 & 0x60 == 0 else { return .refused(sw(0x6A86)) }
            let sfi = c.p1 & 0x1F
            guard sfi != 0, let e = os.currentDF.ef(sfi: sfi) else { return .refused(sw(0x6A82)) }
            os.currentEF = e
            return .found(e, Int(c.p2))
        }
        guard let e = os.currentEF else { return .refused(sw(0x6986)) }
        return .found(e, Int(c.p1) << 8 | Int(c.p2))
    }

    static func readBinaryHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard c.data.isEmpty, let ne = c.ne else { return sw(0x6700) }
        let e: ElementaryFile
        let offset: Int
        switch binaryTarget(os, c) {
        case .refused(let r): return r
        case .found(let f, let o): (e, offset) = (f, o)
        }
        guard case .transparent(let bytes) = e.structure else { return sw(0x6981) }
        guard os.isSatisfied(e.readCondition) else { return sw(0x6982) }
        guard offset < bytes.count else { return sw(0x6B00) }
        let n = min(ne, bytes.count - offset)
        let chunk = Array(bytes[offset..<(offset + n)])
        if n < ne && ne != 256 && os.t0Mode == .auto { return ResponseAPDU(data: chunk, sw1: 0x62, sw2: 0x82) }
        return ResponseAPDU(data: chunk, statusWord: .success)
    }

    static func updateBinaryHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard !c.data.isEmpty else { return sw(0x6700) }
        let e: ElementaryFile
        let offset: Int
        switch binaryTarget(os, c) {
        case .refused(let r): return r
        case .found(let f, let o): (e, offset) = (f, o)
        }
        guard case .transparent(var bytes) = e.structure else { return sw(0x6981) }
        guard os.isSatisfied(e.updateCondition) else { return sw(0x6982) }
        guard offset <= bytes.count else { return sw(0x6B00) }
        guard offset + c.data.count <= bytes.count else { return sw(0x6A84) }
        bytes.replaceSubrange(offset..<(offset + c.data.count), with: c.data)
        e.structure = .transparent(bytes)
        return sw(0x9000)
    }

    // MARK: READ RECORD (§11.3.3)

    /// P1 = record number (01…FE); P2 b8…b4 = SFI (0 = current EF), b3…b1 = `100` (record P1). Other P2 modes
    /// answer `6A 86`.
    static func readRecordHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard c.data.isEmpty, let ne = c.ne else { return sw(0x6700) }
        guard c.p2 & 0x07 == 0x04, c.p1 != 0x00, c.p1 != 0xFF else { return sw(0x6A86) }
        let sfi = c.p2 >> 3
        let e: ElementaryFile
        if sfi == 0 {
            guard let cur = os.currentEF else { return sw(0x6986) }
            e = cur
        } else {
            guard sfi != 0x1F, let f = os.currentDF.ef(sfi: sfi) else { return sw(0x6A82) }
            e = f
            os.currentEF = f
        }
        guard case .records(let records, _) = e.structure else { return sw(0x6981) }
        guard os.isSatisfied(e.readCondition) else { return sw(0x6982) }
        let index = Int(c.p1) - 1
        guard index < records.count else { return sw(0x6A83) }
        let record = records[index]
        let n = min(ne, record.count)
        let chunk = Array(record.prefix(n))
        if n < ne && ne != 256 && os.t0Mode == .auto { return ResponseAPDU(data: chunk, sw1: 0x62, sw2: 0x82) }
        return ResponseAPDU(data: chunk, statusWord: .success)
    }

    // MARK: GET DATA (§11.4.3)

    static func getDataHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard c.data.isEmpty else { return sw(0x6700) }
        guard let v = os.dataObjects[UInt16(c.p1) << 8 | UInt16(c.p2)] else { return sw(0x6A88) }
        return ResponseAPDU(data: v, statusWord: .success)
    }

    static func getDataOddHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard let v = os.oddDataObjects[[c.p1, c.p2] + c.data] else { return sw(0x6A88) }
        return ResponseAPDU(data: v, statusWord: .success)
    }

    // MARK: PIN commands (§11.5.6, §11.5.7, §11.5.10; cps.md §5)

    static func triesStatus(_ pin: PINObject) -> ResponseAPDU {
        pin.isBlocked ? sw(0x6983) : ResponseAPDU(sw1: 0x63, sw2: 0xC0 | UInt8(min(pin.triesLeft, 15)))
    }

    /// Checks `presented` against PIN `ref`, updating its counter and the security status.
    /// Returns `nil` on success, or the refusal status word.
    static func check(_ os: CardOS, ref: UInt8, presented: [UInt8]) -> ResponseAPDU? {
        guard var pin = os.pins[ref] else { return sw(0x6A88) }
        if pin.isBlocked { return sw(0x6983) }
        if pin.matches(presented) {
            pin.triesLeft = pin.maxTries
            os.pins[ref] = pin
            os.verifiedReferences.insert(ref)
            return nil
        }
        pin.triesLeft -= 1
        os.pins[ref] = pin
        os.verifiedReferences.remove(ref)
        return ResponseAPDU(sw1: 0x63, sw2: 0xC0 | UInt8(min(max(pin.triesLeft, 0), 15)))
    }

    /// VERIFY: P1 00 with data checks the PIN; with empty data answers `90 00` when already verified, else
    /// `63 Cx` (x tries left) or `69 83` when blocked; P1 FF resets the verified state of the reference.
    static func verifyHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard let pin = os.pins[c.p2] else { return sw(0x6A88) }
        if c.p1 == 0xFF {
            guard c.data.isEmpty else { return sw(0x6700) }
            os.verifiedReferences.remove(c.p2)
            return sw(0x9000)
        }
        guard c.p1 == 0x00 else { return sw(0x6A86) }
        if c.data.isEmpty {
            if pin.isBlocked { return sw(0x6983) }
            return os.verifiedReferences.contains(c.p2) ? sw(0x9000) : triesStatus(pin)
        }
        return check(os, ref: c.p2, presented: c.data) ?? sw(0x9000)
    }

    /// Splits `old ‖ new` using the stored length of the current value.
    static func newValue(_ pin: PINObject, _ new: [UInt8]) -> [UInt8]? {
        var v = new
        if let pad = pin.padding { while v.last == pad { v.removeLast() } }
        return pin.lengthRange.contains(v.count) ? v : nil
    }

    /// CHANGE REFERENCE DATA: P1 00 → data = current ‖ new; P1 01 → data = new, after a successful VERIFY.
    /// With P1 00 the card splits the data after the current value's length, or in two equal halves when the PIN
    /// has a padding byte and the data is two padded blocks (as a pinpad's PIN_MODIFY_STRUCTURE builds it).
    static func changeReferenceDataHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard let pin = os.pins[c.p2] else { return sw(0x6A88) }
        if pin.isBlocked { return sw(0x6983) }
        switch c.p1 {
        case 0x00:
            var oldLength = pin.value.count
            if pin.padding != nil && c.data.count % 2 == 0 && c.data.count / 2 > oldLength { oldLength = c.data.count / 2 }
            guard c.data.count > oldLength else { return sw(0x6700) }
            if let refusal = check(os, ref: c.p2, presented: Array(c.data.prefix(oldLength))) { return refusal }
            guard let v = newValue(pin, Array(c.data.dropFirst(oldLength))) else { return sw(0x6A80) }
            os.pins[c.p2]?.value = v
            return sw(0x9000)
        case 0x01:
            guard os.verifiedReferences.contains(c.p2) else { return sw(0x6982) }
            guard let v = newValue(pin, c.data) else { return sw(0x6A80) }
            os.pins[c.p2]?.value = v
            return sw(0x9000)
        default:
            return sw(0x6A86)
        }
    }

    /// RESET RETRY COUNTER (cps.md §5): P1 00 → PUK ‖ new PIN; P1 01 → PUK only (counter reset);
    /// P1 02 → new PIN only, the PUK having been verified with VERIFY; P1 03 → nothing, PUK verified.
    static func resetRetryCounterHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard let pin = os.pins[c.p2] else { return sw(0x6A88) }
        guard let pukRef = pin.unblockingReference, let puk = os.pins[pukRef] else { return sw(0x6985) }
        func unblock(_ newPIN: [UInt8]?) -> ResponseAPDU {
            var p = pin
            if let newPIN {
                guard let v = newValue(pin, newPIN) else { return sw(0x6A80) }
                p.value = v
            }
            p.triesLeft = p.maxTries
            os.pins[c.p2] = p
            return sw(0x9000)
        }
        switch c.p1 {
        case 0x00, 0x01:
            let pukLength = puk.value.count
            if c.p1 == 0x00 { guard c.data.count > pukLength else { return sw(0x6700) } }
            else { guard c.data.count == pukLength else { return sw(0x6700) } }
            if let refusal = check(os, ref: pukRef, presented: Array(c.data.prefix(pukLength))) { return refusal }
            return unblock(c.p1 == 0x00 ? Array(c.data.dropFirst(pukLength)) : nil)
        case 0x02, 0x03:
            guard os.verifiedReferences.contains(pukRef) else { return sw(0x6982) }
            if c.p1 == 0x02 { guard !c.data.isEmpty else { return sw(0x6700) } }
            else { guard c.data.isEmpty else { return sw(0x6700) } }
            return unblock(c.p1 == 0x02 ? c.data : nil)
        default:
            return sw(0x6A86)
        }
    }

    // MARK: GET CHALLENGE (§11.5.3) and GET RESPONSE (§11.4.1)

    static func getChallengeHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard c.p1 == 0, c.p2 == 0 else { return sw(0x6A86) }
        guard c.data.isEmpty, let ne = c.ne else { return sw(0x6700) }
        let n = ne == 256 ? 8 : ne
        os.lastChallenge = os.randomBytes(n)
        return ResponseAPDU(data: os.lastChallenge, statusWord: .success)
    }

    /// GET RESPONSE `00 C0 00 00 Le`: serves data left by a `61 xx` answer. Le larger than what remains →
    /// `6C xx`; Le smaller → the rest stays available with `61 xx`; nothing pending → `69 85`.
    static func getResponseHandler(_ os: CardOS, _ c: CommandAPDU) -> ResponseAPDU {
        guard c.p1 == 0, c.p2 == 0 else { return sw(0x6A86) }
        guard !os.pendingResponse.isEmpty else { return sw(0x6985) }
        let ne = c.ne ?? 256
        let available = os.pendingResponse.count
        if ne > available && !(ne == 256 && os.t0Mode == .auto) {
            return ResponseAPDU(sw1: 0x6C, sw2: UInt8(truncatingIfNeeded: available))
        }
        let n = min(ne, available)
        let chunk = Array(os.pendingResponse.prefix(n))
        os.pendingResponse.removeFirst(n)
        if os.pendingResponse.isEmpty { return ResponseAPDU(data: chunk, statusWord: os.pendingStatus) }
        return ResponseAPDU(data: chunk, sw1: 0x61, sw2: UInt8(truncatingIfNeeded: min(os.pendingResponse.count, 256)))
    }
}

// MARK: MANAGE SECURITY ENVIRONMENT (ISO/IEC 7816-4 §11.5.11), optional

extension ISOCommands {
    public static let manageSecurityEnvironment: UInt8 = 0x22

    /// Installs a generic MSE handler for profiles with crypto (not installed by default: Vitale answers `6D 00`).
    ///
    /// * MSE SET: P1 `41` (computation, decipherment, internal authentication), `81` (verification, encipherment,
    ///   external authentication) or `C1` (both); P2 the CRT tag (`A4` AT, `AA` HT, `B4` CCT, `B6` DST, `B8` CT);
    ///   data = BER-TLV objects in any order (e.g. `80` algorithm reference, `84` key reference). They replace
    ///   `securityEnvironment.templates[P2]`. A key reference `84` that is not in `keyStore` answers `6A 88`.
    /// * MSE RESTORE: P1 `F3` → the environment is cleared (only SE #0/#1 exist here).
    /// Errors: wrong P1/P2 `6A 86`, malformed data `6A 80`.
    public static func installManageSecurityEnvironment(into os: CardOS, checkKeyReferences: Bool = true) {
        os.register(ins: manageSecurityEnvironment) { os, c in
            if c.p1 == 0xF3 {
                os.securityEnvironment = SecurityEnvironment()
                return sw(0x9000)
            }
            guard [0x41, 0x81, 0xC1].contains(c.p1), [0xA4, 0xAA, 0xB4, 0xB6, 0xB8].contains(c.p2) else {
                return sw(0x6A86)
            }
            guard let objects = try? BERTLV.decodeOneLevel(c.data, maximumLengthBytes: 3) else { return sw(0x6A80) }
            var template: [UInt8: [UInt8]] = [:]
            for o in objects {
                guard o.tag <= 0xFF else { return sw(0x6A80) }
                template[UInt8(o.tag)] = o.value
            }
            if checkKeyReferences, let key = template[0x84], key.count == 1, os.keyStore[key[0]] == nil {
                return sw(0x6A88)
            }
            os.securityEnvironment.templates[c.p2] = template
            return sw(0x9000)
        }
    }
}
