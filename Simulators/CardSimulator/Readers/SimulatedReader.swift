import ISO7816

/// The kinds of simulated reader.
public enum ReaderKind: String, Sendable, Hashable {
    /// ISO/IEC 7816-3 contact slot.
    case contact
    /// ISO/IEC 14443 slot with PC/SC part 3 behaviour (synthesised ATR, `FF CA` pseudo-APDUs).
    case contactless
    /// Contact slot with a PIN pad (PC/SC v2 part 10).
    case pinpad
}

/// The pinpad's own properties (GET_TLV_PROPERTIES) and quirks.
public struct PinpadConfiguration: Sendable, Hashable {
    /// bMinPINSize / bMaxPINSize, in digits.
    public var minPINSize: Int
    public var maxPINSize: Int
    /// Whether the reader expects the APDU template of PIN_VERIFY_STRUCTURE with an Lc byte
    /// (`CLA INS P1 P2 Lc data`, the CCID layout) or without it (`CLA INS P1 P2 data`, the reader inserts Lc).
    public var templateHasLc: Bool
    public var idVendor: UInt16
    public var idProduct: UInt16
    public var firmwareID: String
    /// bEntryValidationCondition (02: validation key).
    public var entryValidationCondition: UInt8

    public init(
        minPINSize: Int = 4, maxPINSize: Int = 8, templateHasLc: Bool = true, idVendor: UInt16 = 0x08E6,
        idProduct: UInt16 = 0x3478, firmwareID: String = "CARTE-SIM-PINPAD 1.0", entryValidationCondition: UInt8 = 0x02
    ) {
        self.minPINSize = minPINSize
        self.maxPINSize = maxPINSize
        self.templateHasLc = templateHasLc
        self.idVendor = idVendor
        self.idProduct = idProduct
        self.firmwareID = firmwareID
        self.entryValidationCondition = entryValidationCondition
    }
}

/// How a simulated reader is built.
public struct SimulatedReaderConfiguration: Sendable, Hashable {
    public var kind: ReaderKind
    public var capabilities: ReaderCapabilities
    /// The clock the reader gives the card, in kHz (capped by `capabilities.maxClockKHz`).
    public var clockKHz: Int
    /// The reader sends a PPS when the ATR's TA1 offers a faster Fi/Di (ISO/IEC 7816-3 §9).
    public var performsPPS: Bool
    public var pinpad: PinpadConfiguration?
    /// Keep PIN bytes in the transcript (tests of the pinpad only). Default false: they are masked.
    public var recordsSecrets: Bool
    /// Transcript entries kept: at least the last `transcriptLimit` (the oldest are dropped in batches once there
    /// are twice as many), so a reader that runs for days — `carte serve --simulate`, `carte simulate` — keeps a
    /// bounded transcript. The longest flow we measure is under 200 APDUs.
    public var transcriptLimit: Int = 4_096

    public init(
        kind: ReaderKind, capabilities: ReaderCapabilities, clockKHz: Int = 4000, performsPPS: Bool = true,
        pinpad: PinpadConfiguration? = nil, recordsSecrets: Bool = false
    ) {
        self.kind = kind
        self.capabilities = capabilities
        self.clockKHz = clockKHz
        self.performsPPS = performsPPS
        self.pinpad = pinpad
        self.recordsSecrets = recordsSecrets
    }

    /// A short-APDU contact reader at 4 MHz.
    public static func contact() -> Self { Self(kind: .contact, capabilities: ReaderCapabilities()) }
    /// A contactless reader (extended length, no pinpad).
    public static func contactless() -> Self {
        Self(kind: .contactless, capabilities: ReaderCapabilities(
            supportsExtendedLength: true, maxCommandLength: 65544, maxResponseLength: 65538, isContactless: true,
            maxClockKHz: 13560))
    }
    /// A contact reader with a PIN pad.
    public static func pinpad(_ p: PinpadConfiguration = PinpadConfiguration()) -> Self {
        Self(kind: .pinpad, capabilities: ReaderCapabilities(hasPinpad: true), pinpad: p)
    }
}

