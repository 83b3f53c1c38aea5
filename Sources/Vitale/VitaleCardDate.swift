/// A date exactly as a carte Vitale stores it: 8 ASCII digits `AAAAMMJJ`, or 6 digits `AAMMJJ` when the century is
/// not on the card; "lunar" values (month 00 or > 12, day 00 or past the end of the month) are kept raw.
///
/// The raw value is what goes to the insurer and into the INS-C seed (`../shared/specs/vitale.md` §6.3 "Birth date",
/// SFG [CP02]/[CP03]; `ins.md` §1.4). For display, a lunar date is brought back to 01/01 of its year (SFG [CP02]);
/// a 6-digit date keeps an unknown century (the user has to type it, SFG [CP03]).
public struct VitaleCardDate: Sendable, Hashable, CustomStringConvertible {
    /// The stored value, 6 or 8 characters, never repaired.
    public let raw: String

    /// Accepts any string of 6 or 8 ASCII digits (lunar values included).
    /// - Returns: `nil` when `raw` is not 6 or 8 digits.
    public init?(_ raw: String) {
        guard raw.utf8.count == 6 || raw.utf8.count == 8, raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        self.raw = raw
    }

    /// True when the card stores the century (8 digits).
    public var hasCentury: Bool { raw.utf8.count == 8 }

    private var digits: [Int] { raw.utf8.map { Int($0) - 0x30 } }

    /// The full year (`hasCentury`) or `nil`.
    public var year: Int? {
        guard hasCentury else { return nil }
        let d = digits
        return d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    }

    /// The two-digit year `AA` (00…99).
    public var yearTwoDigits: Int {
        let d = digits
        return hasCentury ? d[2] * 10 + d[3] : d[0] * 10 + d[1]
    }

    /// Month as stored (00…99).
    public var month: Int {
        let d = digits
        let o = hasCentury ? 4 : 2
        return d[o] * 10 + d[o + 1]
    }

    /// Day as stored (00…99).
    public var day: Int {
        let d = digits
        let o = hasCentury ? 6 : 4
        return d[o] * 10 + d[o + 1]
    }

    /// True when month or day is not a calendar value (month 00 or > 12, day 00 or past the month's end; with an
    /// unknown century, 29 February counts as valid).
    public var isLunar: Bool {
        guard (1...12).contains(month), day >= 1 else { return true }
        let leap: Bool
        if let y = year { leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 } else { leap = true }
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day > lengths[month - 1]
    }

    /// The six characters `AAMMJJ` used by the INS-C seed (`ins.md` §1.3 step 3): the stored value without its
    /// century, lunar values verbatim.
    public var sixDigits: String { hasCentury ? String(raw.dropFirst(2)) : raw }

    /// The date to show people, `JJ/MM/AAAA`: the stored date when it is a calendar date, else 01/01 of its year
    /// (SFG [CP02]). With an unknown century the year reads `??AA` (e.g. `15/07/??38`).
    public var displayable: String {
        let yearText = year.map { String($0) } ?? "??" + Self.two(yearTwoDigits)
        if isLunar { return "01/01/" + yearText }
        return Self.two(day) + "/" + Self.two(month) + "/" + yearText
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    public var description: String { raw }
}

/// A calendar day, used for care dates and the comparison of rights periods.
public struct VitaleDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `AAAAMMJJ`; a 6-digit `AAMMJJ` is read in the 2000s (rights dates of Vitale 1 cards, issued from
    /// 1998; `991231` is the "no end" value). Returns `nil` for anything else.
    public init?(stored: String) {
        guard let d = VitaleCardDate(stored) else { return nil }
        self.init(year: d.year ?? 2000 + d.yearTwoDigits, month: d.month, day: d.day)
    }

    /// Ordinal used for comparison (lunar values compare by their digits).
    var ordinal: Int { year * 10000 + month * 100 + day }

    public static func < (a: Self, b: Self) -> Bool { a.ordinal < b.ordinal }

    /// `AAAAMMJJ`.
    public var description: String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + VitaleCardDate.two(month) + VitaleCardDate.two(day)
    }
}
