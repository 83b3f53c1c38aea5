/// Reader profiles: real readers' CCID class descriptor values and their quirks, as data in one place
/// (`architecture.md`, "Quirks live in one place"). Values from the public descriptor dumps of the CCID driver's
/// `readers/*.txt` (cited per entry); the simulated device uses them too.

/// A per-reader deviation the driver must respect.
public enum CCIDQuirk: String, Sendable, Hashable, CaseIterable {
    /// Power on with bPowerSelect = automatic only; never retry 5 V / 3 V / 1.8 V.
    case automaticVoltageOnly
    /// The reader cannot run PC_to_RDR_Secure although bPINSupport says so: no pinpad is reported.
    case noSecureCommand
}

/// A known reader: USB identity, its CCID class descriptor, quirks.
public struct CCIDReaderProfile: Sendable, Hashable {
    /// A short identifier (`ingenico-leo`, …).
    public var id: String
    /// The product name users know.
    public var name: String
    public var vendorID: UInt16
    public var productID: UInt16
    public var descriptor: CCIDClassDescriptor
    public var quirks: Set<CCIDQuirk>
    /// Where the values come from.
    public var source: String

    public init(id: String, name: String, vendorID: UInt16, productID: UInt16, descriptor: CCIDClassDescriptor,
                quirks: Set<CCIDQuirk> = [], source: String) {
        self.id = id
        self.name = name
        self.vendorID = vendorID
        self.productID = productID
        self.descriptor = descriptor
        self.quirks = quirks
        self.source = source
    }
}

extension CCIDReaderProfile {
    /// Ingenico Leo: short-APDU level pinpad reader, PIN verify + modify (dwFeatures 0x000204BA, bPINSupport 0x03,
    /// dwMaxCCIDMessageLength 356, 2×16 LCD). Source: CCID `readers/Ingenico_Leo.txt`.
    public static let ingenicoLeo = CCIDReaderProfile(
        id: "ingenico-leo", name: "INGENICO CCID Smart Card Reader (Leo)", vendorID: 0x0F14, productID: 0x003B,
        descriptor: CCIDClassDescriptor(
            bcdCCID: 0x0110, voltageSupport: 0x07, protocols: 0x03, defaultClockKHz: 4000, maximumClockKHz: 4000,
            dataRate: 9600, maxDataRate: 230400, numDataRatesSupported: 11, maxIFSD: 254, features: 0x0002_04BA,
            maxMessageLength: 356, classGetResponse: 0xFF, classEnvelope: 0xFF, lcdLayout: 0x0210, pinSupport: 0x03),
        source: "CCID readers/Ingenico_Leo.txt")

    /// Gemplus GemPC Twin: TPDU-level reader without automatic PPS nor IFSD exchange (dwFeatures 0x00010230):
    /// the host runs T=0/T=1, PPS and SetParameters. Source: CCID `readers/GemPCTwin.txt`.
    public static let gemPCTwin = CCIDReaderProfile(
        id: "gempc-twin", name: "Gemplus USB SmartCard Reader (GemPC Twin)", vendorID: 0x08E6, productID: 0x3437,
        descriptor: CCIDClassDescriptor(
            bcdCCID: 0x0100, voltageSupport: 0x07, protocols: 0x03, defaultClockKHz: 4000, maximumClockKHz: 4000,
            dataRate: 10752, maxDataRate: 344086, maxIFSD: 254, features: 0x0001_0230, maxMessageLength: 271,
            classGetResponse: 0x00, classEnvelope: 0x00, pinSupport: 0x00),
        source: "CCID readers/GemPCTwin.txt")

    /// ACS ACR39U: TPDU-level reader that makes PPS itself (dwFeatures 0x000100B2, dwMaxIFSD 247).
    /// Source: CCID `readers/ACS_ACR39U_ICC_Reader.txt`.
    public static let acr39U = CCIDReaderProfile(
        id: "acr39u", name: "ACS ACR39U ICC Reader", vendorID: 0x072F, productID: 0xB100,
        descriptor: CCIDClassDescriptor(
            bcdCCID: 0x0110, voltageSupport: 0x07, protocols: 0x03, defaultClockKHz: 4800, maximumClockKHz: 16000,
            dataRate: 12903, maxDataRate: 826000, maxIFSD: 247, features: 0x0001_00B2, maxMessageLength: 271,
            classGetResponse: 0xFF, classEnvelope: 0xFF, pinSupport: 0x00),
        source: "CCID readers/ACS_ACR39U_ICC_Reader.txt")

    /// A short + extended APDU level reader (dwFeatures 0x000406FE as in the CCID driver's dumps of such readers)
    /// with a small dwMaxCCIDMessageLength (271) so that extended APDUs are chained with wLevelParameter.
    /// Synthetic combination for tests: no single real model is claimed.
    public static let extendedAPDUReader = CCIDReaderProfile(
        id: "extended-apdu", name: "Carte test reader (short + extended APDU)", vendorID: 0x0000, productID: 0x0000,
        descriptor: CCIDClassDescriptor(
            bcdCCID: 0x0110, voltageSupport: 0x07, protocols: 0x03, maxIFSD: 254, features: 0x0004_06FE,
            maxMessageLength: 271, pinSupport: 0x00),
        source: "synthetic, modelled on dwFeatures 0x000406FE dumps")

    /// Every known profile.
    public static let all: [CCIDReaderProfile] = [.ingenicoLeo, .gemPCTwin, .acr39U, .extendedAPDUReader]

    /// The profile of a USB device, if known.
    public static func matching(vendorID: UInt16, productID: UInt16) -> CCIDReaderProfile? {
        all.first { $0.vendorID == vendorID && $0.productID == productID && $0.vendorID != 0 }
    }
}
