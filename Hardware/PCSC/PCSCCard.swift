import CPCSCLite
import Foundation
import ISO7816

/// How a PC/SC connection shares the card (`SCARD_SHARE_*`, PC/SC part 5 §3.1.3).
public enum PCSCShareMode: Sendable, Hashable {
    /// Other applications may use the card between transactions (the normal mode).
    case shared
    /// Nobody else may connect while this connection is open.
    case exclusive
    /// Talk to the reader only (control commands, no card needed).
    case direct

    var dword: DWORD {
        switch self {
        case .shared: return DWORD(SCARD_SHARE_SHARED)
        case .exclusive: return DWORD(SCARD_SHARE_EXCLUSIVE)
        case .direct: return DWORD(SCARD_SHARE_DIRECT)
        }
    }
}

/// One PC/SC reader slot as a `CardTransport`: connect, transmit, control, transactions, disconnect.
///
/// An actor that runs on the connection's own thread: its executor is a dedicated thread that owns its own
/// `SCARDCONTEXT` (spec note §3.1 threading rule), so every pcsc-lite call, blocking ones included, runs there and
/// never on Swift's cooperative pool. A call from another task hops to that thread and back (two thread wake-ups);
/// `withSession` runs a whole exchange on the thread, where each `transmit` costs no hop at all.
///
/// Recovery follows spec note §3.2:
/// - `SCARD_W_RESET_CARD`: the connection is re-established with `SCardReconnect(…, SCARD_LEAVE_CARD)` and the
///   call throws `TransportError.cardReset`; the caller replays its set-up (SELECT, PIN) — the APDU is never resent.
/// - `SCARD_W_REMOVED_CARD`: the handle is dropped, the call throws `cardRemoved`; `connect` works again after
///   the next insertion.
/// - `SCARD_E_SHARING_VIOLATION`: retried `sharingRetries` times (50 ms doubling), then `busy`.
/// - `SCARD_E_NO_SERVICE` / `SCARD_E_SERVICE_STOPPED` / `SCARD_F_COMM_ERROR`: the context is rebuilt on the next
///   call; the call throws `serviceUnavailable`.
/// - `SCARD_W_SECURITY_VIOLATION` (polkit): `permissionDenied`.
public actor PCSCCard: CardTransport {
    public nonisolated let readerName: String
    /// The share mode used by `connect`.
    public nonisolated let shareMode: PCSCShareMode
    /// How many times a sharing violation is retried before `busy` is thrown.
    public nonisolated let sharingRetries: Int

    /// The receive buffer's size: the longest R-APDU (65536 data bytes + SW1-SW2) plus room for a reader's extra.
    static let receiveCapacity = 65538 + 16

    private nonisolated let thread: PCSCThread
    /// One receive buffer for the connection's lifetime (no allocation and no zero-fill per APDU).
    private nonisolated(unsafe) let receiveBuffer: UnsafeMutablePointer<UInt8>
    private var handle: SCARDHANDLE = 0
    private var activeProtocol: DWORD = 0
    private var preferredMask: DWORD = 0
    private var atr: [UInt8] = []
    private var cachedFeatures: PCSCFeatureList? = nil
    private var cachedProperties: PCSCTLVProperties? = nil
    /// The card whose session the current task is in (nested sessions join it; a cancelled task's `transmit`
    /// throws `cancelled` there).
    /// The session is identified by its card and a number: a task started inside a session body inherits the task
    /// local, but joins only while that very session is still the open one.
    struct SessionToken: Hashable, Sendable {
        let card: ObjectIdentifier
        let number: UInt64
    }
    @TaskLocal static var activeSession: SessionToken? = nil
    /// A task's session is open on this card; the other tasks' sessions wait in `sessionWaiters`.
    private var sessionOpen = false
    /// The number of the open session (`sessionOpen`), and the last number given.
    private var openSession: UInt64 = 0
    private var sessionNumbers: UInt64 = 0
    private var sessionWaiters: [CheckedContinuation<Void, Never>] = []
    /// The open session holds the PC/SC transaction.
    private var sessionHoldsTransaction = false

    /// - Parameters:
    ///   - readerName: the PC/SC reader name, e.g. `Virtual PCD 00 00`.
    ///   - shareMode: `.shared` (default) or `.exclusive`.
    ///   - sharingRetries: bounded retries on `SCARD_E_SHARING_VIOLATION` (default 4: about 750 ms in all).
    public init(readerName: String, shareMode: PCSCShareMode = .shared, sharingRetries: Int = 4) {
        self.readerName = readerName
        self.shareMode = shareMode
        self.sharingRetries = max(0, sharingRetries)
        self.thread = PCSCThread(name: "carte.pcsc.card")
        self.receiveBuffer = .allocate(capacity: Self.receiveCapacity)
    }

    deinit {
        let t = thread
        let h = handle
        receiveBuffer.deallocate()
        t.enqueue { if h != 0 { _ = SCardDisconnect(h, DWORD(SCARD_LEAVE_CARD)) } }
        t.shutdown()
    }

    /// Whether the caller runs on the connection's thread (tests, preconditions).
    nonisolated var isOnConnectionThread: Bool { thread.isCurrent }

    /// The connection's thread as the actor's executor.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }

    /// The connection's thread as a task executor: code run under
    /// `withTaskExecutorPreference(card.taskExecutor) { … }` (an `APDUChannel`, a card-application session) runs on
    /// that thread, so its calls into this card cost no thread switch. `withSession` sets it for its body.
    public nonisolated var taskExecutor: any TaskExecutor { thread }
    /// `CardTransport.preferredTaskExecutor`: the connection's thread.
    public nonisolated var preferredTaskExecutor: (any TaskExecutor)? { thread }
    /// Picks a reader for a command-line tool: `reader` when given (it must exist; a prefix of a reader name is
    /// accepted when it designates exactly one), otherwise the first reader holding a card.
    /// - Returns: an unconnected `PCSCCard` (call `connect`).
    /// - Throws: `serviceUnavailable` (no pcscd), `readerGone` (no such reader / none connected), `noCard`
    ///   (readers but no card), `permissionDenied`.
    public static func open(reader: String? = nil, shareMode: PCSCShareMode = .shared) async throws(TransportError)
        -> PCSCCard
    {
        let readers = try await pcscReaderSnapshot()
        if let reader {
            if readers.contains(where: { $0.name == reader }) { return PCSCCard(readerName: reader, shareMode: shareMode) }
            let matches = readers.filter { $0.name.hasPrefix(reader) }
            guard matches.count == 1 else { throw .readerGone(reader) }
            return PCSCCard(readerName: matches[0].name, shareMode: shareMode)
        }
        guard !readers.isEmpty else { throw .readerGone("(none connected)") }
        guard let withCard = readers.first(where: { $0.hasCard }) else { throw .noCard }
        return PCSCCard(readerName: withCard.name, shareMode: shareMode)
    }

    // MARK: CardTransport

    /// Capabilities from the reader's part 10 features and TLV properties (cached after the first query) and the
    /// card's ATR (contactless when it has the PC/SC part 3 form). Never throws: an unreachable reader reports
    /// a plain short-APDU contact reader.
    public var capabilities: ReaderCapabilities {
        get async {
            let features = (try? queryFeatures().get()) ?? PCSCFeatureList()
            let props = cachedProperties
            var caps = ReaderCapabilities.shortAPDU
            caps.hasPinpad = features.hasPinpad
            caps.isContactless = ContactlessATR.isContactless(atr)
            if let max = props?.maxAPDUDataSize, max > 255 {
                caps.supportsExtendedLength = true
                caps.maxCommandLength = min(max, 65535) + 9
                caps.maxResponseLength = min(max, 65536) + 2
            }
            return caps
        }
    }

    /// Connects with `shareMode` and the protocols in `preferred` (empty = T=0 or T=1).
    /// - Returns: the ATR (from `SCardStatus`) and the protocol pcscd negotiated.
    /// - Throws: `TransportError.protocolMismatch` when the card/reader cannot do any requested protocol (never a
    ///   silent success with another one), `noCard`, `cardMute`, `readerGone`, `busy` (after bounded retries),
    ///   `serviceUnavailable`, `permissionDenied`.
    public func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        try connectOnThread(preferred: preferred).get()
    }

    /// Connects to the reader alone (`SCARD_SHARE_DIRECT`, no protocol), for control commands without a card.
    public func connectDirect() async throws(TransportError) {
        if handle != 0 { return }
        let rv = rawConnect(share: DWORD(SCARD_SHARE_DIRECT), mask: 0)
        guard rv == Int(SCARD_S_SUCCESS) else { throw error(rv) }
    }

    /// Sends one C-APDU (`SCardTransmit`) with the PCI of the active protocol; answers up to 65538 bytes.
    ///
    /// From another task this hops to the connection's thread and back; inside `withSession` (or under
    /// `withTaskExecutorPreference(taskExecutor)`) it runs where the caller already is. Inside a session, a cancelled
    /// task's next call throws `cancelled` before anything is sent (an exchange under way always completes:
    /// `SCardTransmit` cannot be interrupted).
    /// - Parameter command: the C-APDU bytes (4…65544), sent as they are, without copy.
    /// - Returns: the R-APDU bytes (data ‖ SW1 SW2, ≥ 2 bytes).
    /// - Throws: `cardReset` (reconnected with LEAVE_CARD; replay set-up), `cardRemoved`, `cardMute`, `readerGone`,
    ///   `serviceUnavailable`, `cancelled` (in a session only), `failed` when not connected.
    public func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] {
        if Task.isCancelled && Self.activeSession?.card == ObjectIdentifier(self) { throw .cancelled }
        return try transmitOnThread(command).get()
    }

    /// `SCardControl` with the ioctl `code` (take it from `readerFeatures()`, never hard-code it). Without a card
    /// connection, a temporary direct connection is used.
    /// - Throws: `notSupported` when the reader refuses the code, other `TransportError`s as for transmit.
    public func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] {
        try controlOnThread(code: code, data: data).get()
    }

    /// `SCardBeginTransaction`, with the sharing-violation retry and the reset recovery of `transmit`.
    public func beginTransaction() async throws(TransportError) {
        try beginTransactionOnThread().get()
    }

    /// `SCardEndTransaction(…, SCARD_LEAVE_CARD)`. Errors are ignored (a removed card ends the transaction).
    public func endTransaction() async {
        endTransactionOnThread()
    }

    /// `SCardDisconnect` with `disposition` (leave, reset, unpower).
    public func disconnect(_ disposition: CardDisposition) async {
        dropHandle(disposition)
    }

    // MARK: Sessions on the connection's thread

    /// Runs `body` on the connection's own thread, isolated to this card, inside a PC/SC transaction
    /// (`SCardBeginTransaction` … `SCardEndTransaction(SCARD_LEAVE_CARD)`, PC/SC part 5 §3.1.4) unless
    /// `transaction` is false.
    ///
    /// Inside `body`, `card.transmit` (and every other call on this card) runs with no thread switch, and the
    /// task prefers the card's executor (`taskExecutor`), so nonisolated code and default actors the body calls
    /// (an `APDUChannel` over this card, a card-application session) run on the same thread too. Keep the body to
    /// card work: it holds the connection's thread, like every pcsc-lite call does.
    ///
    /// Sessions of one card are exclusive: another task's session waits until this one ends (a session opened
    /// inside this one, by the same task or its child tasks, joins it). The transaction ends whatever happens: when
    /// `body` returns, throws, or its task is cancelled. Another connection (this process or another) cannot
    /// interleave commands in a transaction; a lone `transmit` from another task on this same `PCSCCard` still may,
    /// at the body's suspension points.
    /// - Parameters:
    ///   - transaction: take a PC/SC transaction for the session (default true; a nested session joins the
    ///     transaction of the outer one, or takes one if the outer has none).
    ///   - body: the exchange; receives this card, isolated.
    /// - Returns: what `body` returns.
    /// - Throws: `TransportError.cancelled` when the task is cancelled before the session starts (and from a
    ///   `transmit` inside it once cancelled), `failed` when not connected, `busy` / `cardRemoved` / `cardReset` /
    ///   `serviceUnavailable` from `SCardBeginTransaction`; otherwise what `body` throws, unchanged.
    public func withSession<T: Sendable>(
        transaction: Bool = true, _ body: @Sendable (isolated PCSCCard) async throws -> T
    ) async throws -> T {
        if Task.isCancelled { throw TransportError.cancelled }
        let me = ObjectIdentifier(self)
        let nested = sessionOpen && Self.activeSession == SessionToken(card: me, number: openSession)
        if !nested {
            while sessionOpen { await withCheckedContinuation { sessionWaiters.append($0) } }
            sessionOpen = true
            sessionNumbers &+= 1
            openSession = sessionNumbers
        }
        let token = SessionToken(card: me, number: openSession)
        defer {
            if !nested {
                sessionOpen = false
                if !sessionWaiters.isEmpty { sessionWaiters.removeFirst().resume() }
            }
        }
        if Task.isCancelled { throw TransportError.cancelled }
        let owns = transaction && !sessionHoldsTransaction
        if owns {
            try beginTransactionOnThread().get()
            sessionHoldsTransaction = true
        }
        defer {
            if owns {
                sessionHoldsTransaction = false
                endTransactionOnThread()
            }
        }
        if nested { return try await body(self) }
        return try await Self.$activeSession.withValue(token) {
            try await withTaskExecutorPreference(thread, isolation: self) { try await body(self) }
        }
    }

    // MARK: Reader features (PC/SC v2 part 10)

    /// The reader's part 10 features (GET_FEATURE_REQUEST), cached. A reader that answers nothing or refuses the
    /// request has no features (an empty list).
    /// - Throws: `serviceUnavailable`, `readerGone`, `permissionDenied`.
    public func readerFeatures() async throws(TransportError) -> PCSCFeatureList {
        try queryFeatures().get()
    }

    /// The reader's GET_TLV_PROPERTIES answer, or `nil` when the reader does not offer the feature.
    public func tlvProperties() async throws(TransportError) -> PCSCTLVProperties? {
        _ = try await readerFeatures()
        return cachedProperties
    }

    /// Verifies a PIN on the reader's keypad (VERIFY_PIN_DIRECT). The PIN never passes through this process.
    /// - Returns: the status word: the card's (`90 00`, `63 Cx`, `69 83` …) or the reader's `64 xx` outcome.
    /// - Throws: `notSupported` when the reader has no VERIFY_PIN_DIRECT (fall back to keypad entry on screen).
    public func verifyPINOnPinpad(_ structure: PINVerifyStructure) async throws(TransportError) -> StatusWord {
        guard let code = try await readerFeatures()[.verifyPINDirect] else {
            throw .notSupported("PIN entry on the reader (VERIFY_PIN_DIRECT)")
        }
        let r = try await control(code: code, data: structure.encoded)
        guard r.count >= 2 else { throw .failed("the reader answered \(r.count) bytes to VERIFY_PIN_DIRECT") }
        return StatusWord(sw1: r[r.count - 2], sw2: r[r.count - 1])
    }

    /// Changes a PIN on the reader's keypad (MODIFY_PIN_DIRECT).
    /// - Throws: `notSupported` when the reader has no MODIFY_PIN_DIRECT.
    public func modifyPINOnPinpad(_ structure: PINModifyStructure) async throws(TransportError) -> StatusWord {
        guard let code = try await readerFeatures()[.modifyPINDirect] else {
            throw .notSupported("PIN change on the reader (MODIFY_PIN_DIRECT)")
        }
        let r = try await control(code: code, data: structure.encoded)
        guard r.count >= 2 else { throw .failed("the reader answered \(r.count) bytes to MODIFY_PIN_DIRECT") }
        return StatusWord(sw1: r[r.count - 2], sw2: r[r.count - 1])
    }

    // MARK: Contactless (PC/SC part 3)

    /// The card's UID through the PC/SC part 3 pseudo-APDU `FF CA 00 00 00`, sent only when the connected card's
    /// ATR has the contactless form `3B 8n 80 01 …` (spec note §7.1–7.2); CLA FF never goes to a contact card.
    /// - Returns: the UID bytes, or `nil` when the reader answers `6A 81`, `68 84`, `6E 00` or `6D 00`
    ///   ("UID not available").
    /// - Throws: `notSupported` for a contact card; transport errors as for `transmit`.
    public func contactlessUID() async throws(TransportError) -> [UInt8]? {
        let currentATR = atr
        guard ContactlessATR.isContactless(currentATR) else {
            throw .notSupported("get UID (FF CA) on a contact card")
        }
        let r = try await transmit(ContactlessATR.getUIDCommand)
        guard r.count >= 2 else { throw .failed("truncated answer to get UID") }
        let sw = StatusWord(sw1: r[r.count - 2], sw2: r[r.count - 1])
        if sw == .success { return Array(r.dropLast(2)) }
        if ContactlessATR.meansUIDNotAvailable(sw) { return nil }
        throw .failed("get UID answered SW \(sw)")
    }

    // MARK: - On the connection thread

    private func beginTransactionOnThread() -> Result<Void, TransportError> {
        guard handle != 0 else { return .failure(.failed("not connected to \(readerName)")) }
        var attempt = 0
        while true {
            let rv = Int(SCardBeginTransaction(handle))
            if rv == Int(SCARD_S_SUCCESS) { return .success(()) }
            if rv == Int(SCARD_E_SHARING_VIOLATION) && attempt < sharingRetries {
                usleep(UInt32(50_000 << attempt))
                attempt += 1
                continue
            }
            return .failure(handleFailure(rv))
        }
    }

    private func endTransactionOnThread() {
        if handle != 0 { _ = SCardEndTransaction(handle, DWORD(SCARD_LEAVE_CARD)) }
    }

    private func error(_ rv: Int, requested: Set<TransmissionProtocol> = [], available: Set<TransmissionProtocol> = [])
        -> TransportError
    {
        PCSCStatus.transportError(rv, reader: readerName, requested: requested, available: available)
            ?? .failed("unexpected success code")
    }

    /// Connects with the context, rebuilding it once if pcscd restarted under it.
    private func rawConnect(share: DWORD, mask: DWORD) -> Int {
        var rebuilt = false
        var attempt = 0
        while true {
            let crv = thread.ensureContext()
            if crv != Int(SCARD_S_SUCCESS) { return crv }
            var h: SCARDHANDLE = 0
            var proto: DWORD = 0
            let rv = Int(SCardConnect(thread.context, readerName, share, mask, &h, &proto))
            if rv == Int(SCARD_S_SUCCESS) {
                handle = h
                activeProtocol = proto
                preferredMask = mask
                return rv
            }
            if (PCSCStatus.isServiceLoss(rv) || rv == Int(SCARD_E_INVALID_HANDLE)) && !rebuilt {
                thread.releaseContext()
                rebuilt = true
                continue
            }
            if rv == Int(SCARD_E_SHARING_VIOLATION) && attempt < sharingRetries {
                usleep(UInt32(50_000 << attempt))
                attempt += 1
                continue
            }
            return rv
        }
    }

    private func connectOnThread(preferred: Set<TransmissionProtocol>) -> Result<CardConnectionInfo, TransportError> {
        if handle != 0 { dropHandle(.leave) }
        let mask = Self.mask(preferred.isEmpty ? [.t0, .t1] : preferred)
        let rv = rawConnect(share: shareMode.dword, mask: mask)
        if rv == Int(SCARD_E_PROTO_MISMATCH) {
            return .failure(.protocolMismatch(requested: preferred, available: probeAvailableProtocols()))
        }
        guard rv == Int(SCARD_S_SUCCESS) else { return .failure(error(rv)) }
        guard let proto = Self.protocolFromDWORD(activeProtocol), preferred.isEmpty || preferred.contains(proto) else {
            let got = Self.protocolFromDWORD(activeProtocol)
            dropHandle(.leave)
            return .failure(.protocolMismatch(requested: preferred, available: got.map { [$0] } ?? []))
        }
        switch readStatusATR() {
        case .success(let a): atr = a
        case .failure(let e): return .failure(e)
        }
        return .success(CardConnectionInfo(atr: atr, activeProtocol: proto))
    }

    /// What the card offers, found by connecting with T=0|T=1 and leaving the card as it is.
    private func probeAvailableProtocols() -> Set<TransmissionProtocol> {
        var h: SCARDHANDLE = 0
        var proto: DWORD = 0
        let rv = SCardConnect(
            thread.context, readerName, DWORD(SCARD_SHARE_SHARED), DWORD(SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1), &h,
            &proto)
        guard rv == SCARD_S_SUCCESS else { return [] }
        _ = SCardDisconnect(h, DWORD(SCARD_LEAVE_CARD))
        return Self.protocolFromDWORD(proto).map { [$0] } ?? []
    }

    private func readStatusATR() -> Result<[UInt8], TransportError> {
        var nameLen: DWORD = 0
        var state: DWORD = 0
        var proto: DWORD = 0
        var buf = [UInt8](repeating: 0, count: Int(MAX_ATR_SIZE))
        var atrLen = DWORD(buf.count)
        let rv = Int(SCardStatus(handle, nil, &nameLen, &state, &proto, &buf, &atrLen))
        guard rv == Int(SCARD_S_SUCCESS) else { return .failure(handleFailure(rv)) }
        return .success(Array(buf.prefix(Int(min(atrLen, DWORD(buf.count))))))
    }

    private func transmitOnThread(_ command: [UInt8]) -> Result<[UInt8], TransportError> {
        guard handle != 0 else { return .failure(.failed("not connected to \(readerName)")) }
        var pci: SCARD_IO_REQUEST
        switch activeProtocol {
        case DWORD(SCARD_PROTOCOL_T0): pci = g_rgSCardT0Pci
        case DWORD(SCARD_PROTOCOL_T1): pci = g_rgSCardT1Pci
        default: pci = g_rgSCardRawPci
        }
        var recvLen = DWORD(Self.receiveCapacity)
        let rv = Int(SCardTransmit(handle, &pci, command, DWORD(command.count), nil, receiveBuffer, &recvLen))
        guard rv == Int(SCARD_S_SUCCESS) else { return .failure(handleFailure(rv)) }
        if recvLen < 2 {
            // No SW1-SW2: vpcd answers an empty R-APDU when its card vanishes mid-command.
            if probeRemoval() { return .failure(.cardRemoved) }
            return .failure(.failed("the reader returned \(recvLen) byte(s) without a status word"))
        }
        let n = Int(min(recvLen, DWORD(Self.receiveCapacity)))
        return .success(Array(UnsafeBufferPointer(start: receiveBuffer, count: n)))
    }

    private func controlOnThread(code: UInt32, data: [UInt8]) -> Result<[UInt8], TransportError> {
        var temporary = false
        if handle == 0 {
            let rv = rawConnect(share: DWORD(SCARD_SHARE_DIRECT), mask: 0)
            guard rv == Int(SCARD_S_SUCCESS) else { return .failure(error(rv)) }
            temporary = true
        }
        defer { if temporary { dropHandle(.leave) } }
        var out = [UInt8](repeating: 0, count: 65538)
        var returned: DWORD = 0
        let rv = Int(SCardControl(handle, DWORD(code), data, DWORD(data.count), &out, DWORD(out.count), &returned))
        guard rv == Int(SCARD_S_SUCCESS) else {
            if rv == Int(SCARD_E_NOT_TRANSACTED) || rv == Int(SCARD_E_UNSUPPORTED_FEATURE)
                || rv == Int(SCARD_E_INVALID_PARAMETER)
            {
                return .failure(.notSupported("control code 0x" + String(code, radix: 16, uppercase: true)))
            }
            return .failure(handleFailure(rv))
        }
        return .success(Array(out.prefix(Int(returned))))
    }

    private func queryFeatures() -> Result<PCSCFeatureList, TransportError> {
        if let f = cachedFeatures { return .success(f) }
        let list: PCSCFeatureList
        switch controlOnThread(code: PCSCPart10.getFeatureRequest, data: []) {
        case .success(let bytes): list = (try? PCSCFeatureList(parsing: bytes)) ?? PCSCFeatureList()
        case .failure(.notSupported), .failure(.failed): list = PCSCFeatureList()
        case .failure(let e): return .failure(e)
        }
        if let code = list[.getTLVProperties], case .success(let b) = controlOnThread(code: code, data: []) {
            cachedProperties = try? PCSCTLVProperties(parsing: b)
        }
        cachedFeatures = list
        return .success(list)
    }

    /// Maps a failure and applies the recovery of spec note §3.2.
    private func handleFailure(_ rv: Int) -> TransportError {
        switch rv {
        case Int(SCARD_W_RESET_CARD):
            var proto: DWORD = 0
            let r = Int(SCardReconnect(handle, shareMode.dword, preferredMask, DWORD(SCARD_LEAVE_CARD), &proto))
            if r == Int(SCARD_S_SUCCESS) {
                activeProtocol = proto
                return .cardReset
            }
            if r == Int(SCARD_W_REMOVED_CARD) || r == Int(SCARD_E_NO_SMARTCARD) {
                dropHandle(.leave)
                return .cardRemoved
            }
            return error(r)
        case Int(SCARD_W_REMOVED_CARD), Int(SCARD_E_NO_SMARTCARD):
            dropHandle(.leave)
            return .cardRemoved
        case Int(SCARD_E_NOT_TRANSACTED), Int(SCARD_E_COMM_DATA_LOST), Int(SCARD_F_UNKNOWN_ERROR):
            // The exchange broke: a card pulled out during the APDU shows up here first.
            if probeRemoval() { return .cardRemoved }
            return error(rv)
        case Int(SCARD_E_READER_UNAVAILABLE), Int(SCARD_E_UNKNOWN_READER), Int(SCARD_E_INVALID_HANDLE):
            dropHandle(.leave)
            cachedFeatures = nil
            return rv == Int(SCARD_E_INVALID_HANDLE) ? .cardRemoved : error(rv)
        default:
            if PCSCStatus.isServiceLoss(rv) {
                handle = 0
                cachedFeatures = nil
                thread.releaseContext()
            }
            return error(rv)
        }
    }

    /// After a broken exchange: a card pulled out during the APDU is seen as absent at the reader's next presence
    /// poll (pcscd polls about every 400 ms). Looks for up to 1 s; true (and the handle dropped) if it is gone.
    private func probeRemoval() -> Bool {
        for _ in 0..<10 {
            var nameLen: DWORD = 0
            var state: DWORD = 0
            var proto: DWORD = 0
            var atrBuf = [UInt8](repeating: 0, count: Int(MAX_ATR_SIZE))
            var atrLen = DWORD(atrBuf.count)
            let s = Int(SCardStatus(handle, nil, &nameLen, &state, &proto, &atrBuf, &atrLen))
            if s == Int(SCARD_W_REMOVED_CARD) || s == Int(SCARD_E_NO_SMARTCARD) || s == Int(SCARD_E_INVALID_HANDLE)
                || (s == Int(SCARD_S_SUCCESS) && state & DWORD(SCARD_ABSENT) != 0)
            {
                dropHandle(.leave)
                return true
            }
            if s != Int(SCARD_S_SUCCESS) && s != Int(SCARD_W_RESET_CARD) { return false }
            usleep(100_000)
        }
        return false
    }

    private func dropHandle(_ disposition: CardDisposition) {
        guard handle != 0 else { return }
        let d: DWORD
        switch disposition {
        case .leave: d = DWORD(SCARD_LEAVE_CARD)
        case .reset: d = DWORD(SCARD_RESET_CARD)
        case .unpower: d = DWORD(SCARD_UNPOWER_CARD)
        }
        _ = SCardDisconnect(handle, d)
        handle = 0
        activeProtocol = 0
    }

    static func mask(_ protocols: Set<TransmissionProtocol>) -> DWORD {
        var m: DWORD = 0
        for p in protocols {
            switch p {
            case .t0: m |= DWORD(SCARD_PROTOCOL_T0)
            case .t1: m |= DWORD(SCARD_PROTOCOL_T1)
            case .raw: m |= DWORD(SCARD_PROTOCOL_RAW)
            }
        }
        return m
    }

    static func protocolFromDWORD(_ d: DWORD) -> TransmissionProtocol? {
        switch d {
        case DWORD(SCARD_PROTOCOL_T0): return .t0
        case DWORD(SCARD_PROTOCOL_T1): return .t1
        case DWORD(SCARD_PROTOCOL_RAW): return .raw
        default: return nil
        }
    }
}
