import CarteCrypto
import Foundation
import GRDB

/// What an audit row records.
public enum AuditKind: String, Sendable, Hashable, Codable {
    case serviceStarted, serviceStopped
    case readerAdded, readerRemoved, monitoringDegraded, monitoringRestored
    case cardInserted, cardRecognised, authenticated, patientIdentified, refused, cardRemoved, sessionEnded
    case pinSubmitted, badgeTapped, badgeEnrolled, badgeEnrolmentRefused, badgeRevoked, apiRefused
}

/// One row of the audit log before it is chained. `detail` values must never hold a PIN or a clear NIR: use
/// `AuditLog.nirDigest(_:)` and `NIR.mask`.
public struct AuditRecord: Sendable, Hashable {
    public var kind: AuditKind
    public var reader: String?
    public var session: String?
    public var detail: [String: String]

    public init(kind: AuditKind, reader: String? = nil, session: String? = nil, detail: [String: String] = [:]) {
        self.kind = kind
        self.reader = reader
        self.session = session
        self.detail = detail
    }
}

/// A stored audit row.
public struct AuditRow: Sendable, Hashable {
    public var id: Int64
    /// ISO 8601 UTC with milliseconds.
    public var time: String
    public var kind: String
    public var reader: String?
    public var session: String?
    /// Canonical JSON (sorted keys).
    public var detail: String
    /// SHA-256 of the previous row (hex lowercase; 64 zeros for the first row).
    public var previousHash: String
    /// SHA-256 over `previousHash` and this row's canonical encoding (hex lowercase).
    public var hash: String
}

/// The result of `AuditLog.verify`.
public struct AuditVerification: Sendable, Hashable {
    public var rowsChecked: Int
    /// The id of the first row that does not chain (altered, inserted, or following deleted rows), nil when intact.
    public var firstBadRow: Int64?
    public var reason: String?
    public var isIntact: Bool { firstBadRow == nil }
}

