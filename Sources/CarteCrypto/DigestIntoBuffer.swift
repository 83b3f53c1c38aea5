import COpenSSL

extension Digest {
    /// SHA-256 (FIPS 180-4) of `data`, written as 32 bytes at `out`, without allocating: for hot
    /// loops over millions of short messages (the batch INS-C, `../shared/specs/ins.md` §1.3).
    ///
    /// OpenSSL 3's one-shot `SHA256()` fetches the algorithm, takes locks and allocates a context
    /// on every call; this uses OpenSSL's low-level `SHA256_Init/Update/Final` on a stack context
    /// instead (same implementation, SHA-NI/AVX2 code paths included).
    public static func sha256(_ data: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) {
        let impl: any LowLevelSHA256.Type = OpenSSLLowLevelSHA256.self
        impl.digest(data, into: out)
    }
}

/// Indirection so that OpenSSL 3's deprecation of the low-level digest API (still supported
/// throughout 3.x) is acknowledged in one place instead of warning in every build.
private protocol LowLevelSHA256 {
    static func digest(_ data: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>)
}

private enum OpenSSLLowLevelSHA256: LowLevelSHA256 {
    @available(*, deprecated, message: "OpenSSL 3 deprecates SHA256_Init/Update/Final; allocation-free")
    static func digest(_ data: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) {
        var context = SHA256_CTX()
        _ = SHA256_Init(&context)
        _ = SHA256_Update(&context, data.baseAddress, data.count)
        _ = SHA256_Final(out, &context)
    }
}
