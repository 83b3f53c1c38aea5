// Foundation, Logging and Yams only (with ReaderRole.swift and TerminalError.swift): the fuzz target `config`
// (Fuzz/Targets/FuzzConfig.swift, scripts/fuzz.sh) compiles this file without the rest of the module.
import Foundation
import Logging
import Yams

/// One `readers:` rule: readers whose name matches `match` take `role`.
public struct ReaderRule: Sendable, Hashable {
    /// A glob on the reader name (`*` any run, `?` one character), case-insensitive.
    public var match: String
    public var role: ReaderRole

    public init(match: String, role: ReaderRole) {
        self.match = match
        self.role = role
    }

    /// Whether `name` matches the rule's glob.
    public func matches(_ name: String) -> Bool { Glob.matches(pattern: match.lowercased(), name.lowercased()) }
}

/// Where the local API listens: never anything but a Unix socket or the loopback interface.
public enum APIBinding: Sendable, Hashable {
    /// A Unix domain socket at `path`, created with file mode `mode` (default 0660).
    case unixSocket(path: String, mode: UInt16)
    /// TCP on a loopback address (`127.0.0.1`, `::1`), every request carrying `Authorization: Bearer <token>`; the
    /// token is read from `tokenFile` at start-up.
    case loopback(host: String, port: Int, tokenFile: String)
}

/// The `carte serve` configuration (YAML; documented in Hardware/carte.example.yaml).
public struct TerminalConfiguration: Sendable, Hashable {
    /// Empty: every reader, with a role from its capabilities (pinpad → professional, contactless → badge,
    /// otherwise patient). Otherwise the first matching rule gives the role, and readers matching none are ignored.
    public var readers: [ReaderRule] = []
    /// Directory of trusted CA certificates (PEM or DER), nil for the built-in set of the Authentication module.
    public var trustAnchors: String?
    /// Directory of CRLs, nil when CRLs are not checked locally.
    public var crlDirectory: String?
    public var requirePinpad = false
    /// How long a badge tap re-authenticates a professional after a CPS authentication, in seconds.
    public var tapAndGoWindowSeconds = 12 * 3600  // issue 5: default 12 h
    public var acceptTestCards = false
    public var pinTimeoutSeconds = 60
    public var recognitionTimeoutSeconds = 10
    public var api: APIBinding = .unixSocket(path: "/run/carte/api.sock", mode: 0o660)
    public var databasePath = "/var/lib/carte/audit.sqlite"
    /// The badge enrolment store (SQLite, `badges.database`); nil: `badges.sqlite` next to the audit database.
    public var badgeDatabasePath: String?
    /// The file holding the AES-128 site master key badge keys are diversified from (`badges.siteKeyFile`, mode
    /// 0600); nil: no badge authenticates (taps refused, enrolment unavailable). `--simulate` uses the personas' key.
    public var siteKeyFile: String?
    /// How long after a `cps-pin` authentication a badge may be enrolled to that person, in seconds
    /// (`badges.enrolmentDelay`, default 5 min).
    public var enrolmentDelaySeconds = 300
    public var logLevel: Logger.Level = .info

    public init() {}

    /// Where the badge enrolments live: `badgeDatabasePath`, or `badges.sqlite` in the audit database's directory.
    public var badgeDatabase: String {
        badgeDatabasePath ?? ((databasePath as NSString).deletingLastPathComponent + "/badges.sqlite")
    }

    /// The role of reader `descriptor`, nil when the configuration leaves it unused.
    public func role(for descriptor: ReaderDescriptor) -> ReaderRole? {
        if readers.isEmpty {
            return descriptor.hasPinpad ? .professional : descriptor.isContactless ? .badge : .patient
        }
        return readers.first { $0.matches(descriptor.name) }?.role
    }

