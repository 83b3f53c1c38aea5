import Authentication
import CarteCrypto
import Foundation
import Testing

@Suite("HOTP/TOTP for patients (RFC 4226, RFC 6238)")
struct OneTimePasswordTests {
    static let seed20 = Array("12345678901234567890".utf8)
    static let seed32 = Array("12345678901234567890123456789012".utf8)
    static let seed64 = Array("1234567890123456789012345678901234567890123456789012345678901234".utf8)

    @Test("RFC 4226 appendix D: counters 0…9")
    func hotpVectors() throws {
        let h = try HOTP(secret: Self.seed20, digits: 6, algorithm: .sha1)
        let expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
        for (c, code) in expected.enumerated() { #expect(try h.code(counter: UInt64(c)) == code) }
    }

    @Test("RFC 6238 appendix B: SHA-1/256/512, 8 digits", arguments: [
        (59.0, "94287082", "46119246", "90693936"),
        (1111111109.0, "07081804", "68084774", "25091201"),
        (1111111111.0, "14050471", "67062674", "99943326"),
        (1234567890.0, "89005924", "91819424", "93441116"),
        (2000000000.0, "69279037", "90698825", "38618901"),
        (20000000000.0, "65353130", "77737706", "47863826"),
    ])
    func totpVectors(time: Double, sha1: String, sha256: String, sha512: String) throws {
        let t = Date(timeIntervalSince1970: time)
        #expect(try TOTP(hotp: HOTP(secret: Self.seed20, digits: 8, algorithm: .sha1)).code(at: t) == sha1)
        #expect(try TOTP(hotp: HOTP(secret: Self.seed32, digits: 8, algorithm: .sha256)).code(at: t) == sha256)
        #expect(try TOTP(hotp: HOTP(secret: Self.seed64, digits: 8, algorithm: .sha512)).code(at: t) == sha512)
    }

    @Test("parameters out of range are refused")
    func refusals() {
        #expect(throws: OTPError.invalidDigits(5)) { try HOTP(secret: Self.seed20, digits: 5) }
        #expect(throws: OTPError.invalidDigits(9)) { try HOTP(secret: Self.seed20, digits: 9) }
        #expect(throws: OTPError.secretTooShort(10)) { try HOTP(secret: Array(Self.seed20.prefix(10))) }
        #expect(throws: OTPError.invalidPeriod(0)) { try TOTP(hotp: HOTP(secret: Self.seed20), period: 0) }
    }

    static let ins = "1680175056123381234567"  // a synthetic 22-digit INS-C

    @Test("TOTP: drift window of one step, replay of a used code refused, not enrolled, malformed")
    func totpVerifier() async throws {
        let v = OTPVerifier(store: InMemoryOTPStore(), driftWindow: 1)
        try await v.enrol(OTPEnrolment(ins: Self.ins, kind: .totp, secret: Self.seed20, digits: 8))
        let t = Date(timeIntervalSince1970: 1111111111)
        // The code of the previous step (1111111109 is step 37037036, 1111111111 is step 37037037).
        #expect(await v.verify(ins: Self.ins, code: "07081804", at: t) == .accepted(counter: 37_037_036))
        #expect(await v.verify(ins: Self.ins, code: "07081804", at: t) == .replayed)
        #expect(await v.verify(ins: Self.ins, code: "14050471", at: t) == .accepted(counter: 37_037_037))
        #expect(await v.verify(ins: Self.ins, code: "14050471", at: t + 30) == .replayed)
        // A used code is still a replay later on.
        #expect(await v.verify(ins: Self.ins, code: "14050471", at: t + 90) == .replayed)
        // A fresh code two steps away: outside the window.
        let fresh = OTPVerifier(store: InMemoryOTPStore(), driftWindow: 1)
        try await fresh.enrol(OTPEnrolment(ins: Self.ins, kind: .totp, secret: Self.seed20, digits: 8))
        #expect(await fresh.verify(ins: Self.ins, code: "14050471", at: t + 90) == .rejected)
        #expect(await fresh.verify(ins: Self.ins, code: "14050471", at: t - 30) == .accepted(counter: 37_037_037))
        #expect(await v.verify(ins: "0000000000000000000000", code: "14050471", at: t) == .notEnrolled)
        #expect(await v.verify(ins: Self.ins, code: "1405047", at: t) == .malformed)
        #expect(await v.verify(ins: Self.ins, code: "1405047a", at: t) == .malformed)
    }

    @Test("HOTP: look-ahead window, counter advances, replay refused")
    func hotpVerifier() async throws {
        let v = OTPVerifier(store: InMemoryOTPStore(), driftWindow: 2)
        try await v.enrol(OTPEnrolment(ins: Self.ins, kind: .hotp, secret: Self.seed20, digits: 6))
        #expect(await v.verify(ins: Self.ins, code: "755224") == .accepted(counter: 0))
        #expect(await v.verify(ins: Self.ins, code: "755224") == .replayed)
        // Counter 3 is within 1 + 2.
        #expect(await v.verify(ins: Self.ins, code: "969429") == .accepted(counter: 3))
        #expect(await v.verify(ins: Self.ins, code: "287082") == .replayed)
        // Counter 9 is too far ahead of 4.
        #expect(await v.verify(ins: Self.ins, code: "520489") == .rejected)
    }

    @Test("an enrolment's description shows no secret")
    func description() {
        let e = OTPEnrolment(ins: Self.ins, kind: .totp, secret: Self.seed20)
        #expect(!e.description.contains("1234567890"))
        #expect(e.description.contains("4567") && !e.description.contains(Self.ins))
    }
}
