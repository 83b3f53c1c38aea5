import Badges
import CardSimulator
import ISO7816
import Testing

/// The badge authentication column of the fault-injection matrix (issue 9): `BadgeSession.authenticateBadge`
/// (DESFire AES with the diversified key, badge file under the session MAC) with `desfire-durand` on a contactless
/// reader. For each APDU index k and each fault: the exact `BadgeError`, no open transaction, no PIN command, and
/// the badge presented again authenticates.
@Suite("Fault-injection matrix: badge authentication")
struct BadgeAuthenticationMatrixTests {
    static let persona = "desfire-durand"

    enum Column: String, CaseIterable {
        case removedBefore, muteOnce, truncated, statusWordDamaged, dataCorrupted

        func plan(k: Int) -> FaultPlan {
            switch self {
            case .removedBefore: return FaultPlan([.cardRemovedBefore(apdu: k)])
            case .muteOnce: return FaultPlan([.muteCard(apdu: k)])
            case .truncated: return FaultPlan([.truncateResponse(apdu: k, keepBytes: 1)])
            case .statusWordDamaged: return FaultPlan([.replaceStatusWord(apdu: k, sw: StatusWord(sw1: 0x6F, sw2: 0x00))])
            // The first byte of the answer flipped (a data byte when there are data).
            case .dataCorrupted: return FaultPlan([.corruptResponse(apdu: k, byteIndex: 0, mask: 0x01)])
            }
        }
    }

    static func siteKey() throws -> [UInt8] {
        let site = try PersonaCatalog.personas().site
        return try #require([UInt8](hex: String(decoding: site.desfireMasterKeyAES128.asciiBytes, as: UTF8.self)))
    }

    struct Run {
        var result: Result<BadgeIdentity, BadgeError>
        var commands: [[UInt8]]
        var transactionOpen: Bool
        var reader: SimulatedReader
    }

    static func run(plan: FaultPlan, key: [UInt8]) async throws -> Run {
        let reader = SimulatedReader(name: "matrix badge reader", configuration: .contactless())
        try await reader.insert(persona: persona)
        await reader.setFaultPlan(plan)
        let result: Result<BadgeIdentity, BadgeError>
        do {
            let info = try await reader.connect(preferred: [.t1])
            result = .success(try await BadgeSession(transport: reader, atr: info.atr).authenticateBadge(siteMasterKey: key))
        } catch let e as BadgeError {
            result = .failure(e)
        } catch let e as TransportError {
            result = .failure(.transport(e))
        }
        return Run(
            result: result,
            commands: await reader.transcript.filter { $0.kind == .apdu }.map(\.command),
            transactionOpen: await reader.isInTransaction, reader: reader)
    }

    /// The DESFire command a frame belongs to (`AF` continuation frames belong to the command before them) and its
    /// frame number in that chain (1 = the command itself).
    static func roles(_ commands: [[UInt8]]) -> [(ins: UInt8, frame: Int)] {
        var out: [(UInt8, Int)] = []
        var current: UInt8 = 0
        var frame = 0
        for c in commands {
            let ins = c.count > 1 ? c[1] : 0
            if ins == 0xAF { frame += 1 } else { current = ins; frame = 1 }
            out.append((current, frame))
        }
        return out
    }

