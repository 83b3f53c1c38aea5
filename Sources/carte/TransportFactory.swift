import ArgumentParser
import CardSimulator
import ISO7816

/// Why `openTransport` could not give a transport, with the CLI exit code it maps to (cli.md).
enum TransportOpenError: Error, CustomStringConvertible {
    /// The backend is not wired into this build yet (exit 2).
    case notAvailable(String)
    /// The flags do not make sense together, or the persona is unknown (exit 2).
    case usage(String)
    /// The backend failed (no pcscd, reader gone…) (exit 3).
    case failure(String)

    var description: String {
        switch self {
        case .notAvailable(let s), .usage(let s), .failure(let s): return s
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .notAvailable, .usage: return CarteExit.usage
        case .failure: return CarteExit.failure
        }
    }
}

/// Opens the reader backend for a command (`--transport`, `--reader`, `--simulate`; cli.md conventions).
///
/// INTEGRATION HOOK: `sim` and `--simulate PERSONA` give an in-process `SimulatedReader` holding that persona's card.
/// `pcsc` (the PC/SC binding of branch `pcsc`), `usb` and `usb-sim` (the CCID driver) are to be wired here by the
/// integrator; until then they answer "not available yet" (exit 2).
/// - Parameters:
///   - choice: the backend (`--transport`, default `pcsc`).
///   - reader: the reader name (`--reader`); for the simulator, the simulated reader's name.
///   - simulate: a persona id of personas.json (`--simulate`); implies the simulator whatever `choice` says.
/// - Throws: `TransportOpenError`.
func openTransport(choice: TransportChoice, reader: String?, simulate: String?) async throws(TransportOpenError)
    -> any CardTransport
{
    if simulate != nil || choice == .sim {
        guard let persona = simulate else {
            throw .usage("--transport sim needs --simulate PERSONA (see carte simulate --list)")
        }
        let r = SimulatedReader(name: reader ?? "Carte simulated reader 00")
        do { try await r.insert(persona: persona) } catch { throw .usage(error.description) }
        return r
    }
    switch choice {
    case .pcsc: throw .notAvailable("the pcsc transport is not wired into this command yet; use --simulate PERSONA")
    case .usb, .usbSim: throw .notAvailable("the \(choice.rawValue) transport is not wired into this command yet; use --simulate PERSONA")
    case .sim: throw .usage("--transport sim needs --simulate PERSONA")
    }
}
