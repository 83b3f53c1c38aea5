import ISO7816

/// How far the data of a Vitale 2 file go, from the bytes read so far (`../shared/specs/vitale.md` §9.2 rules): a
/// Vitale 2 data file is a sequence of BER-TLV templates (`65`, `66`, `67`/`68`, `69`, `E0`) followed by `00`
/// padding ([D]; RufusAdmin and cardpeek both stop on a `00` tag, §5.1, §5.2), or by nothing when the data fill the
/// file to its last byte. The scan never reads past `bytes` and never traps.
public struct Vitale2TemplateScan: Sendable, Hashable {
    /// What the bytes read so far say.
    public enum Outcome: Sendable, Hashable {
        /// The data end at byte `dataEnd` (a padding byte there, or the end of the file): `bytes[..<dataEnd]` are
        /// the whole templates, `templates` of them.
        case complete(dataEnd: Int, templates: Int)
        /// More bytes are needed: at least up to byte `through` (exclusive end). The object at `objectStart` is
        /// unfinished: `templateEnd` is its end when its header is read, `nil` when its header (or, at a template
        /// boundary, its first byte) is still missing; `templates` whole templates precede it.
        case needMore(through: Int, objectStart: Int, templateEnd: Int?, templates: Int)
        /// The encoding is impossible (a length running past the end of the file, a long-form length of more
        /// than 3 bytes, an indefinite length, a tag of more than 3 bytes).
        case corrupted(String)
    }

    /// Largest file this reader follows, bytes: READ BINARY without odd INS addresses offsets 0…32767
    /// (ISO/IEC 7816-4 §11.2.3, P1 b8 = 0). A template announcing more is corrupted data, not a reason to read on.
    public static let maximumFileSize = 0x7FFF

    /// Scans `bytes` (the file from offset 0).
    /// - Parameter fileEnded: the card said the file ends right after `bytes` (short answer, `62 82`, `6B 00`).
    public static func scan(_ bytes: [UInt8], fileEnded: Bool) -> Outcome {
        var p = 0
        var templates = 0
        while p < bytes.count {
            if bytes[p] == 0x00 || bytes[p] == 0xFF { return .complete(dataEnd: p, templates: templates) }
            switch header(bytes, at: p) {
            case .malformed(let why): return .corrupted("\(why) at byte \(p)")
            case .incomplete(let through):
                if fileEnded { return .corrupted("the file ends inside the header of the template at byte \(p)") }
                return .needMore(through: through, objectStart: p, templateEnd: nil, templates: templates)
            case .header(let size, let length):
                let end = p + size + length
                guard end <= maximumFileSize else {
                    return .corrupted("the template at byte \(p) announces \(length) bytes, more than a file holds")
                }
                if end > bytes.count {
                    if fileEnded {
                        return .corrupted(
                            "the template at byte \(p) announces \(length) bytes but the file ends at byte \(bytes.count)")
                    }
                    return .needMore(through: end, objectStart: p, templateEnd: end, templates: templates)
                }
                p = end
                templates += 1
            }
        }
        if fileEnded { return .complete(dataEnd: p, templates: templates) }
        // The last template ends exactly here: one more byte says whether another one follows.
        return .needMore(through: p + 1, objectStart: p, templateEnd: nil, templates: templates)
    }

    enum Header {
        case header(size: Int, length: Int)
        case incomplete(through: Int)
        case malformed(String)
    }

    /// A BER-TLV header (ISO/IEC 7816-4 §5.2.2): tag of 1 to 3 bytes, length of 1 to 4 bytes.
    static func header(_ b: [UInt8], at start: Int) -> Header {
        var i = start
        // Tag
        if b[i] & 0x1F == 0x1F {
            repeat {
                i += 1
                guard i < b.count else { return .incomplete(through: i + 2) }
                guard i - start < 3 else { return .malformed("a tag of more than 3 bytes") }
            } while b[i] & 0x80 != 0
        }
        i += 1
        guard i < b.count else { return .incomplete(through: i + 1) }
        let l0 = b[i]
        if l0 < 0x80 { return .header(size: i + 1 - start, length: Int(l0)) }
        if l0 == 0x80 { return .malformed("an indefinite length") }
        let n = Int(l0 & 0x7F)
        guard n <= 3 else { return .malformed("a length of \(n) bytes") }
        guard i + n < b.count else { return .incomplete(through: i + n + 1) }
        let length = b[(i + 1)...(i + n)].reduce(0) { $0 << 8 | Int($1) }
        return .header(size: i + n + 1 - start, length: length)
    }
}

