//! Deadlines, not scans: an ordered set of `(moment, key)` and one runner that sleeps until
//! the earliest, on the injected [`Clock`], and hands each due key to a callback. Nothing
//! here iterates over every key on an interval; it knows nothing of what a key names.
//! (A backend whose deadlines are not all known to this process, the postgres one whose
//! messages other nodes send, looks for due work [`periodically`] instead.)
//!
//! A key holds at most one deadline, its earliest: scheduling it later than it already is
//! changes nothing (the runner wakes early, the callback finds nothing due and schedules the
//! key's real next moment). The runner is woken by [`Deadlines::schedule`] only when the new
//! deadline is earlier than the one it sleeps to.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{watch, Notify};

use crate::clock::Clock;

/// What the runner is doing, as [`Deadlines::schedule`] needs to know it.
const AWAKE: u64 = 0;
const IDLE: u64 = u64::MAX;

/// Pending deadlines by key; one [`run`](Deadlines::run) loop serves them.
pub struct Deadlines<K> {
    inner: Mutex<Inner<K>>,
    notify: Notify,
    wakeups: AtomicU64,
}

struct Inner<K> {
    order: BTreeSet<(u64, K)>,
    by_key: HashMap<K, u64>,
    /// The moment the runner sleeps to: [`AWAKE`] while it runs (it looks again before
    /// sleeping), [`IDLE`] while it sleeps with nothing scheduled.
    sleeping_to: u64,
}

impl<K: Ord + Hash + Clone> Default for Deadlines<K> {
    fn default() -> Self {
        Deadlines {
            inner: Mutex::new(Inner {
                order: BTreeSet::new(),
                by_key: HashMap::new(),
                sleeping_to: AWAKE,
            }),
            notify: Notify::new(),
            wakeups: AtomicU64::new(0),
        }
    }
}

impl<K: Ord + Hash + Clone> Deadlines<K> {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes `key` due at `at_ms`, unless it is due earlier already. Wakes the runner only if
    /// this is earlier than the moment it sleeps to.
    pub fn schedule(&self, key: K, at_ms: u64) {
        let mut inner = self.lock();
        match inner.by_key.get(&key) {
            Some(&at) if at <= at_ms => return,
            Some(&at) => {
                inner.order.remove(&(at, key.clone()));
            }
            None => {}
        }
        inner.order.insert((at_ms, key.clone()));
        inner.by_key.insert(key, at_ms);
        if at_ms < inner.sleeping_to {
            // The runner looks again before it sleeps: one wake-up is enough until then.
            inner.sleeping_to = AWAKE;
            self.notify.notify_one();
        }
    }

    /// Forgets `key`'s deadline. The runner, if it sleeps to it, wakes then and finds
    /// nothing due.
    pub fn cancel(&self, key: &K) {
        let mut inner = self.lock();
        if let Some(at) = inner.by_key.remove(key) {
            inner.order.remove(&(at, key.clone()));
        }
    }

    /// When `key` is due, if it is scheduled.
    pub fn deadline(&self, key: &K) -> Option<u64> {
        self.lock().by_key.get(key).copied()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<u64> {
        self.lock().order.first().map(|&(at, _)| at)
    }

    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times the runner woke from a sleep (a deadline or an earlier schedule).
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }

    /// Takes every key due at `now`, earliest first; with none due, records the moment the
    /// runner will sleep to and returns it.
    fn take_due(&self, now: u64) -> Result<Vec<K>, u64> {
        let mut inner = self.lock();
        let mut due = Vec::new();
        while inner.order.first().is_some_and(|&(at, _)| at <= now) {
            if let Some((_, key)) = inner.order.pop_first() {
                inner.by_key.remove(&key);
                due.push(key);
            }
        }
        if !due.is_empty() {
            inner.sleeping_to = AWAKE;
            return Ok(due);
        }
        let next = inner.order.first().map_or(IDLE, |&(at, _)| at);
        inner.sleeping_to = next;
        Err(next)
    }