    /// Reads and validates the file at `path`.
    /// - Throws: `TerminalError.configuration` with the line and the reason.
    public static func load(path: String) throws(TerminalError) -> TerminalConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .configuration(line: nil, reason: "cannot read the configuration file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .configuration(line: nil, reason: "\(path) is not UTF-8 text")
        }
        return try parse(yaml: text)
    }

    /// Parses and validates a YAML configuration.
    /// - Throws: `TerminalError.configuration(line:reason:)`: YAML syntax errors with the line libyaml reports,
    ///   unknown keys, wrong types and out-of-range values with the line of the offending node.
    public static func parse(yaml: String) throws(TerminalError) -> TerminalConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let e as YamlError {
            throw yamlError(e)
        } catch {
            throw .configuration(line: nil, reason: "not YAML: \(error)")
        }
        var c = TerminalConfiguration()
        guard let root else { return c }
        let top = try mapping(root, "the configuration", keys: ["readers", "trust", "policy", "api", "database", "badges", "log"])
        for (key, value) in top {
            switch key {
            case "readers":
                guard case .sequence(let seq) = value else {
                    throw err(value, "'readers' must be a list of {match, role}")
                }
                for item in seq {
                    let m = try mapping(item, "a reader rule", keys: ["match", "role"])
                    guard let matchNode = m["match"] else { throw err(item, "a reader rule needs 'match'") }
                    guard let roleNode = m["role"] else { throw err(item, "a reader rule needs 'role'") }
                    let pattern = try string(matchNode, "match")
                    guard !pattern.isEmpty else { throw err(matchNode, "'match' is empty (use \"*\" for all readers)") }
                    let roleText = try string(roleNode, "role")
                    guard let role = ReaderRole(rawValue: roleText) else {
                        throw err(roleNode, "unknown role '\(roleText)' (expected professional, patient or badge)")
                    }
                    c.readers.append(ReaderRule(match: pattern, role: role))
                }
            case "trust":
                let m = try mapping(value, "'trust'", keys: ["anchors", "crlDirectory"])
                if let n = m["anchors"] { c.trustAnchors = try path(n, "anchors") }
                if let n = m["crlDirectory"] { c.crlDirectory = try path(n, "crlDirectory") }
            case "policy":
                let m = try mapping(
                    value, "'policy'",
                    keys: ["requirePinpad", "tapAndGoWindow", "acceptTestCards", "pinTimeout", "recognitionTimeout"])
                if let n = m["requirePinpad"] { c.requirePinpad = try bool(n, "requirePinpad") }
                if let n = m["acceptTestCards"] { c.acceptTestCards = try bool(n, "acceptTestCards") }
                if let n = m["tapAndGoWindow"] {
                    c.tapAndGoWindowSeconds = try duration(n, "tapAndGoWindow", max: 24 * 3600)
                }
                if let n = m["pinTimeout"] { c.pinTimeoutSeconds = try duration(n, "pinTimeout", min: 5, max: 600) }
                if let n = m["recognitionTimeout"] {
                    c.recognitionTimeoutSeconds = try duration(n, "recognitionTimeout", min: 1, max: 120)
                }
            case "api":
                let m = try mapping(value, "'api'", keys: ["socket", "socketMode", "listen", "tokenFile"])
                if m["socket"] != nil && m["listen"] != nil {
                    throw err(value, "'api' takes either 'socket' or 'listen', not both")
                }
                if let n = m["listen"] {
                    let (host, port) = try loopback(n)
                    guard let t = m["tokenFile"] else {
                        throw err(n, "'listen' needs 'tokenFile' (the bearer token every request must carry)")
                    }
                    c.api = .loopback(host: host, port: port, tokenFile: try path(t, "tokenFile"))
                } else {
                    if let t = m["tokenFile"] { throw err(t, "'tokenFile' is for 'listen' (TCP); a Unix socket is guarded by its file mode") }
                    var mode: UInt16 = 0o660
                    if let n = m["socketMode"] {
                        let s = try string(n, "socketMode")
                        guard let v = UInt16(s, radix: 8), v <= 0o777, v & 0o007 == 0 else {
                            throw err(n, "socketMode '\(s)' must be octal like 0660, with no access for others")
                        }
                        mode = v
                    }
                    var p = "/run/carte/api.sock"
                    if let n = m["socket"] { p = try path(n, "socket") }
                    c.api = .unixSocket(path: p, mode: mode)
                }
            case "database":
                c.databasePath = try path(value, "database")
            case "badges":
                let m = try mapping(value, "'badges'", keys: ["database", "siteKeyFile", "enrolmentDelay"])
                if let n = m["database"] { c.badgeDatabasePath = try path(n, "database") }
                if let n = m["siteKeyFile"] { c.siteKeyFile = try path(n, "siteKeyFile") }
                if let n = m["enrolmentDelay"] {
                    c.enrolmentDelaySeconds = try duration(n, "enrolmentDelay", min: 10, max: 3600)
                }
            case "log":
                let m = try mapping(value, "'log'", keys: ["level"])
                if let n = m["level"] {
                    let s = try string(n, "level")
                    guard let l = Logger.Level(rawValue: s) else {
                        throw err(n, "unknown log level '\(s)' (expected trace, debug, info, notice, warning, error or critical)")
                    }
                    c.logLevel = l
                }
            default: break
            }
        }
        return c
    }

    // MARK: Node helpers

    static func line(_ n: Node) -> Int? { n.mark?.line }

    static func err(_ n: Node, _ reason: String) -> TerminalError { .configuration(line: line(n), reason: reason) }

    static func yamlError(_ e: YamlError) -> TerminalError {
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let ctx = context.map { "\($0.text) " } ?? ""
            return .configuration(line: mark.line, reason: "YAML syntax: \(ctx)\(problem)")
        case .reader(let problem, _, _, _):
            return .configuration(line: nil, reason: "YAML: \(problem)")
        default:
            return .configuration(line: nil, reason: "YAML: \(e)")
        }
    }

    /// A mapping's keys in order, refusing unknown or repeated keys.
    static func mapping(_ n: Node, _ what: String, keys: Set<String>) throws(TerminalError) -> KeyedNodes {
        guard case .mapping(let m) = n else { throw err(n, "\(what) must be a mapping of key: value") }
        var out = KeyedNodes()
        for (k, v) in m {
            guard case .scalar(let s) = k else { throw err(k, "keys of \(what) must be plain words") }
            guard keys.contains(s.string) else {
                throw err(k, "unknown key '\(s.string)' in \(what) (expected: \(keys.sorted().joined(separator: ", ")))")
            }
            guard out[s.string] == nil else { throw err(k, "'\(s.string)' is given twice") }
            out.append(s.string, v)
        }
        return out
    }

    static func string(_ n: Node, _ key: String) throws(TerminalError) -> String {
        guard case .scalar(let s) = n else { throw err(n, "'\(key)' must be a single value") }
        return s.string
    }

    static func path(_ n: Node, _ key: String) throws(TerminalError) -> String {
        let s = try string(n, key)
        guard s.hasPrefix("/") else { throw err(n, "'\(key)' must be an absolute path (got '\(s)')") }
        guard !s.contains("\0") else { throw err(n, "'\(key)' contains a NUL byte") }
        return s
    }

    static func bool(_ n: Node, _ key: String) throws(TerminalError) -> Bool {
        let s = try string(n, key)
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw err(n, "'\(key)' must be true or false (got '\(s)')")
        }
    }

    /// `90`, `90s`, `15m`, `8h` → seconds.
    static func duration(_ n: Node, _ key: String, min: Int = 0, max: Int) throws(TerminalError) -> Int {
        let s = try string(n, key).trimmingCharacters(in: .whitespaces)
        var digits = s
        var unit = 1
        if let last = s.last, !last.isNumber {
            digits = String(s.dropLast())
            switch last {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            default: throw err(n, "'\(key)' must be a duration like 45s, 15m or 8h (got '\(s)')")
            }
        }
        guard let v = Int(digits), v >= 0, v <= Int.max / 3600 else {
            throw err(n, "'\(key)' must be a duration like 45s, 15m or 8h (got '\(s)')")
        }
        let seconds = v * unit
        guard seconds >= min, seconds <= max else {
            throw err(n, "'\(key)' must be between \(min) s and \(max) s (got \(seconds) s)")
        }
        return seconds
    }

    /// `127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT`; any other host is refused.
    static func loopback(_ n: Node) throws(TerminalError) -> (String, Int) {
        let s = try string(n, "listen")
        guard let colon = s.lastIndex(of: ":") else { throw err(n, "'listen' must be 127.0.0.1:PORT (got '\(s)')") }
        var host = String(s[..<colon])
        let portText = String(s[s.index(after: colon)...])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw err(n, "'listen' port must be 1 to 65535 (got '\(portText)')")
        }
        switch host {
        case "127.0.0.1", "localhost": return ("127.0.0.1", port)
        case "::1": return ("::1", port)
        default:
            throw err(n, "'listen' must be on the loopback interface (127.0.0.1 or [::1]); refusing '\(host)'")
        }
    }
}

/// The pairs of a YAML mapping, in file order.
struct KeyedNodes: Sequence {
    var pairs: [(String, Node)] = []
    subscript(_ key: String) -> Node? { pairs.first { $0.0 == key }?.1 }
    mutating func append(_ k: String, _ v: Node) { pairs.append((k, v)) }
    func makeIterator() -> IndexingIterator<[(String, Node)]> { pairs.makeIterator() }
}

/// Shell-style globs (`*`, `?`) without character classes.
enum Glob {
    static func matches(pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
