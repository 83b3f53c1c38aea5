/// The transport boundary: raw bytes in, raw bytes out, plus the card's lifecycle and the reader's capabilities.
///
/// PC/SC (`PCSC`), USB CCID (`CCID`) and the in-process simulator (`CardSimulator`) implement it. It knows nothing
/// of APDU semantics: GET RESPONSE, `6C xx`, chaining and extended length are the job of `APDUPipeline` above it
/// (see `../shared/specs/architecture.md`, "Three layers with hard edges").
public protocol CardTransport: AnyObject, Sendable {
    /// The reader's name as the system shows it (PC/SC reader name, USB product string, simulator label).
    var readerName: String { get }
    /// What the reader can do. Discovered once when the transport opens.
    var capabilities: ReaderCapabilities { get async }

    /// Powers the card (if needed) and connects.
    /// - Parameter preferred: the protocols the caller accepts; asking for one the card or reader cannot do
    ///   throws `TransportError.protocolMismatch`.
    /// - Returns: the card session's ATR and negotiated protocol.
    /// - Throws: `TransportError` (no card, card mute, reader gone, service unavailable, busy, permission denied).
    func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo

    /// Sends one C-APDU or TPDU as raw bytes and returns the raw answer (R-APDU: data ‖ SW1 SW2).
    /// - Throws: `TransportError` (card removed, card reset, card mute, timeout, reader gone…).
    func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8]

    /// Sends a reader control command (PC/SC `SCardControl`, CCID Escape / Secure, simulator pinpad).
    /// - Parameters: `code` is the ioctl (e.g. a value returned by GET_FEATURE_REQUEST, PC/SC v2 part 10 §2.2).
    /// - Throws: `TransportError.notSupported` when the reader has no such feature.
    func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8]

    /// Starts a scoped exclusive transaction (PC/SC `SCardBeginTransaction`); the simulator and CCID implement it
    /// as a per-reader lock.
    func beginTransaction() async throws(TransportError)
    /// Ends the transaction started by `beginTransaction()`, leaving the card as it is.
    func endTransaction() async

    /// Disconnects; `disposition` says what happens to the card.
    func disconnect(_ disposition: CardDisposition) async

    /// The executor on which this transport answers without a thread hop (the PC/SC binding: the connection's own
    /// thread), or nil. A whole card flow run under `withTaskExecutorPreference(transport.preferredTaskExecutor)`
    /// saves two thread wake-ups per APDU (`CardTransport.runFlow`). Default: nil.
    var preferredTaskExecutor: (any TaskExecutor)? { get }
}

extension CardTransport {
    public var preferredTaskExecutor: (any TaskExecutor)? { nil }

    /// Runs a card flow (a session over this transport: `VitaleSession`, `CPSSession`, an `APDUChannel`…) with the
    /// transport's `preferredTaskExecutor` as the task's preferred executor, so that each APDU goes to the reader
    /// from the thread that owns it instead of hopping there and back (issue 9's host figure, docs/benchmarks.md).
    /// Errors from `body` come through unchanged.
    public func runFlow<T, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
        guard let executor = preferredTaskExecutor else { return try await body() }
        let r: Result<T, E> = await withTaskExecutorPreference(executor) {
            do throws(E) { return .success(try await body()) } catch { return .failure(error) }
        }
        return try r.get()
    }
}

extension CardTransport {
    /// Runs `body` inside a transaction, so another process cannot interleave commands (a whole-file read, a DESFire
    /// frame chain, a PIN + signature). The transaction ends even when `body` throws.
    public func withTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await beginTransaction()
        do {
            let value = try await body()
            await endTransaction()
            return value
        } catch {
            await endTransaction()
            throw error
        }
    }
}

/// What happens to the card when a connection ends (PC/SC `SCARD_LEAVE_CARD`, `SCARD_RESET_CARD`, `SCARD_UNPOWER_CARD`).
public enum CardDisposition: Sendable, Hashable {
    case leave, reset, unpower
}

/// The ISO/IEC 7816-3 transmission protocols, plus the contactless ISO/IEC 14443-4 channel that PC/SC reports as T=1.
public enum TransmissionProtocol: Int, Sendable, Hashable, Comparable, CustomStringConvertible {
    case t0 = 0
    case t1 = 1
    /// Raw / direct access to the reader, no card protocol (PC/SC `SCARD_PROTOCOL_RAW`).
    case raw = 99

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { self == .raw ? "raw" : "T=\(rawValue)" }
}

