/// Per-command knobs of the pipeline.
public struct SendOptions: Sendable, Hashable {
    /// Answer `61 xx` with GET RESPONSE until the data are complete (ISO/IEC 7816-4 §5.3.4, 7816-3 §12.2.4).
    public var autoGetResponse: Bool
    /// Answer `6C xx` by re-issuing the same command once with Le = xx (ISO/IEC 7816-3 §12.2.4).
    public var autoCorrectLe: Bool

    public init(autoGetResponse: Bool = true, autoCorrectLe: Bool = true) {
        self.autoGetResponse = autoGetResponse
        self.autoCorrectLe = autoCorrectLe
    }

    /// The T=0 rules applied (the default).
    public static let standard = SendOptions()
    /// Nothing automatic: the R-APDU is returned as the card gave it (DESFire native frames, `91 AF` chains,
    /// secure messaging that must see whole frames; pcsc-ccid-vpcd-contactless.md §7.3).
    public static let raw = SendOptions(autoGetResponse: false, autoCorrectLe: false)
}

/// Channel-wide settings.
public struct APDUChannelConfiguration: Sendable, Hashable {
    /// Most GET RESPONSE commands sent for one command before giving up (`CardError.getResponseLimitExceeded`).
    /// 256 frames of 256 bytes cover a 64 KiB answer.
    public var getResponseLimit: Int
    /// Whether the card accepts command chaining; `nil` = as its ATR card capabilities say.
    public var cardSupportsChaining: Bool?
    /// Whether the card accepts extended Lc/Le; `nil` = as its ATR card capabilities say.
    public var cardSupportsExtendedLength: Bool?
    /// READ BINARY may use the odd-INS form (`B1`, offset data object `54`) for offsets over 32767
    /// (ISO/IEC 7816-4 §11.3.3). When false such offsets throw `CardError.offsetNotAddressable`.
    public var allowOddInsReadBinary: Bool
    /// Most bytes one `readBinary` returns before `CardError.readLimitExceeded`.
    public var readBinaryLimit: Int
    /// A fixed CLA for GET RESPONSE; `nil` follows the command's CLA (`APDUChannel.getResponseCLA(for:)`).
    public var getResponseCLA: UInt8?

    public init(
        getResponseLimit: Int = 256, cardSupportsChaining: Bool? = nil, cardSupportsExtendedLength: Bool? = nil,
        allowOddInsReadBinary: Bool = true, readBinaryLimit: Int = 1 << 20, getResponseCLA: UInt8? = nil
    ) {
        self.getResponseCLA = getResponseCLA
        self.getResponseLimit = getResponseLimit
        self.cardSupportsChaining = cardSupportsChaining
        self.cardSupportsExtendedLength = cardSupportsExtendedLength
        self.allowOddInsReadBinary = allowOddInsReadBinary
        self.readBinaryLimit = readBinaryLimit
    }
}

