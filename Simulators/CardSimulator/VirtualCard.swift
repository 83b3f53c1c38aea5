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
