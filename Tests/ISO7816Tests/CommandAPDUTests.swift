import Testing
@testable import ISO7816

@Suite struct CommandAPDUTests {
    @Test func case1() throws {
        let c = CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x00, p2: 0x0C)
        #expect(c.isoCase == 1)
        #expect(try c.encoded() == [0x00, 0xA4, 0x00, 0x0C])
        #expect(try CommandAPDU(decoding: [0x00, 0xA4, 0x00, 0x0C]) == c)
    }

    @Test func case2ShortNe256IsEncoded00() throws {
        let c = CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 256)
        #expect(try c.encoded() == [0x00, 0xB0, 0x00, 0x00, 0x00])
        #expect(try CommandAPDU(decoding: [0x00, 0xB0, 0x00, 0x00, 0x00]).ne == 256)
    }

    @Test func case2ExtendedNe65536IsEncoded0000() throws {
        let c = CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 65536)
        #expect(try c.encoded() == [0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00])
        let d = try CommandAPDU(decoding: [0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(d.ne == 65536)
        #expect(d.data.isEmpty)
    }

    @Test func case3And4Short() throws {
        let select = CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: [0xA0, 0x00, 0x00, 0x00, 0x01], ne: 256)
        #expect(try select.encoded() == [0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x00, 0x01, 0x00])
        #expect(select.isoCase == 4)
        let d = try CommandAPDU(decoding: [0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x00, 0x01, 0x00])
        #expect(d == select)
        let c3 = try CommandAPDU(decoding: [0x00, 0x20, 0x00, 0x01, 0x02, 0x31, 0x32])
        #expect(c3.isoCase == 3)
        #expect(c3.data == [0x31, 0x32])
    }

    @Test func case4Extended() throws {
        let data = [UInt8](repeating: 0xAB, count: 300)
        let c = CommandAPDU(cla: 0x00, ins: 0x2A, p1: 0x80, p2: 0x86, data: data, ne: 65536)
        let enc = try c.encoded()
        #expect(Array(enc[0..<7]) == [0x00, 0x2A, 0x80, 0x86, 0x00, 0x01, 0x2C])
        #expect(Array(enc.suffix(2)) == [0x00, 0x00])
        #expect(enc.count == 4 + 3 + 300 + 2)
        #expect(try CommandAPDU(decoding: enc) == c)
    }

    @Test func shortFormRefusedWhenTooLong() {
        let c = CommandAPDU(ins: 0xD6, p1: 0, p2: 0, data: [UInt8](repeating: 0, count: 256))
        #expect(throws: APDUError.needsExtendedLength(nc: 256, ne: nil)) { try c.encoded(extended: false) }
    }

    @Test func malformedInputsAreErrors() {
        #expect(throws: APDUError.tooShort(count: 3)) { try CommandAPDU(decoding: [0x00, 0xA4, 0x00]) }
        #expect(throws: APDUError.lengthMismatch(declared: 5, available: 2)) {
            try CommandAPDU(decoding: [0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00])
        }
        #expect(throws: APDUError.malformedExtendedLength) {
            try CommandAPDU(decoding: [0x00, 0xA4, 0x04, 0x00, 0x00, 0x00])
        }
        #expect(throws: APDUError.invalidNe(0)) { try CommandAPDU(ins: 0xB0, p1: 0, p2: 0, ne: 0).encoded() }
    }

    @Test func responseSplitsStatusWord() throws {
        let r = try ResponseAPDU(decoding: [0x01, 0x02, 0x63, 0xC2])
        #expect(r.data == [0x01, 0x02])
        #expect(r.statusWord.meaning == .verificationFailed(triesLeft: 2))
        #expect(r.statusWord.meaning.isWrongPIN)
        #expect(throws: APDUError.responseTooShort(count: 1)) { try ResponseAPDU(decoding: [0x90]) }
    }

    @Test func readerPinpadAnswersAreNeverWrongPIN() {
        #expect(StatusWord(0x6401).meaning == .pinEntryCancelled)
        #expect(StatusWord(0x6400).meaning == .pinEntryTimeout)
        #expect(StatusWord(0x6402).meaning == .pinsDiffer)
        #expect(StatusWord(0x6403).meaning == .pinLengthOutOfRange)
        #expect(StatusWord(0x6480).meaning == .readerRefused(0x80))
        for v: UInt16 in [0x6400, 0x6401, 0x6402, 0x6403, 0x6480] {
            #expect(!StatusWord(v).meaning.isWrongPIN)
            #expect(StatusWord(v).meaning.isReaderOutcome)
        }
    }

    @Test func hexRoundTrip() {
        #expect([UInt8](hex: "3B 75 13 00") == [0x3B, 0x75, 0x13, 0x00])
        #expect([UInt8](hex: "3b7513") == [0x3B, 0x75, 0x13])
        #expect([UInt8](hex: "3B7") == nil)
        #expect([UInt8](hex: "ZZ") == nil)
        #expect([0x3B, 0x75].hexString(separator: " ") == "3B 75")
    }
}
