import CPCSCLite
import Foundation
import ISO7816

/// A reader's state as `carte readers` shows it (cli.md: `empty`, `present`, `mute`, `inUse`), plus
/// `unavailable` for a reader pcscd knows but cannot talk to.
public enum PCSCReaderState: String, Sendable, Hashable, Codable {
    case empty, present, mute, inUse, unavailable
}

/// One reader at one moment.
public struct PCSCReaderSnapshot: Sendable, Hashable {
    /// The PC/SC reader name, e.g. `Virtual PCD 00 00`.
    public var name: String
    public var state: PCSCReaderState
    /// The card's ATR (2…33 bytes) when a card is present, else empty.
    public var atr: [UInt8]
    /// The card-event counter pcsc-lite keeps per reader (upper 16 bits of `dwEventState`).
    public var eventCount: Int

    public init(name: String, state: PCSCReaderState, atr: [UInt8], eventCount: Int = 0) {
        self.name = name
        self.state = state
        self.atr = atr
        self.eventCount = eventCount
    }

    /// True when a card is in the slot (present, mute or in use).
    public var hasCard: Bool { state == .present || state == .mute || state == .inUse }
}

/// What the reader monitor reports.
public enum PCSCReaderEvent: Sendable, Hashable, CustomStringConvertible {
    /// Every reader's state: first thing on start, and again after monitoring is restored.
    case snapshot([PCSCReaderSnapshot])
    case readerAdded(String)
    case readerRemoved(String)
    /// A card arrived, with its ATR.
    case cardInserted(reader: String, atr: [UInt8])
    case cardRemoved(reader: String)
    /// A card is in the slot but does not answer to reset.
    case cardMute(reader: String)
    /// pcscd is unreachable (not running, stopped, restarted); the monitor keeps retrying.
    case monitoringDegraded(reason: String)
    /// pcscd is reachable again; a fresh snapshot follows.
    case monitoringRestored

    public var description: String {
        switch self {
        case .snapshot(let s): return "\(s.count) reader(s)"
        case .readerAdded(let r): return "reader added: \(r)"
        case .readerRemoved(let r): return "reader removed: \(r)"
        case .cardInserted(let r, let atr): return "card inserted in \(r), ATR \(atr.hexString(separator: " "))"
        case .cardRemoved(let r): return "card removed from \(r)"
        case .cardMute(let r): return "card in \(r) does not answer"
        case .monitoringDegraded(let why): return "monitoring degraded: \(why)"
        case .monitoringRestored: return "monitoring restored"
        }
    }
}

/// Decodes a `dwEventState` (PC/SC part 5 `SCARD_STATE_*`; pcsc-lite keeps a per-reader event counter in the
/// upper 16 bits, spec note §3.1).
public func pcscReaderState(eventState: UInt, atr: [UInt8]) -> PCSCReaderState {
    let s = eventState & 0xFFFF
    if s & UInt(SCARD_STATE_UNKNOWN) != 0 || s & UInt(SCARD_STATE_UNAVAILABLE) != 0 { return .unavailable }
    if s & UInt(SCARD_STATE_MUTE) != 0 { return .mute }
    if s & UInt(SCARD_STATE_PRESENT) != 0 {
        return s & UInt(SCARD_STATE_EXCLUSIVE) != 0 ? .inUse : .present
    }
    return .empty
}

/// The reader list and every reader's state, once (`SCardListReaders` then `SCardGetStatusChange` with
/// `SCARD_STATE_UNAWARE`, which answers at once). Runs on its own thread with its own context.
/// - Throws: `TransportError.serviceUnavailable` when pcscd is not running; `permissionDenied` on polkit denial.
public func pcscReaderSnapshot() async throws(TransportError) -> [PCSCReaderSnapshot] {
    let t = PCSCThread(name: "carte.pcsc.snapshot")
    defer { t.shutdown() }
    return try await t.run { () -> Result<[PCSCReaderSnapshot], TransportError> in
        let crv = t.ensureContext()
        guard crv == Int(SCARD_S_SUCCESS) else { return .failure(PCSCStatus.transportError(crv)!) }
        switch pcscListReaders(t.context) {
        case .failure(let e): return .failure(PCSCStatus.transportError(e.rv)!)
        case .success(let names):
            if names.isEmpty { return .success([]) }
            let (rv, snaps, _) = queryStates(t.context, names: names, current: names.map { _ in 0 }, timeout: 0)
            if rv != Int(SCARD_S_SUCCESS) && rv != Int(SCARD_E_TIMEOUT) {
                return .failure(PCSCStatus.transportError(rv)!)
            }
            return .success(snaps.map { $0.snapshot })
        }
    }.get()
}

