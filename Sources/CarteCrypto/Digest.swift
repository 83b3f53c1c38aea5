import COpenSSL

/// Message digests through OpenSSL's one-shot functions (FIPS 180-4).
public enum Digest {
    /// SHA-256 of `data`: 32 bytes.
    public static func sha256<C: ContiguousBytes>(_ data: C) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBytes { buf in
            out.withUnsafeMutableBufferPointer { o in
                _ = SHA256(buf.baseAddress?.assumingMemoryBound(to: UInt8.self), buf.count, o.baseAddress)
            }
        }
        return out
    }

    /// SHA-1 of `data`: 20 bytes (legacy card signatures only).
    public static func sha1<C: ContiguousBytes>(_ data: C) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        data.withUnsafeBytes { buf in
            out.withUnsafeMutableBufferPointer { o in
                _ = SHA1(buf.baseAddress?.assumingMemoryBound(to: UInt8.self), buf.count, o.baseAddress)
            }
        }
        return out
    }
}

/// Byte containers whose storage can be read contiguously (`[UInt8]`, `ArraySlice<UInt8>`, `UnsafeRawBufferPointer`).
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}
extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}
