/// Streaming SHA-1 / SHA-256 whose intermediate state can be exported and resumed (FIPS 180-4).
///
/// Needed for IAS-ECC PSO HASH (`../shared/specs/cps.md` §6.3 B): the host hashes every complete 64-byte block
/// except the last ≤ 64-byte tail and sends `90 L <state ‖ 8-byte big-endian count of bits already hashed> 80 LL
/// <tail>`; the card resumes from that state and finishes the hash. OpenSSL 3's EVP API cannot import a
/// mid-state, so the compression functions are implemented here; results are tested against OpenSSL.
///
/// The state is the chaining value H0…H4 (SHA-1, 20 bytes) or H0…H7 (SHA-256, 32 bytes), big-endian words.
public struct SHAStream: Sendable {
    /// The two hash functions IAS-ECC cards resume.
    public enum Algorithm: Sendable, Equatable {
        case sha1, sha256
        /// Length of the chaining value and of the digest in bytes (20 or 32).
        public var stateLength: Int { self == .sha1 ? 20 : 32 }
    }

    public let algorithm: Algorithm
    private var h: [UInt32]
    private var absorbedBlocks: UInt64 = 0
    private var buffer: [UInt8] = []

    /// A fresh hash (initial values of FIPS 180-4 §5.3.1 / §5.3.3).
    public init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .sha1: h = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        case .sha256:
            h = [
                0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab,
                0x5be0_cd19,
            ]
        }
    }

    /// Resumes from an exported chaining value.
    /// - Parameters:
    ///   - state: 20 bytes (SHA-1) or 32 bytes (SHA-256), big-endian words; empty means "nothing hashed yet"
    ///     (the `90 00` form of PSO HASH), in which case `bitCount` must be 0.
    ///   - bitCount: number of message bits already absorbed; a multiple of 512.
    /// - Throws: `CryptoError.invalidInput` for a wrong state length or a bit count that is not a whole number
    ///   of 64-byte blocks.
    public init(_ algorithm: Algorithm, resumingState state: [UInt8], bitCount: UInt64) throws(CryptoError) {
        self.init(algorithm)
        if state.isEmpty {
            guard bitCount == 0 else { throw .invalidInput("an empty hash state with a bit count of \(bitCount)") }
            return
        }
        guard state.count == algorithm.stateLength else {
            throw .invalidInput("a \(algorithm) state is \(algorithm.stateLength) bytes, got \(state.count)")
        }
        guard bitCount % 512 == 0 else {
            throw .invalidInput("the bit count \(bitCount) is not a whole number of 64-byte blocks")
        }
        h = stride(from: 0, to: state.count, by: 4).map { Self.word(state[...], at: $0) }
        absorbedBlocks = bitCount / 512
    }

    /// Feeds message bytes.
    public mutating func update(_ data: [UInt8]) {
        var data = data[...]
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, data.count)
            buffer += data.prefix(take)
            data = data.dropFirst(take)
            if buffer.count == 64 { compress(buffer[...]); buffer.removeAll(keepingCapacity: true) }
        }
        while data.count >= 64 {
            compress(data.prefix(64))
            data = data.dropFirst(64)
        }
        buffer += data
    }

    /// The chaining value after the last complete 64-byte block (20 or 32 bytes, big-endian words).
    public var intermediateState: [UInt8] {
        var out: [UInt8] = []
        for w in h { out += [UInt8(w >> 24), UInt8(truncatingIfNeeded: w >> 16), UInt8(truncatingIfNeeded: w >> 8), UInt8(truncatingIfNeeded: w)] }
        return out
    }

    /// Bits absorbed into `intermediateState` (a multiple of 512).
    public var hashedBitCount: UInt64 { absorbedBlocks &* 512 }

    /// Total message bits fed so far (hashed + pending).
    public var bitCount: UInt64 { hashedBitCount &+ UInt64(buffer.count) * 8 }

    /// Bytes fed but not yet compressed (0…63).
    public var pendingBytes: [UInt8] { buffer }

    /// The digest (20 or 32 bytes) of everything fed; the stream itself is left unchanged.
    public func finalize() -> [UInt8] {
        var copy = self
        let totalBits = bitCount
        var tail = buffer
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: totalBits >> (UInt64(i) * 8))) }
        var rest = tail[...]
        while !rest.isEmpty { copy.compress(rest.prefix(64)); rest = rest.dropFirst(64) }
        return copy.intermediateState
    }

    /// The host side of IAS-ECC PSO HASH: hashes every complete block except the final 1…64-byte tail.
    /// - Returns: `state` (empty when the message fits in one block), `bitCount` (bits in the state) and
    ///   `lastBlock` (the tail, 1…64 bytes, or empty for an empty message).
    public static func cardHashSplit(_ algorithm: Algorithm, message: [UInt8]) -> (
        state: [UInt8], bitCount: UInt64, lastBlock: [UInt8]
    ) {
        let tailLength = message.isEmpty ? 0 : (message.count - 1) % 64 + 1
        let prefixLength = message.count - tailLength
        if prefixLength == 0 { return ([], 0, message) }
        var s = SHAStream(algorithm)
        s.update(Array(message[0..<prefixLength]))
        return (s.intermediateState, s.hashedBitCount, Array(message[prefixLength...]))
    }

    private mutating func compress(_ block: ArraySlice<UInt8>) {
        var w = [UInt32](repeating: 0, count: algorithm == .sha1 ? 80 : 64)
        var i = block.startIndex
        for t in 0..<16 {
            w[t] = Self.word(block, at: i)
            i += 4
        }
        switch algorithm {
        case .sha1: sha1Compress(&w)
        case .sha256: sha256Compress(&w)
        }
        absorbedBlocks &+= 1
    }

    private static func word(_ b: ArraySlice<UInt8>, at i: Int) -> UInt32 {
        let b0 = UInt32(b[i]) << 24
        let b1 = UInt32(b[i + 1]) << 16
        let b2 = UInt32(b[i + 2]) << 8
        return b0 | b1 | b2 | UInt32(b[i + 3])
    }

    @inline(__always) private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }
    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    private mutating func sha1Compress(_ w: inout [UInt32]) {
        for t in 16..<80 { w[t] = Self.rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1) }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4]
        for t in 0..<80 {
            let f: UInt32, k: UInt32
            switch t {
            case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
            case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
            case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
            default: f = b ^ c ^ d; k = 0xCA62_C1D6
            }
            let temp = Self.rotl(a, 5) &+ f &+ e &+ k &+ w[t]
            e = d; d = c; c = Self.rotl(b, 30); b = a; a = temp
        }
        h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e
    }

    private static let k256: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    private mutating func sha256Compress(_ w: inout [UInt32]) {
        for t in 16..<64 {
            let s0 = Self.rotr(w[t - 15], 7) ^ Self.rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = Self.rotr(w[t - 2], 17) ^ Self.rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
        for t in 0..<64 {
            let s1 = Self.rotr(e, 6) ^ Self.rotr(e, 11) ^ Self.rotr(e, 25)
            let ch = (e & f) ^ (~e & g)
            let t1 = hh &+ s1 &+ ch &+ Self.k256[t] &+ w[t]
            let s0 = Self.rotr(a, 2) ^ Self.rotr(a, 13) ^ Self.rotr(a, 22)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ maj
            hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
    }
}
