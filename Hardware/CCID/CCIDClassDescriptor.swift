import ISO7816

/// The CCID class descriptor (bDescriptorType 0x21, 54 bytes), USB CCID rev 1.10 §5.1;
/// `../shared/specs/pcsc-ccid-vpcd-contactless.md` §3.5. All multi-byte fields little-endian.
public struct CCIDClassDescriptor: Sendable, Hashable {
    /// bcdCCID, e.g. 0x0110 for rev 1.10.
    public var bcdCCID: UInt16
    /// Highest slot index (0 for a one-slot reader).
    public var maxSlotIndex: UInt8
    /// bVoltageSupport: 0x01 5 V, 0x02 3 V, 0x04 1.8 V.
    public var voltageSupport: UInt8
    /// dwProtocols: bit 0 T=0, bit 1 T=1.
    public var protocols: UInt32
    /// dwDefaultClock, kHz.
    public var defaultClockKHz: UInt32
    /// dwMaximumClock, kHz.
    public var maximumClockKHz: UInt32
    public var numClockSupported: UInt8
    /// dwDataRate, bps.
    public var dataRate: UInt32
    /// dwMaxDataRate, bps.
    public var maxDataRate: UInt32
    public var numDataRatesSupported: UInt8
    /// dwMaxIFSD, bytes (T=1).
    public var maxIFSD: UInt32
    public var synchProtocols: UInt32
    public var mechanical: UInt32
    /// dwFeatures (see `CCIDFeatures`).
    public var features: UInt32
    /// dwMaxCCIDMessageLength, bytes including the 10-byte header.
    public var maxMessageLength: UInt32
    /// bClassGetResponse (0xFF: echo the APDU's CLA).
    public var classGetResponse: UInt8
    /// bClassEnvelope.
    public var classEnvelope: UInt8
    /// wLcdLayout: lines in the high byte, characters per line in the low one (0 = no LCD).
    public var lcdLayout: UInt16
    /// bPINSupport: 0x01 PIN verification, 0x02 PIN modification.
    public var pinSupport: UInt8
    public var maxBusySlots: UInt8

    /// Size of the descriptor, bytes.
    public static let length = 54

    public init(
        bcdCCID: UInt16 = 0x0110, maxSlotIndex: UInt8 = 0, voltageSupport: UInt8 = 0x07, protocols: UInt32 = 0x03,
        defaultClockKHz: UInt32 = 4000, maximumClockKHz: UInt32 = 4000, numClockSupported: UInt8 = 0,
        dataRate: UInt32 = 10752, maxDataRate: UInt32 = 344086, numDataRatesSupported: UInt8 = 0,
        maxIFSD: UInt32 = 254, synchProtocols: UInt32 = 0, mechanical: UInt32 = 0, features: UInt32,
        maxMessageLength: UInt32 = 271, classGetResponse: UInt8 = 0xFF, classEnvelope: UInt8 = 0xFF,
        lcdLayout: UInt16 = 0, pinSupport: UInt8 = 0, maxBusySlots: UInt8 = 1
    ) {
        self.bcdCCID = bcdCCID
        self.maxSlotIndex = maxSlotIndex
        self.voltageSupport = voltageSupport
        self.protocols = protocols
        self.defaultClockKHz = defaultClockKHz
        self.maximumClockKHz = maximumClockKHz
        self.numClockSupported = numClockSupported
        self.dataRate = dataRate
        self.maxDataRate = maxDataRate
        self.numDataRatesSupported = numDataRatesSupported
        self.maxIFSD = maxIFSD
        self.synchProtocols = synchProtocols
        self.mechanical = mechanical
        self.features = features
        self.maxMessageLength = maxMessageLength
        self.classGetResponse = classGetResponse
        self.classEnvelope = classEnvelope
        self.lcdLayout = lcdLayout
        self.pinSupport = pinSupport
        self.maxBusySlots = maxBusySlots
    }