/// One `SCardGetStatusChange` over `names` (and, with `pnp`, the `\\?PnP?\Notification` entry last).
/// - Returns: the return code, per reader the snapshot and raw `dwEventState`, and the PnP entry's `dwEventState`.
func queryStates(
    _ ctx: SCARDCONTEXT, names: [String], current: [UInt], timeout: UInt, pnp: UInt? = nil
) -> (Int, [(snapshot: PCSCReaderSnapshot, eventState: UInt)], pnpEventState: UInt) {
    var all = names
    if pnp != nil { all.append("\\\\?PnP?\\Notification") }
    // The C strings must outlive the call.
    let cNames: [UnsafeMutablePointer<CChar>] = all.map { strdup($0)! }
    defer { cNames.forEach { free($0) } }
    var states = [SCARD_READERSTATE](repeating: SCARD_READERSTATE(), count: all.count)
    for i in 0..<all.count {
        states[i].szReader = UnsafePointer(cNames[i])
        states[i].dwCurrentState = i < names.count ? DWORD(current[i]) : DWORD(pnp ?? 0)
    }
    let rv = Int(SCardGetStatusChange(ctx, DWORD(timeout), &states, DWORD(states.count)))
    var out: [(PCSCReaderSnapshot, UInt)] = []
    for i in 0..<names.count {
        let st = states[i]
        let len = min(Int(st.cbAtr), Int(MAX_ATR_SIZE))
        let atr: [UInt8] = withUnsafeBytes(of: st.rgbAtr) { Array($0.prefix(len)) }
        let ev = UInt(st.dwEventState)
        let state = pcscReaderState(eventState: ev, atr: atr)
        out.append(
            (PCSCReaderSnapshot(name: names[i], state: state, atr: state == .empty ? [] : atr, eventCount: Int(ev >> 16)), ev))
    }
    let pnpEvent: UInt = pnp != nil ? UInt(states[states.count - 1].dwEventState) : 0
    return (rv, out, pnpEvent)
}

/// Reader and card events as an `AsyncSequence`, from a dedicated thread looping on `SCardGetStatusChange`
/// with the `\\?PnP?\Notification` entry (spec note §3.1).
///
/// - Starts with `.snapshot` of every reader, then reports changes. A removal and re-insertion between two waits is
///   still reported (`cardRemoved` then `cardInserted`), from the per-reader event counter in the upper 16 bits
///   of `dwEventState` (pcsc-lite ≥ 1.6); the PnP entry's reader counter (pcsc-lite ≥ 2.3.0) is fed back too,
///   and older versions ignore it.
/// - `SCARD_E_NO_SERVICE` / `SCARD_E_SERVICE_STOPPED` / `SCARD_F_COMM_ERROR` (and failing to reach pcscd at all):
///   `.monitoringDegraded`, back-off (250 ms doubling to `maxBackoff`), rebuild the context, re-list readers,
///   `.monitoringRestored`, the changes seen, and a fresh `.snapshot`. It never ends by itself.
/// - Each iteration runs its own thread and context; ending the iteration (task cancelled, loop left) calls
///   `SCardCancel` on that context.
public struct PCSCReaderMonitor: AsyncSequence, Sendable {
    public typealias Element = PCSCReaderEvent

    /// Longest wait between two reconnection attempts, in ms.
    public var maxBackoffMilliseconds: Int
    /// Upper bound of one `SCardGetStatusChange` wait, in ms; the loop re-lists readers after it (a safety net for
    /// pcsc-lite < 2.3.0, whose PnP entry can miss a reader added between two waits).
    public var waitMilliseconds: Int

