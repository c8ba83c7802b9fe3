//! The resource limits' one warning: each time a limit is hit the server answers (an error in
//! the client's protocol, a short poll, a closed connection), and logs it at most once per
//! [`LOG_INTERVAL`] per limit, with the number of hits since the last line, so that a client
//! hammering a limit cannot flood the log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// At most one log line per limit in this interval.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The limits a client can hit, each logged on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `--max-connections`: a new connection is closed at once.
    Connections,
    /// `--max-long-polls`: a long poll is answered as a short poll.
    LongPolls,
    /// `--max-queues-per-account`: CreateQueue gets OverLimit.
    QueuesPerAccount,
    /// `--max-body-bytes`: RequestEntityTooLarge.
    BodySize,
    /// `--max-header-bytes` / `--max-headers`: 431, connection closed.
    HeaderSize,
    /// `--header-read-timeout-secs`: the connection is closed.
    HeaderReadTimeout,
    /// `--body-read-timeout-secs`: 408 RequestTimeout, connection closed.
    BodyReadTimeout,
    /// `--idle-timeout-secs`: an idle keep-alive connection is closed (logged at debug only:
    /// it is routine).
    IdleTimeout,
}

impl Limit {
    const COUNT: usize = 8;

    fn index(self) -> usize {
        self as usize
    }

    /// The flag that sets the limit, for the log line.
    pub fn flag(self) -> &'static str {
        match self {
            Limit::Connections => "--max-connections",
            Limit::LongPolls => "--max-long-polls",
            Limit::QueuesPerAccount => "--max-queues-per-account",
            Limit::BodySize => "--max-body-bytes",
            Limit::HeaderSize => "--max-header-bytes/--max-headers",
            Limit::HeaderReadTimeout => "--header-read-timeout-secs",
            Limit::BodyReadTimeout => "--body-read-timeout-secs",
            Limit::IdleTimeout => "--idle-timeout-secs",
        }
    }
}

/// Per limit: when it was last logged and how many hits went unlogged since.
#[derive(Default)]
pub struct RateLimitedLog {
    /// Milliseconds since the log's epoch of the last line, plus one (0: never logged).
    last: [AtomicU64; Limit::COUNT],
    suppressed: [AtomicU64; Limit::COUNT],
}

impl RateLimitedLog {
    /// Records a hit of `limit` at `now_ms`; `Some(hits)` (this one included) when a line is
    /// due, `None` when one was logged less than [`LOG_INTERVAL`] ago.
    pub fn hit(&self, limit: Limit, now_ms: u64) -> Option<u64> {
        let i = limit.index();
        let last = self.last[i].load(Ordering::Relaxed);
        let due = last == 0 || now_ms + 1 >= last + LOG_INTERVAL.as_millis() as u64;
        if due
            && self.last[i]
                .compare_exchange(last, now_ms + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed[i].swap(0, Ordering::Relaxed) + 1);
        }
        self.suppressed[i].fetch_add(1, Ordering::Relaxed);
        None
    }
}

static LOG: OnceLock<(tokio::time::Instant, RateLimitedLog)> = OnceLock::new();

/// Records that `limit` was hit (`detail` says how), logging a warning unless one was logged
/// for this limit less than [`LOG_INTERVAL`] ago.
pub fn hit(limit: Limit, detail: &str) {
    let (epoch, log) = LOG.get_or_init(|| (tokio::time::Instant::now(), RateLimitedLog::default()));
    let now_ms = epoch.elapsed().as_millis() as u64;
    if let Some(hits) = log.hit(limit, now_ms) {
        if limit == Limit::IdleTimeout {
            tracing::debug!(limit = limit.flag(), hits, "{detail}");
        } else {
            tracing::warn!(
                limit = limit.flag(),
                hits,
                "limit reached: {detail} (hits since the last such line; at most one line per {} s)",
                LOG_INTERVAL.as_secs()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_per_limit_counting_the_hits_between() {
        let log = RateLimitedLog::default();
        assert_eq!(log.hit(Limit::Connections, 0), Some(1));
        assert_eq!(log.hit(Limit::Connections, 5), None);
        assert_eq!(log.hit(Limit::Connections, 9_998), None);
        // Another limit has its own interval.
        assert_eq!(log.hit(Limit::LongPolls, 100), Some(1));
        assert_eq!(log.hit(Limit::Connections, 10_000), Some(3));
        assert_eq!(log.hit(Limit::Connections, 10_001), None);
        assert_eq!(log.hit(Limit::Connections, 25_000), Some(2));
    }
}
