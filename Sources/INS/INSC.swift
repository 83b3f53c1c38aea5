import CarteCrypto

/// The INS-C, "identifiant national de santé calculé" (2009–2021): 22 decimal digits derived from
/// a first name, a birth date and the person's own NIR (`../shared/specs/ins.md` §1.2–1.3,
/// `../shared/specs/vitale.md` §6.4). OID ``INSOID/insc`` (1.2.250.1.213.1.4.2).
///
/// Algorithm (ins.md §1.3):
/// - seed = first name (10 characters, ``INSCFirstName``) ‖ birth date `AAMMJJ` (6) ‖ NIR body (13,
///   Corsican `2A`/`2B` kept as letters): 29 ASCII bytes;
/// - SHA-256 of the seed (``Digest/sha256(_:)``), first 8 bytes read as a big-endian `UInt64`;
/// - that number on 20 decimal digits (left zero padding), then key = 97 − (number mod 97) on 2
///   digits (01–97).
public struct INSC: Sendable, Hashable, CustomStringConvertible {
    /// The 22 digits: ``number`` on 20 digits then ``key`` on 2 (`0833910461279517589858`).
    public let value: String
    /// The first 8 bytes of the SHA-256 of the seed, big-endian.
    public let number: UInt64
    /// 97 − (``number`` mod 97), 1…97.
    public let key: Int

    /// The OID under which an INS-C is carried (CI-SIS, FR Core `INS-C` slice).
    public static let oid = INSOID.insc

    public var description: String { value }

    init(number: UInt64) {
        self.number = number
        self.key = INSC.key(of: number)
        var digits = [UInt8](repeating: 0, count: 22)
        digits.withUnsafeMutableBufferPointer { INSC.writeDigits(number, into: $0.baseAddress!) }
        self.value = String(decoding: digits, as: UTF8.self)
    }

    /// Computes the INS-C.
    /// - Parameters:
    ///   - prenom: the card's usual first-name field, whole (all words), in any case and accents.
    ///   - birthDate: as stored on the card, `AAMMJJ` or `AAAAMMJJ` (the century is dropped);
    ///     lunar values (day 00, month 00 or > 12, day past month end) are used verbatim.
    ///   - nir: the person's own NIR, 13 characters or 15 with its key (the key is then checked);
    ///     spaces allowed.
    /// - Throws: ``INSCError`` when the first name has no letter, the date is not 6 or 8 digits,
    ///   the NIR is invalid, or it is a temporary number (no INS-C for those).
    public static func compute(prenom: String, birthDate: String, nir: String) throws(INSCError) -> INSC {
        var p = prenom
        var d = birthDate
        var n = nir
        let r = p.withUTF8 { pb in d.withUTF8 { db in n.withUTF8 { nb in INSCCore.compute(prenom: pb, date: db, nir: nb) } } }
        switch r {
        case .success(let number): return INSC(number: number)
        case .failure(let e): throw e
        }
    }

    /// Which NIR the INS-C of a card beneficiary is computed from (ins.md §1.2 [C]): the
    /// beneficiary's NIR certifié when present; otherwise the card NIR when the beneficiary is the
    /// assuré himself (qualité 0); otherwise none: the card NIR is the ouvrant droit's, not the
    /// ayant droit's.
    /// - Parameters:
    ///   - qualite: `qualBenef` as read (`"00"`, `"0"`, `"06"`…; see vitale.md §6.3).
    ///   - nirCertifie: the beneficiary's NIR certifié, nil or empty when absent.
    ///   - cardNIR: the card (ouvrant droit) NIR.
    public static func selectNIR(qualite: String, nirCertifie: String?, cardNIR: String)
        -> Result<INSCNIRChoice, INSCUnavailable>
    {
        if let certified = nirCertifie, certified.contains(where: { $0 != " " }) {
            return .success(INSCNIRChoice(nir: certified, source: .nirCertifie))
        }
        guard let q = Int(qualite.filter { $0 != " " }) else {
            return .failure(.unknownQualite(qualite))
        }
        if q == 0 { return .success(INSCNIRChoice(nir: cardNIR, source: .cardNIR)) }
        return .failure(.noOwnNIR(qualite: q))
    }

