/// The NIR (numéro d'inscription au répertoire, "numéro de sécurité sociale") and the NIA (numéro
/// identifiant d'attente, a temporary number built like a NIR): structure, key and masking.
///
/// Source: `../shared/specs/ins.md` §2.3 (structure and key), `../shared/specs/vitale.md` §6.3
/// (first digits 5/6, months out of range, worked keys).
///
/// Layout of the 13 characters (1-based positions), then the 2-digit key:
///
/// | Positions | Content |
/// |---|---|
/// | 1 | sex: 1 male, 2 female; 3/4 and 7/8 temporary numbers (NIA); 5/6 "BS de passage coordonné RSS" |
/// | 2–3 | year of birth, YY |
/// | 4–5 | month of birth: 01–12, or a pseudo-month (see ``NIRMonthKind``) |
/// | 6–10 | place of birth (see ``NIRPlace``) |
/// | 11–13 | order number 001–999 |
/// | 14–15 | key = 97 − (N mod 97), with `2A`→`19` and `2B`→`18` for N |
///
/// `description` is always masked (``masked``): interpolating a `NIR` into a log line never
/// leaks it. Use ``formatted`` (15 characters) or ``body`` (13 characters) where the full value
/// is really needed (messages to another system, `--reveal`).
public struct NIR: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The 13 characters without the key, uppercase, Corsican letters kept (`185022A004017`).
    public let body: String
    /// The key, 1…97 (computed, and equal to the given key when one was given).
    public let key: Int
    /// Whether the input carried its key (15 characters) or not (13 characters).
    public let keyWasGiven: Bool
    /// Sex from the first digit (odd male, even female).
    public let sex: NIRSex
    /// The first digit as a number (1…8).
    public let sexDigit: Int
    /// What kind of number this is, from the first digit.
    public let kind: NIRKind
    /// Year of birth YY, 0…99 (the century is not in the NIR).
    public let birthYear: Int
    /// Month of birth as written, 0…99 (see ``monthKind`` for pseudo-months).
    public let birthMonth: Int
    /// What the month value means.
    public let monthKind: NIRMonthKind
    /// Place of birth (positions 6–10).
    public let place: NIRPlace
    /// Order number, 1…999.
    public let order: Int

    /// Parses and validates a NIR or NIA, with or without its key. Spaces are ignored
    /// (`"2 79 04 75 112 034 83"`), lowercase `2a`/`2b` are accepted.
    /// - Throws: ``NIRError`` naming the first rule broken (length, character, sex digit, month,
    ///   département, order number, key).
    public init(_ text: String) throws(NIRError) {
        var copy = text
        let scan = copy.withUTF8 { NIRScanner.scan($0) }
        switch scan {
        case .failure(let error): throw error
        case .success(let s): self.init(scanned: s)
        }
    }

    /// Same as ``init(_:)``, returning the outcome instead of throwing.
    public static func validate(_ text: String) -> Result<NIR, NIRError> {
        do { return .success(try NIR(text)) } catch { return .failure(error) }
    }

    init(scanned s: ScannedNIR) {
        let f = s.fields
        body = s.bodyString
        key = f.key
        keyWasGiven = f.keyWasGiven
        sexDigit = f.sexDigit
        sex = f.sexDigit % 2 == 1 ? .male : .female
        kind = NIRKind(sexDigit: f.sexDigit)
        birthYear = f.year
        birthMonth = f.month
        monthKind = NIRMonthKind(month: f.month)!
        place = s.place
        order = f.order
    }

    /// The 15 characters: body and key (the 13-character body — digits, or `2A`/`2B` for Corsica — then the 2-digit key). Unmasked: only for `--reveal` or a
    /// message to another system.
    public var formatted: String { body + NIR.twoDigits(key) }

    /// The masked form shown in every output: sex digit, year and key visible, everything else `•`,
    /// grouped as sex, year, month, département, commune, order, key: `2 79 •• •• ••• ••• 83`.
    public var masked: String { NIR.mask(formatted) }

    /// Always the masked form, so that string interpolation never leaks a NIR.
    public var description: String { masked }

    /// Masked too (`debugPrint`, `String(reflecting:)`, test failure messages).
    public var debugDescription: String { "NIR(\(masked))" }

    /// `dump` and other mirrors see only the masked form.
    public var customMirror: Mirror { Mirror(self, children: ["masked": masked], displayStyle: .struct) }

    /// Masks any NIR-like text (valid or not) for display: spaces are dropped, then the first
    /// character (sex) and the next two (year) are kept, the last two are kept when there are
    /// exactly 15 characters (the key), and every other character becomes `•`. 13- and
    /// 15-character values are grouped like ``masked``; other lengths come out ungrouped, and a
    /// value shorter than 6 characters is fully masked.
    public static func mask(_ text: String) -> String {
        let chars = Array(text.unicodeScalars.filter { $0 != " " })
        if chars.count < 6 { return String(repeating: "•", count: chars.count) }
        var shown = [String](repeating: "•", count: chars.count)
        for i in 0..<3 { shown[i] = String(chars[i]) }
        if chars.count == 15 {
            shown[13] = String(chars[13])
            shown[14] = String(chars[14])
        }
        guard chars.count == 13 || chars.count == 15 else { return shown.joined() }
        // Groups: 1, 2, 2, 2, 3, 3 (, 2).
        let bounds = [0, 1, 3, 5, 7, 10, 13, 15]
        var groups: [String] = []
        for g in 0..<(bounds.count - 1) where bounds[g + 1] <= chars.count {
            groups.append(shown[bounds[g]..<bounds[g + 1]].joined())
        }
        return groups.joined(separator: " ")
    }

    /// The key of a 13-character body: 97 − (N mod 97), with `2A`→`19`, `2B`→`18` at positions 6–7.
    /// Returns nil when the body is not 13 characters of digits (with the Corsican exception).
    public static func key(forBody body: String) -> Int? {
        var copy = body
        return copy.withUTF8 { buf -> Int? in
            guard buf.count == 13 else { return nil }
            return NIRScanner.key(buf.baseAddress!)
        }
    }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// Sex from the first digit of a NIR/NIA (odd = male, even = female; ins.md §2.3).
