#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Batch INS-C over a text stream, for a patient base of millions of rows
/// (`../shared/specs/cli.md`, `carte ins insc --batch`).
///
/// Input: one row per line, `prenom;naissance;nir[;…]` (UTF-8; `\n` or `\r\n` line ends; extra
/// fields are ignored and copied). Output, line for line:
/// - a good row: the line, `;`, the 22-digit INS-C;
/// - a bad row: the line, `;ERROR:line <n>: <reason>` (n counts every physical line from 1);
///   processing goes on with the next line;
/// - a blank line (only spaces/tabs) or a line starting with `#`: copied unchanged.
///
/// Memory is bounded: input is read in 64 KiB chunks into a fixed 256 KiB buffer (lines up to
/// ``maxLineLength``) and output
/// goes through a 64 KiB buffer. A line longer than the buffer is copied through unchanged and
/// reported as an error. Rows are handled as bytes (no `String` per row) unless an error message
/// or a non-ASCII first name needs one.
public enum INSCBatch {
    /// The longest line that is processed, bytes (longer ones are copied through and reported).
    public static let maxLineLength = 192 * 1024
    static let readChunk = 64 * 1024
    static let lineBufferSize = maxLineLength + readChunk
    static let outputBufferSize = 64 * 1024

    /// Streams `input` to `output`. Returns the counts; `summary.allSucceeded` tells the exit code.
    /// - Throws: ``INSCBatchError`` when reading or writing fails (a bad row is not an error).
    public static func process<I: INSCBatchInput, O: INSCBatchOutput>(input: inout I, output: inout O)
        throws(INSCBatchError) -> INSCBatchSummary
    {
        var summary = INSCBatchSummary()
        var out = BufferedWriter(capacity: outputBufferSize)
        defer { out.deallocate() }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: lineBufferSize, alignment: 16)
        defer { buf.deallocate() }
        let base = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var start = 0  // first byte of the current line
        var end = 0  // end of valid data
        var overlong = false  // inside a line longer than the buffer, already partly copied
        var eof = false

