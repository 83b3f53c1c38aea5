import ArgumentParser
import Foundation
import CCID
import CCIDDevice
import CardSimulator
import ISO7816
import PCSC

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
/// - `sim` (or `--simulate PERSONA` with `pcsc`/`sim`): an in-process `SimulatedReader` holding that persona's card.
/// - `pcsc`: the PC/SC binding (`PCSCCard`); `--reader` picks the reader by name, else the first reader with a card.
/// - `usb`: the USB CCID driver over libusb (no pcscd); `--reader` picks a reader by name, else the first one.
/// - `usb-sim` with `--simulate PERSONA`: the CCID driver talking to a simulated CCID device holding that persona's
///   card; `--reader apdu|extended-apdu|tpdu` picks the simulated reader's exchange level (default `apdu`).
/// - Parameters:
///   - choice: the backend (`--transport`, default `pcsc`).
///   - reader: the reader name (`--reader`).
///   - simulate: a persona id of personas.json (`--simulate`).
/// - Throws: `TransportOpenError` (`usage` → exit 2, `failure` → exit 3).
func openTransport(choice: TransportChoice, reader: String?, simulate: String?) async throws(TransportOpenError)
    -> any CardTransport
{
    switch choice {
    case .usbSim:
        guard let persona = simulate else {
            throw .usage("--transport usb-sim needs --simulate PERSONA (see carte simulate --list)")
        }
        if case .badge? = try? PersonaCatalog.persona(persona) {
            throw .usage("\(persona) is a contactless badge; the simulated USB CCID readers are contact readers (use --simulate alone)")
        }
        let levelName = reader ?? CCIDSimulatedReader.Level.apdu.rawValue
        guard let level = CCIDSimulatedReader.Level(rawValue: levelName) else {
            let names = CCIDSimulatedReader.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw .usage("with --transport usb-sim, --reader is the simulated reader's level: \(names)")
        }
        do {
            let simulated = try CCIDSimulatedReader.make(persona: persona, level: level)
            SimulatedCCIDDevice.current = simulated.device
            return simulated.transport
        } catch {
            throw .usage(error.description)
        }
    case .sim:
        guard let persona = simulate else {
            throw .usage("--transport sim needs --simulate PERSONA (see carte simulate --list)")
        }
        return try await simulatedReader(persona: persona, name: reader)
    case .pcsc:
        if let persona = simulate { return try await simulatedReader(persona: persona, name: reader) }
        do { return try await PCSCCard.open(reader: reader) } catch { throw .failure(error.description) }
    case .usb:
        if simulate != nil { throw .usage("--simulate goes with --transport sim or usb-sim, not usb") }
        let readers: [CCIDUSBDeviceInfo]
        let context: LibUSBContext
        do {
            context = try LibUSBContext()
            readers = try context.enumerateReaders()
        } catch { throw .failure(error.description) }
        guard let info = readers.first(where: { reader == nil || $0.readerName.contains(reader!) }) else {
            throw .failure(readers.isEmpty ? "no USB CCID reader found" : "no USB CCID reader named '\(reader!)'")
        }
        do { return try context.openTransport(info) } catch { throw .failure(error.description) }
    }
}

/// An in-process simulated reader holding `persona`'s card: a contactless reader for badges (cards with no contact
/// interface), a contact reader otherwise.
private func simulatedReader(persona: String, name: String?) async throws(TransportOpenError) -> SimulatedReader {
    let isBadge: Bool
    do {
        if case .badge = try PersonaCatalog.persona(persona) { isBadge = true } else { isBadge = false }
    } catch { throw .usage(error.description) }
    let r = SimulatedReader(
        name: name ?? (isBadge ? "Carte simulated contactless reader 00" : "Carte simulated reader 00"),
        configuration: isBadge ? .contactless() : .contact())
    do { try await r.insert(persona: persona) } catch { throw .usage(error.description) }
    return r
}

/// The simulated CCID device behind the last `--transport usb-sim` transport, so that `carte auth` can play the
/// holder typing on the simulated reader's pinpad (the PIN given with `--pin-stdin`).
enum SimulatedCCIDDevice {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var device: CCIDSimulatedDevice?

    static var current: CCIDSimulatedDevice? {
        get { lock.withLock { device } }
        set { lock.withLock { device = newValue } }
    }
}
