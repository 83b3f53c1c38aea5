import ISO7816
import Testing
@testable import CardSimulator

@Suite struct CardOSSelectTests {
    @Test func selectMFAnswersFCIOrFCPOrNothing() {
        let os = makeTestOS()
        #expect(os.send("00 A4 00 00 02 3F 00") == "6F 0A 82 01 38 83 02 3F 00 8A 01 05 90 00")
        #expect(os.send("00 A4 00 00 02 3F 00 00") == "6F 0A 82 01 38 83 02 3F 00 8A 01 05 90 00")
        #expect(os.send("00 A4 00 04 02 3F 00 00") == "62 0A 82 01 38 83 02 3F 00 8A 01 05 90 00")
        #expect(os.send("00 A4 00 0C 02 3F 00") == "90 00")
        #expect(os.send("00 A4 00 0C") == "90 00")
    }

    @Test func selectEFGivesFCPWithSizeDescriptorFIDSFIAndLifeCycle() {
        let os = makeTestOS()
        #expect(os.send("00 A4 02 04 02 2F 00 00") == "62 11 80 02 00 14 82 01 01 83 02 2F 00 88 01 F0 8A 01 05 90 00")
        #expect(os.send("00 A4 02 00 02 2F 00") == "6F 11 80 02 00 14 82 01 01 83 02 2F 00 88 01 F0 8A 01 05 90 00")
        #expect(os.currentEF?.fid == 0x2F00)
    }

    @Test func selectByNameExactAndTruncated() {
        let os = makeTestOS()
        #expect(os.send("00 A4 04 0C 06 A0 00 00 00 01 02") == "90 00")
        #expect(os.currentDF.fid == 0x1000)
        #expect(os.send("00 A4 03 0C") == "90 00")
        #expect(os.currentDF.fid == 0x3F00)
        #expect(os.send("00 A4 04 0C 05 A0 00 00 00 01") == "90 00")
        #expect(os.currentDF.fid == 0x1000)
        #expect(os.send("00 A4 04 00 05 A0 00 00 00 09") == "6A 82")
    }

    @Test func selectChildDFParentAndPaths() {
        let os = makeTestOS()
        #expect(os.send("00 A4 01 0C 02 10 00") == "90 00")
        #expect(os.send("00 A4 01 0C 02 2F 00") == "6A 82")
        #expect(os.send("00 A4 03 0C") == "90 00")
        #expect(os.send("00 A4 03 0C") == "6A 82")
        #expect(os.send("00 A4 08 0C 04 10 00 10 01") == "90 00")
        #expect(os.send("00 B0 00 00 05") == "48 45 4C 4C 4F 90 00")
        #expect(os.send("00 A4 09 0C 06 3F 00 10 00 10 01") == "90 00")
        #expect(os.currentEF?.fid == 0x1001)
        #expect(os.send("00 A4 08 0C 04 10 00 99 99") == "6A 82")
        #expect(os.send("00 A4 02 0C 02 99 99") == "6A 82")
        #expect(os.send("00 A4 02 0C 03 2F 00 01") == "6A 87")
        #expect(os.send("00 A4 05 0C 02 2F 00") == "6A 86")
        #expect(os.send("00 A4 00 02 02 3F 00") == "6A 86")
    }
}

@Suite struct CardOSReadTests {
    @Test func readBinaryOffsetFormAndEndOfFile() {
        let os = makeTestOS()
        #expect(os.send("00 B0 00 00 01") == "69 86")  // no current EF
        _ = os.send("00 A4 02 0C 02 2F 00")
        #expect(os.send("00 B0 00 02 04") == "02 03 04 05 90 00")
        #expect(os.send("00 B0 00 10 08") == "10 11 12 13 62 82")
        #expect(os.send("00 B0 00 10 00") == "10 11 12 13 90 00")
        #expect(os.send("00 B0 00 14 01") == "6B 00")
        #expect(os.send("00 B0 00 00") == "67 00")
    }

