import COpenSSL

/// The OpenSSL library this process runs with (e.g. "OpenSSL 3.0.19 …").
public enum OpenSSLLibrary {
    public static var version: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}