/// The APDU pipeline over a `CardTransport`: formatting (short / extended / chaining, `APDUFormatter`), then the
/// T=0 answer rules (`61 xx` → GET RESPONSE, `6C xx` → re-issue with the right Le), one command at a time.
///
/// Commands are serialised: a GET RESPONSE always directly follows the command it completes, even when several
/// tasks share the channel. Status words are returned, not thrown: the caller decides what `6A 82` means. Errors
/// are thrown only for what went wrong in the machinery (`CardError`).
public actor APDUChannel {
    public nonisolated let transport: any CardTransport
    /// The card's ATR as the transport reported it.
    public nonisolated let atr: [UInt8]
    public nonisolated let activeProtocol: TransmissionProtocol
    public nonisolated let readerCapabilities: ReaderCapabilities
    public nonisolated let configuration: APDUChannelConfiguration
    /// The framing rules in force (reader, card and protocol combined).
    public nonisolated let formatter: APDUFormatter

    private var transcriptHook: APDUTranscriptHook?
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Builds a channel on an already connected transport.
    /// - Parameters:
    ///   - atr: the ATR from `connect`; its historical-bytes card capabilities say whether the card accepts
    ///     command chaining and extended length (unless `configuration` overrides them).
    ///   - activeProtocol: the negotiated protocol (T=0 changes the case-4 rule and forbids extended length).
    public init(
        transport: any CardTransport, atr: [UInt8], activeProtocol: TransmissionProtocol,
        readerCapabilities: ReaderCapabilities, configuration: APDUChannelConfiguration = .init(),
        transcript: APDUTranscriptHook? = nil
    ) {
        self.transport = transport
        self.atr = atr
        self.activeProtocol = activeProtocol
        self.readerCapabilities = readerCapabilities
        self.configuration = configuration
        let decoded = ATR(atr)
        formatter = APDUFormatter(
            activeProtocol: activeProtocol, readerSupportsExtendedLength: readerCapabilities.supportsExtendedLength,
            readerMaxCommandLength: readerCapabilities.maxCommandLength,
            cardSupportsExtendedLength: configuration.cardSupportsExtendedLength ?? decoded.supportsExtendedLength,
            cardSupportsChaining: configuration.cardSupportsChaining ?? decoded.supportsCommandChaining)
        transcriptHook = transcript
    }

    /// Connects `transport` and builds a channel on it.
    /// - Throws: `CardError.transport` when the connection fails.
    public static func connect(
        _ transport: any CardTransport, preferred: Set<TransmissionProtocol> = [.t0, .t1],
        configuration: APDUChannelConfiguration = .init(), transcript: APDUTranscriptHook? = nil
    ) async throws(CardError) -> APDUChannel {
        let info: CardConnectionInfo
        do { info = try await transport.connect(preferred: preferred) } catch { throw .transport(error) }
        let caps = await transport.capabilities
        return APDUChannel(
            transport: transport, atr: info.atr, activeProtocol: info.activeProtocol, readerCapabilities: caps,
            configuration: configuration, transcript: transcript)
    }

    /// Installs (or removes, with `nil`) the transcript hook, called for every raw C-APDU and R-APDU.
    public func setTranscriptHook(_ hook: APDUTranscriptHook?) { transcriptHook = hook }

    /// Sends one logical command and returns the complete answer.
    ///
    /// - Returns: the R-APDU with all the data (from the first answer and every GET RESPONSE) and the last
    ///   status word. For a command chain whose intermediate frame is refused, the refusal.
    /// - Throws: `CardError.transport`, `.malformedResponse`, `.invalidCommand`, `.lengthNotSupported`,
    ///   `.getResponseLimitExceeded`.
    public func send(_ command: CommandAPDU, options: SendOptions = .standard) async throws(CardError) -> ResponseAPDU {
        await acquire()
        defer { release() }
        return try await sendLocked(command, options: options)
    }

    /// Sends one command and returns its response data when the status word is one of `accepted`.
    /// - Parameter name: how the command is named in the error (e.g. "SELECT VITALE"); default: its header.
    /// - Throws: `CardError.unexpectedStatus` (with the raw status word) for any other status word, and the
    ///   errors of `send`.
    public func sendExpecting(
        _ command: CommandAPDU, accepted: Set<StatusWord> = [.success], name: String? = nil,
        options: SendOptions = .standard
    ) async throws(CardError) -> [UInt8] {
        let r = try await send(command, options: options)
        guard accepted.contains(r.statusWord) else {
            throw .unexpectedStatus(r.statusWord, command: name ?? "the command \([command.cla, command.ins, command.p1, command.p2].hexString(separator: " "))")
        }
        return r.data
    }

    /// Sends raw bytes as they are (no formatting, no T=0 rules) and returns the raw R-APDU.
    public func transmitRaw(_ bytes: [UInt8]) async throws(CardError) -> ResponseAPDU {
        await acquire()
        defer { release() }
        return try await exchange(bytes)
    }

    // MARK: Serialisation

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }

    // MARK: Steps

    func sendLocked(_ command: CommandAPDU, options: SendOptions) async throws(CardError) -> ResponseAPDU {
        let frames = try formatter.frames(for: command)
        for (k, frame) in frames.enumerated() {
            let r = try await exchange(frame.bytes)
            if k < frames.count - 1 {
                if r.statusWord != .success { return r }
                continue
            }
            return try await complete(r, frame: frame, options: options)
        }
        throw .invalidCommand(.tooShort(count: 0))  // unreachable: frames is never empty
    }

    /// T=0 answer rules for the last frame: `6C xx` once, then `61 xx` until done.
    private func complete(_ first: ResponseAPDU, frame: APDUFormatter.Frame, options: SendOptions) async throws(CardError)
        -> ResponseAPDU
    {
        var r = first
        if options.autoCorrectLe && r.sw1 == 0x6C {
            var c = frame.command
            c.ne = r.sw2 == 0 ? 256 : Int(r.sw2)
            let again: [UInt8]
            do { again = try c.encoded(extended: frame.extended) } catch { throw .invalidCommand(error) }
            r = try await exchange(again)
        }
        guard options.autoGetResponse && r.sw1 == 0x61 else { return r }
        var data = r.data
        var count = 0
        let cla = configuration.getResponseCLA ?? APDUChannel.getResponseCLA(for: frame.command.cla)
        while r.sw1 == 0x61 {
            guard count < configuration.getResponseLimit else {
                throw .getResponseLimitExceeded(limit: configuration.getResponseLimit)
            }
            count += 1
            let getResponse = CommandAPDU(cla: cla, ins: 0xC0, p1: 0x00, p2: 0x00, ne: r.sw2 == 0 ? 256 : Int(r.sw2))
            r = try await exchange(try encodeShort(getResponse))
            if options.autoCorrectLe && r.sw1 == 0x6C {
                var c = getResponse
                c.ne = r.sw2 == 0 ? 256 : Int(r.sw2)
                r = try await exchange(try encodeShort(c))
            }
            data += r.data
        }
        return ResponseAPDU(data: data, statusWord: r.statusWord)
    }

    /// GET RESPONSE's CLA: the command's CLA, with the chaining bit cleared for interindustry classes
    /// (`00`…`7F`; logical channel and secure-messaging bits kept). A proprietary class (`80`…`FE`) is kept as
    /// it is: Vitale 1 answers only CLA `BC` and refuses `00` with `6E 00` (vitale.md §9.1), so its GET RESPONSE
    /// is `BC C0 00 00 xx`. `APDUChannelConfiguration.getResponseCLA` overrides this.
    public static func getResponseCLA(for cla: UInt8) -> UInt8 {
        cla < 0x80 ? cla & 0xEF : cla
    }

    private func encodeShort(_ c: CommandAPDU) throws(CardError) -> [UInt8] {
        do { return try c.encoded(extended: false) } catch { throw .invalidCommand(error) }
    }

    /// One raw exchange, recorded in the transcript.
    private func exchange(_ bytes: [UInt8]) async throws(CardError) -> ResponseAPDU {
        transcriptHook?(APDUTranscriptEntry(direction: .command, bytes: bytes))
        let raw: [UInt8]
        do { raw = try await transport.transmit(bytes) } catch { throw .transport(error) }
        transcriptHook?(APDUTranscriptEntry(direction: .response, bytes: raw))
        do { return try ResponseAPDU(decoding: raw) } catch { throw .malformedResponse(error.description) }
    }
}

