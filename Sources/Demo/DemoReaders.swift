import CardSimulator
import Foundation
import ISO7816

/// The three reader roles of the demo (a terminal's configuration names the same roles, issue 6).
public enum DemoReaderRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// The professional's reader: a contact reader with a PIN pad (PC/SC v2 part 10).
    case professional
    /// The patient's reader: a contact reader for the carte Vitale.
    case patient
    /// The badge reader: ISO/IEC 14443 contactless.
    case badge
}

/// One reader of the demo, whatever backs it (an in-process `SimulatedReader`, or pcscd through vpcd).
public protocol DemoReader: Sendable {
    /// The reader name as PC/SC would list it.
    var name: String { get }
    /// The reader as a `CardTransport` (the stack's modules talk to it).
    var transport: any CardTransport { get }
    /// True when the reader has its own PIN pad (then the PIN is typed there and never reaches the host).
    var hasPinpad: Bool { get async }
    /// Puts a fresh card of `persona` in the reader (any previous card is taken out first).
    func insert(persona: String) async throws(DemoSetupError)
    /// Takes the card out.
    func remove() async
    /// Scripts what the person will type on the reader's PIN pad when it next asks for a PIN (a simulated pinpad
    /// only); replaces what was scripted before, so nothing is left typed ahead when no PIN was asked.
    func scriptPinpad(_ entries: [KeypadEntry]) async
    /// Wire statistics accumulated so far (nil when the backend cannot measure them).
    func wireStatistics() async -> WireStatistics?
}

/// The demo's three readers.
public protocol DemoReaderSet: Sendable {
    /// `simulated` or `pcsc`.
    var backend: String { get }
    func reader(_ role: DemoReaderRole) -> any DemoReader
    /// Stops what the set started (bridges, connections). Idempotent.
    func shutdown() async
}

/// Why the demo could not set up its readers or cards.
public enum DemoSetupError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The persona is not in personas.json, or its card cannot be built.
    case persona(String)
    /// The test PKI could not be loaded or created.
    case testPKI(String)
    /// A backend (pcscd, vpcd) is not there or failed.
    case backend(String)
    /// This build does not have what the backend needs.
    case notAvailable(String)

    public var description: String {
        switch self {
        case .persona(let s): return "cannot put the simulated card in the reader: \(s)"
        case .testPKI(let s): return "cannot prepare the test PKI: \(s)"
        case .backend(let s): return s
        case .notAvailable(let s): return s
        }
    }
}

// MARK: - In-process simulated readers

/// An in-process `SimulatedReader` playing one role. Its transport is a `PinpadTypist` in front of the reader, so
/// the scripted PIN is typed on the simulated keypad only when the reader asks for one.
public struct SimulatedDemoReader: DemoReader {
    public let reader: SimulatedReader
    let typist: PinpadTypist

    public init(_ reader: SimulatedReader) {
        self.reader = reader
        self.typist = PinpadTypist(reader)
    }

    public var name: String { reader.readerName }
    public var transport: any CardTransport { typist }
    public var hasPinpad: Bool { reader.configuration.pinpad != nil }

    public func insert(persona: String) async throws(DemoSetupError) {
        do { try await reader.insert(persona: persona) } catch { throw .persona(error.description) }
    }

    public func remove() async { await reader.remove() }

    public func scriptPinpad(_ entries: [KeypadEntry]) async { typist.willType(entries) }

    public func wireStatistics() async -> WireStatistics? { await reader.statistics }
}

/// The person standing at a simulated pinpad reader: a `CardTransport` that forwards every call to the reader and,
/// when the reader is told to collect a PIN (VERIFY_PIN_DIRECT, PC/SC v2 part 10 §2.5.2), types the scripted
/// entry on its keypad at that moment, as at a real pinpad. The VERIFY_PIN_DIRECT ioctl is learnt from the
/// GET_FEATURE_REQUEST answer passing through (nobody may hard-code it). Holds `KeypadEntry` values only, whose
/// digits never print.
final class PinpadTypist: CardTransport, @unchecked Sendable {
    let reader: SimulatedReader
    private let lock = NSLock()
    private var pending: [KeypadEntry] = []
    private var verifyCode: UInt32?

    init(_ reader: SimulatedReader) { self.reader = reader }

    /// What the person types at the next PIN prompt (replaces anything scripted before).
    func willType(_ entries: [KeypadEntry]) { lock.withLock { pending = entries } }

    var readerName: String { reader.readerName }
    var capabilities: ReaderCapabilities { get async { await reader.capabilities } }

    func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        try await reader.connect(preferred: preferred)
    }

    func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] { try await reader.transmit(command) }

    func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] {
        let typed: [KeypadEntry] = lock.withLock {
            guard let v = verifyCode, v == code, !pending.isEmpty else { return [] }
            return [pending.removeFirst()]
        }
        if !typed.isEmpty { await reader.enqueueKeypad(typed) }
        let answer = try await reader.control(code: code, data: data)
        if code == ISO7816.PCSCPart10.getFeatureRequest, let list = try? PCSCFeatureList(parsing: answer) {
            lock.withLock { verifyCode = list[.verifyPINDirect] }
        }
        return answer
    }

    func beginTransaction() async throws(TransportError) { try await reader.beginTransaction() }
    func endTransaction() async { await reader.endTransaction() }
    func disconnect(_ disposition: CardDisposition) async { await reader.disconnect(disposition) }
}

/// The three in-process simulated readers: "Carte demo pinpad reader" (contact with PIN pad), "Carte demo
/// patient reader" (contact), "Carte demo contactless reader" (ISO/IEC 14443), held in a `VirtualReaderSet`.
public struct SimulatedDemoReaderSet: DemoReaderSet {
    public let set: VirtualReaderSet
    let readers: [DemoReaderRole: SimulatedDemoReader]

    public var backend: String { "simulated" }

    /// Reader names by role.
    public static let names: [DemoReaderRole: String] = [
        .professional: "Carte demo pinpad reader 00 00",
        .patient: "Carte demo patient reader 01 00",
        .badge: "Carte demo contactless reader 02 00",
    ]

    /// Creates the three readers.
    public static func make() async -> SimulatedDemoReaderSet {
        let set = VirtualReaderSet()
        let pro = await set.addReader(name: names[.professional]!, configuration: .pinpad())
        let patient = await set.addReader(name: names[.patient]!, configuration: .contact())
        let badge = await set.addReader(name: names[.badge]!, configuration: .contactless())
        return SimulatedDemoReaderSet(
            set: set,
            readers: [
                .professional: SimulatedDemoReader(pro), .patient: SimulatedDemoReader(patient),
                .badge: SimulatedDemoReader(badge),
            ])
    }

    public func reader(_ role: DemoReaderRole) -> any DemoReader { readers[role]! }

    /// The simulated reader of `role` (tests look at its transcript).
    public func simulatedReader(_ role: DemoReaderRole) -> SimulatedReader { readers[role]!.reader }

    public func shutdown() async {
        for r in readers.values { await r.remove() }
    }
}
