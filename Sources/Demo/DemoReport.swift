/// The steps of the demo flow (issue 6 "`carte demo` — the main job"); the summary (step 5) is the report itself.
public enum DemoStepKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Step 1: the pharmacist's CPS, PIN on the pinpad, chain and CRLs.
    case pharmacist
    /// Step 2: the family carte Vitale, INS-C of each beneficiary, rights at the care date.
    case vitale
    /// Step 3: the physician's badge enrolled after her CPS authentication, then a tap & go.
    case badge
    /// Step 4: the revoked CPS refused with its reason.
    case revoked

    /// The step number printed for people (1…4; the summary is 5).
    public var number: Int {
        switch self {
        case .pharmacist: return 1
        case .vitale: return 2
        case .badge: return 3
        case .revoked: return 4
        }
    }
}

/// How a step ended, judged against what the step expects (a refusal can be the expected outcome, step 4).
public enum DemoStepStatus: String, Sendable, Hashable, Codable {
    /// The step gave its expected outcome.
    case passed
    /// The step ran and gave another outcome, or a reader or card failed.
    case failed
    /// This build lacks a piece the step needs (said in the step's `outcome`); the rest of the demo still runs.
    case unavailable
}

/// The mark in front of a line for people.
public enum DemoMark: String, Sendable, Hashable {
    /// A check that passed (`✓`).
    case ok = "✓"
    /// A check that failed or a refusal (`✗`).
    case refused = "✗"
    /// Something to notice, neither pass nor fail (`!`).
    case notice = "!"
}

/// One `key  value` line of a step, for people. Values never hold a PIN, and NIRs in them are masked.
public struct DemoLine: Sendable, Hashable {
    public var key: String
    public var value: String
    public var mark: DemoMark?
    /// Indentation level (0 = under the step header, 1 = under a beneficiary…).
    public var level: Int

    public init(_ key: String, _ value: String, mark: DemoMark? = nil, level: Int = 0) {
        self.key = key
        self.value = value
        self.mark = mark
        self.level = level
    }
}

/// A JSON value (the `--json` document is built from these; keys are sorted when rendered).
public indirect enum DemoJSONValue: Sendable, Hashable, Encodable, ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case array([DemoJSONValue])
    case object([String: DemoJSONValue])
    case null

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(Int64(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: DemoJSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, DemoJSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// `.string(s)` or `.null`.
    public static func optional(_ s: String?) -> DemoJSONValue { s.map { .string($0) } ?? .null }
    /// `.int(n)` or `.null`.
    public static func optional(_ n: Int?) -> DemoJSONValue { n.map { .int(Int64($0)) } ?? .null }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let n): try c.encode(n)
        case .double(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    /// The member `key` of an object (nil for anything else): convenient in tests.
    public subscript(key: String) -> DemoJSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The element `index` of an array (nil for anything else or out of range).
    public subscript(index: Int) -> DemoJSONValue? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean, when this is one.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [DemoJSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
}

/// What one step did: lines for people, facts for `--json` and tests, and its times.
public struct DemoStepReport: Sendable, Hashable {
    public var kind: DemoStepKind
    /// The header for people ("The pharmacist signs in with his CPS").
    public var title: String
    public var status: DemoStepStatus
    /// What the step expects, in words ("authenticated, assurance cps-pin").
    public var expected: String
    /// What happened, in a few words ("authenticated, assurance cps-pin" / "refused: revoked (keyCompromise)").
    public var outcome: String
    public var lines: [DemoLine]
    /// The step's values for `--json` and tests (keys per step: see `DemoJSON`).
    public var facts: [String: DemoJSONValue]
    /// Virtual time on the simulated wire (ATR, PPS, APDU exchanges; `SimulatedReader.statistics`), in
    /// nanoseconds, summed over the readers the step used; nil when not measured (through pcscd).
    public var wireNanoseconds: Int64?
    /// C-APDUs the cards received during the step (nil when not measured).
    public var apduCount: Int?
    /// Wall-clock time of the step, in nanoseconds.
    public var wallNanoseconds: Int64

    public init(
        kind: DemoStepKind, title: String, status: DemoStepStatus, expected: String, outcome: String,
        lines: [DemoLine] = [], facts: [String: DemoJSONValue] = [:], wireNanoseconds: Int64? = nil,
        apduCount: Int? = nil, wallNanoseconds: Int64 = 0
    ) {
        self.kind = kind
        self.title = title
        self.status = status
        self.expected = expected
        self.outcome = outcome
        self.lines = lines
        self.facts = facts
        self.wireNanoseconds = wireNanoseconds
        self.apduCount = apduCount
        self.wallNanoseconds = wallNanoseconds
    }
}

/// The whole run.
public struct DemoReport: Sendable, Hashable {
    /// `simulated` (in-process readers) or `pcsc` (through pcscd and vpcd).
    public var backend: String
    /// The three readers by role (`professional`, `patient`, `badge`) → reader name.
    public var readers: [String: String]
    /// The steps, in order.
    public var steps: [DemoStepReport]
    /// Wall time spent preparing the test PKI before step 1 (creating it takes seconds the first time), in
    /// nanoseconds.
    public var pkiPreparationNanoseconds: Int64
    /// Wall time of the whole run, in nanoseconds.
    public var wallNanoseconds: Int64

    public init(
        backend: String, readers: [String: String], steps: [DemoStepReport], pkiPreparationNanoseconds: Int64,
        wallNanoseconds: Int64
    ) {
        self.backend = backend
        self.readers = readers
        self.steps = steps
        self.pkiPreparationNanoseconds = pkiPreparationNanoseconds
        self.wallNanoseconds = wallNanoseconds
    }

    /// True when every step gave its expected outcome (`carte demo` exits 0 then, 3 otherwise).
    public var allExpected: Bool { !steps.isEmpty && steps.allSatisfy { $0.status == .passed } }

    /// The step of this kind, if it ran.
    public func step(_ kind: DemoStepKind) -> DemoStepReport? { steps.first { $0.kind == kind } }

    /// Total virtual wire time of the steps that measured it, in nanoseconds (nil when none did).
    public var wireNanoseconds: Int64? {
        let measured = steps.compactMap(\.wireNanoseconds)
        return measured.isEmpty ? nil : measured.reduce(0, +)
    }
}

/// What the runner reports while it works, so people see each step as it happens.
public enum DemoEvent: Sendable {
    /// Before the test PKI is loaded (creating it takes a few seconds the first time).
    case preparingPKI
    /// The test PKI is ready (wall time in nanoseconds).
    case pkiReady(nanoseconds: Int64)
    /// The readers are set up (role → name).
    case readersReady([String: String])
    /// A step begins.
    case stepStarted(DemoStepKind, title: String)
    /// A step ended.
    case stepFinished(DemoStepReport)
}
