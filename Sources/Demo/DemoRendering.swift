import Foundation

/// Text for people: step headers, aligned `key  value` lines with ✓/✗/! marks, and the summary table (step 5).
/// Never a PIN (the steps never hold one); NIRs come masked from the steps.
public enum DemoTextRenderer {
    /// The banner printed before anything runs.
    public static func banner(backend: String) -> String {
        let how =
            backend == "pcsc"
            ? "through the real pcscd and vpcd, simulated cards" : "in-process simulated readers and cards, no hardware, no daemon"
        return "carte demo — the whole access flow on simulated cards (\(how))\n"
    }

    /// The readers by role.
    public static func readers(_ names: [String: String]) -> String {
        var s = ""
        for role in DemoReaderRole.allCases {
            guard let n = names[role.rawValue] else { continue }
            let label: String
            switch role {
            case .professional: label = "professional"
            case .patient: label = "patient"
            case .badge: label = "badge"
            }
            s += "  " + pad(s.isEmpty ? "readers" : "", 9) + pad(label, 14) + n + "\n"
        }
        return s
    }

    /// One step: header, lines, and its result line.
    public static func step(_ r: DemoStepReport) -> String {
        var s = "\n━━ \(r.kind.number). \(r.title)\n"
        let width = r.lines.map { $0.key.count + 2 * $0.level }.max() ?? 0
        for line in r.lines {
            let mark = line.mark?.rawValue ?? " "
            let key = String(repeating: "  ", count: line.level) + line.key
            if line.value.isEmpty {
                s += "  \(mark) \(key)\n"
            } else {
                s += "  \(mark) \(pad(key, width))  \(line.value)\n"
            }
        }
        s += "  → \(statusMark(r.status)) \(statusWord(r.status)): \(r.outcome)"
        s += "   (\(times(r)))\n"
        return s
    }

    /// Step 5: what happened, virtual wire time and wall time per step, and the verdict.
    public static func summary(_ report: DemoReport) -> String {
        var s = "\n━━ 5. Summary\n"
        let rows: [[String]] =
            [["", "step", "outcome", "APDUs", "wire (virtual)", "wall"]]
            + report.steps.map { r in
                [
                    statusMark(r.status), "\(r.kind.number). \(r.kind.rawValue)", r.outcome,
                    r.apduCount.map(String.init) ?? "-", r.wireNanoseconds.map(milliseconds) ?? "n/a",
                    milliseconds(r.wallNanoseconds),
                ]
            }
            + [
                [
                    "", "total", "", report.steps.compactMap(\.apduCount).isEmpty ? "-" : String(report.steps.compactMap(\.apduCount).reduce(0, +)),
                    report.wireNanoseconds.map(milliseconds) ?? "n/a",
                    milliseconds(report.steps.map(\.wallNanoseconds).reduce(0, +)),
                ]
            ]
        let widths = (0..<6).map { c in rows.map { $0[c].count }.max() ?? 0 }
        let rightAligned: Set<Int> = [3, 4, 5]
        for (i, row) in rows.enumerated() {
            var line = "  "
            for c in 0..<6 {
                let cell = rightAligned.contains(c) ? padLeft(row[c], widths[c]) : pad(row[c], widths[c])
                line += cell + (c == 5 ? "" : "  ")
            }
            s += line.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
            if i == 0 || i == rows.count - 2 {
                s += "  " + String(repeating: "─", count: widths.reduce(0, +) + 10) + "\n"
            }
        }
        s += "  test PKI prepared in \(milliseconds(report.pkiPreparationNanoseconds)); whole run \(milliseconds(report.wallNanoseconds)) wall\n"
        if report.wireNanoseconds == nil {
            s += "  wire time is not measured through pcscd (only the in-process readers keep a virtual line clock)\n"
        } else {
            s += "  wire time is the simulated line's own clock (ATR, PPS, every APDU at the reader's baud rate), not host time\n"
        }
        let passed = report.steps.filter { $0.status == .passed }.count
        if report.allExpected {
            s += "\n  ✓ all \(report.steps.count) steps gave their expected outcome (including the refusal of step 4)\n"
        } else {
            s += "\n  ✗ \(passed) of \(report.steps.count) steps gave their expected outcome:\n"
            for r in report.steps where r.status != .passed {
                if r.status == .unavailable {
                    s += "    \(r.kind.number). \(r.kind.rawValue): not available in this build: \(r.facts["unavailableBecause"]?.stringValue ?? "?")\n"
                } else {
                    s += "    \(r.kind.number). \(r.kind.rawValue): expected \(r.expected); got \(r.outcome)\n"
                }
            }
        }
        return s
    }

