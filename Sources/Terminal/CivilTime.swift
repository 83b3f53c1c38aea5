import Foundation
import Vitale

#if canImport(Glibc)
    import Glibc
#endif

/// The two calendar computations the service makes on every session, done with the C library's proleptic Gregorian
/// arithmetic instead of Foundation's ICU-backed `ISO8601DateFormatter` / `Calendar` + `TimeZone`: those load ICU's
/// calendar and time-zone tables into the service (about 6 MB of resident memory, issue 9's service figure) for two
/// fixed formats.
enum CivilTime {
    /// `yyyy-MM-ddTHH:mm:ss.SSSZ` in UTC (RFC 3339 with milliseconds, truncated), e.g. `2026-11-29T12:26:11.042Z`:
    /// the audit log's and the events' timestamps.
    static func utcTimestamp(_ d: Date) -> String {
        let t = d.timeIntervalSince1970
        let whole = t.rounded(.down)
        var seconds = time_t(whole)
        let milliseconds = min(999, max(0, Int(((t - whole) * 1000).rounded(.down))))
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "1970-01-01T00:00:00.000Z" }
        var out = ""
        out.reserveCapacity(24)
        out += pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
        out += "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
        out += "." + pad(milliseconds, 3) + "Z"
        return out
    }

    /// The calendar day in metropolitan France (Europe/Paris: UTC+1, UTC+2 in summer time) at `d`: the care date
    /// the Vitale rights are checked against (vitale.md §9.4). Summer time runs from the last Sunday of March,
    /// 01:00 UTC, to the last Sunday of October, 01:00 UTC (Directive 2000/84/EC, in force since 1996).
    static func parisDay(_ d: Date) -> VitaleDay {
        let utc = Int64(d.timeIntervalSince1970.rounded(.down))
        let year = civil(fromDays: floorDiv(utc, 86_400)).year
        let summerStart = lastSunday(year: year, month: 3) * 86_400 + 3_600
        let summerEnd = lastSunday(year: year, month: 10) * 86_400 + 3_600
        let offset: Int64 = (utc >= summerStart && utc < summerEnd) ? 7_200 : 3_600
        let c = civil(fromDays: floorDiv(utc + offset, 86_400))
        return VitaleDay(year: c.year, month: c.month, day: c.day)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day number since 1970-01-01 (`civil_from_days`).
    static func civil(fromDays z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    /// The day number of the last Sunday of a 31-day month.
    static func lastSunday(year: Int, month: Int) -> Int64 {
        let last = days(year: year, month: month, day: 31)
        let weekday = (last % 7 + 7 + 4) % 7  // 1970-01-01 was a Thursday; Sunday = 0
        return last - weekday
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
