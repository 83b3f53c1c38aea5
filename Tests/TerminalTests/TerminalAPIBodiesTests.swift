import Foundation
import ISO7816
import Testing

@testable import Terminal

/// The API's JSON bodies apart from HTTP (`TerminalAPIBodies`): the bodies of docs/openapi.yaml and their refusals,
/// then a no-crash pass over mutated bodies (deterministic seed). The fuzz target `api-json` goes further.
@Suite("API JSON bodies")
struct TerminalAPIBodiesTests {
    @Test("PIN bodies: 4 to 12 ASCII digits, refusals say why without the digits", arguments: [
        (#"{"pin":"4321"}"#, "4321"), (#"{"pin":"123456789012"}"#, "123456789012"), (#"{"pin":"\u0034321"}"#, "4321"),
        (#"{"pin":"43a1"}"#, "the PIN must be 4 to 12 digits"), (#"{"pin":"123"}"#, "the PIN must be 4 to 12 digits"),
        (#"{"pin":"1234567890123"}"#, "the PIN must be 4 to 12 digits"),
        // Arabic-Indic digits are digits to Unicode, not to a card.
        (#"{"pin":"٤٣٢١"}"#, "the PIN must be 4 to 12 digits"),
        (#"{"pin":4321}"#, "the JSON body has a value of the wrong type at 'pin'"),
        (#"{"pin":null}"#, "the JSON body has a value of the wrong type at 'pin'"),
        ("{}", "the JSON body has no 'pin'"), (#"{"pin":"4321""#, "the body is not JSON of the expected shape"),
        ("", "the body is not JSON of the expected shape"), ("[]", "the JSON body must be an object"),
        ("\"4321\"", "the JSON body must be an object"),
    ])
    func pin(body: String, expected: String) {
        do {
            let pin = try TerminalAPIBodies.pin(from: Data(body.utf8))
            #expect(pin.digits == Array(expected.utf8))
            #expect("\(pin)" == "PIN(****)")
        } catch {
            #expect(error == .badRequest(expected))
        }
    }

    @Test("Badge enrolment and simulator bodies")
    func enrolmentAndSimulator() throws {
        #expect(try TerminalAPIBodies.badgeEnrolment(from: Data(#"{"session":"r1-1","badgeReader":"r3"}"#.utf8))
            == .init(session: "r1-1", badgeReader: "r3"))
        #expect(try TerminalAPIBodies.badgeEnrolment(from: Data(#"{"session":"r1-1"}"#.utf8))
            == .init(session: "r1-1", badgeReader: nil))
        #expect(throws: TerminalError.badRequest("the JSON body has no 'session'")) {
            try TerminalAPIBodies.badgeEnrolment(from: Data(#"{"uid":"045A3C12B26E80"}"#.utf8))
        }
        #expect(throws: TerminalError.badRequest("the JSON body has a value of the wrong type at 'session'")) {
            try TerminalAPIBodies.badgeEnrolment(from: Data(#"{"session":1}"#.utf8))
        }
        #expect(TerminalAPIBodies.simulatorAction(from: Data(#"{"persona":"cps3-moreau-pharmacist"}"#.utf8))
            == .init(persona: "cps3-moreau-pharmacist", digits: nil))
        #expect(TerminalAPIBodies.simulatorAction(from: Data(#"{"digits":"1234","extra":[1]}"#.utf8))
            == .init(persona: nil, digits: "1234"))
        // No body (remove, unplug, plug) and a malformed one are the empty action.
        #expect(TerminalAPIBodies.simulatorAction(from: Data()) == .init())
        #expect(TerminalAPIBodies.simulatorAction(from: Data("{\"persona\":".utf8)) == .init())
    }

    @Test("No crash over 20,000 mutated bodies; an accepted PIN is always 4 to 12 ASCII digits")
    func mutated() {
        var rng = SplitMix64(seed: 0x0A91_5EED)
        let seeds = [#"{"pin":"4321"}"#, #"{"session":"r1-1","badgeReader":"r3"}"#, #"{"persona":"p","digits":"1"}"#,
                     #"[{"a":[1,2.5e3,true,null,"\ud83d\ude00"]}]"#].map { Array($0.utf8) }
        let alphabet = Array(#"{}[]":,\ 0123456789.eE+-truefalsnul"pin"session"#.utf8) + [0x00, 0xFF, 0xC3, 0xA9]
        var accepted = 0
        for i in 0..<20_000 {
            var b = seeds[i % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count))
                switch rng.next() % 3 {
                case 0 where !b.isEmpty: b[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: b.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: if !b.isEmpty { b.remove(at: at) }
                }
            }
            let d = Data(b)
            if let pin = try? TerminalAPIBodies.pin(from: d) {
                accepted += 1
                #expect((4...12).contains(pin.digits.count) && pin.digits.allSatisfy { (0x30...0x39).contains($0) })
            }
            _ = try? TerminalAPIBodies.badgeEnrolment(from: d)
            _ = TerminalAPIBodies.simulatorAction(from: d)
        }
        #expect(accepted > 0)
    }
}