        while true {
            // Handle every complete line in base[start..<end].
            while start < end, let nlRaw = memchr(base + start, 0x0A, end - start) {
                let nl = UnsafeMutablePointer<UInt8>(mutating: nlRaw.assumingMemoryBound(to: UInt8.self)) - base
                summary.lines += 1
                if overlong || nl - start > maxLineLength {
                    try out.write(base + start, nl - start, to: &output)
                    try finishOverlong(line: summary.lines, newline: true, out: &out, output: &output)
                    summary.failed += 1
                    overlong = false
                } else {
                    let line = UnsafeBufferPointer(start: base + start, count: nl - start)
                    try processLine(line, number: summary.lines, newline: true, summary: &summary, out: &out, output: &output)
                }
                start = nl + 1
            }
            if eof {
                if start < end || overlong {
                    summary.lines += 1
                    if overlong || end - start > maxLineLength {
                        try out.write(base + start, end - start, to: &output)
                        try finishOverlong(line: summary.lines, newline: false, out: &out, output: &output)
                        summary.failed += 1
                    } else {
                        let line = UnsafeBufferPointer(start: base + start, count: end - start)
                        try processLine(line, number: summary.lines, newline: false, summary: &summary, out: &out, output: &output)
                    }
                }
                break
            }
            // Make room: move the partial line to the front, or copy an over-long one through.
            if start == end {
                start = 0
                end = 0
            } else if end + readChunk > lineBufferSize {
                if start > 0 {
                    memmove(base, base + start, end - start)
                    end -= start
                    start = 0
                }
                if end + readChunk > lineBufferSize {
                    try out.write(base, end, to: &output)
                    overlong = true
                    start = 0
                    end = 0
                }
            }
            let n = try input.read(into: UnsafeMutableRawBufferPointer(start: base + end, count: readChunk))
            if n == 0 { eof = true } else { end += n }
        }
        try out.flush(to: &output)
        return summary
    }

    /// Convenience for tests and small inputs: processes `text` in memory.
    public static func process(_ text: String) -> (output: String, summary: INSCBatchSummary) {
        var input = ByteArrayBatchInput(Array(text.utf8))
        var output = ByteArrayBatchOutput()
        // In-memory input and output never fail.
        let summary = (try? process(input: &input, output: &output)) ?? INSCBatchSummary()
        return (String(decoding: output.bytes, as: UTF8.self), summary)
    }

    static func finishOverlong<O: INSCBatchOutput>(line: Int, newline: Bool, out: inout BufferedWriter, output: inout O)
        throws(INSCBatchError)
    {
        try out.write(";ERROR:line \(line): the line is longer than \(maxLineLength) bytes", to: &output)
        if newline { try out.write(byte: 0x0A, to: &output) }
    }

    @inline(__always)
    static func processLine<O: INSCBatchOutput>(
        _ full: UnsafeBufferPointer<UInt8>, number: Int, newline: Bool,
        summary: inout INSCBatchSummary,
        out: inout BufferedWriter, output: inout O
    ) throws(INSCBatchError) {
        let base = full.baseAddress!
        var count = full.count
        let cr = count > 0 && base[count - 1] == 0x0D
        if cr { count -= 1 }
        // A UTF-8 byte order mark on the first line is copied but not read as data.
        let bom = number == 1 && count >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF ? 3 : 0
        // Blank or comment: copy unchanged.
        var firstNonBlank = bom
        while firstNonBlank < count && (base[firstNonBlank] == 0x20 || base[firstNonBlank] == 0x09) { firstNonBlank += 1 }
        if firstNonBlank == count || base[bom] == 0x23 {
            try out.write(base, full.count, to: &output)
            if newline { try out.write(byte: 0x0A, to: &output) }
            summary.copied += 1
            return
        }
        try out.write(base, count, to: &output)
        // Fields: prenom ; naissance ; nir [; …]
        var s1 = -1
        var s2 = -1
        var s3 = count
        var i = bom
        while i < count {
            if base[i] == 0x3B {
                if s1 < 0 { s1 = i } else if s2 < 0 { s2 = i } else { s3 = i; break }
            }
            i += 1
        }
        let result: Result<UInt64, INSCError>?
        if s2 < 0 {
            result = nil
        } else {
            result = INSCCore.compute(
                prenom: UnsafeBufferPointer(start: base + bom, count: s1 - bom),
                date: UnsafeBufferPointer(start: base + s1 + 1, count: s2 - s1 - 1),
                nir: UnsafeBufferPointer(start: base + s2 + 1, count: s3 - s2 - 1))
        }
        switch result {
        case .success(let v)?:
            try out.reserve(23, to: &output)
            out.pointer[0] = 0x3B
            INSC.writeDigits(v, into: out.pointer + 1)
            out.advance(23)
            summary.computed += 1
        case .failure(let e)?:
            try out.write(";ERROR:line \(number): \(e.description)", to: &output)
            summary.failed += 1
        case nil:
            try out.write(";ERROR:line \(number): expected prenom;naissance;nir", to: &output)
            summary.failed += 1
        }
        if cr { try out.write(byte: 0x0D, to: &output) }
        if newline { try out.write(byte: 0x0A, to: &output) }
    }
}

/// Counts of one batch run.
public struct INSCBatchSummary: Sendable, Hashable {
    /// Physical lines read.
    public var lines = 0
    /// Rows given an INS-C.
    public var computed = 0
    /// Rows answered with `;ERROR:`.
    public var failed = 0
    /// Blank and `#` lines copied unchanged.
    public var copied = 0
    /// True when no row failed (the CLI then exits 0, else 1).
    public var allSucceeded: Bool { failed == 0 }
    public init() {}
}

