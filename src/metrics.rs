//! Prometheus metrics, served as text at `GET /metrics` through `prometheus-client`: requests by
//! action and status, and request latency by action, updated by each request; and each queue's
//! messages, oldest message age, dead-letter moves and waiting long polls, read from the engine
//! at scrape time (no cost per request).

use crate::store::StoreStats;
use std::time::Duration;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::engine::Engine;

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    account: String,
    region: String,
    queue: String,
}

/// One queue as a scrape reads it.
#[derive(Clone, Debug, Default)]
pub struct QueueSample {
    pub account: String,
    pub region: String,
    pub queue: String,
    /// ApproximateNumberOfMessages.
    pub visible: usize,
    /// ApproximateNumberOfMessagesNotVisible.
    pub in_flight: usize,
    /// ApproximateNumberOfMessagesDelayed.
    pub delayed: usize,
    /// The oldest message's age in seconds; 0 for an empty queue.
    pub oldest_age_seconds: u64,
    pub dead_letter_moves: u64,
    pub waiting_receives: usize,
}

/// Every queue of the engine, read now. A queue deleted meanwhile is left out.
pub async fn queue_samples(engine: &Engine) -> Vec<QueueSample> {
    let now = engine.clock.now_ms();
    let mut samples = Vec::new();
    for q in engine.all_queues() {
        let Ok(stats) = engine.queue_stats(&q).await else {
            continue;
        };
        samples.push(QueueSample {
            account: q.account.clone(),
            region: q.region.clone(),
            queue: q.name.clone(),
            visible: stats.counts.visible,
            in_flight: stats.counts.in_flight,
            delayed: stats.counts.delayed,
            oldest_age_seconds: stats
                .oldest_sent_at
                .map_or(0, |sent| now.saturating_sub(sent) / 1000),
            dead_letter_moves: q.dead_letter_moves(),
            waiting_receives: q.waiting_receives(),
        });
    }
    samples
}

fn gauge_value(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// A queue gauge: its name, its help and its value.
type QueueGauge = (&'static str, &'static str, fn(&QueueSample) -> i64);

/// A registry of the queues' metrics, built for one scrape (a deleted queue leaves no series).
fn queue_registry(queues: &[QueueSample]) -> Registry {
    let mut registry = Registry::with_prefix("cauda_queue");
    let gauges: [QueueGauge; 5] = [
        (
            "messages_visible",
            "Messages available for retrieval (ApproximateNumberOfMessages)",
            |q| gauge_value(q.visible),
        ),
        (
            "messages_in_flight",
            "Messages received and neither deleted nor visible again \
             (ApproximateNumberOfMessagesNotVisible)",
            |q| gauge_value(q.in_flight),
        ),
        (
            "messages_delayed",
            "Messages not visible yet for their delay (ApproximateNumberOfMessagesDelayed)",
            |q| gauge_value(q.delayed),
        ),
        (
            "oldest_message_age_seconds",
            "Age of the queue's oldest message, 0 when it has none",
            |q| gauge_value(q.oldest_age_seconds),
        ),
        (
            "long_polls_waiting",
            "ReceiveMessage long polls waiting for messages",
            |q| gauge_value(q.waiting_receives),
        ),
    ];
    for (name, help, value) in gauges {
        let family = Family::<QueueLabels, Gauge>::default();
        for q in queues {
            family.get_or_create(&q.labels()).set(value(q));
        }
        registry.register(name, help, family);
    }
    let moves = Family::<QueueLabels, Counter>::default();
    for q in queues {
        moves.get_or_create(&q.labels()).inc_by(q.dead_letter_moves);
    }
    registry.register(
        "dead_letter_moves",
        "Messages a receive moved to the queue's dead-letter queue since the server started",
        moves,
    );
    registry
}

/// The store's metrics, read for one scrape.
fn store_registry(store: &StoreStats) -> Registry {
    let mut registry = Registry::with_prefix("cauda_store");
    if let Some(bytes) = store.journal_bytes {
        let journal = Gauge::<i64>::default();
        journal.set(gauge_value(bytes));
        registry.register(
            "journal_bytes",
            "Bytes of the store's on-disk journal, live records and those not compacted away yet",
            journal,
        );
    }
    let flushes = Counter::<u64>::default();
    flushes.inc_by(store.flushes);
    registry.register(
        "flushes",
        "Flushes to disk that acknowledged writes waited on (strict durability)",
        flushes,
    );
    let flush_time = Counter::<f64, std::sync::atomic::AtomicU64>::default();
    flush_time.inc_by(store.flush_time.as_secs_f64());
    registry.register(
        "flush_seconds",
        "Time those flushes took, together (divide by cauda_store_flushes_total for the mean)",
        flush_time,
    );
    registry
}

impl QueueSample {
    fn labels(&self) -> QueueLabels {
        QueueLabels {
            account: self.account.clone(),
            region: self.region.clone(),
            queue: self.queue.clone(),
        }
    }
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

    /// The text exposition of every metric, with `queues`' and the store's metrics.
    pub fn render(&self, queues: &[QueueSample], store: &StoreStats) -> String {
        let mut out = String::new();
        let encoded = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &queue_registry(queues)))
            .and_then(|()| encode_registry(&mut out, &store_registry(store)))
            .and_then(|()| encode_eof(&mut out));
        if let Err(e) = encoded {
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
        let text = m.render(&[], &StoreStats::default());
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

    #[test]
    fn store_metrics_are_rendered_when_the_store_has_them() {
        let m = Metrics::new();
        let store = StoreStats {
            journal_bytes: Some(4096),
            flushes: 3,
            flush_time: Duration::from_micros(750),
        };
        let text = m.render(&[], &store);
        assert!(text.contains("cauda_store_journal_bytes 4096"), "{text}");
        assert!(text.contains("cauda_store_flushes_total 3"), "{text}");
        assert!(
            text.contains("cauda_store_flush_seconds_total 0.00075"),
            "{text}"
        );
        let memory = m.render(&[], &StoreStats::default());
        assert!(!memory.contains("journal_bytes"), "{memory}");
    }
}
