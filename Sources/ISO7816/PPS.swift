/// Protocol and parameters selection (PPS), ISO/IEC 7816-3 §9, and the few ATR interface bytes a transport needs to
/// run T=0/T=1 itself (§8.2.3, §11.4).

/// The transmission parameters a TPDU-level reader needs from the ATR: the protocols offered, TA1 (Fi/Di), TC1
/// (extra guard time), TC2 (T=0 WI), and for T=1 TA3 (IFSC), TB3 (BWI/CWI) and TC3 (epilogue).
///
/// A view of the interface bytes decoded by `ATR` (ISO/IEC 7816-3 §8.2.3) with the defaults a transport applies,
/// refusing an ATR it cannot use. Never reads past the input.
public struct ATRTransmissionParameters: Sendable, Hashable {
    /// TA1 (Fi in the high nibble, Di in the low one); nil when absent (default Fd = 0x11).
    public var ta1: UInt8?
    /// TC1, extra guard time N in ETU (default 0).
    public var tc1: UInt8
    /// TC2, the T=0 waiting-time integer WI (default 10).
    public var waitingIntegerT0: UInt8
    /// The first TA for T=1 (TA3 in the usual layout): IFSC in bytes (default 32; 00 and FF are ignored).
    public var ifsc: Int
    /// The first TB for T=1: BWI in the high nibble, CWI in the low one (default 0x4D).
    public var bwiCwi: UInt8
    /// The first TC for T=1, bit 1: CRC (true) or LRC.
    public var usesCRC: Bool
    /// Protocols offered, in ATR order (T=0 when no TD says otherwise).
    public var offeredProtocols: [TransmissionProtocol]
    /// TA2 present: the card is in specific mode (no PPS allowed), with this protocol.
    public var specificMode: TransmissionProtocol?

    /// Reads the interface bytes of `atr`.
    /// - Throws: `TransportError.failed` when TS is not 3B/3F or the interface bytes run past the end.
    public init(atr bytes: [UInt8]) throws(TransportError) {
        let atr = ATR(bytes)
        guard atr.convention != nil, atr.t0 != nil else { throw .failed("ATR does not start with TS = 3B or 3F") }
        guard !atr.interfaceBytesTruncated else { throw .failed("ATR interface bytes run past the end") }
        self.init(atr)
    }

    /// The parameters of an already decoded ATR (defaults where a byte is absent; problems in `atr.errors` are not
    /// checked here).
    public init(_ atr: ATR) {
        ta1 = atr.ta1
        tc1 = atr.tc1 ?? 0
        waitingIntegerT0 = atr.tc2 ?? 10
        if let ta = atr.firstTA(afterProtocol: 1), ta >= 1, ta <= 254 { ifsc = Int(ta) } else { ifsc = 32 }
        bwiCwi = atr.firstTB(afterProtocol: 1) ?? 0x4D
        usesCRC = atr.usesCRC ?? false
        let offered = atr.protocolsInATROrder.compactMap { TransmissionProtocol(rawValue: $0) }.filter { $0 != .raw }
        offeredProtocols = offered.isEmpty ? [.t0] : offered
        specificMode = atr.specificMode.map { TransmissionProtocol(rawValue: $0.protocol) ?? .t0 }
    }
}

/// A PPS request or response: PPSS = FF, PPS0 (T in b4–b1, presence of PPS1/2/3 in b5–b7), PPS1 (Fi/Di),
/// PPS2, PPS3, PCK (XOR of all bytes is 00). ISO/IEC 7816-3 §9.2.
public struct PPSMessage: Sendable, Hashable {
    /// The protocol proposed (T=0 or T=1).
    public var protocolType: UInt8
    /// PPS1: Fi in the high nibble, Di in the low one; nil keeps Fd/Dd (0x11).
    public var pps1: UInt8?
    public var pps2: UInt8?
    public var pps3: UInt8?

    public init(protocolType: UInt8, pps1: UInt8? = nil, pps2: UInt8? = nil, pps3: UInt8? = nil) {
        self.protocolType = protocolType & 0x0F
        self.pps1 = pps1
        self.pps2 = pps2
        self.pps3 = pps3
    }

    /// The request a host sends to use `protocol` with the Fi/Di of TA1 (`FF 11 TA1 PCK`, e.g. TA1 = 96 for T=1:
    /// `FF 11 96 78`).
    public static func request(protocol p: TransmissionProtocol, ta1: UInt8?) -> PPSMessage {
        PPSMessage(protocolType: UInt8(p == .t1 ? 1 : 0), pps1: ta1)
    }

    /// PPS0: b5/b6/b7 announce PPS1/2/3, b4–b1 the protocol.
    public var pps0: UInt8 {
        protocolType | (pps1 != nil ? 0x10 : 0) | (pps2 != nil ? 0x20 : 0) | (pps3 != nil ? 0x40 : 0)
    }

    /// PPSS PPS0 [PPS1] [PPS2] [PPS3] PCK, 3…6 bytes.
    public var bytes: [UInt8] {
        var out: [UInt8] = [0xFF, pps0]
        for b in [pps1, pps2, pps3] { if let b { out.append(b) } }
        out.append(out.reduce(0, ^))
        return out
    }

    /// Parses PPS bytes, checking PPSS, the presence bits against the length and PCK.
    /// - Throws: `PPSError.malformed` describing the defect.
    public init(decoding bytes: [UInt8]) throws(PPSError) {
        guard bytes.count >= 3, bytes[0] == 0xFF else { throw .malformed("PPS must start with PPSS = FF") }
        let p0 = bytes[1]
        let count = 3 + [0x10, 0x20, 0x40].filter { p0 & UInt8($0) != 0 }.count
        guard bytes.count == count else { throw .malformed("PPS0 announces \(count) bytes, \(bytes.count) arrived") }
        guard bytes.reduce(0, ^) == 0 else { throw .malformed("PCK check failed") }
        var idx = 2
        func next(_ flag: UInt8) -> UInt8? {
            guard p0 & flag != 0 else { return nil }
            defer { idx += 1 }
            return bytes[idx]
        }
        protocolType = p0 & 0x0F
        pps1 = next(0x10)
        pps2 = next(0x20)
        pps3 = next(0x40)
    }

    /// Interprets the card's response to `request` (ISO/IEC 7816-3 §9.3): same protocol required; PPS1 echoed
    /// means the proposed Fi/Di are accepted, PPS1 absent means Fd/Dd (0x11) stay.
    /// - Returns: the Fi/Di byte now in force.
    /// - Throws: `PPSError.rejected` when the response does not accept the request, `.malformed` when unparsable.
    public static func negotiatedFiDi(request: PPSMessage, response bytes: [UInt8]) throws(PPSError) -> UInt8 {
        let response = try PPSMessage(decoding: bytes)
        guard response.protocolType == request.protocolType else {
            throw .rejected("the card answered with T=\(response.protocolType) instead of T=\(request.protocolType)")
        }
        if let r1 = response.pps1 {
            guard r1 == request.pps1 else { throw .rejected("the card changed PPS1") }
            return r1
        }
        return 0x11
    }
}

/// Why a PPS exchange failed.
public enum PPSError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed(String)
    case rejected(String)
    public var description: String {
        switch self {
        case .malformed(let why): return "malformed PPS: \(why)"
        case .rejected(let why): return "PPS refused: \(why)"
        }
    }
}
