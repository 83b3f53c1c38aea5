import Prometheus

/// The service's Prometheus metrics (`GET /metrics`, text exposition format 0.0.4).
public final class TerminalMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let insertions: Counter
    let apiRefusals: Counter
    let eventsPublished: Counter
    let readers: Gauge
    let sessions: Gauge

    public init() {
        insertions = registry.makeCounter(name: "carte_card_insertions_total", help: "Cards inserted")
        apiRefusals = registry.makeCounter(name: "carte_api_refusals_total", help: "API requests refused (401)")
        eventsPublished = registry.makeCounter(name: "carte_events_total", help: "Events published")
        readers = registry.makeGauge(name: "carte_readers", help: "Readers in use")
        sessions = registry.makeGauge(name: "carte_sessions_active", help: "Card sessions in progress")
    }

    /// Counts a flow outcome (`authenticated`, `patientIdentified`, or the refusal reason).
    func outcome(_ name: String) {
        registry.makeCounter(
            name: "carte_flow_outcomes_total", labels: [("outcome", name)], help: "Card flow outcomes"
        ).increment()
    }

    /// The exposition text.
    public func render() -> String { registry.emitToString() }
}
