import ISO7816
import Testing

/// PC/SC v2 part 10 structures (spec note §3.3).
@Suite struct PCSCPart10Tests {
    @Test func controlCodes() {
        #expect(PCSCPart10.getFeatureRequest == 0x4200_0D48)
        #expect(PCSCPart10.controlCode(0x33_0006) == 0x4233_0006)
    }

    /// A CCID pinpad reader's answer: VERIFY_PIN_DIRECT 0x42330006, MODIFY_PIN_DIRECT 0x42330007,
    /// IFD_PIN_PROPERTIES 0x4233000A, GET_TLV_PROPERTIES 0x42330012, and an unknown tag 0x7F.
    @Test func featureList() throws {
        let bytes: [UInt8] = [
            0x06, 0x04, 0x42, 0x33, 0x00, 0x06,
            0x07, 0x04, 0x42, 0x33, 0x00, 0x07,
            0x0A, 0x04, 0x42, 0x33, 0x00, 0x0A,
            0x12, 0x04, 0x42, 0x33, 0x00, 0x12,
            0x7F, 0x04, 0x00, 0x00, 0x01, 0x02,
        ]
        let f = try PCSCFeatureList(parsing: bytes)
        #expect(f[.verifyPINDirect] == 0x4233_0006)
        #expect(f[.modifyPINDirect] == 0x4233_0007)
        #expect(f[.ifdPINProperties] == 0x4233_000A)
        #expect(f[.getTLVProperties] == 0x4233_0012)
        #expect(f[.abort] == nil)
        #expect(f.unknown == [0x7F: 0x0102])
        #expect(f.hasPinpad)
        #expect(f.encoded == bytes)
    }

    /// vpcd answers GET_TLV_PROPERTIES only: no pinpad, the caller falls back to keypad entry on screen.
    @Test func vpcdLikeListHasNoPinpad() throws {
        let f = try PCSCFeatureList(parsing: [0x12, 0x04, 0x42, 0x00, 0x00, 0x12])
        #expect(!f.hasPinpad)
        #expect(f[.getTLVProperties] == 0x4200_0012)
        #expect(try PCSCFeatureList(parsing: []).controlCodes.isEmpty)
    }