/// The append-only audit log in SQLite (GRDB): every row carries the SHA-256 of the previous one, computed over a
/// canonical encoding (`AuditLog.canonicalEncoding`), so `verify` finds the first altered row. SQLite triggers refuse
/// UPDATE and DELETE. NIRs are stored only as an HMAC-SHA-256 under a per-install key (file `<db>.key`, mode 0600).
public actor AuditLog {
    public static let genesisHash = String(repeating: "0", count: 64)
    /// SQLite page cache of the log's connection, KiB.
    static let pageCacheKiB = 256

    let queue: DatabaseQueue
    let nirKey: [UInt8]
    let now: @Sendable () -> Date
    var lastHash: String
    var lastID: Int64

    /// Opens (creating if needed) the log at `path` and its key file `path + ".key"`.
    /// - Throws: `TerminalError.database` when the file or key cannot be opened or created.
    public init(path: String, now: @escaping @Sendable () -> Date = { Date() }) throws(TerminalError) {
        do {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            // The log is append-only and read back only by `verify`: a small page cache keeps the service's
            // memory flat however long the log grows (SQLite's default is 2 MB; issue 9's service figure).
            var configuration = Configuration()
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA cache_size = -\(AuditLog.pageCacheKiB)") }
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS audit (
                        id INTEGER PRIMARY KEY, time TEXT NOT NULL, kind TEXT NOT NULL, reader TEXT, session TEXT,
                        detail TEXT NOT NULL, prevHash TEXT NOT NULL, hash TEXT NOT NULL);
                    CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    """)
            }
            let last = try queue.read { db in try Row.fetchOne(db, sql: "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1") }
            lastID = last?["id"] ?? 0
            lastHash = last?["hash"] ?? AuditLog.genesisHash
        } catch {
            throw .database("cannot open \(path): \(error)")
        }
        nirKey = try AuditLog.loadOrCreateKey(path + ".key")
        self.now = now
    }

    static func loadOrCreateKey(_ keyPath: String) throws(TerminalError) -> [UInt8] {
        if let d = FileManager.default.contents(atPath: keyPath), d.count == 32 { return [UInt8](d) }
        let key: [UInt8]
        do { key = try SecureRandom.bytes(32) } catch { throw .database("no random bytes for the NIR key: \(error)") }
        guard FileManager.default.createFile(atPath: keyPath, contents: Data(key), attributes: [.posixPermissions: 0o600])
        else { throw .database("cannot create the NIR key file \(keyPath)") }
        return key
    }

    /// The keyed hash that stands for a NIR in the log: HMAC-SHA-256 under the install key, hex, 64 characters.
    /// Spaces are dropped first so that `1 85 05…` and `18505…` give the same value.
    public func nirDigest(_ nir: String) -> String {
        let digits = Array(nir.filter { $0 != " " }.utf8)
        let mac = (try? HMAC.authenticationCode(.sha256, key: nirKey, data: digits)) ?? []
        return hex(mac)
    }

    /// Appends a row and returns its id.
    /// - Throws: `TerminalError.database` when SQLite refuses.
    @discardableResult
    public func append(_ record: AuditRecord) throws(TerminalError) -> Int64 {
        let id = lastID + 1
        let time = AuditLog.timestamp(now())
        let detail = AuditLog.canonicalJSON(record.detail)
        let hash = AuditLog.chainHash(
            previous: lastHash, id: id, time: time, kind: record.kind.rawValue, reader: record.reader,
            session: record.session, detail: detail)
        let prev = lastHash
        do {
            try queue.write { db in
                try db.execute(
                    sql: "INSERT INTO audit (id, time, kind, reader, session, detail, prevHash, hash) VALUES (?,?,?,?,?,?,?,?)",
                    arguments: [id, time, record.kind.rawValue, record.reader, record.session, detail, prev, hash])
            }
        } catch {
            throw .database("cannot append: \(error)")
        }
        lastID = id
        lastHash = hash
        return id
    }

    /// Every row, in order (tests, `carte audit`).
    public func rows() throws(TerminalError) -> [AuditRow] {
        do { return try AuditLog.readRows(queue) } catch { throw .database("cannot read: \(error)") }
    }

    /// Checks the chain of the log at `path` (read-only).
    /// - Throws: `TerminalError.database` when the file is not a readable audit log.
    public static func verify(path: String) throws(TerminalError) -> AuditVerification {
        guard FileManager.default.fileExists(atPath: path) else { throw .database("no audit log at \(path)") }
        let rows: [AuditRow]
        do {
            var config = Configuration()
            config.readonly = true
            let q = try DatabaseQueue(path: path, configuration: config)
            rows = try readRows(q)
        } catch {
            throw .database("cannot read \(path): \(error)")
        }
        return verify(rows: rows)
    }

    /// Checks a sequence of rows: ids consecutive from 1, each `previousHash` equal to the previous row's hash, each
    /// `hash` equal to the recomputed one.
    public static func verify(rows: [AuditRow]) -> AuditVerification {
        var previous = genesisHash
        var expectedID: Int64 = 1
        for (i, r) in rows.enumerated() {
            if r.id != expectedID {
                return AuditVerification(
                    rowsChecked: i, firstBadRow: r.id,
                    reason: r.id > expectedID ? "rows \(expectedID)–\(r.id - 1) are missing" : "row id out of order")
            }
            if r.previousHash != previous {
                return AuditVerification(
                    rowsChecked: i, firstBadRow: r.id, reason: "its link to the previous row does not match")
            }
            let h = chainHash(
                previous: r.previousHash, id: r.id, time: r.time, kind: r.kind, reader: r.reader, session: r.session,
                detail: r.detail)
            if h != r.hash {
                return AuditVerification(rowsChecked: i, firstBadRow: r.id, reason: "its content was altered")
            }
            previous = r.hash
            expectedID += 1
        }
        return AuditVerification(rowsChecked: rows.count, firstBadRow: nil, reason: nil)
    }

    static func readRows(_ q: DatabaseQueue) throws -> [AuditRow] {
        try q.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id").map { r in
                AuditRow(
                    id: r["id"], time: r["time"] ?? "", kind: r["kind"] ?? "", reader: r["reader"],
                    session: r["session"], detail: r["detail"] ?? "", previousHash: r["prevHash"] ?? "",
                    hash: r["hash"] ?? "")
            }
        }
    }

    /// The canonical encoding hashed for a row: the previous hash (64 ASCII hex digits), then each field as a
    /// 4-byte big-endian length and its UTF-8 bytes, in the order id (decimal), time, kind, reader, session, detail;
    /// an absent reader or session has length 0xFFFFFFFF and no bytes.
    public static func canonicalEncoding(
        previous: String, id: Int64, time: String, kind: String, reader: String?, session: String?, detail: String
    ) -> [UInt8] {
        var out = Array(previous.utf8)
        func field(_ s: String?) {
            guard let s else {
                out += [0xFF, 0xFF, 0xFF, 0xFF]
                return
            }
            let b = Array(s.utf8)
            let n = UInt32(b.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            out += b
        }
        field(String(id))
        field(time)
        field(kind)
        field(reader)
        field(session)
        field(detail)
        return out
    }

    static func chainHash(
        previous: String, id: Int64, time: String, kind: String, reader: String?, session: String?, detail: String
    ) -> String {
        hex(Digest.sha256(canonicalEncoding(
            previous: previous, id: id, time: time, kind: kind, reader: reader, session: session, detail: detail)))
    }

    static func canonicalJSON(_ d: [String: String]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? enc.encode(d)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    /// `yyyy-MM-ddTHH:mm:ss.SSSZ` (UTC, milliseconds), see `CivilTime.utcTimestamp`.
    static func timestamp(_ d: Date) -> String { CivilTime.utcTimestamp(d) }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}
