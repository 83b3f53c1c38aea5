/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014): a small,
/// fast, deterministic 64-bit generator.
///
/// The one seeded generator of the project: the simulator's GET CHALLENGE answers and every no-crash / fuzz pass of
/// the tests draw from it, so a run with the same seed sees the same bytes on every machine. Each call to `next()`
/// adds the golden-ratio increment `0x9E3779B97F4A7C15` to the 64-bit state and returns that state mixed by two
/// xor-shift-multiply rounds. The first output for seed 0 is `0xE220A8397B1DCDAF`.
///
/// Not a cryptographic generator: never use it for keys, nonces a real card checks, or anything secret (use
/// `SystemRandomNumberGenerator` for those).
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    /// The 64-bit state; the next output is derived from `state &+ 0x9E3779B97F4A7C15`.
    public var state: UInt64

    /// A generator whose sequence is fixed by `seed` (any 64-bit value; the seed is the initial state).
    public init(seed: UInt64) { state = seed }

    /// The next 64 pseudorandom bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
