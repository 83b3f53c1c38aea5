import ISO7816

/// The link parameters that fix the duration of an exchange.
public struct WireParameters: Sendable, Hashable {
    /// Card clock f in kHz (the reader's clock, capped by `ReaderCapabilities.maxClockKHz`).
    public var clockKHz: Int
    /// Clock rate conversion integer Fi and baud rate adjustment integer Di in use (ISO/IEC 7816-3 §7.1):
    /// 372/1 after the ATR, the TA1 values after a successful PPS.
    public var fi: Int
    public var di: Int
    /// Extra guard time N from TC1 (§8.3).
    public var extraGuardTime: Int
    /// The protocol in use.
    public var transmissionProtocol: TransmissionProtocol
    /// T=1 information field sizes: IFSC (card, from the ATR) and IFSD (reader), in bytes (§11.4.2).
    public var ifsc: Int
    public var ifsd: Int
    /// ISO/IEC 14443 link at 106 kbit/s instead of ISO/IEC 7816-3.
    public var contactless: Bool
    /// T=0 waiting integer WI (TC2) and T=1 block waiting integer BWI (TB3), for the mute-card waiting time.
    public var waitingIntegerWI: Int = 10
    public var blockWaitingIntegerBWI: Int = 4

    public init(
        clockKHz: Int = 4000, fi: Int = 372, di: Int = 1, extraGuardTime: Int = 0,
        transmissionProtocol: TransmissionProtocol = .t0, ifsc: Int = 32, ifsd: Int = 254, contactless: Bool = false
    ) {
        self.clockKHz = clockKHz
        self.fi = fi
        self.di = di
        self.extraGuardTime = extraGuardTime
        self.transmissionProtocol = transmissionProtocol
        self.ifsc = ifsc
        self.ifsd = ifsd
        self.contactless = contactless
    }
}

/// Deterministic virtual wire time (no real clock involved), from ISO/IEC 7816-3:
///
/// * ETU = (Fi / Di) × (1 / f) (§7.1); at f = 4 MHz with Fi = 372, Di = 1, one ETU is 93 000 ns.
/// * T=0 (§10): a character costs 12 + N ETU (10 bits + 2 ETU guard time, §7.2); a TPDU costs the 5 header bytes,
///   one procedure byte (ACK) when data moves, the data bytes and SW1-SW2. A case-4 APDU costs its case-3 TPDU plus
///   the GET RESPONSE TPDU that fetches the answer (`00 C0 00 00 Lx`). Each NULL procedure byte (`60`, the T=0 way
///   of asking for more time) costs one character.
/// * T=1 (§11): every block carries a prologue of 3 bytes (NAD PCB LEN) and an epilogue of 1 byte (LRC); an INF
///   longer than IFSC (command) or IFSD (answer) is chained, each non-final I-block acknowledged by a 4-byte R-block;
///   characters cost 12 + N ETU (11 when N = 255); each change of direction between blocks is charged the block guard
///   time BGT = 22 ETU (§11.2, a simple upper bound for the turnaround); a WTX (§11.6.2.3) costs an S(WTX request)
///   and an S(WTX response), 5 bytes each, plus two BGTs. CWT/BWT are limits, not costs: they are not charged.
/// * ATR (§6.2.2, §8): 400 clock cycles from reset to TS, then each ATR character at 12 ETU with Fi = 372, Di = 1.
/// * PPS (§9): request and echo, 4 characters each (PPSS PPS0 PPS1 PCK) at the initial ETU.
/// * Contactless (ISO/IEC 14443-2/-4 at 106 kbit/s, modelled simply): one bit lasts 128/fc with fc = 13.56 MHz;
///   a frame of n bytes costs 9 × (n + 3) + 2 bits (parity per byte; PCB and CRC_A 2 bytes; start and end), plus the
///   frame delay time 1236/fc in each direction. Field activation and anticollision are not charged (the contactless
///   ATR costs 0).
public enum WireClock {
    /// Clock cycles from the reset to the first ATR character (ISO/IEC 7816-3 §6.2.2 minimum, 400).
    public static let resetToATRCycles = 400
    /// Block guard time, in ETU (ISO/IEC 7816-3 §11.2).
    public static let blockGuardTimeETU = 22

    /// Nanoseconds for `etu` ETUs at Fi/Di and f: etu × Fi × 10⁶ / (Di × f[kHz]), rounded down.
    public static func nanoseconds(etu: Int, fi: Int, di: Int, clockKHz: Int) -> Int64 {
        Int64(etu) * Int64(fi) * 1_000_000 / (Int64(max(di, 1)) * Int64(max(clockKHz, 1)))
    }

