import ISO7816

/// Who may perform an operation on a file or key (ISO/IEC 7816-4 §9, security attributes, in simplified form).
public enum AccessCondition: Sendable, Hashable, CustomStringConvertible {
    /// No condition.
    case always
    /// Refused in every state (`69 82`).
    case never
    /// The PIN with this reference (VERIFY P2) must have been verified in the current card session.
    case pin(UInt8)
    /// A simulation switch of the card OS must be on (`CardOS.enabledFlags`), e.g. the Vitale "CPS session"
    /// of vitale.md §9.2 [D].
    case flag(String)

    public var description: String {
        switch self {
        case .always: return "always"
        case .never: return "never"
        case .pin(let r): return "PIN \(r)"
        case .flag(let f): return "flag \(f)"
        }
    }
}

/// How an EF stores its data (ISO/IEC 7816-4 §7.3: transparent or record structure).
public enum EFStructure: Sendable, Hashable {
    /// A transparent EF: one byte string addressed by offset (READ/UPDATE BINARY).
    case transparent([UInt8])
    /// A linear EF of records numbered from 1 (READ RECORD). `fixedLength` is the record size for linear-fixed
    /// files, `nil` for linear-variable files.
    case records([[UInt8]], fixedLength: Int?)
}

/// An elementary file (EF) of the simulated file system.
public final class ElementaryFile {
    /// File identifier (FID), 2 bytes big-endian, e.g. `0x2F00`.
    public var fid: UInt16
    /// Short EF identifier 1…30 (ISO/IEC 7816-4 §7.2.3), or `nil`.
    public var sfi: UInt8?
    /// The content.
    public var structure: EFStructure
    /// Condition for READ BINARY / READ RECORD.
    public var readCondition: AccessCondition
    /// Condition for UPDATE BINARY.
    public var updateCondition: AccessCondition
    /// A label for transcripts and tests (never sent to the host).
    public var label: String
    public internal(set) weak var parent: DedicatedFile?

    public init(
        fid: UInt16, sfi: UInt8? = nil, label: String = "", structure: EFStructure,
        read: AccessCondition = .always, update: AccessCondition = .never
    ) {
        self.fid = fid
        self.sfi = sfi
        self.label = label
        self.structure = structure
        self.readCondition = read
        self.updateCondition = update
    }

    /// Convenience for a transparent EF.
    public convenience init(
        fid: UInt16, sfi: UInt8? = nil, label: String = "", bytes: [UInt8],
        read: AccessCondition = .always, update: AccessCondition = .never
    ) {
        self.init(fid: fid, sfi: sfi, label: label, structure: .transparent(bytes), read: read, update: update)
    }

    /// Bytes of a transparent EF (empty for record EFs).
    public var bytes: [UInt8] {
        if case .transparent(let b) = structure { return b }
        return []
    }

    /// The data size in bytes (tag `80` of the FCP).
    public var size: Int {
        switch structure {
        case .transparent(let b): return b.count
        case .records(let r, _): return r.reduce(0) { $0 + $1.count }
        }
    }

    /// File control parameters, template `62` (ISO/IEC 7816-4 §7.4.3, table 12): `80` size (2 bytes), `82` file
    /// descriptor (`01` transparent, `02 21 00 LL NN` linear fixed, `04 21` linear variable), `83` FID, `88` SFI
    /// (when it has one), `8A` life cycle `05` (operational, activated).
    public var fcp: [UInt8] {
        var body: [UInt8] = BERTLV.encode(0x80, [UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)])
        switch structure {
        case .transparent: body += BERTLV.encode(0x82, [0x01])
        case .records(let r, let fixed):
            if let fixed { body += BERTLV.encode(0x82, [0x02, 0x21, 0x00, UInt8(fixed & 0xFF), UInt8(r.count & 0xFF)]) }
            else { body += BERTLV.encode(0x82, [0x04, 0x21]) }
        }
        body += BERTLV.encode(0x83, [UInt8(fid >> 8), UInt8(fid & 0xFF)])
        if let sfi { body += BERTLV.encode(0x88, [sfi << 3]) }
        body += BERTLV.encode(0x8A, [0x05])
        return BERTLV.encode(0x62, body)
    }
}

