import CardSimulator
import Dispatch
import Foundation
import Testing
import VirtualPCD

/// The "pcscd killed at a random point" column of the fault-injection matrix (issue 9), through the real pcscd +
/// vpcd. Opt-in (`CARTE_E2E_PCSCD_KILL=1`, root or user namespaces, a built `carte`): it starts its OWN private
/// pcscd (`scripts/pcscd-vpcd.sh` with its own directory and vpcd port, so the e2e pcscd of the other tests is never
/// touched), attaches `vitale2-bernard-family` through vpcd in this process, and runs `carte read` as a subprocess
/// (its own `PCSCLITE_CSOCK_NAME`); the vpcd transcript hook stops pcscd when APDU k arrives, k drawn with a fixed
/// seed. Each time: `carte read` ends (no hang) with exit 3 and one `carte: …` line (or exit 0 when the read was
/// already complete), and after pcscd is started again the next read succeeds.
@Suite(
    "Fault-injection matrix: pcscd killed (e2e)",
    .enabled(if: ProcessInfo.processInfo.environment["CARTE_E2E_PCSCD_KILL"] == "1"))
struct PCSCDKilledTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let port = 37963
    static let dir = "/tmp/carte-pcscd-kill-\(getpid())"

    final class Trigger: @unchecked Sendable {
        let lock = NSLock()
        var count = 0
        var killAt = Int.max
        var fired = false
        /// Signalled when the stop script launched by the hook has finished.
        let stopped = DispatchSemaphore(value: 0)
        var didFire: Bool {
            lock.lock()
            defer { lock.unlock() }
            return fired
        }
        func exchange() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            count += 1
            if count == killAt && !fired {
                fired = true
                return true
            }
            return false
        }
        func arm(_ k: Int) {
            lock.lock()
            count = 0
            killAt = k
            fired = false
            lock.unlock()
        }
    }

    static func script(_ verb: String) -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [root.appendingPathComponent("scripts/pcscd-vpcd.sh").path, verb]
        var env = ProcessInfo.processInfo.environment
        env["CARTE_PCSCD_DIR"] = dir
        env["CARTE_VPCD_PORT"] = String(port)
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return (-1, "") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs `carte read --reader "Virtual PCD 00 00" --json` against the private pcscd, at most 60 s.
    static func read(socket: String) async -> (status: Int32, stderr: String, signalled: Bool) {
        let p = Process()
        p.executableURL = root.appendingPathComponent(".build/debug/carte")
        p.arguments = ["read", "--transport", "pcsc", "--reader", "Virtual PCD 00 00", "--json", "--care-date", "20260115"]
        var env = ProcessInfo.processInfo.environment
        env["PCSCLITE_CSOCK_NAME"] = socket
        p.environment = env
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        guard (try? p.run()) != nil else { return (-1, "cannot run carte", false) }
        for _ in 0..<600 where p.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if p.isRunning {
            p.terminate()
            return (-2, "carte read hung for 60 s", false)
        }
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (p.terminationStatus, e, p.terminationReason == .uncaughtSignal)
    }

    static func readUntilSuccess(socket: String) async -> Bool {
        for _ in 0..<20 {
            if await read(socket: socket).status == 0 { return true }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    @Test("carte read when pcscd dies at APDU k: exit 3 with one line, never a hang; the next read after a restart works")
    func vitaleReadWithPCSCDKilled() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.root.appendingPathComponent(".build/debug/carte").path) else {
            Issue.record("build carte first (swift build)")
            return
        }
        let started = Self.script("start")
        defer { _ = Self.script("stop") }
        guard started.status == 0, let line = started.out.split(separator: "\n").first(where: { $0.hasPrefix("export PCSCLITE_CSOCK_NAME=") })
        else {
            Issue.record("the private pcscd did not start")
            return
        }
        let socket = String(line.dropFirst("export PCSCLITE_CSOCK_NAME=".count))
        let trigger = Trigger()
        let dirCopy = Self.dir, portCopy = Self.port
        let client = VPCDSlotClient(port: Self.port, transcript: { entry in
            guard case .exchange = entry, trigger.exchange() else { return }
            // Stop pcscd right here, on the slot thread: the card's answer (or its next one) waits until pcscd is
            // gone, so the kill lands in the middle of the flow.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [PCSCDKilledTests.root.appendingPathComponent("scripts/pcscd-vpcd.sh").path, "stop"]
            var env = ProcessInfo.processInfo.environment
            env["CARTE_PCSCD_DIR"] = dirCopy
            env["CARTE_VPCD_PORT"] = String(portCopy)
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try? p.run()
            p.waitUntilExit()
            trigger.stopped.signal()
        })
        defer { client.stop() }
        try client.insert(try PersonaCatalog.makeCard(persona: "vitale2-bernard-family"))
        #expect(await Self.readUntilSuccess(socket: socket), "the clean read through the private pcscd failed")

        var rng = SplitMix(seed: 0x9C5C_D026)
        var cells = 0
        var outcomes: [String] = []
        for _ in 0..<3 {
            let k = 1 + Int(rng.next() % 8)
            cells += 1
            trigger.arm(k)
            let r = await Self.read(socket: socket)
            #expect(!r.signalled, "k=\(k): carte read crashed")
            #expect(r.status == 3 || r.status == 0, "k=\(k): exit \(r.status): \(r.stderr)")
            outcomes.append("k=\(k) exit \(r.status) \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            if r.status == 3 {
                let lines = r.stderr.split(separator: "\n")
                #expect(lines.count == 1 && lines[0].hasPrefix("carte: "), "k=\(k): stderr \(r.stderr)")
            }
            // The stop launched at APDU k may still be running when a read that was already complete returns.
            if trigger.didFire { trigger.stopped.wait() }
            trigger.arm(.max)
            // pcscd back: the next read works.
            _ = Self.script("start")
            #expect(await Self.readUntilSuccess(socket: socket), "k=\(k): no successful read after pcscd restarted")
        }
        print("fault matrix: pcscd killed during vitaleRead, \(cells) cells (\(outcomes.joined(separator: ", "))), all ended cleanly")
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
