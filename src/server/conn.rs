//! One client connection's limits: the hyper HTTP/1 settings (head size, header count), and the
//! two timeouts hyper's own header-read timer cannot tell apart.
//!
//! hyper 1.x starts its header-read timer whenever it waits for a request head, and on a
//! keep-alive connection it waits for the next head as soon as a response is written: with
//! hyper alone, the header-read timeout is also the idle timeout. Here the connection's socket
//! is watched ([`Watched`]: when it last wrote, when the next request's first byte came) and
//! the timer hyper is given ([`ConnTimer`]) fires at the deadline that applies:
//!
//! - bytes of a request have arrived: `--header-read-timeout-secs` after its first byte;
//! - nothing since the last response: `--idle-timeout-secs` after that response;
//! - a new connection that sent nothing: `--header-read-timeout-secs` after it was accepted
//!   (the idle timeout when that one is off).
//!
//! While a request is being handled (a long poll included) hyper reads no head, so no timer runs.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::config::Config;
use crate::limits::{self, Limit};

/// hyper's own read-buffer limit (8 KiB + 100 × 4 KiB); raised when the head limit is larger.
const HYPER_MAX_BUF: usize = 8192 + 4096 * 100;
/// hyper's own header-count limit; another count costs a heap allocation per request.
const HYPER_MAX_HEADERS: usize = 100;

/// The connection limits of the configuration.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub header_read: Option<Duration>,
    pub idle: Option<Duration>,
    pub max_connections: usize,
}

impl ConnLimits {
    pub fn from_config(config: &Config) -> Self {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        ConnLimits {
            max_header_bytes: usize::try_from(config.max_header_bytes).unwrap_or(usize::MAX),
            max_headers: usize::try_from(config.max_headers).unwrap_or(usize::MAX),
            header_read: secs(config.header_read_timeout_secs),
            idle: secs(config.idle_timeout_secs),
            max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        }
    }

    /// The HTTP/1 settings of one connection, whose socket `activity` watches.
    pub fn builder(&self, activity: &Arc<Activity>) -> hyper::server::conn::http1::Builder {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .max_header_size(self.max_header_bytes)
            .max_buf_size(HYPER_MAX_BUF.max(self.max_header_bytes));
        if self.max_headers != HYPER_MAX_HEADERS {
            builder.max_headers(self.max_headers);
        }
        if self.header_read.is_some() || self.idle.is_some() {
            builder
                .timer(ConnTimer {
                    activity: activity.clone(),
                    limits: *self,
                })
                // Any value: the timer computes its own deadlines.
                .header_read_timeout(Duration::from_secs(1));
        } else {
            builder.header_read_timeout(None);
        }
        builder
    }
}

