import Foundation

/// The `host` figure of `carte bench`: per-APDU round trip through pcscd + vpcd (a simulated card attached with
/// `carte simulate --vpcd`), median of many, for a C program doing the bare `SCardTransmit` loop
/// (`C/pcsc_loop.c`, compiled here with `cc … -lpcsclite`), for Debian's python3-pyscard, and for our Swift stack;
/// reported as ratios measured in the same run (goal: ours ≤ 1.10 × C).
///
/// Runs only when pcscd is reachable the way the e2e environment sets it up: `PCSCLITE_CSOCK_NAME` set and a
/// reader holding a card (`CARTE_BENCH_READER` names it; default: the first reader with a card). Otherwise
/// `{"skipped": "<why>"}`.
public enum HostBenchmark {
    /// Round trips per implementation.
    public static let count = 2000
    /// The APDU sent: SELECT MF by FID, `00 A4 00 0C 02 3F 00` (answered `90 00` by every simulated card).
    public static let apduHex = "00A4000C023F00"

    public static func run() -> [String: Any] {
        let env = ProcessInfo.processInfo.environment
        guard let socket = env["PCSCLITE_CSOCK_NAME"], !socket.isEmpty else {
            return ["skipped": "PCSCLITE_CSOCK_NAME is not set: no pcscd + vpcd environment (run scripts/pcscd-vpcd.sh start and carte simulate --vpcd)"]
        }
        guard let cc = findExecutable("cc") else { return ["skipped": "no C compiler (cc) on PATH"] }
        guard let source = Bundle.module.url(forResource: "pcsc_loop", withExtension: "c") else {
            return ["skipped": "pcsc_loop.c is not in the bundle"]
        }
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("carte-pcsc-loop-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: binary) }
        let cflags = runProcess(findExecutable("pkg-config") ?? "/usr/bin/pkg-config", ["--cflags", "libpcsclite"])
            .stdout.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
        let build = runProcess(cc, ["-O2"] + cflags + [source.path, "-lpcsclite", "-o", binary])
        guard build.status == 0 else { return ["skipped": "cc could not build pcsc_loop.c: \(build.stderr.prefix(300))"] }
        guard let reader = env["CARTE_BENCH_READER"] ?? firstReaderWithCard(python: findExecutable("python3")) else {
            return ["skipped": "pcscd at \(socket) has no reader holding a card (attach one with carte simulate --vpcd)"]
        }
        var out: [String: Any] = ["reader": reader, "roundTrips": count, "apdu": apduHex]
        let c = runProcess(binary, [reader, String(count), apduHex])
        guard c.status == 0, let cNs = field(c.stdout, "median_ns") else {
            return ["skipped": "the C loop failed: \(c.stderr.prefix(300))"]
        }
        out["cMedianMicroseconds"] = cNs / 1000
        if let py = findExecutable("python3") {
            let p = runProcess(py, ["-c", pyscardLoop, reader, String(count), apduHex])
            if p.status == 0, let pyNs = field(p.stdout, "median_ns") {
                out["pyscardMedianMicroseconds"] = pyNs / 1000
                out["pyscardToC"] = (pyNs / cNs * 100).rounded() / 100
            } else {
                out["pyscardSkipped"] = "python3-pyscard failed: \(p.stderr.prefix(200))"
            }
        }
        out["swift"] = ["skipped": "our PC/SC binding (branch pcsc) is not in this build"]
        out["goal"] = "swift ≤ 1.10 × C"
        return out
    }

    static func field(_ text: String, _ name: String) -> Double? {
        for part in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) where part.hasPrefix(name + "=") {
            return Double(part.dropFirst(name.count + 1))
        }
        return nil
    }

    /// The same loop with pyscard (`smartcard.System.readers`, `createConnection`, `transmit`).
    static let pyscardLoop = """
        import sys, time
        from smartcard.System import readers
        name, count, apdu = sys.argv[1], int(sys.argv[2]), list(bytes.fromhex(sys.argv[3]))
        r = [x for x in readers() if str(x) == name][0]
        c = r.createConnection(); c.connect()
        t = []
        for _ in range(count):
            s = time.perf_counter_ns(); c.transmit(apdu); t.append(time.perf_counter_ns() - s)
        t.sort(); print("median_ns=%d min_ns=%d count=%d" % (t[count // 2], t[0], count))
        """

    static func firstReaderWithCard(python: String?) -> String? {
        guard let python else { return nil }
        let script = """
            from smartcard.System import readers
            for r in readers():
                try:
                    c = r.createConnection(); c.connect(); print(str(r)); break
                except Exception:
                    pass
            """
        let r = runProcess(python, ["-c", script])
        let name = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return r.status == 0 && !name.isEmpty ? name : nil
    }
}
