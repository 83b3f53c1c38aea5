#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A PIN typed on the host keyboard (keypad entry), held in one heap buffer that is zeroed when the value is
/// released. It has no description, debug description or mirror that shows a digit: printing, logging, tracing or
/// putting it in an error shows `SecretPIN(****)`. The bytes are reachable only inside this package
/// (`withDigits`), once, to build the VERIFY command.
public final class SecretPIN: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    /// Number of digits (no digit itself).
    public let count: Int

    /// Takes the digits from `bytes` (ASCII `0`…`9`), then zeroes `bytes`. Trailing CR/LF are dropped.
    /// - Returns: `nil` when a byte is not a decimal digit (the input is zeroed anyway).
    public init?(consuming bytes: inout [UInt8]) {
        defer { SecretPIN.wipe(&bytes) }
        var n = bytes.count
        while n > 0, bytes[n - 1] == 0x0A || bytes[n - 1] == 0x0D { n -= 1 }
        guard n > 0, n <= 16, bytes[0..<n].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        buffer = .allocate(capacity: n)
        for i in 0..<n { buffer[i] = bytes[i] }
        count = n
    }

    /// Test and demo convenience: the digits of a literal (the string itself cannot be wiped; never use it for a
    /// PIN typed by a person).
    public convenience init?(testDigits: String) {
        var b = Array(testDigits.utf8)
        self.init(consuming: &b)
    }

    deinit {
        for i in 0..<count { buffer[i] = 0 }
        memset_s_compat(buffer.baseAddress, count)
        buffer.deallocate()
    }

    /// Runs `body` on a temporary copy of the ASCII digits, wiped when `body` returns.
    package func withDigits<T>(_ body: ([UInt8]) throws -> T) rethrows -> T {
        var copy = Array(buffer)
        defer { SecretPIN.wipe(&copy) }
        return try body(copy)
    }

    public var description: String { "SecretPIN(****)" }
    public var debugDescription: String { "SecretPIN(****)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// Overwrites `bytes` with zeros in place (the array keeps its length).
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = 0 }
            memset_s_compat(p.baseAddress, p.count)
        }
    }
}

/// A zeroing write the optimiser cannot drop (volatile stores through an opaque pointer).
@inline(never)
func memset_s_compat(_ p: UnsafeMutablePointer<UInt8>?, _ n: Int) {
    guard let p, n > 0 else { return }
    let v = UnsafeMutableRawPointer(p)
    for i in 0..<n { v.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
}
