/// A command APDU (C-APDU) as defined by ISO/IEC 7816-4 §5.1 (command-response pairs).
///
/// The four cases are modelled by `Nc` (the number of data bytes, `data.count`) and `Ne` (the maximum number of
/// bytes expected in the response, `ne`):
///
/// | case | Nc | Ne |
/// |---|---|---|
/// | 1 | 0 | absent (`nil`) |
/// | 2 | 0 | 1…65536 |
/// | 3 | 1…65535 | absent |
/// | 4 | 1…65535 | 1…65536 |
///
/// Short form carries Nc ≤ 255 and Ne ≤ 256 (Ne = 256 is encoded `00`); extended form carries Nc ≤ 65535 and
/// Ne ≤ 65536 (Ne = 65536 is encoded `00 00`), ISO/IEC 7816-4 §5.1, table 1.
public struct CommandAPDU: Sendable, Hashable, CustomStringConvertible {
    /// Class byte (CLA). Bit 0x10 is the command-chaining bit (ISO/IEC 7816-4 §5.4.1, interindustry class).
    public var cla: UInt8
    /// Instruction byte (INS).
    public var ins: UInt8
    /// Parameter bytes P1 and P2.
    public var p1: UInt8
    public var p2: UInt8
    /// Command data field; its length is Nc (0…65535 bytes).
    public var data: [UInt8]
    /// Ne: maximum number of response data bytes expected, 1…65536, or `nil` when absent.
    public var ne: Int?

    public init(cla: UInt8 = 0x00, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8] = [], ne: Int? = nil) {
        self.cla = cla
        self.ins = ins
        self.p1 = p1
        self.p2 = p2
        self.data = data
        self.ne = ne
    }

    /// Nc, the number of bytes in the command data field.
    public var nc: Int { data.count }

    /// The ISO/IEC 7816-3 §12.1.2 case of this command (1…4).
    public var isoCase: Int {
        switch (data.isEmpty, ne == nil) {
        case (true, true): return 1
        case (true, false): return 2
        case (false, true): return 3
        case (false, false): return 4
        }
    }

    /// True when this command does not fit the short form (Nc > 255 or Ne > 256).
    public var needsExtendedLength: Bool { data.count > 255 || (ne ?? 0) > 256 }

    /// True when CLA announces that more commands of the same chain follow (bit 0x10, ISO/IEC 7816-4 §5.4.1).
    public var isChained: Bool { cla & 0x80 == 0 && cla & 0x10 != 0 }

    /// Checks Nc and Ne ranges.
    /// - Throws: `APDUError.dataTooLong` when Nc > 65535, `APDUError.invalidNe` when Ne is outside 1…65536.
    public func validate() throws(APDUError) {
        if data.count > 65535 { throw .dataTooLong(nc: data.count) }
        if let ne, ne < 1 || ne > 65536 { throw .invalidNe(ne) }
    }

    /// Encodes the C-APDU.
    /// - Parameter extended: `true` forces the extended form, `false` forces the short form, `nil` picks the
    ///   short form when it fits and the extended form otherwise.
    /// - Returns: CLA INS P1 P2 [Lc data] [Le], 4…65544 bytes.
    /// - Throws: `APDUError.dataTooLong`, `APDUError.invalidNe`, or `APDUError.needsExtendedLength` when the short
    ///   form is forced but Nc > 255 or Ne > 256.
    public func encoded(extended: Bool? = nil) throws(APDUError) -> [UInt8] {
        try validate()
        let useExtended = extended ?? needsExtendedLength
        if !useExtended && needsExtendedLength { throw .needsExtendedLength(nc: nc, ne: ne) }
        var out: [UInt8] = [cla, ins, p1, p2]
        out.reserveCapacity(4 + 3 + data.count + 3)
        if useExtended && (!data.isEmpty || ne != nil) {
            if !data.isEmpty {
                out += [0x00, UInt8(data.count >> 8), UInt8(data.count & 0xFF)]
                out += data
            }
            if let ne {
                let le = ne == 65536 ? 0 : ne
                if data.isEmpty { out.append(0x00) }
                out += [UInt8(le >> 8), UInt8(le & 0xFF)]
            }
        } else {
            if !data.isEmpty {
                out.append(UInt8(data.count))
                out += data
            }
            if let ne { out.append(ne == 256 ? 0x00 : UInt8(ne)) }
        }
        return out
    }

    /// Encodes in the form that fits (short when possible). Never fails for a validated APDU whose ranges are
    /// legal; used for logging and transcripts.
    public var bytes: [UInt8] { (try? encoded()) ?? [cla, ins, p1, p2] }

    /// Decodes a C-APDU, telling the short and extended forms apart as ISO/IEC 7816-3 §12.1.3 does.
    /// - Parameter bytes: the raw command, 4…65544 bytes.
    /// - Throws: `APDUError` naming what is malformed (too short, Lc disagreeing with the length, and so on).
    public init(decoding bytes: [UInt8]) throws(APDUError) {
        guard bytes.count >= 4 else { throw .tooShort(count: bytes.count) }
        self.init(cla: bytes[0], ins: bytes[1], p1: bytes[2], p2: bytes[3])
        let body = Array(bytes[4...])
        let l = body.count
        if l == 0 { return }  // case 1
        if l == 1 {  // case 2 short
            ne = body[0] == 0 ? 256 : Int(body[0])
            return
        }
        if body[0] != 0 {  // short form, case 3 or 4
            let lc = Int(body[0])
            if l == 1 + lc {
                data = Array(body[1...])
                return
            }
            if l == 2 + lc {
                data = Array(body[1..<(1 + lc)])
                ne = body[l - 1] == 0 ? 256 : Int(body[l - 1])
                return
            }
            throw .lengthMismatch(declared: lc, available: l - 1)
        }
        // body[0] == 0 and l > 1: extended form
        if l == 3 {  // case 2 extended
            let le = Int(body[1]) << 8 | Int(body[2])
            ne = le == 0 ? 65536 : le
            return
        }
        guard l >= 3 else { throw .malformedExtendedLength }
        let lc = Int(body[1]) << 8 | Int(body[2])
        if lc == 0 { throw .malformedExtendedLength }
        if l == 3 + lc {
            data = Array(body[3...])
            return
        }
        if l == 5 + lc {
            data = Array(body[3..<(3 + lc)])
            let le = Int(body[l - 2]) << 8 | Int(body[l - 1])
            ne = le == 0 ? 65536 : le
            return
        }
        throw .lengthMismatch(declared: lc, available: l - 3)
    }

    public var description: String {
        var s = [cla, ins, p1, p2].hexString(separator: " ")
        if !data.isEmpty { s += " Nc=\(data.count)" }
        if let ne { s += " Ne=\(ne)" }
        return s
    }
}

