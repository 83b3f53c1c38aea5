import Testing
@testable import INS

@Suite struct INSOIDTests {
    @Test func oidsOfTheSpec() {
        #expect(INSOID.insc == "1.2.250.1.213.1.4.2")
        #expect(INSOID.nir == "1.2.250.1.213.1.4.8")
        #expect(INSOID.nia == "1.2.250.1.213.1.4.9")
        #expect(INSOID.testNIR == "1.2.250.1.213.1.4.10")
        #expect(INSOID.demoNIR == "1.2.250.1.213.1.4.11")
        #expect(INSAuthority.allCases.map(\.oid) == [INSOID.nir, INSOID.nia, INSOID.testNIR, INSOID.demoNIR])
    }
}
