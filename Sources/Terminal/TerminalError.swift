// Compiled alone into the fuzz targets `config` and `api-json` (scripts/fuzz.sh): Swift standard library only.

/// What went wrong in the terminal service, in the user's words.
public enum TerminalError: Error, Sendable, Hashable, CustomStringConvertible {
    case configuration(line: Int?, reason: String)
    case refusedBind(String)
    case database(String)
    case noSuchReader(String)
    case noPINExpected(String)
    case badRequest(String)
    case notAuthenticated(String)
    case io(String)

    public var description: String {
        switch self {
        case .configuration(let line?, let reason): return "line \(line): \(reason)"
        case .configuration(nil, let reason): return reason
        case .refusedBind(let s): return "refusing to listen on \(s): the API listens only on a Unix socket or 127.0.0.1"
        case .database(let s): return "audit database: \(s)"
        case .noSuchReader(let r): return "no reader named '\(r)'"
        case .noPINExpected(let r): return "reader '\(r)' is not waiting for a PIN"
        case .badRequest(let s): return s
        case .notAuthenticated(let s): return s
        case .io(let s): return s
        }
    }
}
