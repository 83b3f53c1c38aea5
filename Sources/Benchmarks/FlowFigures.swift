import CardSimulator
import ISO7816

/// The figures of one card flow run on an in-process simulated reader with the virtual wire clock
/// (`CardSimulator.WireClock`): deterministic, the same numbers on every run and every machine.
///
/// * `wireTimeMs` is everything the stack really moved on the line at the speed it really negotiated: every
///   C-APDU and R-APDU with their T=0 headers, procedure bytes and status words (or T=1 prologues/epilogues and
///   block guard times), every GET RESPONSE and extra APDU, and the PPS (ISO/IEC 7816-3 §9). The ATR is the
///   card's power-up, paid by any reader whatever it does next: it is reported apart (`atrMs`), not included.
/// * `limitMs` is the physical limit: the `functionalBytes` the flow needs at 12 ETU per byte, at the fastest
///   Fi/Di the card's TA1 allows and the highest clock both the card (TA1's f(max)) and the reader
///   (`ReaderCapabilities.maxClockKHz`) accept (ISO/IEC 7816-3 §7.1, §8.3 tables 7 and 8).
/// * `wireTimeToLimitRatio` = `wireTimeMs` / `limitMs` (goal ≤ 1.25 for the Vitale and CPS flows, issue 9).
public struct FlowFigures: Sendable, Hashable {
    /// C-APDUs sent to the card (reader pseudo-APDUs excluded).
    public var apdus: Int
    /// Bytes of C-APDUs sent and of R-APDUs received (data + SW1-SW2), as the transport saw them.
    public var bytesToCard: Int
    public var bytesFromCard: Int
    /// Virtual wire time of the flow (APDUs and PPS, ATR excluded), milliseconds.
    public var wireTimeMs: Double
    /// The physical limit, milliseconds.
    public var limitMs: Double
    /// `wireTimeMs / limitMs`.
    public var wireTimeToLimitRatio: Double
    /// The bytes the flow functionally needs (see each flow for what they are).
    public var functionalBytes: Int
    /// ATR time (not in `wireTimeMs`), milliseconds.
    public var atrMs: Double
    /// PPS exchanges done and their time (included in `wireTimeMs`), milliseconds.
    public var ppsCount: Int
    public var ppsMs: Double
    /// The link actually used: protocol ("T=0"/"T=1"/"14443"), Fi, Di, clock in kHz.
    public var negotiated: LinkFigures
    /// The link the limit is computed at.
    public var limitLink: LinkFigures
    /// Where the wire time went, milliseconds at the negotiated speed (sums to `wireTimeMs`).
    public var breakdownMs: [String: Double]
    /// What the flow did, for people (e.g. "4 beneficiaries, 4 rights periods").
    public var note: String

    /// The figures as a JSON-ready dictionary (the keys of issue 9 plus the extra ones above).
    public var json: [String: Any] {
        [
            "apdus": apdus, "bytesToCard": bytesToCard, "bytesFromCard": bytesFromCard,
            "wireTimeMs": Self.round3(wireTimeMs), "limitMs": Self.round3(limitMs),
            "wireTimeToLimitRatio": Self.round3(wireTimeToLimitRatio), "functionalBytes": functionalBytes,
            "atrMs": Self.round3(atrMs), "ppsCount": ppsCount, "ppsMs": Self.round3(ppsMs),
            "negotiated": negotiated.json, "limitLink": limitLink.json,
            "breakdownMs": breakdownMs.mapValues { Self.round3($0) }, "note": note,
        ]
    }

    static func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}

/// A link setting: protocol, Fi, Di and card clock (kHz); one ETU = Fi / (Di × f).
public struct LinkFigures: Sendable, Hashable {
    public var transmissionProtocol: String
    public var fi: Int
    public var di: Int
    public var clockKHz: Int

    /// Nanoseconds of one 12-ETU character on this link.
    public var characterNanoseconds: Double { 12 * Double(fi) * 1_000_000 / (Double(di) * Double(clockKHz)) }

    public var json: [String: Any] {
        ["protocol": transmissionProtocol, "fi": fi, "di": di, "clockKHz": clockKHz]
    }
}

/// Splits a simulated reader's transcript into the figures of `FlowFigures`.
enum TranscriptAccounting {
    /// Sums the transcript: APDU count, bytes each way, wire time without the ATR, ATR and PPS time.
    static func totals(_ log: [TranscriptEntry]) -> (apdus: Int, toCard: Int, fromCard: Int, wireNs: Int64, atrNs: Int64,
        pps: Int, ppsNs: Int64)
    {
        var apdus = 0, to = 0, from = 0, pps = 0
        var wire: Int64 = 0, atr: Int64 = 0, ppsNs: Int64 = 0
        for e in log {
            switch e.kind {
            case .apdu:
                wire += e.durationNanoseconds
                if e.error == nil {
                    apdus += 1
                    to += e.command.count
                    from += e.response.count
                }
            case .pps:
                pps += 1
                ppsNs += e.durationNanoseconds
                wire += e.durationNanoseconds
            case .atr: atr += e.durationNanoseconds
            case .control, .readerPseudoAPDU: wire += e.durationNanoseconds
            }
        }
        return (apdus, to, from, wire, atr, pps, ppsNs)
    }

    /// The fastest link the card's ATR (TA1) and the reader allow.
    static func fastestLink(atr: [UInt8], reader: ReaderCapabilities, contactless: Bool) -> LinkFigures {
        if contactless {
            // ISO/IEC 14443 at 106 kbit/s: the simulated contactless link (no higher bit rate modelled).
            return LinkFigures(transmissionProtocol: "14443", fi: 128, di: 1, clockKHz: 13560)
        }
        let info = ATRInfo(atr)
        let clock = min(reader.maxClockKHz, info?.fMaxKHz ?? 5000)
        return LinkFigures(
            transmissionProtocol: (info?.protocols.first ?? 0) == 1 ? "T=1" : "T=0", fi: info?.fi ?? 372,
            di: info?.di ?? 1, clockKHz: clock)
    }

    /// Milliseconds for `bytes` characters of 12 ETU on `link` (the contactless link: 9 bits per byte of 128/fc).
    static func limitMilliseconds(bytes: Int, link: LinkFigures) -> Double {
        if link.transmissionProtocol == "14443" {
            return Double(bytes) * 9 * 128 / 13_560_000 * 1000
        }
        return Double(bytes) * link.characterNanoseconds / 1_000_000
    }
}
