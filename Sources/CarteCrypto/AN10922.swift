/// NXP AN10922 "Symmetric key diversifications", the CMAC-based AES-128 method (§2.2), and the IV-chained
/// AES-CMAC that NXP DESFire EV1 uses for its session MAC. Both are shared by the badge reader (`Badges`) and the
/// simulated DESFire card (`CardSimulator`), which must derive the very same keys and MACs.
///
/// AES-128 diversification (AN10922 §2.2, table 2 worked example):
/// - M = the diversification input, 1…31 bytes (we use `UID(7) ‖ AID(3) ‖ system identifier`, see
///   `diversificationInput(uid:aid:systemIdentifier:)`);
/// - D = `01 ‖ M` (div constant 1 for AES-128), then padded with `80 00 …` to **32 bytes** when shorter
///   (AN10922 always works on two blocks, even when D fits in one);
/// - the last block of D is XORed with the CMAC subkey K2 when padding was added, K1 otherwise;
/// - the diversified key = the last block of AES-128-CBC(master key, IV = 0, D).
/// For 17…32-byte D this equals the plain AES-CMAC of `01 ‖ M`; for a D of 16 bytes or fewer it does not (the
/// forced 32-byte padding), which is why this is its own function.
public enum AN10922 {
    /// The diversification constant for an AES-128 key (AN10922 §2.2).
    public static let aes128DivConstant: UInt8 = 0x01

    /// The system identifier Carte puts at the end of every badge diversification input: ASCII "CARTE-SITE",
    /// `43 41 52 54 45 2D 53 49 54 45` (10 bytes). Our own design `[D]`: any fixed value works as long as the
    /// personalisation (the simulator) and the validation (the reader) use the same one.
    public static let carteSystemIdentifier: [UInt8] = Array("CARTE-SITE".utf8)

    /// M = `uid ‖ aid ‖ systemIdentifier`, the bytes concatenated in the order given (the AID in the order
    /// the caller passes it; Carte passes the 3 AID bytes as they travel in SelectApplication, LSB first).
    public static func diversificationInput(uid: [UInt8], aid: [UInt8], systemIdentifier: [UInt8]) -> [UInt8] {
        uid + aid + systemIdentifier
    }

    /// The AES-128 key diversified from `masterKey` with the input M (AN10922 §2.2).
    /// - Parameters: `masterKey` 16 bytes; `input` M, 1…31 bytes.
    /// - Returns: the 16-byte diversified key.
    /// - Throws: `CryptoError.invalidInput` for a master key that is not 16 bytes or an M outside 1…31 bytes;
    ///   `.openSSL` if AES fails.
    public static func diversifyAES128(masterKey: [UInt8], input m: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard masterKey.count == 16 else {
            throw .invalidInput("an AN10922 AES-128 master key is 16 bytes, got \(masterKey.count)")
        }
        guard (1...31).contains(m.count) else {
            throw .invalidInput("an AN10922 diversification input is 1 to 31 bytes, got \(m.count)")
        }
        var d = [aes128DivConstant] + m
        let (k1, k2) = try CMAC.aesSubkeys(key: masterKey)
        let padded = d.count < 32
        if padded {
            d.append(0x80)
            d += [UInt8](repeating: 0, count: 32 - d.count)
        }
        let subkey = padded ? k2 : k1
        for i in 0..<16 { d[16 + i] ^= subkey[i] }
        let enc = try AES.encrypt(d, key: masterKey, mode: .cbc(iv: [UInt8](repeating: 0, count: 16)))
        return Array(enc[16..<32])
    }

    /// The AES-128 key diversified from `masterKey` for one card and application:
    /// `diversifyAES128(masterKey:input: uid ‖ aid ‖ systemIdentifier)`.
    /// - Throws: as `diversifyAES128(masterKey:input:)`.
    public static func diversifyAES128(
        masterKey: [UInt8], uid: [UInt8], aid: [UInt8], systemIdentifier: [UInt8] = carteSystemIdentifier
    ) throws(CryptoError) -> [UInt8] {
        try diversifyAES128(
            masterKey: masterKey,
            input: diversificationInput(uid: uid, aid: aid, systemIdentifier: systemIdentifier))
    }
}

extension CMAC {
    /// The AES-CMAC subkeys K1 and K2 of `key` (NIST SP 800-38B §6.1, RFC 4493 §2.3): L = AES(K, 0¹²⁸),
    /// K1 = L·x, K2 = K1·x in GF(2¹²⁸) (left shift, XOR `87` into the last byte on carry).
    /// - Throws: `CryptoError.invalidInput` for a key that is not 16/24/32 bytes; `.openSSL` if AES fails.
    public static func aesSubkeys(key: [UInt8]) throws(CryptoError) -> (k1: [UInt8], k2: [UInt8]) {
        let l = try AES.encrypt([UInt8](repeating: 0, count: 16), key: key, mode: .ecb)
        func double(_ x: [UInt8]) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 16)
            for i in 0..<16 {
                out[i] = x[i] << 1 | (i < 15 ? x[i + 1] >> 7 : 0)
            }
            if x[0] & 0x80 != 0 { out[15] ^= 0x87 }
            return out
        }
        let k1 = double(l)
        return (k1, double(k1))
    }

    /// AES-CMAC whose CBC chain starts from `iv` instead of zero, returning the whole 16-byte last block.
    ///
    /// This is the MAC of NXP DESFire EV1 sessions after AuthenticateAES: "the CMAC is a copy of the IV of the
    /// session key" — each command (command byte ‖ parameters) and each answer (data ‖ status byte `00`) is
    /// MACed with the IV left by the previous one, the IV becomes the result, and the card transmits its first
    /// 8 bytes (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §7.4). With a zero IV it is the plain AES-CMAC
    /// of RFC 4493.
    /// - Parameters: `key` 16/24/32 bytes; `iv` 16 bytes; `data` any length (empty allowed).
    /// - Returns: 16 bytes.
    /// - Throws: `CryptoError.invalidInput` for a wrong key or IV length; `.openSSL` if AES fails.
    public static func aesChained(key: [UInt8], iv: [UInt8], data: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard iv.count == 16 else { throw .invalidInput("a CMAC IV is 16 bytes, got \(iv.count)") }
        let (k1, k2) = try aesSubkeys(key: key)
        var m = data
        let complete = !m.isEmpty && m.count % 16 == 0
        if !complete {
            m.append(0x80)
            m += [UInt8](repeating: 0, count: (16 - m.count % 16) % 16)
        }
        let subkey = complete ? k1 : k2
        let last = m.count - 16
        for i in 0..<16 { m[last + i] ^= subkey[i] }
        let enc = try AES.encrypt(m, key: key, mode: .cbc(iv: iv))
        return Array(enc[last...])
    }
}
