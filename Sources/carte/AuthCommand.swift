import ArgumentParser
import CCIDDevice
import Authentication
import CPS
import CardSimulator
import CarteCrypto
import Foundation
import ISO7816

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `carte auth [--reader NAME] [--pin-stdin] [--confirm-last-try] [--json] [--transport …] [--simulate PERSONA]`
/// (`../shared/specs/cli.md`): strong authentication with the CPS in the reader (PIN, challenge–response,
/// certificate chain and CRL), decided locally by `CPSAuthenticator`.
///
/// The PIN comes from the reader's pinpad when it has one, else from stdin with `--pin-stdin`, else it is prompted on
/// the terminal without echo; it is held in a `SecretPIN` and never printed. Trust anchors: the simulator's test PKI
/// with `--simulate` or `--test-pki`, else `--trust-anchor FILE` (PEM/DER, repeatable), `--intermediate FILE` and
/// `--crl-dir DIR` (IGC-Santé roots, intermediates and CRLs for real use).
/// Exit codes: 0 authenticated; 1 refused (wrong PIN, revoked…, card not supported); 2 usage; 3 card/reader failure.
struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth", abstract: "Strong authentication with the card in the reader.",
        discussion: """
            The PIN is typed on the reader's pinpad when it has one; otherwise it is read from stdin (--pin-stdin) or \
            prompted without echo. With one PIN try left, nothing is presented unless --confirm-last-try is given.
            """)

    @OptionGroup var target: ReaderOptions

    @Flag(name: .customLong("pin-stdin"), help: "Read the PIN from the first line of stdin (when the reader has no pinpad).")
    var pinStdin = false

    @Flag(name: .customLong("confirm-last-try"), help: "Present the PIN even when only one try is left.")
    var confirmLastTry = false

    @Flag(name: .customLong("json"), help: "Print one JSON document.")
    var json = false

    @Option(name: .customLong("trust-anchor"), help: "A trusted root certificate file (PEM or DER); repeatable.")
    var trustAnchors: [String] = []

    @Option(name: .customLong("intermediate"), help: "An intermediate CA certificate file (PEM or DER); repeatable.")
    var intermediates: [String] = []

    @Flag(name: .customLong("test-pki"), help: "Trust the simulator's test PKI (demo through pcscd + vpcd); implied by --simulate.")
    var testPKI = false

    @Option(name: .customLong("crl-dir"), help: "Directory of CRL files (PEM or DER) of the trusted CAs.")
    var crlDirectory: String?

    @Option(name: .customLong("crl-grace"), help: "Seconds a CRL is still accepted after its nextUpdate (default 0).")
    var crlGrace: Double = 0

    func run() async throws {
        guard crlGrace.isFinite, crlGrace >= 0 else {
            printError("--crl-grace must be a number of seconds, 0 or more (got \(crlGrace))")
            throw CarteExit.usage
        }
        let validator: CertificatePathValidator
        do {
            validator = try makeValidator()
        } catch let e as ExitCode {
            throw e
        } catch {
            printError("the trust anchors cannot be loaded: \(error)")
            throw CarteExit.usage
        }

        let t: any CardTransport
        do {
            t = try await openTransport(choice: target.transport, reader: target.reader, simulate: target.simulate)
        } catch {
            printError(error.description)
            throw error.exitCode
        }

        if target.transport == .usbSim, let device = SimulatedCCIDDevice.current, await t.capabilities.hasPinpad {
            // Simulation only: the PIN given on stdin is what the simulated holder types on the simulated reader's
            // pinpad (synthetic persona PINs). No PIN on stdin: the holder presses Cancel.
            if pinStdin, let typed = AuthCommand.readPIN(fd: 0, prompt: nil) {
                await device.setPinpad(.enter(digits: typed.withDigits { String(decoding: $0, as: UTF8.self) }, newDigits: nil))
            } else {
                await device.setPinpad(.cancel)
            }
        }
        let authenticator = CPSAuthenticator(policy: AuthenticationPolicy(validator: validator))
        let fromStdin = pinStdin
        let lastTry = confirmLastTry
        var result = await t.runFlow { () async -> AuthenticationResult in
            await authenticator.authenticate(transport: t, confirmLastTry: lastTry) {
                fromStdin ? AuthCommand.readPIN(fd: 0, prompt: nil) : AuthCommand.promptPIN()
            }
        }
        await t.disconnect(.leave)
        if result.outcome == .pinEntryTimeout, PINInputCheck.wasMalformed {
            result.outcome = .pinFormatRejected
            result.detail = "the PIN must be digits only (a CPS PIN has 4 to 8 digits); no try used"
        }

        if json {
            print(ReadJSON.render(AuthCommand.jsonObject(result)))
        } else {
            print(AuthCommand.text(result))
        }
        if let code = AuthCommand.exitCode(for: result.outcome) {
            if !json || result.outcome != .authenticated { printError(result.detail) }
            throw code
        }
    }

    private func makeValidator() throws -> CertificatePathValidator {
        var extra: [Certificate] = []
        for f in intermediates { extra += try Certificate.load(path: f) }
        if testPKI || target.simulate != nil || target.transport == .sim || target.transport == .usbSim {
            var v = try TestPKI.shared().validator(crlGracePeriod: crlGrace)
            for f in trustAnchors { v.trustAnchors += try Certificate.load(path: f) }
            v.intermediates += extra
            return v
        }
        guard !trustAnchors.isEmpty else {
            printError("no trust anchors: give --trust-anchor FILE (IGC-Santé roots) and --crl-dir DIR")
            throw CarteExit.usage
        }
        return try CertificatePathValidator(
            trustAnchorFiles: trustAnchors, intermediates: extra, crlDirectory: crlDirectory, crlGracePeriod: crlGrace)
    }

    /// nil for success (exit 0); 3 for card/reader failures; 1 for every refusal.
    static func exitCode(for outcome: AuthenticationOutcome) -> ExitCode? {
        switch outcome {
        case .authenticated: return nil
        case .cardRemoved, .failed: return CarteExit.failure
        default: return CarteExit.refused
        }
    }

    /// The JSON document of cli.md: `outcome`, `triesLeft`, `assurance`, `identity`, `certificate` (+ `pinEntry`,
    /// `revocationReason`, `time`, `detail`). Absent values are `null`.
    static func jsonObject(_ r: AuthenticationResult) -> [String: Any] {
        var o: [String: Any] = [
            "outcome": r.outcome.rawValue,
            "triesLeft": r.triesLeft.map { $0 as Any } ?? NSNull(),
            "assurance": r.assurance?.rawValue ?? NSNull(),
            "pinEntry": r.pinEntry?.rawValue ?? NSNull(),
            "time": ISO8601DateFormatter().string(from: r.time),
            "detail": r.detail,
        ]
        if let i = r.identity {
            o["identity"] = [
                "idNat": i.idNat, "rpps": i.rpps ?? NSNull(), "nom": i.nom, "prenom": i.prenom,
                "profession": i.profession ?? NSNull(), "cardType": i.cardType ?? NSNull(),
                "healthProfessional": i.isHealthProfessional,
            ] as [String: Any]
        } else {
            o["identity"] = NSNull()
        }
        if let c = r.certificate {
            o["certificate"] = ["subject": c.subject, "serial": c.serial, "sha256": c.sha256]
        } else {
            o["certificate"] = NSNull()
        }
        o["revocationReason"] = r.revocationReason.map { $0.description as Any } ?? NSNull()
        return o
    }

    static func text(_ r: AuthenticationResult) -> String {
        var lines: [String] = []
        if r.outcome == .authenticated, let i = r.identity {
            let who = "\(i.prenom) \(i.nom)"
            let id = i.rpps.map { "RPPS \($0)" } ?? "IdNat \(i.idNat)"
            let role = i.isHealthProfessional ? "health professional" : "staff, not a health professional"
            lines.append("authenticated   \(who) (\(id), \(i.cardType ?? "card"), \(role))")
            lines.append("assurance       \(r.assurance?.rawValue ?? "-")")
        } else {
            lines.append("refused         \(r.outcome.rawValue): \(r.detail)")
        }
        if let n = r.triesLeft { lines.append("PIN tries left  \(n)") }
        if let m = r.pinEntry { lines.append("PIN entry       \(m.rawValue)") }
        if let c = r.certificate {
            lines.append("certificate     \(c.subject)")
            lines.append("                serial \(c.serial), SHA-256 \(c.sha256)")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: PIN entry (keypad)

    /// Reads one line from `fd` into a buffer that is wiped once the `SecretPIN` holds it.
    static func readPIN(fd: Int32, prompt: String?) -> SecretPIN? {
        if let prompt {
            var p = Array(prompt.utf8)
            _ = p.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
        }
        var buffer: [UInt8] = []
        var byte: UInt8 = 0
        while buffer.count < 32 {
            let n = read(fd, &byte, 1)
            if n <= 0 || byte == 0x0A { break }
            buffer.append(byte)
        }
        byte = 0
        // Surrounding blanks are not part of a PIN; anything else that is not a digit makes it malformed.
        while let last = buffer.last, last == 0x20 || last == 0x09 || last == 0x0D { buffer.removeLast() }
        var start = 0
        while start < buffer.count, buffer[start] == 0x20 || buffer[start] == 0x09 { start += 1 }
        if start > 0 {
            for i in 0..<(buffer.count - start) { buffer[i] = buffer[i + start] }
            for i in (buffer.count - start)..<buffer.count { buffer[i] = 0 }
            buffer.removeLast(start)
        }
        if !buffer.isEmpty, !buffer.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { PINInputCheck.markMalformed() }
        return SecretPIN(consuming: &buffer)
    }

    /// Prompts on the terminal with echo off (termios), restoring the terminal afterwards.
    static func promptPIN() -> SecretPIN? {
        let fd = open("/dev/tty", O_RDWR)
        guard fd >= 0 else { return readPIN(fd: 0, prompt: "PIN: ") }
        defer { close(fd) }
        var old = termios()
        guard tcgetattr(fd, &old) == 0 else { return readPIN(fd: fd, prompt: "PIN: ") }
        var quiet = old
        quiet.c_lflag &= ~tcflag_t(ECHO)
        _ = tcsetattr(fd, TCSAFLUSH, &quiet)
        defer {
            _ = tcsetattr(fd, TCSAFLUSH, &old)
            var nl: [UInt8] = [0x0A]
            _ = nl.withUnsafeMutableBytes { write(2, $0.baseAddress, 1) }
        }
        return readPIN(fd: fd, prompt: "PIN: ")
    }
}

/// Remembers that the PIN line read from stdin or the terminal held something other than digits, so that the
/// outcome says "malformed PIN" rather than "no PIN given" (no digit of it is kept).
enum PINInputCheck {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var malformed = false
    static func markMalformed() { lock.withLock { malformed = true } }
    static var wasMalformed: Bool { lock.withLock { malformed } }
}
