import CardSimulator
import Dispatch
import Foundation
import ISO7816
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
    "Fault-injection matrix: pcscd killed (e2e)", .serialized,
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

    /// A flow of the matrix run as a `carte` subprocess against the private pcscd.
    enum Flow: String, CaseIterable, CustomStringConvertible, Sendable {
        case vitaleRead, cpsAuthentication
        var description: String { rawValue }
        var persona: String { self == .vitaleRead ? "vitale2-bernard-family" : "cps3-durand" }
        /// APDUs of the clean run through pcscd (k is drawn in 1...apdus).
        var apdus: Int { self == .vitaleRead ? 8 : 27 }
        var arguments: [String] {
            switch self {
            case .vitaleRead:
                return ["read", "--transport", "pcsc", "--reader", "Virtual PCD 00 00", "--json", "--care-date", "20260115"]
            case .cpsAuthentication:
                return ["auth", "--transport", "pcsc", "--reader", "Virtual PCD 00 00", "--json", "--test-pki", "--pin-stdin"]
            }
        }
        /// What the subprocess reads on stdin: the synthetic persona's PIN for the authentication.
        var stdin: String {
            guard self == .cpsAuthentication, case .professional(let p)? = try? PersonaCatalog.persona(persona) else { return "" }
            return String(decoding: p.pin.asciiBytes, as: UTF8.self) + "\n"
        }
    }

    /// Runs `flow` against the private pcscd, at most 60 s.
    static func run(_ flow: Flow, socket: String) async -> (status: Int32, stderr: String, signalled: Bool) {
        let p = Process()
        p.executableURL = root.appendingPathComponent(".build/debug/carte")
        p.arguments = flow.arguments
        var env = ProcessInfo.processInfo.environment
        env["PCSCLITE_CSOCK_NAME"] = socket
        p.environment = env
        let err = Pipe()
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        guard (try? p.run()) != nil else { return (-1, "cannot run carte", false) }
        try? input.fileHandleForWriting.write(contentsOf: Array(flow.stdin.utf8))
        try? input.fileHandleForWriting.close()
        for _ in 0..<600 where p.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if p.isRunning {
            p.terminate()
            return (-2, "carte \(flow.arguments[0]) hung for 60 s", false)
        }
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (p.terminationStatus, e, p.terminationReason == .uncaughtSignal)
    }

    static func runUntilSuccess(_ flow: Flow, socket: String) async -> Bool {
        for _ in 0..<20 {
            if await run(flow, socket: socket).status == 0 { return true }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    @Test(
        "carte read / carte auth when pcscd dies at APDU k: exit 3 with one line, never a hang; the next run after a restart works",
        arguments: Flow.allCases)
    func flowWithPCSCDKilled(_ flow: Flow) async throws {
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
        try client.insert(try PersonaCatalog.makeCard(persona: flow.persona))
        #expect(await Self.runUntilSuccess(flow, socket: socket), "the clean \(flow) through the private pcscd failed")

        var rng = SplitMix64(seed: flow == .vitaleRead ? 0x9C5C_D026 : 0xC95A_0127)
        var cells = 0
        var outcomes: [String] = []
        for _ in 0..<3 {
            let k = 1 + Int(rng.next() % UInt64(flow.apdus))
            cells += 1
            trigger.arm(k)
            let r = await Self.run(flow, socket: socket)
            #expect(!r.signalled, "k=\(k): carte \(flow.arguments[0]) crashed")
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
            // For the authentication this also shows the PIN counter intact: the right PIN is accepted again.
            #expect(await Self.runUntilSuccess(flow, socket: socket), "k=\(k): no successful \(flow) after pcscd restarted")
        }
        print("fault matrix: pcscd killed during \(flow), \(cells) cells (\(outcomes.joined(separator: ", "))), all ended cleanly")
    }
}