    /// Character duration in ETU for the protocol and N (ISO/IEC 7816-3 §7.2, §11.2).
    public static func characterETU(protocol p: TransmissionProtocol, extraGuardTime n: Int) -> Int {
        if n == 255 { return p == .t1 ? 11 : 12 }
        return 12 + n
    }

    /// ATR duration: 400 clock cycles + `atrLength` × 12 ETU at the initial Fi = 372, Di = 1.
    public static func atrNanoseconds(atrLength: Int, clockKHz: Int) -> Int64 {
        Int64(resetToATRCycles) * 1_000_000 / Int64(max(clockKHz, 1))
            + nanoseconds(etu: 12 * atrLength, fi: 372, di: 1, clockKHz: clockKHz)
    }

    /// PPS duration: 8 characters of 12 ETU at the initial ETU (96 ETU).
    public static func ppsNanoseconds(clockKHz: Int) -> Int64 {
        nanoseconds(etu: 96, fi: 372, di: 1, clockKHz: clockKHz)
    }

    /// Characters moved on the line by a T=0 exchange of `command` answered by `responseDataLength` bytes + SW.
    public static func t0Characters(command: [UInt8], responseDataLength: Int, nullProcedureBytes: Int = 0) -> Int {
        let nc: Int
        let hasData: Bool
        if let c = try? CommandAPDU(decoding: command) {
            nc = c.nc
            hasData = c.nc > 0
        } else {
            nc = max(0, command.count - 5)
            hasData = nc > 0
        }
        var chars = 5 + 2 + nullProcedureBytes
        if hasData {
            chars += 1 + nc
            if responseDataLength > 0 { chars += 5 + 1 + responseDataLength + 2 }
        } else if responseDataLength > 0 {
            chars += 1 + responseDataLength
        }
        return chars
    }

    /// ETUs of a T=1 exchange: command of `commandLength` bytes, answer of `responseLength` bytes (data + SW).
    public static func t1ETU(commandLength: Int, responseLength: Int, parameters p: WireParameters, wtx: Int = 0) -> Int {
        let ch = characterETU(protocol: .t1, extraGuardTime: p.extraGuardTime)
        let nCmd = max(1, (commandLength + max(p.ifsc, 1) - 1) / max(p.ifsc, 1))
        let nResp = max(1, (responseLength + max(p.ifsd, 1) - 1) / max(p.ifsd, 1))
        let chars = commandLength + 4 * nCmd + 4 * (nCmd - 1) + responseLength + 4 * nResp + 4 * (nResp - 1)
            + 10 * wtx
        let blocks = 2 * nCmd - 1 + 2 * nResp - 1 + 2 * wtx
        return chars * ch + (blocks - 1) * blockGuardTimeETU
    }

    /// How long a reader waits for a card that does not answer before giving up, in nanoseconds:
    /// * T=0: WT = WI × 960 × Fi / f (ISO/IEC 7816-3 §10.2), 0.893 s at WI = 10, Fi = 372, 4 MHz;
    /// * T=1: BWT = 11 ETU + 2^BWI × 960 × 372 / f (§11.4.3), 1.429 s at BWI = 4, 4 MHz, Fi/Di = 372/1;
    /// * contactless: FWT = 256 × 16 × 2^FWI / fc with FWI = 4 (ISO/IEC 14443-4 §7.2), 4.833 ms.
    public static func waitingTimeNanoseconds(parameters p: WireParameters) -> Int64 {
        let f = Int64(max(p.clockKHz, 1))
        if p.contactless { return Int64(256 * 16 * 16) * 1_000_000_000 / 13_560_000 }
        switch p.transmissionProtocol {
        case .t1:
            return nanoseconds(etu: 11, fi: p.fi, di: p.di, clockKHz: p.clockKHz)
                + (Int64(1) << Int64(min(p.blockWaitingIntegerBWI, 9))) * 960 * 372 * 1_000_000 / f
        default:
            return Int64(p.waitingIntegerWI) * 960 * Int64(p.fi) * 1_000_000 / f
        }
    }

