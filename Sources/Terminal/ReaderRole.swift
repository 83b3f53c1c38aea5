// Compiled alone into the fuzz targets `config` and `api-json` (scripts/fuzz.sh): Swift standard library only.

/// The job a reader does on a terminal, set per reader in the configuration (`readers[].role`).
public enum ReaderRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// The professional's CPS card (contact, PIN on the pinpad or through the API).
    case professional
    /// The patient's carte Vitale.
    case patient
    /// Contactless badges (DESFire, tap & go).
    case badge
}

/// A reader as the event source reports it when it appears.
public struct ReaderDescriptor: Sendable, Hashable, Codable {
    /// The PC/SC reader name (or the simulated reader's name).
    public var name: String
    /// The reader has a PIN pad (PC/SC v2 part 10 FEATURE_VERIFY_PIN_DIRECT).
    public var hasPinpad: Bool
    /// The slot is ISO/IEC 14443 (contactless).
    public var isContactless: Bool

    public init(name: String, hasPinpad: Bool = false, isContactless: Bool = false) {
        self.name = name
        self.hasPinpad = hasPinpad
        self.isContactless = isContactless
    }
}
