import ISO7816

/// One injected fault. APDU numbers count the transmits to the card on this reader, starting at 1 when the plan is
/// set (`SimulatedReader.setFaultPlan(_:)`); pseudo-APDUs answered by the reader are not counted.
public enum Fault: Sendable, Hashable {
    /// The card leaves the slot just before APDU #n: that transmit throws `.cardRemoved`.
    case cardRemovedBefore(apdu: Int)
    /// The card does not answer APDU #n: transmit throws `.cardMute` (`asTimeout` → `.timeout`) after the virtual
    /// waiting time (`WireClock.waitingTimeNanoseconds`). The card stays.
    case muteCard(apdu: Int, asTimeout: Bool = false)
    /// The card asks for more time on APDU #n (nil = every APDU): `wtxCount` time extensions (T=1 WTX / T=0 NULL
    /// bytes) and `extraMilliseconds` of virtual processing time. The answer is correct.
    case slowCard(apdu: Int?, wtxCount: Int, extraMilliseconds: Int)
    /// The answer to APDU #n has the byte at `byteIndex` XORed with `mask` (index taken modulo the length).
    case corruptResponse(apdu: Int, byteIndex: Int, mask: UInt8)
    /// The answer to APDU #n keeps only its first `keepBytes` bytes (0 or 1 → not even a status word).
    case truncateResponse(apdu: Int, keepBytes: Int)
    /// The card processes APDU #n but the status word `sw` replaces the real one (data kept).
    case replaceStatusWord(apdu: Int, sw: StatusWord)
    /// Every k-th transmit fails with `.failed` before reaching the card (k ≥ 1).
    case flakyTransmit(every: Int)
    /// The reader disappears just before APDU #n: that transmit and every later call throw `.readerGone`.
    case readerUnpluggedBefore(apdu: Int)
    /// Another application resets the card just before APDU #n (PC/SC `SCARD_W_RESET_CARD`): that transmit throws
    /// `.cardReset`; the card's security state is gone; the next `connect` resumes.
    case cardResetByOtherApplication(beforeAPDU: Int)
    /// Just before APDU #n the card is replaced by a fresh card of another persona. With `reportRemoval` the
    /// transmit throws `.cardRemoved` (the usual PC/SC behaviour); without it the exchange goes to the new card
    /// silently (a swap the reader missed: only a non-substitution check finds it).
    case swapCard(beforeAPDU: Int, persona: String, reportRemoval: Bool = true)
}

/// The faults of one reader, checked in order for each APDU.
public struct FaultPlan: Sendable, Hashable {
    public var faults: [Fault]
    public init(_ faults: [Fault] = []) { self.faults = faults }
    public static let none = FaultPlan()
}
