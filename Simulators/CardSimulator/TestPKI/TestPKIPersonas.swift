import Foundation

/// The parts of `personas.json` (`professionals[*]`, `testPKI`) the test PKI needs.
struct TestPKIFixture: Decodable {
    struct Situation: Decodable {
        var idStruct: String?
        var raisonSociale: String?
    }
    struct CertificateStatus: Decodable {
        var status: String
        var reason: String?
    }
    struct Professional: Decodable {
        var id: String
        var cardType: String
        var interfaces: [String]?
        var idNatType: Int?
        var rpps: String?
        var idNat: String?
        var nomExercice: String
        var prenomExercice: String
        var professionLabel: String?
        var situations: [Situation]?
        var certificates: CertificateStatus?

        /// National identifier as the certificate CN carries it: `8` + RPPS for a CPS, the persona's idNat for a CPE.
        var nationalID: String {
            if let idNat { return idNat }
            return "\(idNatType ?? 8)\(rpps ?? "")"
        }
        var hasContactless: Bool { interfaces?.contains("contactless") ?? false }
        var status: String { certificates?.status ?? "valid" }
    }
    struct Names: Decodable {
        var root: String
        var intermediate: String
    }

    var professionals: [Professional]
    var testPKI: Names

    /// The bundled fixture and its raw bytes (their digest keys the cache).
    static func bundled() throws(TestPKI.TestPKIError) -> (TestPKIFixture, Data) {
        guard let url = Bundle.module.url(forResource: "personas", withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { throw .fixture("personas.json is not bundled") }
        do {
            return (try JSONDecoder().decode(TestPKIFixture.self, from: data), data)
        } catch {
            throw .fixture("personas.json: \(error)")
        }
    }
}
