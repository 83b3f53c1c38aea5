import Testing
@testable import PCSC

/// The pure part of the reader monitor: which events two successive states of a reader give (spec note §3.1).
@Suite struct ReaderMonitorEventTests {
    static let atr: [UInt8] = [0x3B, 0x75, 0x13, 0x00, 0x00, 0x47, 0x09, 0xEA, 0x90, 0x00]
    static let r = "Virtual PCD 00 00"

    static func snap(_ state: PCSCReaderState, _ atr: [UInt8] = [], count: Int) -> PCSCReaderSnapshot {
        PCSCReaderSnapshot(name: r, state: state, atr: atr, eventCount: count)
    }

    @Test func insertionAndRemoval() {
        #expect(
            cardEvents(old: Self.snap(.empty, count: 0), new: Self.snap(.present, Self.atr, count: 1), countersComparable: true)
                == [.cardInserted(reader: Self.r, atr: Self.atr)])
        #expect(
            cardEvents(old: Self.snap(.present, Self.atr, count: 1), new: Self.snap(.empty, count: 2), countersComparable: true)
                == [.cardRemoved(reader: Self.r)])
        #expect(
            cardEvents(old: nil, new: Self.snap(.mute, Self.atr, count: 1), countersComparable: false)
                == [.cardMute(reader: Self.r)])
    }

    /// Removed and re-inserted between two waits: still "present", but the counter moved by 2.
    @Test func reinsertionBetweenWaitsIsReported() {
        #expect(
            cardEvents(
                old: Self.snap(.present, Self.atr, count: 3), new: Self.snap(.present, Self.atr, count: 5),
                countersComparable: true)
                == [.cardRemoved(reader: Self.r), .cardInserted(reader: Self.r, atr: Self.atr)])
        // Counter wrap-around at 16 bits.
        #expect(
            cardEvents(
                old: Self.snap(.present, Self.atr, count: 0xFFFF), new: Self.snap(.present, Self.atr, count: 1),
                countersComparable: true).count == 2)
    }

    @Test func sameCardNoEvent() {
        // inUse ↔ present (another application connected) is not a card event.
        #expect(
            cardEvents(
                old: Self.snap(.present, Self.atr, count: 3), new: Self.snap(.inUse, Self.atr, count: 3),
                countersComparable: true) == [])
        // After a pcscd restart the counters restart: not comparable, same ATR → nothing.
        #expect(
            cardEvents(
                old: Self.snap(.present, Self.atr, count: 9), new: Self.snap(.present, Self.atr, count: 1),
                countersComparable: false) == [])
    }

    @Test func swappedCardWithAnotherATR() {
        let other: [UInt8] = [0x3B, 0x81, 0x80, 0x01, 0x80, 0x80]
        #expect(
            cardEvents(
                old: Self.snap(.present, Self.atr, count: 1), new: Self.snap(.present, other, count: 1),
                countersComparable: false)
                == [.cardRemoved(reader: Self.r), .cardInserted(reader: Self.r, atr: other)])
    }

    @Test func cardTurnsMute() {
        #expect(
            cardEvents(
                old: Self.snap(.present, Self.atr, count: 1), new: Self.snap(.mute, Self.atr, count: 1),
                countersComparable: true) == [.cardMute(reader: Self.r)])
    }
}
