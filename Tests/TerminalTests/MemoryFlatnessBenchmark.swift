import Foundation
import Testing

@testable import Terminal

/// Resident set size in bytes (/proc/self/statm, Linux).
func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = s.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// A benchmark, not a unit test: run with `CARTE_BENCH=1 swift test --filter MemoryFlatnessBenchmark`. It prints
/// the resident memory after 2,000 and after 20,000 insert/remove cycles through the service (fake flows, audit
/// log on disk) and fails only on gross growth (more than 16 MB), which would mean sessions or flows are kept.
@Suite("Memory flatness (benchmark, CARTE_BENCH=1)")
struct MemoryFlatnessBenchmark {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CARTE_BENCH"] == "1"))
    func flatMemory() async throws {
        let service = try makeService()
        let reader = ReaderDescriptor(name: "Cherry Vitale 01 00")
        await service.handle(.readerAdded(reader))
        func cycles(_ n: Int) async {
            for _ in 0..<n {
                await service.handle(.cardInserted(reader: reader.name, atr: FakeFlowRunner.vitaleATR))
                await service.handle(.cardRemoved(reader: reader.name))
            }
        }
        await cycles(2_000)
        let early = residentBytes()
        await cycles(18_000)
        let late = residentBytes()
        print("memory flatness: RSS \(early / 1024) KiB after 2,000 cycles, \(late / 1024) KiB after 20,000")
        #expect(await service.sessionSnapshots().isEmpty)
        #expect(late - early < 16 << 20)
    }
}