    /// The whole report at once (what the streaming output prints, end to end).
    public static func render(_ report: DemoReport) -> String {
        var s = banner(backend: report.backend) + readers(report.readers)
        s += "  preparing the test PKI… ready (\(milliseconds(report.pkiPreparationNanoseconds)))\n"
        for r in report.steps { s += step(r) }
        return s + summary(report)
    }

    static func times(_ r: DemoStepReport) -> String {
        var parts: [String] = []
        if let w = r.wireNanoseconds { parts.append("wire \(milliseconds(w)) virtual") }
        parts.append("wall \(milliseconds(r.wallNanoseconds))")
        return parts.joined(separator: ", ")
    }

    static func statusMark(_ s: DemoStepStatus) -> String {
        switch s {
        case .passed: return "✓"
        case .failed: return "✗"
        case .unavailable: return "!"
        }
    }

    static func statusWord(_ s: DemoStepStatus) -> String {
        switch s {
        case .passed: return "as expected"
        case .failed: return "NOT as expected"
        case .unavailable: return "not available"
        }
    }

    /// `12.3 ms`, `1.52 s`.
    public static func milliseconds(_ ns: Int64) -> String {
        let ms = Double(ns) / 1_000_000
        if ms >= 1000 { return String(format: "%.2f s", ms / 1000) }
        if ms >= 100 { return String(format: "%.0f ms", ms) }
        return String(format: "%.1f ms", ms)
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    static func padLeft(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
}

/// The `--json` document: one object with the run and its steps (keys sorted).
///
/// Keys: `backend` (`simulated`/`pcsc`), `readers` {`professional`, `patient`, `badge`}, `allExpected` (bool),
/// `pkiPreparationMilliseconds`, `wallMilliseconds`, `wireMilliseconds` (null when not measured), `steps` [ {`number`,
/// `kind` (`pharmacist`, `vitale`, `badge`, `revoked`), `title`, `status` (`passed`, `failed`, `unavailable`),
/// `expected`, `outcome`, `apduCount`, `wireMilliseconds`, `wallMilliseconds`, `details` (per step: `persona`;
/// `authentication` with cli.md's `carte auth` keys; `pki` {`chain`, `crls`}; for the Vitale step `beneficiaries`
/// with `insc`/`inscReason`/`inscSource`/`rightsOpen`, NIRs masked; for the badge step `badge`, `enrolment`,
/// `tap`)} ].
public enum DemoJSON {
    public static func value(_ report: DemoReport) -> DemoJSONValue {
        [
            "backend": .string(report.backend),
            "readers": .object(report.readers.mapValues { .string($0) }),
            "allExpected": .bool(report.allExpected),
            "pkiPreparationMilliseconds": .double(ms(report.pkiPreparationNanoseconds)),
            "wallMilliseconds": .double(ms(report.wallNanoseconds)),
            "wireMilliseconds": report.wireNanoseconds.map { .double(ms($0)) } ?? .null,
            "steps": .array(report.steps.map(step)),
        ]
    }

    public static func step(_ r: DemoStepReport) -> DemoJSONValue {
        [
            "number": .int(Int64(r.kind.number)), "kind": .string(r.kind.rawValue), "title": .string(r.title),
            "status": .string(r.status.rawValue), "expected": .string(r.expected), "outcome": .string(r.outcome),
            "apduCount": .optional(r.apduCount), "wireMilliseconds": r.wireNanoseconds.map { .double(ms($0)) } ?? .null,
            "wallMilliseconds": .double(ms(r.wallNanoseconds)), "details": .object(r.facts),
        ]
    }

    /// The document as text (pretty, sorted keys).
    public static func render(_ report: DemoReport) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? e.encode(value(report)) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func ms(_ ns: Int64) -> Double { (Double(ns) / 1000).rounded() / 1000 }
}
