import CCID
import CardSimulator
import ISO7816

/// A simulated USB CCID reader ready to use: the simulated device (`CCIDSimulatedDevice`) hosting a virtual card,
/// and the host driver (`CCIDSlotTransport`) talking to it through the same transfer boundary as real USB.
/// This is what `carte … --transport usb-sim` selects.
public struct CCIDSimulatedReader: Sendable {
    /// The reader models the simulator offers.
    public enum Level: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Short-APDU level pinpad reader (Ingenico Leo profile, dwFeatures 0x000204BA, bPINSupport 0x03).
        case apdu
        /// Short + extended APDU level reader (chaining with wLevelParameter).
        case extendedAPDU = "extended-apdu"
        /// TPDU-level reader (GemPC Twin profile, dwFeatures 0x00010230): the host runs T=0/T=1, PPS, IFSD.
        case tpdu

        public var profile: CCIDReaderProfile {
            switch self {
            case .apdu: return .ingenicoLeo
            case .extendedAPDU: return .extendedAPDUReader
            case .tpdu: return .gemPCTwin
            }
        }

        public var description: String { rawValue }
    }

    /// The host side: a `CardTransport` every card application can use.
    public let transport: CCIDSlotTransport
    /// The device side, for test scripting (faults, pinpad, card insertion/removal, transcripts).
    public let device: CCIDSimulatedDevice
    public let profile: CCIDReaderProfile

    /// A simulated reader of `profile` hosting `card`.
    /// - Parameters: `timeouts` for the host; the device and host share a manual clock (no real waiting).
    public static func make(card: sending (any VirtualCard)?, profile: CCIDReaderProfile,
                            timeouts: CCIDTimeouts = CCIDTimeouts()) -> CCIDSimulatedReader {
        let clock = CCIDManualClock()
        let device = CCIDSimulatedDevice(descriptor: profile.descriptor, card: card, clock: clock)
        let transport = CCIDSlotTransport(
            port: device, descriptor: profile.descriptor, slot: 0, readerName: "\(profile.name) [simulated]",
            quirks: profile.quirks, timeouts: timeouts, clock: clock)
        return CCIDSimulatedReader(transport: transport, device: device, profile: profile)
    }

    /// A simulated reader at `level` hosting the virtual card of persona `persona`
    /// (`../shared/fixtures/personas.json`).
    /// - Throws: `PersonaCatalog.CatalogError` when the persona is unknown.
    public static func make(persona: String, level: Level = .apdu) throws(PersonaCatalog.CatalogError)
        -> CCIDSimulatedReader
    {
        let card = try PersonaCatalog.makeCard(persona: persona)
        return make(card: card, profile: level.profile)
    }
}
