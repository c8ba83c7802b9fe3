//! Time, behind a trait so engine tests can move it by hand. Nothing else in cauda calls `now()`.
//!
//! Whatever waits for a moment of time (a long poll, the janitor, a paced move task) sleeps
//! through [`Clock::sleep_until`], so that a test moving its clock wakes it.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// A sleep returned by [`Clock::sleep_until`].
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// Completes once [`now_ms`](Clock::now_ms) has reached `at_ms` (at once if it has).
    fn sleep_until(&self, at_ms: u64) -> Sleep<'_>;

    fn now_system(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.now_ms())
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place that reads the system's time"
    )]
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// Sleeps on tokio's timer for what is left, again if the system clock is not there yet
    /// when it wakes (the timer is monotonic, the system clock may be stepped).
    fn sleep_until(&self, at_ms: u64) -> Sleep<'_> {
        Box::pin(async move {
            loop {
                let now = self.now_ms();
                if now >= at_ms {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(at_ms - now)).await;
            }
        })
    }
}

/// A clock that only moves when told to (tests). Its sleeps end when [`advance_ms`] moves it
/// to or past their moment, never on their own.
///
/// [`advance_ms`]: ManualClock::advance_ms
#[derive(Debug)]
pub struct ManualClock(watch::Sender<u64>);

impl ManualClock {
    pub fn new(start_ms: u64) -> Self {
        ManualClock(watch::Sender::new(start_ms))
    }

    /// Moves the clock forward and wakes the sleeps whose moment it reached.
    pub fn advance_ms(&self, ms: u64) {
        self.0.send_modify(|now| *now = now.saturating_add(ms));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        *self.0.borrow()
    }

    fn sleep_until(&self, at_ms: u64) -> Sleep<'_> {
        let mut now = self.0.subscribe();
        Box::pin(async move {
            // Fails only once the sender is dropped, which `&self` rules out.
            let _ = now.wait_for(|&now| now >= at_ms).await;
        })
    }
}

/// A clock on tokio's time: the epoch milliseconds given at creation plus the
/// [`tokio::time::Instant`] elapsed since. Under paused tokio time (`start_paused`,
/// `tokio::time::advance`) it moves, and wakes its sleeps, with the runtime's clock.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    epoch_ms: u64,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `start_ms` now.
    pub fn new(start_ms: u64) -> Self {
        TokioClock {
            epoch_ms: start_ms,
            start: tokio::time::Instant::now(),
        }
    }

    /// A clock that starts at the system's time.
    pub fn from_system() -> Self {
        Self::new(SystemClock.now_ms())
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> u64 {
        self.epoch_ms
            .saturating_add(self.start.elapsed().as_millis() as u64)
    }

    fn sleep_until(&self, at_ms: u64) -> Sleep<'_> {
        let after = Duration::from_millis(at_ms.saturating_sub(self.epoch_ms));
        let at = self.start.checked_add(after);
        Box::pin(async move {
            match at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const T0: u64 = 1_800_000_000_000;

    /// Whether `sleep` is still pending once the runtime had the chance to run its wakers.
    async fn pending(sleep: &mut Sleep<'_>) -> bool {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        std::future::poll_fn(|cx| std::task::Poll::Ready(sleep.as_mut().poll(cx).is_pending()))
            .await
    }

    #[tokio::test]
    async fn manual_sleep_ends_when_the_clock_reaches_it() {
        let clock = Arc::new(ManualClock::new(T0));
        let mut sleep = clock.sleep_until(T0 + 1_000);
        assert!(pending(&mut sleep).await);
        clock.advance_ms(999);
        assert!(pending(&mut sleep).await, "1 ms short");
        clock.advance_ms(1);
        assert!(!pending(&mut sleep).await, "at the moment");
        assert_eq!(clock.now_ms(), T0 + 1_000);
    }

    #[tokio::test]
    async fn manual_sleep_in_the_past_ends_at_once() {
        let clock = ManualClock::new(T0);
        clock.sleep_until(T0).await;
        clock.sleep_until(0).await;
    }

    /// A sleeping task (not a polled future) is woken by the advance, past its moment too.
    #[tokio::test]
    async fn manual_advance_wakes_a_sleeping_task() {
        let clock = Arc::new(ManualClock::new(T0));
        let task = tokio::spawn({
            let clock = clock.clone();
            async move {
                clock.sleep_until(T0 + 5_000).await;
                clock.now_ms()
            }
        });
        tokio::task::yield_now().await;
        assert!(!task.is_finished());
        clock.advance_ms(60_000);
        let woke_at = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("woken by the advance")
            .unwrap();
        assert_eq!(woke_at, T0 + 60_000);
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock::new(T0);
        assert_eq!(clock.now_ms(), T0);
        tokio::time::advance(Duration::from_millis(1_500)).await;
        assert_eq!(clock.now_ms(), T0 + 1_500);
        assert_eq!(
            clock.now_system(),
            UNIX_EPOCH + Duration::from_millis(T0 + 1_500)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_sleep_ends_exactly_at_its_moment() {
        let clock = TokioClock::new(T0);
        let mut sleep = clock.sleep_until(T0 + 2_000);
        assert!(pending(&mut sleep).await);
        tokio::time::advance(Duration::from_millis(1_999)).await;
        assert!(pending(&mut sleep).await, "1 ms short");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(!pending(&mut sleep).await);
        assert_eq!(clock.now_ms(), T0 + 2_000);
        // Auto-advance: a sleep awaited on an idle runtime ends at its moment, not after.
        clock.sleep_until(T0 + 10_000).await;
        assert_eq!(clock.now_ms(), T0 + 10_000);
        clock.sleep_until(T0).await;
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_far_future_never_ends() {
        let clock = TokioClock::new(T0);
        let mut sleep = clock.sleep_until(u64::MAX);
        tokio::time::advance(Duration::from_secs(365 * 24 * 3600)).await;
        assert!(pending(&mut sleep).await);
    }

    #[tokio::test]
    async fn system_sleep_waits_for_the_system_clock() {
        let clock = SystemClock;
        #[allow(
            clippy::disallowed_methods,
            reason = "checks SystemClock against real time"
        )]
        let start = std::time::Instant::now();
        let at = clock.now_ms() + 30;
        clock.sleep_until(at).await;
        assert!(clock.now_ms() >= at);
        assert!(start.elapsed() >= Duration::from_millis(20));
        clock.sleep_until(0).await;
    }

    /// The engine holds its clock as `Arc<dyn Clock>`.
    #[tokio::test]
    async fn sleeps_through_a_trait_object() {
        let manual = Arc::new(ManualClock::new(T0));
        let clock: Arc<dyn Clock> = manual.clone();
        let mut sleep = clock.sleep_until(T0 + 10);
        assert!(pending(&mut sleep).await);
        manual.advance_ms(10);
        assert!(!pending(&mut sleep).await);
    }
}
