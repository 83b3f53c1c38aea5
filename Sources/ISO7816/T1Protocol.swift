/// The T=1 block transmission protocol, ISO/IEC 7816-3 §11: block codec (I-, R-, S-blocks), LRC and CRC epilogue,
/// and the interface-device (host) side engine with chaining, WTX, IFSD negotiation and the bounded error recovery
/// of §11.6.
///
/// The engine never touches a reader: it talks through a `T1BlockExchange` closure ("send these block bytes, give
/// me the card's next block bytes"), so a USB CCID TPDU-level reader, a serial reader or a test script can carry it.

/// The epilogue field of a T=1 block (ISO/IEC 7816-3 §11.3.1.3): selected by bit 1 of the first TCi for T=1 (TC3).
public enum T1Checksum: Sendable, Hashable {
    /// Longitudinal redundancy check: one byte, XOR of every prologue and INF byte (the default).
    case lrc
    /// Cyclic redundancy check: two bytes (ISO/IEC 13239 polynomial x¹⁶+x¹²+x⁵+1), high byte first.
    case crc

    /// The epilogue length in bytes: 1 for LRC, 2 for CRC.
    public var length: Int { self == .lrc ? 1 : 2 }

    /// Computes the epilogue over `bytes` (NAD PCB LEN INF).
    public func compute<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        switch self {
        case .lrc:
            var x: UInt8 = 0
            for b in bytes { x ^= b }
            return [x]
        case .crc:
            // Bit-reflected CCITT polynomial (0x8408), preset 0xFFFF, no final inversion.
            var crc: UInt16 = 0xFFFF
            for b in bytes {
                crc ^= UInt16(b)
                for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x8408 : crc >> 1 }
            }
            return [UInt8(crc >> 8), UInt8(crc & 0xFF)]
        }
    }
}

/// The S-block functions (ISO/IEC 7816-3 §11.3.2.2, PCB bits 5–1).
public enum T1SupervisoryFunction: UInt8, Sendable, Hashable {
    /// Resynchronisation request (from the interface device only), PCB C0 / response E0.
    case resynch = 0x00
    /// Information field size: INF is one byte, the new IFSC (from the card) or IFSD (from the interface device).
    case ifs = 0x01
    /// Abort a chain.
    case abort = 0x02
    /// Waiting time extension: INF is one byte, the BWT multiplier for the next block.
    case wtx = 0x03
    /// VPP error (from the card only).
    case vppError = 0x04
}

/// What kind of T=1 block, with the fields its PCB carries (ISO/IEC 7816-3 §11.3.2.2, table 13–15).
public enum T1BlockKind: Sendable, Hashable {
    /// I-block: send sequence number N(S) (0 or 1) and the more-data bit M (chaining).
    case information(sendSequence: UInt8, more: Bool)
    /// R-block: expected sequence number N(R) (0 or 1) and an error code (0 no error, 1 EDC/parity error,
    /// 2 other error).
    case receiveReady(expectedSequence: UInt8, error: UInt8)
    /// S-block: function, request (false) or response (true).
    case supervisory(T1SupervisoryFunction, response: Bool)
}

/// Why T=1 block bytes could not be decoded.
public enum T1BlockError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Fewer bytes than prologue + epilogue.
    case tooShort(count: Int)
    /// LEN disagrees with the number of bytes received, or is FF (reserved).
    case lengthMismatch(declared: Int, received: Int)
    /// The epilogue (LRC/CRC) is wrong: a transmission error.
    case checksumMismatch
    /// A PCB value that ISO/IEC 7816-3 does not define.
    case invalidPCB(UInt8)

    public var description: String {
        switch self {
        case .tooShort(let n): return "T=1 block too short (\(n) bytes)"
        case .lengthMismatch(let d, let r): return "T=1 block LEN says \(d) bytes of INF but \(r) arrived"
        case .checksumMismatch: return "T=1 block failed its LRC/CRC check (transmission error)"
        case .invalidPCB(let p): return "T=1 block has an undefined PCB 0x\([p].hexString())"
        }
    }
}

