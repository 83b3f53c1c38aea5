import Foundation

extension ATR {
    /// The recognised card kind for the `card` key: `nil` when unknown.
    public var recognisedKind: CardKind? {
        let k = KnownCard.kind(of: bytes)
        return k == .unknown ? nil : k
    }

    /// The `carte atr --json` document (cli.md): exactly the keys `ts`, `convention`, `protocols`, `fi`, `di`,
    /// `fmaxMHz`, `extraGuardTime`, `ifsc`, `cwi`, `bwi`, `specificMode`, `classIndicator`, `historicalBytes`,
    /// `tck`, `tckValid`, `extraBytes`, `errors`, `card`. Absent values are `NSNull` (JSON `null`).
    ///
    /// Shapes: `ts` and `tck` hex strings ("3B"); `specificMode` is `null` or
    /// `{"protocol": Int, "canChangeMode": Bool, "implicitParameters": Bool}`; `classIndicator` is `null` or
    /// `{"raw": "hex", "classes": ["A","B"], "clockStop": "notSupported|stateL|stateH|noPreference"}`;
    /// `fmaxMHz` a number in MHz; `extraGuardTime` in ETU.
    public var jsonObject: [String: Any] {
        func orNull(_ v: Any?) -> Any { v ?? NSNull() }
        var o: [String: Any] = [:]
        o["ts"] = orNull(ts.map { [$0].hexString() })
        o["convention"] = orNull(convention?.rawValue)
        o["protocols"] = protocols
        o["fi"] = orNull(fi)
        o["di"] = orNull(di)
        o["fmaxMHz"] = orNull(fmaxMHz)
        o["extraGuardTime"] = extraGuardTime
        o["ifsc"] = orNull(ifsc)
        o["cwi"] = orNull(cwi)
        o["bwi"] = orNull(bwi)
        o["specificMode"] = orNull(
            specificMode.map {
                ["protocol": $0.protocol, "canChangeMode": $0.canChangeMode, "implicitParameters": $0.implicitParameters]
                    as [String: Any]
            })
        o["classIndicator"] = orNull(
            classIndicator.map {
                ["raw": [$0.raw].hexString(), "classes": $0.classes, "clockStop": $0.clockStop.rawValue] as [String: Any]
            })
        o["historicalBytes"] = historicalBytes.hexString()
        o["tck"] = orNull(tck.map { [$0].hexString() })
        o["tckValid"] = orNull(tckValid)
        o["extraBytes"] = extraBytes.hexString()
        o["errors"] = errors
        o["card"] = orNull(recognisedKind?.rawValue)
        return o
    }

    /// `jsonObject` serialised with sorted keys (pretty-printed when `pretty`).
    public func jsonString(pretty: Bool = true) -> String {
        var opts: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        if pretty { opts.insert(.prettyPrinted) }
        guard let d = try? JSONSerialization.data(withJSONObject: jsonObject, options: opts),
            let s = String(data: d, encoding: .utf8)
        else { return "{}" }
        return s
    }

