import Testing

@testable import ISO7816

/// Random inputs and mutations of real ones: flips, truncations, insertions, duplications.
struct InputGenerator {
    var rng: SplitMix64
    let seeds: [[UInt8]]
    let maxLength: Int

    mutating func next() -> [UInt8] {
        if seeds.isEmpty || rng.next() % 4 == 0 {
            let n = Int(rng.next() % UInt64(maxLength + 1))
            return (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        var b = seeds[Int(rng.next() % UInt64(seeds.count))]
        let edits = 1 + Int(rng.next() % 4)
        for _ in 0..<edits {
            switch rng.next() % 5 {
            case 0 where !b.isEmpty: b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
            case 1 where !b.isEmpty: b.removeLast(Int(rng.next() % UInt64(b.count)))
            case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count)))
            case 3 where !b.isEmpty:
                let i = Int(rng.next() % UInt64(b.count))
                b[i] ^= UInt8(1) << UInt8(rng.next() % 8)
            default: b += b.prefix(Int(rng.next() % 8))
            }
        }
        return b
    }
}

@Suite struct NoCrashFuzzTests {
    static let rounds = 200_000

    @Test func atr() {
        var g = InputGenerator(rng: SplitMix64(seed: 0xA7_2026), seeds: atrTable.compactMap { [UInt8](hex: $0.hex) }, maxLength: 40)
        var wellFormed = 0
        for _ in 0..<Self.rounds {
            let input = g.next()
            let a = ATR(input)
            #expect(a.bytes == input)
            if a.historicalBytes.count > 15 { Issue.record("more than 15 historical bytes for \(input.hexString())") }
            if a.errors.isEmpty {
                wellFormed += 1
                if input.count > 33 { Issue.record("over-length ATR without error: \(input.hexString())") }
                if a.tckRequired && a.tckValid != true { Issue.record("bad TCK without error: \(input.hexString())") }
            }
            _ = a.recognisedKind
            _ = a.ifsc
            _ = a.classIndicator
        }
        #expect(wellFormed > 1000)  // the mutations keep many ATRs valid: the checks above did run
    }

    @Test func berTLV() {
        let seeds: [[UInt8]] = [
            BERTLVTests.pointers,
            [UInt8](hex: "65 18 80 06 44 55 50 4F 4E 54 81 04 4A 45 41 4E 82 08 31 39 36 38 30 31 31 37 00 00")!,
            [UInt8](hex: "7F 21 08 5F 37 02 AA BB 5F 38 00 9F 7F 01 01 DF 81 01 01 02")!,
            [UInt8](hex: "61 2F 4F 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 50 07 43 50 58 20 49 41 53")!,
        ]
        var g = InputGenerator(rng: SplitMix64(seed: 0xBE_2026), seeds: seeds, maxLength: 64)
        var decoded = 0
        for _ in 0..<Self.rounds {
            let input = g.next()
            let lenient = BERTLV.decodeLenient(input)
            if let objects = try? BERTLV.decode(input, skipPadding: false) {
                decoded += 1
                // Re-encoding (shortest lengths) decodes to the same tree.
                let again = try? BERTLV.decode(objects.encoded, skipPadding: false)
                if again != objects { Issue.record("BER-TLV round trip differs for \(input.hexString())") }
            }
            if lenient.error == nil && lenient.objects.encoded.count > input.count {
                Issue.record("BER-TLV decoded more bytes than given: \(input.hexString())")
            }
        }
        #expect(decoded > 1000)
    }

    @Test func compactAndSimpleTLV() {
        var g = InputGenerator(
            rng: SplitMix64(seed: 0xC0_2026),
            seeds: [[UInt8](hex: "31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00")!, [UInt8](hex: "01 03 AA BB CC 02 00")!],
            maxLength: 32)
        var ok = 0
        for _ in 0..<Self.rounds {
            let input = g.next()
            if let objects = try? CompactTLV.decode(input) {
                ok += 1
                let back = try? objects.flatMap { try $0.encoded() }
                if back != input { Issue.record("COMPACT-TLV round trip differs for \(input.hexString())") }
            }
            _ = try? SimpleTLV.decode(input)
            _ = HistoricalBytes(input)
        }
        #expect(ok > 1000)
    }