/// How a Vitale 2 file is read: how big the first READ BINARY is, and how much to ask for beyond the bytes a
/// template's length makes certain. Cost model (ISO/IEC 7816-3 §10, T=0): one more READ BINARY costs 8 characters
/// (5 header bytes, the ACK procedure byte, SW1-SW2), one byte read past the data costs 1 character; so the reader
/// asks for what it knows it needs plus an estimate of the templates still to come, and one byte more to see where
/// the data end.
public struct Vitale2ReadPlan: Sendable, Hashable {
    /// Bytes of the first READ BINARY.
    public var firstChunk: Int
    /// Estimated size of each template still to come, bytes.
    public var templateEstimate: Int
    /// Templates the file should hold (from another file: one `65` per beneficiary in BENEF, one `67` and one
    /// `68` per beneficiary in AMO, one `66` in CARTE), or `nil` when unknown. Only a size hint: the read always
    /// goes on until padding or the end of the file, so an unexpected extra template is read, not dropped.
    public var expectedTemplates: Int?

    public init(firstChunk: Int, templateEstimate: Int, expectedTemplates: Int?) {
        self.firstChunk = firstChunk
        self.templateEstimate = templateEstimate
        self.expectedTemplates = expectedTemplates
    }

    /// Bytes to ask for after `.needMore(through:objectStart:templateEnd:templates:)` when `have` bytes are read.
    /// * The unfinished template's end is known: up to that end, plus the templates expected after it (one when
    ///   the count is unknown), plus one byte to see the padding.
    /// * Its header (or first byte) is missing: up to `objectStart` + the templates still expected (one when the
    ///   count is unknown, none when all are read: then one byte confirms the end), plus one byte.
    public func nextChunk(have: Int, through: Int, objectStart: Int, templateEnd: Int?, templates: Int) -> Int {
        let want: Int
        if let end = templateEnd {
            let after = expectedTemplates.map { max(0, $0 - templates - 1) } ?? 1
            want = end - have + after * templateEstimate + 1
        } else {
            let still = expectedTemplates.map { max(0, $0 - templates) } ?? 1
            want = still == 0 ? through - have : max(through, objectStart + still * templateEstimate) - have + 1
        }
        return max(1, want)
    }

    /// Plans of the Vitale 2 files (sizes of the templates our simulator design writes, vitale.md §9.2 [D]).
    /// - IDENT `65{80 nom, 81 prénom, 82 AAAAMMJJ}` about 30 bytes with names of 7 letters; count unknown: the
    ///   first chunk covers two.
    public static func ident(expected: Int?) -> Vitale2ReadPlan {
        Vitale2ReadPlan(firstChunk: expected.map { $0 * 30 + 1 } ?? 60, templateEstimate: 30, expectedTemplates: expected)
    }

    /// BENEF `65{93 NIR (17), 84 rang (3), 85 qualité (4)}`: 26 bytes without the optional 86/87/88.
    public static func benef(expected: Int?) -> Vitale2ReadPlan {
        Vitale2ReadPlan(firstChunk: (expected ?? 2) * 26 + 1, templateEstimate: 26, expectedTemplates: expected)
    }

    /// CARTE `66{80 AAAAMMJJ, 82 type, 83 serial (16)}`: 33 bytes.
    public static let carte = Vitale2ReadPlan(firstChunk: 34, templateEstimate: 33, expectedTemplates: 1)

    /// AMO `67{80 régime (2), 81 caisse (3), 82 centre (4), 83 code gestion (2)}` of 21 bytes, then per
    /// beneficiary `68{80 index, A0{80 début, 81 fin}}` of 27 bytes with one rights period.
    public static func amo(beneficiaries: Int?) -> Vitale2ReadPlan {
        Vitale2ReadPlan(
            firstChunk: 21 + (beneficiaries ?? 1) * 27 + 1, templateEstimate: 27,
            expectedTemplates: beneficiaries.map { $0 + 1 })
    }

    /// AMC: optional complementary data (arrêté of 1998 art. 2, vitale.md §1.4), often absent: one byte first.
    public static let amc = Vitale2ReadPlan(firstChunk: 1, templateEstimate: 48, expectedTemplates: nil)

    /// POINTERS: one `E0` template, 140 bytes in the vitale.md §9.2 example.
    public static let pointers = Vitale2ReadPlan(firstChunk: 141, templateEstimate: 0, expectedTemplates: 1)

    /// A file announced by POINTERS under an unknown label.
    public static let unknown = Vitale2ReadPlan(firstChunk: 64, templateEstimate: 32, expectedTemplates: nil)
}
