import ISO7816

/// One application record of EF.DIR (`61 { 4F AID, 50 label, 51 path }`, ISO/IEC 7816-4 §8.2.1.1; cps.md §3.1).
public struct PKCS15Application: Sendable, Hashable {
    public var aid: [UInt8]
    public var label: String?
    /// Path of the application DF (e.g. `3F 00 00 01`), if given.
    public var path: [UInt8]?

    public init(aid: [UInt8], label: String?, path: [UInt8]?) {
        self.aid = aid
        self.label = label
        self.path = path
    }

    /// Decodes the records of EF.DIR; records that do not decode are skipped.
    public static func records(in efDIR: [UInt8]) -> [PKCS15Application] {
        let objects = BERTLV.decodeLenient(efDIR, skipPadding: true).objects
        return objects.filter { $0.tag == 0x61 }.compactMap { r in
            guard let aid = r.children.first(where: { $0.tag == 0x4F })?.value else { return nil }
            let label = r.children.first { $0.tag == 0x50 }.map { String(decoding: $0.value, as: UTF8.self) }
            return PKCS15Application(aid: aid, label: label, path: r.children.first { $0.tag == 0x51 }?.value)
        }
    }
}

/// The PKCS#15 object directory (ODF, ISO/IEC 7816-15 §8.3, PKCS#15 v1.1 §6.7): where the PrKDF, CDF, DODF and
/// AODF live. Each entry is a context tag (`A0` private keys, `A1`/`A2` public keys, `A4`/`A5`/`A6` certificates,
/// `A7` data objects, `A8` authentication objects) around a Path (`30 { 04 path }`).
public struct PKCS15ObjectDirectory: Sendable, Hashable {
    public var privateKeys: [[UInt8]] = []
    public var certificates: [[UInt8]] = []
    public var dataObjects: [[UInt8]] = []
    public var authObjects: [[UInt8]] = []

    public init(parsing bytes: [UInt8]) {
        for o in BERTLV.decodeLenient(bytes, skipPadding: true).objects {
            guard let path = PKCS15ObjectDirectory.path(in: o) else { continue }
            switch o.tag {
            case 0xA0: privateKeys.append(path)
            case 0xA4, 0xA5, 0xA6: certificates.append(path)
            case 0xA7: dataObjects.append(path)
            case 0xA8: authObjects.append(path)
            default: break
            }
        }
    }

    /// The first Path (`30 { 04 … }`) or bare OCTET STRING inside `o`.
    static func path(in o: BERTLV) -> [UInt8]? {
        if let seq = o.children.first(where: { $0.tag == 0x30 }), let p = seq.children.first(where: { $0.tag == 0x04 }) {
            return p.value
        }
        if let p = o.children.first(where: { $0.tag == 0x04 }) { return p.value }
        for c in o.children where c.isConstructed { if let p = path(in: c) { return p } }
        return nil
    }
}

/// An entry of a CDF or DODF (PKCS#15 `PKCS15Object`: `30 { commonObjectAttributes 30 { label 0C, flags 03,
/// authId 04 }, classAttributes 30 { iD 04 | applicationName 0C | OID 06 }, [0] subclass, [1] typeAttributes
/// { … Path … } }`), decoded leniently: what we need is the label, the authId, the iD and the path.
public struct PKCS15Entry: Sendable, Hashable {
    public var label: String
    /// Authentication object protecting it (`01` = the PIN), or `nil` when free to read.
    public var authID: [UInt8]?
    /// The object's iD (certificates, keys), if any.
    public var id: [UInt8]?
    /// The file holding the value.
    public var path: [UInt8]

    public init(label: String, authID: [UInt8]?, id: [UInt8]?, path: [UInt8]) {
        self.label = label
        self.authID = authID
        self.id = id
        self.path = path
    }

    /// Decodes every entry of a directory file; entries without a path are skipped (padding `00`/`FF` allowed).
    public static func entries(in bytes: [UInt8]) -> [PKCS15Entry] {
        BERTLV.decodeLenient(bytes, skipPadding: true).objects.compactMap { o in
            guard o.tag == 0x30 || o.tag & 0xE0 == 0xA0 else { return nil }
            let kids = o.children
            guard let common = kids.first, common.tag == 0x30 else { return nil }
            let label = common.children.first { $0.tag == 0x0C }.map { String(decoding: $0.value, as: UTF8.self) } ?? ""
            let authID = common.children.first { $0.tag == 0x04 }?.value
            let id = kids.dropFirst().first { $0.tag == 0x30 }?.children.first { $0.tag == 0x04 }?.value
            guard let type = kids.first(where: { $0.tag == 0xA1 }), let path = PKCS15ObjectDirectory.path(in: type) else {
                return nil
            }
            return PKCS15Entry(label: label, authID: authID, id: id, path: path)
        }
    }
}
