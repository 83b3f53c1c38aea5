import ISO7816

/// How the card presents T=0 behaviour at APDU level (vitale.md §3 and §9.1).
public enum T0Mode: String, Sendable, Hashable, CaseIterable {
    /// Data returned directly with the final SW, as an APDU-level reader that resolves GET RESPONSE would show it;
    /// a READ past the end returns the remaining bytes with `62 82` (or `90 00` when Le = 00).
    case auto
    /// Raw T=0: a command carrying data (or no Le) that produces data answers `61 xx` and the host fetches it
    /// with GET RESPONSE `00 C0 00 00 xx`; a case-2 command whose Le differs from the available length answers
    /// `6C xx` (also Le = 00 on a shorter file). Commands are accepted with or without a trailing Le.
    case strictT0 = "strict-t0"
}

/// One PIN (or PUK) held by the card: value, try counter, and how it may be unblocked (cps.md §5).
///
/// The value never leaves the card object: there is no accessor that returns it, and `description` hides it.
public struct PINObject: CustomStringConvertible, CustomReflectable {
    /// The reference used as VERIFY P2 (e.g. `0x01`, or `0x81` for a local PIN).
    public var reference: UInt8
    var value: [UInt8]
    /// Maximum tries (counter reset value).
    public var maxTries: Int
    /// Tries left; 0 means blocked (`69 83`).
    public var triesLeft: Int
    /// Allowed lengths of a new value, in bytes.
    public var lengthRange: ClosedRange<Int>
    /// Padding byte that a fixed-length PIN block may append (e.g. `0xFF`); stripped before comparing.
    public var padding: UInt8?
    /// The reference of the PUK that RESET RETRY COUNTER checks for this PIN, if any.
    public var unblockingReference: UInt8?

    public init(
        reference: UInt8, value: [UInt8], maxTries: Int = 3, triesLeft: Int? = nil,
        lengthRange: ClosedRange<Int> = 4...8, padding: UInt8? = 0xFF, unblockingReference: UInt8? = nil
    ) {
        self.reference = reference
        self.value = value
        self.maxTries = maxTries
        self.triesLeft = triesLeft ?? maxTries
        self.lengthRange = lengthRange
        self.padding = padding
        self.unblockingReference = unblockingReference
    }

    public var isBlocked: Bool { triesLeft <= 0 }

    /// Compares a presented value (padding stripped). Does not touch the counter.
    func matches(_ presented: [UInt8]) -> Bool {
        var p = presented
        if let pad = padding { while p.last == pad { p.removeLast() } }
        return p == value
    }

    public var description: String { "PIN ref \(reference) (\(triesLeft)/\(maxTries) tries)" }
    /// Mirrors (dump, debuggers) show the reference and counters, never the value.
    public var customMirror: Mirror {
        Mirror(self, children: ["reference": reference, "triesLeft": triesLeft, "maxTries": maxTries])
    }
}

/// The current security environment (ISO/IEC 7816-4 §5.3.3 and §11.5): control reference templates set by MSE
/// SET, plus free slots for crypto handlers added by later profiles (CPS3: PSO HASH intermediate state…).
/// Cleared on reset and power-off.
public struct SecurityEnvironment {
    /// CRTs by template tag (`A4` AT, `B6` DST, `AA` HT, `B8` CT), each a map of data-object tag → value
    /// (e.g. `80` algorithm reference, `84` key reference).
    public var templates: [UInt8: [UInt8: [UInt8]]] = [:]
    /// Free-form state for crypto handlers (e.g. `"hash"` → digest computed by PSO HASH).
    public var scratch: [String: [UInt8]] = [:]
    public init() {}
}

/// A key the card holds, registered by a profile for its crypto handlers (MSE SET / PSO / INTERNAL AUTHENTICATE).
/// The card OS itself only stores them and checks `useCondition`.
public protocol CardKey: AnyObject {
    /// Key reference as MSE SET names it (tag `84`), e.g. `0x81`.
    var reference: UInt8 { get }
    /// Who may use the key.
    var useCondition: AccessCondition { get }
}

/// The keys of a card, by reference. Profiles put their key objects here; handlers look them up.
public final class KeyStore {
    public private(set) var keys: [UInt8: any CardKey] = [:]
    public init() {}
    public func register(_ key: any CardKey) { keys[key.reference] = key }
    public subscript(reference: UInt8) -> (any CardKey)? { keys[reference] }
}