/// One T=1 block: prologue (NAD, PCB, LEN), information field INF (0…254 bytes), epilogue (LRC or CRC).
/// ISO/IEC 7816-3 §11.3.
public struct T1Block: Sendable, Hashable, CustomStringConvertible {
    /// Node address byte: b7–b5 source (SAD), b3–b1 destination (DAD). 0 when addressing is not used.
    public var nad: UInt8
    public var kind: T1BlockKind
    /// INF, 0…254 bytes.
    public var information: [UInt8]

    public init(nad: UInt8 = 0, kind: T1BlockKind, information: [UInt8] = []) {
        self.nad = nad
        self.kind = kind
        self.information = information
    }

    /// I-block with N(S) = `sequence` (0/1) and the M bit.
    public static func i(_ sequence: UInt8, more: Bool = false, _ inf: [UInt8], nad: UInt8 = 0) -> T1Block {
        T1Block(nad: nad, kind: .information(sendSequence: sequence & 1, more: more), information: inf)
    }
    /// R-block with N(R) = `sequence` (0/1) and the error code (0, 1 EDC/parity, 2 other).
    public static func r(_ sequence: UInt8, error: UInt8 = 0, nad: UInt8 = 0) -> T1Block {
        T1Block(nad: nad, kind: .receiveReady(expectedSequence: sequence & 1, error: error & 0x0F))
    }
    /// S-block request or response.
    public static func s(_ function: T1SupervisoryFunction, response: Bool, _ inf: [UInt8] = [], nad: UInt8 = 0)
        -> T1Block
    {
        T1Block(nad: nad, kind: .supervisory(function, response: response), information: inf)
    }

    /// The protocol control byte (ISO/IEC 7816-3 §11.3.2.2): I-block `0 N(S) M 00000`, R-block `100 N(R) eeee`,
    /// S-block `11 r fffff` (r = 1 for a response).
    public var pcb: UInt8 {
        switch kind {
        case .information(let ns, let more): return (ns & 1) << 6 | (more ? 0x20 : 0)
        case .receiveReady(let nr, let error): return 0x80 | (nr & 1) << 4 | (error & 0x0F)
        case .supervisory(let f, let response): return 0xC0 | (response ? 0x20 : 0) | f.rawValue
        }
    }

    /// The block on the wire: NAD PCB LEN INF epilogue, 4…259 bytes.
    public func encoded(checksum: T1Checksum = .lrc) -> [UInt8] {
        var out: [UInt8] = [nad, pcb, UInt8(truncatingIfNeeded: information.count)]
        out += information
        out += checksum.compute(out)
        return out
    }

    /// Decodes a block from the wire, checking LEN and the epilogue.
    /// - Throws: `T1BlockError` (too short, LEN mismatch, checksum mismatch, undefined PCB).
    public init(decoding bytes: [UInt8], checksum: T1Checksum = .lrc) throws(T1BlockError) {
        guard bytes.count >= 3 + checksum.length else { throw .tooShort(count: bytes.count) }
        let len = Int(bytes[2])
        let infCount = bytes.count - 3 - checksum.length
        guard len != 0xFF, len == infCount else { throw .lengthMismatch(declared: len, received: max(0, infCount)) }
        let body = bytes[0..<(3 + len)]
        guard checksum.compute(body) == Array(bytes[(3 + len)...]) else { throw .checksumMismatch }
        let pcb = bytes[1]
        nad = bytes[0]
        information = Array(bytes[3..<(3 + len)])
        switch pcb {
        case let p where p & 0x80 == 0:
            guard p & 0x1F == 0 else { throw .invalidPCB(p) }
            kind = .information(sendSequence: (p >> 6) & 1, more: p & 0x20 != 0)
        case let p where p & 0xC0 == 0x80:
            guard p & 0x20 == 0 else { throw .invalidPCB(p) }
            kind = .receiveReady(expectedSequence: (p >> 4) & 1, error: p & 0x0F)
        default:
            guard let f = T1SupervisoryFunction(rawValue: pcb & 0x1F) else { throw .invalidPCB(pcb) }
            kind = .supervisory(f, response: pcb & 0x20 != 0)
        }
    }

