import ISO7816
import Testing

@testable import Vitale

/// `Vitale2TemplateScan`: where the data of a Vitale 2 file end (vitale.md §9.2 rules), from real template bytes.
@Suite struct Vitale2TemplateScanTests {
    static let jean: [UInt8] = [UInt8](hex: "65 18 80 06 44 55 50 4F 4E 54 81 04 4A 45 41 4E 82 08 31 39 36 38 30 31 31 37")!

    @Test func tableOfOutcomes() {
        typealias O = Vitale2TemplateScan.Outcome
        let rows: [([UInt8], Bool, O)] = [
            ([], false, .needMore(through: 1, objectStart: 0, templateEnd: nil, templates: 0)),
            ([], true, .complete(dataEnd: 0, templates: 0)),
            ([0x00], false, .complete(dataEnd: 0, templates: 0)),
            ([0x65], false, .needMore(through: 2, objectStart: 0, templateEnd: nil, templates: 0)),
            ([0x65, 0x18, 0x80], false, .needMore(through: 26, objectStart: 0, templateEnd: 26, templates: 0)),
            (Self.jean, false, .needMore(through: 27, objectStart: 26, templateEnd: nil, templates: 1)),
            (Self.jean, true, .complete(dataEnd: 26, templates: 1)),
            (Self.jean + [0x00, 0x00], false, .complete(dataEnd: 26, templates: 1)),
            (Self.jean + [0xFF], false, .complete(dataEnd: 26, templates: 1)),
            (Self.jean + [0x65, 0x81], false, .needMore(through: 29, objectStart: 26, templateEnd: nil, templates: 1)),
            (Self.jean + [0x65, 0x81, 0x80], false, .needMore(through: 157, objectStart: 26, templateEnd: 157, templates: 1)),
            ([0x7F, 0x21, 0x02, 0x42, 0x00], false, .needMore(through: 6, objectStart: 5, templateEnd: nil, templates: 1)),
            ([0x7F], false, .needMore(through: 3, objectStart: 0, templateEnd: nil, templates: 0)),
            ([0x65, 0x80], false, .corrupted("an indefinite length at byte 0")),
            ([0x65, 0x84, 0, 0, 0, 1], false, .corrupted("a length of 4 bytes at byte 0")),
            ([0x7F, 0xFF, 0xFF, 0x01, 0x00], false, .corrupted("a tag of more than 3 bytes at byte 0")),
            ([0x65, 0x10, 0x80], true, .corrupted("the template at byte 0 announces 16 bytes but the file ends at byte 3")),
            ([0x65, 0x81], true, .corrupted("the file ends inside the header of the template at byte 0")),
            ([0x65, 0x82, 0x80, 0x00], false, .corrupted("the template at byte 0 announces 32768 bytes, more than a file holds")),
        ]
        for (bytes, ended, want) in rows {
            #expect(Vitale2TemplateScan.scan(bytes, fileEnded: ended) == want, "\(bytes.hexString()) ended \(ended)")
        }
    }

    @Test func nextChunkFollowsThePlan() {
        // BENEF of 4: after 105 bytes, the 3rd template (88…141) is unfinished: 36 + 1 × 26 + 1
        #expect(Vitale2ReadPlan.benef(expected: 4).nextChunk(have: 105, through: 141, objectStart: 88, templateEnd: 141, templates: 2) == 63)
        // Count unknown: one more template of the estimate after the unfinished one
        #expect(Vitale2ReadPlan.ident(expected: nil).nextChunk(have: 60, through: 85, objectStart: 58, templateEnd: 85, templates: 2) == 56)
        // All expected templates read, ended exactly at a chunk end: 1 byte confirms the end
        #expect(Vitale2ReadPlan.carte.nextChunk(have: 33, through: 34, objectStart: 33, templateEnd: nil, templates: 1) == 1)
        // Header cut: up to the estimate of the templates still expected + 1
        #expect(Vitale2ReadPlan.amo(beneficiaries: 2).nextChunk(have: 22, through: 23, objectStart: 21, templateEnd: nil, templates: 1) == 54 + 21 - 22 + 1)
        #expect(Vitale2ReadPlan.amo(beneficiaries: 4).firstChunk == 130)
        #expect(Vitale2ReadPlan.benef(expected: 4).firstChunk == 105)
    }

    /// No-crash pass: random and mutated inputs (deterministic seed) never trap and never claim data past the input.
    @Test func randomAndMutatedInputsNeverCrash() {
        var g = SplitMix64(seed: 0x7E3A_11FE)
        for round in 0..<20_000 {
            var b: [UInt8]
            if round % 2 == 0 {
                b = (0..<Int(g.next() % 300)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            } else {
                b = Self.jean + Self.jean + [0, 0]
                for _ in 0..<(1 + Int(g.next() % 4)) {
                    b[Int(g.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: g.next())
                }
                b = Array(b.prefix(Int(g.next() % UInt64(b.count + 1))))
            }
            let ended = g.next() % 2 == 0
            switch Vitale2TemplateScan.scan(b, fileEnded: ended) {
            case .complete(let end, let n):
                #expect(end <= b.count && n >= 0)
            case .needMore(let through, let start, let templateEnd, _):
                #expect(!ended && through > b.count && start <= b.count)
                if let e = templateEnd { #expect(e == through && e <= Vitale2TemplateScan.maximumFileSize) }
            case .corrupted(let why):
                #expect(!why.isEmpty)
            }
        }
    }
}
