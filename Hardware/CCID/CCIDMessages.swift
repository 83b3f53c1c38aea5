import ISO7816

/// The 10-byte header every CCID bulk message starts with (USB CCID rev 1.10 §6;
/// `../shared/specs/pcsc-ccid-vpcd-contactless.md` §3.4): bMessageType, dwLength (LE), bSlot, bSeq, then three
/// message-specific bytes (OUT) or bStatus, bError and one message-specific byte (IN).
public enum CCIDHeader {
    public static let length = 10
}

/// A PC_to_RDR_* command message.
public struct CCIDCommand: Sendable, Hashable {
    public var messageType: CCIDMessageType
    public var slot: UInt8
    public var sequence: UInt8
    /// Bytes 7, 8, 9 (message-specific: bPowerSelect; bBWI + wLevelParameter; bProtocolNum…).
    public var parameters: (UInt8, UInt8, UInt8)
    /// abData.
    public var data: [UInt8]

    public init(_ type: CCIDMessageType, slot: UInt8 = 0, sequence: UInt8 = 0,
                parameters: (UInt8, UInt8, UInt8) = (0, 0, 0), data: [UInt8] = []) {
        messageType = type
        self.slot = slot
        self.sequence = sequence
        self.parameters = parameters
        self.data = data
    }

    public static func == (a: Self, b: Self) -> Bool { a.bytes == b.bytes }
    public func hash(into h: inout Hasher) { h.combine(bytes) }

    /// header ‖ abData.
    public var bytes: [UInt8] {
        let n = UInt32(data.count)
        return [messageType.rawValue, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF),
                UInt8(n >> 24), slot, sequence, parameters.0, parameters.1, parameters.2] + data
    }

    /// PC_to_RDR_IccPowerOn (0x62) with bPowerSelect.
    public static func iccPowerOn(_ power: CCIDPowerSelect) -> CCIDCommand {
        CCIDCommand(.pcToRdrIccPowerOn, parameters: (power.rawValue, 0, 0))
    }
    /// PC_to_RDR_IccPowerOff (0x63).
    public static func iccPowerOff() -> CCIDCommand { CCIDCommand(.pcToRdrIccPowerOff) }
    /// PC_to_RDR_GetSlotStatus (0x65).
    public static func getSlotStatus() -> CCIDCommand { CCIDCommand(.pcToRdrGetSlotStatus) }
    /// PC_to_RDR_XfrBlock (0x6F): bBWI (block waiting time multiplier for T=1, 0 otherwise), wLevelParameter (LE;
    /// expected length for T=0 TPDU, chaining code at extended APDU level).
    public static func xfrBlock(_ data: [UInt8], bwi: UInt8 = 0, levelParameter: UInt16 = 0) -> CCIDCommand {
        CCIDCommand(.pcToRdrXfrBlock, parameters: (bwi, UInt8(levelParameter & 0xFF), UInt8(levelParameter >> 8)),
                    data: data)
    }
    /// PC_to_RDR_GetParameters (0x6C).
    public static func getParameters() -> CCIDCommand { CCIDCommand(.pcToRdrGetParameters) }
    /// PC_to_RDR_SetParameters (0x61): bProtocolNum (0 T=0, 1 T=1) and the protocol data structure.
    public static func setParameters(_ p: CCIDProtocolParameters) -> CCIDCommand {
        CCIDCommand(.pcToRdrSetParameters, parameters: (p.protocolNumber, 0, 0), data: p.bytes)
    }
    /// PC_to_RDR_Secure (0x69): bBWI, wLevelParameter, abData = bPINOperation ‖ PIN structure.
    public static func secure(_ data: [UInt8]) -> CCIDCommand { CCIDCommand(.pcToRdrSecure, data: data) }
    /// PC_to_RDR_Abort (0x72).
    public static func abort() -> CCIDCommand { CCIDCommand(.pcToRdrAbort) }
}

/// ICC status, bStatus bits 1–0.
public enum CCIDICCStatus: UInt8, Sendable, Hashable {
    case presentActive = 0, presentInactive = 1, absent = 2, reserved = 3
}

/// Command status, bStatus bits 7–6.
public enum CCIDCommandStatus: UInt8, Sendable, Hashable {
    /// Processed without error.
    case processed = 0
    /// Failed: bError says why.
    case failed = 1
    /// Time extension requested: bError holds the multiplier; the answer is still to come.
    case timeExtension = 2
    case reserved = 3
}

