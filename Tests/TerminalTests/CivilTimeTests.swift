import Foundation
import Testing
import Vitale

@testable import Terminal

@Suite("Civil time without ICU: audit timestamps and the Europe/Paris care date")
struct CivilTimeTests {
    @Test(
        "UTC timestamps: RFC 3339 with milliseconds",
        arguments: [
            (0.0, "1970-01-01T00:00:00.000Z"),
            (1_796_041_571.042, "2026-11-30T12:26:11.042Z"),
            (951_782_400.875, "2000-02-29T00:00:00.875Z"),
            (4_102_444_799.5, "2099-12-31T23:59:59.500Z"),
            (-1.25, "1969-12-31T23:59:58.750Z"),
        ])
    func timestamps(_ seconds: Double, _ expected: String) {
        #expect(CivilTime.utcTimestamp(Date(timeIntervalSince1970: seconds)) == expected)
        #expect(AuditLog.timestamp(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test(
        "Paris day around midnight and both summer-time switches",
        arguments: [
            ("2026-03-28T22:59:59Z", 2026, 3, 28),  // UTC+1: 23:59:59 local
            ("2026-03-28T23:00:00Z", 2026, 3, 29),  // UTC+1: midnight
            ("2026-03-29T00:59:59Z", 2026, 3, 29),  // last second of winter time
            ("2026-03-29T22:00:00Z", 2026, 3, 30),  // UTC+2 from 01:00 UTC on the last Sunday of March
            ("2026-10-24T22:00:00Z", 2026, 10, 25),  // still summer time: midnight local
            ("2026-10-25T00:59:59Z", 2026, 10, 25),
            ("2026-10-25T22:59:59Z", 2026, 10, 25),  // winter again (UTC+1): 23:59:59 local
            ("2026-10-25T23:00:00Z", 2026, 10, 26),
            ("2026-12-31T23:00:00Z", 2027, 1, 1),
            ("2024-02-29T12:00:00Z", 2024, 2, 29),
        ])
    func parisDays(_ instant: String, _ y: Int, _ m: Int, _ d: Int) throws {
        let date = try #require(ISO8601DateFormatter().date(from: instant))
        #expect(CivilTime.parisDay(date) == VitaleDay(year: y, month: m, day: d))
    }

    @Test("Paris day agrees with Foundation's Europe/Paris calendar over 1996–2037 (20,000 instants, fixed seed)")
    func agreesWithFoundation() throws {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = try #require(TimeZone(identifier: "Europe/Paris"))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let seconds = 820_454_400 + Double((state >> 11) % 1_325_376_000)
            let date = Date(timeIntervalSince1970: seconds)
            let c = cal.dateComponents([.year, .month, .day], from: date)
            let expected = VitaleDay(year: c.year!, month: c.month!, day: c.day!)
            if CivilTime.parisDay(date) != expected { mismatches.append("\(seconds)") }
        }
        #expect(mismatches.isEmpty)
    }

    @Test("days/civil round-trip and the last Sundays of 2026")
    func arithmetic() {
        #expect(CivilTime.days(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilTime.days(year: 2000, month: 3, day: 1) == 11_017)
        #expect(CivilTime.civil(fromDays: 11_016) == (2000, 2, 29))
        #expect(CivilTime.civil(fromDays: -1) == (1969, 12, 31))
        #expect(CivilTime.civil(fromDays: CivilTime.lastSunday(year: 2026, month: 3)) == (2026, 3, 29))
        #expect(CivilTime.civil(fromDays: CivilTime.lastSunday(year: 2026, month: 10)) == (2026, 10, 25))
        #expect(CivilTime.civil(fromDays: CivilTime.lastSunday(year: 2027, month: 10)) == (2027, 10, 31))
        for z in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let c = CivilTime.civil(fromDays: z)
            #expect(CivilTime.days(year: c.year, month: c.month, day: c.day) == z)
        }
    }
}
