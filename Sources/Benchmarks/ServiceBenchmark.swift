import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The `service` figure of `carte bench` (issue 9; goals ≤ 30 MB idle, growth ≤ 1 MB): `carte serve --simulate`
/// run as a subprocess on its three simulated readers, with its API on a private Unix socket and its audit log in a
/// temporary file.
///
/// * start-up time: from launching the process to its systemd `READY=1` (sd_notify on our `NOTIFY_SOCKET`);
/// * resident memory (`VmRSS` of /proc/PID/status) once ready and idle, and after `sessions` simulated card
///   sessions, each one `POST /v1/simulator/readers/{id}/insert {"persona": …}`, `GET /v1/readers` until the
///   reader shows the patient identified (or refused), then `…/remove`, on the first contact reader, driven over
///   one keep-alive HTTP/1.1 connection (`patientsIdentified` counts the complete sessions).
public enum ServiceBenchmark {
    public static func run(carte executable: String, sessions: Int = 10_000, persona: String = "vitale2-bernard-family")
        -> [String: Any]
    {
        let tmp = NSTemporaryDirectory()
        let tag = "carte-bench-\(getpid())"
        let notifyPath = tmp + tag + "-notify.sock"
        let apiPath = tmp + tag + "-api.sock"
        let dbPath = tmp + tag + "-audit.sqlite"
        defer {
            for p in [notifyPath, apiPath, dbPath, dbPath + "-wal", dbPath + "-shm"] { unlink(p) }
        }
        // The sd_notify datagram socket.
        let notify = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard notify >= 0 else { return ["skipped": "cannot create a Unix datagram socket"] }
        defer { close(notify) }
        unlink(notifyPath)
        guard bindUnix(notify, notifyPath) else { return ["skipped": "cannot bind \(notifyPath)"] }

        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["serve", "--simulate", "--socket", apiPath, "--db", dbPath]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notifyPath
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let clock = ContinuousClock()
        let start = clock.now
        do { try p.run() } catch { return ["skipped": "cannot start carte serve --simulate: \(error)"] }
        defer {
            if p.isRunning {
                p.terminate()
                p.waitUntilExit()
            }
        }
        // Wait for READY=1 (at most 60 s: the first run may create the test PKI).
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(notify, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var ready = false
        var buf = [UInt8](repeating: 0, count: 512)
        while !ready {
            let n = buf.withUnsafeMutableBytes { recv(notify, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            ready = String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n").contains("READY=1")
        }
        let startup = INSCBatchBenchmark.seconds(clock.now - start)
        guard ready else { return ["skipped": "carte serve --simulate sent no READY=1 within 60 s"] }
        let pid = p.processIdentifier
        Thread.sleep(forTimeInterval: 0.5)
        let idle = rssKiB(pid)

        guard let http = UnixHTTP(path: apiPath) else { return ["skipped": "cannot connect to the API socket \(apiPath)"] }
        defer { http.close() }
        guard let (status, body) = http.request("GET", "/v1/readers"), status == 200,
            let readers = try? JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]],
            let reader = readers.first(where: { ($0["isContactless"] as? Bool) == false && ($0["hasPinpad"] as? Bool) == false })
                ?? readers.first(where: { ($0["isContactless"] as? Bool) == false }),
            let id = reader["id"] as? String
        else { return ["skipped": "GET /v1/readers gave no contact reader"] }
        let insert = Array("{\"persona\":\"\(persona)\"}".utf8)
        var failed = 0
        let loopStart = clock.now
        var identified = 0
        var afterWarmUp: Int?
        for n in 0..<sessions {
            // The first 100 sessions touch the code and data pages a session needs once: resident memory after them
            // separates that one-off cost from a growth per session.
            if n == min(100, sessions - 1) { afterWarmUp = rssKiB(pid) }
            if http.request("POST", "/v1/simulator/readers/\(id)/insert", body: insert)?.status != 204 { failed += 1 }
            // A whole session: the card is taken out only once the service has read it (patient identified, or
            // refused), at most 5 s later.
            let deadline = clock.now + .seconds(5)
            while clock.now < deadline {
                guard let (status, body) = http.request("GET", "/v1/readers"), status == 200,
                    let list = try? JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]],
                    let state = list.first(where: { ($0["id"] as? String) == id })?["state"] as? String
                else { break }
                if state == "patientIdentified" { identified += 1 }
                if state == "patientIdentified" || state == "refused" { break }
            }
            if http.request("POST", "/v1/simulator/readers/\(id)/remove", body: [])?.status != 204 { failed += 1 }
            // The next insertion only once the service is back to idle on this reader, so that a session's outcome
            // is never read from the previous one.
            let idleBy = clock.now + .seconds(5)
            while clock.now < idleBy {
                guard let (status, body) = http.request("GET", "/v1/readers"), status == 200,
                    let list = try? JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]],
                    let state = list.first(where: { ($0["id"] as? String) == id })?["state"] as? String
                else { break }
                if state == "idle" { break }
            }
        }
        let loop = INSCBatchBenchmark.seconds(clock.now - loopStart)
        Thread.sleep(forTimeInterval: 0.5)
        let after = rssKiB(pid)
        var out: [String: Any] = [
            "startupToReadyMs": (startup * 1000).rounded(), "sessions": sessions, "reader": reader["name"] as? String ?? id,
            "persona": persona, "failedRequests": failed, "sessionsSeconds": (loop * 100).rounded() / 100,
            "patientsIdentified": identified,
            "goal": "idle ≤ 30 MB, growth ≤ 1 MB", "build": CarteBench.buildConfiguration,
        ]
        if let idle { out["rssIdleMB"] = (Double(idle) / 1024 * 100).rounded() / 100 }
        if let after { out["rssAfterSessionsMB"] = (Double(after) / 1024 * 100).rounded() / 100 }
        if let idle, let after { out["rssGrowthMB"] = (Double(after - idle) / 1024 * 100).rounded() / 100 }
        if let w = afterWarmUp { out["rssAfter100SessionsMB"] = (Double(w) / 1024 * 100).rounded() / 100 }
        if let w = afterWarmUp, let after {
            out["rssGrowthAfter100SessionsMB"] = (Double(after - w) / 1024 * 100).rounded() / 100
        }
        return out
    }

    /// `VmRSS` of a process, KiB.
    static func rssKiB(_ pid: Int32) -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    static func bindUnix(_ fd: Int32, _ path: String) -> Bool {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { for (i, b) in bytes.enumerated() { $0[i] = b } }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }
}

