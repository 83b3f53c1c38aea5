import Testing
@testable import VirtualPCD

@Suite struct VPCDControlTests {
    @Test func controlBytes() {
        #expect(VPCDControl.getATR.rawValue == 0x04)
        #expect(VPCDControl(rawValue: 0x02) == .reset)
    }
}