    public var description: String {
        switch kind {
        case .information(let ns, let m): return "I(\(ns),\(m ? 1 : 0)) [\(information.count)]"
        case .receiveReady(let nr, let e): return e == 0 ? "R(\(nr))" : "R(\(nr)) error \(e)"
        case .supervisory(let f, let r): return "S(\(f) \(r ? "response" : "request"))\(information.hexString())"
        }
    }
}

/// Sends one T=1 block (raw bytes with epilogue) and returns the card's next block (raw bytes).
/// `waitingTimeMultiplier` is 1, or the WTX value the card asked for, which applies to this exchange only
/// (ISO/IEC 7816-3 §11.4.3; CCID carries it in XfrBlock bBWI).
public typealias T1BlockExchange =
    @Sendable (_ block: [UInt8], _ waitingTimeMultiplier: UInt8) async throws(TransportError) -> [UInt8]

/// Host (interface device) side of T=1, ISO/IEC 7816-3 §11.
///
/// Holds the protocol state of one card session: the two sequence numbers, IFSC, IFSD, the epilogue kind and NAD.
/// Error recovery (§11.6.3) is bounded: each block is retried `maxRetransmissions` times (R-block with an error
/// code or a resend of the I-block), then up to `maxResynchAttempts` S(RESYNCH) requests are sent; after a
/// successful resynchronisation the command is sent again once; any further failure throws
/// `TransportError.failed` — never an endless loop.
public struct T1HostEngine: Sendable {
    /// Maximum INF size the card accepts (IFSC, from TA3 of the ATR, default 32 bytes), 1…254.
    public var ifsc: Int
    /// Maximum INF size the interface device accepts (IFSD, default 32), 1…254.
    public var ifsd: Int
    public var checksum: T1Checksum
    /// NAD used in every block (0 when addressing is unused).
    public var nad: UInt8
    /// N(S) of the next I-block the interface device sends.
    public private(set) var sendSequence: UInt8 = 0
    /// N(S) expected in the card's next I-block.
    public private(set) var receiveSequence: UInt8 = 0
    /// Retransmissions of one block before resynchronising (ISO/IEC 7816-3 §11.6.3: at least 2; we use 3).
    public var maxRetransmissions = 3
    /// S(RESYNCH) attempts before giving up (ISO/IEC 7816-3 §11.6.3.2: 3).
    public var maxResynchAttempts = 3
    /// Consecutive S(WTX) / S(IFS) requests tolerated without progress.
    public var maxConsecutiveWTX = 64
    /// Chained I-blocks with an empty INF tolerated in one response (they carry nothing: a card stuck in a loop).
    public var maxEmptyChainedBlocks = 8
    /// Largest response accepted through chaining, bytes (an R-APDU is at most 65536 + 2).
    public var maxResponseLength = 65538

    public init(ifsc: Int = 32, ifsd: Int = 32, checksum: T1Checksum = .lrc, nad: UInt8 = 0) {
        self.ifsc = max(1, min(254, ifsc))
        self.ifsd = max(1, min(254, ifsd))
        self.checksum = checksum
        self.nad = nad
    }

    private func fail(_ why: String) -> TransportError { .failed("T=1: \(why)") }

    /// Sends S(IFS request) announcing `ifsd` (ISO/IEC 7816-3 §11.4.2) and waits for the matching S(IFS response).
    /// The request for IFSD 254 with LRC is `00 C1 01 FE 3E`.
    /// - Returns: `true` when the card confirmed; `ifsd` is then updated. `false` when the card answered
    ///   something else after the retries (the default IFSD stays in force, as ISO allows).
    /// - Throws: `TransportError` from the exchange other than a mute card.
    public mutating func negotiateIFSD(_ requested: Int, exchange: T1BlockExchange) async throws(TransportError)
        -> Bool
    {
        let value = UInt8(max(1, min(254, requested)))
        let request = T1Block.s(.ifs, response: false, [value], nad: nad).encoded(checksum: checksum)
        for _ in 0...maxRetransmissions {
            let raw: [UInt8]
            do { raw = try await exchange(request, 1) } catch {
                if error == .cardMute { continue }
                throw error
            }
            if let b = try? T1Block(decoding: raw, checksum: checksum),
                b.kind == .supervisory(.ifs, response: true), b.information == [value]
            {
                ifsd = Int(value)
                return true
            }
        }
        return false
    }