    /// The decoding for people: (label, value) lines, in ATR order, to print aligned.
    public var summaryLines: [(String, String)] {
        var l: [(String, String)] = []
        l.append(("ATR", bytes.hexString(separator: " ")))
        if let ts {
            l.append(("TS", "\([ts].hexString()) (\(convention.map { "\($0.rawValue) convention" } ?? "invalid"))"))
        }
        if let t0 {
            l.append(("T0", "\([t0].hexString()) (K = \(t0 & 0x0F) historical bytes)"))
        }
        for g in interfaceBytes {
            for (name, v) in [("TA", g.ta), ("TB", g.tb), ("TC", g.tc), ("TD", g.td)] {
                if let v { l.append(("\(name)\(g.index)", [v].hexString())) }
            }
        }
        l.append(("Protocols", protocols.map { "T=\($0)" }.joined(separator: ", ")))
        let fmt: (Double) -> String = { $0 == $0.rounded() ? String(Int($0)) : String($0) }
        l.append((
            "Fi / Di / fmax",
            "\(fi.map(String.init) ?? "RFU") / \(di.map(String.init) ?? "RFU") / \(fmaxMHz.map { fmt($0) + " MHz" } ?? "RFU")"
                + (ta1 == nil ? " (defaults, no TA1)" : "")
        ))
        l.append(("Extra guard time", "\(extraGuardTime) ETU"))
        if let m = specificMode {
            l.append((
                "Specific mode",
                "T=\(m.protocol), \(m.canChangeMode ? "can change mode" : "cannot change mode")"
                    + (m.implicitParameters ? ", implicit parameters" : "")
            ))
        }
        if let ifsc, let cwi, let bwi { l.append(("T=1", "IFSC \(ifsc) bytes, CWI \(cwi), BWI \(bwi)")) }
        if let c = classIndicator {
            l.append(("Class", "\(c.classes.joined(separator: ", ")) (clock stop: \(c.clockStop.rawValue))"))
        }
        l.append(("Historical bytes", historicalBytes.isEmpty ? "none" : historicalBytes.hexString(separator: " ")))
        let h = historical
        switch h.category {
        case .compactTLVWithStatus: l.append(("  category", "00 (COMPACT-TLV, status indicator last)"))
        case .compactTLV: l.append(("  category", "80 (COMPACT-TLV)"))
        case .dirDataReference(let r): l.append(("  category", "10 (DIR data reference \(r.map { [$0].hexString() } ?? "missing"))"))
        case .rfu(let c): l.append(("  category", "\([c].hexString()) (RFU)"))
        case .proprietary(let c): l.append(("  category", "\([c].hexString()) (proprietary)"))
        case .none: break
        }
        if let v = h.countryCode { l.append(("  country code", v.hexString())) }
        if let v = h.issuerIdentifier { l.append(("  issuer", v.hexString())) }
        if let s = h.cardServiceData {
            l.append((
                "  card service data",
                "\([s.raw].hexString())"
                    + (s.selectionByFullDFName ? ", select by full DF name" : "")
                    + (s.selectionByPartialDFName ? ", select by partial DF name" : "")
                    + (s.dataObjectsInEFDIR ? ", EF.DIR" : "") + (s.dataObjectsInEFATR ? ", EF.ATR" : "")
                    + (s.hasMF ? ", MF" : ", no MF")
            ))
        }
        if let v = h.preIssuingData { l.append(("  pre-issuing data", v.hexString())) }
        if let c = h.cardCapabilities {
            l.append((
                "  card capabilities",
                c.raw.hexString() + (c.commandChaining ? ", command chaining" : "")
                    + (c.extendedLength ? ", extended Lc/Le" : "")
            ))
        }
        if let s = h.status {
            var parts: [String] = []
            if let lcs = s.lifeCycleStatus { parts.append("LCS \([lcs].hexString())") }
            if let sw = s.statusWord { parts.append("SW \(sw)") }
            l.append(("  status", parts.joined(separator: ", ")))
        }
        if let p = h.pcscStorageCard {
            l.append(("  PC/SC storage card", "standard \([p.standard].hexString()), name \(String(format: "%04X", p.cardName))"))
        } else if let aid = h.applicationIdentifier {
            l.append(("  AID", aid.hexString()))
        }
        if tckRequired {
            l.append(("TCK", tck.map { "\([$0].hexString()) (\(tckValid == true ? "valid" : "INVALID"))" } ?? "missing"))
        }
        if !extraBytes.isEmpty { l.append(("Extra bytes", extraBytes.hexString(separator: " "))) }
        if let k = KnownCard.identify(bytes) {
            l.append(("Card", "\(k.kind.rawValue) — \(k.label)" + (k.kind == .cps4 ? " (not supported yet)" : "")))
        } else {
            l.append(("Card", "not recognised"))
        }
        for e in errors { l.append(("Error", e)) }
        return l
    }

    /// `summaryLines` as text with the labels padded to one column.
    public var summary: String {
        let lines = summaryLines
        let w = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}