    /// What the fault at k must give. The exchanges are DESFire native commands wrapped in ISO 7816-4 (CLA 90):
    /// GetVersion `60` (3 frames), SelectApplication `5A`, AuthenticateAES `AA` (2 frames), ReadData `BD` (2 frames).
    static func expected(_ column: Column, role: (ins: UInt8, frame: Int)) -> Result<BadgeIdentity, BadgeError>? {
        switch column {
        case .removedBefore: return .failure(.transport(.cardRemoved))
        case .muteOnce: return .failure(.transport(.cardMute))
        case .truncated: return nil  // .malformedResponse, checked by case below
        case .statusWordDamaged: return .failure(.unexpectedStatus(StatusWord(sw1: 0x6F, sw2: 0x00)))
        case .dataCorrupted:
            switch (role.ins, role.frame) {
            // GetVersion frame 1: the vendor byte no longer says NXP.
            case (0x60, 1): return .failure(.notDESFire)
            // Frame 2 (software version) is informative only: same identity.
            case (0x60, 2): return nil
            // Frame 3 starts with the UID: the diversified key is wrong, the cryptography refuses.
            case (0x60, _): return .failure(.authenticationFailed)
            // SelectApplication's `91 00` becomes `90 00`: not a DESFire status.
            case (0x5A, _): return .failure(.unexpectedStatus(StatusWord(sw1: 0x90, sw2: 0x00)))
            // The encrypted RndB or RndA′.
            case (0xAA, _): return .failure(.authenticationFailed)
            // The MACed file data.
            case (0xBD, _): return .failure(.macMismatch)
            default: return .failure(.invalidArgument("unexpected command in the flow"))
            }
        }
    }

    static func matches(_ column: Column, role: (ins: UInt8, frame: Int), _ r: Result<BadgeIdentity, BadgeError>,
        clean: BadgeIdentity) -> Bool
    {
        if column == .truncated {
            if case .failure(.malformedResponse) = r { return true }
            return false
        }
        guard let want = expected(column, role: role) else { return r == .success(clean) }
        return r == want
    }

    /// Commands compared between runs: the header only (RndA and the session make the data differ every run).
    static func headers(_ c: [[UInt8]]) -> [[UInt8]] { c.map { Array($0.prefix(4)) } }

    @Test("Badge authentication: every fault at every APDU")
    func matrix() async throws {
        let key = try Self.siteKey()
        let clean = try await Self.run(plan: .none, key: key)
        let cleanIdentity = try clean.result.get()
        let n = clean.commands.count
        let roles = Self.roles(clean.commands)
        #expect(roles.map(\.ins) == [0x60, 0x60, 0x60, 0x5A, 0xAA, 0xAA, 0xBD, 0xBD])
        var cells = 0
        var failures: [String] = []
        var outcomes: [String] = []
        for k in 1...n {
            for column in Column.allCases {
                cells += 1
                let run = try await Self.run(plan: column.plan(k: k), key: key)
                let c = clean.commands[k - 1]
                if !Self.matches(column, role: roles[k - 1], run.result, clean: cleanIdentity) {
                    failures.append("k=\(k) \(column) (\(c.prefix(2).hexString(separator: " "))): got \(run.result)")
                }
                outcomes.append("k=\(k) \(column) \(c.prefix(2).hexString(separator: " ")) → \(run.result)")
                // A corrupted answer never yields an identity different from the clean one.
                if case .success(let id) = run.result, id != cleanIdentity {
                    failures.append("k=\(k) \(column): a different identity was accepted")
                }
                if Self.headers(Array(run.commands.prefix(k - 1))) != Self.headers(Array(clean.commands.prefix(k - 1))) {
                    failures.append("k=\(k) \(column): the commands before #\(k) differ from the clean run's")
                }
                if column == .removedBefore && run.commands.count != k - 1 {
                    failures.append("k=\(k) \(column): commands sent after the removal")
                }
                if run.transactionOpen { failures.append("k=\(k) \(column): transaction left open") }
                #expect(!run.commands.contains { $0.count > 1 && $0[0] == 0x00 && [0x20, 0x24, 0x2C].contains($0[1]) })
                // The badge presented again authenticates.
                await run.reader.setFaultPlan(.none)
                await run.reader.remove()
                try await run.reader.insert(persona: Self.persona)
                let info = try await run.reader.connect(preferred: [.t1])
                let again = try await BadgeSession(transport: run.reader, atr: info.atr).authenticateBadge(siteMasterKey: key)
                if again != cleanIdentity { failures.append("k=\(k) \(column): the next presentation differs") }
            }
        }
        print("fault matrix: badgeAuthentication \(n) APDUs × \(Column.allCases.count) faults = \(cells) cells, \(cells - failures.count) passed")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))\n--- all outcomes:\n\(outcomes.joined(separator: "\n"))")
        _ = outcomes
    }
}
