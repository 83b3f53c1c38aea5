import CCIDDevice
import ISO7816
import Testing

/// A T=1 peer scripted block by block: each exchange checks the host's block against the expected hex and answers
/// with the next reply (hex). Records the WTX multipliers.
final class BlockScript: @unchecked Sendable {
    var steps: [(expect: String?, reply: [UInt8])]
    var sent: [[UInt8]] = []
    var multipliers: [UInt8] = []
    var mismatches: [String] = []
    init(_ steps: [(String?, String)]) { self.steps = steps.map { ($0.0, hex($0.1)) } }

    var exchange: T1BlockExchange {
        { [self] (block: [UInt8], m: UInt8) async throws(TransportError) -> [UInt8] in
            sent.append(block)
            multipliers.append(m)
            guard !steps.isEmpty else { throw TransportError.timeout }
            let s = steps.removeFirst()
            if let e = s.expect, hex(e) != block {
                mismatches.append("expected \(e) got \(block.hexString(separator: " "))")
            }
            return s.reply
        }
    }
}

@Suite("T=1 blocks (ISO/IEC 7816-3 §11.3)")
struct T1BlockTests {
    @Test("exact encodings: I, R, S blocks with LRC")
    func encodings() {
        #expect(T1Block.i(0, hex("00 B0 00 00 10")).encoded() == hex("00 00 05 00 B0 00 00 10 A5"))
        #expect(T1Block.i(1, more: true, hex("01")).encoded() == hex("00 60 01 01 60"))
        #expect(T1Block.i(0, more: true, hex("01")).pcb == 0x20)
        #expect(T1Block.r(1).encoded() == hex("00 90 00 90"))
        #expect(T1Block.r(0, error: 1).encoded() == hex("00 81 00 81"))
        #expect(T1Block.r(1, error: 2).encoded() == hex("00 92 00 92"))
        #expect(T1Block.s(.ifs, response: false, [0xFE]).encoded() == hex("00 C1 01 FE 3E"))
        #expect(T1Block.s(.ifs, response: true, [0xFE]).encoded() == hex("00 E1 01 FE 1E"))
        #expect(T1Block.s(.wtx, response: false, [0x02]).encoded() == hex("00 C3 01 02 C0"))
        #expect(T1Block.s(.wtx, response: true, [0x02]).encoded() == hex("00 E3 01 02 E0"))
        #expect(T1Block.s(.resynch, response: false).encoded() == hex("00 C0 00 C0"))
        #expect(T1Block.s(.abort, response: true).encoded() == hex("00 E2 00 E2"))
    }

    @Test("CRC epilogue: CRC-16 x16+x12+x5+1 reflected, preset FFFF; check value of '123456789' is 6F 91")
    func crc() throws {
        #expect(T1Checksum.crc.compute(Array("123456789".utf8)) == [0x6F, 0x91])
        let b = T1Block.i(0, hex("00 A4 04 00"))
        let wire = b.encoded(checksum: .crc)
        #expect(wire.count == 3 + 4 + 2)
        #expect(try T1Block(decoding: wire, checksum: .crc) == b)
    }

    @Test("decoding: kinds, sequence numbers, M bit")
    func decoding() throws {
        let i = try T1Block(decoding: hex("00 60 01 01 60"))
        #expect(i.kind == .information(sendSequence: 1, more: true))
        #expect(i.information == [0x01])
        #expect(try T1Block(decoding: hex("00 92 00 92")).kind == .receiveReady(expectedSequence: 1, error: 2))
        #expect(try T1Block(decoding: hex("00 C3 01 02 C0")).kind == .supervisory(.wtx, response: false))
    }

    @Test("decoding errors", arguments: [
        ("00 00 05 00 B0 00 00 10 A4", T1BlockError.checksumMismatch),
        ("00 00 06 00 B0 00 00 10 A5", T1BlockError.lengthMismatch(declared: 6, received: 5)),
        ("00 00", T1BlockError.tooShort(count: 2)),
        ("00 01 00 01", T1BlockError.invalidPCB(0x01)),
        ("00 A0 00 A0", T1BlockError.invalidPCB(0xA0)),
        ("00 C7 00 C7", T1BlockError.invalidPCB(0xC7)),
        ("00 00 FF 00 FF", T1BlockError.lengthMismatch(declared: 255, received: 1)),
    ])
    func decodingErrors(_ input: String, _ expected: T1BlockError) {
        #expect(throws: expected) { try T1Block(decoding: hex(input)) }
    }

    @Test("no crash on 20 000 random and mutated blocks")
    func fuzz() {
        var rng = SplitMix64(seed: 0x7151)
        let seedBlock = T1Block.i(1, more: true, Array(0..<40)).encoded()
        for n in 0..<20_000 {
            var bytes: [UInt8]
            if n % 2 == 0 {
                bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = seedBlock
                for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0...5, using: &rng)) }
            }
            _ = try? T1Block(decoding: bytes)
            _ = try? T1Block(decoding: bytes, checksum: .crc)
        }
    }
}

