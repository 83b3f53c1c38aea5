import Testing
@testable import CarteCrypto

@Suite struct SHAStreamTests {
    @Test func fips180OneShotValues() {
        var s = SHAStream(.sha256)
        s.update(Array("abc".utf8))
        #expect(s.finalize() == h("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"))
        var t = SHAStream(.sha1)
        t.update(Array("abc".utf8))
        #expect(t.finalize() == h("A9993E364706816ABA3E25717850C26C9CD0D89D"))
        // Two-block message of FIPS 180-2 appendix B.2.
        var u = SHAStream(.sha256)
        u.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        #expect(u.finalize() == h("248D6A61D20638B8E5C026930C3E6039A33CE45964FF2167F6ECEDD419DB06C1"))
    }

    @Test func matchesOpenSSLForManyLengthsAndChunkings() {
        var rng = SplitMix64(state: 42)
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 300, 1000] {
            let msg = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for alg in [SHAStream.Algorithm.sha1, .sha256] {
                var s = SHAStream(alg)
                var rest = msg[...]
                while !rest.isEmpty {
                    let n = Int.random(in: 1...70, using: &rng)
                    s.update(Array(rest.prefix(n)))
                    rest = rest.dropFirst(n)
                }
                let expected = alg == .sha1 ? Digest.sha1(msg) : Digest.sha256(msg)
                #expect(s.finalize() == expected, "length \(length) \(alg)")
                #expect(s.bitCount == UInt64(length) * 8)
            }
        }
    }

    @Test func midStateExportAndResumeEqualsOneShot() throws {
        let msg = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for alg in [SHAStream.Algorithm.sha1, .sha256] {
            let split = SHAStream.cardHashSplit(alg, message: msg)
            #expect(split.state.count == alg.stateLength)
            #expect(split.bitCount == 192 * 8)  // 3 complete blocks hashed, 8-byte tail left for the card
            #expect(split.lastBlock == Array(msg[192...]))
            var card = try SHAStream(alg, resumingState: split.state, bitCount: split.bitCount)
            card.update(split.lastBlock)
            #expect(card.finalize() == (alg == .sha1 ? Digest.sha1(msg) : Digest.sha256(msg)))
        }
    }

    @Test func cardHashSplitKeepsAFullLastBlock() throws {
        // 128 bytes: the host hashes one block, the card gets a full 64-byte last block (cps.md §6.3 B).
        let msg = [UInt8](repeating: 0x61, count: 128)
        let split = SHAStream.cardHashSplit(.sha256, message: msg)
        #expect(split.bitCount == 512)
        #expect(split.lastBlock.count == 64)
        // A message of one block or less: empty state (`90 00`), everything sent as the last block.
        let short = SHAStream.cardHashSplit(.sha256, message: Array("abc".utf8))
        #expect(short.state == [] && short.bitCount == 0 && short.lastBlock == Array("abc".utf8))
        var card = try SHAStream(.sha256, resumingState: short.state, bitCount: 0)
        card.update(short.lastBlock)
        #expect(card.finalize() == Digest.sha256(Array("abc".utf8)))
    }

    @Test func knownIntermediateStateOfOneBlock() {
        // SHA-256 state after the single block "a"×64 (no padding): verified against an independent implementation
        // by resuming and comparing with OpenSSL below.
        var s = SHAStream(.sha256)
        s.update([UInt8](repeating: 0x61, count: 64))
        #expect(s.hashedBitCount == 512)
        #expect(s.pendingBytes == [])
        var r = try! SHAStream(.sha256, resumingState: s.intermediateState, bitCount: 512)
        r.update(Array("tail".utf8))
        #expect(r.finalize() == Digest.sha256([UInt8](repeating: 0x61, count: 64) + Array("tail".utf8)))
    }

    @Test func exportedStateIsTheStandardChainingValue() throws {
        // The padded empty message is exactly one block, so the state after it is SHA-x("") (FIPS 180-4 §5.1.1).
        let padding = [0x80] + [UInt8](repeating: 0, count: 63)
        var s256 = SHAStream(.sha256)
        s256.update(padding)
        #expect(s256.intermediateState == h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
        #expect(s256.hashedBitCount == 512)
        var s1 = SHAStream(.sha1)
        s1.update(padding)
        #expect(s1.intermediateState == h("da39a3ee5e6b4b0d3255bfef95601890afd80709"))
        // Importing that standard value and continuing equals OpenSSL over the concatenation.
        let more = Array("card finishes the hash".utf8)
        var r256 = try SHAStream(.sha256, resumingState: h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), bitCount: 512)
        r256.update(more)
        #expect(r256.finalize() == Digest.sha256(padding + more))
        var r1 = try SHAStream(.sha1, resumingState: h("da39a3ee5e6b4b0d3255bfef95601890afd80709"), bitCount: 512)
        r1.update(more)
        #expect(r1.finalize() == Digest.sha1(padding + more))
    }

    @Test func resumeRejectsBadStates() {
        #expect(throws: CryptoError.invalidInput("a sha256 state is 32 bytes, got 20")) {
            try SHAStream(.sha256, resumingState: [UInt8](repeating: 0, count: 20), bitCount: 512)
        }
        #expect(throws: CryptoError.invalidInput("the bit count 100 is not a whole number of 64-byte blocks")) {
            try SHAStream(.sha1, resumingState: [UInt8](repeating: 0, count: 20), bitCount: 100)
        }
        #expect(throws: CryptoError.invalidInput("an empty hash state with a bit count of 512")) {
            try SHAStream(.sha1, resumingState: [], bitCount: 512)
        }
    }
}

@Suite struct DigestInfoTests {
    @Test func sha256Bytes() throws {
        let digest = Digest.sha256(Array("abc".utf8))
        let di = DigestInfo.encode(.sha256, digest: digest)
        #expect(di == h("3031300D060960864801650304020105000420") + digest)
        #expect(di.count == 51)
        let back = try DigestInfo.decode(di)
        #expect(back.algorithm == .sha256 && back.digest == digest)
    }

    @Test func sha1Bytes() throws {
        let digest = Digest.sha1(Array("abc".utf8))
        let di = DigestInfo.encode(.sha1, digest: digest)
        #expect(di == h("3021300906052B0E03021A05000414") + digest)
        #expect(try DigestInfo.decode(di).algorithm == .sha1)
    }

    @Test func rejectsOtherBytes() {
        let digest = Digest.sha256([])
        var bad = DigestInfo.encode(.sha256, digest: digest)
        bad[6] = 0x61
        #expect(throws: CryptoError.self) { try DigestInfo.decode(bad) }
        #expect(throws: CryptoError.self) { try DigestInfo.decode(Array(DigestInfo.encode(.sha256, digest: digest).dropLast())) }
        #expect(throws: CryptoError.self) { try DigestInfo.decode([]) }
    }
}
