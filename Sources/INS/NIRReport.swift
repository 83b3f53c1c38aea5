/// What `carte ins nir` prints (`../shared/specs/cli.md`): a JSON document or lines for people.
///
/// Masking: unless `reveal` is true, the NIR is shown as ``NIR/masked`` and the place of birth is
/// reduced to its kind. With the département and commune next to the sex, year, month and key,
/// the order number would be the only unknown and the NIR nearly recoverable.
public enum NIRReport {
    /// One JSON object. Keys, in order: `valid` (bool), `reason` (string or null), `sex`
    /// (`male`/`female`), `birthYear` (YY), `birthMonth`, `place` ({`kind`} and, with `reveal`,
    /// `departement` + `commune`, `country`, or `code`), `key` (number), then `kind` (`nir`, `nia`,
    /// `coordinatedTransit`), `monthKind`, `keyGiven`, `nir` (masked unless `reveal`). When the
    /// number is invalid, the fields after `reason` are null and `nir` is the masked input.
    public static func json(for text: String, reveal: Bool) -> String {
        var o = JSONText.Object()
        switch NIR.validate(text) {
        case .failure(let reason):
            o.add("valid", .bool(false))
            o.add("reason", .string(reason.description))
            for key in ["sex", "birthYear", "birthMonth", "place", "key", "kind", "monthKind", "keyGiven"] {
                o.add(key, .null)
            }
            o.add("nir", .string(reveal ? text : NIR.mask(text)))
        case .success(let nir):
            o.add("valid", .bool(true))
            o.add("reason", .null)
            o.add("sex", .string(nir.sex.rawValue))
            o.add("birthYear", .int(nir.birthYear))
            o.add("birthMonth", .int(nir.birthMonth))
            o.add("place", .object(placeObject(nir.place, reveal: reveal)))
            o.add("key", .int(nir.key))
            o.add("kind", .string(nir.kind.rawValue))
            o.add("monthKind", .string(nir.monthKind.rawValue))
            o.add("keyGiven", .bool(nir.keyWasGiven))
            o.add("nir", .string(reveal ? nir.formatted : nir.masked))
        }
        return o.rendered
    }

    /// Lines for people, e.g.
    /// ```
    /// valid NIR 2 79 •• •• ••• ••• 83
    /// sex    female
    /// born   year 79, month 04 (calendar)
    /// place  metropolitan (--reveal to show)
    /// key    83
    /// ```
    public static func text(for nir: NIR, reveal: Bool) -> String {
        let kind =
            switch nir.kind {
            case .nir: "NIR"
            case .nia: "NIA (temporary number)"
            case .coordinatedTransit: "coordinated-transit number"
            }
        var place = nir.place.kindName
        if reveal {
            switch nir.place {
            case .metropolitan(let d, let c), .overseas(let d, let c): place += ", département \(d), commune \(c)"
            case .abroad(let country): place += ", country \(country)"
            case .tunisiaBeforeIndependence(let code): place += ", code \(code)"
            }
        } else {
            place += " (--reveal to show)"
        }
        return """
            valid \(kind) \(reveal ? nir.formatted : nir.masked)
            sex    \(nir.sex.rawValue)
            born   year \(NIR.twoDigits(nir.birthYear)), month \(NIR.twoDigits(nir.birthMonth)) (\(nir.monthKind.rawValue))
            place  \(place)
            key    \(NIR.twoDigits(nir.key))\(nir.keyWasGiven ? "" : " (computed; not given)")
            """
    }

    static func placeObject(_ place: NIRPlace, reveal: Bool) -> JSONText.Object {
        var p = JSONText.Object()
        p.add("kind", .string(place.kindName))
        guard reveal else { return p }
        switch place {
        case .metropolitan(let d, let c), .overseas(let d, let c):
            p.add("departement", .string(d))
            p.add("commune", .string(c))
        case .abroad(let country):
            p.add("country", .string(country))
        case .tunisiaBeforeIndependence(let code):
            p.add("code", .string(code))
        }
        return p
    }
}

/// A minimal ordered JSON writer (RFC 8259 string escaping).
enum JSONText {
    indirect enum Value {
        case string(String), int(Int), bool(Bool), null, object(Object)
    }

    struct Object {
        private var fields: [(String, Value)] = []

        mutating func add(_ key: String, _ value: Value) { fields.append((key, value)) }

        var rendered: String {
            "{" + fields.map { "\(JSONText.quote($0.0)):\(JSONText.render($0.1))" }.joined(separator: ",") + "}"
        }
    }

    static func render(_ v: Value) -> String {
        switch v {
        case .string(let s): quote(s)
        case .int(let i): "\(i)"
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .object(let o): o.rendered
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
