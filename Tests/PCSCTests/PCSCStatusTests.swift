import CPCSCLite
import ISO7816
import Testing
@testable import PCSC

@Suite struct PCSCStatusTests {
    @Test func removedAndResetAreDistinct() {
        #expect(PCSCStatus.transportError(Int(SCARD_W_REMOVED_CARD)) == .cardRemoved)
        #expect(PCSCStatus.transportError(Int(SCARD_W_RESET_CARD)) == .cardReset)
        #expect(PCSCStatus.transportError(Int(SCARD_E_NO_SERVICE)) == .serviceUnavailable)
        #expect(PCSCStatus.transportError(Int(SCARD_S_SUCCESS)) == nil)
    }

    /// Spec note §3.2 table, code by code.
    @Test(arguments: [
        (0x8010_0068, TransportError.cardReset),
        (0x8010_0069, .cardRemoved),
        (0x8010_000C, .noCard),
        (0x8010_001D, .serviceUnavailable),
        (0x8010_001E, .serviceUnavailable),
        (0x8010_0013, .serviceUnavailable),
        (0x8010_0017, .readerGone("R")),
        (0x8010_0009, .readerGone("R")),
        (0x8010_000A, .timeout),
        (0x8010_0002, .cancelled),
        (0x8010_000B, .busy),
        (0x8010_006A, .permissionDenied("pcscd (polkit) refused access to reader R")),
        (0x8010_0066, .cardMute),
        (0x8010_000F, .protocolMismatch(requested: [.t0], available: [.t1])),
    ])
    func specTable(code: Int, expected: TransportError) {
        #expect(PCSCStatus.transportError(code, reader: "R", requested: [.t0], available: [.t1]) == expected)
    }

    @Test func protocolMismatchSaysWhatWasAskedAndOffered() {
        let e = PCSCStatus.transportError(Int(SCARD_E_PROTO_MISMATCH), requested: [.t0], available: [.t1])
        #expect(e?.description == "protocol T=0 not available (card/reader offers T=1)")
    }

    @Test func permissionDeniedIsNotNoReader() {
        let e = PCSCStatus.transportError(Int(SCARD_W_SECURITY_VIOLATION))
        #expect(e == .permissionDenied("pcscd (polkit) refused access to the smart-card service"))
        #expect(e != .readerGone(""))
    }

    /// Every defined SCARD_* code has a name and maps to something other than a bare code.
    @Test func everyCodeIsNamed() {
        // 60 error constants in pcsclite.h 1.9.9; SCARD_E_UNSUPPORTED_FEATURE shares 0x8010001F with SCARD_E_UNEXPECTED.
        #expect(PCSCStatus.names.count == 59)
        for (code, entry) in PCSCStatus.names {
            #expect(entry.name.hasPrefix("SCARD_"))
            let e = PCSCStatus.transportError(Int(code))
            #expect(e != nil)
            if case .failed(let why) = e { #expect(why.contains(entry.name)) }
        }
        #expect(PCSCStatus.name(Int(SCARD_E_NO_SERVICE)) == "SCARD_E_NO_SERVICE")
        #expect(PCSCStatus.name(0x1234) == "0x1234")
        #expect(PCSCStatus.transportError(0x1234) == .failed("PC/SC error 0x1234"))
        #expect(PCSCStatus.transportError(Int(SCARD_E_INVALID_CHV)) == .failed("invalid PIN (SCARD_E_INVALID_CHV)"))
    }

    @Test func serviceLossCodes() {
        #expect(PCSCStatus.isServiceLoss(Int(SCARD_E_NO_SERVICE)))
        #expect(PCSCStatus.isServiceLoss(Int(SCARD_E_SERVICE_STOPPED)))
        #expect(PCSCStatus.isServiceLoss(Int(SCARD_F_COMM_ERROR)))
        #expect(!PCSCStatus.isServiceLoss(Int(SCARD_W_REMOVED_CARD)))
    }

    /// 64-bit Linux ABI facts the binding relies on (spec note §3.2 "ABI notes").
    @Test func abi() {
        #expect(MemoryLayout<DWORD>.size == 8)
        #expect(MemoryLayout<LONG>.size == 8)
        #expect(MemoryLayout<SCARD_READERSTATE>.size == 8 + 8 + 8 + 8 + 8 + 33 + 7)  // not packed
        #expect(MemoryLayout<SCARD_IO_REQUEST>.size == 16)
    }

    @Test func readerStates() {
        #expect(pcscReaderState(eventState: UInt(SCARD_STATE_EMPTY), atr: []) == .empty)
        #expect(pcscReaderState(eventState: UInt(SCARD_STATE_PRESENT | SCARD_STATE_CHANGED) | 0x0003_0000, atr: [0x3B]) == .present)
        #expect(pcscReaderState(eventState: UInt(SCARD_STATE_PRESENT | SCARD_STATE_EXCLUSIVE), atr: []) == .inUse)
        #expect(pcscReaderState(eventState: UInt(SCARD_STATE_PRESENT | SCARD_STATE_MUTE), atr: []) == .mute)
        #expect(pcscReaderState(eventState: UInt(SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE), atr: []) == .unavailable)
    }

    @Test func multiString() {
        let bytes = Array("Virtual PCD 00 00\0Virtual PCD 00 01\0\0".utf8)
        #expect(splitMultiString(bytes) == ["Virtual PCD 00 00", "Virtual PCD 00 01"])
        #expect(splitMultiString([0]) == [])
        #expect(splitMultiString([]) == [])
    }

    @Test func protocolMasks() {
        #expect(PCSCCard.mask([.t0]) == DWORD(SCARD_PROTOCOL_T0))
        #expect(PCSCCard.mask([.t0, .t1]) == DWORD(SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1))
        #expect(PCSCCard.protocolFromDWORD(DWORD(SCARD_PROTOCOL_T1)) == .t1)
        #expect(PCSCCard.protocolFromDWORD(0) == nil)
    }
}
