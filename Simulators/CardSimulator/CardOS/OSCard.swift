import ISO7816

/// A virtual card made of an ATR and a `CardOS`: the generic shape of every ISO 7816-4 profile.
public final class OSCard: ContactlessCapableCard {
    public let atr: [UInt8]
    /// The card operating system (file tree, security state, dispatch table). Tests and profiles may reach in.
    public let os: CardOS
    public let contactless: ContactlessInterface?
    public let hasContactInterface: Bool
    /// A label for transcripts (the persona id).
    public let label: String

    public init(
        label: String, atr: [UInt8], os: CardOS, contactless: ContactlessInterface? = nil,
        hasContactInterface: Bool = true
    ) {
        self.label = label
        self.atr = atr
        self.os = os
        self.contactless = contactless
        self.hasContactInterface = hasContactInterface
    }

    public func powerOn() { os.reset() }
    public func powerOff() { os.reset() }
    public func reset() { os.reset() }
    public func process(_ command: [UInt8]) -> [UInt8] { os.process(command) }
}

/// A card that has an ATR but no application yet: every command answers `6D 00` (used for CPS and badge
/// personas until their profiles are registered).
public final class MuteApplicationCard: ContactlessCapableCard {
    public let atr: [UInt8]
    public let contactless: ContactlessInterface?
    public let hasContactInterface: Bool

    public init(atr: [UInt8], contactless: ContactlessInterface? = nil, hasContactInterface: Bool = true) {
        self.atr = atr
        self.contactless = contactless
        self.hasContactInterface = hasContactInterface
    }

    public func powerOn() {}
    public func powerOff() {}
    public func reset() {}
    public func process(_ command: [UInt8]) -> [UInt8] { command.count < 4 ? [0x67, 0x00] : [0x6D, 0x00] }
}
