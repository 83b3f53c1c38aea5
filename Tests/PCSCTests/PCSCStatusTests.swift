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
}