    /// Parses the 54 bytes of a class descriptor.
    /// - Throws: `CCIDError.malformedDescriptor` when bLength is not 0x36, the type is neither 0x21 nor 0xFF
    ///   (proprietary, accepted as the CCID driver does), or fewer than 54 bytes are given.
    public init(decoding bytes: [UInt8]) throws(CCIDError) {
        guard bytes.count >= Self.length else { throw .malformedDescriptor("\(bytes.count) bytes, 54 expected") }
        guard bytes[0] == 0x36 else { throw .malformedDescriptor("bLength is \(bytes[0]), 54 expected") }
        guard bytes[1] == 0x21 || bytes[1] == 0xFF else {
            throw .malformedDescriptor("bDescriptorType 0x\([bytes[1]].hexString()) is not CCID (0x21)")
        }
        func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 {
            UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        self.init(
            bcdCCID: u16(2), maxSlotIndex: bytes[4], voltageSupport: bytes[5], protocols: u32(6),
            defaultClockKHz: u32(10), maximumClockKHz: u32(14), numClockSupported: bytes[18], dataRate: u32(19),
            maxDataRate: u32(23), numDataRatesSupported: bytes[27], maxIFSD: u32(28), synchProtocols: u32(32),
            mechanical: u32(36), features: u32(40), maxMessageLength: u32(44), classGetResponse: bytes[48],
            classEnvelope: bytes[49], lcdLayout: u16(50), pinSupport: bytes[52], maxBusySlots: bytes[53])
    }

    /// Finds the class descriptor in a run of descriptors (an interface's `extra` bytes, or the bytes after the
    /// last endpoint as some readers put it): walks bLength-prefixed descriptors and parses the first of type
    /// 0x21 (or 0xFF) with bLength 54. Never reads past the input.
    /// - Returns: nil when no such descriptor is present.
    public static func find(in extra: [UInt8]) -> CCIDClassDescriptor? {
        var i = 0
        while i + 1 < extra.count {
            let len = Int(extra[i])
            guard len >= 2, i + len <= extra.count else { return nil }
            if len == Self.length, extra[i + 1] == 0x21 || extra[i + 1] == 0xFF,
                let d = try? CCIDClassDescriptor(decoding: Array(extra[i..<(i + len)]))
            {
                return d
            }
            i += len
        }
        return nil
    }

    /// The 54 bytes of this descriptor.
    public var bytes: [UInt8] {
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }
        var out: [UInt8] = [0x36, 0x21] + le16(bcdCCID) + [maxSlotIndex, voltageSupport] + le32(protocols)
        out += le32(defaultClockKHz) + le32(maximumClockKHz) + [numClockSupported] + le32(dataRate)
        out += le32(maxDataRate) + [numDataRatesSupported] + le32(maxIFSD) + le32(synchProtocols)
        out += le32(mechanical) + le32(features) + le32(maxMessageLength) + [classGetResponse, classEnvelope]
        out += le16(lcdLayout) + [pinSupport, maxBusySlots]
        return out
    }

    /// The exchange level (dwFeatures & 0x70000).
    public var exchangeLevel: CCIDExchangeLevel { CCIDExchangeLevel(features: features) }

    /// True when the reader negotiates PPS itself (dwFeatures 0x80 automatic PPS or 0x40 automatic parameter
    /// negotiation); otherwise a TPDU-level host must send PPS and SetParameters.
    public var negotiatesPPSItself: Bool { features & (CCIDFeatures.automaticPPS | CCIDFeatures.automaticParameterNegotiation) != 0 }

    /// The voltages to try at power-on, in order: 5 V, 3 V, 1.8 V as bVoltageSupport allows (bPowerSelect 1, 2, 3).
    public var powerSelectFallbacks: [CCIDPowerSelect] {
        var out: [CCIDPowerSelect] = []
        if voltageSupport & 0x01 != 0 { out.append(.volts5) }
        if voltageSupport & 0x02 != 0 { out.append(.volts3) }
        if voltageSupport & 0x04 != 0 { out.append(.volts1_8) }
        return out
    }