    /// The runner: until `shutdown` turns true (or its sender is dropped), sleeps on `clock`
    /// until the earliest deadline or an earlier [`schedule`](Deadlines::schedule), then
    /// calls `on_due` with each due key, earliest first, one at a time. A key is unscheduled
    /// before its call: `on_due` schedules its next moment, if it has one. Run one at a time.
    pub async fn run<F, Fut>(
        &self,
        clock: &dyn Clock,
        mut shutdown: watch::Receiver<bool>,
        mut on_due: F,
    ) where
        F: FnMut(K) -> Fut,
        Fut: Future<Output = ()>,
    {
        loop {
            if *shutdown.borrow_and_update() {
                return;
            }
            match self.take_due(clock.now_ms()) {
                Ok(due) => {
                    for key in due {
                        on_due(key).await;
                    }
                }
                Err(next) => {
                    // A schedule since `take_due` left a permit: this completes at once.
                    let notified = self.notify.notified();
                    let sleep = async {
                        match next {
                            IDLE => std::future::pending().await,
                            at => clock.sleep_until(at).await,
                        }
                    };
                    tokio::select! {
                        _ = sleep => {}
                        _ = notified => {}
                        changed = shutdown.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            continue;
                        }
                    }
                    // Awake until it looks again: a schedule meanwhile need not wake it.
                    self.lock().sleeping_to = AWAKE;
                    self.wakeups.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Calls `round` at once, then again `period_ms` (on `clock`) after each call began, until
/// `shutdown` turns true (or its sender is dropped). A round that takes longer than the
/// period is followed by the next at once, never by several.
pub async fn periodically<F, Fut>(
    clock: &dyn Clock,
    period_ms: u64,
    mut shutdown: watch::Receiver<bool>,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        let next = clock.now_ms().saturating_add(period_ms.max(1));
        round().await;
        tokio::select! {
            () = clock.sleep_until(next) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    use crate::clock::{ManualClock, TokioClock};

    const T0: u64 = 1_800_000_000_000;

    /// What a runner saw: each due key with the clock's time when it was handed over.
    type Seen = Arc<Mutex<Vec<(&'static str, u64)>>>;

    struct Runner {
        deadlines: Arc<Deadlines<&'static str>>,
        seen: Seen,
        shutdown: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
    }

    fn start(clock: Arc<dyn Clock>) -> Runner {
        let deadlines = Arc::new(Deadlines::new());
        let seen: Seen = Arc::default();
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn({
            let deadlines = deadlines.clone();
            let seen = seen.clone();
            async move {
                let now = clock.clone();
                deadlines
                    .run(clock.as_ref(), rx, |key| {
                        seen.lock().unwrap().push((key, now.now_ms()));
                        async {}
                    })
                    .await;
            }
        });
        Runner {
            deadlines,
            seen,
            shutdown,
            task,
        }
    }

    impl Runner {
        fn seen(&self) -> Vec<(&'static str, u64)> {
            self.seen.lock().unwrap().clone()
        }
    }

    /// Lets the runner task run what it can without time moving.
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn a_key_keeps_its_earliest_deadline() {
        let d = Deadlines::new();
        d.schedule("q", 500);
        d.schedule("q", 900);
        assert_eq!(d.deadline(&"q"), Some(500), "a later one changes nothing");
        d.schedule("q", 300);
        assert_eq!(d.deadline(&"q"), Some(300), "an earlier one replaces it");
        d.schedule("r", 400);
        assert_eq!((d.len(), d.next()), (2, Some(300)));
        assert_eq!(d.take_due(350), Ok(vec!["q"]));
        assert_eq!(d.take_due(350), Err(400), "q is gone, not left at 500");
        d.cancel(&"r");
        d.cancel(&"r");
        assert!(d.is_empty());
        assert_eq!(d.take_due(u64::MAX - 1), Err(IDLE));
    }

    /// A schedule between the runner's look and its sleep is not lost: it left a permit.
    #[tokio::test]
    async fn a_schedule_before_the_runner_sleeps_is_kept() {
        let d = Deadlines::new();
        d.schedule("late", 1_000);
        assert_eq!(
            d.take_due(0),
            Err(1_000),
            "the runner is about to sleep to 1000"
        );
        d.schedule("early", 500);
        tokio::time::timeout(Duration::from_secs(5), d.notify.notified())
            .await
            .expect("woken at once");
        // Woken, it looks again before sleeping: a still earlier one needs no second wake-up.
        d.schedule("earlier", 400);
        let again = tokio::time::timeout(Duration::from_millis(50), d.notify.notified()).await;
        assert!(again.is_err(), "no permit left");
        assert_eq!(d.take_due(0), Err(400));
    }

    #[tokio::test(start_paused = true)]
    async fn due_keys_come_in_deadline_order_at_their_moment() {
        let clock = Arc::new(TokioClock::new(T0));
        let r = start(clock.clone());
        r.deadlines.schedule("c", T0 + 3_000);
        r.deadlines.schedule("a", T0 + 1_000);
        r.deadlines.schedule("b", T0 + 2_000);
        r.deadlines.schedule("b2", T0 + 2_000);
        tokio::time::sleep(Duration::from_millis(10_000)).await;
        assert_eq!(
            r.seen(),
            [
                ("a", T0 + 1_000),
                ("b", T0 + 2_000),
                ("b2", T0 + 2_000),
                ("c", T0 + 3_000)
            ]
        );
        // One wake-up per distinct moment, none in between.
        assert_eq!(r.deadlines.wakeups(), 3);
        assert!(r.deadlines.is_empty());
        r.shutdown.send_replace(true);
        r.task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_wakes_the_sleeper() {
        let clock = Arc::new(TokioClock::new(T0));
        let r = start(clock.clone());
        r.deadlines.schedule("late", T0 + 60_000);
        settle().await;
        tokio::time::advance(Duration::from_millis(1_000)).await;
        settle().await;
        // Scheduled while the runner sleeps to T0 + 60 s.
        r.deadlines.schedule("early", T0 + 5_000);
        tokio::time::sleep(Duration::from_millis(10_000)).await;
        assert_eq!(r.seen(), [("early", T0 + 5_000)]);
        tokio::time::sleep(Duration::from_millis(60_000)).await;
        assert_eq!(r.seen(), [("early", T0 + 5_000), ("late", T0 + 60_000)]);
        r.shutdown.send_replace(true);
        r.task.await.unwrap();
    }

    /// A later deadline, a duplicate and a cancel do not wake the runner; nor does time
    /// moving short of the deadline.
    #[tokio::test]
    async fn nothing_wakes_the_runner_before_its_deadline() {
        let clock = Arc::new(ManualClock::new(T0));
        let r = start(clock.clone());
        r.deadlines.schedule("q", T0 + 1_000);
        settle().await;
        let woken = r.deadlines.wakeups();
        r.deadlines.schedule("q", T0 + 5_000);
        r.deadlines.schedule("q", T0 + 1_000);
        r.deadlines.schedule("r", T0 + 2_000);
        r.deadlines.cancel(&"r");
        for _ in 0..99 {
            clock.advance_ms(10);
            settle().await;
        }
        assert_eq!(r.deadlines.wakeups(), woken);
        assert!(r.seen().is_empty());
        clock.advance_ms(10);
        settle().await;
        assert_eq!(r.seen(), [("q", T0 + 1_000)]);
        assert_eq!(r.deadlines.wakeups(), woken + 1);
        // Idle now: time passing does not wake it at all.
        clock.advance_ms(3_600_000);
        settle().await;
        assert_eq!(r.deadlines.wakeups(), woken + 1);
        r.shutdown.send_replace(true);
        r.task.await.unwrap();
    }

    #[tokio::test]
    async fn manual_clock_drives_due_keys_exactly() {
        let clock = Arc::new(ManualClock::new(T0));
        let r = start(clock.clone());
        r.deadlines.schedule("retention", T0 + 60_000);
        r.deadlines.schedule("dedup", T0 + 300_000);
        settle().await;
        clock.advance_ms(59_999);
        settle().await;
        assert!(r.seen().is_empty());
        clock.advance_ms(1);
        settle().await;
        assert_eq!(r.seen(), [("retention", T0 + 60_000)]);
        // A move far past several deadlines hands them all over at once, in order.
        r.deadlines.schedule("attempt", T0 + 200_000);
        clock.advance_ms(600_000);
        settle().await;
        assert_eq!(
            r.seen(),
            [
                ("retention", T0 + 60_000),
                ("attempt", T0 + 660_000),
                ("dedup", T0 + 660_000)
            ]
        );
        r.shutdown.send_replace(true);
        r.task.await.unwrap();
    }

    #[tokio::test]
    async fn a_cancelled_key_is_not_handed_over() {
        let clock = Arc::new(ManualClock::new(T0));
        let r = start(clock.clone());
        r.deadlines.schedule("deleted", T0 + 1_000);
        r.deadlines.schedule("kept", T0 + 2_000);
        settle().await;
        r.deadlines.cancel(&"deleted");
        clock.advance_ms(5_000);
        settle().await;
        assert_eq!(r.seen(), [("kept", T0 + 5_000)]);
        r.shutdown.send_replace(true);
        r.task.await.unwrap();
    }

    /// The callback's own schedule (the key's next moment) is served, and one that is due
    /// already is served without a sleep.
    #[tokio::test(start_paused = true)]
    async fn the_callback_reschedules_its_key() {
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::new(T0));
        let deadlines = Arc::new(Deadlines::new());
        let (shutdown, rx) = watch::channel(false);
        let calls = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (deadlines, calls, clock) = (deadlines.clone(), calls.clone(), clock.clone());
            async move {
                deadlines
                    .run(clock.as_ref(), rx, |key: u64| {
                        calls.fetch_add(1, Ordering::Relaxed);
                        if key < 3 {
                            deadlines.schedule(key + 1, clock.now_ms() + 1_000);
                        }
                        async {}
                    })
                    .await;
            }
        });
        deadlines.schedule(0, T0);
        tokio::time::sleep(Duration::from_millis(10_000)).await;
        assert_eq!(calls.load(Ordering::Relaxed), 4);
        assert_eq!(clock.now_ms(), T0 + 10_000);
        shutdown.send_replace(true);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_ends_the_runner() {
        for drop_sender in [false, true] {
            let clock = Arc::new(ManualClock::new(T0));
            let r = start(clock.clone());
            r.deadlines.schedule("q", T0 + 1_000);
            settle().await;
            if drop_sender {
                drop(r.shutdown);
            } else {
                r.shutdown.send_replace(true);
            }
            tokio::time::timeout(Duration::from_secs(5), r.task)
                .await
                .expect("the runner ends")
                .unwrap();
            assert!(r.seen.lock().unwrap().is_empty());
        }
    }

    /// A round at once, then one per period of the clock's time, none while it stands still.
    #[tokio::test]
    async fn periodic_rounds_follow_the_clock() {
        let clock = Arc::new(ManualClock::new(T0));
        let rounds = Arc::new(AtomicU64::new(0));
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn({
            let (clock, rounds) = (clock.clone(), rounds.clone());
            async move {
                periodically(clock.as_ref(), 10_000, rx, || {
                    rounds.fetch_add(1, Ordering::Relaxed);
                    async {}
                })
                .await;
            }
        });
        settle().await;
        assert_eq!(rounds.load(Ordering::Relaxed), 1);
        clock.advance_ms(9_999);
        settle().await;
        assert_eq!(rounds.load(Ordering::Relaxed), 1, "not before the period");
        clock.advance_ms(1);
        settle().await;
        assert_eq!(rounds.load(Ordering::Relaxed), 2);
        // A jump over several periods is one round, not a burst.
        clock.advance_ms(60_000);
        settle().await;
        assert_eq!(rounds.load(Ordering::Relaxed), 3);
        shutdown.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("shutdown ends the rounds")
            .unwrap();
        assert_eq!(rounds.load(Ordering::Relaxed), 3);
    }

    /// Started after shutdown, the runner returns at once, whatever is due.
    #[tokio::test]
    async fn a_runner_started_after_shutdown_returns() {
        let clock = ManualClock::new(T0);
        let deadlines = Deadlines::new();
        deadlines.schedule(1u64, T0);
        let (_tx, rx) = watch::channel(true);
        deadlines
            .run(&clock, rx, |_| async { unreachable!("shut down") })
            .await;
        assert_eq!(deadlines.len(), 1);
    }
}