    @Test func readBinarySFIFormSelectsTheEF() {
        let os = makeTestOS()
        #expect(os.send("00 B0 9E 00 02") == "00 01 90 00")
        #expect(os.currentEF?.fid == 0x2F00)
        #expect(os.send("00 B0 81 00 05") == "6A 82")
        _ = os.send("00 A4 04 0C 06 A0 00 00 00 01 02")
        #expect(os.send("00 B0 81 00 05") == "48 45 4C 4C 4F 90 00")
        #expect(os.send("00 B0 82 00 01") == "6A 82")
        #expect(os.send("00 B0 C1 00 01") == "6A 86")
    }

    @Test func readRecordBySFIAndErrors() {
        let os = makeTestOS()
        #expect(os.send("00 B2 02 14 00") == "0A 0B 0C 0D 90 00")
        #expect(os.send("00 B2 01 14 00") == "01 02 03 90 00")
        #expect(os.send("00 B2 01 04 00") == "01 02 03 90 00")  // current EF
        #expect(os.send("00 B2 03 14 00") == "6A 83")
        #expect(os.send("00 B2 01 15 00") == "6A 86")
        #expect(os.send("00 B0 82 00 01") == "69 81")
        #expect(os.send("00 B2 01 EC 00") == "6A 82")
    }

    @Test func getDataAnswersRegisteredObjects() {
        let os = makeTestOS()
        os.dataObjects[0x9F7F] = [0x01, 0x02]
        os.oddDataObjects[h("3F FF 4D 02 70 00")] = [0x70, 0x00]
        #expect(os.send("00 CA 9F 7F 00") == "01 02 90 00")
        #expect(os.send("00 CA 01 01 00") == "6A 88")
        #expect(os.send("00 CB 3F FF 04 4D 02 70 00 00") == "70 00 90 00")
        #expect(os.send("00 CB 3F FF 04 4D 02 71 00 00") == "6A 88")
    }

    @Test func classInstructionAndLengthErrors() {
        let os = makeTestOS()
        #expect(os.send("80 A4 00 0C 02 3F 00") == "6E 00")
        #expect(os.send("FF CA 00 00 00") == "6E 00")
        #expect(os.send("01 A4 00 0C 02 3F 00") == "68 81")
        #expect(os.send("0C A4 00 0C 02 3F 00") == "68 82")
        #expect(os.send("00 12 00 00") == "6D 00")
        #expect(os.send("00 61 00 00") == "6D 00")
        #expect(os.send("00 A4") == "67 00")
        #expect(os.send("00 A4 00 00 05 3F") == "67 00")
    }
}

@Suite struct CardOSWriteAndPINTests {
    @Test func updateBinaryNeedsThePIN() {
        let os = makeTestOS()
        #expect(os.send("00 A4 02 0C 02 00 11") == "90 00")
        #expect(os.send("00 D6 00 00 02 AA BB") == "69 82")
        #expect(os.send("00 B0 00 00 03") == "69 82")
        #expect(os.send("00 20 00 81 04 31 32 33 34") == "90 00")
        #expect(os.send("00 D6 00 00 02 AA BB") == "90 00")
        #expect(os.send("00 B0 00 00 03") == "AA BB 00 90 00")
        #expect(os.send("00 D6 00 07 02 01 02") == "6A 84")
        #expect(os.send("00 D6 00 09 01 01") == "6B 00")
        _ = os.send("00 A4 02 0C 02 2F 00")
        #expect(os.send("00 D6 00 00 01 01") == "69 82")  // never
    }

    @Test func verifyCountsDownBlocksAndEmptyVerifyReportsTries() {
        let os = makeTestOS()
        #expect(os.send("00 20 00 81") == "63 C3")
        #expect(os.send("00 20 00 81 04 31 31 31 31") == "63 C2")
        #expect(os.send("00 20 00 81") == "63 C2")
        #expect(os.send("00 20 00 81 08 31 32 33 34 FF FF FF FF") == "90 00")  // padded block, counter back to 3
        #expect(os.send("00 20 00 81") == "90 00")
        #expect(os.send("00 20 FF 81") == "90 00")  // de-verify
        #expect(os.send("00 20 00 81") == "63 C3")
        #expect(os.send("00 20 00 81 04 30 30 30 30") == "63 C2")
        #expect(os.send("00 20 00 81 04 30 30 30 30") == "63 C1")
        #expect(os.send("00 20 00 81 04 30 30 30 30") == "63 C0")
        #expect(os.send("00 20 00 81 04 31 32 33 34") == "69 83")
        #expect(os.send("00 20 00 81") == "69 83")
        #expect(os.send("00 20 00 05") == "6A 88")
        #expect(os.send("00 20 01 81") == "6A 86")
    }