/// What a connection's socket did, in microseconds since it was accepted, plus one (0: never).
#[derive(Debug)]
pub struct Activity {
    accepted: Instant,
    last_write: AtomicU64,
    /// The first byte read since the last write: the start of the next request.
    request_start: AtomicU64,
    /// The timer closed the connection as idle (not for a slow head).
    closed_idle: AtomicBool,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            accepted: Instant::now(),
            last_write: AtomicU64::new(0),
            request_start: AtomicU64::new(0),
            closed_idle: AtomicBool::new(false),
        })
    }

    fn stamp(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_micros()).unwrap_or(u64::MAX - 1) + 1
    }

    fn at(&self, stamp: u64) -> Instant {
        self.accepted + Duration::from_micros(stamp - 1)
    }

    fn read(&self) {
        let _ = self.request_start.compare_exchange(
            0,
            self.stamp(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    fn wrote(&self) {
        self.last_write.store(self.stamp(), Ordering::Relaxed);
        self.request_start.store(0, Ordering::Relaxed);
    }

    /// When the connection is to be closed while hyper waits for a head, and whether that
    /// would be for idleness; `None`: never.
    fn deadline(&self, limits: &ConnLimits) -> Option<(Instant, bool)> {
        let request_start = self.request_start.load(Ordering::Relaxed);
        let last_write = self.last_write.load(Ordering::Relaxed);
        if request_start != 0 {
            limits
                .header_read
                .map(|h| (self.at(request_start) + h, false))
        } else if last_write != 0 {
            limits.idle.map(|i| (self.at(last_write) + i, true))
        } else {
            // A new connection that sent nothing: the header-read timeout, else the idle one.
            match (limits.header_read, limits.idle) {
                (Some(h), _) => Some((self.accepted + h, false)),
                (None, i) => i.map(|i| (self.accepted + i, true)),
            }
        }
    }

    /// Logs why the connection ended, when a limit ended it.
    pub fn log_end(&self, error: &hyper::Error) {
        if error.is_timeout() {
            if self.closed_idle.load(Ordering::Relaxed) {
                limits::hit(
                    Limit::IdleTimeout,
                    "an idle keep-alive connection was closed",
                );
            } else {
                limits::hit(
                    Limit::HeaderReadTimeout,
                    "a client too slow to send a request head was disconnected",
                );
            }
        } else if error.is_parse_too_large() {
            limits::hit(
                Limit::HeaderSize,
                "a request head too large or with too many headers got 431",
            );
        }
    }
}

/// A connection's socket, telling its [`Activity`] what it reads and writes.
pub struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl Watched {
    pub fn new(stream: TcpStream, activity: Arc<Activity>) -> Self {
        Watched { stream, activity }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The timer hyper's header-read timeout runs on, for one connection.
#[derive(Clone)]
struct ConnTimer {
    activity: Arc<Activity>,
    limits: ConnLimits,
}

impl hyper::rt::Timer for ConnTimer {
    fn sleep(&self, _: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HeadSleep {
            activity: self.activity.clone(),
            limits: self.limits,
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
        })
    }

    fn sleep_until(&self, _: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep(Duration::ZERO)
    }
}

/// hyper's header-read timer: completes at the connection's [`Activity::deadline`], recomputed
/// each time it is polled (hyper polls it after every read that did not complete a head).
struct HeadSleep {
    activity: Arc<Activity>,
    limits: ConnLimits,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let Some((deadline, idle)) = self.activity.deadline(&self.limits) else {
                // No limit applies now; hyper polls again after the next read.
                return Poll::Pending;
            };
            if Instant::now() >= deadline {
                self.activity.closed_idle.store(idle, Ordering::Relaxed);
                return Poll::Ready(());
            }
            if self.sleep.deadline() != deadline {
                self.sleep.as_mut().reset(deadline);
            }
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl hyper::rt::Sleep for HeadSleep {}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(header: Option<u64>, idle: Option<u64>) -> ConnLimits {
        ConnLimits {
            max_header_bytes: 1024,
            max_headers: 100,
            header_read: header.map(Duration::from_secs),
            idle: idle.map(Duration::from_secs),
            max_connections: 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_that_applies_follows_what_the_socket_did() {
        let both = limits(Some(2), Some(10));
        let a = Activity::new();
        let accepted = a.accepted;
        // New and silent: the header-read timeout from the accept.
        assert_eq!(
            a.deadline(&both),
            Some((accepted + Duration::from_secs(2), false))
        );
        // The first byte of a head, later bytes do not move it.
        tokio::time::advance(Duration::from_secs(1)).await;
        a.read();
        let head_started = accepted + Duration::from_secs(1);
        tokio::time::advance(Duration::from_millis(500)).await;
        a.read();
        assert_eq!(
            a.deadline(&both),
            Some((head_started + Duration::from_secs(2), false))
        );
        // A response written: idle, the idle timeout from the write.
        a.wrote();
        let wrote = accepted + Duration::from_millis(1500);
        assert_eq!(
            a.deadline(&both),
            Some((wrote + Duration::from_secs(10), true))
        );
        // The next head, however late: the header-read timeout from its first byte.
        tokio::time::advance(Duration::from_secs(7)).await;
        a.read();
        let next = wrote + Duration::from_secs(7);
        assert_eq!(
            a.deadline(&both),
            Some((next + Duration::from_secs(2), false))
        );
        // A limit turned off is no deadline; a new silent connection then meets the idle one.
        assert_eq!(a.deadline(&limits(None, Some(10))), None);
        let fresh = Activity::new();
        assert_eq!(
            fresh.deadline(&limits(None, Some(10))),
            Some((fresh.accepted + Duration::from_secs(10), true))
        );
        assert_eq!(fresh.deadline(&limits(None, None)), None);
        a.wrote();
        assert_eq!(a.deadline(&limits(Some(2), None)), None);
    }
}