    @Test func commandAPDU() {
        let seeds: [[UInt8]] = [
            [UInt8](hex: "00 A4 04 00 05 A0 00 00 00 01 00")!, [UInt8](hex: "00 B0 00 00 00")!,
            [UInt8](hex: "00 B0 00 00 00 00 00")!, [UInt8](hex: "00 2A 80 86 00 00 03 01 02 03 00 00")!,
            [UInt8](hex: "00 20 00 01 02 31 32")!,
        ]
        var g = InputGenerator(rng: SplitMix64(seed: 0xCA_2026), seeds: seeds, maxLength: 24)
        var ok = 0
        for _ in 0..<Self.rounds {
            let input = g.next()
            guard let c = try? CommandAPDU(decoding: input) else { continue }
            ok += 1
            // Whatever form it came in, the re-encoding decodes to the same command.
            guard let enc = try? c.encoded(), let back = try? CommandAPDU(decoding: enc), back == c else {
                Issue.record("C-APDU round trip differs for \(input.hexString())")
                continue
            }
        }
        #expect(ok > 1000)
    }

    @Test func responseAPDU() {
        var g = InputGenerator(rng: SplitMix64(seed: 0xDA_2026), seeds: [[0x90, 0x00], [0x01, 0x02, 0x61, 0x10]], maxLength: 16)
        var ok = 0
        for _ in 0..<Self.rounds {
            let input = g.next()
            if let r = try? ResponseAPDU(decoding: input) {
                ok += 1
                if r.bytes != input { Issue.record("R-APDU round trip differs for \(input.hexString())") }
                _ = r.statusWord.meaning
            } else if input.count >= 2 {
                Issue.record("R-APDU of \(input.count) bytes refused")
            }
        }
        #expect(ok > 1000)
    }
}

@Suite struct PipelineFuzzTests {
    /// Random card answers (61xx, 6Cxx, 62 82, 6B 00, 90 00, garbage) never crash or hang the pipeline: every
    /// call ends with a response or a `CardError`, within the bounds.
    @Test func randomAnswersTerminate() async {
        var rng = SplitMix64(seed: 0x7E_2026)
        let sws: [[UInt8]] = [[0x61, 0x00], [0x61, 0x10], [0x6C, 0x08], [0x90, 0x00], [0x62, 0x82], [0x6B, 0x00], [0x6A, 0x82], [0x91, 0xAF]]
        for round in 0..<2000 {
            let t = ScriptedTransport()
            for _ in 0..<40 {
                let n = Int(rng.next() % 300)
                var answer = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if rng.next() % 10 != 0 { answer += sws[Int(rng.next() % UInt64(sws.count))] }
                else { answer = Array(answer.prefix(Int(rng.next() % 2))) }  // malformed: 0 or 1 byte
                t.answerAny(answer.hexString())
            }
            let proto: TransmissionProtocol = round % 2 == 0 ? .t0 : .t1
            let ch = APDUChannel(
                transport: t, atr: [0x3B, 0x00], activeProtocol: proto, readerCapabilities: .shortAPDU,
                configuration: APDUChannelConfiguration(getResponseLimit: 8, cardSupportsChaining: true, readBinaryLimit: 4096))
            do {
                if round % 3 == 0 {
                    _ = try await ch.readBinary(offset: Int(rng.next() % 70000))
                } else {
                    let data = [UInt8](repeating: 1, count: Int(rng.next() % 600))
                    _ = try await ch.send(CommandAPDU(ins: 0xDB, p1: 0, p2: 0, data: data, ne: Int(rng.next() % 300) + 1))
                }
            } catch {
                // any CardError is an acceptable outcome
            }
            #expect(t.sent.count <= 40 + 1)
        }
    }
}
