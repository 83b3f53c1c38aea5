import Foundation
import Hummingbird
import Testing

@testable import Terminal

/// One HTTP/1.1 request over a Unix domain socket; returns the raw response text.
func unixSocketRequest(path: String, request: String) -> String? {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard ok == 0 else { return nil }
    let bytes = Array(request.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else { return nil }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

@Suite("Local API on a Unix socket")
struct UnixSocketAPITests {
    @Test("The socket is created with mode 0660 and answers; a stale socket file is replaced")
    func unixSocket() async throws {
        let dir = temporaryDirectory()
        let path = dir + "/api.sock"
        let service = try makeService()
        for round in 0..<2 {
            let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
            let app = try TerminalAPI.application(
                service: service, binding: .unixSocket(path: path, mode: 0o660), onRunning: { readyContinuation.yield() })
            let server = Task { try await app.run() }
            var it = ready.makeAsyncIterator()
            _ = await it.next()
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o660, "round \(round)")
            #expect((attributes[.type] as? FileAttributeType) == .typeSocket)
            let response = try #require(unixSocketRequest(
                path: path, request: "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
            #expect(response.hasPrefix("HTTP/1.1 200 OK"))
            #expect(response.hasSuffix(#"{"monitoring":"ok","readers":0,"sessions":0,"simulated":false,"status":"ok"}"#))
            server.cancel()
            _ = try? await server.value
        }
    }
}