/// Why a C-APDU could not be encoded or decoded.
public enum APDUError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer than the 4 header bytes CLA INS P1 P2.
    case tooShort(count: Int)
    /// Lc announces `declared` bytes but `available` follow (and they do not leave room for exactly one Le).
    case lengthMismatch(declared: Int, available: Int)
    /// An extended length field (`00 xx xx`) is truncated or announces Lc = 0.
    case malformedExtendedLength
    /// More than 65535 data bytes.
    case dataTooLong(nc: Int)
    /// Ne outside 1…65536.
    case invalidNe(Int)
    /// Short form requested, but Nc > 255 or Ne > 256.
    case needsExtendedLength(nc: Int, ne: Int?)
    /// A response shorter than the two status bytes SW1-SW2.
    case responseTooShort(count: Int)

    public var description: String {
        switch self {
        case .tooShort(let n): return "command APDU too short: \(n) bytes, at least 4 needed"
        case .lengthMismatch(let d, let a): return "Lc says \(d) data bytes but \(a) follow"
        case .malformedExtendedLength: return "malformed extended length field"
        case .dataTooLong(let n): return "command data too long: \(n) bytes, at most 65535"
        case .invalidNe(let n): return "Ne \(n) outside 1…65536"
        case .needsExtendedLength(let nc, let ne):
            return "Nc \(nc) / Ne \(ne.map(String.init) ?? "absent") needs extended length"
        case .responseTooShort(let n): return "response APDU too short: \(n) bytes, SW1-SW2 missing"
        }
    }
}