    /// The INS-C of one card beneficiary, or why there is none (``selectNIR(qualite:nirCertifie:cardNIR:)``
    /// then ``compute(prenom:birthDate:nir:)``).
    public static func forBeneficiary(
        qualite: String, nirCertifie: String?, cardNIR: String, prenom: String, dateNaissance: String
    ) -> Result<INSC, INSCUnavailable> {
        switch selectNIR(qualite: qualite, nirCertifie: nirCertifie, cardNIR: cardNIR) {
        case .failure(let reason): return .failure(reason)
        case .success(let choice):
            do {
                return .success(try compute(prenom: prenom, birthDate: dateNaissance, nir: choice.nir))
            } catch {
                return .failure(.invalidInput(error, source: choice.source))
            }
        }
    }

    /// Same as ``forBeneficiary(qualite:nirCertifie:cardNIR:prenom:dateNaissance:)`` with the
    /// qualité as a number (0 = assuré).
    public static func forBeneficiary(
        qualite: Int, nirCertifie: String?, cardNIR: String, prenom: String, dateNaissance: String
    ) -> Result<INSC, INSCUnavailable> {
        forBeneficiary(
            qualite: String(qualite), nirCertifie: nirCertifie, cardNIR: cardNIR, prenom: prenom,
            dateNaissance: dateNaissance)
    }

    @inline(__always) static func key(of number: UInt64) -> Int { 97 - Int(number % 97) }

    /// Writes the 22 digits (20-digit number, 2-digit key) at `out`.
    @inline(__always) static func writeDigits(_ number: UInt64, into out: UnsafeMutablePointer<UInt8>) {
        var v = number
        var i = 19
        while i >= 0 {
            out[i] = UInt8(truncatingIfNeeded: v % 10) + 0x30
            v /= 10
            i -= 1
        }
        let k = key(of: number)
        out[20] = UInt8(k / 10) + 0x30
        out[21] = UInt8(k % 10) + 0x30
    }
}

/// The NIR chosen for a beneficiary's INS-C.
public struct INSCNIRChoice: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The NIR as given (15 or 13 characters). Not masked: do not print it.
    public let nir: String
    public let source: INSCNIRSource
    /// Source and masked NIR.
    public var description: String { "\(source.rawValue) \(NIR.mask(nir))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["description": description], displayStyle: .struct) }
}

/// Where the INS-C's NIR came from.
public enum INSCNIRSource: String, Sendable, Hashable {
    /// The beneficiary's NIR certifié (`ident/nirCertifie`).
    case nirCertifie
    /// The card NIR (`ident/nir`), used for the assuré himself (qualité 0).
    case cardNIR
}

/// Why the INS-C cannot be computed from the given values.
public enum INSCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No letter A–Z left in the first name after normalisation (ins.md §1.4 leaves this [U];
    /// we refuse rather than hash ten spaces) [D].
    case emptyFirstName
    /// The first name's bytes are not valid UTF-8 (batch input in another encoding).
    case firstNameNotUTF8
    /// The birth date is not 6 (`AAMMJJ`) or 8 (`AAAAMMJJ`) characters; the count is given.
    case birthDateLength(Int)
    /// The birth date contains something other than digits.
    case birthDateNotDigits
    /// The NIR is not valid.
    case invalidNIR(NIRError)
    /// The number is a temporary one (NIA, first digit 3/4/7/8) or a coordinated transit (5/6):
    /// an INS-C is only computed from a definitive NIR (Mediboard refuses them too; ins.md §1.4 [I]).
    case notADefinitiveNIR(NIRKind)

    public var description: String {
        switch self {
        case .emptyFirstName: "the first name has no letter A–Z, so no INS-C can be computed"
        case .firstNameNotUTF8:
            "the first name is not valid UTF-8 (convert the file, e.g. iconv -f LATIN1 -t UTF-8)"
        case .birthDateLength(let n):
            "the birth date must be AAMMJJ or AAAAMMJJ (6 or 8 digits); it has \(n) characters"
        case .birthDateNotDigits: "the birth date must contain digits only (AAMMJJ or AAAAMMJJ)"
        case .invalidNIR(let e): "invalid NIR: \(e)"
        case .notADefinitiveNIR(let kind):
            kind == .nia
                ? "a temporary number (NIA) has no INS-C; only a definitive NIR (first digit 1 or 2) has one"
                : "a coordinated-transit number (first digit 5 or 6) has no INS-C; only a definitive NIR (first digit 1 or 2) has one"
        }
    }
}

