import CCID
import CardSimulator
import ISO7816

/// A fault the simulated device applies to the next bulk command it answers (packet-script tests).
public enum CCIDDeviceFault: Sendable, Hashable {
    /// No answer at all: the host's read times out.
    case neverAnswer
    /// `count` time-extension frames (bStatus 0x80, bError = `multiplier`) before the answer.
    case timeExtensions(count: Int, multiplier: UInt8)
    /// One stale frame (bSeq of the previous command) before the answer.
    case staleFrame
    /// Only frames with a wrong bSeq, `count` of them; the real answer never comes.
    case wrongSequenceOnly(count: Int)
    /// The command fails with this bError (bStatus 0x40 | ICC status).
    case slotError(UInt8)
}

/// What the simulated pinpad does when a PC_to_RDR_Secure arrives.
public enum CCIDPinpadBehaviour: Sendable, Hashable {
    /// The holder types these digits (and `newDigits` for a modification). Synthetic test PINs only.
    case enter(digits: String, newDigits: String?)
    /// The holder presses Cancel (bError 0xEF → SW 64 01).
    case cancel
    /// Nobody types (bError 0xF0 → SW 64 00).
    case timeout
}

/// The device side of a USB CCID reader at the transfer boundary, hosting a `VirtualCard`.
///
/// Answers PC_to_RDR_IccPowerOn/Off, GetSlotStatus, XfrBlock (APDU level with extended chaining, TPDU level with
/// PPS, T=0 `61 xx` behaviour and a card-side T=1 engine), Get/SetParameters, Secure (simulated pinpad), Abort;
/// notifies insertions and removals on the interrupt pipe. Bulk-IN answers are cut into `maxPacketSize` packets.
/// Time is a `CCIDManualClock`: a read that finds nothing advances it by its timeout and fails, so tests never sleep.
public actor CCIDSimulatedDevice: CCIDTransferPort {
    public nonisolated let descriptor: CCIDClassDescriptor
    public nonisolated let maxPacketSize: Int
    public nonisolated let clock: CCIDManualClock

    private var card: (any VirtualCard)?
    private var powered = false
    private var ppsAllowed = false
    private var activeProtocol: TransmissionProtocol = .t0
    private var parameters: [UInt8] = [0x11, 0x00, 0x00, 0x0A, 0x00]
    private var t1: T1CardEngine?
    private var t0Held: [UInt8] = []
    private var apduChain: [UInt8] = []
    private var responseChain: [[UInt8]] = []
    private var pendingOut: [UInt8] = []
    private var inPackets: [[UInt8]] = []
    private var interruptQueue: [[UInt8]] = []
    private var interruptWaiter: CheckedContinuation<[UInt8]?, Never>?
    private var lastSequence: UInt8 = 0

    /// Faults applied to the next commands, in order.
    public var faults: [CCIDDeviceFault] = []
    /// What the pinpad does on the next Secure commands (default: cancel).
    public var pinpad: CCIDPinpadBehaviour = .cancel
    /// NULL procedure bytes (60) the T=0 card sends before each procedure byte it answers with.
    public var t0NullBytes = 0
    /// Scripted T=1 card misbehaviour (see `T1CardEngine`), applied at the next power-on.
    public var t1WTXRequests: [UInt8] = []
    public var t1ErrorRBlocks = 0
    /// Every bulk-OUT transfer received, in order (`[]` for a zero-length packet).
    public private(set) var outTransfers: [[UInt8]] = []
    /// Every complete bulk-IN frame queued, in order.
    public private(set) var inFrames: [[UInt8]] = []
    /// Every C-APDU the card processed (the transcript).
    public private(set) var apduTranscript: [[UInt8]] = []

    /// - Parameters: `descriptor` (level, protocols, pinpad…), `card` (inserted at start; nil = empty slot),
    ///   `maxPacketSize` in bytes, `clock` shared with the host transport.
    public init(descriptor: CCIDClassDescriptor, card: sending (any VirtualCard)?, maxPacketSize: Int = 64,
                clock: CCIDManualClock = CCIDManualClock()) {
        self.descriptor = descriptor
        self.card = card
        self.maxPacketSize = maxPacketSize
        self.clock = clock
    }

    // MARK: Test controls

    /// Faults for the next bulk commands, one per command, in order.
    public func setFaults(_ f: [CCIDDeviceFault]) { faults = f }
    /// What the pinpad does on the next PC_to_RDR_Secure commands.
    public func setPinpad(_ p: CCIDPinpadBehaviour) { pinpad = p }
    /// NULL procedure bytes (60) the T=0 card sends before each of its procedure bytes (TPDU level).
    public func scriptT0(nullBytes: Int) { t0NullBytes = nullBytes }
    /// T=1 card script, effective now and at every power-on: S(WTX request) with these multipliers before the next
    /// answers; answer this many I-blocks with an error R-block (`Int.max`: all of them).
    public func scriptT1(wtx: [UInt8] = [], errorRBlocks: Int = 0) {
        t1WTXRequests = wtx
        t1ErrorRBlocks = errorRBlocks
        t1?.pendingWTX = wtx
        t1?.errorRBlocksForIBlocks = errorRBlocks
    }
    /// Forgets `outTransfers`, `inFrames` and `apduTranscript`.
    public func clearTranscripts() {
        outTransfers = []
        inFrames = []
        apduTranscript = []
    }

    /// Inserts a card and reports it on the interrupt pipe (NotifySlotChange `50 03`).
    public func insert(_ newCard: sending any VirtualCard) {
        card = newCard
        powered = false
        notify(present: true)
    }

    /// Removes the card and reports it (NotifySlotChange `50 02`).
    public func remove() {
        card?.powerOff()
        card = nil
        powered = false
        notify(present: false)
    }

    private func notify(present: Bool) {
        let message: [UInt8] = [CCIDMessageType.rdrToPcNotifySlotChange.rawValue, (present ? 0x01 : 0x00) | 0x02]
        if let w = interruptWaiter {
            interruptWaiter = nil
            w.resume(returning: message)
        } else {
            interruptQueue.append(message)
        }
    }

    // MARK: CCIDTransferPort

    public func bulkOut(_ data: [UInt8], timeoutMs: Int) async throws(CCIDTransferError) {
        outTransfers.append(data)
        guard !data.isEmpty else { return }
        pendingOut += data
        guard pendingOut.count >= CCIDHeader.length else { return }
        let need = CCIDHeader.length + CCIDResponse.declaredLength(pendingOut)
        guard pendingOut.count >= need else { return }
        let frame = Array(pendingOut[..<need])
        pendingOut = []
        await handle(frame)
    }

    public func bulkIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8] {
        guard !inPackets.isEmpty else {
            clock.advance(timeoutMs)
            throw .timeout
        }
        return inPackets.removeFirst()
    }

    public func interruptIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8] {
        if !interruptQueue.isEmpty { return interruptQueue.removeFirst() }
        let message: [UInt8]? = await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<[UInt8]?, Never>) in
                if let old = interruptWaiter { old.resume(returning: nil) }
                interruptWaiter = c
            }
        } onCancel: {
            Task { await self.cancelInterruptWait() }
        }
        guard let message else { throw .timeout }
        return message
    }

    private func cancelInterruptWait() {
        interruptWaiter?.resume(returning: nil)
        interruptWaiter = nil
    }

    // MARK: Device logic

    private var iccStatus: UInt8 { card == nil ? 2 : (powered ? 0 : 1) }

    private func queue(_ frames: [[UInt8]]) {
        for f in frames {
            inFrames.append(f)
            var i = 0
            while i < f.count {
                inPackets.append(Array(f[i..<min(f.count, i + maxPacketSize)]))
                i += maxPacketSize
            }
        }
    }

    private func handle(_ frame: [UInt8]) async {
        let type = frame[0]
        let slot = frame[5]
        let seq = frame[6]
        lastSequence = seq
        let data = Array(frame[CCIDHeader.length...])
        let fault = faults.isEmpty ? nil : faults.removeFirst()
        var reply: CCIDResponse
        if case .slotError(let code) = fault {
            reply = CCIDResponse(messageType: Self.replyType(for: type), slot: slot, sequence: seq,
                                 status: 0x40 | iccStatus, error: code)
        } else if slot > descriptor.maxSlotIndex {
            reply = CCIDResponse(messageType: Self.replyType(for: type), slot: slot, sequence: seq,
                                 status: 0x40 | 0x02, error: 0x05)
        } else {
            reply = await answer(type: type, seq: seq, slot: slot, p: (frame[7], frame[8], frame[9]), data: data)
        }
        var frames: [[UInt8]] = []
        switch fault {
        case .neverAnswer?:
            return
        case .timeExtensions(let n, let m)?:
            for _ in 0..<n {
                frames.append(CCIDResponse(messageType: reply.messageType, slot: slot, sequence: seq,
                                           status: 0x80 | iccStatus, error: m).bytes)
            }
        case .staleFrame?:
            frames.append(CCIDResponse(messageType: reply.messageType, slot: slot, sequence: seq &- 1,
                                       status: iccStatus).bytes)
        case .wrongSequenceOnly(let n)?:
            for _ in 0..<n { reply.sequence = seq &+ 1; frames.append(reply.bytes) }
            queue(frames)
            return
        default: break
        }
        frames.append(reply.bytes)
        queue(frames)
    }

    private static func replyType(for type: UInt8) -> UInt8 {
        switch CCIDMessageType(rawValue: type) {
        case .pcToRdrIccPowerOn?, .pcToRdrXfrBlock?, .pcToRdrSecure?: return CCIDMessageType.rdrToPcDataBlock.rawValue
        case .pcToRdrGetParameters?, .pcToRdrSetParameters?, .pcToRdrResetParameters?:
            return CCIDMessageType.rdrToPcParameters.rawValue
        case .pcToRdrEscape?: return CCIDMessageType.rdrToPcEscape.rawValue
        default: return CCIDMessageType.rdrToPcSlotStatus.rawValue
        }
    }

    private func fail(_ type: UInt8, _ slot: UInt8, _ seq: UInt8, _ error: UInt8) -> CCIDResponse {
        CCIDResponse(messageType: Self.replyType(for: type), slot: slot, sequence: seq, status: 0x40 | iccStatus,
                     error: error)
    }

    private func dataBlock(_ slot: UInt8, _ seq: UInt8, _ data: [UInt8], chain: UInt8 = 0) -> CCIDResponse {
        CCIDResponse(messageType: CCIDMessageType.rdrToPcDataBlock.rawValue, slot: slot, sequence: seq,
                     status: iccStatus, specific: chain, data: data)
    }

    private func answer(type: UInt8, seq: UInt8, slot: UInt8, p: (UInt8, UInt8, UInt8), data: [UInt8]) async
        -> CCIDResponse
    {
        switch CCIDMessageType(rawValue: type) {
        case .pcToRdrIccPowerOn?:
            guard let card else { return fail(type, slot, seq, 0xFE) }
            card.powerOn()
            powered = true
            ppsAllowed = true
            apduChain = []
            responseChain = []
            t0Held = []
            let atr = card.atr
            let params = try? ATRTransmissionParameters(atr: atr)
            activeProtocol = params?.offeredProtocols.first ?? .t0
            var engine = T1CardEngine(ifsc: params?.ifsc ?? 32, checksum: params?.usesCRC == true ? .crc : .lrc)
            engine.pendingWTX = t1WTXRequests
            engine.errorRBlocksForIBlocks = t1ErrorRBlocks
            t1 = engine
            return dataBlock(slot, seq, atr)
        case .pcToRdrIccPowerOff?:
            card?.powerOff()
            powered = false
            return CCIDResponse(messageType: CCIDMessageType.rdrToPcSlotStatus.rawValue, slot: slot, sequence: seq,
                                status: iccStatus)
        case .pcToRdrGetSlotStatus?, .pcToRdrAbort?:
            return CCIDResponse(messageType: CCIDMessageType.rdrToPcSlotStatus.rawValue, slot: slot, sequence: seq,
                                status: iccStatus)
        case .pcToRdrSetParameters?:
            guard card != nil, powered else { return fail(type, slot, seq, 0xFE) }
            let proto = p.0
            guard (proto == 0 && data.count == 5) || (proto == 1 && data.count == 7) else {
                return fail(type, slot, seq, proto > 1 ? 0x07 : 0x01)
            }
            guard descriptor.protocols & (1 << UInt32(proto)) != 0 else { return fail(type, slot, seq, 0x07) }
            activeProtocol = proto == 1 ? .t1 : .t0
            parameters = data
            ppsAllowed = false
            return CCIDResponse(messageType: CCIDMessageType.rdrToPcParameters.rawValue, slot: slot, sequence: seq,
                                status: iccStatus, specific: proto, data: data)
        case .pcToRdrGetParameters?:
            return CCIDResponse(messageType: CCIDMessageType.rdrToPcParameters.rawValue, slot: slot, sequence: seq,
                                status: iccStatus, specific: activeProtocol == .t1 ? 1 : 0, data: parameters)
        case .pcToRdrXfrBlock?:
            guard let card, powered else { return fail(type, slot, seq, 0xFE) }
            let level = UInt16(p.1) | UInt16(p.2) << 8
            return await xfrBlock(card: card, slot: slot, seq: seq, level: level, data: data)
        case .pcToRdrSecure?:
            guard let card, powered else { return fail(type, slot, seq, 0xFE) }
            guard descriptor.pinSupport != 0, descriptor.exchangeLevel != .tpdu else { return fail(type, slot, seq, 0x00) }
            return secure(card: card, slot: slot, seq: seq, data: data)
        default:
            return fail(type, slot, seq, 0x00)
        }
    }

    private func process(_ card: any VirtualCard, _ apdu: [UInt8]) -> [UInt8] {
        apduTranscript.append(apdu)
        return card.process(apdu)
    }

    private func xfrBlock(card: any VirtualCard, slot: UInt8, seq: UInt8, level: UInt16, data: [UInt8]) async
        -> CCIDResponse
    {
        let maxPayload = Int(descriptor.maxMessageLength) - CCIDHeader.length
        switch descriptor.exchangeLevel {
        case .shortAPDU, .extendedAPDU:
            let extended = descriptor.exchangeLevel == .extendedAPDU
            switch level {
            case 0x00:
                guard data.count <= maxPayload else { return fail(0x6F, slot, seq, 0x01) }
                if !extended, let c = try? CommandAPDU(decoding: data), c.needsExtendedLength || (data.count > 5 && data[4] == 0) {
                    return fail(0x6F, slot, seq, 0xBE)
                }
                return respondChained(process(card, data), slot: slot, seq: seq, maxPayload: maxPayload)
            case 0x01 where extended, 0x03 where extended:
                if level == 0x01 { apduChain = [] }
                apduChain += data
                return dataBlock(slot, seq, [], chain: 0x10)
            case 0x02 where extended:
                apduChain += data
                let apdu = apduChain
                apduChain = []
                return respondChained(process(card, apdu), slot: slot, seq: seq, maxPayload: maxPayload)
            case 0x10 where extended:
                guard !responseChain.isEmpty else { return fail(0x6F, slot, seq, 0x07) }
                let chunk = responseChain.removeFirst()
                return dataBlock(slot, seq, chunk, chain: responseChain.isEmpty ? 0x02 : 0x03)
            default:
                return fail(0x6F, slot, seq, 0x07)
            }
        case .tpdu:
            if ppsAllowed && data.first == 0xFF {
                ppsAllowed = false
                guard let request = try? PPSMessage(decoding: data),
                    let params = try? ATRTransmissionParameters(atr: card.atr),
                    params.offeredProtocols.contains(request.protocolType == 1 ? .t1 : .t0)
                else { return fail(0x6F, slot, seq, 0xFE) }
                return dataBlock(slot, seq, data)  // accepted: the echo
            }
            ppsAllowed = false
            if activeProtocol == .t1, var engine = t1 {
                let block = engine.handle(data) { self.process(card, $0) }
                t1 = engine
                return dataBlock(slot, seq, block)
            }
            return await t0OverLine(card: card, slot: slot, seq: seq, tpdu: data)
        case .character:
            return fail(0x6F, slot, seq, 0x00)
        }
    }

    /// The reader firmware's side of a T=0 TPDU: the card's answer is computed, turned into the character stream a
    /// T=0 card emits (NULL bytes, INS or ~INS procedure bytes, data, `61 xx`/`6C xx`/SW1 SW2), and the reader's
    /// UART logic — `T0ProcedureEngine` — runs over it, as a TPDU-level CCID reader does (USB CCID rev 1.10
    /// §6.1.4). A protocol error there is reported as bError F4 (procedure byte conflict).
    private func t0OverLine(card: any VirtualCard, slot: UInt8, seq: UInt8, tpdu: [UInt8]) async -> CCIDResponse {
        guard tpdu.count >= 5, tpdu.count == 5 || tpdu.count == 5 + Int(tpdu[4]) else {
            return fail(0x6F, slot, seq, 0x01)
        }
        let ins = tpdu[1]
        let nulls = [UInt8](repeating: 0x60, count: t0NullBytes)
        let r = t0(card: card, tpdu: tpdu)
        let sw = Array(r.suffix(2))
        let responseData = Array(r.dropLast(2))
        var stages: [[UInt8]]
        let command = T0CommandTPDU(header: Array(tpdu[..<5]), data: Array(tpdu[5...]),
                                    expectedLength: tpdu.count == 5 ? (tpdu[4] == 0 ? 256 : Int(tpdu[4])) : 0)
        if tpdu.count > 5 {
            // Outgoing data: the first byte after ~INS, the rest after INS, as the card asks for them.
            stages = tpdu.count > 6 ? [nulls + [ins ^ 0xFF], [ins], nulls + sw] : [nulls + [ins], nulls + sw]
        } else if responseData.isEmpty {
            stages = [nulls + sw]
        } else if responseData.count != command.expectedLength {
            stages = [nulls + [0x6C, UInt8(responseData.count & 0xFF)]]  // wrong Le: the exact one is given
        } else {
            stages = [nulls + [ins] + responseData + sw]
        }
        var line = ScriptedT0CardLine(stages: stages)
        do {
            return dataBlock(slot, seq, try await T0ProcedureEngine.run(command, over: &line))
        } catch {
            return fail(0x6F, slot, seq, 0xF4)
        }
    }

    /// Card-side T=0 behaviour on a TPDU: case 3 commands whose answer carries data get `61 xx` and the data waits
    /// for GET RESPONSE (INS C0), ISO/IEC 7816-3 §12.2.5 / §10.3.
    private func t0(card: any VirtualCard, tpdu: [UInt8]) -> [UInt8] {
        guard tpdu.count >= 5 else { return [0x67, 0x00] }
        if tpdu[1] == 0xC0 && tpdu.count == 5 && !t0Held.isEmpty {
            let le = tpdu[4] == 0 ? 256 : Int(tpdu[4])
            let n = min(le, t0Held.count)
            let out = Array(t0Held[..<n])
            t0Held.removeFirst(n)
            if t0Held.isEmpty { return out + [0x90, 0x00] }
            return out + [0x61, UInt8(min(256, t0Held.count) & 0xFF)]
        }
        t0Held = []
        let isCase3 = tpdu.count > 5
        let r = process(card, tpdu)
        guard isCase3, r.count > 2, r[r.count - 2] == 0x90 else { return r }
        t0Held = Array(r[..<(r.count - 2)])
        return [0x61, UInt8(min(256, t0Held.count) & 0xFF)]
    }

    private func respondChained(_ r: [UInt8], slot: UInt8, seq: UInt8, maxPayload: Int) -> CCIDResponse {
        guard r.count > maxPayload, descriptor.exchangeLevel == .extendedAPDU else { return dataBlock(slot, seq, r) }
        responseChain = stride(from: maxPayload, to: r.count, by: maxPayload).map {
            Array(r[$0..<min(r.count, $0 + maxPayload)])
        }
        return dataBlock(slot, seq, Array(r[..<maxPayload]), chain: 0x01)
    }

    /// Simulated pinpad: builds the APDU from the template of the Secure structure (bmFormatString ASCII or BCD,
    /// byte units) with the scripted digits, or fails with bError EF (cancel) / F0 (timeout).
    private func secure(card: any VirtualCard, slot: UInt8, seq: UInt8, data: [UInt8]) -> CCIDResponse {
        guard let op = data.first else { return fail(0x69, slot, seq, 0x01) }
        let headerLength = op == 0 ? 15 : 20
        guard (op == 0 || op == 1), data.count >= headerLength + 5 else { return fail(0x69, slot, seq, 0x01) }
        switch pinpad {
        case .cancel: return fail(0x69, slot, seq, 0xEF)
        case .timeout: return fail(0x69, slot, seq, 0xF0)
        case .enter(let digits, let newDigits):
            var apdu = Array(data[headerLength...])
            let format = data[2], blockString = data[3]
            let blockSize = Int(blockString & 0x0F)
            let position = Int((format >> 3) & 0x0F)
            func place(_ pin: String, at offset: Int) -> Bool {
                let start = 5 + offset
                let encoded: [UInt8]
                switch format & 0x03 {
                case 0x01:  // BCD, padded with F by the template's bytes
                    let nibbles = pin.compactMap { $0.wholeNumberValue }.map(UInt8.init)
                    var bytes: [UInt8] = []
                    var i = 0
                    while i < nibbles.count {
                        let hi = nibbles[i] << 4
                        let lo: UInt8 = i + 1 < nibbles.count ? nibbles[i + 1] : (start + bytes.count < apdu.count ? apdu[start + bytes.count] & 0x0F : 0x0F)
                        bytes.append(hi | lo)
                        i += 2
                    }
                    encoded = bytes
                case 0x02: encoded = Array(pin.utf8)
                default: encoded = pin.compactMap { $0.wholeNumberValue }.map(UInt8.init)
                }
                guard start + max(encoded.count, blockSize) <= apdu.count || start + encoded.count <= apdu.count else { return false }
                for (i, b) in encoded.enumerated() { apdu[start + i] = b }
                return true
            }
            if op == 0 {
                // PIN verification: the same reader logic as the PC/SC pinpad simulator (PINBlockBuilder), on the
                // PIN_VERIFY_STRUCTURE this Secure message carries (CCID §6.1.11 drops bTimerOut2 and ulDataLength).
                let template = Array(data[headerLength...])
                var length = [UInt8](repeating: 0, count: 4)
                for i in 0..<4 { length[i] = UInt8(truncatingIfNeeded: template.count >> (8 * i)) }
                let structure = [data[1], 0x00] + Array(data[2..<headerLength]) + length + template
                let outcome: PinpadOutcome
                do {
                    outcome = try PINBlockBuilder.verify(
                        structure: structure, entry: .typed(digits), templateHasLc: template.count > 4,
                        readerMinDigits: 1, readerMaxDigits: 16)
                } catch {
                    return fail(0x69, slot, seq, 0x01)
                }
                switch outcome {
                case .apdu(let built): return dataBlock(slot, seq, process(card, built))
                case .readerStatus(let sw):
                    switch sw.value {
                    case 0x6401: return fail(0x69, slot, seq, 0xEF)
                    case 0x6400: return fail(0x69, slot, seq, 0xF0)
                    default: return dataBlock(slot, seq, [sw.sw1, sw.sw2])
                    }
                }
            } else {
                let oldOffset = Int(data[5]), newOffset = Int(data[6])
                guard place(digits, at: oldOffset), place(newDigits ?? digits, at: newOffset) else {
                    return fail(0x69, slot, seq, 0x01)
                }
            }
            return dataBlock(slot, seq, process(card, apdu))
        }
    }
}

/// The card's end of a T=0 line, scripted: after each `send` from the reader the next stage of characters becomes
/// available to `receive`; a read past what the card sent means the card fell silent (`.cardMute`).
struct ScriptedT0CardLine: T0CharacterChannel {
    var stages: [[UInt8]]
    var pending: [UInt8] = []

    mutating func send(_ bytes: [UInt8]) async throws(TransportError) {
        if !stages.isEmpty { pending += stages.removeFirst() }
    }

    mutating func receive(_ count: Int) async throws(TransportError) -> [UInt8] {
        guard pending.count >= count else { throw .cardMute }
        defer { pending.removeFirst(count) }
        return Array(pending[..<count])
    }
}
