import Foundation
import ISO7816

/// The personas of `../shared/fixtures/personas.json` (bundled as a resource) turned into virtual cards through
/// the registered card profiles (`CardProfiles`). Personas whose profile is not there yet get a card with the right
/// ATR that answers `6D 00`.
public enum PersonaCatalog {
    /// Errors when a persona cannot be found or built.
    public enum CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownPersona(String)
        case fixtureUnreadable(String)
        case interfaceUnavailable(persona: String, interface: String)
        public var description: String {
            switch self {
            case .unknownPersona(let id): return "unknown persona '\(id)' (see carte simulate --list)"
            case .fixtureUnreadable(let why): return "the personas fixture cannot be read: \(why)"
            case .interfaceUnavailable(let id, let i): return "persona '\(id)' has no \(i) interface"
            }
        }
    }

    nonisolated(unsafe) static var cached: PersonaFile?
    static let cacheLock = SimulatorLock()

    /// The decoded personas (read once).
    public static func personas() throws(CatalogError) -> PersonaFile {
        if let c = cacheLock.withLock({ cached }) { return c }
        let f = try PersonaFile.bundled()
        cacheLock.withLock { cached = f }
        return f
    }

    /// Persona identifiers, in the fixture's order (patients, professionals, badges).
    public static func personaIDs() throws(CatalogError) -> [String] {
        try allPersonas().map(\.id)
    }

    /// All personas, in the fixture's order.
    public static func allPersonas() throws(CatalogError) -> [AnyPersona] {
        let f = try personas()
        return f.patients.map(AnyPersona.patient) + f.professionals.map(AnyPersona.professional)
            + f.badges.map(AnyPersona.badge)
    }

    /// The persona `id`.
    public static func persona(_ id: String) throws(CatalogError) -> AnyPersona {
        guard let p = try allPersonas().first(where: { $0.id == id }) else { throw .unknownPersona(id) }
        return p
    }

    /// Builds a fresh virtual card for the persona `id` (contact interface, `auto` T=0 mode).
    public static func makeCard(persona id: String) throws(CatalogError) -> any VirtualCard {
        try makeCard(persona: id, interface: .contact, t0Mode: .auto)
    }

    /// Builds a fresh virtual card for the persona `id`.
    /// - Parameters:
    ///   - interface: `.contactless` for the CL personality of a dual-interface card.
    ///   - t0Mode: `.auto` or `.strictT0` (ISO profiles only).
    /// - Throws: `CatalogError.unknownPersona`, `.fixtureUnreadable`.
    public static func makeCard(persona id: String, interface: CardInterface, t0Mode: T0Mode = .auto)
        throws(CatalogError) -> any VirtualCard
    {
        let p = try persona(id)
        let ctx = CardBuildContext(personas: try personas(), interface: interface, t0Mode: t0Mode)
        if let build = CardProfiles.builder(for: p.cardKind), let card = build(p, ctx) { return card }
        return CardProfiles.placeholder(for: p, interface: interface)
    }
}
