/// A simulated card as its reader sees it: an ATR, power and reset, and one APDU at a time.
///
/// A virtual card is a card operating system (file system + security state + a dispatch table by INS), not a
/// replay of canned answers (`../shared/specs/architecture.md`, "Simulators are card operating systems"). It is
/// not thread-safe: the virtual reader that holds it serialises every call.
public protocol VirtualCard: AnyObject {
    /// The ATR the card answers on cold and warm reset (ISO/IEC 7816-3 §8), 2…33 bytes.
    var atr: [UInt8] { get }
    /// Cold reset: power applied. Security status (verified PINs, selected files, MSE state) starts empty.
    func powerOn()
    /// Power removed: all volatile state is lost.
    func powerOff()
    /// Warm reset: like power-on, security status cleared.
    func reset()
    /// Processes one C-APDU and returns the R-APDU (data ‖ SW1 SW2). Malformed commands get an ISO status word
    /// (`67 00`, `6D 00`, …), never a crash.
    func process(_ command: [UInt8]) -> [UInt8]
}

// MARK: Contactless and interface information (added by the simulator OS work, issue 3)

/// What a virtual card offers to a contactless reader (ISO/IEC 14443). Contact-only cards return `nil`.
public struct ContactlessInterface: Sendable, Hashable {
    /// The UID (ISO/IEC 14443-3 type A, 4/7/10 bytes) or PUPI (type B) the reader returns to `FF CA 00 00 00`;
    /// `nil` when the card has none to give (the reader answers `6A 81`).
    public var uid: [UInt8]?
    /// The historical bytes the reader puts in its PC/SC part 3 ATR (ATS historical bytes for ISO 14443-4 cards,
    /// the `80 4F 0C A0 00 00 03 06 …` storage-card block otherwise), pcsc-ccid-vpcd-contactless.md §7.2.
    public var historicalBytes: [UInt8]

    public init(uid: [UInt8]?, historicalBytes: [UInt8]) {
        self.uid = uid
        self.historicalBytes = historicalBytes
    }
}

/// Optional capabilities of a virtual card beyond the contact interface.
public protocol ContactlessCapableCard: VirtualCard {
    /// The contactless personality, or `nil` when the card has no antenna.
    var contactless: ContactlessInterface? { get }
    /// False for a card that exists only as a contactless badge (no contact plate).
    var hasContactInterface: Bool { get }
}
