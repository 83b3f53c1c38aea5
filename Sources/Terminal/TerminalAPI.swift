import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// Test and demo control of simulated readers, mounted under `/v1/simulator/` only in `--simulate` mode.
public protocol SimulatorControl: Sendable {
    /// Inserts the card of `persona` into reader `name` (a card already there is removed first).
    func insert(reader name: String, persona: String) async throws(TerminalError)
    /// Removes the card from reader `name`.
    func remove(reader name: String) async throws(TerminalError)
    /// Queues digits typed on the simulated pinpad of reader `name` (then the validation key).
    func typeOnPinpad(reader name: String, digits: String) async throws(TerminalError)
    /// Unplugs (`false`) or plugs back (`true`) reader `name`.
    func setPlugged(reader name: String, _ plugged: Bool) async throws(TerminalError)
}

/// The local API (Hummingbird 2): HTTP/JSON, the WebSocket event stream, Prometheus metrics and the kiosk page.
///
/// Endpoints (docs/openapi.yaml): `GET /v1/health`, `GET /v1/readers`, `GET /v1/sessions`,
/// `POST /v1/readers/{id}/pin` `{"pin":"<digits>"}`, `GET /v1/badges`,
/// `POST /v1/badges/enrol` `{"session":"r1-1", "badgeReader":"r3"}` (binds the badge presented on that badge reader,
/// authenticated by DESFire AES, to the professional of that `cps-pin` session), `DELETE /v1/badges/{badgeNumber}`
/// (revokes), `GET /v1/events` (WebSocket, one JSON event per text message), `GET /metrics`,
/// `GET /kiosk/` (static page), and `/v1/simulator/readers/{id}/{insert,remove,keypad,unplug,plug}` in simulation.
/// With a bearer token (TCP mode) every `/v1` and `/metrics` request must carry `Authorization: Bearer <token>`
/// (the WebSocket may give `?access_token=` instead, as browsers cannot set headers there); others are refused 401
/// and audited. The kiosk page's static files need no token.
public enum TerminalAPI {
    public typealias Context = BasicWebSocketRequestContext

