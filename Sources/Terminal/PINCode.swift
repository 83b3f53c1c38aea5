// Compiled alone into the fuzz targets `config` and `api-json` (scripts/fuzz.sh): Swift standard library only.

/// A PIN on its way to a card: used once and dropped. Its description and mirror never show the digits.
public struct PINCode: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The PIN's digits as ASCII bytes (the ISO/IEC 7816-4 VERIFY data before padding).
    public let digits: [UInt8]

    /// - Returns: nil when `text` is not 4 to 12 ASCII digits.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard (4...12).contains(bytes.count), bytes.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        digits = bytes
    }

    public var description: String { "PIN(****)" }
    public var debugDescription: String { "PIN(****)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
