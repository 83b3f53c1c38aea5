import ArgumentParser
import CarteBench
import Foundation

/// `carte bench [--json] [--insc-rows N] [--skip-insc]` (cli.md; issue 9): the benchmark figures.
///
/// Flows run on in-process simulated readers with the virtual wire clock (the same numbers every run); the INS-C
/// and host figures are measured in this run and reported as ratios. Figures that need something this build or
/// this machine does not have are reported as skipped, with the reason. Exit 0 once the figures are printed.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmark figures (wire time against the physical limit, INS-C batch, host).",
        discussion: """
            Wire figures are virtual (simulated wire clock) and deterministic. INS-C rows/s and host round trips are
            measured in this run; they mean something only in a release build (swift build -c release).
            """)

    @Flag(name: .customLong("json"), help: "Print one JSON document.")
    var json = false

    @Option(name: .customLong("insc-rows"), help: "Rows of the INS-C batch figure (default 1000000).")
    var inscRows = 1_000_000

    @Flag(name: .customLong("skip-insc"), help: "Do not run the INS-C batch figure.")
    var skipINSC = false

    @Option(name: .customLong("service-sessions"), help: "Simulated card sessions of the service figure (default 10000; 0 skips it).")
    var serviceSessions = 10_000

    func validate() throws {
        guard inscRows >= 1 && inscRows <= 50_000_000 else {
            throw ValidationError("--insc-rows must be between 1 and 50000000")
        }
        guard serviceSessions >= 0 && serviceSessions <= 1_000_000 else {
            throw ValidationError("--service-sessions must be between 0 and 1000000")
        }
    }

    func run() async throws {
        // The bench writes to child processes (carte simulate, the C loop, python3) that may have exited: a closed
        // pipe must be an error on that write, not the end of the bench.
        signal(SIGPIPE, SIG_IGN)
        if !json {
            FileHandle.standardError.write(Data("carte bench: running (\(CarteBench.buildConfiguration) build)…\n".utf8))
        }
        let report = await CarteBench.run(
            CarteBench.Options(inscRows: inscRows, skipINSC: skipINSC, serviceSessions: serviceSessions))
        if json {
            print(ReadJSON.render(report))
        } else {
            print(BenchTable.render(report), terminator: "")
        }
    }
}

/// The human table of `carte bench`.
enum BenchTable {
    static func render(_ r: [String: Any]) -> String {
        var s = "carte bench — \(r["build"] as? String ?? "?") build\n\n"
        let flows = r["flows"] as? [String: Any] ?? [:]
        var rows: [[String]] = [["flow", "APDUs", "bytes→card", "bytes←card", "wire ms", "limit ms", "ratio", "goal"]]
        for name in ["vitaleRead", "cpsAuthentication", "badgeAuthentication"] {
            if let f = flows[name] as? [String: Any] {
                let ratio = f["wireTimeToLimitRatio"] as? Double ?? 0
                rows.append([
                    name, "\(f["apdus"] ?? "")", "\(f["bytesToCard"] ?? "")", "\(f["bytesFromCard"] ?? "")",
                    fmt(f["wireTimeMs"]), fmt(f["limitMs"]), fmt(f["wireTimeToLimitRatio"], 2),
                    name == "badgeAuthentication" ? "-" : (ratio <= 1.25 ? "≤1.25 met" : "≤1.25 MISSED"),
                ])
                if let w = f["certificateCacheWarm"] as? [String: Any] {
                    let r = w["wireTimeToLimitRatio"] as? Double ?? 0
                    rows.append([
                        "  (certificate cache warm)", "\(w["apdus"] ?? "")", "\(w["bytesToCard"] ?? "")",
                        "\(w["bytesFromCard"] ?? "")", fmt(w["wireTimeMs"]), fmt(w["limitMs"]), fmt(r, 2),
                        r <= 1.25 ? "≤1.25 met" : "≤1.25 MISSED",
                    ])
                }
            } else {
                rows.append([name, "-", "-", "-", "-", "-", "-", "skipped: \(flows[name + "Reason"] as? String ?? "")"])
            }
        }
        s += table(rows)
        if let v = flows["vitaleRead"] as? [String: Any], let b = v["breakdownMs"] as? [String: Double] {
            s += "\nvitaleRead wire time by cause (ms): "
            s += b.sorted { $0.value > $1.value }.filter { $0.value > 0 }.map { "\($0.key) \(fmt($0.value))" }
                .joined(separator: ", ") + "\n"
            if let n = v["note"] as? String { s += "  \(n)\n" }
        }
        s += "\n"
        let insc = r["insc"] as? [String: Any] ?? [:]
        if let why = insc["skipped"] as? String {
            s += "INS-C batch   skipped: \(why)\n"
        } else {
            s += "INS-C batch   \(insc["rows"] ?? "") rows: carte \(fmt(insc["carteRowsPerSecond"], 0)) rows/s, "
            s += "python3 hashlib \(fmt(insc["pythonRowsPerSecond"], 0)) rows/s, ratio \(fmt(insc["ratio"], 2))× (goal ≥ 20×"
            s += ", \(insc["build"] ?? "") build), outputs identical: \(insc["outputsIdentical"] ?? "-")\n"
        }
        for key in ["host", "peers", "service"] {
            let v = r[key] as? [String: Any] ?? [:]
            if let why = v["skipped"] as? String {
                s += "\(key.padding(toLength: 14, withPad: " ", startingAt: 0))skipped: \(why)\n"
            } else {
                let fields = v.keys.sorted().map { "\($0) \(v[$0].map { "\($0)" } ?? "")" }.joined(separator: ", ")
                s += "\(key.padding(toLength: 14, withPad: " ", startingAt: 0))\(fields)\n"
            }
        }
        return s
    }

    static func fmt(_ v: Any?, _ decimals: Int = 3) -> String {
        guard let d = v as? Double else { return v.map { "\($0)" } ?? "-" }
        return String(format: "%.\(decimals)f", d)
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, v in
                c == 0 || c == row.count - 1
                    ? v.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - v.count) + v
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }
}