/// What `connect` established.
public struct CardConnectionInfo: Sendable, Hashable {
    /// The Answer-To-Reset, 2…33 bytes (ISO/IEC 7816-3 §8).
    public var atr: [UInt8]
    /// The negotiated protocol.
    public var activeProtocol: TransmissionProtocol

    public init(atr: [UInt8], activeProtocol: TransmissionProtocol) {
        self.atr = atr
        self.activeProtocol = activeProtocol
    }
}

/// Reader capabilities that decide how APDUs are formatted.
public struct ReaderCapabilities: Sendable, Hashable {
    /// The reader moves extended-length APDUs (CCID `dwFeatures` 0x40000, PC/SC part 10 dwMaxAPDUDataSize > 255…).
    public var supportsExtendedLength: Bool
    /// Largest C-APDU the reader accepts, in bytes (e.g. CCID dwMaxCCIDMessageLength − 10; 261 for short only).
    public var maxCommandLength: Int
    /// Largest R-APDU the reader returns, in bytes (258 for short only).
    public var maxResponseLength: Int
    /// The reader has a PIN pad (PC/SC part 10 VERIFY_PIN_DIRECT present).
    public var hasPinpad: Bool
    /// The slot is contactless (ISO/IEC 14443); PC/SC part 3 pseudo-APDUs (`FF CA` …) are allowed only there.
    public var isContactless: Bool
    /// Maximum reader clock in kHz (CCID dwMaximumClock), used by the wire-time model.
    public var maxClockKHz: Int

    public init(
        supportsExtendedLength: Bool = false, maxCommandLength: Int = 261, maxResponseLength: Int = 258,
        hasPinpad: Bool = false, isContactless: Bool = false, maxClockKHz: Int = 4000
    ) {
        self.supportsExtendedLength = supportsExtendedLength
        self.maxCommandLength = maxCommandLength
        self.maxResponseLength = maxResponseLength
        self.hasPinpad = hasPinpad
        self.isContactless = isContactless
        self.maxClockKHz = maxClockKHz
    }

    /// A plain short-APDU contact reader.
    public static let shortAPDU = ReaderCapabilities()
}

/// What went wrong below the APDU level, in words a kiosk can act on.
public enum TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The slot is empty.
    case noCard
    /// The card was removed; the session is over (PC/SC `SCARD_W_REMOVED_CARD`, CCID bStatus "absent").
    case cardRemoved
    /// The card was reset by someone else: selections and a verified PIN are gone (PC/SC `SCARD_W_RESET_CARD`).
    case cardReset
    /// The card does not answer (no ATR, or no answer to a command).
    case cardMute
    /// The reader was unplugged or is unknown.
    case readerGone(String)
    /// The smart-card service (pcscd) is not running or stopped.
    case serviceUnavailable
    /// Another application holds the card exclusively (PC/SC `SCARD_E_SHARING_VIOLATION`).
    case busy
    /// The system refused access (polkit for pcscd, USB device permissions).
    case permissionDenied(String)
    /// No answer within the allowed time.
    case timeout
    /// The operation was cancelled.
    case cancelled
    /// The requested protocol cannot be used with this card or reader.
    case protocolMismatch(requested: Set<TransmissionProtocol>, available: Set<TransmissionProtocol>)
    /// The reader does not support this feature or control code.
    case notSupported(String)
    /// Anything else, with the underlying detail (a code, a reader message).
    case failed(String)

    public var description: String {
        switch self {
        case .noCard: return "no card in the reader"
        case .cardRemoved: return "the card was removed"
        case .cardReset: return "the card was reset by another application; its session is gone"
        case .cardMute: return "the card does not answer"
        case .readerGone(let r): return "the reader \(r) is gone (unplugged?)"
        case .serviceUnavailable: return "the smart-card service (pcscd) is not running"
        case .busy: return "the card is in use by another application"
        case .permissionDenied(let why): return "permission denied: \(why)"
        case .timeout: return "the card or reader did not answer in time"
        case .cancelled: return "cancelled"
        case .protocolMismatch(let r, let a):
            let fmt: (Set<TransmissionProtocol>) -> String = { $0.sorted().map(\.description).joined(separator: ", ") }
            return "protocol \(fmt(r)) not available (card/reader offers \(fmt(a)))"
        case .notSupported(let what): return "not supported by this reader: \(what)"
        case .failed(let why): return "transport failure: \(why)"
        }
    }
}
