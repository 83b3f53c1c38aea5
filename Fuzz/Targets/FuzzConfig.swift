// libFuzzer target: the `carte serve` configuration file (TerminalConfiguration.parse(yaml:), Yams/libyaml).
// Arbitrary bytes as YAML text must give a configuration whose every value is within the documented ranges, or
// `TerminalError.configuration(line:reason:)` with a reason and a line inside the file; never a crash, and the
// same answer twice. TerminalConfiguration.swift, ReaderRole.swift and TerminalError.swift are compiled into
// this target; Yams, CYaml and Logging are instrumented libraries (scripts/fuzz.sh).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    // `load(path:)` refuses text that is not UTF-8; the lossy decoding reaches the parser with every input.
    let text = String(decoding: b, as: UTF8.self)
    // libyaml's line breaks (YAML 1.1 §5.4): LF, CR, CR LF, NEL, LS, PS.
    let breaks: Set<Character> = ["\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"]
    let lines = text.reduce(1) { breaks.contains($1) ? $0 + 1 : $0 }
    let first = Result { () throws(TerminalError) -> TerminalConfiguration in try TerminalConfiguration.parse(yaml: text) }
    let second = Result { () throws(TerminalError) -> TerminalConfiguration in try TerminalConfiguration.parse(yaml: text) }
    invariant(first == second, "two parses of the same text differ")
    switch first {
    case .failure(let e):
        guard case .configuration(let line, let reason) = e else {
            invariant(false, "an error other than .configuration: \(e)")
            return 0
        }
        invariant(!reason.isEmpty, "an error without a reason")
        if let line { invariant(line >= 1 && line <= lines + 1, "error line \(line) outside a \(lines)-line file") }
    case .success(let c):
        check(c)
    }
    return 0
}

/// The documented ranges of every value (Hardware/carte.example.yaml).
func check(_ c: TerminalConfiguration) {
    invariant((5...600).contains(c.pinTimeoutSeconds), "pinTimeout \(c.pinTimeoutSeconds) s")
    invariant((1...120).contains(c.recognitionTimeoutSeconds), "recognitionTimeout \(c.recognitionTimeoutSeconds) s")
    invariant((0...24 * 3600).contains(c.tapAndGoWindowSeconds), "tapAndGoWindow \(c.tapAndGoWindowSeconds) s")
    invariant((10...3600).contains(c.enrolmentDelaySeconds), "enrolmentDelay \(c.enrolmentDelaySeconds) s")
    let paths = [c.trustAnchors, c.crlDirectory, c.databasePath, c.badgeDatabasePath, c.siteKeyFile].compactMap { $0 }
    for p in paths { invariant(p.hasPrefix("/") && !p.contains("\0"), "path '\(p)' accepted") }
    switch c.api {
    case .unixSocket(let path, let mode):
        invariant(path.hasPrefix("/"), "socket path '\(path)'")
        invariant(mode <= 0o777 && mode & 0o007 == 0, "socket mode \(String(mode, radix: 8)) gives others access")
    case .loopback(let host, let port, let tokenFile):
        invariant(host == "127.0.0.1" || host == "::1", "listening on '\(host)'")
        invariant((1...65535).contains(port), "port \(port)")
        invariant(tokenFile.hasPrefix("/"), "token file '\(tokenFile)'")
    }
    for r in c.readers {
        invariant(!r.match.isEmpty, "an empty reader rule")
        // The glob against names of every shape: no crash, `*` matches all.
        for name in ["", "Cherry ST-2000 Pinpad 00 00", r.match, String(repeating: "a?*", count: 8)] {
            _ = r.matches(name)
        }
        if r.match == "*" { invariant(r.matches("any reader 00 00"), "'*' does not match a name") }
    }
    for d in [ReaderDescriptor(name: "Cherry ST-2000 Pinpad 00 00", hasPinpad: true),
              ReaderDescriptor(name: "ACS ACR122U Contactless 01 00", isContactless: true)] {
        _ = c.role(for: d)
    }
    _ = c.badgeDatabase
}
