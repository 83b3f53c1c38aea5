import ArgumentParser
import Foundation
import Terminal

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The audit log of `carte serve`.", subcommands: [AuditVerifyCommand.self])
}

/// `carte audit verify [--db FILE] [--json]` (cli.md): exit 0 when the hash chain is intact, 1 naming the first
/// altered row, 3 when the database cannot be read.
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check the audit log's hash chain.",
        discussion: "Exit 0 when intact; 1 and the first altered row otherwise; 3 when the log cannot be read.")

    @Option(help: "The audit database (default /var/lib/carte/audit.sqlite).") var db = "/var/lib/carte/audit.sqlite"
    @Flag(help: "Print one JSON document: rowsChecked, intact, firstBadRow, reason.") var json = false

    func run() async throws {
        let v: AuditVerification
        do { v = try AuditLog.verify(path: db) } catch {
            printError("\(error)")
            throw CarteExit.failure
        }
        if json {
            let bad = v.firstBadRow.map(String.init) ?? "null"
            let reason = v.reason.map { "\"\($0.replacingOccurrences(of: "\"", with: "'"))\"" } ?? "null"
            print("{\"firstBadRow\":\(bad),\"intact\":\(v.isIntact),\"reason\":\(reason),\"rowsChecked\":\(v.rowsChecked)}")
        } else if v.isIntact {
            print("audit log intact: \(v.rowsChecked) rows, hash chain verified")
        }
        if let bad = v.firstBadRow {
            if !json { printError("audit log altered: row \(bad): \(v.reason ?? "does not chain")") }
            throw CarteExit.refused
        }
    }
}