public enum NIRSex: String, Sendable, Hashable {
    case male, female
}

/// What kind of number a NIR-shaped value is, from its first digit.
public enum NIRKind: String, Sendable, Hashable {
    /// Definitive NIR: first digit 1 or 2 [C].
    case nir
    /// Temporary or provisional number (NIA): first digit 3, 4, 7 or 8 [S/I] (ins.md §2.3).
    case nia
    /// "BS de passage coordonné RSS", people without a Vitale card: first digit 5 or 6 [C SFG]
    /// (vitale.md §6.3).
    case coordinatedTransit

    init(sexDigit: Int) {
        switch sexDigit {
        case 1, 2: self = .nir
        case 5, 6: self = .coordinatedTransit
        default: self = .nia
        }
    }
}

/// Meaning of the month field (positions 4–5) (ins.md §2.3, vitale.md §6.3).
public enum NIRMonthKind: String, Sendable, Hashable {
    /// 01–12, a calendar month [C].
    case calendar
    /// 20–30: pseudo-month for an incomplete civil-status record [S].
    case incompleteCivilStatus
    /// 31–42: further pseudo-months accepted by les-emplois [I]; meaning [U].
    case extendedPseudoMonth
    /// 50–99: pseudo-months [S/I]; meaning [U].
    case highPseudoMonth
    /// 00: month unknown. Not in the spec's list; accepted because lunar-date records carry it
    /// (persona `vitale2-nguyen-lunar`) [D].
    case unknown