@Suite("T=1 host engine (ISO/IEC 7816-3 §11.4–§11.6)")
struct T1HostEngineTests {
    @Test("one I-block each way, then the sequence numbers toggle")
    func simpleExchange() async throws {
        let script = BlockScript([
            ("00 00 05 00 B0 00 00 10 A5", "00 00 02 90 00 92"),
            ("00 40 05 00 B0 00 00 10 E5", "00 40 02 90 00 D2"),
        ])
        var engine = T1HostEngine(ifsc: 254)
        #expect(try await engine.transceive(hex("00 B0 00 00 10"), exchange: script.exchange) == hex("90 00"))
        #expect(try await engine.transceive(hex("00 B0 00 00 10"), exchange: script.exchange) == hex("90 00"))
        #expect(script.mismatches.isEmpty, "\(script.mismatches)")
        #expect(engine.sendSequence == 0 && engine.receiveSequence == 0)
    }

    @Test("S(IFS request) for IFSD 254 is 00 C1 01 FE 3E and the card's echo is accepted")
    func ifsd() async throws {
        let script = BlockScript([("00 C1 01 FE 3E", "00 E1 01 FE 1E")])
        var engine = T1HostEngine()
        #expect(try await engine.negotiateIFSD(254, exchange: script.exchange))
        #expect(engine.ifsd == 254)
        #expect(script.mismatches.isEmpty, "\(script.mismatches)")
    }

    @Test("command chaining: I(0,M) of IFSC bytes, card R(1), then I(1,0)")
    func commandChaining() async throws {
        let script = BlockScript([
            ("00 20 04 00 D6 00 00 F2", "00 90 00 90"),
            ("00 40 03 02 AA BB 50", "00 00 02 90 00 92"),
        ])
        var engine = T1HostEngine(ifsc: 4)
        #expect(try await engine.transceive(hex("00 D6 00 00 02 AA BB"), exchange: script.exchange) == hex("90 00"))
        #expect(script.mismatches.isEmpty, "\(script.mismatches)")
    }

    @Test("response chaining: the host acknowledges I(0,M) with R(1) = 00 90 00 90")
    func responseChaining() async throws {
        let script = BlockScript([
            (nil, "00 20 02 01 02 21"),
            ("00 90 00 90", "00 40 03 03 90 00 D0"),
        ])
        var engine = T1HostEngine()
        #expect(try await engine.transceive(hex("00 B0 00 00 03"), exchange: script.exchange) == hex("01 02 03 90 00"))
        #expect(script.mismatches.isEmpty, "\(script.mismatches)")
    }

    @Test("S(WTX request 02) is answered with S(WTX response 02) and the next wait is multiplied by 2")
    func wtx() async throws {
        let script = BlockScript([
            (nil, "00 C3 01 02 C0"),
            ("00 E3 01 02 E0", "00 00 02 90 00 92"),
        ])
        var engine = T1HostEngine()
        #expect(try await engine.transceive(hex("00 B0 00 00 10"), exchange: script.exchange) == hex("90 00"))
        #expect(script.multipliers == [1, 2])
        #expect(script.mismatches.isEmpty, "\(script.mismatches)")
    }

    @Test("a block with a bad LRC gets R(0) with the EDC error code, then the retransmission is accepted")
    func badLRC() async throws {
        let script = BlockScript([
            (nil, "00 00 02 90 00 00"),
            ("00 81 00 81", "00 00 02 90 00 92"),
        ])
        var engine = T1HostEngine()
        #expect(try await engine.transceive(hex("00 B0 00 00 10"), exchange: script.exchange) == hex("90 00"))
        #expect(script.mismatches.isEmpty, "\(script.mismatches)")
    }

    @Test("S(IFS request) from the card changes IFSC")
    func cardIFS() async throws {
        let script = BlockScript([
            (nil, "00 C1 01 10 D0"),
            ("00 E1 01 10 F0", "00 00 02 90 00 92"),
        ])
        var engine = T1HostEngine(ifsc: 32)
        _ = try await engine.transceive(hex("00 B0 00 00 10"), exchange: script.exchange)
        #expect(engine.ifsc == 16)
        #expect(script.mismatches.isEmpty, "\(script.mismatches)")
    }

