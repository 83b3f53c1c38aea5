import ISO7816
@testable import CardSimulator

/// Hex text → bytes; traps on a typo in a test literal (test-only helper).
func h(_ s: String) -> [UInt8] {
    guard let b = [UInt8](hex: s) else { fatalError("bad hex literal in test: \(s)") }
    return b
}

func hx(_ b: [UInt8]) -> String { b.hexString(separator: " ") }

/// One level of BER-TLV objects as the simulated cards read command data (length fields of 1…3 bytes), or `nil`
/// when the bytes are malformed.
func tlvObjects(_ b: [UInt8]) -> [BERTLV]? { try? BERTLV.decodeOneLevel(b, maximumLengthBytes: 3) }

/// A small ISO card for Card OS tests:
/// MF 3F00 ├ EF 2F00 (SFI 1E, 20 bytes 00…13) ├ EF 0010 records (SFI 02) ├ EF 0011 writable after PIN 81
/// └ DF 1000 "A0 00 00 00 01 02" ├ EF 1001 (SFI 01) "HELLO"
func makeTestOS(mode: T0Mode = .auto) -> CardOS {
    let mf = DedicatedFile(fid: 0x3F00, label: "MF")
    mf.add(ElementaryFile(fid: 0x2F00, sfi: 0x1E, label: "DIR", bytes: Array(0..<20)))
    mf.add(ElementaryFile(fid: 0x0010, sfi: 0x02, label: "REC",
        structure: .records([h("01 02 03"), h("0A 0B 0C 0D")], fixedLength: nil)))
    mf.add(ElementaryFile(fid: 0x0011, label: "WRITABLE", bytes: [UInt8](repeating: 0, count: 8),
        read: .pin(0x81), update: .pin(0x81)))
    let df = DedicatedFile(fid: 0x1000, name: h("A0 00 00 00 01 02"), label: "APP")
    df.add(ElementaryFile(fid: 0x1001, sfi: 0x01, label: "HELLO", bytes: Array("HELLO".utf8)))
    mf.add(df)
    let os = CardOS(masterFile: mf, t0Mode: mode)
    os.install(pin: PINObject(reference: 0x81, value: Array("1234".utf8), maxTries: 3, unblockingReference: 0x82))
    os.install(pin: PINObject(reference: 0x82, value: Array("12345678".utf8), maxTries: 10, lengthRange: 8...8))
    return os
}

extension CardOS {
    /// Sends hex, returns hex of the answer.
    func send(_ hexCommand: String) -> String { hx(process(h(hexCommand))) }
}