    /// Builds the router.
    public static func router(
        service: TerminalService, token: String?, simulator: (any SimulatorControl)? = nil
    ) -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: BearerTokenMiddleware(token: token, service: service))

        router.get("/v1/health") { _, _ -> Response in
            let readers = await service.readerSnapshots()
            struct Health: Encodable {
                var status: String
                var monitoring: String
                var readers: Int
                var sessions: Int
                var simulated: Bool
            }
            let degraded = await service.monitoringDegraded
            return json(Health(
                status: "ok", monitoring: degraded ? "degraded" : "ok", readers: readers.count,
                sessions: readers.filter { $0.session != nil }.count, simulated: simulator != nil))
        }
        router.get("/v1/readers") { _, _ -> Response in json(await service.readerSnapshots()) }
        router.get("/v1/sessions") { _, _ -> Response in json(await service.sessionSnapshots()) }
        router.post("/v1/readers/:id/pin") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            // The body is decoded here and nowhere else; it is never logged.
            guard let data = try? await requestBody(request), let pin = try? TerminalAPIBodies.pin(from: data) else {
                return problem(.badRequest, "give {\"pin\": \"4 to 12 digits\"}")
            }
            do {
                try await service.submitPIN(readerID: id, pin: pin)
                return Response(status: .noContent)
            } catch {
                return problem(error)
            }
        }
        router.get("/v1/badges") { _, _ -> Response in
            do { return json(try await service.badgeEnrolments()) } catch { return problem(error) }
        }
        router.post("/v1/badges/enrol") { request, _ -> Response in
            guard let data = try? await requestBody(request), let body = try? TerminalAPIBodies.badgeEnrolment(from: data) else {
                return problem(
                    .badRequest,
                    "give {\"session\": \"r1-1\" (a CPS authentication with PIN), \"badgeReader\": \"r3\" (optional: the badge reader holding the badge)}")
            }
            do {
                return json(try await service.enrolBadge(session: body.session, badgeReader: body.badgeReader), status: .created)
            } catch {
                return problem(error)
            }
        }
        router.delete("/v1/badges/:id") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            do {
                return try await service.revokeBadge(number: id) ? Response(status: .noContent) : problem(.notFound, "no badge '\(id)'")
            } catch {
                return problem(error)
            }
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: service.metrics.render())))
        }
        router.ws("/v1/events") { inbound, outbound, _ in
            let stream = await service.bus.subscribe()
            let snapshot = Snapshot(type: "snapshot", readers: await service.readerSnapshots())
            try await outbound.write(.text(encode(snapshot)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in inbound {}
                }
                group.addTask {
                    for await e in stream { try await outbound.write(.text(e.json)) }
                }
                try await group.next()
                group.cancelAll()
            }
        }

        // The kiosk page.
        let kiosk = KioskFiles.load()
        router.get("/") { _, _ -> Response in
            Response(status: .seeOther, headers: [.location: "/kiosk/"])
        }
        // `/kiosk` and `/kiosk/` are one route for the router; the page links its files absolutely.
        router.get("/kiosk") { _, _ -> Response in kiosk.response("index.html") }
        router.get("/kiosk/:file") { _, context -> Response in kiosk.response(context.parameters.get("file") ?? "") }

        if let simulator {
            router.post("/v1/simulator/readers/:id/:action") { request, context -> Response in
                let id = context.parameters.get("id") ?? ""
                guard let name = await service.readerName(forID: id) else { return problem(.notFound, "no reader '\(id)'") }
                let body = TerminalAPIBodies.simulatorAction(from: (try? await requestBody(request)) ?? Data())
                do {
                    switch context.parameters.get("action") ?? "" {
                    case "insert":
                        guard let p = body.persona else { return problem(.badRequest, "give {\"persona\": \"id\"}") }
                        try await simulator.insert(reader: name, persona: p)
                    case "remove": try await simulator.remove(reader: name)
                    case "keypad":
                        guard let d = body.digits else { return problem(.badRequest, "give {\"digits\": \"1234\"}") }
                        try await simulator.typeOnPinpad(reader: name, digits: d)
                    case "unplug": try await simulator.setPlugged(reader: name, false)
                    case "plug": try await simulator.setPlugged(reader: name, true)
                    default: return problem(.notFound, "actions: insert, remove, keypad, unplug, plug")
                    }
                } catch {
                    return problem(error)
                }
                return Response(status: .noContent)
            }
        }
        return router
    }

    /// The application on `binding`, refusing any address but a Unix socket or loopback.
    /// - Throws: `TerminalError.refusedBind` for a non-loopback host; `.io` when the token file is unreadable.
    public static func application(
        service: TerminalService, binding: APIBinding, simulator: (any SimulatorControl)? = nil,
        logger: Logger = Logger(label: "carte.api", factory: { _ in SwiftLogNoOpLogHandler() }), onRunning: @escaping @Sendable () async -> Void = {}
    ) throws(TerminalError) -> some ApplicationProtocol {
        let address: BindAddress
        var token: String?
        var socket: (String, UInt16)?
        switch binding {
        case .unixSocket(let path, let mode):
            let dir = (path as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var st = stat()
            if lstat(path, &st) == 0 {
                guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                    throw .refusedBind("\(path): a file that is not a socket is already there")
                }
                unlink(path)
            }
            address = .unixDomainSocket(path: path)
            socket = (path, mode)
        case .loopback(let host, let port, let tokenFile):
            guard host == "127.0.0.1" || host == "::1" else { throw .refusedBind(host) }
            token = try readToken(tokenFile)
            address = .hostname(host, port: port)
        }
        let router = router(service: service, token: token, simulator: simulator)
        let socketToChmod = socket
        return Application(
            router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: address, serverName: "carte"),
            onServerRunning: { _ in
                if let (path, mode) = socketToChmod { chmod(path, mode_t(mode)) }
                await onRunning()
            },
            logger: logger)
    }

    /// Runs the service and its API until SIGTERM or SIGINT: `READY=1` to systemd once the API listens,
    /// `WATCHDOG=1` every half `WatchdogSec`, `STOPPING=1` on the way out.
    /// - Throws: what `application` throws (refused bind, unreadable token), or the server's start-up error.
    public static func serve(
        service: TerminalService, binding: APIBinding, simulator: (any SimulatorControl)? = nil,
        notifier: SystemdNotifier = SystemdNotifier(), logger: Logger = Logger(label: "carte.api", factory: { _ in SwiftLogNoOpLogHandler() }),
        onRunning: @escaping @Sendable () async -> Void = {}
    ) async throws {
        let app = try application(
            service: service, binding: binding, simulator: simulator, logger: logger,
            onRunning: {
                notifier.notify("READY=1\nSTATUS=serving")
                await onRunning()
            })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await service.run() }
            if let interval = notifier.watchdogInterval {
                group.addTask {
                    while !Task.isCancelled {
                        notifier.notify("WATCHDOG=1")
                        try? await Task.sleep(for: interval)
                    }
                }
            }
            defer { group.cancelAll() }
            try await app.runService()
            notifier.notify("STOPPING=1")
        }
    }

    /// Reads a bearer token: the file's first line, at least 16 characters.
    /// - Throws: `TerminalError.io` when missing, unreadable or too short.
    public static func readToken(_ path: String) throws(TerminalError) -> String {
        guard let d = FileManager.default.contents(atPath: path), let s = String(data: d, encoding: .utf8) else {
            throw .io("cannot read the API token file \(path)")
        }
        let t = s.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        guard t.count >= 16 else { throw .io("the API token in \(path) must be at least 16 characters") }
        return t
    }

    struct Snapshot: Encodable {
        var type: String
        var readers: [ReaderSnapshot]
    }

    static func encode<T: Encodable>(_ v: T) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? enc.encode(v)).flatMap { String(data: $0, encoding: .utf8) } ?? "null"
    }

    static func json<T: Encodable>(_ v: T, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: encode(v))))
    }

    static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(["error": message], status: status)
    }

    static func problem(_ error: any Error) -> Response {
        guard let e = error as? TerminalError else { return problem(.internalServerError, "\(error)") }
        switch e {
        case .noSuchReader: return problem(.notFound, e.description)
        case .noPINExpected: return problem(.conflict, e.description)
        case .notAuthenticated: return problem(.conflict, e.description)
        case .badRequest: return problem(.badRequest, e.description)
        default: return problem(.internalServerError, e.description)
        }
    }

    /// The request's body, at most `TerminalAPIBodies.maxBytes` (longer bodies throw); decoded and validated by
    /// `TerminalAPIBodies`.
    static func requestBody(_ request: Request) async throws -> Data {
        let buffer = try await request.body.collect(upTo: TerminalAPIBodies.maxBytes)
        return Data(buffer.readableBytesView)
    }
}

