@testable import CardSimulator
import ISO7816
import Testing

@testable import CarteBench

/// The figures of `carte bench` that do not depend on the machine: flows on the virtual wire clock, the functional
/// byte accounting, the INS-C reference's agreement with carte.
@Suite("carte bench")
struct CarteBenchTests {
    @Test("vitaleRead: exact APDUs, bytes, functional bytes and link for vitale2-bernard-family")
    func vitaleReadFigures() async throws {
        let f = try await VitaleReadBenchmark.run()
        // IDENT 2 READ BINARY, SELECT VITALE (P2 0C), BENEF 2, CARTE, AMO, AMC: 7 × 5 + 16 bytes to the card;
        // 449 data bytes (406 functional, 36 template headers, 7 padding or overshoot) + 8 × SW1-SW2 from it.
        #expect(f.apdus == 8)
        #expect(f.bytesToCard == 51)
        #expect(f.bytesFromCard == 465)
        #expect(f.breakdownMs["pointers", default: -1] == 0)
        #expect(abs(f.wireTimeToLimitRatio - 1.369) < 0.0005)
        #expect(f.functionalBytes == 406)
        #expect(f.ppsCount == 1)
        // TA1 = 13: Fi 372, Di 4; the reader's 4 MHz (the card allows 5).
        #expect(f.negotiated == LinkFigures(transmissionProtocol: "T=0", fi: 372, di: 4, clockKHz: 4000))
        #expect(f.limitLink == f.negotiated)
        // 406 characters × 12 ETU × 372 / (4 × 4 MHz) = 113.274 ms.
        #expect(abs(f.limitMs - 113.274) < 0.001)
        // The breakdown accounts for the whole wire time.
        #expect(abs(f.breakdownMs.values.reduce(0, +) - f.wireTimeMs) < 0.01)
        #expect(abs(f.breakdownMs["functionalData", default: 0] - f.limitMs) < 0.001)
    }

    @Test("Flow figures are the same on every run")
    func deterministic() async throws {
        let a = try await VitaleReadBenchmark.run()
        let b = try await VitaleReadBenchmark.run()
        #expect(a == b)
        let c = try await BadgeAuthenticationBenchmark.run()
        let d = try await BadgeAuthenticationBenchmark.run()
        #expect(c.apdus == 8 && c.apdus == d.apdus && c.wireTimeMs == d.wireTimeMs)
    }

    @Test("Functional bytes: only primitive data objects holding data, tag + length + value")
    func dataBytes() throws {
        // 65 { 80 "AB", 81 "" , 82 00 00 } : only 80 holds data → 4 bytes
        let o = try #require(BERTLV.decode([0x65, 0x0A, 0x80, 0x02, 0x41, 0x42, 0x81, 0x00, 0x82, 0x02, 0x00, 0x00]).first)
        #expect(FileReassembly.dataBytes(o) == 4)
    }

    @Test("File reassembly: READ BINARY at offset 0 starts a file, higher offsets and GET RESPONSE extend it")
    func reassembly() {
        func e(_ c: [UInt8], _ r: [UInt8]) -> TranscriptEntry {
            TranscriptEntry(kind: .apdu, command: c, response: r, error: nil, startNanoseconds: 0, durationNanoseconds: 1)
        }
        let log = [
            e([0x00, 0xB0, 0x82, 0x00, 0x00], [0x66, 0x03, 0x80, 0x01, 0x31, 0x90, 0x00]),
            e([0x00, 0xB0, 0x00, 0x05, 0x00], [0x00, 0x00, 0x90, 0x00]),
            e([0x00, 0xA4, 0x02, 0x00, 0x02, 0x20, 0x01], [0x90, 0x00]),
            e([0x00, 0xB0, 0x00, 0x00, 0x00], [0x61, 0x02]),
            e([0x00, 0xC0, 0x00, 0x00, 0x02], [0xE0, 0x00, 0x90, 0x00]),
        ]
        let files = FileReassembly.files(in: log)
        #expect(files.count == 2)
        #expect(files[0].bytes == [0x66, 0x03, 0x80, 0x01, 0x31, 0x00, 0x00])
        #expect(files[0].functionalBytes == 3)
        #expect(files[1].isPointers && files[1].functionalBytes == 0)
    }

    @Test("INS-C: the Python hashlib reference writes exactly carte's output")
    func inscAgreesWithPython() throws {
        let f = try INSCBatchBenchmark.run(rows: 3000)
        #expect(f.rows == 3000)
        if f.skippedPython == nil {
            #expect(f.outputsIdentical == true)
        }
    }

    @Test("INS-C input: deterministic rows with valid NIR keys")
    func generator() {
        let a = INSCBatchBenchmark.generate(rows: 50)
        #expect(a == INSCBatchBenchmark.generate(rows: 50))
        let lines = String(decoding: a, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 50)
        #expect(lines.allSatisfy { $0.split(separator: ";").count == 3 })
    }
}
