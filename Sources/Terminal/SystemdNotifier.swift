import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The systemd notification protocol (sd_notify(3)) without libsystemd: datagrams like `READY=1` sent to the
/// `AF_UNIX` socket named by `$NOTIFY_SOCKET` (a path, or an abstract name when it starts with `@`).
public struct SystemdNotifier: Sendable {
    /// The socket path from `$NOTIFY_SOCKET`, nil when not run by systemd with `Type=notify`.
    public let socketPath: String?
    /// Half of `$WATCHDOG_USEC` (the interval at which to send `WATCHDOG=1`), nil when no watchdog is set.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let p = environment["NOTIFY_SOCKET"]
        socketPath = (p?.isEmpty ?? true) ? nil : p
        if let u = environment["WATCHDOG_USEC"].flatMap(UInt64.init), u > 0,
            environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true
        {
            watchdogInterval = .microseconds(Int64(u / 2))
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends `state` (e.g. `READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`); returns false when there is no socket
    /// or the send failed (never throws: the service runs the same without systemd).
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { m in sendto(fd, m.baseAddress, m.count, 0, sa, length) }
            }
        }
        return sent == message.count
    }
}