/// Refuses `/v1` and `/metrics` requests without the bearer token (TCP mode) with 401, and audits them.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?
    let service: TerminalService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return try await next(request, context) }
        let path = request.uri.path
        guard path.hasPrefix("/v1") || path.hasPrefix("/metrics") else { return try await next(request, context) }
        var presented: String?
        if let h = request.headers[.authorization], h.hasPrefix("Bearer ") { presented = String(h.dropFirst(7)) }
        if presented == nil, path == "/v1/events" { presented = request.uri.queryParameters.get("access_token") }
        guard let presented else {
            await service.recordRefusal(method: request.method.rawValue, path: path, why: "no credentials")
            return refuse()
        }
        guard constantTimeEqual(Array(presented.utf8), Array(token.utf8)) else {
            await service.recordRefusal(method: request.method.rawValue, path: path, why: "wrong token")
            return refuse()
        }
        return try await next(request, context)
    }

    func refuse() -> Response {
        var r = TerminalAPI.problem(.unauthorized, "this API needs Authorization: Bearer <token>")
        r.headers[.wwwAuthenticate] = "Bearer realm=\"carte\""
        return r
    }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var diff = UInt8(a.count == b.count ? 0 : 1)
    for i in 0..<max(a.count, b.count) {
        diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
    }
    return diff == 0
}

/// The kiosk page's static files, read once from the module's resources.
struct KioskFiles: Sendable {
    let files: [String: (String, [UInt8])]

    /// Where the page is looked for, first found wins: `$CARTE_KIOSK_DIR`, the SwiftPM resource bundle beside the
    /// executable (`Carte_Terminal.resources/kiosk`), `/usr/share/carte/kiosk`. (Not `Bundle.module`, which stops
    /// the process when the bundle is missing, e.g. an installed binary.) A missing page is a 404, not a crash.
    static func directory() -> String? {
        var candidates: [String] = []
        if let d = ProcessInfo.processInfo.environment["CARTE_KIOSK_DIR"] { candidates.append(d) }
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(exe.appendingPathComponent("Carte_Terminal.resources/kiosk").path)
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("Carte_Terminal.resources/kiosk").path)
        candidates.append("/usr/share/carte/kiosk")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/index.html") }
    }

    static func load() -> KioskFiles {
        var out: [String: (String, [UInt8])] = [:]
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
                     "css": "text/css; charset=utf-8", "svg": "image/svg+xml"]
        if let dir = directory().map({ URL(fileURLWithPath: $0) }),
            let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path)
        {
            for n in names {
                guard let type = types[(n as NSString).pathExtension],
                    let d = FileManager.default.contents(atPath: dir.appendingPathComponent(n).path)
                else { continue }
                out[n] = (type, [UInt8](d))
            }
        }
        return KioskFiles(files: out)
    }

    func response(_ name: String) -> Response {
        guard let (type, bytes) = files[name] else { return TerminalAPI.problem(.notFound, "no such page") }
        return Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