    /// Contactless exchange duration (ISO/IEC 14443 at 106 kbit/s, see the type documentation).
    public static func contactlessNanoseconds(commandLength: Int, responseLength: Int) -> Int64 {
        let bits = (9 * (commandLength + 3) + 2) + (9 * (responseLength + 3) + 2)
        let fcHz: Int64 = 13_560_000
        return (Int64(bits) * 128 + 2 * 1236) * 1_000_000_000 / fcHz
    }

    /// Duration of the command half of an exchange the card never answers (no SW, no response block), in
    /// nanoseconds: T=0 characters without SW1-SW2; T=1 the command I-blocks (and their R-block acknowledgements);
    /// contactless the command frame and one frame delay time.
    public static func commandOnlyNanoseconds(command: [UInt8], parameters p: WireParameters) -> Int64 {
        if p.contactless {
            return (Int64(9 * (command.count + 3) + 2) * 128 + 1236) * 1_000_000_000 / 13_560_000
        }
        switch p.transmissionProtocol {
        case .t1:
            let ch = characterETU(protocol: .t1, extraGuardTime: p.extraGuardTime)
            let nCmd = max(1, (command.count + max(p.ifsc, 1) - 1) / max(p.ifsc, 1))
            let chars = command.count + 4 * nCmd + 4 * (nCmd - 1)
            let etu = chars * ch + (2 * nCmd - 2) * blockGuardTimeETU
            return nanoseconds(etu: etu, fi: p.fi, di: p.di, clockKHz: p.clockKHz)
        default:
            let chars = t0Characters(command: command, responseDataLength: 0) - 2
            return nanoseconds(etu: chars * characterETU(protocol: .t0, extraGuardTime: p.extraGuardTime),
                fi: p.fi, di: p.di, clockKHz: p.clockKHz)
        }
    }

    /// Duration of one exchange on the line, in nanoseconds.
    /// - Parameters: `command` the C-APDU bytes; `response` the R-APDU bytes (data + SW); `wtx` the number of time
    ///   extensions the card asked for (T=1 WTX, T=0 NULL bytes).
    public static func exchangeNanoseconds(command: [UInt8], response: [UInt8], parameters p: WireParameters, wtx: Int = 0) -> Int64 {
        if p.contactless { return contactlessNanoseconds(commandLength: command.count, responseLength: response.count) }
        switch p.transmissionProtocol {
        case .t1:
            let etu = t1ETU(commandLength: command.count, responseLength: response.count, parameters: p, wtx: wtx)
            return nanoseconds(etu: etu, fi: p.fi, di: p.di, clockKHz: p.clockKHz)
        default:
            let chars = t0Characters(command: command, responseDataLength: max(0, response.count - 2), nullProcedureBytes: wtx)
            let etu = chars * characterETU(protocol: .t0, extraGuardTime: p.extraGuardTime)
            return nanoseconds(etu: etu, fi: p.fi, di: p.di, clockKHz: p.clockKHz)
        }
    }
}

/// Counters a simulated reader accumulates (benchmarks read them).
public struct WireStatistics: Sendable, Hashable {
    /// Virtual time spent on the line (ATR, PPS, exchanges, added card delays), in nanoseconds.
    public var virtualNanoseconds: Int64 = 0
    /// C-APDUs sent to the card (pseudo-APDUs answered by the reader excluded).
    public var apduCount = 0
    /// Bytes of C-APDUs sent to the card and of R-APDUs received from it.
    public var bytesToCard = 0
    public var bytesFromCard = 0
    /// ATRs read (cold and warm resets) and PPS exchanges done.
    public var atrCount = 0
    public var ppsCount = 0
    /// Time extensions the card requested (T=1 WTX, T=0 NULL procedure bytes).
    public var wtxCount = 0
    public init() {}

    /// Virtual time in milliseconds.
    public var virtualMilliseconds: Double { Double(virtualNanoseconds) / 1_000_000 }
}

/// One line of a reader's transcript. Data of VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (and of the
/// pinpad's PIN structures) are replaced by `**` bytes unless the reader was built with
/// `recordsSecrets: true` (tests only), so transcripts never hold a PIN.
public struct TranscriptEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case apdu, readerPseudoAPDU, control, atr, pps }
    public var kind: Kind
    /// The C-APDU (or control input / nothing for an ATR).
    public var command: [UInt8]
    /// The R-APDU (or control output / the ATR); empty when the exchange failed.
    public var response: [UInt8]
    /// The error thrown instead of an answer.
    public var error: TransportError?
    /// Virtual time at the start of the exchange and its duration, in nanoseconds.
    public var startNanoseconds: Int64
    public var durationNanoseconds: Int64
}
