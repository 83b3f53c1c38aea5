/// A response APDU (R-APDU): response data followed by the trailer SW1-SW2 (ISO/IEC 7816-4 §5.1).
public struct ResponseAPDU: Sendable, Hashable, CustomStringConvertible {
    /// Response data field (0…65536 bytes).
    public var data: [UInt8]
    /// The status word SW1-SW2.
    public var statusWord: StatusWord

    public init(data: [UInt8] = [], statusWord: StatusWord) {
        self.data = data
        self.statusWord = statusWord
    }

    public init(data: [UInt8] = [], sw1: UInt8, sw2: UInt8) {
        self.init(data: data, statusWord: StatusWord(sw1: sw1, sw2: sw2))
    }

    /// Splits raw response bytes into data and SW1-SW2.
    /// - Throws: `APDUError.responseTooShort` when fewer than 2 bytes arrive (a truncated R-APDU).
    public init(decoding bytes: [UInt8]) throws(APDUError) {
        guard bytes.count >= 2 else { throw .responseTooShort(count: bytes.count) }
        data = Array(bytes[..<(bytes.count - 2)])
        statusWord = StatusWord(sw1: bytes[bytes.count - 2], sw2: bytes[bytes.count - 1])
    }

    public var sw1: UInt8 { statusWord.sw1 }
    public var sw2: UInt8 { statusWord.sw2 }

    /// data ‖ SW1 ‖ SW2.
    public var bytes: [UInt8] { data + [statusWord.sw1, statusWord.sw2] }

    /// True for `90 00`.
    public var isSuccess: Bool { statusWord == .success }

    public var description: String { "\(data.count) bytes, SW \(statusWord)" }
}