/// An ISO/IEC 7816-4 card operating system: a file tree, a security state and a dispatch table by INS,
/// independent of any transport (architecture.md, "Simulators are card operating systems").
///
/// Extension point: `handlers` is open. A profile adds a command with `register(ins:_:)`, and finds the keys in
/// `keyStore` and the MSE state in `securityEnvironment`. Handlers return a `ResponseAPDU`; the OS then applies the
/// T=0 presentation (`t0Mode`): `61 xx` + GET RESPONSE, `6C xx`.
///
/// Not thread-safe: its reader serialises calls.
public final class CardOS {
    /// A command handler: gets the OS (to read and change state) and the decoded C-APDU, returns the R-APDU.
    public typealias Handler = (CardOS, CommandAPDU) -> ResponseAPDU

    /// The MF.
    public let masterFile: DedicatedFile
    /// The current DF (ISO/IEC 7816-4 §7.2.1); the MF after reset.
    public internal(set) var currentDF: DedicatedFile
    /// The current EF, if any.
    public internal(set) var currentEF: ElementaryFile?
    /// The dispatch table: INS → handler.
    public var handlers: [UInt8: Handler] = [:]
    /// CLA values accepted (bit `10`, command chaining, is removed before the check). Others get `6E 00`, or
    /// `68 81` (logical channel) / `68 82` (secure messaging) for an otherwise known interindustry class.
    public var supportedClasses: Set<UInt8> = [0x00]
    /// INS values that accept command chaining (CLA bit `10`); chained data is joined before the handler runs.
    /// Others answer `68 84` (chaining not supported).
    public var chainableInstructions: Set<UInt8> = []
    /// T=0 presentation.
    public var t0Mode: T0Mode
    /// PINs by reference. Their counters are non-volatile; their verified state is not.
    public var pins: [UInt8: PINObject] = [:]
    /// Data objects answered by GET DATA (`00 CA P1 P2`), keyed by P1-P2.
    public var dataObjects: [UInt16: [UInt8]] = [:]
    /// Answers of GET DATA with odd INS (`00 CB P1 P2 Lc data`), keyed by P1-P2 ‖ data (for IAS-ECC style SDO
    /// requests that a profile wants to answer verbatim).
    public var oddDataObjects: [[UInt8]: [UInt8]] = [:]
    /// Keys for crypto handlers added by profiles.
    public let keyStore = KeyStore()
    /// Current MSE state; cleared on reset.
    public var securityEnvironment = SecurityEnvironment()
    /// References of the PINs verified in this card session; cleared on reset and power-off.
    public internal(set) var verifiedReferences: Set<UInt8> = []
    /// Simulation switches tested by `AccessCondition.flag` (not cleared on reset: they describe the scenario).
    public var enabledFlags: Set<String> = []
    /// The last challenge returned by GET CHALLENGE (for EXTERNAL AUTHENTICATE handlers).
    public internal(set) var lastChallenge: [UInt8] = []

    var pendingResponse: [UInt8] = []
    var pendingStatus = StatusWord.success
    var chainBuffer: [UInt8] = []
    var chainINS: UInt8?
    var rng: SplitMix64

    /// - Parameters:
    ///   - masterFile: the file tree root (FID `3F00`).
    ///   - t0Mode: `.auto` or `.strictT0`.
    ///   - challengeSeed: seed of the deterministic GET CHALLENGE generator (tests get repeatable challenges).
    public init(masterFile: DedicatedFile, t0Mode: T0Mode = .auto, challengeSeed: UInt64 = 0x5EED_CA7E) {
        self.masterFile = masterFile
        self.currentDF = masterFile
        self.t0Mode = t0Mode
        self.rng = SplitMix64(seed: challengeSeed)
        ISOCommands.installStandardHandlers(into: self)
    }

    /// Registers (or replaces) the handler of an INS.
    public func register(ins: UInt8, _ handler: @escaping Handler) { handlers[ins] = handler }

    /// Adds a PIN object (replacing one with the same reference).
    public func install(pin: PINObject) { pins[pin.reference] = pin }

