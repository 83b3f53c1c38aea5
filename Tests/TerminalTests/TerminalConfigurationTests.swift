import Foundation
import Testing

@testable import Terminal

@Suite("Configuration")
struct TerminalConfigurationTests {
    @Test("A full configuration is read with every value")
    func full() throws {
        let c = try TerminalConfiguration.parse(yaml: """
            readers:
              - match: "*Pinpad*"
                role: professional
              - match: "*Contactless*"
                role: badge
              - match: "*"
                role: patient
            trust:
              anchors: /etc/carte/trust
              crlDirectory: /var/lib/carte/crl
            policy:
              requirePinpad: true
              tapAndGoWindow: 8h
              acceptTestCards: false
              pinTimeout: 45s
              recognitionTimeout: 15s
            api:
              listen: 127.0.0.1:8765
              tokenFile: /etc/carte/api-token
            database: /var/lib/carte/audit.sqlite
            badges:
              siteKeyFile: /etc/carte/badge-site.key
              database: /var/lib/carte/enrolments.sqlite
              enrolmentDelay: 2m
            log:
              level: debug
            """)
        #expect(c.readers == [
            ReaderRule(match: "*Pinpad*", role: .professional), ReaderRule(match: "*Contactless*", role: .badge),
            ReaderRule(match: "*", role: .patient),
        ])
        #expect(c.trustAnchors == "/etc/carte/trust")
        #expect(c.crlDirectory == "/var/lib/carte/crl")
        #expect(c.requirePinpad)
        #expect(c.tapAndGoWindowSeconds == 28_800)
        #expect(!c.acceptTestCards)
        #expect(c.pinTimeoutSeconds == 45)
        #expect(c.recognitionTimeoutSeconds == 15)
        #expect(c.api == .loopback(host: "127.0.0.1", port: 8765, tokenFile: "/etc/carte/api-token"))
        #expect(c.databasePath == "/var/lib/carte/audit.sqlite")
        #expect(c.siteKeyFile == "/etc/carte/badge-site.key")
        #expect(c.badgeDatabase == "/var/lib/carte/enrolments.sqlite")
        #expect(c.enrolmentDelaySeconds == 120)
        #expect(c.logLevel == .debug)
        #expect(c.readerPolicy == ReaderPolicy(recognitionTimeout: 15_000, pinTimeout: 45_000, requirePinpad: true, acceptTestCards: false))
        #expect(c.role(for: ReaderDescriptor(name: "Cherry ST-2000 Pinpad 00 00")) == .professional)
        #expect(c.role(for: ReaderDescriptor(name: "ACS ACR122U Contactless 01 00")) == .badge)
        #expect(c.role(for: ReaderDescriptor(name: "Gemalto PC Twin 02 00")) == .patient)
    }

    @Test("Defaults: Unix socket 0660, roles from capabilities")
    func defaults() throws {
        let c = try TerminalConfiguration.parse(yaml: "")
        #expect(c.api == .unixSocket(path: "/run/carte/api.sock", mode: 0o660))
        // Badge enrolments next to the audit database; no site key (badges refused); 5 min to enrol.
        #expect(c.badgeDatabase == "/var/lib/carte/badges.sqlite")
        #expect(c.siteKeyFile == nil)
        #expect(c.enrolmentDelaySeconds == 300)
        #expect(try TerminalConfiguration.parse(yaml: "database: /srv/carte/audit.sqlite\n").badgeDatabase == "/srv/carte/badges.sqlite")
        #expect(c.role(for: ReaderDescriptor(name: "x", hasPinpad: true)) == .professional)
        #expect(c.role(for: ReaderDescriptor(name: "x", isContactless: true)) == .badge)
        #expect(c.role(for: ReaderDescriptor(name: "x")) == .patient)
        let rules = try TerminalConfiguration.parse(yaml: "readers:\n  - {match: \"Cherry*\", role: professional}\n")
        #expect(rules.role(for: ReaderDescriptor(name: "Gemalto")) == nil)
    }

    /// Each bad configuration with the exact error: the line and the reason.
    @Test(arguments: [
        ("policy:\n  pinTimeout: 3s\n", "line 2: 'pinTimeout' must be between 5 s and 600 s (got 3 s)"),
        ("policy:\n  requirePinpad: maybe\n", "line 2: 'requirePinpad' must be true or false (got 'maybe')"),
        ("log:\n  level: verbose\n",
         "line 2: unknown log level 'verbose' (expected trace, debug, info, notice, warning, error or critical)"),
        ("database: /var/lib/carte/a.sqlite\npolicy:\n  tapAndGo: 8h\n",
         "line 3: unknown key 'tapAndGo' in 'policy' (expected: acceptTestCards, pinTimeout, recognitionTimeout, requirePinpad, tapAndGoWindow)"),
        ("readers:\n  - match: \"*\"\n    role: nurse\n", "line 3: unknown role 'nurse' (expected professional, patient or badge)"),
        ("api:\n  listen: 0.0.0.0:8080\n  tokenFile: /etc/t\n",
         "line 2: 'listen' must be on the loopback interface (127.0.0.1 or [::1]); refusing '0.0.0.0'"),
        ("api:\n  listen: 192.168.1.4:8080\n  tokenFile: /etc/t\n",
         "line 2: 'listen' must be on the loopback interface (127.0.0.1 or [::1]); refusing '192.168.1.4'"),
        ("api:\n  listen: 127.0.0.1:8080\n", "line 2: 'listen' needs 'tokenFile' (the bearer token every request must carry)"),
        ("api:\n  listen: 127.0.0.1:99999\n  tokenFile: /t\n", "line 2: 'listen' port must be 1 to 65535 (got '99999')"),
        ("api:\n  socket: /run/carte/api.sock\n  socketMode: \"0666\"\n",
         "line 3: socketMode '0666' must be octal like 0660, with no access for others"),
        ("database: audit.sqlite\n", "line 1: 'database' must be an absolute path (got 'audit.sqlite')"),
        ("readers: all\n", "line 1: 'readers' must be a list of {match, role}"),
        ("policy:\n  tapAndGoWindow: 2d\n", "line 2: 'tapAndGoWindow' must be a duration like 45s, 15m or 8h (got '2d')"),
        ("badges:\n  siteKeyFile: site.key\n", "line 2: 'siteKeyFile' must be an absolute path (got 'site.key')"),
        ("badges:\n  enrolmentDelay: 2h\n", "line 2: 'enrolmentDelay' must be between 10 s and 3600 s (got 7200 s)"),
        ("badges:\n  uid: 045A3C12B26E80\n", "line 2: unknown key 'uid' in 'badges' (expected: database, enrolmentDelay, siteKeyFile)"),
        ("log:\n  level: info\nlog:\n  level: debug\n", "line 3: 'log' is given twice"),
    ])
    func errors(yaml: String, expected: String) {
        do {
            _ = try TerminalConfiguration.parse(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test("YAML syntax errors carry libyaml's line")
    func syntax() {
        do {
            _ = try TerminalConfiguration.parse(yaml: "policy:\n  requirePinpad: true\n   pinTimeout: [60s\n")
            Issue.record("accepted")
        } catch {
            guard case .configuration(let line, let reason) = error else { Issue.record("\(error)"); return }
            #expect(line == 3)
            #expect(reason.hasPrefix("YAML syntax:"))
        }
    }

    @Test("Hardware/carte.example.yaml is a valid configuration")
    func example() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let c = try TerminalConfiguration.load(path: root.appendingPathComponent("Hardware/carte.example.yaml").path)
        #expect(c.readers.map(\.role) == [.professional, .badge, .patient])
        #expect(c.api == .unixSocket(path: "/run/carte/api.sock", mode: 0o660))
        #expect(c.requirePinpad)
        #expect(!c.acceptTestCards)
    }

    @Test("Globs")
    func globs() {
        #expect(Glob.matches(pattern: "*pinpad*", "cherry pinpad 00 00"))
        #expect(Glob.matches(pattern: "gem?lto*", "gemalto pc twin"))
        #expect(!Glob.matches(pattern: "gem?lto", "gemalto pc twin"))
        #expect(Glob.matches(pattern: "*", ""))
        #expect(!Glob.matches(pattern: "a*b", "acd"))
    }
}