    @Test func resetRetryCounterWithPUKAndNewPIN() {
        let os = makeTestOS()
        for _ in 0..<3 { _ = os.send("00 20 00 81 04 30 30 30 30") }
        #expect(os.send("00 2C 00 81 0C 31 32 33 34 35 36 37 30 34 33 32 31") == "63 C9")  // wrong PUK
        #expect(os.send("00 2C 00 81 0C 31 32 33 34 35 36 37 38 34 33 32 31") == "90 00")
        #expect(os.send("00 20 00 81 04 34 33 32 31") == "90 00")
    }

    @Test func resetRetryCounterAfterPUKVerification() {
        let os = makeTestOS()
        for _ in 0..<3 { _ = os.send("00 20 00 81 04 30 30 30 30") }
        #expect(os.send("00 2C 02 81 04 35 35 35 35") == "69 82")
        #expect(os.send("00 20 00 82 08 31 32 33 34 35 36 37 38") == "90 00")
        #expect(os.send("00 2C 02 81 04 35 35 35 35") == "90 00")
        #expect(os.send("00 20 00 81 04 35 35 35 35") == "90 00")
        #expect(os.send("00 2C 01 81 08 31 32 33 34 35 36 37 38") == "90 00")
        #expect(os.send("00 2C 03 81") == "90 00")
        #expect(os.send("00 2C 04 81") == "6A 86")
    }

    @Test func changeReferenceDataBothForms() {
        let os = makeTestOS()
        #expect(os.send("00 24 00 81 08 31 32 33 35 39 38 37 36") == "63 C2")
        #expect(os.send("00 24 00 81 08 31 32 33 34 39 38 37 36") == "90 00")
        #expect(os.send("00 20 00 81 04 39 38 37 36") == "90 00")
        os.reset()
        #expect(os.send("00 24 01 81 04 31 31 31 31") == "69 82")
        _ = os.send("00 20 00 81 04 39 38 37 36")
        #expect(os.send("00 24 01 81 02 31 31") == "6A 80")
        #expect(os.send("00 24 01 81 04 31 31 31 31") == "90 00")
    }

    @Test func resetClearsSecurityStatusButNotCounters() {
        let os = makeTestOS()
        _ = os.send("00 20 00 81 04 30 30 30 30")
        _ = os.send("00 A4 04 0C 06 A0 00 00 00 01 02")
        _ = os.send("00 20 00 81 04 31 32 33 34")
        _ = os.send("00 20 00 81 04 30 30 30 30")
        os.reset()
        #expect(os.verifiedReferences.isEmpty)
        #expect(os.currentDF.fid == 0x3F00)
        #expect(os.send("00 20 00 81") == "63 C2")
    }

    @Test func getChallengeIsDeterministicPerSeed() {
        let a = makeTestOS(), b = makeTestOS()
        let ra = a.process(h("00 84 00 00 08")), rb = b.process(h("00 84 00 00 08"))
        #expect(ra.count == 10)
        #expect(Array(ra.suffix(2)) == [0x90, 0x00])
        #expect(ra == rb)
        #expect(a.lastChallenge == Array(ra.prefix(8)))
        #expect(a.send("00 84 00 00") == "67 00")
        #expect(a.send("00 84 01 00 08") == "6A 86")
    }
}

@Suite struct CardOSStrictT0Tests {
    @Test func case4And3AnswerSixtyOneThenGetResponse() {
        let os = makeTestOS(mode: .strictT0)
        #expect(os.send("00 A4 00 00 02 3F 00") == "61 0C")
        #expect(os.send("00 C0 00 00 20") == "6C 0C")
        #expect(os.send("00 C0 00 00 04") == "6F 0A 82 01 61 08")
        #expect(os.send("00 C0 00 00 08") == "38 83 02 3F 00 8A 01 05 90 00")
        #expect(os.send("00 C0 00 00 08") == "69 85")
        #expect(os.send("00 A4 00 00 02 3F 00 00") == "61 0C")
        #expect(os.send("00 B0 9E 00 01") == "00 90 00")  // any other command drops pending data
        #expect(os.send("00 C0 00 00 0C") == "69 85")
    }

