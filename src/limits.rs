//! The resource limits' one warning: each time a limit is hit the server answers (an error in
//! the client's protocol, a short poll, a closed connection), and logs it at most once per
//! [`LOG_INTERVAL`] per limit, with the number of hits since the last line, so that a client
//! hammering a limit cannot flood the log.

use crate::log_throttle::{LogThrottle, LOG_INTERVAL};

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

static THROTTLES: [LogThrottle; Limit::COUNT] = [const { LogThrottle::new() }; Limit::COUNT];

/// Records that `limit` was hit (`detail` says how), logging a warning unless one was logged
/// for this limit less than [`LOG_INTERVAL`] ago.
pub fn hit(limit: Limit, detail: &str) {
    if let Some(hits) = THROTTLES[limit.index()].hit() {
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
