// libFuzzer target: Vitale files (vitale.md §4, §6, §9): Vitale 2 POINTERS and file decoding, Vitale 1 memory
// zones, and a whole VitaleSession over a card whose answers come from the input.
import ISO7816
import Vitale

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVitale(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    guard !b.isEmpty else { return 0 }
    let day = VitaleDay(year: 2026, month: 1, day: 15)
    let rest = Array(b.dropFirst())
    switch b[0] % 4 {
    case 0:
        _ = try? Vitale2Pointers(decoding: rest)
    case 1:
        let p = lengthPrefixedPieces(rest, max: 5)
        func piece(_ i: Int) -> [UInt8]? { i < p.count ? p[i] : nil }
        let files = Vitale2Files(ident: piece(0), benef: piece(1), carte: piece(2), amo: piece(3), amc: piece(4))
        if let card = try? Vitale2Decoder.decode(files, atr: [0x3B, 0x75, 0x13, 0x00, 0x00, 0x45, 0x09, 0xEA, 0x90, 0x00], careDate: day) {
            for x in card.beneficiaries { _ = x.rightsOpen(at: day) }
        }
    case 2:
        _ = try? Vitale1Memory.pointers(fromProductionArea: rest)
        let nibbles = Vitale1Memory.nibbles(fromWords: rest)
        _ = try? Vitale1Memory.decodeAssure(nibbles)
        if let benefs = try? Vitale1Memory.decodeBeneficiaires(nibbles) {
            _ = try? Vitale1Memory.decodeDroits(nibbles, beneficiaryCount: benefs.count)
        }
        _ = try? Vitale1Memory.decodeDroits(nibbles, beneficiaryCount: Int(b[0] >> 4))
    default:
        let atrs: [[UInt8]] = [
            [0x3B, 0x75, 0x13, 0x00, 0x00, 0x45, 0x09, 0xEA, 0x90, 0x00],
            [0x3F, 0x65, 0x25, 0x00, 0x2C, 0x09, 0x69, 0x90, 0x00],
            [0x3B, 0x80, 0x80, 0x01, 0x01],
        ]
        let atr = atrs[Int(b[0] >> 2) % atrs.count]
        let answers = lengthPrefixedPieces(rest, max: 200)
        runBlocking {
            let t = FuzzedTransport(atr: atr, protocol: .t0, answers: answers)
            _ = try? await VitaleSession(transport: t).readCard(careDate: day)
        }
    }
    return 0
}