    @Test func wrongLeAnswersSixC() {
        let os = makeTestOS(mode: .strictT0)
        #expect(os.send("00 B0 9E 00 00") == "6C 14")
        #expect(os.send("00 B0 9E 00 14") == "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 90 00")
        #expect(os.send("00 B0 9E 10 08") == "6C 04")
        #expect(os.send("00 B0 9E 00 02") == "00 01 90 00")
        #expect(os.send("00 A4 00 0C 02 3F 00") == "90 00")
    }
}

@Suite struct CardOSExtensionTests {
    @Test func registeredHandlerWithCommandChaining() {
        let os = makeTestOS()
        os.chainableInstructions = [0x2A]
        os.register(ins: 0x2A) { _, c in ResponseAPDU(data: c.data.reversed(), statusWord: .success) }
        #expect(os.send("10 2A 00 00 02 01 02") == "90 00")
        #expect(os.send("00 2A 00 00 02 03 04 00") == "04 03 02 01 90 00")
        #expect(os.send("00 2A 00 00 01 05 00") == "05 90 00")
        #expect(os.send("10 B0 00 00 00") == "68 84")
    }

    final class DummyKey: CardKey {
        let reference: UInt8 = 0x81
        let useCondition = AccessCondition.pin(0x81)
    }

    @Test func keyStoreAndSecurityEnvironmentAreReachableAndSEIsVolatile() {
        let os = makeTestOS()
        os.keyStore.register(DummyKey())
        os.securityEnvironment.templates[0xB6] = [0x84: [0x81]]
        #expect(os.keyStore[0x81]?.useCondition == .pin(0x81))
        os.reset()
        #expect(os.securityEnvironment.templates.isEmpty)
        #expect(os.keyStore[0x81] != nil)
    }

    @Test func randomAndMutatedAPDUsNeverCrash() {
        var g = SplitMix64(seed: 7816)
        let insList: [UInt8] = [0xA4, 0xB0, 0xB2, 0xD6, 0xCA, 0xCB, 0x20, 0x24, 0x2C, 0x84, 0xC0, 0x2A, 0x00, 0xFF]
        var bad = 0
        for mode in T0Mode.allCases {
            let os = makeTestOS(mode: mode)
            for _ in 0..<20000 {
                let len = Int(g.next() % 300)
                var b = (0..<len).map { _ in UInt8(truncatingIfNeeded: g.next()) }
                if b.count > 1 && g.next() % 2 == 0 { b[0] = g.next() % 4 == 0 ? 0x10 : 0x00 }
                if b.count > 2 { b[1] = insList[Int(g.next() % UInt64(insList.count))] }
                if b.count > 5 && g.next() % 2 == 0 { b[4] = UInt8(truncatingIfNeeded: b.count - 5) }
                let r = os.process(b)
                if r.count < 2 { bad += 1 }
                if g.next() % 500 == 0 { os.reset() }
            }
        }
        #expect(bad == 0)
    }
}

@Suite struct ManageSecurityEnvironmentTests {
    final class Key: CardKey {
        let reference: UInt8
        let useCondition = AccessCondition.pin(0x81)
        init(_ r: UInt8) { reference = r }
    }

    @Test func mseSetStoresTemplatesWithTagsInEitherOrder() {
        let os = makeTestOS()
        #expect(os.send("00 22 41 B6 06 80 01 42 84 01 81") == "6D 00")
        ISOCommands.installManageSecurityEnvironment(into: os)
        os.keyStore.register(Key(0x81))
        #expect(os.send("00 22 41 B6 06 84 01 81 80 01 42") == "90 00")
        #expect(os.securityEnvironment.templates[0xB6] == [0x80: [0x42], 0x84: [0x81]])
        #expect(os.send("00 22 41 AA 03 80 01 40") == "90 00")
        #expect(os.send("00 22 41 A4 06 80 01 42 84 01 82") == "6A 88")
        #expect(os.send("00 22 41 A5 03 80 01 40") == "6A 86")
        #expect(os.send("00 22 41 B6 03 80 05 40") == "6A 80")
        #expect(os.send("00 22 F3 01") == "90 00")
        #expect(os.securityEnvironment.templates.isEmpty)
    }
}
