// libFuzzer target: CPS3 card data (cps.md §3–§6): EF.ATR, EF.SN.ICC, the CHV SDO (tries left), PKCS#15 EF.DIR
// records, ODF, CDF/DODF entries, holder files and situations, and a whole CPSSession.read() over a card whose
// answers come from the input.
import ISO7816
@testable import CPS

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCPS(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    guard !b.isEmpty else { return 0 }
    let rest = Array(b.dropFirst())
    switch b[0] % 9 {
    case 0: _ = try? CPSEFATR(parsing: rest)
    case 1: _ = try? CPSSerialNumber(parsing: rest)
    case 2: _ = try? CPSPinStatus(parsingSDO: rest)
    case 3: _ = PKCS15Application.records(in: rest)
    case 4:
        let odf = PKCS15ObjectDirectory(parsing: rest)
        _ = odf.certificates
        _ = odf.dataObjects
    case 5: _ = PKCS15Entry.entries(in: rest)
    case 6:
        var h = CPSHolder()
        let p = lengthPrefixedPieces(rest, max: 3)
        if p.count > 0 { try? h.apply(idCard: p[0]) }
        if p.count > 1 { try? h.apply(name: p[1]) }
        if p.count > 2 { try? h.apply(info: p[2]) }
    case 7: _ = try? CPSSituation(parsing: rest, index: Int(b[0] >> 4))
    default:
        let atrs: [[UInt8]] = [
            [0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90, 0x00],
            [0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x6A],
            [0x3B, 0x80, 0x80, 0x01, 0x01],
        ]
        let atr = atrs[Int(b[0] >> 4) % atrs.count]
        let answers = lengthPrefixedPieces(rest, max: 300)
        runBlocking {
            let t = FuzzedTransport(atr: atr, protocol: .t0, answers: answers)
            guard let s = try? await CPSSession.connect(t, certificateCache: CPSCertificateCache()) else { return }
            _ = try? await s.read()
            _ = try? await s.readHolder()
        }
    }
    return 0
}