/// A minimal HTTP/1.1 client over a Unix stream socket, one keep-alive connection (enough for the bench).
final class UnixHTTP {
    let fd: Int32
    var pending: [UInt8] = []

    init?(path: String) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { for (i, b) in bytes.enumerated() { $0[i] = b } }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else {
            Glibc.close(fd)
            return nil
        }
    }

    func close() { Glibc.close(fd) }

    /// Sends one request and returns the status code and body, or nil when the connection failed.
    func request(_ method: String, _ path: String, body: [UInt8]? = nil) -> (status: Int, body: [UInt8])? {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        let message = Array((head + "\r\n").utf8) + (body ?? [])
        var sent = 0
        while sent < message.count {
            let n = message[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return nil }
            sent += n
        }
        // Headers.
        var headerEnd: Int?
        while headerEnd == nil {
            if let r = find([0x0D, 0x0A, 0x0D, 0x0A]) { headerEnd = r } else if !fill() { return nil }
        }
        let headers = String(decoding: pending[0..<headerEnd!], as: UTF8.self)
        pending.removeFirst(headerEnd! + 4)
        let lines = headers.split(separator: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        var length = 0
        var chunked = false
        for l in lines.dropFirst() {
            let lower = l.lowercased()
            if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
            if lower.hasPrefix("transfer-encoding:") && lower.contains("chunked") { chunked = true }
        }
        if chunked {
            var out: [UInt8] = []
            while true {
                var lineEnd: Int?
                while lineEnd == nil {
                    if let r = find([0x0D, 0x0A]) { lineEnd = r } else if !fill() { return nil }
                }
                let size = Int(String(decoding: pending[0..<lineEnd!], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) ?? 0
                pending.removeFirst(lineEnd! + 2)
                while pending.count < size + 2 { if !fill() { return nil } }
                out += pending[0..<size]
                pending.removeFirst(size + 2)
                if size == 0 { return (status, out) }
            }
        }
        while pending.count < length { if !fill() { return nil } }
        let b = Array(pending[0..<length])
        pending.removeFirst(length)
        return (status, b)
    }

    private func fill() -> Bool {
        var buf = [UInt8](repeating: 0, count: 16384)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        pending += buf[0..<n]
        return true
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard pending.count >= pattern.count else { return nil }
        for i in 0...(pending.count - pattern.count) where pending[i] == pattern[0] {
            if Array(pending[i..<(i + pattern.count)]) == pattern { return i }
        }
        return nil
    }
}
