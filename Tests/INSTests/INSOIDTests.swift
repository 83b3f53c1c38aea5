import Testing
@testable import INS

@Suite struct INSOIDTests {
    @Test func oidsOfTheSpec() {
        #expect(INSOID.insc == "1.2.250.1.213.1.4.2")
        #expect(INSOID.nir == "1.2.250.1.213.1.4.8")
        #expect(INSOID.nia == "1.2.250.1.213.1.4.9")
    }
}
