import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the built `carte` executable is, and how to run it as a child process.
///
/// The binary is looked up, in order: `$CARTE_BINARY` (alone, when set); next to the running test executable (`/proc/self/exe`,
/// `CommandLine.arguments[0]`, `Bundle.main`, any loaded `.xctest` bundle: the products directory of the current
/// build, e.g. `.build/x86_64-unknown-linux-gnu/debug/`); then `.build/debug/carte` relative to this source file.
/// `swift build --build-tests` builds the `carte` product into the same products directory as the test bundle.
enum CarteBinary {
    /// The candidates examined, in order (for the failure message).
    static var candidates: [URL] {
        var dirs: [URL] = []
        let env = ProcessInfo.processInfo.environment
        var out: [URL] = []
        // An explicit path is the only candidate: a wrong one must fail, not silently test another binary.
        if let explicit = env["CARTE_BINARY"], !explicit.isEmpty { return [URL(fileURLWithPath: explicit)] }
        #if os(Linux)
            if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                dirs.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
            }
        #endif
        if let arg0 = CommandLine.arguments.first, arg0.contains("/") {
            dirs.append(URL(fileURLWithPath: arg0).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        if let exe = Bundle.main.executableURL { dirs.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        dirs.append(Bundle.main.bundleURL)
        // macOS: the tests run inside `<products>/CartePackageTests.xctest`; its parent is the products directory.
        for b in Bundle.allBundles where b.bundleURL.pathExtension == "xctest" {
            dirs.append(b.bundleURL.deletingLastPathComponent())
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        dirs.append(packageRoot.appendingPathComponent(".build/debug"))
        out += dirs.map { $0.appendingPathComponent("carte") }
        var seen = Set<String>()
        return out.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }

    /// The first candidate that is an executable regular file, or `nil`.
    static let url: URL? = {
        for c in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: c.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: c.path)
            {
                return c
            }
        }
        return nil
    }()

    /// The message given when the binary cannot be found.
    static var missingMessage: String {
        "the built `carte` executable was not found; run `swift build --build-tests` first (or set CARTE_BINARY). "
            + "Looked at: " + candidates.map(\.path).joined(separator: ", ")
    }
}

/// One finished run of `carte`.
struct CarteRun: Sendable, CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    /// True when the child was killed because it outlived the timeout.
    var timedOut: Bool
    /// True when the child ended on a signal (a crash, or the timeout's SIGTERM/SIGKILL).
    var signalled: Bool
    var stdout: String
    var stderr: String
    /// Values that must never appear in the output (the PIN given on stdin with `--pin-stdin`).
    var secrets: [String] = []

    var stdoutLines: [String] { Self.lines(stdout) }
    var stderrLines: [String] { Self.lines(stderr) }

    static func lines(_ s: String) -> [String] {
        var l = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.last == "" { l.removeLast() }
        return l
    }

    /// The JSON document on stdout, as a dictionary (nil when stdout is not one JSON object).
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed])) as? [String: Any]
    }

    var description: String {
        "carte \(arguments.joined(separator: " ")) → exit \(status)\(timedOut ? " (TIMED OUT)" : "")"
            + "\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)"
    }
}

/// The SIGPIPE default would kill the test process if a child exits before reading its stdin.
private let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

/// Thread-safe byte accumulator for the pipe readers.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    func set(out d: Data) { lock.withLock { out = d } }
    func set(err d: Data) { lock.withLock { err = d } }
    var values: (Data, Data) { lock.withLock { (out, err) } }
}

/// Runs `carte` from the test process: stdin, stdout and stderr are pipes; the child environment gets a
/// non-existent `PCSCLITE_CSOCK_NAME`, so PC/SC never reaches a real pcscd; every run is scanned for secrets
/// (`SecretScan`).
enum Carte {
    /// A pcscd socket path that does not exist.
    static let absentPCSCSocket = "/nonexistent/carte-clitests/pcscd.comm"

    /// Runs `carte arguments…`, feeding `stdin` (or nothing: an empty, closed stdin), and waits at most
    /// `timeout` seconds (then SIGTERM, then SIGKILL after 2 s).
    /// - Throws: when the binary is missing (message says how to build it) or cannot be started.
    static func run(
        _ arguments: [String], stdin: String? = nil, timeout: TimeInterval = 60,
        environment extra: [String: String] = [:]
    ) throws -> CarteRun {
        _ = ignoreSIGPIPE
        guard let url = CarteBinary.url else { throw CarteBinaryMissing(message: CarteBinary.missingMessage) }
        let p = Process()
        p.executableURL = url
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["PCSCLITE_CSOCK_NAME"] = absentPCSCSocket
        env["CARTE_BINARY"] = nil
        for (k, v) in extra { env[k] = v }
        p.environment = env
        let inPipe = Pipe()
        let outPipe = Pipe()
        let errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()

        let collected = Collected()
        let group = DispatchGroup()
        let outHandle = outPipe.fileHandleForReading
        let errHandle = errPipe.fileHandleForReading
        DispatchQueue.global().async(group: group) { collected.set(out: outHandle.readDataToEndOfFile()) }
        DispatchQueue.global().async(group: group) { collected.set(err: errHandle.readDataToEndOfFile()) }
        let inHandle = inPipe.fileHandleForWriting
        let input = Data((stdin ?? "").utf8)
        DispatchQueue.global().async(group: group) {
            if !input.isEmpty { try? inHandle.write(contentsOf: input) }
            try? inHandle.close()
        }

        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while p.isRunning {
            if Date() > deadline {
                timedOut = true
                p.terminate()
                let killAt = Date().addingTimeInterval(2)
                while p.isRunning && Date() < killAt { usleep(10_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                break
            }
            usleep(5_000)
        }
        p.waitUntilExit()
        _ = group.wait(timeout: .now() + 10)
        let (o, e) = collected.values
        let run = CarteRun(
            arguments: arguments, status: p.terminationStatus, timedOut: timedOut,
            signalled: p.terminationReason == .uncaughtSignal,
            stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self),
            secrets: arguments.contains("--pin-stdin")
                ? (stdin ?? "").split(separator: "\n").prefix(1).map(String.init).filter { $0.count >= 4 } : [])
        SecretScan.check(run)
        return run
    }
}

struct CarteBinaryMissing: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
