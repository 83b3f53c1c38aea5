import ISO7816

/// Why a reader script line failed.
public enum ReaderScriptError: Error, Sendable, Hashable, CustomStringConvertible {
    case syntax(line: Int, text: String)
    case noSuchReader(line: Int, index: Int)
    case unknownPersona(line: Int, id: String)

    public var description: String {
        switch self {
        case .syntax(let l, let t): return "script line \(l): cannot understand '\(t)' (insert N PERSONA [strict-t0] | remove N | unplug N | plug N | wait 100ms)"
        case .noSuchReader(let l, let i): return "script line \(l): there is no reader \(i)"
        case .unknownPersona(let l, let id): return "script line \(l): unknown persona '\(id)'"
        }
    }
}

/// Several simulated readers with one event stream (reader added/removed, card inserted/removed), and a tiny
/// script language for tests:
///
/// ```
/// insert 0 vitale2-martin        # card into reader 0 (optional: strict-t0)
/// wait 100ms                     # virtual wait (no real sleep): advances `virtualNanoseconds`; also 2s, 500us
/// remove 0
/// unplug 1                       # reader 1 disappears; plug 1 brings it back
/// ```
public actor VirtualReaderSet {
    /// Every event of every reader of the set, in order. One consumer.
    public nonisolated let events: AsyncStream<ReaderEvent>
    let continuation: AsyncStream<ReaderEvent>.Continuation
    public private(set) var readers: [SimulatedReader] = []
    /// Virtual time spent in script `wait` lines, in nanoseconds.
    public private(set) var virtualNanoseconds: Int64 = 0

    public init() {
        let (stream, continuation) = AsyncStream<ReaderEvent>.makeStream(bufferingPolicy: .unbounded)
        self.events = stream
        self.continuation = continuation
    }

    deinit { continuation.finish() }

    /// Creates and adds a reader; emits `.readerAdded`.
    @discardableResult
    public func addReader(name: String, configuration: SimulatedReaderConfiguration = .contact()) async -> SimulatedReader {
        let r = SimulatedReader(name: name, configuration: configuration)
        await add(r)
        return r
    }

    /// Adds an existing reader (e.g. one slot of `SimulatedReader.twoSlot`); emits `.readerAdded`.
    public func add(_ reader: SimulatedReader) async {
        let c = continuation
        await reader.setEventSink { c.yield($0) }
        readers.append(reader)
        continuation.yield(.readerAdded(reader.readerName))
    }

    /// Removes reader `index` from the set (as if unplugged for good); emits `.readerRemoved`.
    public func removeReader(at index: Int) async {
        guard readers.indices.contains(index) else { return }
        let r = readers.remove(at: index)
        await r.unplug()
        await r.setEventSink(nil)
    }

    public func reader(at index: Int) -> SimulatedReader? { readers.indices.contains(index) ? readers[index] : nil }

    public func reader(named name: String) -> SimulatedReader? { readers.first { $0.readerName == name } }

    /// Runs a script (see the type documentation). Stops at the first failing line.
    public func run(script: String) async throws(ReaderScriptError) {
        for (i, raw) in script.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = i + 1
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let verb = words.first else { continue }
            func readerArg() throws(ReaderScriptError) -> SimulatedReader {
                guard words.count >= 2, let n = Int(words[1]) else { throw .syntax(line: lineNumber, text: String(raw)) }
                guard let r = reader(at: n) else { throw .noSuchReader(line: lineNumber, index: n) }
                return r
            }
            switch verb {
            case "insert":
                guard words.count == 3 || (words.count == 4 && words[3] == "strict-t0") else {
                    throw .syntax(line: lineNumber, text: String(raw))
                }
                let r = try readerArg()
                do { try await r.insert(persona: words[2], t0Mode: words.count == 4 ? .strictT0 : .auto) } catch {
                    throw .unknownPersona(line: lineNumber, id: words[2])
                }
            case "remove":
                guard words.count == 2 else { throw .syntax(line: lineNumber, text: String(raw)) }
                await (try readerArg()).remove()
            case "unplug":
                guard words.count == 2 else { throw .syntax(line: lineNumber, text: String(raw)) }
                await (try readerArg()).unplug()
            case "plug":
                guard words.count == 2 else { throw .syntax(line: lineNumber, text: String(raw)) }
                await (try readerArg()).plugIn()
            case "wait":
                guard words.count == 2, let ns = Self.parseDuration(words[1]) else {
                    throw .syntax(line: lineNumber, text: String(raw))
                }
                virtualNanoseconds += ns
            default:
                throw .syntax(line: lineNumber, text: String(raw))
            }
        }
    }

    /// `100ms`, `2s`, `500us` → nanoseconds.
    static func parseDuration(_ s: String) -> Int64? {
        for (suffix, factor) in [("ms", Int64(1_000_000)), ("us", 1_000), ("s", 1_000_000_000)] where s.hasSuffix(suffix) {
            guard let v = Int64(s.dropLast(suffix.count)), v >= 0 else { return nil }
            return v * factor
        }
        return nil
    }
}
