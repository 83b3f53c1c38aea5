import CardSimulator
import Foundation
import ISO7816
import Testing
@testable import VirtualPCD

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct VPCDFrameParserTests {
    @Test func oneFramePerRead() {
        var p = VPCDFrameParser()
        #expect(p.append([0x00, 0x01, 0x04]) == [[0x04]])
        #expect(p.append([0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00]) == [[0x00, 0xA4, 0x04, 0x00, 0x00]])
        #expect(p.pendingByteCount == 0)
    }

    @Test func frameSplitAcrossReads() {
        var p = VPCDFrameParser()
        #expect(p.append([0x00]) == [])
        #expect(p.append([0x04, 0x00, 0xB0]) == [])
        #expect(p.pendingByteCount == 4)
        #expect(p.append([0x00]) == [])
        #expect(p.append([0x10, 0x00, 0x01]) == [[0x00, 0xB0, 0x00, 0x10]])
        #expect(p.pendingByteCount == 2)
        #expect(p.append([0x02]) == [[0x02]])
    }

    @Test func framesCoalescedInOneRead() {
        var p = VPCDFrameParser()
        let frames = p.append([0x00, 0x01, 0x01, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x90])
        #expect(frames == [[0x01], [0x04], []])
        #expect(p.append([0x00]) == [[0x90, 0x00]])
    }

    @Test func messages() {
        #expect(VPCDMessage(payload: [0x00]) == .control(.powerOff))
        #expect(VPCDMessage(payload: [0x01]) == .control(.powerOn))
        #expect(VPCDMessage(payload: [0x02]) == .control(.reset))
        #expect(VPCDMessage(payload: [0x04]) == .control(.getATR))
        #expect(VPCDMessage(payload: [0x03]) == .unknownControl(0x03))
        #expect(VPCDMessage(payload: [0x00, 0xA4]) == .apdu([0x00, 0xA4]))
        #expect(VPCDMessage(payload: []) == .empty)
    }

    @Test func framing() throws {
        #expect(try VPCDFrameParser.frame([0x90, 0x00]) == [0x00, 0x02, 0x90, 0x00])
        #expect(try VPCDFrameParser.frame(Array(repeating: 0, count: 300)).prefix(2) == [0x01, 0x2C])
        #expect(throws: VPCDError.frameTooLong(65536)) { try VPCDFrameParser.frame(Array(repeating: 0, count: 65536)) }
    }

    /// Any split of a stream gives the same frames as the whole stream; random bytes never crash
    /// (deterministic seed).
    @Test func fuzzSplitsAndGarbage() throws {
        var rng = SplitMix64(seed: 0x5EED_0035_963)
        for _ in 0..<500 {
            var frames: [[UInt8]] = []
            var stream: [UInt8] = []
            for _ in 0..<Int(rng.next() % 8) {
                let n = Int(rng.next() % 300)
                let f = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                frames.append(f)
                stream += try VPCDFrameParser.frame(f)
            }
            var p = VPCDFrameParser()
            var got: [[UInt8]] = []
            var i = 0
            while i < stream.count {
                let k = min(stream.count - i, 1 + Int(rng.next() % 40))
                got += p.append(stream[i..<(i + k)])
                i += k
            }
            #expect(got == frames)
            #expect(p.pendingByteCount == 0)
        }
        var p = VPCDFrameParser()
        var total = 0
        for _ in 0..<2000 {
            let n = Int(rng.next() % 64)
            let garbage = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            total += p.append(garbage).reduce(0) { $0 + $1.count + 2 }
        }
        #expect(total + p.pendingByteCount > 0)
    }

    @Test func addresses() throws {
        #expect(try VPCDAddress(parsing: "35963") == VPCDAddress(host: "127.0.0.1", port: 35963))
        #expect(try VPCDAddress(parsing: "10.0.0.2:35964") == VPCDAddress(host: "10.0.0.2", port: 35964))
        #expect(try VPCDAddress(parsing: ":35965") == VPCDAddress(host: "127.0.0.1", port: 35965))
        #expect(try VPCDAddress(parsing: "[::1]:35963") == VPCDAddress(host: "::1", port: 35963))
        #expect(try VPCDAddress(parsing: "localhost") == VPCDAddress(host: "localhost", port: 35963))
        #expect(throws: VPCDError.invalidAddress("host:99999")) { try VPCDAddress(parsing: "host:99999") }
        #expect(throws: VPCDError.invalidAddress("")) { try VPCDAddress(parsing: "") }
    }
}

