import Testing

@testable import INS

@Suite struct INSCBatchTests {
    @Test func goodBadBlankAndCommentLines() {
        let input =
            "# export 2026-11\n"
            + "PHILIPPE;610217;1610275754289\n"
            + "Franck;19380300;138039010402728;IPP-42\n"
            + "\n"
            + "   \n"
            + "MARIE ODILE;651112;265112A571315\r\n"
            + "PHILIPPE;610217;161027575428993\n"
            + "PHILIPPE;61021;1610275754289\n"
            + "only;two\n"
            + ";610217;1610275754289\n"
            + "CHRISTOPHE;130404;2130492924226"
        let expected =
            "# export 2026-11\n"
            + "PHILIPPE;610217;1610275754289;0833910461279517589858\n"
            + "Franck;19380300;138039010402728;IPP-42;1215965973479473546018\n"
            + "\n"
            + "   \n"
            + "MARIE ODILE;651112;265112A571315;0941155967950413759315\r\n"
            + "PHILIPPE;610217;161027575428993;ERROR:line 7: invalid NIR: the NIR key is 93 but the number gives 92: a digit is probably wrong\n"
            + "PHILIPPE;61021;1610275754289;ERROR:line 8: the birth date must be AAMMJJ or AAAAMMJJ (6 or 8 digits); it has 5 characters\n"
            + "only;two;ERROR:line 9: expected prenom;naissance;nir\n"
            + ";610217;1610275754289;ERROR:line 10: the first name has no letter A–Z, so no INS-C can be computed\n"
            + "CHRISTOPHE;130404;2130492924226;0311176251355850530351"
        let (output, summary) = INSCBatch.process(input)
        #expect(output == expected)
        #expect(summary.lines == 11)
        #expect(summary.computed == 4)
        #expect(summary.failed == 4)
        #expect(summary.copied == 3)
        #expect(!summary.allSucceeded)
    }

    @Test func allGoodSucceeds() {
        let (output, summary) = INSCBatch.process("JEAN MICHEL;060227;2060268000207\n#done\n")
        #expect(output == "JEAN MICHEL;060227;2060268000207;1243474338158652680797\n#done\n")
        #expect(summary.allSucceeded)
        #expect(summary == { var s = INSCBatchSummary(); s.lines = 2; s.computed = 1; s.copied = 1; return s }())
    }

