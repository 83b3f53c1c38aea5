// libFuzzer target: the JSON bodies of the local API (TerminalAPIBodies: `POST /v1/readers/{id}/pin`,
// `POST /v1/badges/enrol`, the simulator actions), decoded with JSONDecoder and validated as TerminalAPI does.
// Every input goes into every body type: a decoded body encodes and decodes back to itself, a PIN that passes
// validation is 4 to 12 ASCII digits and never shows them, and a refusal is `.badRequest` without the digits.
// TerminalAPIBodies.swift, PINCode.swift and TerminalError.swift are compiled into this target (scripts/fuzz.sh).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAPIJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let d = Data(fuzzBytes(data, size))
    guard d.count <= TerminalAPIBodies.maxBytes else { return 0 }  // longer bodies are refused before decoding

    do {
        let pin = try TerminalAPIBodies.pin(from: d)
        invariant((4...12).contains(pin.digits.count), "a \(pin.digits.count)-digit PIN accepted")
        invariant(pin.digits.allSatisfy { (0x30...0x39).contains($0) }, "a PIN with a non-digit accepted")
        invariant("\(pin)" == "PIN(****)" && String(reflecting: pin) == "PIN(****)", "the PIN shows its digits")
        let body = try TerminalAPIBodies.decode(TerminalAPIBodies.PIN.self, from: d)
        invariant(Array(body.pin.utf8) == pin.digits, "the PIN differs from the body's")
    } catch {
        refusal(error)
    }
    roundTrip(TerminalAPIBodies.PIN.self, d)
    do {
        let e = try TerminalAPIBodies.badgeEnrolment(from: d)
        invariant(e == (try? TerminalAPIBodies.badgeEnrolment(from: d)), "two decodings differ")
    } catch {
        refusal(error)
    }
    roundTrip(TerminalAPIBodies.BadgeEnrolment.self, d)
    let action = TerminalAPIBodies.simulatorAction(from: d)
    invariant(action == TerminalAPIBodies.simulatorAction(from: d), "two decodings differ")
    roundTrip(TerminalAPIBodies.SimulatorAction.self, d)
    return 0
}

/// A refused body: `.badRequest`, with a message that repeats nothing of the body (no run of 4 digits).
func refusal(_ e: TerminalError) {
    guard case .badRequest(let message) = e else {
        invariant(false, "a body refused with \(e) instead of .badRequest")
        return
    }
    var run = 0
    for c in message.unicodeScalars {
        run = ("0"..."9").contains(c) ? run + 1 : 0
        invariant(run < 4, "the refusal repeats digits of the body: \(message)")
    }
}

/// A body that decodes encodes to JSON that decodes to the same body.
func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ d: Data) {
    guard let v = try? TerminalAPIBodies.decode(T.self, from: d) else { return }
    guard let json = try? JSONEncoder().encode(v) else {
        invariant(false, "a decoded \(T.self) does not encode")
        return
    }
    let again = try? TerminalAPIBodies.decode(T.self, from: json)
    invariant(again == v, "\(T.self) does not survive encode → decode")
}