/// A RDR_to_PC_* message parsed from the bulk-IN pipe.
public struct CCIDResponse: Sendable, Hashable {
    public var messageType: UInt8
    public var slot: UInt8
    public var sequence: UInt8
    public var status: UInt8
    public var error: UInt8
    /// Byte 9: bChainParameter (DataBlock), bClockStatus (SlotStatus), bProtocolNum (Parameters).
    public var specific: UInt8
    public var data: [UInt8]

    public var iccStatus: CCIDICCStatus { CCIDICCStatus(rawValue: status & 0x03)! }
    public var commandStatus: CCIDCommandStatus { CCIDCommandStatus(rawValue: status >> 6)! }

    /// Parses one complete message (header + exactly dwLength bytes; extra trailing bytes are ignored, as a short
    /// packet may be padded).
    /// - Throws: `CCIDError.malformedResponse` when the header is short or fewer than dwLength bytes follow.
    public init(decoding bytes: [UInt8]) throws(CCIDError) {
        guard bytes.count >= CCIDHeader.length else {
            throw .malformedResponse("\(bytes.count) bytes, a 10-byte header is needed")
        }
        let len = Self.declaredLength(bytes)
        guard bytes.count - CCIDHeader.length >= len else {
            throw .malformedResponse("dwLength \(len) but \(bytes.count - CCIDHeader.length) data bytes")
        }
        messageType = bytes[0]
        slot = bytes[5]
        sequence = bytes[6]
        status = bytes[7]
        error = bytes[8]
        specific = bytes[9]
        data = Array(bytes[CCIDHeader.length..<(CCIDHeader.length + len)])
    }

    public init(messageType: UInt8, slot: UInt8 = 0, sequence: UInt8, status: UInt8 = 0, error: UInt8 = 0,
                specific: UInt8 = 0, data: [UInt8] = []) {
        self.messageType = messageType
        self.slot = slot
        self.sequence = sequence
        self.status = status
        self.error = error
        self.specific = specific
        self.data = data
    }

    /// header ‖ abData.
    public var bytes: [UInt8] {
        let n = UInt32(data.count)
        return [messageType, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24),
                slot, sequence, status, error, specific] + data
    }

    /// dwLength of a header (bytes 1–4, LE), as an Int (0 when fewer than 5 bytes).
    public static func declaredLength(_ header: [UInt8]) -> Int {
        guard header.count >= 5 else { return 0 }
        return Int(header[1]) | Int(header[2]) << 8 | Int(header[3]) << 16 | Int(header[4]) << 24
    }
}

/// bError values when bStatus reports a failed command (USB CCID rev 1.10 §6.2.6; CCID `src/ccid.c`).
public enum CCIDSlotError: Sendable, Hashable, CustomStringConvertible {
    case commandNotSupported          // 0x00
    case wrongLength                  // 0x01
    case badSlot                      // 0x05
    case shortCircuit                 // 0xA2
    case atrTooLong                   // 0xA3
    case noDataExchanged              // 0xAB
    case t1CardError                  // 0xBD
    case wrongAPDULength              // 0xBE
    case slotBusy                     // 0xE0
    case pinCancelled                 // 0xEF
    case pinTimeout                   // 0xF0
    case busyWithAutoSequence         // 0xF2
    case deactivatedProtocol          // 0xF3
    case procedureByteConflict        // 0xF4
    case classNotSupported            // 0xF5
    case protocolNotSupported         // 0xF6
    case badATRTCK                    // 0xF7
    case badATRTS                     // 0xF8
    case hardwareError                // 0xFB
    case overrun                      // 0xFC
    case parityError                  // 0xFD
    case cardAbsentOrMute             // 0xFE
    case abortedByHost                // 0xFF
    /// A command-specific bError: the index of the offending field, or a vendor code.
    case other(UInt8)

    public init(_ code: UInt8) {
        switch code {
        case 0x00: self = .commandNotSupported
        case 0x01: self = .wrongLength
        case 0x05: self = .badSlot
        case 0xA2: self = .shortCircuit
        case 0xA3: self = .atrTooLong
        case 0xAB: self = .noDataExchanged
        case 0xBD: self = .t1CardError
        case 0xBE: self = .wrongAPDULength
        case 0xE0: self = .slotBusy
        case 0xEF: self = .pinCancelled
        case 0xF0: self = .pinTimeout
        case 0xF2: self = .busyWithAutoSequence
        case 0xF3: self = .deactivatedProtocol
        case 0xF4: self = .procedureByteConflict
        case 0xF5: self = .classNotSupported
        case 0xF6: self = .protocolNotSupported
        case 0xF7: self = .badATRTCK
        case 0xF8: self = .badATRTS
        case 0xFB: self = .hardwareError
        case 0xFC: self = .overrun
        case 0xFD: self = .parityError
        case 0xFE: self = .cardAbsentOrMute
        case 0xFF: self = .abortedByHost
        default: self = .other(code)
        }
    }

