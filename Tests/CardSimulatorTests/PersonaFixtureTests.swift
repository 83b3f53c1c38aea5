import Foundation
import Testing
@testable import CardSimulator

@Suite struct PersonaFixtureTests {
    @Test func personasFileIsBundled() throws {
        let url = try #require(Bundle.module.url(forResource: "personas", withExtension: "json"))
        let data = try Data(contentsOf: url)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let patients = try #require(json["patients"] as? [[String: Any]])
        #expect(patients.first?["id"] as? String == "vitale2-martin")
    }
}
