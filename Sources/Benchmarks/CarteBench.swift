import Foundation

/// `carte bench`: every figure of issue 9 in one JSON document
/// `{"build", "flows": {"cpsAuthentication", "vitaleRead", "badgeAuthentication"}, "peers", "host", "insc", "service"}`.
///
/// Flow figures are virtual and deterministic (`FlowFigures`); host-time figures (INS-C, host overhead) are
/// measured in this run and compared as ratios within it. A figure that cannot be produced here is an object
/// `{"skipped": "<why>"}` (or `null` with a `reason` for a flow), never an invented number.
public enum CarteBench {
    /// What to run.
    public struct Options: Sendable, Hashable {
        /// Rows of the INS-C batch figure (issue 9: 1,000,000).
        public var inscRows: Int
        /// Skip the INS-C figure (it takes seconds; the flows take milliseconds).
        public var skipINSC: Bool
        /// Simulated card sessions of the service figure (issue 9: 10,000); 0 skips the figure.
        public var serviceSessions: Int
        /// The `carte` executable the service figure runs as `carte serve --simulate` (nil: this process's own
        /// executable, which is right when called from `carte bench`).
        public var carteExecutable: String?
        public init(inscRows: Int = 1_000_000, skipINSC: Bool = false, serviceSessions: Int = 10_000, carteExecutable: String? = nil) {
            self.inscRows = inscRows
            self.skipINSC = skipINSC
            self.serviceSessions = serviceSessions
            self.carteExecutable = carteExecutable
        }
    }

    /// "debug" or "release": host-time figures (INS-C rows/s, host overhead) mean something only in release.
    public static var buildConfiguration: String {
        #if DEBUG
            return "debug"
        #else
            return "release"
        #endif
    }

    /// Runs every benchmark and returns the JSON document (a dictionary ready for `JSONSerialization`).
    public static func run(_ options: Options = Options()) async -> [String: Any] {
        var flows: [String: Any] = [:]
        do {
            flows["vitaleRead"] = try await VitaleReadBenchmark.run().json
        } catch {
            flows["vitaleRead"] = NSNull()
            flows["vitaleReadReason"] = error.description
        }
        do {
            var cps = try await CPSAuthenticationBenchmark.run().json
            cps["certificateCacheWarm"] = try await CPSAuthenticationBenchmark.run(warm: true).json
            flows["cpsAuthentication"] = cps
        } catch {
            flows["cpsAuthentication"] = NSNull()
            flows["cpsAuthenticationReason"] = error.description
        }
        do {
            flows["badgeAuthentication"] = try await BadgeAuthenticationBenchmark.run().json
        } catch {
            flows["badgeAuthentication"] = NSNull()
            flows["badgeAuthenticationReason"] = error.description
        }

        var insc: [String: Any]
        if options.skipINSC {
            insc = ["skipped": "--skip-insc was given"]
        } else {
            do {
                insc = try INSCBatchBenchmark.run(rows: options.inscRows).json
            } catch {
                insc = ["skipped": error.description]
            }
        }
        insc["build"] = buildConfiguration

        return [
            "build": buildConfiguration,
            "flows": flows,
            "insc": insc,
            "host": await HostBenchmark.run(),
            "peers": await HostBenchmark.peers(),
            "service": serviceFigure(options),
        ]
    }

    static func serviceFigure(_ options: Options) -> [String: Any] {
        guard options.serviceSessions > 0 else { return ["skipped": "--service-sessions 0 was given"] }
        let exe = options.carteExecutable ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        guard let exe, exe.hasSuffix("/carte") else {
            return ["skipped": "the carte executable to run as carte serve --simulate is not known here"]
        }
        return ServiceBenchmark.run(carte: exe, sessions: options.serviceSessions)
    }
}