/// The bridge against an in-test stand-in for vpcd (a loopback TCP listener speaking the vpcd framing):
/// no pcscd needed.
@Suite struct VPCDSlotClientTests {
    /// A one-connection loopback listener on an ephemeral port, with blocking helpers (2 s receive timeout).
    final class FakeVPCD: @unchecked Sendable {
        let listenFD: Int32
        let port: Int
        var conn: Int32 = -1

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
            }
            guard ok == 0, listen(fd, 1) == 0 else {
                close(fd)
                throw VPCDError.invalidAddress("bind")
            }
            _ = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
            }
            listenFD = fd
            port = Int(UInt16(bigEndian: addr.sin_port))
        }

        func accept() -> Bool {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) == 1 else { return false }
            conn = Glibc.accept(listenFD, nil, nil)
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            _ = setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            return conn >= 0
        }

        /// Sends raw bytes (possibly a partial frame or several frames).
        func sendRaw(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { send(conn, $0.baseAddress, $0.count, 0) } }

        /// Reads one length-prefixed reply.
        func readFrame() -> [UInt8]? {
            guard let h = readExactly(2) else { return nil }
            return readExactly(Int(h[0]) << 8 | Int(h[1]))
        }

        /// True when the peer closed the connection (read returns 0).
        func peerClosed() -> Bool {
            var b: UInt8 = 0
            return recv(conn, &b, 1, 0) == 0
        }

        private func readExactly(_ n: Int) -> [UInt8]? {
            var out: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: max(n, 1))
            while out.count < n {
                let r = buf.withUnsafeMutableBytes { recv(conn, $0.baseAddress, n - out.count, 0) }
                if r <= 0 { return nil }
                out += buf[0..<r]
            }
            return out
        }

        deinit {
            if conn >= 0 { close(conn) }
            close(listenFD)
        }
    }

    final class Transcript: @unchecked Sendable {
        let lock = NSLock()
        var entries: [VPCDTranscriptEntry] = []
        func add(_ e: VPCDTranscriptEntry) { lock.withLock { entries.append(e) } }
        var all: [VPCDTranscriptEntry] { lock.withLock { entries } }
    }

    @Test func servesControlAndAPDUsWithSplitAndCoalescedFrames() throws {
        let vpcd = try FakeVPCD()
        let transcript = Transcript()
        let client = VPCDSlotClient(host: "127.0.0.1", port: vpcd.port, transcript: { transcript.add($0) })
        defer { client.stop() }
        let card = TestCard()
        try client.insert(card)
        #expect(vpcd.accept())
        // Power on + get ATR coalesced in one write: only get ATR answers.
        vpcd.sendRaw([0x00, 0x01, 0x01, 0x00, 0x01, 0x04])
        #expect(vpcd.readFrame() == TestCard.atr)
        #expect(card.powerOnCount == 1)
        // SELECT split over three writes.
        let select = try VPCDFrameParser.frame(TestCard.select)
        vpcd.sendRaw(Array(select[0..<1]))
        vpcd.sendRaw(Array(select[1..<4]))
        vpcd.sendRaw(Array(select[4...]))
        #expect(vpcd.readFrame() == [0x90, 0x00])
        // READ BINARY 200 bytes at offset 200.
        vpcd.sendRaw(try VPCDFrameParser.frame(TestCard.readBinary(offset: 200, length: 200)))
        #expect(vpcd.readFrame() == Array(TestCard.file[200..<400]) + [0x90, 0x00])
        // Reset expects no reply; the next get ATR still answers.
        vpcd.sendRaw([0x00, 0x01, 0x02, 0x00, 0x01, 0x04])
        #expect(vpcd.readFrame() == TestCard.atr)
        #expect(
            transcript.all == [
                .control(.powerOn, reply: nil), .control(.getATR, reply: TestCard.atr),
                .exchange(command: TestCard.select, response: [0x90, 0x00]),
                .exchange(
                    command: TestCard.readBinary(offset: 200, length: 200),
                    response: Array(TestCard.file[200..<400]) + [0x90, 0x00]),
                .control(.reset, reply: nil), .control(.getATR, reply: TestCard.atr),
            ])
        // Remove = close the socket.
        client.remove()
        #expect(vpcd.peerClosed())
        #expect(!client.hasCard)
    }

    @Test func rejectsATRLongerThan33Bytes() {
        let client = VPCDSlotClient(port: 1)
        defer { client.stop() }
        #expect(throws: VPCDError.atrTooLong(34)) { try client.insert(TestCard(atr: [0x3B] + Array(repeating: 0, count: 33))) }
    }
}
