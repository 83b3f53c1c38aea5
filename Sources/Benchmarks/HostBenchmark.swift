import CPS
import CardSimulator
import Foundation
import ISO7816
import PCSC
import VirtualPCD

#if canImport(Glibc)
    import Glibc
#endif

/// The figures measured through the real pcscd + vpcd (issue 9): `host` (per-APDU round trip for our Swift
/// stack — `PCSCCard.transmit` in a `withSession`, plus, for information, the same APDU through `APDUChannel` in a
/// session and a lone `transmit` from a pool task —, a C program doing the bare `SCardTransmit` loop, and python3-pyscard; median of many, ratios in the same
/// run; goal ours ≤ 1.10 × C) and `peers` (OpenSC's pkcs11-tool "list certificates, log in, sign" vs our stack on
/// the same simulated CPS3; APDUs and bytes from the simulator's transcript; goal ours ≤ 0.6 × OpenSC's APDUs).
///
/// Needs the e2e environment: `PCSCLITE_CSOCK_NAME` set (`scripts/pcscd-vpcd.sh start`) and vpcd listening on
/// `CARTE_VPCD_PORT` (default 35963) with no card attached: the bench attaches its own simulated card there
/// (`VPCDSlotClient`, in this process, so it sees every APDU), as "Virtual PCD 00 00" (`CARTE_BENCH_READER` to
/// override the name). Otherwise each figure is `{"skipped": "<why>"}`.
public enum HostBenchmark {
    /// Round trips per implementation.
    public static let count = 1000
    /// The APDU sent: SELECT MF by FID, `00 A4 00 0C 02 3F 00` (answered `90 00` by the simulated cards).
    public static let apdu: [UInt8] = [0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00]

