import Foundation
import ISO7816

/// The personas of `../shared/fixtures/personas.json` (bundled as a resource) turned into virtual cards.
///
/// Placeholder until the simulator's card profiles land: cards carry their persona's ATR and answer
/// `6D 00` (instruction not supported) to every command.
public enum PersonaCatalog {
    /// Errors when a persona cannot be found or built.
    public enum CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownPersona(String)
        case fixtureUnreadable(String)
        public var description: String {
            switch self {
            case .unknownPersona(let id): return "unknown persona '\(id)' (see carte simulate --list)"
            case .fixtureUnreadable(let why): return "the personas fixture cannot be read: \(why)"
            }
        }
    }

    /// Persona identifiers, in the fixture's order (patients, professionals, badges).
    public static func personaIDs() throws(CatalogError) -> [String] {
        try entries().map(\.id)
    }

    /// Builds a fresh virtual card for the persona `id`.
    public static func makeCard(persona id: String) throws(CatalogError) -> any VirtualCard {
        guard let e = try entries().first(where: { $0.id == id }) else { throw .unknownPersona(id) }
        return PlaceholderCard(atr: e.atr)
    }

    struct Entry { var id: String; var atr: [UInt8] }

    static func entries() throws(CatalogError) -> [Entry] {
        guard let url = Bundle.module.url(forResource: "personas", withExtension: "json"),
            let data = try? Data(contentsOf: url),
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { throw .fixtureUnreadable("personas.json missing or not JSON") }
        var out: [Entry] = []
        for key in ["patients", "professionals", "badges"] {
            for p in (json[key] as? [[String: Any]]) ?? [] {
                guard let id = p["id"] as? String else { continue }
                var atrHex = p["atr"] as? String
                if atrHex == nil, let ifs = p["interfaces"] as? [String: Any],
                    let contact = ifs["contact"] as? [String: Any]
                {
                    atrHex = contact["atr"] as? String
                }
                out.append(Entry(id: id, atr: [UInt8](hex: atrHex ?? "3B 00") ?? [0x3B, 0x00]))
            }
        }
        return out
    }
}

final class PlaceholderCard: VirtualCard {
    let atr: [UInt8]
    init(atr: [UInt8]) { self.atr = atr }
    func powerOn() {}
    func powerOff() {}
    func reset() {}
    func process(_ command: [UInt8]) -> [UInt8] { [0x6D, 0x00] }
}
