import CarteCrypto
import Foundation

/// Why a one-time-password configuration or code is refused.
public enum OTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Digits outside 6…8 (RFC 4226 §5.3 requires at least 6; 8 is the most a 31-bit value gives usefully).
    case invalidDigits(Int)
    /// A secret shorter than 16 bytes (RFC 4226 §4 R6 asks for 128 bits at least).
    case secretTooShort(Int)
    /// A time step that is not positive (seconds).
    case invalidPeriod(TimeInterval)
    /// HMAC failed in OpenSSL.
    case crypto(CryptoError)

    public var description: String {
        switch self {
        case .invalidDigits(let d): return "a one-time password has 6 to 8 digits, not \(d)"
        case .secretTooShort(let n): return "the OTP secret has \(n) bytes; at least 16 are needed"
        case .invalidPeriod(let p): return "the TOTP time step must be positive (got \(p) s)"
        case .crypto(let e): return "OTP computation failed: \(e)"
        }
    }
}

/// HOTP (RFC 4226): HMAC over the 8-byte big-endian counter, dynamic truncation (§5.3), modulo 10^digits.
public struct HOTP: Sendable, Hashable {
    public let algorithm: HashAlgorithm
    /// 6, 7 or 8.
    public let digits: Int
    private let secret: [UInt8]

    /// - Parameters: `secret` (bytes; ≥ 16 unless `allowShortSecret`, which the RFC test vectors need),
    ///   `digits` 6…8, `algorithm` SHA-1 (RFC 4226), SHA-256 or SHA-512 (RFC 6238).
    /// - Throws: `OTPError.invalidDigits`, `.secretTooShort`.
    public init(secret: [UInt8], digits: Int = 6, algorithm: HashAlgorithm = .sha1, allowShortSecret: Bool = false) throws(OTPError) {
        guard (6...8).contains(digits) else { throw .invalidDigits(digits) }
        guard allowShortSecret || secret.count >= 16 else { throw .secretTooShort(secret.count) }
        self.secret = secret
        self.digits = digits
        self.algorithm = algorithm
    }

    /// The code for `counter`, zero-padded to `digits` characters.
    /// - Throws: `OTPError.crypto`.
    public func code(counter: UInt64) throws(OTPError) -> String {
        let message = (0..<8).map { UInt8(truncatingIfNeeded: counter >> (8 * (7 - UInt64($0)))) }
        let mac: [UInt8]
        do { mac = try HMAC.authenticationCode(algorithm, key: secret, data: message) } catch { throw .crypto(error) }
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    public static func == (a: HOTP, b: HOTP) -> Bool { a.algorithm == b.algorithm && a.digits == b.digits && a.secret == b.secret }
    public func hash(into h: inout Hasher) { h.combine(digits); h.combine(algorithm) }
}

/// TOTP (RFC 6238): HOTP with the counter `floor((t − T0) / X)`.
public struct TOTP: Sendable, Hashable {
    public let hotp: HOTP
    /// Time step X, seconds (default 30).
    public let period: TimeInterval
    /// T0, seconds since 1970 (default 0).
    public let epoch: TimeInterval

    /// - Throws: `OTPError.invalidPeriod`.
    public init(hotp: HOTP, period: TimeInterval = 30, epoch: TimeInterval = 0) throws(OTPError) {
        guard period > 0 else { throw .invalidPeriod(period) }
        self.hotp = hotp
        self.period = period
        self.epoch = epoch
    }

    /// The time-step counter at `time`.
    public func counter(at time: Date) -> UInt64 {
        let t = time.timeIntervalSince1970 - epoch
        return t <= 0 ? 0 : UInt64((t / period).rounded(.down))
    }

    /// The code valid at `time`.
    public func code(at time: Date) throws(OTPError) -> String { try hotp.code(counter: counter(at: time)) }
}

/// A patient's OTP enrolment, keyed by INS (the secret never leaves the store in a description).
public struct OTPEnrolment: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable { case hotp, totp }
    /// The patient's INS (matricule INS or INS-C) the secret is enrolled against.
    public var ins: String
    public var kind: Kind
    public var secret: [UInt8]
    public var digits: Int
    public var algorithm: HashAlgorithm
    /// TOTP time step (s).
    public var period: TimeInterval
    /// HOTP: next counter expected. TOTP: unused.
    public var nextCounter: UInt64
    /// Highest counter already accepted (replay protection), nil before the first use.
    public var lastUsedCounter: UInt64?

