// Foundation only (with PINCode.swift and TerminalError.swift): the fuzz target `api-json`
// (Fuzz/Targets/FuzzAPIJSON.swift, scripts/fuzz.sh) compiles this file without the HTTP layer.
import Foundation

/// The JSON bodies the local API accepts (docs/openapi.yaml), decoded and validated apart from the HTTP layer.
/// `TerminalAPI` collects at most `maxBytes` of a request body and hands them here.
enum TerminalAPIBodies {
    /// The largest request body read, in bytes (16 KiB).
    static let maxBytes = 16 * 1024

    /// `POST /v1/readers/{id}/pin`: `{"pin": "<4 to 12 digits>"}`. Never logged.
    struct PIN: Codable, Hashable {
        var pin: String
    }

    /// `POST /v1/badges/enrol`: `{"session": "r1-1", "badgeReader": "r3"}` (`badgeReader` optional).
    struct BadgeEnrolment: Codable, Hashable {
        var session: String
        var badgeReader: String?
    }

    /// `POST /v1/simulator/readers/{id}/{action}` (`--simulate` only): `{"persona": "…"}` for `insert`,
    /// `{"digits": "<the digits typed>"}` for `keypad`, nothing for the other actions.
    struct SimulatorAction: Codable, Hashable {
        var persona: String?
        var digits: String?
    }

    /// Decodes a JSON body of type `T` (RFC 8259 text, UTF-8).
    /// - Throws: `TerminalError.badRequest` saying what is wrong (not JSON, wrong shape, missing key).
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(TerminalError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw .badRequest("the JSON body has no '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            guard !path.isEmpty else { throw .badRequest("the JSON body must be an object") }
            throw .badRequest("the JSON body has a value of the wrong type at '\(path)'")
        } catch {
            throw .badRequest("the body is not JSON of the expected shape")
        }
    }

    /// The PIN of a `POST /v1/readers/{id}/pin` body.
    /// - Throws: `TerminalError.badRequest` when the body is not `{"pin": "…"}` or the PIN is not 4 to 12 ASCII
    ///   digits. The message never repeats the PIN.
    static func pin(from data: Data) throws(TerminalError) -> PINCode {
        let body = try decode(PIN.self, from: data)
        guard let pin = PINCode(body.pin) else { throw .badRequest("the PIN must be 4 to 12 digits") }
        return pin
    }

    /// A `POST /v1/badges/enrol` body.
    /// - Throws: `TerminalError.badRequest` when the body is not `{"session": "…", "badgeReader": "…"?}`.
    static func badgeEnrolment(from data: Data) throws(TerminalError) -> BadgeEnrolment {
        try decode(BadgeEnrolment.self, from: data)
    }

    /// A simulator action body; an empty, absent or malformed body is the empty action (each action then says
    /// what it lacks).
    static func simulatorAction(from data: Data) -> SimulatorAction {
        (try? decode(SimulatorAction.self, from: data)) ?? SimulatorAction()
    }
}