    /// Sends S(RESYNCH request) until S(RESYNCH response) arrives (at most `maxResynchAttempts`), then resets
    /// both sequence numbers (ISO/IEC 7816-3 §11.6.3.2).
    /// - Returns: whether the card resynchronised.
    public mutating func resynchronise(exchange: T1BlockExchange) async throws(TransportError) -> Bool {
        let request = T1Block.s(.resynch, response: false, nad: nad).encoded(checksum: checksum)
        for _ in 0..<maxResynchAttempts {
            let raw: [UInt8]
            do { raw = try await exchange(request, 1) } catch {
                if error == .cardMute { continue }
                throw error
            }
            if let b = try? T1Block(decoding: raw, checksum: checksum), b.kind == .supervisory(.resynch, response: true)
            {
                sendSequence = 0
                receiveSequence = 0
                return true
            }
        }
        return false
    }

    /// Sends one APDU (or any INF payload) as a chain of I-blocks of at most IFSC bytes and returns the card's
    /// reassembled answer (for an APDU: data ‖ SW1 SW2). Answers the card's S(WTX) and S(IFS) requests, acknowledges
    /// its chained I-blocks with R-blocks, and recovers from errors as described on the type.
    /// - Throws: `TransportError.failed` when recovery is exhausted or the card violates the protocol beyond repair;
    ///   errors of the exchange other than `.cardMute` (the reader's "no block within BWT", counted as a lost block)
    ///   as they are.
    public mutating func transceive(_ payload: [UInt8], exchange: T1BlockExchange) async throws(TransportError)
        -> [UInt8]
    {
        var restarted = false
        while true {
            switch try await attempt(payload, exchange: exchange) {
            case .success(let response): return response
            case .failure(let why):
                if restarted { throw fail("\(why); recovery exhausted after resynchronisation") }
                guard try await resynchronise(exchange: exchange) else {
                    throw fail("\(why); the card did not answer S(RESYNCH)")
                }
                restarted = true
            }
        }
    }

    private enum AttemptOutcome { case success([UInt8]), failure(String) }

