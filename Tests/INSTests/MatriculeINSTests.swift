import Testing

@testable import INS

@Suite struct MatriculeINSTests {
    @Test func authorityFromTheNumberOrGiven() throws {
        #expect(try MatriculeINS("279035121518989").authority == .nir)
        #expect(try MatriculeINS("479107505612321").authority == .nia)
        #expect(try MatriculeINS("279035121518989", authority: .testNIR).oid == "1.2.250.1.213.1.4.10")
        #expect(try MatriculeINS("279035121518989", authority: .demoNIR).oid == "1.2.250.1.213.1.4.11")
        #expect(try MatriculeINS("279035121518989").oid == "1.2.250.1.213.1.4.8")
        #expect(try MatriculeINS("479107505612321").oid == "1.2.250.1.213.1.4.9")
        #expect(throws: NIRError.keyMismatch(expected: 89, found: 88)) { try MatriculeINS("279035121518988") }
    }

    @Test func neverQualified() throws {
        let m = try MatriculeINS("279035121518989")
        #expect(m.qualification == .notQualified)
        #expect(m.qualification.description == "not qualified: needs the INSi teleservice")
        #expect(m.description == "INS-NIR 2 79 •• •• ••• ••• 89 (not qualified: needs the INSi teleservice)")
    }

    @Test func hl7v2CX() throws {
        // ins.md §2.7 example, test OID .10.
        #expect(try MatriculeINS("279035121518989", authority: .testNIR).hl7v2CX
            == "279035121518989^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS")
        #expect(try MatriculeINS("479107505612321").hl7v2CX
            == "479107505612321^^^ASIP-SANTE-INS-NIA&1.2.250.1.213.1.4.9&ISO^INS")
        // Key given or not, the CX carries all 15 characters.
        #expect(try MatriculeINS("2790351215189").hl7v2CX.hasPrefix("279035121518989^^^"))
    }

    @Test func fhirIdentifiers() throws {
        let t = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
        #expect(try MatriculeINS("279035121518989").fhirIdentifierJSON
            == #"{"use":"official","type":{"coding":[{"system":""# + t + #"","code":"INS-NIR"}]},"system":"urn:oid:1.2.250.1.213.1.4.8","value":"279035121518989"}"#)
        #expect(try MatriculeINS("479107505612321").fhirIdentifierJSON
            == #"{"use":"temp","type":{"coding":[{"system":""# + t + #"","code":"INS-NIA"}]},"system":"urn:oid:1.2.250.1.213.1.4.9","value":"479107505612321"}"#)
        #expect(try MatriculeINS("185022A00401717", authority: .demoNIR).fhirIdentifierJSON
            == #"{"use":"official","type":{"coding":[{"system":""# + t + #"","code":"INS-NIR-DEMO"}]},"system":"urn:oid:1.2.250.1.213.1.4.11","value":"185022A00401717"}"#)
        #expect(try MatriculeINS("185022A00401717", authority: .testNIR).fhirIdentifierJSON.contains(#""code":"INS-NIR-TEST""#))
    }
}
