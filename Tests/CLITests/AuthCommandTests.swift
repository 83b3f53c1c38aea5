import Testing

/// `carte auth` (cli.md) on in-process simulated CPS cards (`--simulate PERSONA`, the simulator's test PKI), the
/// PIN given on stdin (`--pin-stdin`). Every run is also scanned for the PIN itself (`SecretScan`).
/// When the build still has the stub ("not available yet", exit 2), each case accepts it.
@Suite struct AuthCommandTests {
    static let contractKeys: Set<String> = ["outcome", "triesLeft", "assurance", "identity", "certificate"]
    static let identityKeys: Set<String> = ["idNat", "rpps", "nom", "prenom", "profession", "cardType"]
    static let certificateKeys: Set<String> = ["subject", "serial", "sha256"]
    /// The `outcome` values of cli.md.
    static let contractOutcomes: Set<String> = [
        "authenticated", "wrongPin", "pinBlocked", "lastTryNotConfirmed", "revoked", "expired", "untrusted",
        "signatureInvalid", "cardRemoved", "notSupported",
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        let persona: String
        let pin: String
        var confirmLastTry = false
        let outcome: String
        let exit: Int32
        var triesLeft: Int?
        /// Expected identity when authenticated: idNat, rpps (nil → JSON null), nom, prenom, cardType.
        var identity: (idNat: String, rpps: String?, nom: String, prenom: String, cardType: String)?
        var testDescription: String { "\(persona) → \(outcome)\(confirmLastTry ? " (confirmed)" : "")" }
    }

    static let cases: [Case] = [
        Case(
            persona: "cps3-durand", pin: "1234", outcome: "authenticated", exit: 0, triesLeft: 3,
            identity: ("899700412345", "99700412345", "DURAND", "ALICE", "CPS")),
        Case(persona: "cps3-durand", pin: "0000", outcome: "wrongPin", exit: 1, triesLeft: 2),
        Case(persona: "cps3-moreau-pharmacist", pin: "1234", outcome: "wrongPin", exit: 1, triesLeft: 2),
        Case(persona: "cps3-fabre-last-try", pin: "8642", outcome: "lastTryNotConfirmed", exit: 1, triesLeft: 1),
        Case(
            persona: "cps3-fabre-last-try", pin: "8642", confirmLastTry: true, outcome: "authenticated", exit: 0,
            identity: ("899700744444", "99700744444", "FABRE", "HUGO", "CPS")),
        Case(persona: "cps3-roux-revoked", pin: "1357", outcome: "revoked", exit: 1),
        Case(persona: "cps3-blanc-expired", pin: "9753", outcome: "expired", exit: 1),
        Case(
            persona: "cpe-girard", pin: "2468", outcome: "authenticated", exit: 0, triesLeft: 3,
            identity: ("3750712184/GIRARD0042", nil, "GIRARD", "NINA", "CPE")),
        Case(persona: "vitale2-martin", pin: "1234", outcome: "notSupported", exit: 1),
    ]

    static func isStub(_ run: CarteRun) -> Bool {
        guard run.stderr.contains("is not available yet") else { return false }
        #expect(run.status == 2 && run.stderr == "carte: 'auth' is not available yet in this build\n", "\(run)")
        return true
    }

