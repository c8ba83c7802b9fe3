//! Prometheus metrics, served as text at `GET /metrics` through `prometheus-client`: requests by
//! action and status, and request latency by action.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    action: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: &'static str,
}

/// Request latency buckets, in seconds: 100 µs to 30 s (long polls wait up to 20 s).
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The server's metrics. Cheap to update from every request (atomic counters).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<ActionLabels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cauda");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "SQS requests answered, by action (\"-\" when none was decoded) and HTTP status",
            requests.clone(),
        );
        let latency = Family::<ActionLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its answer, long polls included, by action",
            latency.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
        }
    }

    /// Counts one answered request.
    pub fn observe_request(&self, action: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { action, status })
            .inc();
        self.latency
            .get_or_create(&ActionLabels { action })
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_latency_are_counted_by_action_and_status() {
        let m = Metrics::new();
        m.observe_request("SendMessage", 200, Duration::from_micros(300));
        m.observe_request("SendMessage", 200, Duration::from_millis(2));
        m.observe_request("SendMessage", 400, Duration::from_micros(90));
        let text = m.render();
        assert!(
            text.contains(r#"cauda_requests_total{action="SendMessage",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"cauda_requests_total{action="SendMessage",status="400"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"cauda_request_duration_seconds_count{action="SendMessage"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"cauda_request_duration_seconds_bucket{le="0.0001",action="SendMessage"} 1"#
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
