import ISO7816

/// A simulated ISO/IEC 14443-A "UID-only" badge (MIFARE Classic 1K style storage card) as a PC/SC contactless
/// reader presents it (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §7.1, §7.2).
///
/// The card has no ISO/IEC 14443-4 (ISO-DEP) layer, so it cannot process APDUs at all: everything a host sends
/// goes to the reader. The contactless virtual reader answers the PC/SC part 3 Get UID pseudo-APDU
/// (`FF CA 00 00 00`) itself from `uid`; whatever reaches this card is answered the way a PC/SC reader answers
/// for a storage card it cannot forward to:
/// - CLA `FF` (a reader pseudo-APDU the reader did not handle: Load Keys, General Authenticate, Read Binary… are
///   not simulated) → `6D 00` instruction not supported;
/// - any other CLA (an ISO/IEC 7816-4 or DESFire command) → `6E 00` class not supported;
/// - fewer than 4 bytes → `67 00`.
///
/// A UID is not a secret and can be cloned: it never authenticates anybody (persona `uid-visitor`).
public final class UIDOnlyCard: VirtualCard {
    public let atr: [UInt8]
    /// The 4-, 7- or 10-byte UID (ISO/IEC 14443-3) the reader returns to `FF CA 00 00 00`.
    public let uid: [UInt8]

    /// - Parameters: `uid` 4/7/10 bytes; `atr` the PC/SC part 3 storage-card ATR, e.g.
    ///   `3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A` for a MIFARE Classic 1K.
    public init(uid: [UInt8], atr: [UInt8]) {
        self.uid = uid
        self.atr = atr
    }

    /// Why a UID-only persona could not be built from personas.json.
    public enum PersonaError: Error, Sendable, Equatable, CustomStringConvertible {
        case badValue(field: String, value: String)
        public var description: String {
            switch self {
            case .badValue(let f, let v): return "the UID-only badge persona's '\(f)' is not usable: \(v)"
            }
        }
    }

    /// Builds the badge of a personas.json `badges` entry whose `card` is `iso14443a-uid`.
    /// - Throws: `PersonaError.badValue` when `uid` (4, 7 or 10 bytes) or `atr` (2…33 bytes) is not usable hex.
    public convenience init(persona: BadgePersona) throws(PersonaError) {
        guard let uid = [UInt8](hex: persona.uid), [4, 7, 10].contains(uid.count) else {
            throw .badValue(field: "uid", value: persona.uid)
        }
        guard let atr = [UInt8](hex: persona.atr), (2...33).contains(atr.count) else {
            throw .badValue(field: "atr", value: persona.atr)
        }
        self.init(uid: uid, atr: atr)
    }

    /// The profile builder registered for `iso14443a-uid` in `CardProfiles.builtIn`.
    public static func makeCard(persona: AnyPersona, context: CardBuildContext) -> UIDOnlyCard? {
        guard case .badge(let b) = persona else { return nil }
        return try? UIDOnlyCard(persona: b)
    }

    public func powerOn() {}
    public func powerOff() {}
    public func reset() {}

    public func process(_ command: [UInt8]) -> [UInt8] {
        guard command.count >= 4 else { return [0x67, 0x00] }
        return command[0] == 0xFF ? [0x6D, 0x00] : [0x6E, 0x00]
    }
}

extension UIDOnlyCard: ContactlessCapableCard {
    /// The UID for `FF CA 00 00 00`; the storage-card historical bytes of the persona's ATR.
    public var contactless: ContactlessInterface? {
        ContactlessInterface(uid: uid, historicalBytes: ATRInfo(atr)?.historicalBytes ?? [])
    }
    /// A badge has no contact plate.
    public var hasContactInterface: Bool { false }
}