    public init(maxBackoffMilliseconds: Int = 2000, waitMilliseconds: Int = 10_000) {
        self.maxBackoffMilliseconds = maxBackoffMilliseconds
        self.waitMilliseconds = waitMilliseconds
    }

    public func makeAsyncIterator() -> AsyncStream<PCSCReaderEvent>.Iterator {
        let (stream, continuation) = AsyncStream<PCSCReaderEvent>.makeStream(bufferingPolicy: .unbounded)
        let loop = MonitorLoop(
            emit: { continuation.yield($0) }, maxBackoffMs: maxBackoffMilliseconds, waitMs: waitMilliseconds)
        continuation.onTermination = { _ in loop.cancel() }
        loop.start()
        return stream.makeAsyncIterator()
    }
}

final class MonitorLoop: @unchecked Sendable {
    private let emit: @Sendable (PCSCReaderEvent) -> Void
    private let maxBackoffMs: Int
    private let waitMs: Int
    private let lock = NSCondition()
    private var cancelled = false
    private var context: SCARDCONTEXT = 0  // guarded by lock (read by cancel())

    init(emit: @escaping @Sendable (PCSCReaderEvent) -> Void, maxBackoffMs: Int, waitMs: Int) {
        self.emit = emit
        self.maxBackoffMs = maxBackoffMs
        self.waitMs = waitMs
    }

    func start() {
        let t = Thread { [self] in self.run() }
        t.name = "carte.pcsc.monitor"
        t.start()
    }

    /// Stops the loop: `SCardCancel` on the context that waits (allowed from another thread, spec note §3.1).
    func cancel() {
        lock.lock()
        cancelled = true
        if context != 0 { _ = SCardCancel(context) }
        lock.broadcast()
        lock.unlock()
    }

    private var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    private func sleep(ms: Int) {
        let deadline = Date().addingTimeInterval(Double(ms) / 1000)
        lock.lock()
        while !cancelled { if !lock.wait(until: deadline) { break } }
        lock.unlock()
    }

    private func setContext(_ c: SCARDCONTEXT) {
        lock.lock()
        context = c
        lock.unlock()
    }

    private func releaseContext() {
        lock.lock()
        let c = context
        context = 0
        lock.unlock()
        if c != 0 { _ = SCardReleaseContext(c) }
    }

