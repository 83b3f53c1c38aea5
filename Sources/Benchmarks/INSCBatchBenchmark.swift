import Foundation
import INS
import ISO7816

#if canImport(Glibc)
    import Glibc
#endif

/// The `insc` figure of `carte bench`: rows per second of `INSCBatch` (what `carte ins insc --batch FILE` runs)
/// against a plain Python + hashlib implementation of the same algorithm (`Resources/insc_batch.py`), both over the
/// same generated file in the same run (ins.md §1.3). Both outputs must be identical byte for byte, or the figure
/// is refused.
public enum INSCBatchBenchmark {
    /// The figures of one run.
    public struct Figures: Sendable, Hashable {
        public var rows: Int
        public var inputBytes: Int
        /// Rows per second (file read, INS-C, file write), and the seconds they took.
        public var carteRowsPerSecond: Double
        public var carteSeconds: Double
        public var pythonRowsPerSecond: Double?
        public var pythonSeconds: Double?
        /// carte / Python (goal ≥ 20).
        public var ratio: Double?
        /// Both programs wrote the same bytes.
        public var outputsIdentical: Bool?
        public var python: String?
        public var skippedPython: String?

        public var json: [String: Any] {
            var j: [String: Any] = [
                "rows": rows, "inputBytes": inputBytes, "carteRowsPerSecond": carteRowsPerSecond.rounded(),
                "carteSeconds": FlowFigures.round3(carteSeconds), "goal": 20,
            ]
            j["pythonRowsPerSecond"] = pythonRowsPerSecond.map { $0.rounded() } ?? NSNull()
            j["pythonSeconds"] = pythonSeconds.map(FlowFigures.round3) ?? NSNull()
            j["ratio"] = ratio.map { ($0 * 100).rounded() / 100 } ?? NSNull()
            j["outputsIdentical"] = outputsIdentical ?? NSNull()
            j["python"] = python ?? NSNull()
            if let skippedPython { j["pythonSkipped"] = skippedPython }
            return j
        }
    }

    /// First names of the generated rows (ASCII, mixed case, compound and apostrophe forms).
    static let names = [
        "Thomas", "SOPHIE", "emma", "Lucas", "Jean-Pierre", "Marie Claire", "ANNE-SOPHIE", "Chloé", "Hélène", "D'Artagnan",
        "Maximilien", "ZOE", "Léa", "Noël", "Anaïs", "Jérôme", "Aurelie", "Louis", "Camille", "Gaëlle",
    ]

