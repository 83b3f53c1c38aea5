import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Terminal

@Suite("Local API")
struct TerminalAPITests {
    let token = "test-token-0123456789abcdef"

    func app(_ service: TerminalService, token: String?) -> some ApplicationProtocol {
        Application(router: TerminalAPI.router(service: service, token: token))
    }

    @Test("Without credentials every /v1 and /metrics call is refused 401 and audited; the kiosk page is served")
    func refusesUnauthenticated() async throws {
        let service = try makeService()
        try await app(service, token: token).test(.router) { client in
            for (uri, method) in [("/v1/health", HTTPRequest.Method.get), ("/v1/readers", .get), ("/v1/sessions", .get),
                                  ("/v1/readers/r1/pin", .post), ("/v1/badges/enrol", .post), ("/v1/badges/b1", .delete),
                                  ("/v1/events", .get), ("/metrics", .get)] {
                try await client.execute(uri: uri, method: method) { r in
                    #expect(r.status == .unauthorized, "\(uri)")
                    #expect(r.headers[.wwwAuthenticate] == "Bearer realm=\"carte\"")
                }
            }
            try await client.execute(uri: "/v1/readers", method: .get, headers: [.authorization: "Bearer wrong-token-xxxxxxxx"]) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/readers", method: .get, headers: [.authorization: "Basic \(token)"]) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/kiosk/", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("<title>Carte"))
            }
        }
        let rows = try await service.audit.rows()
        let refused = rows.filter { $0.kind == "apiRefused" }
        #expect(refused.count == 10)
        #expect(refused[0].detail == #"{"method":"GET","path":"/v1/health","why":"no credentials"}"#)
        #expect(refused[8].detail == #"{"method":"GET","path":"/v1/readers","why":"wrong token"}"#)
        #expect(!rows.contains { $0.detail.contains(token) })
        #expect(service.metrics.render().contains("carte_api_refusals_total 10"))
    }

    @Test("With the token: health, readers, sessions, metrics")
    func authorised() async throws {
        let service = try makeService()
        var it = await service.bus.subscribe().makeAsyncIterator()
        await service.handle(.readerAdded(ReaderDescriptor(name: "Cherry Vitale 01 00")))
        await service.handle(.cardInserted(reader: "Cherry Vitale 01 00", atr: FakeFlowRunner.vitaleATR))
        _ = await events(&it, until: .patientIdentified)
        let auth: HTTPFields = [.authorization: "Bearer \(token)"]
        try await app(service, token: token).test(.router) { client in
            try await client.execute(uri: "/v1/health", method: .get, headers: auth) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == #"{"monitoring":"ok","readers":1,"sessions":1,"simulated":false,"status":"ok"}"#)
            }
            try await client.execute(uri: "/v1/readers", method: .get, headers: auth) { r in
                let readers = try JSONDecoder().decode([ReaderSnapshot].self, from: Data(r.body.readableBytesView))
                #expect(readers.count == 1)
                #expect(readers[0].id == "r1")
                #expect(readers[0].role == .patient)
                #expect(readers[0].state == .patientIdentified)
                #expect(readers[0].patient?.insuredNIRMasked == "1 71 •• •• ••• ••• 38")
                #expect(!String(buffer: r.body).contains("171096912304538"))
            }
            try await client.execute(uri: "/v1/sessions", method: .get, headers: auth) { r in
                let s = try JSONDecoder().decode([SessionSnapshot].self, from: Data(r.body.readableBytesView))
                #expect(s.map(\.id) == ["r1-1"])
                #expect(s[0].cardKind == .vitale2)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: auth) { r in
                #expect(r.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let text = String(buffer: r.body)
                #expect(text.contains("carte_card_insertions_total 1"))
                #expect(text.contains("carte_flow_outcomes_total{outcome=\"patientIdentified\"} 1"))
            }
        }
    }

    @Test("PIN through the API: 400 malformed, 409 not waiting, 204 handed to the flow; the flow authenticates")
    func pinEndpoint() async throws {
        let service = try makeService()
        let reader = "Gemalto PC Twin 00 00"
        await service.handle(.readerAdded(ReaderDescriptor(name: reader)))
        try await app(service, token: nil).test(.router) { client in
            var it = await service.bus.subscribe().makeAsyncIterator()
            try await client.execute(uri: "/v1/readers/r1/pin", method: .post, body: ByteBuffer(string: #"{"pin":"43a1"}"#)) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/v1/readers/r1/pin", method: .post, body: ByteBuffer(string: #"{"pin":"4321"}"#)) { r in
                #expect(r.status == .conflict)
                #expect(String(buffer: r.body) == #"{"error":"reader 'r1' is not waiting for a PIN"}"#)
            }
            try await client.execute(uri: "/v1/readers/r9/pin", method: .post, body: ByteBuffer(string: #"{"pin":"4321"}"#)) { r in
                #expect(r.status == .notFound)
            }
            await service.handle(.cardInserted(reader: reader, atr: FakeFlowRunner.cpsATR))
            _ = await events(&it, until: .pinRequested)
            try await client.execute(uri: "/v1/readers/r1/pin", method: .post, body: ByteBuffer(string: #"{"pin":"4321"}"#)) { r in
                #expect(r.status == .noContent)
            }
            let authenticated = await events(&it, until: .authenticated)
            #expect(authenticated.last?.identity?.nom == "MOREAU")
            // A typed UID is no longer a request: the badge must be presented (no `session` → 400).
            try await client.execute(uri: "/v1/badges/enrol", method: .post, body: ByteBuffer(string: #"{"uid":"045A3C12B26E80"}"#)) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("session"))
            }
            // This service has no site master key: enrolment is unavailable.
            try await client.execute(uri: "/v1/badges/enrol", method: .post, body: ByteBuffer(string: #"{"session":"r1-1"}"#)) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("badges.siteKeyFile"))
            }
            try await client.execute(uri: "/v1/badges", method: .get) { r in #expect(String(buffer: r.body) == "[]") }
        }
    }

    @Test("Binding: only a Unix socket or loopback; the token file must hold a real token")
    func binding() throws {
        let dir = temporaryDirectory()
        try "short\n".write(toFile: dir + "/short", atomically: true, encoding: .utf8)
        #expect(throws: TerminalError.io("the API token in \(dir)/short must be at least 16 characters")) {
            try TerminalAPI.readToken(dir + "/short")
        }
        try "\(token)\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        #expect(try TerminalAPI.readToken(dir + "/token") == token)
        let service = try makeService()
        #expect(throws: TerminalError.refusedBind("0.0.0.0")) {
            _ = try TerminalAPI.application(service: service, binding: .loopback(host: "0.0.0.0", port: 8080, tokenFile: dir + "/token"))
        }
        try "x".write(toFile: dir + "/not-a-socket", atomically: true, encoding: .utf8)
        #expect(throws: TerminalError.refusedBind("\(dir)/not-a-socket: a file that is not a socket is already there")) {
            _ = try TerminalAPI.application(service: service, binding: .unixSocket(path: dir + "/not-a-socket", mode: 0o660))
        }
    }

    @Test("sd_notify datagrams reach $NOTIFY_SOCKET; the watchdog interval is half of WATCHDOG_USEC")
    func systemdNotify() throws {
        let path = temporaryDirectory() + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        let n = SystemdNotifier(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"])
        #expect(n.watchdogInterval == .seconds(10))
        #expect(n.notify("READY=1"))
        var buf = [UInt8](repeating: 0, count: 64)
        let got = recv(fd, &buf, 64, 0)
        #expect(Array(buf[0..<max(got, 0)]) == Array("READY=1".utf8))
        #expect(SystemdNotifier(environment: [:]).notify("READY=1") == false)
    }
}
