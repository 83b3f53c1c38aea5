import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Exit codes of `../shared/specs/cli.md`.
enum CarteExit {
    /// The operation ran and said no (invalid NIR, authentication refused, card not recognised).
    static let refused = ExitCode(1)
    /// Usage error.
    static let usage = ExitCode(2)
    /// Reader, card or service failure (no pcscd, card removed, reader gone).
    static let failure = ExitCode(3)
}

/// Writes `carte: <message>` on stderr, the one-line error format of the CLI contract.
func printError(_ message: String) {
    var line = Array("carte: \(message)\n".utf8)
    _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// Used by subcommands whose issue has not landed yet: says so plainly and exits 2.
func notAvailableYet(_ command: String) -> ExitCode {
    printError("'\(command)' is not available yet in this build")
    return CarteExit.usage
}

/// Reader backends (`--transport`).
enum TransportChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case pcsc, usb, usbSim = "usb-sim", sim
}