// MARK: - READ BINARY

extension APDUChannel {
    /// Largest Ne for one READ BINARY frame, bytes: 256 in the short form, up to the reader's response size
    /// (minus SW1-SW2) when extended length is usable.
    public nonisolated var maxReadChunk: Int {
        let probe = CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 65536)
        if formatter.canUseExtendedLength(for: probe) {
            return max(1, min(65536, readerCapabilities.maxResponseLength - 2))
        }
        return max(1, min(256, readerCapabilities.maxResponseLength - 2))
    }

    /// Reads a transparent EF with READ BINARY (ISO/IEC 7816-4 §11.3.3) in chunks of `maxReadChunk` bytes.
    ///
    /// - Parameters:
    ///   - sfi: a short EF identifier (1…30) to read without SELECT (first frame `P1 = 80 | SFI`, `P2` = offset);
    ///     `nil` reads the current EF.
    ///   - offset: first byte, 0…16 777 215. Offsets over 32767 use the odd-INS form `B1` with the offset data
    ///     object `54` (answer in data object `53`), since P1 b8 is the SFI flag.
    ///   - length: bytes wanted; `nil` reads to the end of the file.
    /// - Returns: the bytes read. Stops at `length`, on a short answer, on `62 82` (end of file reached), or on
    ///   `6B 00` once some data were read (the previous chunk ended exactly at the end of the file).
    /// - Throws: `CardError.emptyRead` for `90 00` with no data, `.unexpectedStatus` for other status words,
    ///   `.offsetNotAddressable`, `.readLimitExceeded` past `configuration.readBinaryLimit`, transport errors.
    public func readBinary(sfi: UInt8? = nil, offset: Int = 0, length: Int? = nil) async throws(CardError) -> [UInt8] {
        if let sfi, sfi < 1 || sfi > 30 {
            throw .offsetNotAddressable(offset: offset, reason: "SFI \(sfi) is outside 1…30")
        }
        guard offset >= 0 && offset <= 0xFF_FFFF else {
            throw .offsetNotAddressable(offset: offset, reason: "offsets run from 0 to 16777215")
        }
        await acquire()
        defer { release() }
        var out: [UInt8] = []
        var position = offset
        var first = true
        let chunk = maxReadChunk
        while true {
            if let length, out.count >= length { break }
            guard out.count < configuration.readBinaryLimit else { throw .readLimitExceeded(bytes: out.count) }
            var want = min(chunk, length.map { $0 - out.count } ?? chunk)
            var ne = want
            let useSFI = first ? sfi : nil
            let odd: Bool
            let command: CommandAPDU
            if let s = useSFI, position <= 0xFF {
                odd = false
                command = CommandAPDU(ins: 0xB0, p1: 0x80 | s, p2: UInt8(position), ne: ne)
            } else if useSFI == nil && position <= 0x7FFF {
                odd = false
                command = CommandAPDU(ins: 0xB0, p1: UInt8(position >> 8), p2: UInt8(position & 0xFF), ne: ne)
            } else {
                guard configuration.allowOddInsReadBinary else {
                    throw .offsetNotAddressable(
                        offset: position,
                        reason: useSFI == nil
                            ? "offsets over 32767 need READ BINARY with odd INS (B1), which is disabled"
                            : "an SFI read starting past byte 255 needs READ BINARY with odd INS (B1), which is disabled")
                }
                odd = true
                // The answer is wrapped in data object 53: leave room for its tag and length in Ne.
                func header(_ n: Int) -> Int { n < 0x80 ? 2 : n <= 0xFF ? 3 : 4 }
                var d = min(want, chunk - 2)
                while d > 1 && d + header(d) > chunk { d -= 1 }
                want = d
                ne = d + header(d)
                let off: [UInt8] =
                    position <= 0xFF ? [UInt8(position)]
                    : position <= 0xFFFF ? [UInt8(position >> 8), UInt8(position & 0xFF)]
                    : [UInt8(position >> 16), UInt8((position >> 8) & 0xFF), UInt8(position & 0xFF)]
                command = CommandAPDU(
                    ins: 0xB1, p1: 0x00, p2: useSFI ?? 0x00, data: [0x54, UInt8(off.count)] + off, ne: ne)
            }
            let name = "READ BINARY at offset \(position)"
            let r = try await sendLocked(command, options: .standard)
            var data = r.data
            if odd && !data.isEmpty {
                guard let objects = try? BERTLV.decode(data, skipPadding: false), !objects.isEmpty,
                    objects.allSatisfy({ $0.tag == 0x53 })
                else {
                    throw .malformedResponse("READ BINARY (B1) answer is not wrapped in data object 53")
                }
                data = objects.flatMap(\.value)
            }
            switch r.statusWord.value {
            case 0x9000:
                if data.isEmpty { throw .emptyRead(offset: position) }
                out += data
                position += data.count
                if data.count < want { return trimmed(out, length) }
            case 0x6282:
                out += data
                return trimmed(out, length)
            case 0x6B00 where !first:
                return trimmed(out, length)
            default:
                throw .unexpectedStatus(r.statusWord, command: name)
            }
            first = false
        }
        return trimmed(out, length)
    }

    private nonisolated func trimmed(_ b: [UInt8], _ length: Int?) -> [UInt8] {
        guard let length, b.count > length else { return b }
        return Array(b[..<length])
    }
}