    public init(
        ins: String, kind: Kind, secret: [UInt8], digits: Int = 6, algorithm: HashAlgorithm = .sha1,
        period: TimeInterval = 30, nextCounter: UInt64 = 0, lastUsedCounter: UInt64? = nil
    ) {
        self.ins = ins
        self.kind = kind
        self.secret = secret
        self.digits = digits
        self.algorithm = algorithm
        self.period = period
        self.nextCounter = nextCounter
        self.lastUsedCounter = lastUsedCounter
    }

    public var description: String {
        "OTP enrolment (\(kind.rawValue), \(digits) digits, \(algorithm.rawValue), INS …\(ins.suffix(4)))"
    }
}

/// Where OTP enrolments live (a database in the service; memory in tests).
public protocol OTPStore: Sendable {
    func enrolment(ins: String) async -> OTPEnrolment?
    func save(_ enrolment: OTPEnrolment) async
    func remove(ins: String) async
}

/// An in-memory `OTPStore`.
public actor InMemoryOTPStore: OTPStore {
    private var items: [String: OTPEnrolment] = [:]
    public init() {}
    public func enrolment(ins: String) -> OTPEnrolment? { items[ins] }
    public func save(_ enrolment: OTPEnrolment) { items[enrolment.ins] = enrolment }
    public func remove(ins: String) { items[ins] = nil }
}

/// The answer to an OTP check.
public enum OTPOutcome: Sendable, Hashable {
    /// Accepted; the counter (HOTP) or time step (TOTP) that matched.
    case accepted(counter: UInt64)
    /// No code in the window matches.
    case rejected
    /// The code matches a counter already used: a replay, refused.
    case replayed
    /// No secret is enrolled for this INS.
    case notEnrolled
    /// Not `digits` decimal digits.
    case malformed
}

/// Patients' second factor (issue 5 "Patients"): HOTP/TOTP codes checked against the secret enrolled for an INS,
/// within a drift window, each counter accepted once.
public actor OTPVerifier {
    public let store: any OTPStore
    /// TOTP: steps accepted either side of now. HOTP: look-ahead counters after the expected one.
    public let driftWindow: Int

    public init(store: any OTPStore, driftWindow: Int = 1) {
        self.store = store
        self.driftWindow = max(0, driftWindow)
    }

    /// Enrols (or replaces) a secret for `ins`, validating the parameters.
    /// - Throws: `OTPError` for digits, secret length or period out of range.
    public func enrol(_ e: OTPEnrolment) async throws(OTPError) {
        _ = try HOTP(secret: e.secret, digits: e.digits, algorithm: e.algorithm)
        if e.kind == .totp { _ = try TOTP(hotp: try HOTP(secret: e.secret, digits: e.digits, algorithm: e.algorithm), period: e.period) }
        await store.save(e)
    }

    /// Checks `code` for `ins` at `time`; on success records the counter so the same code is refused next time.
    public func verify(ins: String, code: String, at time: Date = Date()) async -> OTPOutcome {
        guard var e = await store.enrolment(ins: ins) else { return .notEnrolled }
        guard code.count == e.digits, code.allSatisfy({ $0.isASCII && $0.isNumber }) else { return .malformed }
        guard let hotp = try? HOTP(secret: e.secret, digits: e.digits, algorithm: e.algorithm, allowShortSecret: true) else {
            return .rejected
        }
        let candidates: [UInt64]
        switch e.kind {
        case .hotp:
            candidates = (0...UInt64(driftWindow)).map { e.nextCounter &+ $0 }
        case .totp:
            guard let totp = try? TOTP(hotp: hotp, period: e.period) else { return .rejected }
            let now = totp.counter(at: time)
            let w = UInt64(driftWindow)
            candidates = Array((now >= w ? now - w : 0)...(now + w))
        }
        var matched: UInt64?
        for c in candidates where (try? hotp.code(counter: c)) == code { matched = c; break }
        // A used code of the window (or the previous ones) is a replay.
        if matched == nil, let last = e.lastUsedCounter {
            let back = e.kind == .hotp ? (last >= UInt64(driftWindow) ? last - UInt64(driftWindow) : 0)...last : (last >= 2 * UInt64(driftWindow) ? last - 2 * UInt64(driftWindow) : 0)...last
            if back.contains(where: { (try? hotp.code(counter: $0)) == code }) { return .replayed }
        }
        guard let c = matched else { return .rejected }
        if let last = e.lastUsedCounter, c <= last { return .replayed }
        e.lastUsedCounter = c
        if e.kind == .hotp { e.nextCounter = c &+ 1 }
        await store.save(e)
        return .accepted(counter: c)
    }
}