    @Test func byteOrderMarkAndLatin1Rows() throws {
        // UTF-8 BOM then a comment; a Latin-1 "HÉLÈNE" (0xC9, 0xC8) is refused, not silently hashed as "HLNE".
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("# base\n".utf8)
        bytes += [0x48, 0xC9, 0x4C, 0xC8, 0x4E, 0x45] + Array(";19500512;195054410908745\n".utf8)
        bytes += Array("HÉLÈNE;19500512;195054410908745\n".utf8)
        var input = ByteArrayBatchInput(bytes)
        var output = ByteArrayBatchOutput()
        let summary = try INSCBatch.process(input: &input, output: &output)
        var expected: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("# base\n".utf8)
        expected += [0x48, 0xC9, 0x4C, 0xC8, 0x4E, 0x45]
        expected += Array(";19500512;195054410908745;ERROR:line 2: the first name is not valid UTF-8 (convert the file, e.g. iconv -f LATIN1 -t UTF-8)\n".utf8)
        expected += Array("HÉLÈNE;19500512;195054410908745;0613343158201338895021\n".utf8)
        #expect(output.bytes == expected)
        #expect(summary.copied == 1 && summary.failed == 1 && summary.computed == 1)
        // A BOM before a data row on line 1 is not part of the first name.
        #expect(INSCBatch.process("\u{FEFF}PHILIPPE;610217;1610275754289\n").output
            == "\u{FEFF}PHILIPPE;610217;1610275754289;0833910461279517589858\n")
    }

    @Test func emptyInput() {
        let (output, summary) = INSCBatch.process("")
        #expect(output == "")
        #expect(summary.lines == 0)
        #expect(summary.allSucceeded)
    }

    /// Delivers the input a few bytes at a time, so lines straddle every read boundary.
    struct TrickleInput: INSCBatchInput {
        var bytes: [UInt8]
        var position = 0
        var rng = SplitMix64(seed: 42)
        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(INSCBatchError) -> Int {
            let n = min(buffer.count, bytes.count - position, Int(rng.next() % 7) + 1)
            for i in 0..<n { buffer[i] = bytes[position + i] }
            position += n
            return n
        }
    }

    @Test func manyRowsAcrossBufferBoundaries() throws {
        let rows = [
            ("PHILIPPE", "610217", "1610275754289", "0833910461279517589858"),
            ("FRANCK", "380300", "1380390104027", "1215965973479473546018"),
            ("MARIE ODILE", "651112", "265112A571315", "0941155967950413759315"),
            ("JEAN MICHEL", "060227", "2060268000207", "1243474338158652680797"),
            ("CHRISTOPHE", "130404", "2130492924226", "0311176251355850530351"),
        ]
        var input = ""
        var expected = ""
        for i in 0..<30_000 {
            let r = rows[i % rows.count]
            input += "\(r.0);\(r.1);\(r.2)\n"
            expected += "\(r.0);\(r.1);\(r.2);\(r.3)\n"
        }
        // Large reads (64 KiB chunks, buffer compaction).
        let (output, summary) = INSCBatch.process(input)
        #expect(output == expected)
        #expect(summary.computed == 30_000)
        // Tiny reads: the first 700 rows, 1 to 7 bytes per read.
        let inLines = input.split(separator: "\n", omittingEmptySubsequences: false).prefix(700)
        let outLines = expected.split(separator: "\n", omittingEmptySubsequences: false).prefix(700)
        var trickle = TrickleInput(bytes: Array(inLines.joined(separator: "\n").utf8))
        var out = ByteArrayBatchOutput()
        let s2 = try INSCBatch.process(input: &trickle, output: &out)
        #expect(String(decoding: out.bytes, as: UTF8.self) == outLines.joined(separator: "\n"))
        #expect(s2.computed == 700)
    }

    @Test func overlongLineIsCopiedAndReported() {
        let long = String(repeating: "A", count: INSCBatch.maxLineLength + 10)
        let input = long + "\nPHILIPPE;610217;1610275754289\n" + long
        let (output, summary) = INSCBatch.process(input)
        let parts = output.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        #expect(parts.map { $0.utf8.count } == [long.utf8.count + 51, 52, long.utf8.count + 51])
        #expect(output == long + ";ERROR:line 1: the line is longer than 196608 bytes\n"
            + "PHILIPPE;610217;1610275754289;0833910461279517589858\n"
            + long + ";ERROR:line 3: the line is longer than 196608 bytes")
        #expect(summary.failed == 2)
        #expect(summary.computed == 1)
        #expect(summary.lines == 3)
    }

    @Test func noCrashOnRandomLines() {
        var rng = SplitMix64(seed: 0xBA7C4)
        let alphabet = Array("0123456789;;;;AaÉé -#\r\n2B".utf8)
        var bytes: [UInt8] = []
        for _ in 0..<200_000 { bytes.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
        // Sprinkle some invalid UTF-8.
        for i in stride(from: 5, to: bytes.count, by: 997) { bytes[i] = 0xC3 }
        var input = ByteArrayBatchInput(bytes)
        var output = ByteArrayBatchOutput()
        let summary = try? INSCBatch.process(input: &input, output: &output)
        let inLines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        let outLines = output.bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        #expect(inLines.count == outLines.count)
        for (a, b) in zip(inLines, outLines) {
            // Every output line starts with its input line (minus a trailing CR).
            let stem = a.last == 0x0D ? a.dropLast() : a
            #expect(b.starts(with: stem))
        }
        #expect(summary.map { $0.computed + $0.failed + $0.copied } == summary?.lines)
    }
}
