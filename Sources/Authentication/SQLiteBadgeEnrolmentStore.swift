import Foundation
import GRDB

/// The badge enrolments and last `cps-pin` authentications in a local SQLite database (through GRDB), for the
/// terminal service. Tables `badge_enrolment` (badge number, UID, identity, enrolled/revoked times) and
/// `cps_authentication` (IdNat → last time). Times are stored as seconds since 1970 (UTC).
public final class SQLiteBadgeEnrolmentStore: BadgeEnrolmentStore {
    private let db: DatabaseQueue

    /// Opens (creating if needed) the database at `path`; `nil` opens a private in-memory database.
    /// - Throws: GRDB's `DatabaseError` when the file cannot be opened or migrated.
    public init(path: String?) throws {
        db = try path.map { try DatabaseQueue(path: $0) } ?? DatabaseQueue()
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "badge_enrolment") { t in
                t.primaryKey("badge_number", .text)
                t.column("uid", .blob).notNull()
                t.column("id_nat", .text).notNull()
                t.column("rpps", .text)
                t.column("nom", .text).notNull()
                t.column("prenom", .text).notNull()
                t.column("profession", .text)
                t.column("card_type", .text)
                t.column("health_professional", .boolean).notNull()
                t.column("enrolled_at", .double).notNull()
                t.column("revoked_at", .double)
            }
            try db.create(table: "cps_authentication") { t in
                t.primaryKey("id_nat", .text)
                t.column("last_at", .double).notNull()
            }
        }
        try migrator.migrate(db)
    }

    public func enrolment(badgeNumber: String) async throws -> BadgeEnrolment? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM badge_enrolment WHERE badge_number = ?", arguments: [badgeNumber])
                .map(Self.enrolment(row:))
        }
    }

    public func enrolments() async throws -> [BadgeEnrolment] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM badge_enrolment ORDER BY badge_number").map(Self.enrolment(row:))
        }
    }

    private static func enrolment(row: Row) -> BadgeEnrolment {
        let identity = ProfessionalIdentity(
            idNat: row["id_nat"], rpps: row["rpps"], nom: row["nom"], prenom: row["prenom"],
            profession: row["profession"], cardType: row["card_type"], isHealthProfessional: row["health_professional"])
        let uid: Data = row["uid"]
        let revoked: Double? = row["revoked_at"]
        return BadgeEnrolment(
            badgeNumber: row["badge_number"], uid: [UInt8](uid), identity: identity,
            enrolledAt: Date(timeIntervalSince1970: row["enrolled_at"]),
            revokedAt: revoked.map { Date(timeIntervalSince1970: $0) })
    }

    public func save(_ e: BadgeEnrolment) async throws {
        try await db.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO badge_enrolment
                    (badge_number, uid, id_nat, rpps, nom, prenom, profession, card_type, health_professional, enrolled_at, revoked_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    e.badgeNumber, Data(e.uid), e.identity.idNat, e.identity.rpps, e.identity.nom, e.identity.prenom,
                    e.identity.profession, e.identity.cardType, e.identity.isHealthProfessional,
                    e.enrolledAt.timeIntervalSince1970, e.revokedAt?.timeIntervalSince1970,
                ])
        }
    }

    public func revoke(badgeNumber: String, at time: Date) async throws -> Bool {
        try await db.write { db in
            try db.execute(
                sql: "UPDATE badge_enrolment SET revoked_at = ? WHERE badge_number = ?",
                arguments: [time.timeIntervalSince1970, badgeNumber])
            return db.changesCount > 0
        }
    }

    public func recordCPSAuthentication(idNat: String, at time: Date) async throws {
        try await db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO cps_authentication (id_nat, last_at) VALUES (?, ?)
                    ON CONFLICT(id_nat) DO UPDATE SET last_at = MAX(last_at, excluded.last_at)
                    """,
                arguments: [idNat, time.timeIntervalSince1970])
        }
    }

    public func lastCPSAuthentication(idNat: String) async throws -> Date? {
        try await db.read { db in
            try Double.fetchOne(db, sql: "SELECT last_at FROM cps_authentication WHERE id_nat = ?", arguments: [idNat])
                .map { Date(timeIntervalSince1970: $0) }
        }
    }
}