/// A dedicated file (DF) or the master file (MF) of the simulated file system.
public final class DedicatedFile {
    /// File identifier, e.g. `0x3F00` for the MF; `nil` for a DF reachable only by name.
    public var fid: UInt16?
    /// DF name (an AID, 1…16 bytes), tag `84` of the FCP.
    public var name: [UInt8]?
    public var label: String
    public private(set) var children: [CardFileNode] = []
    public internal(set) weak var parent: DedicatedFile?
    /// When true, every command other than SELECT answers `69 82` while this DF is current (the Vitale 2 Adèle
    /// application of vitale.md §9.2 [D]).
    public var refusesAllButSelect: Bool
    /// Replaces the generated FCI (answer to SELECT with P2 = 00) when set.
    public var customFCI: [UInt8]?

    public init(
        fid: UInt16?, name: [UInt8]? = nil, label: String = "", refusesAllButSelect: Bool = false,
        customFCI: [UInt8]? = nil
    ) {
        self.fid = fid
        self.name = name
        self.label = label
        self.refusesAllButSelect = refusesAllButSelect
        self.customFCI = customFCI
    }

    /// Adds an EF or DF under this DF and returns self, to chain declarations.
    @discardableResult
    public func add(_ ef: ElementaryFile) -> DedicatedFile {
        ef.parent = self
        children.append(.ef(ef))
        return self
    }

    @discardableResult
    public func add(_ df: DedicatedFile) -> DedicatedFile {
        df.parent = self
        children.append(.df(df))
        return self
    }

    /// Removes the child with this FID (used by profiles to move a file).
    public func removeChild(fid: UInt16) {
        children.removeAll { $0.fid == fid }
    }

    public var elementaryFiles: [ElementaryFile] {
        children.compactMap { if case .ef(let e) = $0 { return e } else { return nil } }
    }

    public var dedicatedFiles: [DedicatedFile] {
        children.compactMap { if case .df(let d) = $0 { return d } else { return nil } }
    }

    public func child(fid: UInt16) -> CardFileNode? { children.first { $0.fid == fid } }

    public func ef(sfi: UInt8) -> ElementaryFile? { elementaryFiles.first { $0.sfi == sfi } }

    /// FCP template `62`: `82 01 38` (DF), `83` FID, `84` DF name, `8A 01 05`.
    public var fcp: [UInt8] { BERTLV.encode(0x62, fcpBody) }

    /// FCI template `6F` (ISO/IEC 7816-4 §7.4.1): the same objects as the FCP unless `customFCI` is set.
    public var fci: [UInt8] { customFCI ?? BERTLV.encode(0x6F, fcpBody) }

    private var fcpBody: [UInt8] {
        var body = BERTLV.encode(0x82, [0x38])
        if let fid { body += BERTLV.encode(0x83, [UInt8(fid >> 8), UInt8(fid & 0xFF)]) }
        if let name { body += BERTLV.encode(0x84, name) }
        body += BERTLV.encode(0x8A, [0x05])
        return body
    }

    /// Depth-first search of a DF by name below (and including) this DF: exact match first, then prefix match
    /// (ISO/IEC 7816-4 §11.1.1 allows a right-truncated DF name).
    public func findDF(name wanted: [UInt8]) -> DedicatedFile? {
        let all = allDFs()
        return all.first { $0.name == wanted }
            ?? all.first { n in n.name.map { $0.count > wanted.count && Array($0.prefix(wanted.count)) == wanted } ?? false }
    }

    func allDFs() -> [DedicatedFile] { [self] + dedicatedFiles.flatMap { $0.allDFs() } }
}

/// A node of the file tree.
public enum CardFileNode {
    case ef(ElementaryFile)
    case df(DedicatedFile)

    public var fid: UInt16? {
        switch self {
        case .ef(let e): return e.fid
        case .df(let d): return d.fid
        }
    }
}
