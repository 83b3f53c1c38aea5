import ArgumentParser
import Foundation
import Logging
import PCSC
import Terminal

/// `carte serve [--config FILE] [--simulate]` (cli.md, issue 6): the terminal service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "The terminal service: per-reader access flows, local API, audit log.",
        discussion: """
            Reads the YAML configuration (default /etc/carte/carte.yaml when it exists; see \
            Hardware/carte.example.yaml). A bad configuration stops start-up with `line N: reason` (exit 2). \
            --simulate runs on three simulated readers (pinpad, contact, contactless) and mounts \
            /v1/simulator/readers/{id}/insert|remove|keypad|unplug|plug. Under systemd (Type=notify) it sends \
            READY=1, WATCHDOG=1 and STOPPING=1 on $NOTIFY_SOCKET.
            """)

    @Option(help: "The YAML configuration file.") var config: String?
    @Flag(help: "Run on simulated readers (accepts test cards; enables the simulator control).") var simulate = false
    @Option(help: "Override the API address: 127.0.0.1:PORT (needs --token-file or a tokenFile in the configuration).")
    var listen: String?
    @Option(help: "The bearer token file for --listen.") var tokenFile: String?
    @Option(help: "Override the API Unix socket path.") var socket: String?
    @Option(help: "Override the audit database path.") var db: String?

    func run() async throws {
        var conf: TerminalConfiguration
        switch loadConfiguration() {
        case .success(let c): conf = c
        case .failure(let e):
            printError("configuration: \(e)")
            throw CarteExit.usage
        }
        if simulate {
            conf.acceptTestCards = true
            if config == nil && db == nil { conf.databasePath = NSTemporaryDirectory() + "carte-simulate-audit.sqlite" }
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
        let badges = InMemoryBadgeRegistry()
        let service: TerminalService
        let pool: SimulatedReaderPool?
        if simulate {
            let p = SimulatedReaderPool()
            pool = p
            let authentication = CPSAuthenticationFlow.simulatedTestPKI()
            if authentication == nil { logger.warning("the test PKI is not available: CPS decisions from persona data") }
            service = TerminalService(
                configuration: conf, source: p,
                runner: SimulatedPersonaFlowRunner(
                    pool: p, badges: badges, authentication: authentication,
                    tapAndGoWindow: TimeInterval(conf.tapAndGoWindowSeconds)),
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
            service = TerminalService(
                configuration: conf, source: PCSCReaderSource(),
                runner: ModuleCardFlowRunner(transport: { PCSCCard(readerName: $0) }, authentication: authentication),
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
