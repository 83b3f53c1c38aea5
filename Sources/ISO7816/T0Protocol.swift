/// The T=0 character protocol, ISO/IEC 7816-3 §10: mapping a C-APDU to a command TPDU (§12.2) and the interface
/// device's handling of procedure bytes (§10.3.3).
///
/// `61 xx` and `6C xx` are passed up unchanged: GET RESPONSE and re-issuing with the exact Le are the job of the APDU
/// pipeline above the transport (`architecture.md`, "Three layers with hard edges").

/// A T=0 command TPDU: the 5-byte header CLA INS P1 P2 P3 and, for an outgoing data transfer, P3 data bytes.
public struct T0CommandTPDU: Sendable, Hashable {
    /// CLA INS P1 P2 P3.
    public var header: [UInt8]
    /// Data sent to the card (empty unless the command carries data).
    public var data: [UInt8]
    /// Number of data bytes expected from the card (0…256; P3 = 00 means 256 when `data` is empty and the APDU
    /// was case 2).
    public var expectedLength: Int

    /// A TPDU from its parts (as a reader receives it).
    public init(header: [UInt8], data: [UInt8], expectedLength: Int) {
        self.header = header
        self.data = data
        self.expectedLength = expectedLength
    }

    /// header ‖ data, as a TPDU-level reader takes it.
    public var bytes: [UInt8] { header + data }

    /// Maps a short C-APDU onto a TPDU (ISO/IEC 7816-3 §12.2.2–§12.2.5):
    /// case 1 → P3 = 00; case 2S → P3 = Le; case 3S → P3 = Lc + data; case 4S → sent as case 3S (the card
    /// answers `61 xx` and GET RESPONSE follows).
    /// - Throws: `TransportError.notSupported` for an extended-length APDU (T=0 needs ENVELOPE, not done here);
    ///   `TransportError.failed` when the bytes are not a C-APDU.
    public init(apdu bytes: [UInt8]) throws(TransportError) {
        let apdu: CommandAPDU
        do { apdu = try CommandAPDU(decoding: bytes) } catch { throw .failed("not a C-APDU: \(error)") }
        if apdu.needsExtendedLength || (bytes.count > 5 && bytes[4] == 0x00) {
            throw .notSupported("extended-length APDU over T=0 (ISO/IEC 7816-3 §12.2.6 ENVELOPE)")
        }
        let h = [apdu.cla, apdu.ins, apdu.p1, apdu.p2]
        switch apdu.isoCase {
        case 1:
            header = h + [0x00]
            data = []
            expectedLength = 0
        case 2:
            let ne = apdu.ne ?? 256
            header = h + [ne == 256 ? 0x00 : UInt8(ne)]
            data = []
            expectedLength = ne
        default:
            header = h + [UInt8(apdu.data.count)]
            data = apdu.data
            expectedLength = 0
        }
    }
}

/// Character-level link to a T=0 card: send bytes, receive exactly `count` bytes (the UART of a reader).
public protocol T0CharacterChannel {
    /// Sends bytes to the card.
    mutating func send(_ bytes: [UInt8]) async throws(TransportError)
    /// Receives exactly `count` bytes, or throws `TransportError.timeout` / `.cardMute` when the card falls silent
    /// beyond the work waiting time.
    mutating func receive(_ count: Int) async throws(TransportError) -> [UInt8]
}

/// Interface-device side of the T=0 procedure-byte exchange (ISO/IEC 7816-3 §10.3.3).
public enum T0ProcedureEngine {
    /// At most this many NULL (60) bytes are accepted for one command before giving up (each restarts the WWT;
    /// bounding them keeps one stuck card from blocking forever).
    public static let maxNullBytes = 4096

    /// Runs one command TPDU: sends the header, then reacts to each procedure byte —
    /// INS: transfer all remaining data; INS ⊕ FF: transfer one byte; `60`: wait (NULL); `6x`/`9x` (other than 60):
    /// SW1, read SW2 and stop.
    /// - Returns: the bytes received from the card followed by SW1 SW2 (`61 xx` and `6C xx` are returned as they
    ///   are).
    /// - Throws: `TransportError.failed` on an invalid procedure byte, too many NULLs or a header that is not 5
    ///   bytes; channel errors as they are.
    public static func run<Channel: T0CharacterChannel>(_ tpdu: T0CommandTPDU, over channel: inout Channel)
        async throws(TransportError) -> [UInt8]
    {
        guard tpdu.header.count == 5 else { throw .failed("T=0: a TPDU header has 5 bytes, not \(tpdu.header.count)") }
        try await channel.send(tpdu.header)
        let ins = tpdu.header[1]
        var toSend = tpdu.data[...]
        var toReceive = tpdu.data.isEmpty ? tpdu.expectedLength : 0
        var received: [UInt8] = []
        var nulls = 0
        while true {
            let pb = try await channel.receive(1)[0]
            switch pb {
            case 0x60:
                nulls += 1
                if nulls > maxNullBytes { throw .failed("T=0: more than \(maxNullBytes) NULL procedure bytes") }
            case ins:
                if !toSend.isEmpty {
                    try await channel.send(Array(toSend))
                    toSend = []
                } else if toReceive > 0 {
                    received += try await channel.receive(toReceive)
                    toReceive = 0
                } else {
                    throw .failed("T=0: the card asked for a transfer with nothing left to transfer")
                }
            case ins ^ 0xFF:
                if let b = toSend.first {
                    try await channel.send([b])
                    toSend = toSend.dropFirst()
                } else if toReceive > 0 {
                    received += try await channel.receive(1)
                    toReceive -= 1
                } else {
                    throw .failed("T=0: the card asked for one more byte with nothing left to transfer")
                }
            case let sw1 where sw1 & 0xF0 == 0x60 || sw1 & 0xF0 == 0x90:
                let sw2 = try await channel.receive(1)[0]
                return received + [sw1, sw2]
            default:
                throw .failed("T=0: invalid procedure byte \([pb].hexString())")
            }
        }
    }
}
