// libFuzzer target: X.509 certificates as a card returns them (DER, possibly followed by padding) through
// CarteCrypto (OpenSSL d2i), and their fields.
import CarteCrypto
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCertificate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    if let c = try? Certificate(der: b) {
        _ = c.description
    }
    _ = try? CertificateRevocationList(der: b)
    if let s = String(bytes: b, encoding: .utf8) {
        _ = try? Certificate(pem: s)
        _ = try? DistinguishedName(parsing: s)
    }
    return 0
}