    public var description: String {
        switch self {
        case .commandNotSupported: return "the reader does not support this command"
        case .wrongLength: return "the reader rejected the message length"
        case .badSlot: return "no such slot on this reader"
        case .shortCircuit: return "short circuit on the card contacts"
        case .atrTooLong: return "the card's ATR is too long"
        case .noDataExchanged: return "no data was exchanged with the card"
        case .t1CardError: return "the card broke the T=1 protocol"
        case .wrongAPDULength: return "the reader rejected the APDU length"
        case .slotBusy: return "the slot is busy with another command"
        case .pinCancelled: return "PIN entry cancelled on the pinpad"
        case .pinTimeout: return "PIN entry timed out on the pinpad"
        case .busyWithAutoSequence: return "the reader is busy with an automatic sequence"
        case .deactivatedProtocol: return "the protocol is deactivated"
        case .procedureByteConflict: return "T=0 procedure byte conflict"
        case .classNotSupported: return "the card's voltage class is not supported"
        case .protocolNotSupported: return "the protocol is not supported by the reader"
        case .badATRTCK: return "the card's ATR has a bad check byte (TCK)"
        case .badATRTS: return "the card's ATR has a bad initial character (TS)"
        case .hardwareError: return "reader hardware error"
        case .overrun: return "buffer overrun in the reader"
        case .parityError: return "parity error talking to the card"
        case .cardAbsentOrMute: return "the card is absent or does not answer"
        case .abortedByHost: return "aborted by the host"
        case .other(let c): return "reader error 0x\([c].hexString())"
        }
    }
}

/// What went wrong in the CCID layer, typed. `transportError` maps it to the shared `TransportError`.
public enum CCIDError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class descriptor is malformed.
    case malformedDescriptor(String)
    /// A bulk-IN message is malformed (short header, truncated data, wrong message type, slot).
    case malformedResponse(String)
    /// The reader reported a failed command (bStatus 0x40) with this bError; `iccStatus` from bStatus bits 1–0.
    case slotError(CCIDSlotError, iccStatus: CCIDICCStatus)
    /// Only frames with other bSeq values arrived (`skipped` stale frames), then the budget was exhausted.
    case sequenceMismatch(expected: UInt8, skipped: Int)
    /// The device did not answer within the wait (time extensions included, capped at `capMs`).
    case timeout(capMs: Int)
    /// A transfer on the USB pipe failed.
    case transfer(CCIDTransferError)
    /// The reader's exchange level is not usable (character level).
    case unsupportedLevel(CCIDExchangeLevel)

    public var description: String {
        switch self {
        case .malformedDescriptor(let why): return "malformed CCID class descriptor: \(why)"
        case .malformedResponse(let why): return "malformed CCID answer: \(why)"
        case .slotError(let e, _): return e.description
        case .sequenceMismatch(let s, let n):
            return "the reader answered out of sequence (expected bSeq \(s), skipped \(n) stale frames)"
        case .timeout(let cap): return "the reader did not answer within \(cap) ms"
        case .transfer(let e): return e.description
        case .unsupportedLevel(let l): return "readers working at \(l) are not supported"
        }
    }

    /// The shared transport error for this CCID error.
    public var transportError: TransportError {
        switch self {
        case .slotError(let e, let icc):
            if icc == .absent { return .noCard }
            switch e {
            case .cardAbsentOrMute, .noDataExchanged, .parityError, .badATRTS, .badATRTCK, .t1CardError:
                return .cardMute
            case .slotBusy, .busyWithAutoSequence: return .busy
            case .abortedByHost: return .cancelled
            case .commandNotSupported, .protocolNotSupported, .classNotSupported:
                return .notSupported(e.description)
            default: return .failed(e.description)
            }
        case .timeout: return .timeout
        case .transfer(let t): return t.transportError
        case .unsupportedLevel: return .notSupported(description)
        default: return .failed(description)
        }
    }
}