    /// The deterministic input: `rows` lines `prenom;AAAAMMJJ;NIR with key` (definitive NIRs, some Corsican).
    public static func generate(rows: Int, seed: UInt64 = 0x1A5C_0DE5) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rows * 48)
        var rng = SplitMix64(seed: seed)
        func next() -> UInt64 { rng.next() }
        func pad(_ v: UInt64, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        for _ in 0..<rows {
            let r = next()
            let name = names[Int(r % UInt64(names.count))]
            let year = 1930 + (r >> 8) % 90
            let month = 1 + (r >> 16) % 12
            let day = 1 + (r >> 20) % 28
            let sex = 1 + (r >> 25) % 2
            let corsica = (r >> 27) % 50 == 0
            let dept = corsica ? ((r >> 28) % 2 == 0 ? "2A" : "2B") : pad(1 + (r >> 28) % 95 == 20 ? 21 : 1 + (r >> 28) % 95, 2)
            let commune = 1 + (r >> 36) % 990
            let order = 1 + (r >> 46) % 999
            let body = "\(sex)\(pad(year % 100, 2))\(pad(month, 2))\(dept)\(pad(commune, 3))\(pad(order, 3))"
            let numeric = UInt64(body.replacingOccurrences(of: "2A", with: "19").replacingOccurrences(of: "2B", with: "18"))!
            let key = 97 - numeric % 97
            out += Array("\(name);\(year)\(pad(month, 2))\(pad(day, 2));\(body)\(pad(key, 2))\n".utf8)
        }
        return out
    }

    /// Runs of each implementation; each figure is the best of them.
    public static let passes = 3

    /// Runs both implementations over `rows` generated rows in a temporary directory.
    /// - Parameters:
    ///   - pythonScript: the reference script (default: the bundled `insc_batch.py`).
    /// - Throws: `BenchError.helperFailed` when the temporary files cannot be written or read.
    public static func run(rows: Int = 1_000_000, pythonScript: URL? = nil) throws(BenchError) -> Figures {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("carte-bench-\(getpid())")
        let input = dir.appendingPathComponent("rows.csv")
        let carteOut = dir.appendingPathComponent("carte.out")
        let pythonOut = dir.appendingPathComponent("python.out")
        let data = generate(rows: rows)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(data).write(to: input)
        } catch {
            throw .helperFailed("cannot write the INS-C benchmark input in \(dir.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: dir) }

        // carte: the same streaming code as `carte ins insc --batch FILE`, file to file. Each side's figure is its
        // best of `passes` runs (the first one also pays for the page cache and the output file's blocks).
        var carteSeconds = Double.infinity
        var summary = INSCBatchSummary()
        for _ in 0..<passes {
            let inFD = open(input.path, O_RDONLY)
            let outFD = open(carteOut.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard inFD >= 0, outFD >= 0 else { throw .helperFailed("cannot open the INS-C benchmark files") }
            var src = FileDescriptorBatchInput(fd: inFD)
            var dst = FileDescriptorBatchOutput(fd: outFD)
            let clock = ContinuousClock()
            let start = clock.now
            do { summary = try INSCBatch.process(input: &src, output: &dst) } catch {
                close(inFD); close(outFD)
                throw .helperFailed("INS-C batch failed: \(error.description)")
            }
            let elapsed = clock.now - start
            close(inFD)
            close(outFD)
            carteSeconds = min(carteSeconds, seconds(elapsed))
        }
        guard summary.computed == rows else {
            throw .helperFailed("INS-C batch computed \(summary.computed) of \(rows) generated rows")
        }
        var f = Figures(
            rows: rows, inputBytes: data.count, carteRowsPerSecond: Double(rows) / carteSeconds,
            carteSeconds: carteSeconds)

        // Python + hashlib, same file, self-timed (interpreter start-up excluded).
        guard let script = pythonScript ?? Bundle.module.url(forResource: "insc_batch", withExtension: "py") else {
            f.skippedPython = "the reference script insc_batch.py is not in the bundle"
            return f
        }
        guard let python = findExecutable("python3") else {
            f.skippedPython = "python3 not found on PATH"
            return f
        }
        var pySeconds = Double.infinity
        for _ in 0..<passes {
            let run = runProcess(python, [script.path, input.path, pythonOut.path])
            guard run.status == 0, let line = run.stdout.split(separator: "\n").last,
                let secondsField = line.split(separator: " ").first(where: { $0.hasPrefix("seconds=") }),
                let seconds = Double(secondsField.dropFirst("seconds=".count)), seconds > 0
            else {
                f.skippedPython = "python3 failed (status \(run.status)): \(run.stderr.prefix(200))"
                return f
            }
            pySeconds = min(pySeconds, seconds)
        }
        f.pythonSeconds = pySeconds
        f.pythonRowsPerSecond = Double(rows) / pySeconds
        f.ratio = f.carteRowsPerSecond / (Double(rows) / pySeconds)
        f.python = runProcess(python, ["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let a = FileManager.default.contents(atPath: carteOut.path)
        let b = FileManager.default.contents(atPath: pythonOut.path)
        f.outputsIdentical = a != nil && a == b
        return f
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// The first `name` on PATH that is executable.
func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let p = "\(dir)/\(name)"
        if access(p, X_OK) == 0 { return p }
    }
    return nil
}

/// Runs a program to completion and returns its status and output.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil)
    -> (status: Int32, stdout: String, stderr: String)
{
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    do { try p.run() } catch { return (-1, "", "\(error)") }
    // Read before waiting so a full pipe never blocks the child.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
