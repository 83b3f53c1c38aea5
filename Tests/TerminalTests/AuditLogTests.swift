import Foundation
import GRDB
import Testing

@testable import Terminal

func temporaryDirectory() -> String {
    let d = NSTemporaryDirectory() + "carte-terminal-tests-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

@Suite("Audit log")
struct AuditLogTests {
    let fixedDate = Date(timeIntervalSince1970: 1_780_000_000)

    func filledLog(rows: Int) async throws -> (AuditLog, String) {
        let path = temporaryDirectory() + "/audit.sqlite"
        let date = fixedDate
        let log = try AuditLog(path: path, now: { date })
        for i in 1...rows {
            try await log.append(AuditRecord(kind: .cardInserted, reader: "r1", session: "r1-\(i)", detail: ["atr": "3B00"]))
        }
        return (log, path)
    }

    @Test("Rows chain from 64 zeros; the first hash is the SHA-256 of the documented canonical encoding")
    func chain() async throws {
        let (log, path) = try await filledLog(rows: 3)
        let rows = try await log.rows()
        #expect(rows.map(\.id) == [1, 2, 3])
        #expect(rows[0].previousHash == String(repeating: "0", count: 64))
        #expect(rows[1].previousHash == rows[0].hash)
        #expect(rows[2].previousHash == rows[1].hash)
        #expect(rows[0].time == "2026-05-28T20:26:40.000Z")
        #expect(rows[0].detail == #"{"atr":"3B00"}"#)
        let encoding = AuditLog.canonicalEncoding(
            previous: rows[0].previousHash, id: 1, time: rows[0].time, kind: "cardInserted", reader: "r1",
            session: "r1-1", detail: #"{"atr":"3B00"}"#)
        // 64 hex digits, then length-prefixed "1".
        #expect(Array(encoding[64..<69]) == [0, 0, 0, 1, 0x31])
        let fieldLengths: [Int] = [1, 24, 12, 2, 4, 14]  // id, time, kind, reader, session, detail
        let expectedLength: Int = 64 + fieldLengths.reduce(0) { $0 + 4 + $1 }
        #expect(encoding.count == expectedLength)
        #expect(rows[0].hash.count == 64)
        #expect(AuditLog.verify(rows: rows) == AuditVerification(rowsChecked: 3, firstBadRow: nil, reason: nil))
        #expect(try AuditLog.verify(path: path).isIntact)
    }

    @Test("The log refuses UPDATE and DELETE")
    func appendOnly() async throws {
        let (_, path) = try await filledLog(rows: 2)
        let q = try DatabaseQueue(path: path)
        #expect(throws: (any Error).self) {
            try q.write { try $0.execute(sql: "UPDATE audit SET detail = '{}' WHERE id = 1") }
        }
        #expect(throws: (any Error).self) {
            try q.write { try $0.execute(sql: "DELETE FROM audit WHERE id = 2") }
        }
    }

    @Test("An edited row is found: exactly row 4 of 7")
    func editedRow() async throws {
        let (_, path) = try await filledLog(rows: 7)
        let q = try DatabaseQueue(path: path)
        try await q.write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_update")
            try db.execute(sql: "UPDATE audit SET session = 'r1-99' WHERE id = 4")
        }
        let v = try AuditLog.verify(path: path)
        #expect(v == AuditVerification(rowsChecked: 3, firstBadRow: 4, reason: "its content was altered"))
    }

    @Test("A row whose hash was recomputed after editing breaks the link of the next row")
    func rehashedRow() async throws {
        let (log, path) = try await filledLog(rows: 5)
        var rows = try await log.rows()
        rows[1].detail = #"{"atr":"3BFF"}"#
        rows[1].hash = AuditLog.chainHash(
            previous: rows[1].previousHash, id: 2, time: rows[1].time, kind: rows[1].kind, reader: rows[1].reader,
            session: rows[1].session, detail: rows[1].detail)
        #expect(AuditLog.verify(rows: rows).firstBadRow == 3)
        #expect(AuditLog.verify(rows: rows).reason == "its link to the previous row does not match")
        _ = path
    }

    @Test("Deleted rows are found at the first gap")
    func deletedRows() async throws {
        let (_, path) = try await filledLog(rows: 6)
        let q = try DatabaseQueue(path: path)
        try await q.write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_delete")
            try db.execute(sql: "DELETE FROM audit WHERE id IN (3, 4)")
        }
        let v = try AuditLog.verify(path: path)
        #expect(v.firstBadRow == 5)
        #expect(v.reason == "rows 3–4 are missing")
    }

    @Test("Reopening continues the chain")
    func reopen() async throws {
        let (_, path) = try await filledLog(rows: 2)
        let again = try AuditLog(path: path)
        try await again.append(AuditRecord(kind: .cardRemoved, reader: "r1"))
        let rows = try await again.rows()
        #expect(rows.count == 3)
        #expect(rows[2].previousHash == rows[1].hash)
        #expect(try AuditLog.verify(path: path).isIntact)
    }

    @Test("An append that collides with a row it did not know about resynchronises from the file and keeps the chain")
    func resynchronises() async throws {
        let (first, path) = try await filledLog(rows: 2)
        // A second connection appends behind the first one's back (as a COMMIT reported failed but written would).
        let second = try AuditLog(path: path)
        #expect(try await second.append(AuditRecord(kind: .cardRemoved, reader: "r2")) == 3)
        // The first log still believes row 2 is the last: its insert of id 3 collides, then chains after row 3.
        #expect(try await first.append(AuditRecord(kind: .sessionEnded, reader: "r1")) == 4)
        #expect(try await first.append(AuditRecord(kind: .cardInserted, reader: "r1")) == 5)
        let rows = try await first.rows()
        #expect(rows.map(\.id) == [1, 2, 3, 4, 5])
        #expect(rows.map(\.kind) == ["cardInserted", "cardInserted", "cardRemoved", "sessionEnded", "cardInserted"])
        #expect(rows[3].previousHash == rows[2].hash)
        #expect(try AuditLog.verify(path: path).isIntact)
    }

    @Test("NIRs are keyed hashes: same NIR same digest, spaces ignored, not the plain SHA-256, key file 0600")
    func nirDigest() async throws {
        let (log, path) = try await filledLog(rows: 1)
        let a = await log.nirDigest("171096912304538")
        let b = await log.nirDigest("1 71 09 69 123 045 38")
        #expect(a == b)
        #expect(a.count == 64)
        #expect(!a.contains("171096912304538"))
        let attrs = try FileManager.default.attributesOfItem(atPath: path + ".key")
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        let other = try AuditLog(path: temporaryDirectory() + "/other.sqlite")
        #expect(await other.nirDigest("171096912304538") != a)
    }

    @Test("A missing database is an error, not an empty intact log")
    func missing() {
        #expect(throws: TerminalError.database("no audit log at /nonexistent/audit.sqlite")) {
            try AuditLog.verify(path: "/nonexistent/audit.sqlite")
        }
    }
}
