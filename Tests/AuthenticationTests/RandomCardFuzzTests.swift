import Authentication
import CPS
import Foundation
import ISO7816
import Testing

/// A card that answers every command with random bytes (often a plausible status word): the session and the
/// authenticator must always end with a value or a typed error, never a crash or an endless loop.
final class RandomCardTransport: CardTransport, @unchecked Sendable {
    let readerName = "Random card"
    private let lock = NSLock()
    private var rng: SplitMix64
    private var count = 0
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    private func next() -> UInt64 {
        lock.withLock { rng.next() }
    }

    var capabilities: ReaderCapabilities { get async { ReaderCapabilities() } }
    func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        CardConnectionInfo(
            atr: [0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90, 0x00],
            activeProtocol: .t0)
    }
    func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] {
        let n = lock.withLock { count += 1; return count }
        if n > 400 { throw .cardRemoved }
        let r = next()
        let sws: [[UInt8]] = [[0x90, 0x00], [0x61, UInt8(r >> 8 & 0xFF)], [0x6C, UInt8(r >> 16 & 0xFF)], [0x6A, 0x82],
            [0x63, 0xC0 | UInt8(r >> 24 & 0x03)], [0x69, 0x83], [0x6A, 0x88], [0x69, 0x82], [0x62, 0x82]]
        let sw = sws[Int(r % UInt64(sws.count))]
        let len = Int(next() % 300)
        var data: [UInt8] = (0..<len).map { _ in UInt8(truncatingIfNeeded: next()) }
        if next() % 4 == 0, !data.isEmpty { data[0] = 0x30 }
        return data + sw
    }
    func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] { throw .notSupported("none") }
    func beginTransaction() async throws(TransportError) {}
    func endTransaction() async {}
    func disconnect(_ disposition: CardDisposition) async {}
}

@Suite("Random card answers never crash the CPS session or the authenticator")
struct RandomCardFuzzTests {
    @Test func fuzz() async throws {
        let validator = try Fixture.pki().validator()
        for seed in UInt64(1)...150 {
            let t = RandomCardTransport(seed: seed &* 0x5EED)
            if let s = try? await CPSSession.connect(t, certificateCache: CPSCertificateCache()) {
                _ = try? await s.read()
            }
            let auth = CPSAuthenticator(policy: AuthenticationPolicy(validator: validator), certificateCache: CPSCertificateCache())
            let r = await auth.authenticate(transport: RandomCardTransport(seed: seed), keypad: { SecretPIN(testDigits: "1234") })
            #expect(r.outcome != .authenticated)
        }
    }
}