    private func run() {
        var known: [String: (snapshot: PCSCReaderSnapshot, eventState: UInt)] = [:]
        var order: [String] = []
        var pnpState: UInt = 0
        var degraded = false
        var needSnapshot = true
        var backoff = 250

        func degrade(_ why: String) {
            releaseContext()
            if !degraded {
                degraded = true
                emit(.monitoringDegraded(reason: why))
            }
            sleep(ms: backoff)
            backoff = min(backoff * 2, maxBackoffMs)
        }

        while !isCancelled {
            // 1. A context.
            lock.lock()
            var ctx = context
            lock.unlock()
            if ctx == 0 {
                var c: SCARDCONTEXT = 0
                let rv = Int(SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &c))
                if rv != Int(SCARD_S_SUCCESS) {
                    degrade(PCSCStatus.transportError(rv)?.description ?? PCSCStatus.name(rv))
                    continue
                }
                setContext(c)
                ctx = c
                pnpState = 0
                needSnapshot = true
            }
            // 2. The reader list.
            let names: [String]
            switch pcscListReaders(ctx) {
            case .success(let n): names = n
            case .failure(let e):
                if PCSCStatus.isServiceLoss(e.rv) || e.rv == Int(SCARD_E_INVALID_HANDLE) {
                    degrade(PCSCStatus.transportError(e.rv)?.description ?? PCSCStatus.name(e.rv))
                } else {
                    sleep(ms: backoff)
                }
                continue
            }
            if degraded {
                degraded = false
                backoff = 250
                emit(.monitoringRestored)
            }
            // 3. Readers that came or went.
            for n in order where !names.contains(n) {
                if known[n]?.snapshot.hasCard == true { emit(.cardRemoved(reader: n)) }
                emit(.readerRemoved(n))
                known[n] = nil
            }
            let added = names.filter { known[$0] == nil }
            // 4. Current states of new readers, or of all after a (re)start: UNAWARE answers at once.
            if needSnapshot || !added.isEmpty {
                let ask = needSnapshot ? names : added
                let (rv, res, _) = queryStates(ctx, names: ask, current: ask.map { _ in 0 }, timeout: 0)
                if PCSCStatus.isServiceLoss(rv) {
                    degrade(PCSCStatus.name(rv))
                    continue
                }
                for r in res {
                    let old = known[r.snapshot.name]
                    known[r.snapshot.name] = r
                    if needSnapshot {
                        // After a restart, report what changed while pcscd was away.
                        if let old, !order.isEmpty {
                            report(old: old.snapshot, new: r.snapshot, countersComparable: false)
                        } else if !order.isEmpty {
                            emit(.readerAdded(r.snapshot.name))
                            if r.snapshot.hasCard { report(old: nil, new: r.snapshot, countersComparable: false) }
                        }
                    } else {
                        emit(.readerAdded(r.snapshot.name))
                        report(old: nil, new: r.snapshot, countersComparable: false)
                    }
                }
                order = names
                if needSnapshot {
                    emit(.snapshot(names.compactMap { known[$0]?.snapshot }))
                    needSnapshot = false
                }
            }
            order = names
            // 5. Wait for a change (readers, or the PnP entry).
            if isCancelled { break }
            let current = names.map { known[$0]!.eventState & ~UInt(SCARD_STATE_CHANGED) }
            let (rv, res, pnpEvent) = queryStates(
                ctx, names: names, current: current, timeout: UInt(waitMs), pnp: pnpState)
            if rv == Int(SCARD_E_CANCELLED) { break }
            if rv == Int(SCARD_E_TIMEOUT) { continue }
            if PCSCStatus.isServiceLoss(rv) || rv == Int(SCARD_E_INVALID_HANDLE) {
                degrade(PCSCStatus.transportError(rv)?.description ?? PCSCStatus.name(rv))
                continue
            }
            if rv == Int(SCARD_E_UNKNOWN_READER) || rv == Int(SCARD_E_READER_UNAVAILABLE) { continue }
            guard rv == Int(SCARD_S_SUCCESS) else {
                sleep(ms: 250)
                continue
            }
            pnpState = pnpEvent & ~UInt(SCARD_STATE_CHANGED)
            for r in res {
                guard let old = known[r.snapshot.name] else { continue }
                if r.eventState & UInt(SCARD_STATE_CHANGED) == 0 { continue }
                known[r.snapshot.name] = r
                report(old: old.snapshot, new: r.snapshot, countersComparable: true)
            }
        }
        releaseContext()
    }

    private func report(old: PCSCReaderSnapshot?, new: PCSCReaderSnapshot, countersComparable: Bool) {
        for e in cardEvents(old: old, new: new, countersComparable: countersComparable) { emit(e) }
    }

}

/// The card events between two states of one reader (`old` = nil: the reader is new).
///
/// A card removed and re-inserted between two waits keeps the state "present" but moves pcsc-lite's per-reader
/// event counter (upper 16 bits of `dwEventState`) by 2 or more, or changes the ATR: reported as removed then
/// inserted. `countersComparable` is false right after a context was rebuilt (a restarted pcscd restarts its
/// counters).
func cardEvents(old: PCSCReaderSnapshot?, new: PCSCReaderSnapshot, countersComparable: Bool) -> [PCSCReaderEvent] {
    let name = new.name
    let arrival: PCSCReaderEvent = new.state == .mute ? .cardMute(reader: name) : .cardInserted(reader: name, atr: new.atr)
    let wasCard = old?.hasCard ?? false
    if wasCard && !new.hasCard { return [.cardRemoved(reader: name)] }
    if !wasCard && new.hasCard { return [arrival] }
    guard wasCard, new.hasCard, let old else { return [] }
    let counterMoved = countersComparable && (new.eventCount - old.eventCount) & 0xFFFF >= 2
    if counterMoved || old.atr != new.atr { return [.cardRemoved(reader: name), arrival] }
    if old.state != .mute && new.state == .mute { return [.cardMute(reader: name)] }
    return []
}