    @Test func malformedFeatureLists() {
        #expect(throws: PCSCPart10Error.truncatedTLV(offset: 0)) { try PCSCFeatureList(parsing: [0x06]) }
        #expect(throws: PCSCPart10Error.truncatedTLV(offset: 6)) {
            try PCSCFeatureList(parsing: [0x06, 0x04, 0x42, 0x33, 0x00, 0x06, 0x07, 0x04, 0x42])
        }
        #expect(throws: PCSCPart10Error.badFeatureLength(tag: 0x06, length: 2)) {
            try PCSCFeatureList(parsing: [0x06, 0x02, 0x42, 0x33])
        }
    }

    /// Values are little-endian, the opposite of the feature list.
    @Test func tlvProperties() throws {
        let bytes: [UInt8] = [
            0x01, 0x02, 0x00, 0x00,  // wLcdLayout 0
            0x02, 0x01, 0x02,  // bEntryValidationCondition 2
            0x06, 0x01, 0x04,  // bMinPINSize 4
            0x07, 0x01, 0x08,  // bMaxPINSize 8
            0x0A, 0x04, 0x00, 0x00, 0x01, 0x00,  // dwMaxAPDUDataSize 0x00010000
            0x0B, 0x02, 0xE6, 0x08,  // wIdVendor 0x08E6
            0x08, 0x03, 0x41, 0x42, 0x43,  // sFirmwareID "ABC"
        ]
        let p = try PCSCTLVProperties(parsing: bytes)
        #expect(p.minPINSize == 4)
        #expect(p.maxPINSize == 8)
        #expect(p.maxAPDUDataSize == 65536)
        #expect(p.integer(.wIdVendor) == 0x08E6)
        #expect(p.integer(.bEntryValidationCondition) == 2)
        #expect(p.firmwareID == "ABC")
        #expect(p.integer(.wIdProduct) == nil)
        #expect(
            PCSCTLVProperties.encode([(.bMinPINSize, 4, size: 1), (.dwMaxAPDUDataSize, 65536, size: 4)])
                == [0x06, 0x01, 0x04, 0x0A, 0x04, 0x00, 0x00, 0x01, 0x00])
        #expect(throws: PCSCPart10Error.truncatedTLV(offset: 0)) { try PCSCTLVProperties(parsing: [0x0A, 0x04, 0x00]) }
    }

    /// The golden bytes of the issue: ASCII PIN, min 6 max 15, header 00 20 00 81, no Lc.
    @Test func pinVerifyNoLcGolden() throws {
        let s = try PINVerifyStructure(header: [0x00, 0x20, 0x00, 0x81], format: .ascii, minPIN: 6, maxPIN: 15)
        #expect(
            s.encoded.hexString(separator: " ")
                == "1E 1E 02 00 00 0F 06 02 00 00 00 00 00 00 00 04 00 00 00 00 20 00 81")
    }

    @Test func pinVerifyWithLcPlaceholderGolden() throws {
        let s = try PINVerifyStructure(
            header: [0x00, 0x20, 0x00, 0x81], format: .ascii, minPIN: 6, maxPIN: 15,
            profile: PinpadProfile(lcPlaceholder: true))
        #expect(
            s.encoded.hexString(separator: " ")
                == "1E 1E 02 00 00 0F 06 02 00 00 00 00 00 00 00 05 00 00 00 00 20 00 81 00")
    }

    @Test func pinSizeClampedToReader() throws {
        let reader = try PCSCTLVProperties(parsing: [0x06, 0x01, 0x04, 0x07, 0x01, 0x08])
        let s = try PINVerifyStructure(
            header: [0x00, 0x20, 0x00, 0x81], minPIN: 6, maxPIN: 15, profile: PinpadProfile(properties: reader))
        #expect(s.minPINLength == 6)
        #expect(s.maxPINLength == 8)
        #expect(Array(s.encoded[5...6]) == [0x08, 0x06])
        let tight = PinpadProfile(readerMinPIN: 10, readerMaxPIN: 12)
        #expect(throws: PCSCPart10Error.invalidPINLength(min: 10, max: 8)) {
            try PINVerifyStructure(header: [0x00, 0x20, 0x00, 0x81], minPIN: 4, maxPIN: 8, profile: tight)
        }
        #expect(throws: PCSCPart10Error.invalidAPDUHeader(count: 3)) {
            try PINVerifyStructure(header: [0x00, 0x20, 0x00], minPIN: 4, maxPIN: 8)
        }
    }

    @Test func pinVerifyRoundTrip() throws {
        let s = try PINVerifyStructure(
            header: [0x00, 0x20, 0x00, 0x01], format: .bcd, minPIN: 4, maxPIN: 8,
            profile: PinpadProfile(lcPlaceholder: true), langID: 0x040C)
        let parsed = try PINVerifyStructure(parsing: s.encoded)
        #expect(parsed == s)
        #expect(parsed.pinFormat == .bcd)
        #expect(parsed.apdu == [0x00, 0x20, 0x00, 0x01, 0x00])
        #expect(Array(s.encoded[9...10]) == [0x0C, 0x04])
        #expect(throws: PCSCPart10Error.malformedPINStructure("ulDataLength 5 but 4 bytes follow")) {
            try PINVerifyStructure(parsing: Array(s.encoded.dropLast()))
        }
    }

    /// PIN_MODIFY_STRUCTURE: 24-byte header; CHANGE REFERENCE DATA 00 24 00 81, ASCII, current PIN width 8.
    @Test func pinModifyGolden() throws {
        let s = try PINModifyStructure(
            header: [0x00, 0x24, 0x00, 0x81], format: .ascii, minPIN: 6, maxPIN: 15, currentPINLength: 8)
        #expect(
            s.encoded.hexString(separator: " ")
                == "1E 1E 02 00 00 00 08 0F 06 03 02 00 00 00 00 00 00 00 00 00 04 00 00 00 00 24 00 81")
        #expect(try PINModifyStructure(parsing: s.encoded) == s)
        #expect(throws: PCSCPart10Error.malformedPINStructure("23 bytes, header needs 24")) {
            try PINModifyStructure(parsing: Array(s.encoded.prefix(23)))
        }
    }

    /// Spec note §7.1–7.2 ATRs, and contact ATRs of the personas.
    @Test(arguments: [
        ("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A", true),  // MIFARE Classic 1K
        ("3B 81 80 01 80 80", true),  // DESFire EV1
        ("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E", true),  // CPS3 contactless
        ("3B 75 13 00 00 47 09 EA 90 00", false),  // Vitale 2
        ("3F 65 25 00 2C 09 69 90 00", false),  // Vitale 1
        ("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00", false),  // CPS3 contact
        ("3B 8F 80 01 80", false),  // truncated
        ("3B 80 80 01", false),
    ])
    func contactlessDetection(atr: String, contactless: Bool) {
        #expect(ContactlessATR.isContactless([UInt8](hex: atr)!) == contactless)
    }

    @Test func uidNotAvailableStatusWords() {
        for sw: UInt16 in [0x6A81, 0x6884, 0x6E00, 0x6D00] { #expect(ContactlessATR.meansUIDNotAvailable(StatusWord(sw))) }
        #expect(!ContactlessATR.meansUIDNotAvailable(.success))
        #expect(!ContactlessATR.meansUIDNotAvailable(StatusWord(0x6982)))
        #expect(ContactlessATR.getUIDCommand == [0xFF, 0xCA, 0x00, 0x00, 0x00])
    }

    /// No parser crashes or reads past its input on random bytes (deterministic seed).
    @Test func randomInputsNeverCrash() {
        var rng = SplitMix64(seed: 0xC4A7_7E10)
        var parsed = 0
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 64)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if (try? PCSCFeatureList(parsing: bytes)) != nil { parsed += 1 }
            _ = try? PCSCTLVProperties(parsing: bytes)
            _ = try? PINVerifyStructure(parsing: bytes)
            _ = try? PINModifyStructure(parsing: bytes)
            _ = ContactlessATR.isContactless(bytes)
        }
        #expect(parsed > 0)  // at least the empty inputs parse
    }
}