    /// nil for the values no source allows: 13–19 and 43–49.
    init?(month: Int) {
        switch month {
        case 0: self = .unknown
        case 1...12: self = .calendar
        case 20...30: self = .incompleteCivilStatus
        case 31...42: self = .extendedPseudoMonth
        case 50...99: self = .highPseudoMonth
        default: return nil
        }
    }
}

/// Place of birth, positions 6–10 of the NIR (ins.md §2.3).
public enum NIRPlace: Sendable, Hashable {
    /// Metropolitan France: 2-character département (`01`–`95`, `2A`, `2B`) and 3-digit commune.
    /// Départements 91–94 were also used for Algeria and 95 for Morocco before independence;
    /// the number alone cannot tell them apart.
    case metropolitan(departement: String, commune: String)
    /// Overseas: 3-digit département (`97x`, `98x`) and 2-digit commune.
    case overseas(departement: String, commune: String)
    /// Born abroad: `99` and the 3-digit INSEE country code.
    case abroad(country: String)
    /// Born in Tunisia before independence: `96` and 3 digits.
    case tunisiaBeforeIndependence(code: String)

    /// `metropolitan`, `overseas`, `abroad` or `tunisiaBeforeIndependence`.
    public var kindName: String {
        switch self {
        case .metropolitan: "metropolitan"
        case .overseas: "overseas"
        case .abroad: "abroad"
        case .tunisiaBeforeIndependence: "tunisiaBeforeIndependence"
        }
    }

    /// The département, when there is one.
    public var departement: String? {
        switch self {
        case .metropolitan(let d, _), .overseas(let d, _): d
        case .abroad, .tunisiaBeforeIndependence: nil
        }
    }

    /// The commune number within the département, when there is one.
    public var commune: String? {
        switch self {
        case .metropolitan(_, let c), .overseas(_, let c): c
        case .abroad, .tunisiaBeforeIndependence: nil
        }
    }

    /// The INSEE country code (3 digits) for people born abroad.
    public var country: String? {
        if case .abroad(let c) = self { return c }
        return nil
    }
}

/// Why a value is not a valid NIR or NIA. Descriptions never repeat the number itself.
public enum NIRError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Nothing but spaces.
    case empty
    /// Not 13 (without key) or 15 (with key) characters once spaces are removed.
    case wrongLength(Int)
    /// The character at this 1-based position (spaces not counted) is not allowed there.
    case notADigit(position: Int)
    /// First digit not 1–8.
    case badSexDigit(Int)
    /// Month (positions 4–5) 13–19 or 43–49.
    case badMonth(Int)
    /// Place of birth (positions 6–7) `00` or a letter pair other than `2A`/`2B`.
    case badDepartment(String)
    /// Order number (positions 11–13) `000`.
    case badOrderNumber
    /// The given key (positions 14–15) is not the computed one.
    case keyMismatch(expected: Int, found: Int)

    public var description: String {
        switch self {
        case .empty: "the NIR is empty"
        case .wrongLength(let n):
            "a NIR has 13 characters, or 15 with its key; this one has \(n) (spaces not counted)"
        case .notADigit(let p):
            p == 6 || p == 7
                ? "character \(p) of the NIR must be a digit (or the Corsican 2A/2B at positions 6–7)"
                : "character \(p) of the NIR must be a digit"
        case .badSexDigit(let d):
            "the first digit of a NIR must be 1 or 2 (3, 4, 7, 8 for a temporary number, 5, 6 for a coordinated transit); it is \(d)"
        case .badMonth(let m):
            "month \(NIR.twoDigits(m)) is not possible in a NIR (01–12, or 00, 20–42, 50–99 for incomplete civil status)"
        case .badDepartment(let d): "place of birth \(d) is not a département (01–95, 2A, 2B, 96, 97x, 98x, 99)"
        case .badOrderNumber: "the order number of a NIR (positions 11–13) cannot be 000"
        case .keyMismatch(let e, let f):
            "the NIR key is \(NIR.twoDigits(f)) but the number gives \(NIR.twoDigits(e)): a digit is probably wrong"
        }
    }
}

