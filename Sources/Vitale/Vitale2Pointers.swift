import ISO7816

/// Application identifiers and file identifiers of the Vitale 2 card (`../shared/specs/vitale.md` §4.1).
public enum Vitale2Identifiers {
    /// DF name of the MF, "MF_VITALE" (§4.1.1, [C] cardpeek).
    public static let mfVitaleAID: [UInt8] = [0xD2, 0x50, 0x00, 0x00, 0x02, 0x4D, 0x46, 0x5F, 0x56, 0x49, 0x54, 0x41, 0x4C, 0x45]
    /// The main data application "VITALE" (§4.1.1, [C] cardpeek, RufusAdmin).
    public static let vitaleAID: [UInt8] = [0xD2, 0x50, 0x00, 0x00, 0x02, 0x56, 0x49, 0x54, 0x41, 0x4C, 0x45]
    /// EF POINTERS under VITALE (§4.1.2, [C]).
    public static let pointersFID: UInt16 = 0x2001
    /// MF file identifier (ISO/IEC 7816-4 §5.3.1.1).
    public static let mfFID: UInt16 = 0x3F00

    /// Fallback file identifiers of our simulator design (§9.2, [D]): used only when POINTERS is unreadable or
    /// does not announce the file.
    public enum Fallback {
        public static let identFID: UInt16 = 0x2002  // under MF_VITALE
        public static let benefFID: UInt16 = 0x2002  // under VITALE
        public static let carteFID: UInt16 = 0x2003
        public static let amoFID: UInt16 = 0x2004
        public static let amcFID: UInt16 = 0x2005
    }
}

/// The decoded EF 2001 "POINTERS" (`vitale.md` §4.1.3): the applications and the files of the card.
///
/// ```
/// E0 L
///    A0 L { 82 L  eid(2) ??(2) AID(5…16) }*     applications
///    80 0C label(8 ASCII) eid(2) FID(2)          files, one per 80
/// ```
public struct Vitale2Pointers: Sendable, Hashable {
    /// One application: its entry id and AID.
    public struct Application: Sendable, Hashable {
        public var entryID: UInt16
        public var aid: [UInt8]
    }

    /// One file: its 8-character label (trailing spaces removed), owning application entry id, FID.
    public struct File: Sendable, Hashable {
        public var label: String
        public var applicationEntryID: UInt16
        public var fid: UInt16
    }

    public var applications: [Application]
    public var files: [File]

    /// Decodes the content of EF POINTERS (00 padding tolerated, long-form lengths accepted).
    /// - Throws: `VitaleError.corruptedData` when there is no `E0` template or an entry is too short.
    public init(decoding bytes: [UInt8]) throws(VitaleError) {
        let objects: [BERTLV]
        do { objects = try BERTLV.decode(bytes) } catch {
            throw .corruptedData(file: "POINTERS", detail: error.description)
        }
        guard let e0 = objects.first(where: { $0.tag == 0xE0 }) else {
            throw .corruptedData(file: "POINTERS", detail: "no E0 template")
        }
        var apps: [Application] = []
        var files: [File] = []
        for o in e0.children {
            switch o.tag {
            case 0xA0:
                for a in o.children where a.tag == 0x82 {
                    guard a.value.count >= 9 else {
                        throw .corruptedData(file: "POINTERS", detail: "application entry of \(a.value.count) bytes")
                    }
                    apps.append(Application(entryID: UInt16(a.value[0]) << 8 | UInt16(a.value[1]), aid: Array(a.value[4...])))
                }
            case 0x80:
                guard o.value.count >= 12 else {
                    throw .corruptedData(file: "POINTERS", detail: "file entry of \(o.value.count) bytes")
                }
                let label = String(decoding: o.value[0..<8].map { $0 < 0x20 || $0 > 0x7E ? 0x20 : $0 }, as: UTF8.self)
                files.append(
                    File(
                        label: label.trimmingTrailingSpaces(),
                        applicationEntryID: UInt16(o.value[8]) << 8 | UInt16(o.value[9]),
                        fid: UInt16(o.value[10]) << 8 | UInt16(o.value[11])))
            default: continue
            }
        }
        self.applications = apps
        self.files = files
    }

    /// The AID of the application with entry id `eid`.
    public func aid(ofApplication eid: UInt16) -> [UInt8]? { applications.first { $0.entryID == eid }?.aid }

    /// The first file whose label is `label` (case-insensitive).
    public func file(labelled label: String) -> File? {
        files.first { $0.label.uppercased() == label.uppercased() }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\u{0}" { s = s.dropLast() }
        while let first = s.first, first == " " { s = s.dropFirst() }
        return String(s)
    }
}