    /// Warm or cold reset: the MF becomes current, verified PINs, MSE state, pending GET RESPONSE data and chains
    /// are cleared (ISO/IEC 7816-4 §5.3.2 security status is volatile). File contents and try counters remain.
    public func reset() {
        currentDF = masterFile
        currentEF = nil
        verifiedReferences.removeAll()
        securityEnvironment = SecurityEnvironment()
        pendingResponse.removeAll()
        pendingStatus = .success
        chainBuffer.removeAll()
        chainINS = nil
    }

    /// Is the access condition met in the current state?
    public func isSatisfied(_ condition: AccessCondition) -> Bool {
        switch condition {
        case .always: return true
        case .never: return false
        case .pin(let r): return verifiedReferences.contains(r)
        case .flag(let f): return enabledFlags.contains(f)
        }
    }

    /// Marks a PIN reference as verified (for handlers of other authentication commands).
    public func markVerified(_ reference: UInt8) { verifiedReferences.insert(reference) }

    /// Next `count` bytes of the deterministic random generator.
    public func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    /// Processes one C-APDU (raw bytes) and returns the R-APDU bytes. Never traps: malformed input gets
    /// `67 00`, an unknown CLA `6E 00`, an unknown INS `6D 00`.
    public func process(_ bytes: [UInt8]) -> [UInt8] { processAPDU(bytes).bytes }

    /// Same as `process(_:)`, returning a `ResponseAPDU`.
    public func processAPDU(_ bytes: [UInt8]) -> ResponseAPDU {
        let command: CommandAPDU
        do { command = try CommandAPDU(decoding: bytes) } catch {
            return sw(0x6700)
        }
        let baseCLA = command.cla & ~0x10
        guard supportedClasses.contains(baseCLA) else {
            // An interindustry CLA the card knows, but with secure messaging or a logical channel it does not offer
            // (ISO/IEC 7816-4 §5.4.1).
            if command.cla & 0x80 == 0 && supportedClasses.contains(command.cla & 0xE0) {
                return sw(command.cla & 0x0C != 0 ? 0x6882 : 0x6881)
            }
            return sw(0x6E00)
        }
        if command.ins != 0xC0 {
            pendingResponse.removeAll()
            pendingStatus = .success
        }
        // Odd INS values 6X and 9X are procedure bytes in T=0 (ISO/IEC 7816-3 §10.3.3).
        if command.ins & 0xF0 == 0x60 || command.ins & 0xF0 == 0x90 { return sw(0x6D00) }
        var cmd = command
        if command.cla & 0x10 != 0 && command.cla & 0x80 == 0 {
            guard chainableInstructions.contains(command.ins) else { return sw(0x6884) }
            if let c = chainINS, c != command.ins { chainBuffer.removeAll() }
            chainINS = command.ins
            chainBuffer += command.data
            if chainBuffer.count > 65535 {
                chainBuffer.removeAll()
                chainINS = nil
                return sw(0x6700)
            }
            return sw(0x9000)
        }
        if let c = chainINS {
            if c == command.ins { cmd.data = chainBuffer + command.data }
            chainBuffer.removeAll()
            chainINS = nil
        }
        if currentDF.refusesAllButSelect && cmd.ins != 0xA4 && cmd.ins != 0xC0 { return sw(0x6982) }
        guard let handler = handlers[cmd.ins] else { return sw(0x6D00) }
        let response = handler(self, cmd)
        if cmd.ins == 0xC0 { return response }
        return present(response, for: cmd)
    }

    /// Applies the T=0 presentation to a handler's answer.
    func present(_ response: ResponseAPDU, for cmd: CommandAPDU) -> ResponseAPDU {
        guard !response.data.isEmpty else { return response }
        switch t0Mode {
        case .auto:
            if let ne = cmd.ne, response.data.count > ne {
                return ResponseAPDU(data: Array(response.data.prefix(ne)), statusWord: response.statusWord)
            }
            return response
        case .strictT0:
            if cmd.nc > 0 || cmd.ne == nil {
                pendingResponse = response.data
                pendingStatus = response.statusWord
                return ResponseAPDU(sw1: 0x61, sw2: UInt8(truncatingIfNeeded: min(response.data.count, 256)))
            }
            if let ne = cmd.ne, ne != response.data.count {
                return ResponseAPDU(sw1: 0x6C, sw2: UInt8(truncatingIfNeeded: min(response.data.count, 256)))
            }
            return response
        }
    }

    func sw(_ v: UInt16) -> ResponseAPDU { ResponseAPDU(statusWord: StatusWord(v)) }
}

