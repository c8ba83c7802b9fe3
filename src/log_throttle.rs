//! At most one log line per [`LOG_INTERVAL`] for an event that can recur on every request (a
//! limit hit, a failing store), with the number of occurrences since the last line: a client
//! hammering a limit, or a broken disk, cannot flood the log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// At most one line per event kind in this interval.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// One event kind's throttle: when it was last logged and how often it happened since.
#[derive(Default)]
pub struct LogThrottle {
    /// Milliseconds since the process's log epoch of the last line, plus one (0: never).
    last: AtomicU64,
    suppressed: AtomicU64,
}

impl LogThrottle {
    pub const fn new() -> Self {
        LogThrottle {
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Records an occurrence now; `Some(occurrences)` (this one included) when a line is due.
    pub fn hit(&self) -> Option<u64> {
        static EPOCH: OnceLock<tokio::time::Instant> = OnceLock::new();
        let epoch = EPOCH.get_or_init(tokio::time::Instant::now);
        self.hit_at(u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Records an occurrence at `now_ms`; `Some(occurrences)` (this one included) when a line
    /// is due, `None` when one was logged less than [`LOG_INTERVAL`] ago.
    pub fn hit_at(&self, now_ms: u64) -> Option<u64> {
        let last = self.last.load(Ordering::Relaxed);
        let interval = u64::try_from(LOG_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        let due = last == 0 || now_ms.saturating_add(1) >= last.saturating_add(interval);
        if due
            && self
                .last
                .compare_exchange(last, now_ms + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed) + 1);
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_counting_the_occurrences_between() {
        let throttle = LogThrottle::new();
        assert_eq!(throttle.hit_at(0), Some(1));
        assert_eq!(throttle.hit_at(5), None);
        assert_eq!(throttle.hit_at(9_998), None);
        assert_eq!(throttle.hit_at(10_000), Some(3));
        assert_eq!(throttle.hit_at(10_001), None);
        assert_eq!(throttle.hit_at(25_000), Some(2));
    }
}