/// A read or write failure of the batch streams (bad rows are not errors).
public enum INSCBatchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `read(2)` failed with this errno.
    case readFailed(errno: Int32)
    /// `write(2)` failed with this errno.
    case writeFailed(errno: Int32)

    public var description: String {
        switch self {
        case .readFailed(let e): "could not read the batch input: \(String(cString: strerror(e)))"
        case .writeFailed(let e): "could not write the batch output: \(String(cString: strerror(e)))"
        }
    }
}

/// Where the batch reads from.
public protocol INSCBatchInput {
    /// Fills up to `buffer.count` bytes; returns how many, 0 at end of input.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(INSCBatchError) -> Int
}

/// Where the batch writes to.
public protocol INSCBatchOutput {
    /// Writes all of `bytes`.
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(INSCBatchError)
}

/// Reads a file descriptor with `read(2)` (retries on EINTR). Does not close it.
public struct FileDescriptorBatchInput: INSCBatchInput {
    public let fd: Int32
    public init(fd: Int32) { self.fd = fd }
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(INSCBatchError) -> Int {
        while true {
            #if canImport(Glibc)
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            #else
                let n = Darwin.read(fd, buffer.baseAddress, buffer.count)
            #endif
            if n >= 0 { return n }
            if errno != EINTR { throw .readFailed(errno: errno) }
        }
    }
}

/// Writes to a file descriptor with `write(2)` (handles short writes and EINTR). Does not close it.
public struct FileDescriptorBatchOutput: INSCBatchOutput {
    public let fd: Int32
    public init(fd: Int32) { self.fd = fd }
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(INSCBatchError) {
        var done = 0
        while done < bytes.count {
            #if canImport(Glibc)
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            #else
                let n = Darwin.write(fd, bytes.baseAddress! + done, bytes.count - done)
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(errno: errno)
            }
            done += n
        }
    }
}

/// In-memory input (tests, benchmarks).
public struct ByteArrayBatchInput: INSCBatchInput {
    public let bytes: [UInt8]
    public private(set) var position = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(INSCBatchError) -> Int {
        let n = min(buffer.count, bytes.count - position)
        if n > 0 {
            bytes.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
            }
        }
        position += n
        return n
    }
}

/// In-memory output (tests, benchmarks).
public struct ByteArrayBatchOutput: INSCBatchOutput {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(INSCBatchError) {
        self.bytes.append(contentsOf: bytes)
    }
}

/// A fixed output buffer flushed to an ``INSCBatchOutput`` when full.
struct BufferedWriter {
    let storage: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var used = 0

    init(capacity: Int) {
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
    }

    func deallocate() { storage.deallocate() }

    var pointer: UnsafeMutablePointer<UInt8> { storage + used }

    mutating func advance(_ n: Int) { used += n }

    @inline(__always)
    mutating func reserve<O: INSCBatchOutput>(_ n: Int, to output: inout O) throws(INSCBatchError) {
        if used + n > capacity { try flush(to: &output) }
    }

    mutating func flush<O: INSCBatchOutput>(to output: inout O) throws(INSCBatchError) {
        if used > 0 { try output.write(UnsafeRawBufferPointer(start: storage, count: used)) }
        used = 0
    }

    @inline(__always)
    mutating func write<O: INSCBatchOutput>(byte: UInt8, to output: inout O) throws(INSCBatchError) {
        try reserve(1, to: &output)
        storage[used] = byte
        used += 1
    }

    mutating func write<O: INSCBatchOutput>(_ p: UnsafePointer<UInt8>, _ n: Int, to output: inout O)
        throws(INSCBatchError)
    {
        if n > capacity {
            try flush(to: &output)
            try output.write(UnsafeRawBufferPointer(start: p, count: n))
            return
        }
        try reserve(n, to: &output)
        (storage + used).update(from: p, count: n)
        used += n
    }

    /// Error messages only (not the hot path).
    mutating func write<O: INSCBatchOutput>(_ s: String, to output: inout O) throws(INSCBatchError) {
        for b in s.utf8 { try write(byte: b, to: &output) }
    }
}