    private mutating func attempt(_ payload: [UInt8], exchange: T1BlockExchange) async throws(TransportError)
        -> AttemptOutcome
    {
        // Split into IFSC-sized chunks (an empty payload is one empty I-block).
        var chunks: [[UInt8]] = []
        var start = 0
        repeat {
            let end = min(payload.count, start + ifsc)
            chunks.append(Array(payload[start..<end]))
            start = end
        } while start < payload.count
        var index = 0
        func iBlock(_ engine: T1HostEngine, _ i: Int) -> T1Block {
            .i(engine.sendSequence, more: i < chunks.count - 1, chunks[i], nad: engine.nad)
        }
        var toSend = iBlock(self, 0)
        var lastIBlock = toSend  // the block to resend when the card asks for it
        var awaitingAck = true  // our last I-block has not been acknowledged yet
        var receiving = false  // we are acknowledging a chain from the card
        var response: [UInt8] = []
        var errors = 0
        var wtxInARow = 0
        var emptyChained = 0
        var multiplier: UInt8 = 1

        while true {
            let raw: [UInt8]
            var received: T1Block? = nil
            var errorCode: UInt8 = 2
            do {
                raw = try await exchange(toSend.encoded(checksum: checksum), multiplier)
                do {
                    let b = try T1Block(decoding: raw, checksum: checksum)
                    if case .information = b.kind, b.information.count > ifsd { errorCode = 2 } else { received = b }
                } catch {
                    errorCode = error == .checksumMismatch ? 1 : 2
                }
            } catch {
                guard error == .cardMute else { throw error }
            }
            multiplier = 1

            guard let block = received else {
                // §11.6.3 rule 7.1/7.2: invalid or missing block → R-block asking again (or resend our I-block
                // if the card never acknowledged it and we have no chain of its own in progress).
                errors += 1
                if errors > maxRetransmissions { return .failure("too many transmission errors") }
                toSend = .r(receiveSequence, error: errorCode, nad: nad)
                continue
            }

            switch block.kind {
            case .information(let ns, let more):
                if awaitingAck && index < chunks.count - 1 {
                    // The card must acknowledge our chain with R-blocks before answering.
                    errors += 1
                    if errors > maxRetransmissions { return .failure("card answered in the middle of a chain") }
                    toSend = .r(receiveSequence, error: 2, nad: nad)
                    continue
                }
                guard ns == receiveSequence else {
                    errors += 1
                    if errors > maxRetransmissions { return .failure("card repeats a wrong sequence number") }
                    toSend = .r(receiveSequence, error: 2, nad: nad)
                    continue
                }
                if awaitingAck {
                    sendSequence ^= 1
                    awaitingAck = false
                }
                receiveSequence ^= 1
                errors = 0
                wtxInARow = 0
                if more && block.information.isEmpty {
                    emptyChained += 1
                    if emptyChained > maxEmptyChainedBlocks { return .failure("the card chains empty I-blocks") }
                }
                response += block.information
                if response.count > maxResponseLength { return .failure("response longer than \(maxResponseLength) bytes") }
                if more {
                    receiving = true
                    toSend = .r(receiveSequence, nad: nad)
                    continue
                }
                return .success(response)

            case .receiveReady(let nr, _):
                if awaitingAck && nr != sendSequence && index < chunks.count - 1 {
                    // Positive acknowledgement of a chained I-block: send the next one.
                    sendSequence ^= 1
                    index += 1
                    errors = 0
                    wtxInARow = 0
                    toSend = iBlock(self, index)
                    lastIBlock = toSend
                    continue
                }
                errors += 1
                if errors > maxRetransmissions { return .failure("the card keeps asking for retransmission") }
                if awaitingAck && nr == sendSequence {
                    toSend = lastIBlock  // the card did not get our I-block: resend it
                } else if receiving {
                    toSend = .r(receiveSequence, nad: nad)
                } else {
                    toSend = .r(receiveSequence, error: 2, nad: nad)
                }

            case .supervisory(let function, let isResponse):
                if isResponse {
                    errors += 1
                    if errors > maxRetransmissions { return .failure("unexpected S-block response") }
                    toSend = .r(receiveSequence, error: 2, nad: nad)
                    continue
                }
                switch function {
                case .wtx:
                    wtxInARow += 1
                    if wtxInARow > maxConsecutiveWTX { return .failure("more than \(maxConsecutiveWTX) WTX requests in a row") }
                    multiplier = block.information.first.map { max(1, $0) } ?? 1
                    toSend = .s(.wtx, response: true, block.information, nad: nad)
                case .ifs:
                    guard let v = block.information.first, block.information.count == 1, v >= 1, v <= 254 else {
                        errors += 1
                        if errors > maxRetransmissions { return .failure("invalid S(IFS request)") }
                        toSend = .r(receiveSequence, error: 2, nad: nad)
                        continue
                    }
                    wtxInARow += 1
                    if wtxInARow > maxConsecutiveWTX { return .failure("more than \(maxConsecutiveWTX) S-block requests in a row") }
                    ifsc = Int(v)
                    toSend = .s(.ifs, response: true, [v], nad: nad)
                case .abort:
                    // Acknowledge and give up the command: the card abandoned the chain.
                    _ = try? await exchange(T1Block.s(.abort, response: true, nad: nad).encoded(checksum: checksum), 1)
                    throw fail("the card aborted the chain (S(ABORT request))")
                case .resynch, .vppError:
                    return .failure("the card sent S(\(function) request)")
                }
            }
        }
    }
}