// MARK: - Byte-level scanner (shared by the String API and the INS-C batch)

/// The numeric fields of a valid NIR; the 13-character body is written by the scanner into a
/// caller-provided buffer (no allocation on the batch path).
struct NIRFields {
    var sexDigit = 0
    var year = 0
    var month = 0
    var order = 0
    var key = 0
    var keyWasGiven = false
}

/// A valid NIR's fields and body, for the `String` API.
struct ScannedNIR {
    var fields: NIRFields
    var body: [UInt8]

    var bodyString: String { String(decoding: body, as: UTF8.self) }

    var place: NIRPlace {
        func str(_ r: Range<Int>) -> String { String(decoding: body[r], as: UTF8.self) }
        let d0 = body[5]
        let d1 = body[6]
        if d0 == 0x39 && d1 == 0x39 { return .abroad(country: str(7..<10)) }
        if d0 == 0x39 && d1 == 0x36 { return .tunisiaBeforeIndependence(code: str(7..<10)) }
        if d0 == 0x39 && (d1 == 0x37 || d1 == 0x38) {
            return .overseas(departement: str(5..<8), commune: str(8..<10))
        }
        return .metropolitan(departement: str(5..<7), commune: str(7..<10))
    }
}

enum NIRScanner {
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    @inline(__always) static func isLetterOrDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 0x41 && b <= 0x5A)
    }

    /// Key of 13 body bytes: digits, with `2A`/`2B` at offsets 5–6 read as `19`/`18`. nil when
    /// another non-digit is present.
    @inline(__always)
    static func key(_ p: UnsafePointer<UInt8>) -> Int? {
        let corsica = p[5] == 0x32 && (p[6] == 0x41 || p[6] == 0x42)
        var n: UInt64 = 0  // 13 digits < 2^64
        for i in 0..<13 {
            var d = UInt64(p[i] &- 0x30)
            if corsica && i == 5 {
                d = 1
            } else if corsica && i == 6 {
                d = p[6] == 0x41 ? 9 : 8
            } else if d > 9 {
                return nil
            }
            n = n &* 10 &+ d
        }
        return 97 - Int(n % 97)
    }

    /// Fast path for the batch: accepts only the plain forms (exactly 13 or 15 ASCII characters,
    /// digits, uppercase `2A`/`2B`, no spaces) that are valid, and fills `p` and `f` as
    /// ``scan(_:into:)`` would. Returns false when unsure; the caller then runs ``scan(_:into:)``,
    /// which decides and explains.
    @inline(__always)
    static func quickScan(_ input: UnsafeBufferPointer<UInt8>, into p: UnsafeMutablePointer<UInt8>, _ f: inout NIRFields)
        -> Bool
    {
        let n = input.count
        guard n == 13 || n == 15 else { return false }
        let src = input.baseAddress!
        var n13: UInt64 = 0
        var bad = false
        for i in 0..<13 {
            let b = src[i]
            p[i] = b
            let d = b &- 0x30
            bad = bad || d > 9
            n13 = n13 &* 10 &+ UInt64(d)
        }
        if bad {
            // Only Corsica may have letters, at offsets 5–6.
            guard src[5] == 0x32, src[6] == 0x41 || src[6] == 0x42 else { return false }
            for i in 0..<13 where i != 6 && src[i] &- 0x30 > 9 { return false }
            n13 = 0
            for i in 0..<13 {
                let d: UInt64 = i == 5 ? 1 : i == 6 ? (src[6] == 0x41 ? 9 : 8) : UInt64(src[i] &- 0x30)
                n13 = n13 &* 10 &+ d
            }
        }
        let sex = Int(src[0] &- 0x30)
        let month = Int(src[3] &- 0x30) * 10 + Int(src[4] &- 0x30)
        let order = Int(src[10] &- 0x30) * 100 + Int(src[11] &- 0x30) * 10 + Int(src[12] &- 0x30)
        guard sex >= 1 && sex <= 8, month <= 12 || (month >= 20 && month <= 42) || month >= 50, order != 0,
            !(src[5] == 0x30 && src[6] == 0x30)
        else { return false }
        let key = 97 - Int(n13 % 97)
        if n == 15 {
            let k0 = src[13] &- 0x30
            let k1 = src[14] &- 0x30
            guard k0 <= 9, k1 <= 9, Int(k0) * 10 + Int(k1) == key else { return false }
        }
        f.sexDigit = sex
        f.year = Int(src[1] &- 0x30) * 10 + Int(src[2] &- 0x30)
        f.month = month
        f.order = order
        f.key = key
        f.keyWasGiven = n == 15
        return true
    }

    /// For the `String` API.
    static func scan(_ input: UnsafeBufferPointer<UInt8>) -> Result<ScannedNIR, NIRError> {
        var body = [UInt8](repeating: 0, count: 13)
        let r = body.withUnsafeMutableBufferPointer { scan(input, into: $0.baseAddress!) }
        return r.map { ScannedNIR(fields: $0, body: body) }
    }

    /// Scans a NIR/NIA from UTF-8 bytes (spaces skipped, lowercase uppercased, one character per
    /// UTF-8 sequence) and writes the 13-character body at `out` (13 bytes; written even when
    /// invalid).
    static func scan(_ input: UnsafeBufferPointer<UInt8>, into p: UnsafeMutablePointer<UInt8>)
        -> Result<NIRFields, NIRError>
    {
        var f = NIRFields()
        var k0: UInt8 = 0
        var k1: UInt8 = 0
        var count = 0
        for var b in input where b != 0x20 && b & 0xC0 != 0x80 {
            // A UTF-8 lead byte stands for its whole character (never valid here).
            if b >= 0x80 { b = 0xFF } else if b >= 0x61 && b <= 0x7A { b -= 0x20 }
            if count < 13 {
                p[count] = b
            } else if count == 13 {
                k0 = b
            } else if count == 14 {
                k1 = b
            }
            count += 1
        }
        if count == 0 { return .failure(.empty) }
        guard count == 13 || count == 15 else { return .failure(.wrongLength(count)) }
        f.keyWasGiven = count == 15
        let corsica = p[5] == 0x32 && (p[6] == 0x41 || p[6] == 0x42)
        for i in 0..<13 where !isDigit(p[i]) && !(corsica && i == 6) {
            if i == 5 || i == 6, isLetterOrDigit(p[5]), isLetterOrDigit(p[6]) {
                return .failure(.badDepartment(String(decoding: [p[5], p[6]], as: UTF8.self)))
            }
            return .failure(.notADigit(position: i + 1))
        }
        if f.keyWasGiven {
            if !isDigit(k0) { return .failure(.notADigit(position: 14)) }
            if !isDigit(k1) { return .failure(.notADigit(position: 15)) }
        }
        @inline(__always) func digit(_ i: Int) -> Int { Int(p[i] &- 0x30) }
        f.sexDigit = digit(0)
        guard f.sexDigit >= 1 && f.sexDigit <= 8 else { return .failure(.badSexDigit(f.sexDigit)) }
        f.year = digit(1) * 10 + digit(2)
        f.month = digit(3) * 10 + digit(4)
        guard NIRMonthKind(month: f.month) != nil else { return .failure(.badMonth(f.month)) }
        if !corsica && p[5] == 0x30 && p[6] == 0x30 { return .failure(.badDepartment("00")) }
        f.order = digit(10) * 100 + digit(11) * 10 + digit(12)
        guard f.order != 0 else { return .failure(.badOrderNumber) }
        f.key = key(p)!
        if f.keyWasGiven {
            let given = Int(k0 - 0x30) * 10 + Int(k1 - 0x30)
            guard given == f.key else { return .failure(.keyMismatch(expected: f.key, found: given)) }
        }
        return .success(f)
    }
}