/// The protocol data structure of SetParameters / Parameters (USB CCID rev 1.10 §6.1.7).
public struct CCIDProtocolParameters: Sendable, Hashable {
    /// bmFindexDindex: Fi in the high nibble, Di in the low one (TA1 or 0x11).
    public var fiDi: UInt8
    /// T=0: bmTCCKST0 (0x00 direct, 0x02 inverse convention). T=1: bmTCCKST1 (0x10 | b1 CRC | b2 inverse).
    public var tcckst: UInt8
    /// Extra guard time (TC1).
    public var guardTime: UInt8
    /// T=0: WI (TC2). T=1: BWI/CWI (TB3).
    public var waitingInteger: UInt8
    /// bClockStop (0 not allowed).
    public var clockStop: UInt8
    /// T=1 only: IFSC and NAD.
    public var ifsc: UInt8?
    public var nad: UInt8?

    public init(fiDi: UInt8, tcckst: UInt8, guardTime: UInt8, waitingInteger: UInt8, clockStop: UInt8 = 0,
                ifsc: UInt8? = nil, nad: UInt8? = nil) {
        self.fiDi = fiDi
        self.tcckst = tcckst
        self.guardTime = guardTime
        self.waitingInteger = waitingInteger
        self.clockStop = clockStop
        self.ifsc = ifsc
        self.nad = nad
    }

    /// Parses a protocol data structure: 5 bytes for bProtocolNum 0 (T=0), 7 bytes for 1 (T=1); nil otherwise.
    public init?(protocolNumber: UInt8, bytes: [UInt8]) {
        switch (protocolNumber, bytes.count) {
        case (0, 5):
            self.init(fiDi: bytes[0], tcckst: bytes[1], guardTime: bytes[2], waitingInteger: bytes[3], clockStop: bytes[4])
        case (1, 7):
            self.init(fiDi: bytes[0], tcckst: bytes[1], guardTime: bytes[2], waitingInteger: bytes[3], clockStop: bytes[4],
                      ifsc: bytes[5], nad: bytes[6])
        default:
            return nil
        }
    }

    /// bProtocolNum: 1 when the T=1 fields are present, 0 otherwise.
    public var protocolNumber: UInt8 { ifsc == nil ? 0 : 1 }

    /// 5 bytes for T=0, 7 bytes for T=1.
    public var bytes: [UInt8] {
        var out = [fiDi, tcckst, guardTime, waitingInteger, clockStop]
        if let ifsc { out += [ifsc, nad ?? 0] }
        return out
    }

    /// Parameters for `protocol` from the ATR's interface bytes, with Fi/Di = `fiDi` (the negotiated value).
    public static func from(_ atr: ATRTransmissionParameters, protocol p: TransmissionProtocol, fiDi: UInt8,
                            inverseConvention: Bool = false) -> CCIDProtocolParameters {
        if p == .t1 {
            return CCIDProtocolParameters(
                fiDi: fiDi, tcckst: 0x10 | (atr.usesCRC ? 1 : 0) | (inverseConvention ? 2 : 0), guardTime: atr.tc1,
                waitingInteger: atr.bwiCwi, ifsc: UInt8(atr.ifsc), nad: 0)
        }
        return CCIDProtocolParameters(fiDi: fiDi, tcckst: inverseConvention ? 2 : 0, guardTime: atr.tc1,
                                      waitingInteger: atr.waitingIntegerT0)
    }
}

/// RDR_to_PC_NotifySlotChange (0x50) from the interrupt-IN pipe: 2 bits per slot — bit 2n card present, bit 2n+1
/// changed since the last report (USB CCID rev 1.10 §6.3.1).
public struct CCIDSlotChange: Sendable, Hashable {
    public var slot: Int
    public var cardPresent: Bool
    public var changed: Bool

    public init(slot: Int, cardPresent: Bool, changed: Bool) {
        self.slot = slot
        self.cardPresent = cardPresent
        self.changed = changed
    }

    /// Decodes an interrupt message.
    /// - Returns: one entry per slot up to `maxSlotIndex` covered by the bytes; empty for other message types
    ///   (RDR_to_PC_HardwareError 0x51 included) or an empty buffer. Never reads past the input.
    public static func decode(_ bytes: [UInt8], maxSlotIndex: Int = 0) -> [CCIDSlotChange] {
        guard let first = bytes.first, first == CCIDMessageType.rdrToPcNotifySlotChange.rawValue else { return [] }
        var out: [CCIDSlotChange] = []
        for slot in 0...max(0, maxSlotIndex) {
            let i = 1 + slot / 4
            guard i < bytes.count else { break }
            let bits = bytes[i] >> UInt8(2 * (slot % 4))
            out.append(CCIDSlotChange(slot: slot, cardPresent: bits & 1 != 0, changed: bits & 2 != 0))
        }
        return out
    }
}