    @Test("a card answering every I-block with an error R-block: 4 sends, S(RESYNCH), 4 sends, then a transport error")
    func boundedRecovery() async throws {
        var card = T1CardEngine(ifsc: 32, checksum: .lrc)
        card.errorRBlocksForIBlocks = Int.max
        final class Peer: @unchecked Sendable {
            var card: T1CardEngine
            var sent: [T1Block] = []
            init(_ c: T1CardEngine) { card = c }
        }
        let peer = Peer(card)
        var engine = T1HostEngine()
        let exchange: T1BlockExchange = { block, _ in
            peer.sent.append(try! T1Block(decoding: block))
            return peer.card.handle(block) { _ in [0x90, 0x00] }
        }
        await #expect(throws: TransportError.failed(
            "T=1: the card keeps asking for retransmission; recovery exhausted after resynchronisation"))
        {
            _ = try await engine.transceive(hex("00 B0 00 00 10"), exchange: exchange)
        }
        #expect(peer.sent.count == 9)
        #expect(peer.sent.filter { $0.kind == .supervisory(.resynch, response: false) }.count == 1)
        #expect(peer.sent.filter { if case .information = $0.kind { return true } else { return false } }.count == 8)
    }

    @Test("a card that is mute after every block: bounded, then a transport error")
    func muteCard() async throws {
        var engine = T1HostEngine()
        final class Counter: @unchecked Sendable { var n = 0 }
        let counter = Counter()
        let exchange: T1BlockExchange = { (_: [UInt8], _: UInt8) async throws(TransportError) -> [UInt8] in
            counter.n += 1
            throw TransportError.cardMute
        }
        await #expect(throws: TransportError.self) {
            _ = try await engine.transceive(hex("00 B0 00 00 10"), exchange: exchange)
        }
        #expect(counter.n == 4 + 3)
    }

    @Test("chaining both ways through the card-side engine, IFSC 16 / IFSD 20")
    func chainingWithCardEngine() async throws {
        final class Peer: @unchecked Sendable {
            var card = T1CardEngine(ifsc: 16, checksum: .lrc)
            var commands: [[UInt8]] = []
        }
        let peer = Peer()
        let exchange: T1BlockExchange = { block, _ in
            peer.card.handle(block) { apdu in
                peer.commands.append(apdu)
                return Array(0..<100) + [0x90, 0x00]
            }
        }
        var engine = T1HostEngine(ifsc: 16, ifsd: 32)
        #expect(try await engine.negotiateIFSD(20, exchange: exchange))
        let command: [UInt8] = [0x00, 0xD6, 0x00, 0x00, 50] + Array(repeating: 0x5A, count: 50)
        let r = try await engine.transceive(command, exchange: exchange)
        #expect(r == Array(0..<100) + [0x90, 0x00])
        #expect(peer.commands == [command])
    }
}

@Suite("T=1 host engine never loops forever")
struct T1TerminationTests {
    @Test("2 000 sessions against a card answering random (valid and invalid) blocks all terminate, boundedly")
    func randomCards() async {
        final class RandomCard: @unchecked Sendable {
            var rng: SplitMix64
            var exchanges = 0
            init(seed: UInt64) { rng = SplitMix64(seed: seed) }
            func next() -> [UInt8] {
                exchanges += 1
                let kinds: [T1BlockKind] = [
                    .information(sendSequence: UInt8.random(in: 0...1, using: &rng), more: Bool.random(using: &rng)),
                    .receiveReady(expectedSequence: UInt8.random(in: 0...1, using: &rng), error: UInt8.random(in: 0...2, using: &rng)),
                    .supervisory(.wtx, response: false), .supervisory(.ifs, response: false),
                    .supervisory(.resynch, response: true), .supervisory(.ifs, response: true),
                ]
                let kind = kinds[Int.random(in: 0..<kinds.count, using: &rng)]
                let inf: [UInt8] = (0..<Int.random(in: 0...3, using: &rng)).map { _ in UInt8.random(in: 1...254, using: &rng) }
                var bytes = T1Block(kind: kind, information: inf).encoded()
                if Int.random(in: 0..<10, using: &rng) == 0 { bytes[bytes.count - 1] ^= 0x01 }
                return bytes
            }
        }
        var worst = 0
        for seed in 0..<2000 {
            let card = RandomCard(seed: UInt64(seed))
            var engine = T1HostEngine(ifsc: 8)
            let exchange: T1BlockExchange = { (_: [UInt8], _: UInt8) async throws(TransportError) -> [UInt8] in card.next() }
            _ = try? await engine.transceive(Array(repeating: 0x42, count: 20), exchange: exchange)
            worst = max(worst, card.exchanges)
        }
        #expect(worst < 2_000)
    }

    @Test("a card chaining empty I-blocks forever, or asking S(IFS) forever, is given up on")
    func stuckCards() async {
        final class Counter: @unchecked Sendable { var n = 0; var ns: UInt8 = 0 }
        let c = Counter()
        var engine = T1HostEngine()
        let emptyChain: T1BlockExchange = { (_: [UInt8], _: UInt8) async throws(TransportError) -> [UInt8] in
            c.n += 1
            defer { c.ns ^= 1 }
            return T1Block.i(c.ns, more: true, []).encoded()
        }
        await #expect(throws: TransportError.self) { _ = try await engine.transceive(hex("00 B0 00 00 10"), exchange: emptyChain) }
        #expect(c.n < 40)
        c.n = 0
        var engine2 = T1HostEngine()
        let ifsForever: T1BlockExchange = { (_: [UInt8], _: UInt8) async throws(TransportError) -> [UInt8] in
            c.n += 1
            return T1Block.s(.ifs, response: false, [0x20]).encoded()
        }
        await #expect(throws: TransportError.self) { _ = try await engine2.transceive(hex("00 B0 00 00 10"), exchange: ifsForever) }
        #expect(c.n < 200)
    }
}
