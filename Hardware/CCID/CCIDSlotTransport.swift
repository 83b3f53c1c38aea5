import ISO7816

/// One slot of a USB CCID reader as a `CardTransport`, over any `CCIDTransferPort` (libusb or the simulated
/// device), so every card application works over it unchanged.
///
/// - APDU-level readers (dwFeatures 0x20000 / 0x40000) get APDUs in PC_to_RDR_XfrBlock; extended APDUs that do not
///   fit dwMaxCCIDMessageLength − 10 are chained with wLevelParameter 01/03/02 and the answer fetched with 10.
/// - TPDU-level readers (0x10000) get T=0 TPDUs (`T0CommandTPDU`) or T=1 blocks (`T1HostEngine`), after PPS
///   (when the reader does not negotiate by itself) and PC_to_RDR_SetParameters.
///
/// Every wait is bounded (`CCIDTimeouts`): time-extension answers extend it up to `capMs`, stale frames with another
/// bSeq are skipped a bounded number of times. Sources: USB CCID rev 1.10 §6; ISO/IEC 7816-3 §9–§11;
/// `../shared/specs/pcsc-ccid-vpcd-contactless.md` §3.3–§3.5.
public actor CCIDSlotTransport: CardTransport {
    public nonisolated let readerName: String
    public nonisolated let descriptor: CCIDClassDescriptor
    public nonisolated let slot: UInt8
    public nonisolated let timeouts: CCIDTimeouts
    /// Reader quirks (from `CCIDReaderProfile`).
    public nonisolated let quirks: Set<CCIDQuirk>
    private let port: any CCIDTransferPort
    private let clock: any CCIDClock

    private var sequence: UInt8 = 0
    private var session: Session?
    private var commandHeld = false
    private var commandWaiters: [CheckedContinuation<Void, Never>] = []
    private var transactionHeld = false
    private var transactionWaiters: [CheckedContinuation<Void, Never>] = []

    struct Session {
        var atr: [UInt8]
        var activeProtocol: TransmissionProtocol
        var t1: T1HostEngine?
    }

    /// PC/SC v2 part 10 control codes this transport answers (pcsc-lite `SCARD_CTL_CODE(3400)` and the CCID
    /// driver's `SCARD_CTL_CODE(0x330000 + feature)` values).
    public enum ControlCode {
        public static let getFeatureRequest: UInt32 = 0x4200_0D48
        public static let getFeatureRequestWindows: UInt32 = 0x0031_3520
        public static let verifyPINDirect: UInt32 = 0x4233_0006
        public static let modifyPINDirect: UInt32 = 0x4233_0007
    }

    /// - Parameters:
    ///   - port: the USB transfer boundary.
    ///   - descriptor: the reader's CCID class descriptor.
    ///   - slot: bSlot, 0…bMaxSlotIndex.
    ///   - readerName: the name shown to users (USB product string, profile name).
    ///   - quirks: per-reader quirks, from the reader profile.
    ///   - timeouts: bounded waits; `clock`: the time source (injectable for tests).
    public init(port: any CCIDTransferPort, descriptor: CCIDClassDescriptor, slot: UInt8 = 0,
                readerName: String, quirks: Set<CCIDQuirk> = [], timeouts: CCIDTimeouts = CCIDTimeouts(),
                clock: any CCIDClock = CCIDSystemClock()) {
        self.port = port
        self.descriptor = descriptor
        self.slot = slot
        self.readerName = readerName
        self.quirks = quirks
        self.timeouts = timeouts
        self.clock = clock
    }

    /// Capabilities from the descriptor (extended length, sizes, pinpad from bPINSupport); a T=0 session at TPDU
    /// level is short-APDU only.
    public var capabilities: ReaderCapabilities {
        var c = descriptor.capabilities
        if quirks.contains(.noSecureCommand) { c.hasPinpad = false }
        if descriptor.exchangeLevel == .tpdu, session?.activeProtocol == .t0 {
            c.supportsExtendedLength = false
            c.maxCommandLength = 261
            c.maxResponseLength = 258
        }
        return c
    }

    /// The ATR and protocol of the current session, if connected.
    public var connectionInfo: CardConnectionInfo? {
        session.map { CardConnectionInfo(atr: $0.atr, activeProtocol: $0.activeProtocol) }
    }

    // MARK: CardTransport

    public func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        await acquireCommand()
        defer { releaseCommand() }
        if let s = session { return CardConnectionInfo(atr: s.atr, activeProtocol: s.activeProtocol) }
        let level = descriptor.exchangeLevel
        guard level != .character else { throw CCIDError.unsupportedLevel(level).transportError }

        let atr = try await powerOn()
        let params: ATRTransmissionParameters
        do { params = try ATRTransmissionParameters(atr: atr) } catch { throw .cardMute }
        let readerProtocols = descriptor.supportedProtocols
        let offered = params.offeredProtocols.filter { readerProtocols.contains($0) }
        let candidates: [TransmissionProtocol]
        if let specific = params.specificMode { candidates = offered.filter { $0 == specific } } else { candidates = offered }
        guard let chosen = candidates.first(where: { preferred.contains($0) }) else {
            throw .protocolMismatch(requested: preferred, available: Set(candidates))
        }

        var t1: T1HostEngine? = nil
        if level == .tpdu {
            var fiDi: UInt8 = params.ta1 ?? 0x11
            if !descriptor.negotiatesPPSItself && params.specificMode == nil {
                let needsPPS = (params.ta1 ?? 0x11) != 0x11 || chosen != params.offeredProtocols.first
                if needsPPS { fiDi = await exchangePPS(protocol: chosen, ta1: params.ta1) }
            }
            let p = CCIDProtocolParameters.from(params, protocol: chosen, fiDi: fiDi, inverseConvention: atr[0] == 0x3F)
            _ = try await command(.setParameters(p), expect: .rdrToPcParameters)
            if chosen == .t1 {
                var engine = T1HostEngine(
                    ifsc: params.ifsc, ifsd: min(254, max(1, Int(descriptor.maxIFSD))),
                    checksum: params.usesCRC ? .crc : .lrc)
                if descriptor.features & CCIDFeatures.automaticIFSD == 0 {
                    let wanted = engine.ifsd
                    engine.ifsd = 32
                    _ = try await engine.negotiateIFSD(wanted, exchange: blockExchange())
                }
                t1 = engine
            }
        }
        session = Session(atr: atr, activeProtocol: chosen, t1: t1)
        return CardConnectionInfo(atr: atr, activeProtocol: chosen)
    }

    public func transmit(_ apdu: [UInt8]) async throws(TransportError) -> [UInt8] {
        await acquireCommand()
        defer { releaseCommand() }
        guard let s = session else { throw .failed("not connected to the card: call connect first") }
        do {
            return try await exchangeAPDU(apdu, session: s)
        } catch {
            // The slot reports "absent" in the middle of a session: the card was pulled out.
            if error == .noCard {
                session = nil
                throw .cardRemoved
            }
            throw error
        }
    }

    private func exchangeAPDU(_ apdu: [UInt8], session s: Session) async throws(TransportError) -> [UInt8] {
        switch descriptor.exchangeLevel {
        case .shortAPDU, .extendedAPDU:
            return try await transmitAPDULevel(apdu)
        case .tpdu where s.activeProtocol == .t1:
            guard var engine = s.t1 else { throw .failed("T=1 session without engine") }
            defer { session?.t1 = engine }
            return try await engine.transceive(apdu, exchange: blockExchange())
        case .tpdu:
            let tpdu = try T0CommandTPDU(apdu: apdu)
            let r = try await command(
                .xfrBlock(tpdu.bytes, levelParameter: UInt16(tpdu.expectedLength)), expect: .rdrToPcDataBlock)
            return r.data
        case .character:
            throw CCIDError.unsupportedLevel(.character).transportError
        }
    }

    public func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] {
        await acquireCommand()
        defer { releaseCommand() }
        switch code {
        case ControlCode.getFeatureRequest, ControlCode.getFeatureRequestWindows:
            var tlv: [UInt8] = []
            func add(_ tag: UInt8, _ ioctl: UInt32) {
                tlv += [tag, 4, UInt8(ioctl >> 24), UInt8((ioctl >> 16) & 0xFF), UInt8((ioctl >> 8) & 0xFF),
                        UInt8(ioctl & 0xFF)]
            }
            if canVerifyPIN { add(0x06, ControlCode.verifyPINDirect) }
            if canModifyPIN { add(0x07, ControlCode.modifyPINDirect) }
            return tlv
        case ControlCode.verifyPINDirect:
            guard canVerifyPIN else { throw .notSupported("PIN verification on the pinpad") }
            let abData = try CCIDPINBlock.verifyWire(fromPCSC: data)
            return try await secure(abData, timerOut: data[0])
        case ControlCode.modifyPINDirect:
            guard canModifyPIN else { throw .notSupported("PIN modification on the pinpad") }
            let abData = try CCIDPINBlock.modifyWire(fromPCSC: data)
            return try await secure(abData, timerOut: data[0])
        default:
            throw .notSupported("control code 0x\(String(code, radix: 16))")
        }
    }

    public func beginTransaction() async throws(TransportError) {
        if !transactionHeld {
            transactionHeld = true
            return
        }
        await withCheckedContinuation { transactionWaiters.append($0) }
    }

    public func endTransaction() async {
        if transactionWaiters.isEmpty { transactionHeld = false } else { transactionWaiters.removeFirst().resume() }
    }

    public func disconnect(_ disposition: CardDisposition) async {
        await acquireCommand()
        defer { releaseCommand() }
        switch disposition {
        case .leave: return
        case .reset, .unpower:
            _ = try? await command(.iccPowerOff(), expect: .rdrToPcSlotStatus)
            session = nil
        }
    }

    /// PIN entry on the pinpad: bPINSupport, no `noSecureCommand` quirk, and an APDU-level reader (a TPDU-level
    /// pinpad would need the T=1 prologue filled in bTeoPrologue, not done here).
    private nonisolated var canVerifyPIN: Bool {
        descriptor.pinSupport & 0x01 != 0 && !quirks.contains(.noSecureCommand) && descriptor.exchangeLevel != .tpdu
    }
    private nonisolated var canModifyPIN: Bool {
        descriptor.pinSupport & 0x02 != 0 && !quirks.contains(.noSecureCommand) && descriptor.exchangeLevel != .tpdu
    }

    // MARK: Other CCID operations

    /// PC_to_RDR_GetParameters: the protocol (0 T=0, 1 T=1) and protocol data structure now in force.
    /// - Throws: `TransportError` (no card, timeout, …).
    public func parameters() async throws(TransportError) -> CCIDProtocolParameters {
        await acquireCommand()
        defer { releaseCommand() }
        let r = try await command(.getParameters(), expect: .rdrToPcParameters)
        guard let p = CCIDProtocolParameters(protocolNumber: r.specific, bytes: r.data) else {
            throw .failed("the reader's protocol parameters are malformed (\(r.data.hexString(separator: " ")))")
        }
        return p
    }

    /// PC_to_RDR_GetSlotStatus: the ICC status of the slot.
    /// - Throws: `TransportError` (timeout, reader gone, …).
    public func slotStatus() async throws(TransportError) -> CCIDICCStatus {
        await acquireCommand()
        defer { releaseCommand() }
        do {
            return try await link(.getSlotStatus(), expect: .rdrToPcSlotStatus, responseMs: timeouts.responseMs,
                                  capMs: timeouts.capMs).iccStatus
        } catch {
            if case .slotError(_, let icc) = error { return icc }
            throw error.transportError
        }
    }

    /// PC_to_RDR_Abort on the bulk pipe, once the current command is over (the matching ABORT class request on the
    /// control pipe, which interrupts a command in progress, is not sent by this driver).
    public func abort() async throws(TransportError) {
        await acquireCommand()
        defer { releaseCommand() }
        _ = try await command(.abort(), expect: .rdrToPcSlotStatus)
    }

    /// Card insertions and removals of this slot, from RDR_to_PC_NotifySlotChange on the interrupt pipe, or from
    /// polling GetSlotStatus every `pollIntervalMs` when the reader has no interrupt endpoint. The stream ends when
    /// the reader disappears or the consumer stops iterating.
    public nonisolated func slotChanges(pollIntervalMs: Int = 500) -> AsyncStream<CCIDSlotChange> {
        let port = self.port
        let slot = Int(self.slot)
        let maxSlot = Int(descriptor.maxSlotIndex)
        let (stream, continuation) = AsyncStream<CCIDSlotChange>.makeStream()
        do {
            let task = Task {
                var lastPresent: Bool? = nil
                while !Task.isCancelled {
                    do throws(CCIDTransferError) {
                        let bytes = try await port.interruptIn(maxLength: 8, timeoutMs: 1000)
                        for change in CCIDSlotChange.decode(bytes, maxSlotIndex: maxSlot) where change.slot == slot {
                            continuation.yield(change)
                        }
                    } catch .timeout {
                        continue
                    } catch .noInterruptEndpoint {
                        guard let status = try? await self.slotStatus() else { break }
                        let present = status != .absent
                        if present != lastPresent {
                            continuation.yield(CCIDSlotChange(slot: slot, cardPresent: present, changed: lastPresent != nil))
                            lastPresent = present
                        }
                        try? await Task.sleep(nanoseconds: UInt64(max(10, pollIntervalMs)) * 1_000_000)
                    } catch {
                        break
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return stream
    }

    // MARK: Internals

    /// One command sequence at a time (FIFO): the T=1 state and bSeq belong to one exchange.
    private func acquireCommand() async {
        if !commandHeld {
            commandHeld = true
            return
        }
        await withCheckedContinuation { commandWaiters.append($0) }
    }

    private func releaseCommand() {
        if commandWaiters.isEmpty { commandHeld = false } else { commandWaiters.removeFirst().resume() }
    }

    private func powerOn() async throws(TransportError) -> [UInt8] {
        var selections: [CCIDPowerSelect] = [.automatic]
        if descriptor.features & CCIDFeatures.automaticVoltage == 0 && !quirks.contains(.automaticVoltageOnly) {
            selections += descriptor.powerSelectFallbacks
        }
        var lastError: CCIDError = .slotError(.cardAbsentOrMute, iccStatus: .presentInactive)
        for (i, power) in selections.enumerated() {
            if i > 0 { _ = try? await link(.iccPowerOff(), expect: .rdrToPcSlotStatus, responseMs: timeouts.responseMs, capMs: timeouts.capMs) }
            do throws(CCIDError) {
                let r = try await link(.iccPowerOn(power), expect: .rdrToPcDataBlock, responseMs: timeouts.responseMs,
                                       capMs: timeouts.capMs)
                guard r.data.count >= 2 else { throw CCIDError.slotError(.cardAbsentOrMute, iccStatus: r.iccStatus) }
                return r.data
            } catch {
                if case .slotError(_, let icc) = error, icc == .absent { throw .noCard }
                switch error {
                case .slotError: lastError = error
                default: throw error.transportError
                }
            }
        }
        throw lastError.transportError
    }

    /// PPS through XfrBlock (TPDU level, ISO/IEC 7816-3 §9); on any failure keeps Fd/Dd (0x11).
    private func exchangePPS(protocol p: TransmissionProtocol, ta1: UInt8?) async -> UInt8 {
        let request = PPSMessage.request(protocol: p, ta1: ta1)
        guard let r = try? await command(.xfrBlock(request.bytes, levelParameter: UInt16(request.bytes.count)),
                                         expect: .rdrToPcDataBlock),
            let fiDi = try? PPSMessage.negotiatedFiDi(request: request, response: r.data)
        else { return 0x11 }
        return fiDi
    }

    private func blockExchange() -> T1BlockExchange {
        { [self] (block: [UInt8], wtx: UInt8) async throws(TransportError) -> [UInt8] in
            try await self.command(.xfrBlock(block, bwi: wtx > 1 ? wtx : 0), expect: .rdrToPcDataBlock).data
        }
    }

    private func transmitAPDULevel(_ apdu: [UInt8]) async throws(TransportError) -> [UInt8] {
        let maxPayload = max(1, Int(descriptor.maxMessageLength) - CCIDHeader.length)
        if apdu.count <= maxPayload {
            var r = try await command(.xfrBlock(apdu), expect: .rdrToPcDataBlock)
            var out = r.data
            while r.specific == 0x01 || r.specific == 0x03 {
                guard descriptor.exchangeLevel == .extendedAPDU else { break }
                r = try await command(.xfrBlock([], levelParameter: 0x10), expect: .rdrToPcDataBlock)
                out += r.data
                if out.count > 65538 { throw .failed("the reader's chained answer exceeds 65538 bytes") }
            }
            return out
        }
        guard descriptor.exchangeLevel == .extendedAPDU else {
            throw .notSupported("a \(apdu.count)-byte APDU on a short-APDU reader (max \(maxPayload) bytes)")
        }
        var offset = 0
        var r: CCIDResponse? = nil
        while offset < apdu.count {
            let end = min(apdu.count, offset + maxPayload)
            let level: UInt16 = offset == 0 ? 0x01 : (end == apdu.count ? 0x02 : 0x03)
            r = try await command(.xfrBlock(Array(apdu[offset..<end]), levelParameter: level), expect: .rdrToPcDataBlock)
            offset = end
        }
        guard var last = r else { return [] }
        var out = last.data
        while last.specific == 0x01 || last.specific == 0x03 {
            last = try await command(.xfrBlock([], levelParameter: 0x10), expect: .rdrToPcDataBlock)
            out += last.data
            if out.count > 65538 { throw .failed("the reader's chained answer exceeds 65538 bytes") }
        }
        return out
    }

    private func secure(_ abData: [UInt8], timerOut: UInt8) async throws(TransportError) -> [UInt8] {
        let wait = min(timeouts.pinEntryCapMs, max(90_000, (Int(timerOut) + 10) * 1000))
        do {
            return try await link(.secure(abData), expect: .rdrToPcDataBlock, responseMs: wait, capMs: wait).data
        } catch {
            if case .slotError(let e, _) = error {
                if e == .pinCancelled { return [0x64, 0x01] }
                if e == .pinTimeout { return [0x64, 0x00] }
            }
            throw error.transportError
        }
    }

    private func command(_ c: CCIDCommand, expect: CCIDMessageType) async throws(TransportError) -> CCIDResponse {
        do {
            return try await link(c, expect: expect, responseMs: timeouts.responseMs, capMs: timeouts.capMs)
        } catch {
            throw error.transportError
        }
    }

    /// Sends one command and returns its answer: adds bSlot/bSeq, a zero-length packet after a transfer that is a
    /// multiple of wMaxPacketSize, reads packets until dwLength is satisfied, skips stale frames (other bSeq) up
    /// to `maxStaleFrames`, follows time extensions (wait × bError) up to `capMs`.
    /// - Throws: `CCIDError` (slot error with bError, timeout, sequence mismatch, malformed answer, transfer).
    func link(_ c: CCIDCommand, expect: CCIDMessageType, responseMs: Int, capMs: Int) async throws(CCIDError)
        -> CCIDResponse
    {
        var cmd = c
        cmd.slot = slot
        cmd.sequence = sequence
        sequence &+= 1
        let frame = cmd.bytes
        do {
            try await port.bulkOut(frame, timeoutMs: responseMs)
            if port.maxPacketSize > 0 && frame.count % port.maxPacketSize == 0 {
                try await port.bulkOut([], timeoutMs: responseMs)
            }
        } catch {
            throw error == .timeout ? .timeout(capMs: capMs) : .transfer(error)
        }
        let start = clock.nowMs()
        let capDeadline = start + capMs
        var deadline = start + responseMs
        var stale = 0
        var extensions = 0
        while true {
            let raw = try await readFrame(deadline: min(deadline, capDeadline), capMs: capMs)
            guard raw[5] == slot, raw[6] == cmd.sequence else {
                stale += 1
                if stale > timeouts.maxStaleFrames { throw .sequenceMismatch(expected: cmd.sequence, skipped: stale) }
                continue
            }
            let r = try CCIDResponse(decoding: raw)
            switch r.commandStatus {
            case .timeExtension:
                extensions += 1
                if extensions > timeouts.maxTimeExtensions { throw .timeout(capMs: capMs) }
                deadline = clock.nowMs() + responseMs * max(1, Int(r.error))
                continue
            case .failed:
                throw .slotError(CCIDSlotError(r.error), iccStatus: r.iccStatus)
            case .processed, .reserved:
                guard r.messageType == expect.rawValue else {
                    throw .malformedResponse(
                        "message type 0x\([r.messageType].hexString()) where 0x\([expect.rawValue].hexString()) was expected")
                }
                return r
            }
        }
    }

    private func readFrame(deadline: Int, capMs: Int) async throws(CCIDError) -> [UInt8] {
        var buffer: [UInt8] = []
        let maxLength = max(Int(descriptor.maxMessageLength), 64)
        while true {
            let remaining = deadline - clock.nowMs()
            guard remaining > 0 else { throw .timeout(capMs: capMs) }
            let chunk: [UInt8]
            do {
                chunk = try await port.bulkIn(maxLength: maxLength, timeoutMs: remaining)
            } catch {
                throw error == .timeout ? .timeout(capMs: capMs) : .transfer(error)
            }
            buffer += chunk
            if buffer.count >= CCIDHeader.length {
                let need = CCIDHeader.length + CCIDResponse.declaredLength(buffer)
                guard need <= CCIDHeader.length + 65536 + 16 else {
                    throw .malformedResponse("dwLength \(need - CCIDHeader.length) is implausible")
                }
                if buffer.count >= need { return Array(buffer[..<need]) }
            }
        }
    }
}