    @Test(arguments: cases) func outcome(_ c: Case) throws {
        var args = ["auth", "--simulate", c.persona, "--pin-stdin", "--json"]
        if c.confirmLastTry { args.append("--confirm-last-try") }
        let run = try Carte.run(args, stdin: c.pin + "\n")
        if Self.isStub(run) { return }
        #expect(run.status == c.exit, "\(run)")
        let doc = try #require(run.jsonValue, "stdout is not one JSON document: \(run)")
        let keys = try #require(doc.keys)
        #expect(Self.contractKeys.isSubset(of: keys), "missing keys \(Self.contractKeys.subtracting(keys))")
        #expect(doc["outcome"] == .string(c.outcome), "\(run)")
        if let t = c.triesLeft { #expect(doc["triesLeft"] == .number(Double(t)), "\(run)") }
        if let id = c.identity {
            #expect(run.stderr == "", "\(run)")
            #expect(doc["assurance"] == "cps-pin")
            let identity = try #require(doc["identity"])
            let identityKeys = identity.keys ?? []
            #expect(Self.identityKeys.isSubset(of: identityKeys), "identity keys: \(identity)")
            #expect(identity["idNat"] == .string(id.idNat))
            #expect(identity["rpps"] == (id.rpps.map { JSONValue.string($0) } ?? .null))
            #expect(identity["nom"] == .string(id.nom))
            #expect(identity["prenom"] == .string(id.prenom))
            #expect(identity["cardType"] == .string(id.cardType))
            let cert = try #require(doc["certificate"])
            let certKeys = cert.keys ?? []
            #expect(Self.certificateKeys.isSubset(of: certKeys), "certificate keys: \(cert)")
            #expect(cert["subject"]?.string?.contains("SN=\(id.nom)+GN=\(id.prenom)") == true, "\(cert)")
            let sha = cert["sha256"]?.string ?? ""
            #expect(sha.count == 64 && sha.allSatisfy(\.isHexDigit), "sha256: \(sha)")
        } else {
            #expect(doc["assurance"] == .null)
            #expect(doc["identity"] == .null)
            // A refusal also says why on stderr, in one `carte:` line.
            #expect(run.stderrLines.count == 1 && run.stderr.hasPrefix("carte: "), "\(run)")
        }
    }

    @Test func textOutput() throws {
        let run = try Carte.run(["auth", "--simulate", "cps3-durand", "--pin-stdin"], stdin: "1234\n")
        if Self.isStub(run) { return }
        #expect(run.status == 0, "\(run)")
        #expect(run.stdoutLines.first?.hasPrefix("authenticated") == true, "\(run)")
        #expect(run.stdout.contains("RPPS 99700412345"), "\(run)")
    }

    /// Through the USB CCID driver and a simulated CCID reader: the TPDU-level reader has no pinpad (keypad entry),
    /// the APDU-level one is a pinpad reader (the stdin PIN is what the simulated holder types on it).
    @Test(arguments: [("tpdu", "keypad"), ("apdu", "pinpad"), ("extended-apdu", "keypad")])
    func throughTheUSBSimulatedReader(level: String, entry: String) throws {
        let run = try Carte.run(
            ["auth", "--transport", "usb-sim", "--simulate", "cps3-durand", "--reader", level, "--pin-stdin", "--json"],
            stdin: "1234\n")
        if Self.isStub(run) { return }
        #expect(run.status == 0, "\(run)")
        #expect(run.jsonValue?["outcome"] == "authenticated", "\(run)")
        #expect(run.jsonValue?["assurance"] == "cps-pin", "\(run)")
        #expect(run.jsonValue?["pinEntry"] == .string(entry), "\(run)")
        let wrong = try Carte.run(
            ["auth", "--transport", "usb-sim", "--simulate", "cps3-durand", "--reader", level, "--pin-stdin", "--json"],
            stdin: "9999\n")
        #expect(wrong.status == 1, "\(wrong)")
        #expect(wrong.jsonValue?["outcome"] == "wrongPin", "\(wrong)")
        #expect(wrong.jsonValue?["triesLeft"] == 2, "\(wrong)")
    }

    /// No PIN on stdin: nothing is presented, so no try is used.
    @Test func emptyStdinUsesNoTry() throws {
        let run = try Carte.run(["auth", "--simulate", "cps3-durand", "--pin-stdin", "--json"], stdin: "")
        if Self.isStub(run) { return }
        #expect(run.status != 0, "\(run)")
        #expect(run.jsonValue?["triesLeft"] == 3, "\(run)")
        #expect(run.jsonValue?["identity"] == .null)
    }

    @Test func usageErrors() throws {
        let unknown = try Carte.run(["auth", "--simulate", "nobody", "--pin-stdin", "--json"], stdin: "1234\n")
        if Self.isStub(unknown) { return }
        #expect(unknown.status == 2, "\(unknown)")
        #expect(unknown.stderr == "carte: unknown persona 'nobody' (see carte simulate --list)\n", "\(unknown)")
        // Real readers need trust anchors: a usage error before any reader is touched.
        let noAnchors = try Carte.run(["auth", "--json"], stdin: "")
        #expect(noAnchors.status == 2, "\(noAnchors)")
        #expect(noAnchors.stderrLines.count == 1 && noAnchors.stderr.hasPrefix("carte: "), "\(noAnchors)")
    }
}

/// `carte read` of professional cards (cli.md: `cardType`, `idNat`, `rpps`, `nomExercice`, `prenomExercice`,
/// `profession`, `pinTriesLeft`, `certificates` [{`usage`, `subject`, `notAfter`, `sha256`}]). Reading presents
/// no PIN, so `pinTriesLeft` is the persona's.
@Suite struct ReadCPSCommandTests {
    static let keys: Set<String> = [
        "kind", "atr", "cardType", "idNat", "rpps", "nomExercice", "prenomExercice", "profession", "pinTriesLeft",
        "certificates",
    ]
    static let certificateKeys: Set<String> = ["usage", "subject", "notAfter", "sha256"]

    static var professionalIDs: [String] { Personas.professionals.compactMap { $0["id"]?.string } }

    @Test(arguments: professionalIDs) func professionalCard(_ id: String) throws {
        let p = try #require(Personas.professionals.first { $0["id"]?.string == id })
        let run = try Carte.run(["read", "--simulate", id, "--json"])
        if run.status == 2 && run.stderr.contains("not available yet") { return }
        #expect(run.status == 0, "\(run)")
        let doc = try #require(run.jsonValue, "\(run)")
        let docKeys = try #require(doc.keys)
        #expect(Self.keys.isSubset(of: docKeys), "missing keys \(Self.keys.subtracting(docKeys))")
        #expect(doc["kind"] == "cps3")
        #expect(
            ATRCommandTests.wellFormed[2].hex.replacingOccurrences(of: " ", with: "")
                == doc["atr"]?.string?.replacingOccurrences(of: " ", with: ""), "contact CPS3 ATR (cps.md §2.1)")
        #expect(doc["cardType"] == p["cardType"])
        if let rpps = p["rpps"]?.string {
            #expect(doc["rpps"] == .string(rpps))
            #expect(doc["idNat"] == .string("8" + rpps), "idNat = type 8 + RPPS")
        } else {
            #expect(doc["rpps"] == .null)
            #expect(doc["idNat"] == p["idNat"])
        }
        #expect(doc["nomExercice"] == p["nomExercice"])
        #expect(doc["prenomExercice"] == p["prenomExercice"])
        #expect(doc["profession"] == p["profession"])
        #expect(doc["pinTriesLeft"] == p["pinTriesLeft"], "reading must not use a PIN try")
        let certs = try #require(doc["certificates"]?.array)
        #expect(!certs.isEmpty)
        for c in certs {
            let certKeys = c.keys ?? []
            #expect(Self.certificateKeys.isSubset(of: certKeys), "\(c)")
            let sha = c["sha256"]?.string ?? ""
            #expect(sha.count == 64 && sha.allSatisfy(\.isHexDigit), "sha256: \(sha)")
        }
        let usages = certs.compactMap { $0["usage"]?.string }
        #expect(usages.contains("authentication"), "usages: \(usages)")
    }
}
