import ISO7816

/// Card side of T=1 (ISO/IEC 7816-3 §11) wrapped around a command processor: reassembles chained I-blocks into a
/// C-APDU, splits the R-APDU into I-blocks of at most IFSD bytes, answers R-, S(IFS), S(RESYNCH), S(ABORT) and
/// S(WTX response), and can be scripted to misbehave (WTX requests, error R-blocks).
public struct T1CardEngine: Sendable {
    /// Largest INF the card accepts (IFSC, what its ATR announces).
    public var ifsc: Int
    /// Largest INF the interface device accepts; the host changes it with S(IFS request). Default 32.
    public private(set) var ifsd = 32
    public var checksum: T1Checksum
    /// Scripted WTX multipliers: before each of the next answers, the card first sends S(WTX request) with it.
    public var pendingWTX: [UInt8] = []
    /// The card answers this many of the next I-blocks with R-blocks carrying an error (Int.max: every one).
    public var errorRBlocksForIBlocks = 0
    /// Blocks the card received, decoded (for tests).
    public private(set) var receivedBlocks: [T1Block] = []

    private var sendSequence: UInt8 = 0
    private var expectedSequence: UInt8 = 0
    private var command: [UInt8] = []
    private var responseChunks: [[UInt8]] = []
    private var heldResponse: [UInt8]? = nil
    private var lastSent: [UInt8]? = nil

    public init(ifsc: Int, checksum: T1Checksum) {
        self.ifsc = max(1, min(254, ifsc))
        self.checksum = checksum
    }

    /// Forgets the protocol state (card reset).
    public mutating func reset() {
        sendSequence = 0
        expectedSequence = 0
        command = []
        responseChunks = []
        heldResponse = nil
        lastSent = nil
        ifsd = 32
    }

    private mutating func send(_ b: T1Block) -> [UInt8] {
        let bytes = b.encoded(checksum: checksum)
        lastSent = bytes
        return bytes
    }

    private mutating func nextResponseBlock() -> [UInt8] {
        let chunk = responseChunks.removeFirst()
        let block = T1Block.i(sendSequence, more: !responseChunks.isEmpty, chunk)
        sendSequence ^= 1
        return send(block)
    }

    private mutating func startResponse(_ response: [UInt8]) -> [UInt8] {
        if !pendingWTX.isEmpty {
            heldResponse = response
            return send(.s(.wtx, response: false, [pendingWTX.removeFirst()]))
        }
        responseChunks = stride(from: 0, to: max(1, response.count), by: ifsd).map {
            Array(response[$0..<min(response.count, $0 + ifsd)])
        }
        return nextResponseBlock()
    }

    /// Handles one block from the interface device and returns the card's block.
    /// - Parameter process: runs a complete C-APDU and returns the R-APDU.
    public mutating func handle(_ raw: [UInt8], process: ([UInt8]) -> [UInt8]) -> [UInt8] {
        guard let block = try? T1Block(decoding: raw, checksum: checksum) else {
            return T1Block.r(expectedSequence, error: 1).encoded(checksum: checksum)
        }
        receivedBlocks.append(block)
        switch block.kind {
        case .information(let ns, let more):
            if errorRBlocksForIBlocks > 0 {
                if errorRBlocksForIBlocks != Int.max { errorRBlocksForIBlocks -= 1 }
                return T1Block.r(expectedSequence, error: 2).encoded(checksum: checksum)
            }
            guard ns == expectedSequence, block.information.count <= ifsc else {
                if ns != expectedSequence, let lastSent { return lastSent }  // a repeat: our answer was lost
                return T1Block.r(expectedSequence, error: 2).encoded(checksum: checksum)
            }
            expectedSequence ^= 1
            responseChunks = []
            command += block.information
            if more { return send(.r(expectedSequence)) }
            let apdu = command
            command = []
            return startResponse(process(apdu))
        case .receiveReady(let nr, _):
            if !responseChunks.isEmpty && nr == sendSequence { return nextResponseBlock() }
            if let lastSent { return lastSent }
            return T1Block.r(expectedSequence, error: 2).encoded(checksum: checksum)
        case .supervisory(let f, let isResponse):
            switch (f, isResponse) {
            case (.ifs, false):
                guard let v = block.information.first, v >= 1, v <= 254 else {
                    return T1Block.r(expectedSequence, error: 2).encoded(checksum: checksum)
                }
                ifsd = Int(v)
                return T1Block.s(.ifs, response: true, [v]).encoded(checksum: checksum)
            case (.resynch, false):
                let keepIFSD = ifsd
                reset()
                ifsd = keepIFSD
                return T1Block.s(.resynch, response: true).encoded(checksum: checksum)
            case (.abort, false):
                command = []
                responseChunks = []
                return T1Block.s(.abort, response: true).encoded(checksum: checksum)
            case (.wtx, true):
                guard let held = heldResponse else { return T1Block.r(expectedSequence, error: 2).encoded(checksum: checksum) }
                heldResponse = nil
                return startResponse(held)
            default:
                return T1Block.r(expectedSequence, error: 2).encoded(checksum: checksum)
            }
        }
    }
}
