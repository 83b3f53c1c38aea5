import ISO7816
import Testing
@testable import CardSimulator

@Suite struct VirtualReaderSetTests {
    @Test func scriptDrivesInsertionAndRemovalWithEvents() async throws {
        let set = VirtualReaderSet()
        await set.addReader(name: "Sim A")
        await set.addReader(name: "Sim CL", configuration: .contactless())
        try await set.run(script: """
            # two readers
            insert 0 vitale2-martin
            wait 100ms
            remove 0
            insert 1 uid-visitor
            insert 0 vitale1-lefebvre strict-t0
            unplug 1
            plug 1
            wait 2s
            """)
        var events: [ReaderEvent] = []
        for await e in set.events {
            events.append(e)
            if events.count == 8 { break }
        }
        #expect(events == [
            .readerAdded("Sim A"), .readerAdded("Sim CL"),
            .cardInserted(reader: "Sim A", atr: h("3B 75 13 00 00 47 09 EA 90 00")),
            .cardRemoved(reader: "Sim A"),
            .cardInserted(reader: "Sim CL", atr: h("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A")),
            .cardInserted(reader: "Sim A", atr: h("3F 65 25 00 2C 09 69 90 00")),
            .readerRemoved("Sim CL"), .readerAdded("Sim CL"),
        ])
        #expect(await set.virtualNanoseconds == 2_100_000_000)
        let a = try #require(await set.reader(named: "Sim A"))
        #expect(await a.hasCard)
    }

    @Test func scriptErrorsNameTheLine() async {
        let set = VirtualReaderSet()
        await set.addReader(name: "Sim A")
        await #expect(throws: ReaderScriptError.noSuchReader(line: 2, index: 5)) {
            try await set.run(script: "wait 1ms\ninsert 5 vitale2-martin")
        }
        await #expect(throws: ReaderScriptError.unknownPersona(line: 1, id: "nobody")) {
            try await set.run(script: "insert 0 nobody")
        }
        await #expect(throws: ReaderScriptError.syntax(line: 1, text: "jump 0")) { try await set.run(script: "jump 0") }
        await #expect(throws: ReaderScriptError.syntax(line: 1, text: "wait soon")) { try await set.run(script: "wait soon") }
    }

    @Test func removingAReaderFromTheSet() async throws {
        let set = VirtualReaderSet()
        let (a, b) = SimulatedReader.twoSlot(namePrefix: "Sim Bifente")
        await set.add(a)
        await set.add(b)
        await set.removeReader(at: 0)
        var events: [ReaderEvent] = []
        for await e in set.events {
            events.append(e)
            if events.count == 3 { break }
        }
        #expect(events == [.readerAdded("Sim Bifente 00 00"), .readerAdded("Sim Bifente 00 01"), .readerRemoved("Sim Bifente 00 00")])
        #expect(await set.readers.count == 1)
    }
}