/// Something that happened to a simulated reader (published by `VirtualReaderSet.events`).
public enum ReaderEvent: Sendable, Hashable {
    case readerAdded(String)
    case readerRemoved(String)
    /// A card entered the slot; `atr` is what the reader will report (empty if the card cannot answer there).
    case cardInserted(reader: String, atr: [UInt8])
    case cardRemoved(reader: String)
}

/// A simulated PC/SC-like reader with one card slot, implementing `CardTransport` (ISO7816).
///
/// Cards are inserted and removed at run time; `connect` powers the card (virtual ATR time, PPS), checks protocols;
/// `transmit` runs the fault plan, the card and the wire clock; `control` implements PC/SC v2 part 10 on a pinpad
/// reader; transactions are a FIFO lock. Statistics and a transcript are kept for benchmarks and tests.
public actor SimulatedReader: CardTransport {
    public nonisolated let readerName: String
    public nonisolated let configuration: SimulatedReaderConfiguration

    var card: (any VirtualCard)?
    var powered = false
    var connected = false
    var sessionLost = false
    var lostReason = TransportError.cardRemoved
    var activeProtocol: TransmissionProtocol?
    var unplugged = false
    var wire = WireParameters()
    var stats = WireStatistics()
    var log: [TranscriptEntry] = []
    var plan = FaultPlan.none
    var apduNumber = 0
    var keypad: [KeypadEntry] = []
    var transactionLocked = false
    var transactionWaiters: [CheckedContinuation<Void, Never>] = []
    var eventSink: (@Sendable (ReaderEvent) -> Void)?

    public init(name: String, configuration: SimulatedReaderConfiguration = .contact()) {
        self.readerName = name
        self.configuration = configuration
    }

    /// Two readers sharing a name prefix, as a two-slot ("bifente") reader appears in PC/SC:
    /// `"<prefix> 00 00"` and `"<prefix> 00 01"`.
    public static func twoSlot(namePrefix: String, configuration: SimulatedReaderConfiguration = .contact())
        -> (SimulatedReader, SimulatedReader)
    {
        (SimulatedReader(name: "\(namePrefix) 00 00", configuration: configuration),
            SimulatedReader(name: "\(namePrefix) 00 01", configuration: configuration))
    }

    public var capabilities: ReaderCapabilities { configuration.capabilities }

    // MARK: Slot

    /// Puts a card in the slot (a card already there is removed first). The card is unpowered until `connect`.
    public func insert(_ newCard: sending any VirtualCard) { place(newCard) }

    func place(_ newCard: any VirtualCard) {
        if card != nil { remove() }
        card = newCard
        powered = false
        emit(.cardInserted(reader: readerName, atr: visibleATR() ?? []))
    }

    /// Inserts a fresh card of the persona (the contactless personality on a contactless reader).
    /// - Throws: `PersonaCatalog.CatalogError` for an unknown persona.
    public func insert(persona: String, t0Mode: T0Mode = .auto) throws(PersonaCatalog.CatalogError) {
        let c = try PersonaCatalog.makeCard(
            persona: persona, interface: configuration.kind == .contactless ? .contactless : .contact, t0Mode: t0Mode)
        place(c)
    }

    /// Takes the card out. An open connection is lost (`transmit` throws `.cardRemoved`).
    public func remove() {
        guard card != nil else { return }
        card?.powerOff()
        card = nil
        powered = false
        if connected {
            sessionLost = true
            lostReason = .cardRemoved
        }
        emit(.cardRemoved(reader: readerName))
    }

    /// True when a card is in the slot.
    public var hasCard: Bool { card != nil }

    /// Unplugs the reader: every call throws `.readerGone` until `plugIn()`.
    public func unplug() {
        unplugged = true
        connected = false
        emit(.readerRemoved(readerName))
    }

    public func plugIn() {
        guard unplugged else { return }
        unplugged = false
        emit(.readerAdded(readerName))
    }

    public var isPluggedIn: Bool { !unplugged }

    /// Sets the fault plan and restarts the APDU numbering at 1.
    public func setFaultPlan(_ p: FaultPlan) {
        plan = p
        apduNumber = 0
    }

    /// Queues what the keypad user will do for the next PIN operations (each VERIFY consumes one entry, each
    /// MODIFY one to three). An empty queue behaves as a timeout (`64 00`).
    public func enqueueKeypad(_ entries: [KeypadEntry]) { keypad += entries }

    /// Keypad entries queued and not yet consumed.
    public var queuedKeypadEntries: Int { keypad.count }

    /// Drops what is still queued for the keypad (digits typed for a PIN operation that never came, e.g. a session
    /// that failed before its VERIFY): they must never be presented to the next card. Returns how many were dropped.
    @discardableResult
    public func clearKeypad() -> Int {
        defer { keypad = [] }
        return keypad.count
    }

    /// Accumulated wire statistics.
    public var statistics: WireStatistics { stats }
    /// The transcript (PIN data masked unless `recordsSecrets`): at least the last
    /// `configuration.transcriptLimit` entries.
    public var transcript: [TranscriptEntry] { log }
    /// The link parameters in use (Fi/Di after PPS, clock, protocol).
    public var wireParameters: WireParameters { wire }

    /// Clears statistics and transcript.
    public func resetStatistics() {
        stats = WireStatistics()
        log.removeAll()
    }

    func setEventSink(_ sink: (@Sendable (ReaderEvent) -> Void)?) { eventSink = sink }

    func emit(_ e: ReaderEvent) { eventSink?(e) }

    /// The ATR this reader reports for the card in the slot, or nil when the card cannot answer here.
    func visibleATR() -> [UInt8]? {
        guard let card else { return nil }
        let cc = card as? any ContactlessCapableCard
        if configuration.kind == .contactless {
            guard let cl = cc?.contactless else { return nil }
            return ATRInfo.contactlessATR(historicalBytes: cl.historicalBytes)
        }
        if let cc, !cc.hasContactInterface { return nil }
        return card.atr
    }

    // MARK: CardTransport

    public func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        guard !unplugged else { throw .readerGone(readerName) }
        guard let card else { throw .noCard }
        guard let atr = visibleATR(), let info = ATRInfo(atr) else { throw .cardMute }
        let available: Set<TransmissionProtocol> = configuration.kind == .contactless
            ? [.t1] : Set(info.protocols.compactMap { TransmissionProtocol(rawValue: $0) })
        let chosen: TransmissionProtocol
        if let p = preferred.intersection(available).max() {
            chosen = p
        } else if preferred.contains(.raw) {
            chosen = .raw
        } else {
            throw .protocolMismatch(requested: preferred, available: available)
        }
        if !powered || sessionLost {
            card.powerOn()
            powered = true
            powerUpWire(atr: atr, info: info, protocol: chosen)
        }
        wire.transmissionProtocol = chosen == .raw ? (available.max() ?? .t0) : chosen
        connected = true
        sessionLost = false
        activeProtocol = chosen
        return CardConnectionInfo(atr: atr, activeProtocol: chosen)
    }

    /// Charges the ATR (and the PPS when negotiated) and sets Fi/Di.
    func powerUpWire(atr: [UInt8], info: ATRInfo, protocol p: TransmissionProtocol) {
        let clock = min(configuration.clockKHz, configuration.capabilities.maxClockKHz)
        wire = WireParameters(
            clockKHz: clock, fi: 372, di: 1, extraGuardTime: info.extraGuardTime,
            transmissionProtocol: p, ifsc: info.ifsc, ifsd: 254, contactless: configuration.kind == .contactless)
        wire.waitingIntegerWI = info.waitingIntegerWI
        wire.blockWaitingIntegerBWI = info.blockWaitingIntegerBWI
        guard configuration.kind != .contactless else {
            record(.atr, [], atr, nil, 0)
            stats.atrCount += 1
            return
        }
        let atrTime = WireClock.atrNanoseconds(atrLength: atr.count, clockKHz: clock)
        record(.atr, [], atr, nil, atrTime)
        stats.atrCount += 1
        if configuration.performsPPS && info.hasTA1 && (info.fi != 372 || info.di != 1) {
            let t = WireClock.ppsNanoseconds(clockKHz: clock)
            let pps0: UInt8 = 0x10 | UInt8(p == .t1 ? 1 : 0)
            let ta1 = atr.count > 2 ? atr[2] : 0x11
            let pck = 0xFF ^ pps0 ^ ta1
            record(.pps, [0xFF, pps0, ta1, pck], [0xFF, pps0, ta1, pck], nil, t)
            stats.ppsCount += 1
            wire.fi = info.fi
            wire.di = info.di
        }
    }

    func record(_ kind: TranscriptEntry.Kind, _ c: [UInt8], _ r: [UInt8], _ e: TransportError?, _ duration: Int64) {
        let masked = configuration.recordsSecrets || kind != .apdu ? c : Self.maskSecrets(c)
        let limit = max(1, configuration.transcriptLimit)
        if log.count >= 2 * limit { log.removeFirst(log.count - limit) }
        log.append(TranscriptEntry(
            kind: kind, command: masked, response: r, error: e, startNanoseconds: stats.virtualNanoseconds,
            durationNanoseconds: duration))
        stats.virtualNanoseconds += duration
    }

    /// Replaces the data of VERIFY (20), CHANGE REFERENCE DATA (24) and RESET RETRY COUNTER (2C) by `2A` bytes.
    public static func maskSecrets(_ c: [UInt8]) -> [UInt8] {
        guard c.count > 5, [0x20, 0x24, 0x2C].contains(c[1]) else { return c }
        var m = c
        let lc = Int(c[4])
        if lc > 0 { for i in 5..<min(c.count, 5 + lc) { m[i] = 0x2A } }
        return m
    }

    public func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] {
        guard !unplugged else { throw .readerGone(readerName) }
        if sessionLost { throw lostReason }
        guard connected else { throw card == nil ? .noCard : .failed("transmit before connect on \(readerName)") }
        guard card != nil else { throw .cardRemoved }
        guard command.count <= configuration.capabilities.maxCommandLength else {
            throw .notSupported(
                "a \(command.count)-byte command (this reader takes at most \(configuration.capabilities.maxCommandLength) bytes)")
        }
        if configuration.kind == .contactless, command.first == 0xFF {
            let r = pseudoAPDU(command)
            record(.readerPseudoAPDU, command, r, nil, 0)
            return r
        }
        return try exchange(command)
    }

    /// Sends one APDU to the card through the fault plan and the wire clock.
    func exchange(_ command: [UInt8]) throws(TransportError) -> [UInt8] {
        apduNumber += 1
        let n = apduNumber
        var wtx = 0
        var extraNanoseconds: Int64 = 0
        for f in plan.faults {
            switch f {
            case .flakyTransmit(let k) where k >= 1 && n % k == 0:
                record(.apdu, command, [], .failed("flaky"), 0)
                throw .failed("simulated flaky transmit (APDU #\(n))")
            case .readerUnpluggedBefore(let a) where a == n:
                unplug()
                throw .readerGone(readerName)
            case .cardRemovedBefore(let a) where a == n:
                remove()
                throw .cardRemoved
            case .swapCard(let a, let persona, let report) where a == n:
                guard let newCard = try? PersonaCatalog.makeCard(
                    persona: persona, interface: configuration.kind == .contactless ? .contactless : .contact)
                else { throw .failed("fault plan names unknown persona \(persona)") }
                remove()
                place(newCard)
                card?.powerOn()
                powered = true
                if report {
                    sessionLost = true
                    lostReason = .cardRemoved
                    throw .cardRemoved
                }
                sessionLost = false
            case .cardResetByOtherApplication(let a) where a == n:
                card?.reset()
                sessionLost = true
                lostReason = .cardReset
                throw .cardReset
            case .muteCard(let a, let asTimeout) where a == n:
                // The command goes out, then the reader waits WT / BWT / FWT for nothing.
                let sent = WireClock.commandOnlyNanoseconds(command: command, parameters: wire)
                record(.apdu, command, [], asTimeout ? .timeout : .cardMute,
                    sent + WireClock.waitingTimeNanoseconds(parameters: wire))
                throw asTimeout ? .timeout : .cardMute
            case .slowCard(let a, let count, let ms) where a == nil || a == n:
                wtx += count
                extraNanoseconds += Int64(ms) * 1_000_000
            default: break
            }
        }
        guard let card else { throw .cardRemoved }
        var response = card.process(command)
        for f in plan.faults {
            switch f {
            case .replaceStatusWord(let a, let sw) where a == n && response.count >= 2:
                response[response.count - 2] = sw.sw1
                response[response.count - 1] = sw.sw2
            case .corruptResponse(let a, let index, let mask) where a == n && !response.isEmpty:
                response[index % response.count] ^= mask
            case .truncateResponse(let a, let keep) where a == n:
                response = Array(response.prefix(max(0, keep)))
            default: break
            }
        }
        stats.apduCount += 1
        stats.bytesToCard += command.count
        stats.bytesFromCard += response.count
        stats.wtxCount += wtx
        let t = WireClock.exchangeNanoseconds(command: command, response: response, parameters: wire, wtx: wtx)
            + extraNanoseconds
        record(.apdu, command, response, nil, t)
        return response
    }

    /// PC/SC part 3 pseudo-APDUs answered by the contactless reader itself (never sent to the card):
    /// `FF CA 00 00 Le` → UID, `FF CA 01 00 Le` → historical bytes, `6A 81` when not available; other
    /// `FF` commands → `6A 81`.
    func pseudoAPDU(_ c: [UInt8]) -> [UInt8] {
        guard c.count >= 4, c[1] == 0xCA, c[3] == 0x00 else { return [0x6A, 0x81] }
        let cl = (card as? any ContactlessCapableCard)?.contactless
        let value: [UInt8]?
        switch c[2] {
        case 0x00: value = cl?.uid
        case 0x01: value = cl?.historicalBytes
        default: return [0x6A, 0x81]
        }
        guard let value, !value.isEmpty else { return [0x6A, 0x81] }
        let le = c.count >= 5 ? Int(c[4]) : 0
        if le != 0 && le < value.count { return [0x6C, UInt8(value.count)] }
        return value + [0x90, 0x00]
    }

    public func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] {
        guard !unplugged else { throw .readerGone(readerName) }
        let pp = configuration.pinpad
        if code == PCSCPart10.getFeatureRequest || code == PCSCPart10.getFeatureRequestWindows {
            var features: [PCSCFeature] = [.getTLVProperties]
            if pp != nil { features += [.verifyPINDirect, .modifyPINDirect] }
            let list = PCSCFeatureList(
                controlCodes: Dictionary(uniqueKeysWithValues: features.map { ($0, PCSCPart10.ioctl(feature: $0)) }))
            let out = list.encoded
            record(.control, data, out, nil, 0)
            return out
        }
        if code == PCSCPart10.ioctl(feature: .getTLVProperties) {
            let out = tlvProperties()
            record(.control, data, out, nil, 0)
            return out
        }
        let isVerify = code == PCSCPart10.ioctl(feature: .verifyPINDirect)
        let isModify = code == PCSCPart10.ioctl(feature: .modifyPINDirect)
        guard isVerify || isModify else {
            throw .notSupported("control code 0x\(String(code, radix: 16, uppercase: true))")
        }
        guard let pp else { throw .notSupported("PIN pad (this reader has none)") }
        if sessionLost { throw lostReason }
        guard connected, card != nil else { throw .noCard }
        let outcome: PinpadOutcome
        if isVerify {
            let entry = keypad.isEmpty ? KeypadEntry.timeout : keypad.removeFirst()
            outcome = try PINBlockBuilder.verify(
                structure: data, entry: entry, templateHasLc: pp.templateHasLc, readerMinDigits: pp.minPINSize,
                readerMaxDigits: pp.maxPINSize)
        } else {
            let needed = data.count > 9 ? (data[9] & 0x02 != 0 ? 1 : 0) + 1 + (data[9] & 0x01 != 0 ? 1 : 0) : 1
            let taken = Array(keypad.prefix(needed))
            keypad.removeFirst(taken.count)
            outcome = try PINBlockBuilder.modify(
                structure: data, entries: taken, templateHasLc: pp.templateHasLc, readerMinDigits: pp.minPINSize,
                readerMaxDigits: pp.maxPINSize)
        }
        record(.control, Array(data.prefix(isVerify ? PINBlockBuilder.verifyHeaderSize : PINBlockBuilder.modifyHeaderSize)), [], nil, 0)
        switch outcome {
        case .readerStatus(let sw): return [sw.sw1, sw.sw2]
        case .apdu(let apdu): return try exchange(apdu)
        }
    }

    /// GET_TLV_PROPERTIES answer, values little-endian (PC/SC v2 part 10 §2.6.14).
    func tlvProperties() -> [UInt8] {
        var out: [UInt8] = []
        let pp = configuration.pinpad
        if let pp {
            out += PCSCTLVProperties.encode([
                (.wLcdLayout, 0, size: 2),
                (.bEntryValidationCondition, UInt64(pp.entryValidationCondition), size: 1),
                (.bTimeOut2, 0, size: 1),
                (.bMinPINSize, UInt64(pp.minPINSize), size: 1),
                (.bMaxPINSize, UInt64(pp.maxPINSize), size: 1),
            ])
            let fw = Array(pp.firmwareID.utf8)
            out += [PCSCTLVProperty.sFirmwareID.rawValue, UInt8(fw.count)] + fw
        }
        out += PCSCTLVProperties.encode([
            (.bPPDUSupport, 0, size: 1),
            (.dwMaxAPDUDataSize, configuration.capabilities.supportsExtendedLength ? 0x10000 : 0xFF, size: 4),
            (.wIdVendor, UInt64(pp?.idVendor ?? 0x1D50), size: 2),
            (.wIdProduct, UInt64(pp?.idProduct ?? 0x5A17), size: 2),
        ])
        return out
    }

    public func beginTransaction() async throws(TransportError) {
        guard !unplugged else { throw .readerGone(readerName) }
        if !transactionLocked {
            transactionLocked = true
            return
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in transactionWaiters.append(c) }
    }

    public func endTransaction() async {
        if transactionWaiters.isEmpty { transactionLocked = false } else { transactionWaiters.removeFirst().resume() }
    }

    /// True while a transaction holds the reader.
    public var isInTransaction: Bool { transactionLocked }

    public func disconnect(_ disposition: CardDisposition) async {
        connected = false
        activeProtocol = nil
        guard let card, !sessionLost else { return }
        switch disposition {
        case .leave: break
        case .reset:
            card.reset()
            if let atr = visibleATR(), let info = ATRInfo(atr) {
                powerUpWire(atr: atr, info: info, protocol: wire.transmissionProtocol)
            }
        case .unpower:
            card.powerOff()
            powered = false
        }
    }
}
