import ISO7816

/// Which interface of a card a reader talks to.
public enum CardInterface: String, Sendable, Hashable {
    case contact, contactless
}

/// Everything a profile needs to build a card: the persona file (for the site key, PKI names) and the options.
public struct CardBuildContext: Sendable {
    public var personas: PersonaFile
    public var interface: CardInterface
    public var t0Mode: T0Mode
    public init(personas: PersonaFile, interface: CardInterface = .contact, t0Mode: T0Mode = .auto) {
        self.personas = personas
        self.interface = interface
        self.t0Mode = t0Mode
    }
}

/// One persona of any kind.
public enum AnyPersona: Sendable {
    case patient(PatientPersona)
    case professional(ProfessionalPersona)
    case badge(BadgePersona)

    public var id: String {
        switch self {
        case .patient(let p): return p.id
        case .professional(let p): return p.id
        case .badge(let b): return b.id
        }
    }

    /// The persona's `card` field (`vitale1`, `vitale2`, `cps3`, `desfire-ev1`, `iso14443a-uid`).
    public var cardKind: String {
        switch self {
        case .patient(let p): return p.card
        case .professional(let p): return p.card
        case .badge(let b): return b.card
        }
    }
}

/// A card profile: builds a virtual card from a persona. Adding a profile is one `register` line
/// (e.g. `CardProfiles.register("cps3") { persona, ctx in … }` in the CPS3 profile file, called from
/// `CardProfiles.builtIn`).
public typealias CardProfileBuilder = @Sendable (AnyPersona, CardBuildContext) -> (any VirtualCard)?

/// The table of card profiles by the persona's `card` kind.
public enum CardProfiles {
    /// Built-in profiles. Other engineers add their line here (one per profile).
    static let builtIn: [String: CardProfileBuilder] = [
        "vitale2": { p, ctx in
            guard case .patient(let pp) = p else { return nil }
            return Vitale2Profile.makeCard(persona: pp, t0Mode: ctx.t0Mode)
        },
        "vitale1": { p, _ in
            guard case .patient(let pp) = p else { return nil }
            return Vitale1Card(persona: pp)
        },
        "cps3": CPS3Profile.builder,
        "desfire-ev1": { p, ctx in DESFireCard.makeCard(persona: p, context: ctx) },
        "iso14443a-uid": { p, ctx in UIDOnlyCard.makeCard(persona: p, context: ctx) },
    ]

    nonisolated(unsafe) static var registered: [String: CardProfileBuilder] = [:]
    static let lock = SimulatorLock()

    /// Registers (or replaces) the builder for a card kind at run time (tests, plug-ins).
    public static func register(_ kind: String, _ builder: @escaping CardProfileBuilder) {
        lock.withLock { registered[kind] = builder }
    }

    /// Removes a run-time registration, so the built-in profile (if any) applies again.
    public static func unregister(_ kind: String) {
        lock.withLock { registered[kind] = nil }
    }

    /// The builder for a card kind, if any.
    public static func builder(for kind: String) -> CardProfileBuilder? {
        lock.withLock { registered[kind] } ?? builtIn[kind]
    }

    /// A card with the persona's ATR that answers `6D 00` to everything: the stand-in while a profile is missing.
    public static func placeholder(for persona: AnyPersona, interface: CardInterface) -> any VirtualCard {
        switch persona {
        case .patient(let p): return MuteApplicationCard(atr: p.atrBytes)
        case .professional(let p):
            let contactATR: [UInt8] = [0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90, 0x00]
            let clHistorical: [UInt8] = [0x00, 0x31, 0xB8, 0x64, 0x04, 0xB0, 0xEC, 0xC1, 0x73, 0x94, 0x01, 0x80, 0x82, 0x90, 0x00]
            let cl = p.interfaces.contains("contactless") ? ContactlessInterface(uid: nil, historicalBytes: clHistorical) : nil
            return MuteApplicationCard(atr: contactATR, contactless: cl, hasContactInterface: p.interfaces.contains("contact"))
        case .badge(let b):
            let historical = ATRInfo(b.atrBytes)?.historicalBytes ?? []
            return MuteApplicationCard(
                atr: b.atrBytes, contactless: ContactlessInterface(uid: b.uidBytes, historicalBytes: historical),
                hasContactInterface: false)
        }
    }
}

/// A tiny lock over a pthread mutex, for the few global tables of the simulator.
final class SimulatorLock: @unchecked Sendable {
    private let m = PThreadMutex()
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        m.lock()
        defer { m.unlock() }
        return try body()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class PThreadMutex: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    func lock() { pthread_mutex_lock(&m) }
    func unlock() { pthread_mutex_unlock(&m) }
}