    /// Card protocols the reader supports (dwProtocols).
    public var supportedProtocols: Set<TransmissionProtocol> {
        var s: Set<TransmissionProtocol> = []
        if protocols & 1 != 0 { s.insert(.t0) }
        if protocols & 2 != 0 { s.insert(.t1) }
        return s
    }

    /// Reader capabilities for the APDU layer: extended length for the short+extended APDU level and for TPDU T=1
    /// (the host chains); the largest APDU is bounded by dwMaxCCIDMessageLength − 10 at short-APDU level; a pinpad
    /// (bPINSupport) is reported for APDU-level readers only (TPDU-level Secure is not implemented).
    public var capabilities: ReaderCapabilities {
        let level = exchangeLevel
        let ext = level == .extendedAPDU || level == .tpdu
        let payload = max(0, Int(maxMessageLength) - CCIDHeader.length)
        return ReaderCapabilities(
            supportsExtendedLength: ext,
            maxCommandLength: ext ? 65544 : min(261, payload),
            maxResponseLength: ext ? 65538 : min(258, payload),
            hasPinpad: pinSupport & 0x03 != 0 && level != .tpdu, isContactless: false, maxClockKHz: Int(maximumClockKHz))
    }
}

/// dwFeatures bits (USB CCID rev 1.10 §5.1, table 5.1-1; CCID `src/ccid.h`).
public enum CCIDFeatures {
    public static let automaticParameterFromATR: UInt32 = 0x02
    public static let automaticActivation: UInt32 = 0x04
    public static let automaticVoltage: UInt32 = 0x08
    public static let automaticClock: UInt32 = 0x10
    public static let automaticBaud: UInt32 = 0x20
    public static let automaticParameterNegotiation: UInt32 = 0x40
    public static let automaticPPS: UInt32 = 0x80
    public static let clockStop: UInt32 = 0x100
    public static let nadOtherThanZero: UInt32 = 0x200
    public static let automaticIFSD: UInt32 = 0x400
    public static let iccdToken: UInt32 = 0x800
    public static let levelMask: UInt32 = 0x70000
    public static let levelTPDU: UInt32 = 0x10000
    public static let levelShortAPDU: UInt32 = 0x20000
    public static let levelExtendedAPDU: UInt32 = 0x40000
}

/// The exchange level a reader works at (dwFeatures & 0x70000).
public enum CCIDExchangeLevel: Sendable, Hashable, CustomStringConvertible {
    /// 0x00000: the host handles characters (not supported by this driver).
    case character
    /// 0x10000: the host runs T=0/T=1 (`T0ProcedureEngine`, `T1HostEngine`).
    case tpdu
    /// 0x20000: the reader takes short APDUs.
    case shortAPDU
    /// 0x40000: the reader takes short and extended APDUs, chained over XfrBlock with wLevelParameter.
    case extendedAPDU

    public init(features: UInt32) {
        switch features & CCIDFeatures.levelMask {
        case CCIDFeatures.levelTPDU: self = .tpdu
        case CCIDFeatures.levelShortAPDU: self = .shortAPDU
        case CCIDFeatures.levelExtendedAPDU: self = .extendedAPDU
        default: self = .character
        }
    }

    /// The dwFeatures bits of this level.
    public var featureBits: UInt32 {
        switch self {
        case .character: return 0
        case .tpdu: return CCIDFeatures.levelTPDU
        case .shortAPDU: return CCIDFeatures.levelShortAPDU
        case .extendedAPDU: return CCIDFeatures.levelExtendedAPDU
        }
    }

    public var description: String {
        switch self {
        case .character: return "character level"
        case .tpdu: return "TPDU level"
        case .shortAPDU: return "short APDU level"
        case .extendedAPDU: return "short and extended APDU level"
        }
    }
}

/// bPowerSelect of PC_to_RDR_IccPowerOn (USB CCID rev 1.10 §6.1.1).
public enum CCIDPowerSelect: UInt8, Sendable, Hashable {
    case automatic = 0, volts5 = 1, volts3 = 2, volts1_8 = 3
}