    /// Counts the simulator's exchanges (the vpcd transcript hook runs on the slot thread).
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var apdus = 0
        private var toCard = 0
        private var fromCard = 0
        func add(_ e: VPCDTranscriptEntry) {
            guard case .exchange(let c, let r) = e else { return }
            lock.lock()
            apdus += 1
            toCard += c.count
            fromCard += r.count
            lock.unlock()
        }
        func reset() {
            lock.lock()
            (apdus, toCard, fromCard) = (0, 0, 0)
            lock.unlock()
        }
        var figures: (apdus: Int, toCard: Int, fromCard: Int) {
            lock.lock()
            defer { lock.unlock() }
            return (apdus, toCard, fromCard)
        }
    }

    /// Why the pcscd figures cannot run here, or nil.
    static func unavailable() -> String? {
        let env = ProcessInfo.processInfo.environment
        guard let socket = env["PCSCLITE_CSOCK_NAME"], !socket.isEmpty else {
            return "PCSCLITE_CSOCK_NAME is not set: no pcscd + vpcd environment (eval \"$(scripts/pcscd-vpcd.sh start)\")"
        }
        return nil
    }

    static var port: Int { Int(ProcessInfo.processInfo.environment["CARTE_VPCD_PORT"] ?? "") ?? 35963 }
    static var readerName: String { ProcessInfo.processInfo.environment["CARTE_BENCH_READER"] ?? "Virtual PCD 00 00" }

    /// Attaches a fresh card of `persona` to vpcd and waits until pcscd lets us connect to it.
    static func attach(_ persona: String, counter: Counter) async -> (VPCDSlotClient, PCSCCard)? {
        guard let card = try? PersonaCatalog.makeCard(persona: persona) else { return nil }
        let client = VPCDSlotClient(port: port, transcript: { counter.add($0) })
        guard (try? client.insert(card)) != nil else { return nil }
        // pcscd polls vpcd about every 400 ms; a card removed just before may still be reported for a moment, so
        // the card counts as there once an APDU went through, twice in a row half a second apart.
        var answered = 0
        for _ in 0..<60 {
            let t = PCSCCard(readerName: readerName)
            if (try? await t.connect(preferred: [.t0, .t1])) != nil, (try? await t.transmit(apdu)) != nil {
                answered += 1
                if answered == 2 {
                    counter.reset()
                    return (client, t)
                }
            } else {
                answered = 0
            }
            await t.disconnect(.leave)
            try? await Task.sleep(for: .milliseconds(500))
        }
        client.stop()
        return nil
    }

    /// A `carte simulate --persona … --vpcd PORT` child process serving the card.
    final class ExternalCard: @unchecked Sendable {
        let process: Process
        let input: Pipe
        let card: PCSCCard
        init(process: Process, input: Pipe, card: PCSCCard) {
            self.process = process
            self.input = input
            self.card = card
        }
        func stop() {
            // Writing to a child that already exited would raise SIGPIPE (carte bench ignores it; see BenchCommand).
            if process.isRunning { try? input.fileHandleForWriting.write(contentsOf: Array("quit\n".utf8)) }
            for _ in 0..<50 where process.isRunning { usleep(100_000) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    /// Starts `carte simulate` for `persona` on vpcd's port and waits until pcscd lets us connect to its card; nil
    /// when this executable is not `carte` or the card never appears.
    static func attachExternal(_ persona: String) async -> ExternalCard? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"), exe.hasSuffix("/carte")
        else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["simulate", "--persona", persona, "--vpcd", String(port)]
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        var answered = 0
        for _ in 0..<60 {
            let t = PCSCCard(readerName: readerName)
            if (try? await t.connect(preferred: [.t0, .t1])) != nil, (try? await t.transmit(apdu)) != nil {
                answered += 1
                if answered == 2 { return ExternalCard(process: p, input: input, card: t) }
            } else {
                answered = 0
            }
            await t.disconnect(.leave)
            try? await Task.sleep(for: .milliseconds(500))
        }
        ExternalCard(process: p, input: input, card: PCSCCard(readerName: readerName)).stop()
        return nil
    }

    static func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }

    /// Rounds: each implementation runs `count` round trips once per round, one after the other, so a change in the
    /// machine's load hits all of them; a figure is the median of its per-round medians.
    public static let rounds = 5
    /// Unmeasured round trips before the first round (pcscd's and the simulator's first contact).
    static let warmUp = 100

    /// `count` round trips of `send`, each timed with ContinuousClock; nanoseconds. Runs in the caller's isolation
    /// (inside a session: on the card's thread).
    static func timed(isolation: isolated (any Actor)? = #isolation, _ send: () async throws -> Void) async rethrows
        -> [Double]
    {
        let clock = ContinuousClock()
        var t: [Double] = []
        t.reserveCapacity(count)
        for _ in 0..<count {
            let s = clock.now
            try await send()
            t.append(INSCBatchBenchmark.seconds(clock.now - s) * 1e9)
        }
        return t
    }

    /// Runs `measure` again once when another application reset the card under it (`cardReset`: the binding has
    /// already reconnected; SELECT MF needs no set-up). pcscd may be shared with other test runs.
    static func againAfterReset<T>(isolation: isolated (any Actor)? = #isolation, _ measure: () async throws -> T)
        async throws -> T
    {
        do {
            return try await measure()
        } catch TransportError.cardReset {
            return try await measure()
        } catch CardError.transport(.cardReset) {
            return try await measure()
        }
    }

    static func microseconds(_ ns: Double) -> Double { (ns / 10).rounded() / 100 }
    static func ratio(_ a: Double, _ b: Double) -> Double { (a / b * 100).rounded() / 100 }

    /// The `host` figure.
    ///
    /// - `swift`: `PCSCCard.transmit` inside `withSession(transaction: false)` (no PC/SC transaction, like the C
    ///   loop): the card's thread runs the loop, no hop per APDU. This is the figure against the goal.
    /// - `swiftPipeline`: `APDUChannel.send` (SELECT as a `CommandAPDU`) over the same card in a session.
    /// - `swiftUnscoped`: a lone `transmit` from a task on the cooperative pool (a hop to the card's thread and back).
    /// - `c`: `C/pcsc_loop.c` compiled here with `cc -O2`; `pyscard`: python3-pyscard's `transmit`.
    public static func run() async -> [String: Any] {
        if let why = unavailable() { return ["skipped": why] }
        // The card is served by a `carte simulate` process of its own when this executable is `carte`, so that
        // every implementation (this process, the C loop, pyscard) reaches it across processes alike; else in
        // this process (the in-process card answers our own loop faster than the others').
        let counter = Counter()
        let external = await attachExternal("vitale2-bernard-family")
        var inProcess: (VPCDSlotClient, PCSCCard)?
        if external == nil { inProcess = await attach("vitale2-bernard-family", counter: counter) }
        guard let transport = external?.card ?? inProcess?.1 else {
            return ["skipped": "no card reachable through pcscd as '\(readerName)' after attaching one to vpcd port \(port)"]
        }
        defer {
            inProcess?.0.stop()
            external?.stop()
        }
        var out: [String: Any] = [
            "reader": readerName, "roundTrips": count, "rounds": rounds, "apdu": apdu.hexString(),
            "card": external != nil ? "carte simulate (separate process)" : "in this process",
            "method": "per implementation, the median of \(rounds) per-round medians of \(count) round trips; rounds interleave the implementations",
        ]
        let apdu = Self.apdu
        let command = CommandAPDU(ins: 0xA4, p1: 0x00, p2: 0x0C, data: [0x3F, 0x00])
        guard let channel = try? await APDUChannel.connect(transport, preferred: [.t0, .t1]),
            (try? await againAfterReset {
                try await transport.withSession(transaction: false) { card -> Int in
                    for _ in 0..<warmUp { _ = try await card.transmit(apdu) }
                    return warmUp
                }
            }) != nil
        else { return ["skipped": "SCardTransmit failed through our stack"] }
        let cBinary = buildCLoop()
        if cBinary == nil { out["cSkipped"] = "cc -lpcsclite could not build Benchmarks/C/pcsc_loop.c" }
        defer { if let cBinary { try? FileManager.default.removeItem(atPath: cBinary) } }
        // python3-pyscard: Debian's interpreter (/usr/bin/python3), where the python3-pyscard package installs.
        let python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : findExecutable("python3")

        var perRound: [String: [Double]] = [:]
        for _ in 0..<rounds {
            do {
                let session = try await againAfterReset {
                    try await transport.withSession(transaction: false) { card in
                        try await timed { _ = try await card.transmit(apdu) }
                    }
                }
                perRound["swift", default: []].append(median(session))
                let pipeline = try await againAfterReset {
                    try await transport.withSession(transaction: false) { _ in
                        try await timed { _ = try await channel.send(command) }
                    }
                }
                perRound["swiftPipeline", default: []].append(median(pipeline))
                let unscoped = try await againAfterReset { try await timed { _ = try await transport.transmit(apdu) } }
                perRound["swiftUnscoped", default: []].append(median(unscoped))
            } catch {
                return ["skipped": "SCardTransmit failed through our stack: \(error)"]
            }
            if let cBinary {
                let r = runProcess(cBinary, [readerName, String(count), apdu.hexString()])
                if r.status == 0, let c = field(r.stdout, "median_ns") { perRound["c", default: []].append(c) }
            }
            if let python {
                let p = runProcess(python, ["-c", pyscardLoop, readerName, String(count), apdu.hexString()])
                if p.status == 0, let py = field(p.stdout, "median_ns") {
                    perRound["pyscard", default: []].append(py)
                } else {
                    out["pyscardSkipped"] = "python3-pyscard failed: \(p.stderr.suffix(200))"
                }
            }
        }
        await transport.disconnect(.leave)

        var figure: [String: Double] = [:]
        for (name, medians) in perRound where medians.count == rounds {
            figure[name] = median(medians)
            out[name + "MedianMicroseconds"] = microseconds(median(medians))
        }
        if let c = figure["c"] {
            for name in ["swift", "swiftPipeline", "swiftUnscoped", "pyscard"] {
                if let v = figure[name] { out[name + "ToC"] = ratio(v, c) }
            }
            if let s = perRound["swift"], let cs = perRound["c"], s.count == cs.count {
                let r = zip(s, cs).map { $0 / $1 }
                out["swiftToCRoundRange"] = [ratio(r.min()!, 1), ratio(r.max()!, 1)]
            }
        } else if out["cSkipped"] == nil {
            out["cSkipped"] = "the C loop failed through pcscd"
        }
        out["goal"] = "swiftToC ≤ 1.10"
        out["build"] = CarteBench.buildConfiguration
        return out
    }

    /// Compiles `C/pcsc_loop.c` (`cc -O2`, `pkg-config --cflags libpcsclite`, `-lpcsclite`) into a temporary file.
    /// - Returns: the binary's path (the caller removes it), or nil when there is no compiler or it fails.
    static func buildCLoop() -> String? {
        guard let cc = findExecutable("cc"), let source = Bundle.module.url(forResource: "pcsc_loop", withExtension: "c")
        else { return nil }
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("carte-pcsc-loop-\(getpid())").path
        let cflags = runProcess(findExecutable("pkg-config") ?? "/usr/bin/pkg-config", ["--cflags", "libpcsclite"])
            .stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard runProcess(cc, ["-O2"] + cflags + [source.path, "-lpcsclite", "-o", binary]).status == 0 else { return nil }
        return binary
    }

    static func field(_ text: String, _ name: String) -> Double? {
        for part in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) where part.hasPrefix(name + "=") {
            return Double(part.dropFirst(name.count + 1))
        }
        return nil
    }

    /// The same loop with pyscard (`smartcard.System.readers`, `createConnection`, `transmit`). It leaves the card
    /// as it is on disconnect, like the C loop (pyscard's default, SCARD_UNPOWER_CARD, would reset the card under the
    /// next round's connections).
    static let pyscardLoop = """
        import sys, time
        from smartcard.System import readers
        from smartcard.scard import SCARD_LEAVE_CARD
        name, count, apdu = sys.argv[1], int(sys.argv[2]), list(bytes.fromhex(sys.argv[3]))
        r = [x for x in readers() if str(x) == name][0]
        c = r.createConnection(); c.connect(disposition=SCARD_LEAVE_CARD)
        t = []
        for _ in range(count):
            s = time.perf_counter_ns(); c.transmit(apdu); t.append(time.perf_counter_ns() - s)
        c.disconnect()
        t.sort(); print("median_ns=%d min_ns=%d count=%d" % (t[count // 2], t[0], count))
        """

    // MARK: Peers

    /// The `peers` figure: "list certificates, log in, sign" (RSA-PKCS over a SHA-256 DigestInfo with the
    /// authentication key) with pkcs11-tool + OpenSC's PKCS#11 module, then with our stack (`CPSSession` over
    /// `PCSCCard`: certificates, VERIFY, INTERNAL AUTHENTICATE), each on a fresh `cps3-durand` card.
    public static func peers() async -> [String: Any] {
        if let why = unavailable() { return ["skipped": why] }
        let module = ProcessInfo.processInfo.environment["CARTE_OPENSC_PKCS11"] ?? "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
        guard let tool = findExecutable("pkcs11-tool"), FileManager.default.fileExists(atPath: module) else {
            return ["skipped": "pkcs11-tool or \(module) not installed (Debian package opensc)"]
        }
        guard case .professional(let persona)? = try? PersonaCatalog.persona("cps3-durand") else {
            return ["skipped": "persona cps3-durand not found"]
        }
        let pin = String(decoding: persona.pin.asciiBytes, as: UTF8.self)
        // DigestInfo(SHA-256) of a fixed message (RFC 8017 §9.2 note 1).
        let digestInfo: [UInt8] = [0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
            0x05, 0x00, 0x04, 0x20] + [UInt8](repeating: 0x5A, count: 32)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("carte-peers-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("di.bin")
        try? Data(digestInfo).write(to: input)
        var out: [String: Any] = [
            "flow": "list certificates (pkcs15-tool -r 0 --list-certificates), log in and sign (pkcs11-tool --login --sign RSA-PKCS, authentication key)"
        ]

        // OpenSC. pkcs15-tool resets the card when it disconnects; pkcs11-tool started at once can meet the card in
        // the middle of that reset through vpcd ("Card is invalid or cannot be handled"): pcscd is given a moment
        // between the two, and the measurement is taken again on a fresh card once if OpenSC still failed.
        let aut = "e828bd080f8025000001ff001002"
        for attempt in 1...2 {
            let counter = Counter()
            guard let (client, t) = await attach("cps3-durand", counter: counter) else {
                return ["skipped": "no card reachable through pcscd as '\(readerName)' after attaching one to vpcd port \(port)"]
            }
            await t.disconnect(.leave)
            counter.reset()
            // As scripts/opensc-checks.sh measures it: pkcs15-tool lists the certificates, pkcs11-tool logs in and signs.
            let p1 = runProcess(findExecutable("pkcs15-tool") ?? "/usr/bin/pkcs15-tool", ["-r", "0", "--list-certificates"])
            try? await Task.sleep(for: .milliseconds(500))
            let p2 = runProcess(tool, ["--module", module, "--login", "--pin", pin, "--sign", "--mechanism", "RSA-PKCS",
                "--id", aut, "-i", input.path, "-o", dir.appendingPathComponent("sig.bin").path])
            let opensc = counter.figures
            client.stop()
            if p1.status != 0 || p2.status != 0 {
                out["openscSkipped"] = "OpenSC failed (attempt \(attempt)): \((p1.stderr + p2.stderr).suffix(300))"
                try? await Task.sleep(for: .milliseconds(800))
                continue
            }
            out["openscSkipped"] = nil
            out["opensc"] = ["apdus": opensc.apdus, "bytesToCard": opensc.toCard, "bytesFromCard": opensc.fromCard,
                "invocations": 2, "attempts": attempt]
            break
        }
        try? await Task.sleep(for: .milliseconds(800))

        // Ours.
        let ours = Counter()
        guard let (client2, t2) = await attach("cps3-durand", counter: ours) else {
            out["oursSkipped"] = "the second card did not appear in pcscd"
            return out
        }
        defer { client2.stop() }
        await t2.disconnect(.leave)
        ours.reset()
        do {
            let card = PCSCCard(readerName: readerName)
            let s = try await CPSSession.connect(card, certificateCache: CPSCertificateCache())
            _ = try await s.readCertificates()
            var pinBytes = persona.pin.asciiBytes
            guard let secret = SecretPIN(consuming: &pinBytes) else { throw CPSError.invalidPINFormat("pin") }
            guard case .verified = try await s.verify(pin: secret) else { throw CPSError.invalidPINFormat("refused") }
            _ = try await s.internalAuthenticate(digestInfo)
            await card.disconnect(.leave)
        } catch {
            out["oursSkipped"] = "our flow failed through pcscd: \(error)"
            return out
        }
        let o = ours.figures
        out["ours"] = ["apdus": o.apdus, "bytesToCard": o.toCard, "bytesFromCard": o.fromCard]
        if let opensc = out["opensc"] as? [String: Int], let apdus = opensc["apdus"], apdus > 0 {
            out["apduRatio"] = (Double(o.apdus) / Double(apdus) * 100).rounded() / 100
        }
        out["goal"] = "apduRatio ≤ 0.6"
        return out
    }
}
