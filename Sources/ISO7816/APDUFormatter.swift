/// Step 1 of the APDU pipeline: turns one logical C-APDU into the frames that go on the wire — short form,
/// extended form, or a command chain — and applies the T=0 case-4 rule. Pure, no I/O.
///
/// Rules (ISO/IEC 7816-3 §12.2, ISO/IEC 7816-4 §5.1 and §5.4.1):
/// - A command that fits the short form (Nc ≤ 255, Ne ≤ 256) goes out short.
/// - Otherwise the extended form is used only when the reader (`ReaderCapabilities.supportsExtendedLength`) and
///   the card (ATR card capabilities or the caller's setting) both allow it, the protocol is not T=0 and the frame
///   fits the reader's `maxCommandLength`.
/// - Otherwise, Nc > 255 is split into a command chain of 255-byte frames (CLA bit 0x10 on all but the last) when
///   the card allows chaining and CLA is interindustry (`00`…`7F`); Ne > 256 is reduced to 256 (`00`): the rest
///   comes back through `61 xx` / GET RESPONSE.
/// - On T=0, a case-4 command goes out as case 3 (no Le); the data come back through `61 xx` (§12.2.4).
public struct APDUFormatter: Sendable, Hashable {
    /// One frame to transmit.
    public struct Frame: Sendable, Hashable {
        /// The command as sent (CLA may carry the chaining bit; Ne may be reduced or removed).
        public var command: CommandAPDU
        /// Whether it is encoded in the extended form.
        public var extended: Bool
        /// The encoded bytes.
        public var bytes: [UInt8]
    }

    public var activeProtocol: TransmissionProtocol
    public var readerSupportsExtendedLength: Bool
    /// Largest C-APDU the reader accepts, bytes.
    public var readerMaxCommandLength: Int
    public var cardSupportsExtendedLength: Bool
    public var cardSupportsChaining: Bool

    public init(
        activeProtocol: TransmissionProtocol, readerSupportsExtendedLength: Bool, readerMaxCommandLength: Int = 261,
        cardSupportsExtendedLength: Bool, cardSupportsChaining: Bool
    ) {
        self.activeProtocol = activeProtocol
        self.readerSupportsExtendedLength = readerSupportsExtendedLength
        self.readerMaxCommandLength = readerMaxCommandLength
        self.cardSupportsExtendedLength = cardSupportsExtendedLength
        self.cardSupportsChaining = cardSupportsChaining
    }

    /// Largest data field sent in one chained frame, bytes.
    public static let chainSegmentLength = 255

    /// True when the extended form can carry `command`.
    public func canUseExtendedLength(for command: CommandAPDU) -> Bool {
        guard readerSupportsExtendedLength, cardSupportsExtendedLength, activeProtocol != .t0 else { return false }
        let length = 4 + (command.data.isEmpty ? 0 : 3 + command.data.count) + (command.ne == nil ? 0 : (command.data.isEmpty ? 3 : 2))
        return length <= readerMaxCommandLength
    }

    /// The frames for `command`, in sending order.
    /// - Throws: `CardError.invalidCommand` when Nc/Ne are out of range; `CardError.lengthNotSupported` when
    ///   Nc > 255 and neither extended length nor chaining can be used.
    public func frames(for command: CommandAPDU) throws(CardError) -> [Frame] {
        do { try command.validate() } catch { throw .invalidCommand(error) }
        if !command.needsExtendedLength {
            return [try short(command)]
        }
        if canUseExtendedLength(for: command) {
            do {
                return [Frame(command: command, extended: true, bytes: try command.encoded(extended: true))]
            } catch { throw .invalidCommand(error) }
        }
        if command.data.count <= 255 {
            var c = command
            c.ne = 256
            return [try short(c)]
        }
        let why: String
        if !cardSupportsChaining {
            why = readerSupportsExtendedLength && cardSupportsExtendedLength && activeProtocol == .t0
                ? "extended length is not possible over T=0 and the card does not announce command chaining"
                : "the \(readerSupportsExtendedLength ? "card" : "reader") does not support extended length and the card does not announce command chaining"
            throw .lengthNotSupported(nc: command.data.count, ne: command.ne, reason: why)
        }
        guard command.cla < 0x80 else {
            throw .lengthNotSupported(
                nc: command.data.count, ne: command.ne,
                reason: "command chaining is defined only for interindustry classes, and CLA is \([command.cla].hexString())")
        }
        var out: [Frame] = []
        var start = 0
        let n = command.data.count
        while start < n {
            let end = min(start + APDUFormatter.chainSegmentLength, n)
            let last = end == n
            var c = CommandAPDU(
                cla: last ? command.cla & 0xEF : command.cla | 0x10, ins: command.ins, p1: command.p1, p2: command.p2,
                data: Array(command.data[start..<end]), ne: last ? command.ne.map { min($0, 256) } : nil)
            if last && command.cla & 0x10 != 0 { c.cla = command.cla }
            out.append(try short(c))
            start = end
        }
        return out
    }

    private func short(_ command: CommandAPDU) throws(CardError) -> Frame {
        var c = command
        if activeProtocol == .t0 && c.isoCase == 4 { c.ne = nil }
        do {
            return Frame(command: c, extended: false, bytes: try c.encoded(extended: false))
        } catch { throw .invalidCommand(error) }
    }
}
