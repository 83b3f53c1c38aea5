import Foundation
import Testing

/// The synthetic personas (`Simulators/CardSimulator/Fixtures/personas.json`, the bundled copy of
/// `/work/shared/fixtures/personas.json`), read as plain JSON so the tests do not depend on the simulator's decoder.
enum Personas {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Simulators/CardSimulator/Fixtures/personas.json")

    /// The whole document (`.null` when unreadable; `fixtureIsReadable` fails then).
    static let document: JSONValue = {
        guard let data = try? Data(contentsOf: url) else { return .null }
        return JSONValue(parsing: String(decoding: data, as: UTF8.self)) ?? .null
    }()

    static func list(_ key: String) -> [JSONValue] { document[key]?.array ?? [] }

    static var patients: [JSONValue] { list("patients") }
    static var professionals: [JSONValue] { list("professionals") }
    static var badges: [JSONValue] { list("badges") }

    /// Every persona id, in file order (patients, professionals, badges).
    static var allIDs: [String] { (patients + professionals + badges).compactMap { $0["id"]?.string } }

    static func patient(_ id: String) -> JSONValue? { patients.first { $0["id"]?.string == id } }

    /// Every PIN and PUK of the professionals' cards.
    static var pinsAndPUKs: [String] {
        professionals.flatMap { [$0["pin"]?.string, $0["puk"]?.string].compactMap { $0 } }
    }

    /// Every NIR on a Vitale persona (insured NIRs and NIR certifiés), 15 characters.
    static var nirs: [String] {
        patients.flatMap { p -> [String] in
            var out: [String] = []
            if let n = p["insured"]?["nir"]?.string { out.append(n) }
            for b in p["beneficiaries"]?.array ?? [] {
                if let n = b["nirCertifie"]?.string { out.append(n) }
            }
            return out
        }
    }
}

/// Checks every collected output of `carte` for secrets: no persona PIN or PUK nor the PIN given on stdin (as a
/// digit run of its own, or as the hex of its ASCII digits), and — unless `--reveal` or `--batch` (which echoes its input rows, cli.md) is
/// given — no full NIR (its 13-character body) from personas.json or from the arguments.
enum SecretScan {
    static func findings(in run: CarteRun) -> [String] {
        let text = run.stdout + "\n" + run.stderr
        var found: [String] = []
        for secret in Set(Personas.pinsAndPUKs + run.secrets) {
            if containsDigitRun(text, secret) { found.append("a persona PIN/PUK (\(secret.count) digits) appears") }
            let asciiHex = secret.utf8.map { String(format: "%02X", $0) }
            let compact = text.uppercased().replacingOccurrences(of: " ", with: "")
            if compact.contains(asciiHex.joined()) {
                found.append("a persona PIN/PUK appears as ASCII hex")
            }
        }
        let exempt = run.arguments.contains("--reveal") || run.arguments.contains("--batch")
        if !exempt {
            let argNIRs = run.arguments.map { $0.replacingOccurrences(of: " ", with: "") }
                .filter { ($0.count == 13 || $0.count == 15) && $0.first.map { "12378".contains($0) } == true }
            let compact = text.replacingOccurrences(of: " ", with: "").uppercased()
            for nir in Set(Personas.nirs + argNIRs) {
                let body = String(nir.uppercased().prefix(13))
                if compact.contains(body) { found.append("the full NIR \(NIRText.mask(nir)) appears unmasked") }
            }
        }
        return found
    }

    static func check(_ run: CarteRun, sourceLocation: SourceLocation = #_sourceLocation) {
        for f in findings(in: run) {
            Issue.record("secret leak: \(f) in the output of `carte \(run.arguments.joined(separator: " "))`")
        }
    }

    /// True when `needle` occurs in `text` with no letter or digit right before or after it (so hex hashes and
    /// longer numbers, e.g. a serial `1234567890123456`, do not count).
    static func containsDigitRun(_ text: String, _ needle: String) -> Bool {
        let t = Array(text.utf8)
        let n = Array(needle.utf8)
        guard !n.isEmpty, t.count >= n.count else { return false }
        func isDigit(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) }
        for i in 0...(t.count - n.count) where Array(t[i..<(i + n.count)]) == n {
            let before = i == 0 ? false : isDigit(t[i - 1])
            let after = i + n.count >= t.count ? false : isDigit(t[i + n.count])
            if !before && !after { return true }
        }
        return false
    }
}

/// The masked form cli.md describes (sex digit and year shown, key shown, the rest `•`), written independently of
/// the INS module: `2 79 •• •• ••• ••• 83`.
enum NIRText {
    static func mask(_ nir: String) -> String {
        let c = Array(nir)
        guard c.count == 15 else { return String(repeating: "•", count: c.count) }
        return "\(c[0]) \(c[1])\(c[2]) •• •• ••• ••• \(c[13])\(c[14])"
    }
}
