import COpenSSL

/// Every failure of `CarteCrypto`. The description says what went wrong in plain words and carries OpenSSL's own
/// error string when OpenSSL produced one.
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An OpenSSL call failed. `operation` names what we were doing, `reason` is OpenSSL's error queue
    /// (`ERR_error_string_n`), or "no detail" when the queue was empty.
    case openSSL(operation: String, reason: String)
    /// The caller passed something unusable (wrong key length, wrong block multiple, …).
    case invalidInput(String)
    /// Bytes could not be decoded as the expected structure (PEM/DER key, certificate, CRL, DigestInfo, …).
    case malformed(what: String, reason: String)
    /// A file could not be read or written.
    case file(path: String, reason: String)

    public var description: String {
        switch self {
        case .openSSL(let op, let reason): return "OpenSSL could not \(op): \(reason)"
        case .invalidInput(let why): return "invalid input: \(why)"
        case .malformed(let what, let reason): return "this \(what) cannot be decoded: \(reason)"
        case .file(let path, let reason): return "file \(path): \(reason)"
        }
    }

    /// Drains OpenSSL's thread-local error queue into one string (oldest first).
    static func drainErrorQueue() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            parts.append(buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return parts.isEmpty ? "no detail" : parts.joined(separator: "; ")
    }

    /// The error for a failed OpenSSL call (drains the error queue).
    static func openSSLFailure(_ operation: String) -> CryptoError {
        .openSSL(operation: operation, reason: drainErrorQueue())
    }
}

/// Memory BIO helpers (every BIO freed).
enum BIOBuffer {
    /// Runs `body` with a writable memory BIO and returns what was written to it.
    static func write(_ operation: String, _ body: (OpaquePointer) -> Int32) throws(CryptoError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openSSLFailure(operation) }
        defer { BIO_free(bio) }
        guard body(bio) > 0 else { throw .openSSLFailure(operation) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = BIO_read(bio, &chunk, Int32(chunk.count))
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        ERR_clear_error()
        return out
    }

    /// Runs `body` with a read-only memory BIO over `bytes` (empty input allowed); nil if no BIO can be made.
    static func read<R>(_ bytes: [UInt8], _ body: (OpaquePointer) -> R?) -> R? {
        let storage = bytes.isEmpty ? [UInt8(0)] : bytes
        return storage.withUnsafeBytes { raw -> R? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }
}

/// Hexadecimal helpers used in descriptions and serials.
extension Array where Element == UInt8 {
    /// Upper-case hexadecimal without separators ("0A1B").
    public var cryptoHex: String {
        let digits = Array("0123456789ABCDEF".utf8)
        var s = [UInt8]()
        s.reserveCapacity(count * 2)
        for b in self { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 0x0F)]) }
        return String(decoding: s, as: UTF8.self)
    }
}

/// PEM passphrase callback that supplies none: an encrypted PEM fails instead of prompting on the terminal.
let noPassphrase: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in 0 }
