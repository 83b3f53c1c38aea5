import Testing
import Authentication
import CPS
import CardSimulator
import CarteCrypto
import Foundation
import ISO7816

/// A counter that tests read after an async closure ran (how many times the keypad was asked).
final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func hit() { lock.lock(); n += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// Which simulated CPS3 a test runs against.
enum CardSource: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case simulator, testCard
    var testDescription: String { rawValue }
}

enum Fixture {
    static func pki() throws -> TestPKI { try TestPKI.shared() }

    /// A reader holding the CPS card of `persona`: the simulator's CPS3 profile (`CPS3Profile`, branch cpssim) or
    /// this target's `TestCPSCard` (which moves the authentication certificate to a FID only its CDF names).
    static func reader(
        _ source: CardSource = .simulator, _ persona: String, configuration: SimulatedReaderConfiguration = .contact(),
        authCertificate: Certificate? = nil
    ) async throws -> (SimulatedReader, OSCard) {
        let card: OSCard
        switch source {
        case .testCard:
            card = try TestCPSCard.make(persona: persona, pki: try pki(), authCertificateOverride: authCertificate)
        case .simulator:
            let p = try #require(try PersonaFile.bundled().professionals.first { $0.id == persona })
            card = try CPS3Profile.makeCard(persona: p, interface: configuration.kind == .contactless ? .contactless : .contact)
        }
        let reader = SimulatedReader(name: "Test reader \(persona)", configuration: configuration)
        await reader.insert(SharedCard(card))
        return (reader, card)
    }

    static func authenticator(validator: CertificatePathValidator? = nil, at time: Date? = nil) throws -> CPSAuthenticator {
        let v = try validator ?? pki().validator()
        let t = time
        return CPSAuthenticator(
            policy: AuthenticationPolicy(validator: v, now: { t ?? Date() }), certificateCache: CPSCertificateCache())
    }

    /// A keypad closure typing `digits`, counting its calls.
    static func keypad(_ digits: String, _ counter: CallCounter) -> @Sendable () async -> SecretPIN? {
        { counter.hit(); return SecretPIN(testDigits: digits) }
    }
}

/// Wraps a transport and rewrites commands or switches cards: the tampering transports of issue 5's negative cases.
final class TamperingTransport: CardTransport, @unchecked Sendable {
    let inner: any CardTransport
    let other: (any CardTransport)?
    private let lock = NSLock()
    private var swapped = false
    /// Flip a byte of INTERNAL AUTHENTICATE data (the card signs another challenge).
    let alterChallenge: Bool
    /// After a successful VERIFY, send everything to `other`.
    let swapAfterVerify: Bool
    /// After a successful VERIFY, the next command fails with `cardReset` (PC/SC SCARD_W_RESET_CARD); with `other`,
    /// the reconnection then reaches the other card.
    let resetAfterVerify: Bool
    private var pendingReset = false

    init(
        _ inner: any CardTransport, other: (any CardTransport)? = nil, alterChallenge: Bool = false,
        swapAfterVerify: Bool = false, resetAfterVerify: Bool = false
    ) {
        self.resetAfterVerify = resetAfterVerify
        self.inner = inner
        self.other = other
        self.alterChallenge = alterChallenge
        self.swapAfterVerify = swapAfterVerify
    }

    var readerName: String { inner.readerName }
    var capabilities: ReaderCapabilities { get async { await inner.capabilities } }
    private var current: any CardTransport {
        lock.lock(); defer { lock.unlock() }
        return swapped ? (other ?? inner) : inner
    }

    func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        if lock.withLock({ swapped }), let other { return try await other.connect(preferred: preferred) }
        if let other { _ = try await other.connect(preferred: preferred) }
        return try await inner.connect(preferred: preferred)
    }

    func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] {
        if lock.withLock({ () -> Bool in let p = pendingReset; pendingReset = false; if p && other != nil { swapped = true }; return p }) {
            throw .cardReset
        }
        var c = command
        if alterChallenge, c.count > 10, c[1] == 0x88 { c[c.count - 2] ^= 0x01 }
        let r = try await current.transmit(c)
        if swapAfterVerify, command.count > 5, command[1] == 0x20, r.suffix(2) == [0x90, 0x00] {
            lock.withLock { swapped = true }
        }
        if resetAfterVerify, command.count > 5, command[1] == 0x20, r.suffix(2) == [0x90, 0x00] {
            lock.withLock { pendingReset = true }
        }
        return r
    }

    func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] {
        try await current.control(code: code, data: data)
    }
    func beginTransaction() async throws(TransportError) {}
    func endTransaction() async {}
    func disconnect(_ disposition: CardDisposition) async { await inner.disconnect(disposition) }
}

/// Lets a test keep a reference to the card it inserted (to read its try counters); the reader serialises calls.
final class SharedCard: ContactlessCapableCard, @unchecked Sendable {
    let card: OSCard
    init(_ card: OSCard) { self.card = card }
    var atr: [UInt8] { card.atr }
    var contactless: ContactlessInterface? { card.contactless }
    var hasContactInterface: Bool { card.hasContactInterface }
    func powerOn() { card.powerOn() }
    func powerOff() { card.powerOff() }
    func reset() { card.reset() }
    func process(_ command: [UInt8]) -> [UInt8] { card.process(command) }
}
