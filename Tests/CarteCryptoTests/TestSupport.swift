import Foundation
@testable import CarteCrypto

/// Hex text ("0A 1b…", spaces allowed) to bytes; traps on bad test data.
func h(_ s: String) -> [UInt8] {
    let digits = s.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0)
    var out: [UInt8] = []
    var i = digits.startIndex
    while i < digits.endIndex {
        let j = digits.index(i, offsetBy: 2)
        out.append(UInt8(digits[i..<j], radix: 16)!)
        i = j
    }
    return out
}

/// Deterministic PRNG for fuzz passes: the same sequence as `SplitMix64`, kept here only because this
/// test target does not depend on ISO7816 (Package.swift).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Keys generated once per test process (RSA-2048 generation is slow).
enum SharedKeys {
    static let a = try! RSAPrivateKey.generate(bits: 2048)
    static let b = try! RSAPrivateKey.generate(bits: 2048)
    static let c = try! RSAPrivateKey.generate(bits: 2048)
    static let d = try! RSAPrivateKey.generate(bits: 2048)
    static let e = try! RSAPrivateKey.generate(bits: 2048)
}

let day: TimeInterval = 86_400
/// A fixed decision time for the validation tests: 2026-06-01T00:00:00Z.
let decisionTime = Date(timeIntervalSince1970: 1_780_272_000)
