import Testing
@testable import CPS
@testable import Vitale
@testable import Badges

@Suite struct ModuleTests {
    @Test func modulesNamed() {
        #expect(VitaleModule.name == "Vitale")
        #expect(CPSModule.name == "CPS")
        #expect(BadgesModule.name == "Badges")
    }
}