/// Why a card beneficiary has no INS-C.
public enum INSCUnavailable: Error, Sendable, Hashable, CustomStringConvertible {
    /// An ayant droit (qualité ≠ 0) without a NIR certifié: the card NIR is the ouvrant droit's,
    /// not theirs, so no INS-C can be derived (ins.md §1.1–1.2, vitale.md §10).
    case noOwnNIR(qualite: Int)
    /// The qualité is not a number.
    case unknownQualite(String)
    /// The chosen NIR, first name or date is invalid.
    case invalidInput(INSCError, source: INSCNIRSource)

    public var description: String {
        switch self {
        case .noOwnNIR(let q):
            "no INS-C: this beneficiary (qualité \(NIR.twoDigits(q))) is an ayant droit with no NIR certifié on the card, and the card NIR belongs to the assuré"
        case .unknownQualite(let q): "no INS-C: the qualité '\(q)' is not a number"
        case .invalidInput(let e, let source):
            "no INS-C from the \(source == .nirCertifie ? "NIR certifié" : "card NIR"): \(e)"
        }
    }
}

// MARK: - Byte-level core (shared with the batch)

enum INSCCore {
    /// Computes the 64-bit INS-C number from UTF-8 fields (SHA-256 through
    /// ``Digest/sha256(_:into:)``, no allocation).
    static func compute(
        prenom: UnsafeBufferPointer<UInt8>, date: UnsafeBufferPointer<UInt8>, nir: UnsafeBufferPointer<UInt8>
    ) -> Result<UInt64, INSCError> {
        // seed (29 bytes) then digest (32 bytes) in one stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer -> Result<UInt64, INSCError> in
            let seed = buffer.baseAddress!
            // NIR first: its error is the most useful one. Body goes to seed[16..<29].
            var fields = NIRFields()
            if !NIRScanner.quickScan(nir, into: seed + 16, &fields) {
                switch NIRScanner.scan(nir, into: seed + 16) {
                case .failure(let e): return .failure(.invalidNIR(e))
                case .success(let f): fields = f
                }
            }
            let kind = NIRKind(sexDigit: fields.sexDigit)
            guard kind == .nir else { return .failure(.notADefinitiveNIR(kind)) }

            // Date: trim surrounding spaces, 6 or 8 digits, keep the last 6.
            var lo = 0
            var hi = date.count
            while lo < hi && date[lo] == 0x20 { lo += 1 }
            while hi > lo && date[hi - 1] == 0x20 { hi -= 1 }
            let dateLength = hi - lo
            guard dateLength == 6 || dateLength == 8 else { return .failure(.birthDateLength(dateLength)) }
            for i in lo..<hi where !NIRScanner.isDigit(date[i]) { return .failure(.birthDateNotDigits) }
            let dateStart = hi - 6
            for k in 0..<6 { seed[10 + k] = date[dateStart + k] }

            seed.update(repeating: 0x20, count: 10)
            let letters = INSCFirstName.normalise(utf8: prenom, into: seed)
            if letters < 0 { return .failure(.firstNameNotUTF8) }
            if letters == 0 { return .failure(.emptyFirstName) }

            let digest = seed + 32
            Digest.sha256(UnsafeRawBufferPointer(start: seed, count: 29), into: digest)
            var v: UInt64 = 0
            for k in 0..<8 { v = (v << 8) | UInt64(digest[k]) }
            return .success(v)
        }
    }
}
