import ArgumentParser
import Foundation
import ISO7816
import Logging
import PCSC
import Terminal

#if canImport(Glibc)
    import Glibc
#endif

/// `carte serve [--config FILE] [--simulate]` (cli.md, issue 6): the terminal service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "The terminal service: per-reader access flows, local API, audit log.",
        discussion: """
            Reads the YAML configuration (default /etc/carte/carte.yaml when it exists; see \
            Hardware/carte.example.yaml). A bad configuration stops start-up with `line N: reason` (exit 2). \
            --simulate runs on three simulated readers (pinpad, contact, contactless) and mounts \
            /v1/simulator/readers/{id}/insert|remove|keypad|unplug|plug. Badges authenticate only by DESFire \
            AES with keys diversified from the site master key (badges.siteKeyFile, mode 0600; --simulate: the \
            personas' synthetic key); enrolments live in SQLite (badges.database, default badges.sqlite next to the \
            audit database). Under systemd (Type=notify) it sends READY=1, WATCHDOG=1 and STOPPING=1 on \
            $NOTIFY_SOCKET.
            """)

    @Option(help: "The YAML configuration file.") var config: String?
    @Flag(help: "Run on simulated readers (accepts test cards; enables the simulator control).") var simulate = false
    @Option(help: "Override the API address: 127.0.0.1:PORT (needs --token-file or a tokenFile in the configuration).")
    var listen: String?
    @Option(help: "The bearer token file for --listen.") var tokenFile: String?
    @Option(help: "Override the API Unix socket path.") var socket: String?
    @Option(help: "Override the audit database path.") var db: String?

    func run() async throws {
        #if canImport(Glibc)
            // A long-running, lightly loaded daemon: two malloc arenas instead of glibc's 8 × cores keep its resident
            // memory flat over days of sessions (issue 9's service figure: growth ≤ 1 MB after 10,000 sessions).
            // MALLOC_ARENA_MAX in the environment still wins.
            if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil { _ = glibcMallopt(glibcMArenaMax, 2) }
        #endif
        var conf: TerminalConfiguration
        switch loadConfiguration() {
        case .success(let c): conf = c
        case .failure(let e):
            printError("configuration: \(e)")
            throw CarteExit.usage
        }
        if simulate {
            conf.acceptTestCards = true
            if config == nil && db == nil {
                conf.databasePath = NSTemporaryDirectory() + "carte-simulate-audit.sqlite"
                conf.badgeDatabasePath = NSTemporaryDirectory() + "carte-simulate-badges.sqlite"
            }
            if config == nil && listen == nil && socket == nil {
                conf.api = .unixSocket(path: NSTemporaryDirectory() + "carte-simulate.sock", mode: 0o660)
            }
        }
        let level = conf.logLevel
        let logger = Logger(label: "carte.serve") { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let audit: AuditLog
        do { audit = try AuditLog(path: conf.databasePath) } catch {
            printError("\(error)")
            throw CarteExit.failure
        }
        let service: TerminalService
        let pool: SimulatedReaderPool?
        if simulate {
            let p = SimulatedReaderPool()
            pool = p
            let authentication = CPSAuthenticationFlow.simulatedTestPKI()
            if authentication == nil { logger.warning("the test PKI is not available: CPS decisions from persona data") }
            // The personas' synthetic site key, unless the configuration names a key file.
            let key: [UInt8]
            do {
                if let file = conf.siteKeyFile {
                    key = try TerminalBadges.loadSiteMasterKey(path: file)
                } else if let k = TerminalBadges.simulatedSiteMasterKey() {
                    key = k
                } else {
                    printError("the personas' site master key is not available")
                    throw CarteExit.failure
                }
            } catch let e as TerminalError {
                printError("configuration: \(e)")
                throw CarteExit.usage
            }
            let badges = try openBadges(conf, key: key) { name in await p.reader(named: name) }
            service = TerminalService(
                configuration: conf, source: p,
                runner: SimulatedPersonaFlowRunner(pool: p, badges: badges, authentication: authentication),
                audit: audit, badges: badges, logger: logger)
        } else {
            pool = nil
            var authentication: CPSAuthenticationFlow?
            if let anchors = conf.trustAnchors {
                switch Result(catching: { () throws(TerminalError) in
                    try CPSAuthenticationFlow.configured(trustAnchorDirectory: anchors, crlDirectory: conf.crlDirectory)
                }) {
                case .success(let a): authentication = a
                case .failure(let e):
                    printError("configuration: \(e)")
                    throw CarteExit.usage
                }
            } else {
                logger.warning("no trust anchors configured (trust.anchors): professional cards are refused")
            }
            var badges: TerminalBadges?
            if let file = conf.siteKeyFile {
                let key: [UInt8]
                do { key = try TerminalBadges.loadSiteMasterKey(path: file) } catch {
                    printError("configuration: \(error)")
                    throw CarteExit.usage
                }
                badges = try openBadges(conf, key: key) { PCSCCard(readerName: $0) }
            } else {
                logger.warning("no badges.siteKeyFile configured: badge taps are refused and enrolment is unavailable")
            }
            service = TerminalService(
                configuration: conf, source: PCSCReaderSource(),
                runner: ModuleCardFlowRunner(
                    transport: { PCSCCard(readerName: $0) }, authentication: authentication, badges: badges),
                audit: audit, badges: badges, logger: logger)
        }
        let where_: String
        switch conf.api {
        case .unixSocket(let path, _): where_ = "unix:\(path)"
        case .loopback(let host, let port, _): where_ = host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        }
        do {
            try await TerminalAPI.serve(
                service: service, binding: conf.api, simulator: pool, notifier: SystemdNotifier(), logger: logger,
                onRunning: {
                    logger.notice("carte serve listening on \(where_)\(simulate ? " (simulated readers)" : "")")
                })
        } catch {
            printError("\(error)")
            throw CarteExit.failure
        }
    }

    /// The badge authenticator over the SQLite enrolment store of the configuration (`badges.database`).
    func openBadges(
        _ conf: TerminalConfiguration, key: [UInt8], transport: @escaping @Sendable (String) async -> (any CardTransport)?
    ) throws -> TerminalBadges {
        do { return try TerminalBadges.configured(conf, siteMasterKey: key, transport: transport) } catch {
            printError("\(error)")
            throw CarteExit.failure
        }
    }

    func loadConfiguration() -> Result<TerminalConfiguration, TerminalError> {
        var conf = TerminalConfiguration()
        do {
            if let config {
                conf = try TerminalConfiguration.load(path: config)
            } else if FileManager.default.fileExists(atPath: "/etc/carte/carte.yaml") && !simulate {
                conf = try TerminalConfiguration.load(path: "/etc/carte/carte.yaml")
            }
            try applyOverrides(&conf)
        } catch {
            return .failure(error)
        }
        return .success(conf)
    }

    func applyOverrides(_ conf: inout TerminalConfiguration) throws(TerminalError) {
        if let db {
            guard db.hasPrefix("/") else { throw .configuration(line: nil, reason: "--db must be an absolute path") }
            conf.databasePath = db
        }
        if let socket {
            conf.api = .unixSocket(path: socket, mode: 0o660)
        }
        if let listen {
            var existingToken: String?
            if case .loopback(_, _, let t) = conf.api { existingToken = t }
            guard let t = tokenFile ?? existingToken else {
                throw .configuration(line: nil, reason: "--listen needs --token-file (the bearer token requests carry)")
            }
            let yaml = "api:\n  listen: \"\(listen)\"\n  tokenFile: \"\(t.hasPrefix("/") ? t : FileManager.default.currentDirectoryPath + "/" + t)\"\n"
            do {
                conf.api = try TerminalConfiguration.parse(yaml: yaml).api
            } catch {
                throw .configuration(line: nil, reason: "--listen: \(error.description.replacingOccurrences(of: "line 2: ", with: ""))")
            }
        }
    }
}

#if canImport(Glibc)
    /// glibc's `mallopt(3)` (malloc.h is not part of Swift's Glibc module).
    @_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
    /// `M_ARENA_MAX` of glibc's malloc.h.
    private let glibcMArenaMax: Int32 = -8
#endif
