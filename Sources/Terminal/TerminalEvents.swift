import ISO7816
import Foundation

/// The kinds of event on `GET /v1/events` (the `type` key).
public enum TerminalEventType: String, Sendable, Hashable, Codable {
    case readerAdded, readerRemoved, readerUnplugged, readerDegraded, idle
    case cardInserted, cardRecognised, pinRequested, authenticated, patientIdentified, refused, cardRemoved
    case sessionEnded, monitoringDegraded, monitoringRestored, badgeEnrolled, badgeRevoked
}

/// One event of the stream, as JSON on the WebSocket. Never a PIN; NIRs only masked.
public struct TerminalEvent: Sendable, Hashable, Codable {
    /// 1, 2, 3 … in publication order.
    public var seq: Int
    /// ISO 8601 UTC.
    public var time: String
    public var type: TerminalEventType
    /// The reader's id in the API (`r1`, `r2` …).
    public var reader: String?
    public var readerName: String?
    public var role: ReaderRole?
    public var session: String?
    public var state: ReaderPhase?
    /// The card's ATR, hex uppercase.
    public var atr: String?
    public var cardKind: CardKind?
    public var onPinpad: Bool?
    public var identity: AuthenticatedProfessional?
    public var assurance: AssuranceLevel?
    public var patient: PatientIdentification?
    public var reason: String?
    public var reasonText: String?
    public var triesLeft: Int?
    public var badge: EnrolledBadge?

    public init(seq: Int = 0, time: String = "", type: TerminalEventType) {
        self.seq = seq
        self.time = time
        self.type = type
    }

    /// One JSON line (sorted keys).
    public var json: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? enc.encode(self)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}

/// Fan-out of events to any number of subscribers (WebSocket clients, tests). Each subscriber has its own buffer
/// of at most `bufferLimit` events (oldest dropped when a client is too slow).
public actor EventBus {
    var subscribers: [Int: AsyncStream<TerminalEvent>.Continuation] = [:]
    var nextID = 0
    var seq = 0
    let bufferLimit: Int
    /// The last events published (at most 64), replayed to no one: for `GET /v1/health` and diagnostics.
    public private(set) var recent: [TerminalEvent] = []

    public init(bufferLimit: Int = 1024) { self.bufferLimit = bufferLimit }

    /// A stream of every event published from now on.
    public func subscribe() -> AsyncStream<TerminalEvent> {
        let (stream, c) = AsyncStream<TerminalEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferLimit))
        let id = nextID
        nextID += 1
        subscribers[id] = c
        c.onTermination = { [weak self] _ in Task { await self?.drop(id) } }
        return stream
    }

    func drop(_ id: Int) { subscribers[id] = nil }

    public var subscriberCount: Int { subscribers.count }

    /// Numbers, stamps and delivers `event`; returns it as delivered.
    @discardableResult
    public func publish(_ event: TerminalEvent) -> TerminalEvent {
        seq += 1
        var e = event
        e.seq = seq
        if e.time.isEmpty { e.time = AuditLog.timestamp(Date()) }
        for c in subscribers.values { c.yield(e) }
        recent.append(e)
        if recent.count > 64 { recent.removeFirst(recent.count - 64) }
        return e
    }

    /// Ends every subscription.
    public func finish() {
        for c in subscribers.values { c.finish() }
        subscribers = [:]
    }
}

/// PINs typed through the API, handed to the one flow waiting on that reader, then dropped.
public actor PINMailbox: PINEntry {
    var waiting: [String: (token: Int, continuation: CheckedContinuation<PINCode?, Never>)] = [:]
    var nextToken = 0

    public init() {}

    public func awaitPIN(reader: String) async -> PINCode? {
        nextToken += 1
        let token = nextToken
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<PINCode?, Never>) in
                if Task.isCancelled {
                    c.resume(returning: nil)
                    return
                }
                waiting[reader]?.continuation.resume(returning: nil)
                waiting[reader] = (token, c)
            }
        } onCancel: {
            Task { await self.cancel(reader: reader, token: token) }
        }
    }

    /// Whether a flow waits for a PIN on `reader`.
    public func isWaiting(reader: String) -> Bool { waiting[reader] != nil }

    /// Hands `pin` to the flow waiting on `reader`; false (and the PIN dropped) when none waits.
    public func submit(reader: String, pin: PINCode) -> Bool {
        guard let w = waiting.removeValue(forKey: reader) else { return false }
        w.continuation.resume(returning: pin)
        return true
    }

    /// Ends the wait on `reader` with no PIN.
    public func cancel(reader: String) {
        waiting.removeValue(forKey: reader)?.continuation.resume(returning: nil)
    }

    /// Ends the wait `token` only (a cancelled flow never ends a newer flow's wait).
    func cancel(reader: String, token: Int) {
        guard waiting[reader]?.token == token else { return }
        cancel(reader: reader)
    }
}
