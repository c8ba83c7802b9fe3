//! Group commit: callers that applied a batch wait until a flush that started after their
//! write has finished. Concurrent requests share one flush instead of paying one each.
//!
//! The commit is pipelined and never sleeps to gather: while flush N is on its way to disk,
//! new writes take tickets above N's target and so form batch N + 1, which starts the moment
//! N has finished. A waiter is woken by the flush whose target covers its ticket; a target is
//! read before its flush starts, and a ticket is taken after its write was applied, so a write
//! applied during flush N is acknowledged by N + 1, never by N.
//!
//! Who flushes: a flusher thread runs flushes back to back while writes keep coming. When
//! writes come one at a time (a lone writer: the last flushes each covered a single write) and
//! the flusher is idle, on the multi-thread runtime, the waiting request flushes on its own
//! thread instead (`block_in_place`): it then pays no hand-off to the flusher and back (two
//! thread wake-ups, much of a one-connection send's latency). Either way one flush runs at a
//! time (the `flushing` lock) and a flush's target is read under that lock, so the rule above
//! holds for both.
//!
//! A flush that does not complete fails its waiters after [`FLUSH_TIMEOUT`]: a watchdog task
//! looks every sixteenth of it whether writes have waited that long without a flush finishing
//! (one timer for the whole store, not one per request: registering a timer per request woke
//! the runtime's I/O driver twice per request).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::watch;

use super::{Store, StoreError};

/// How long a request waits for the flush of its write before it fails: a disk that stops
/// completing flushes (sled after ENOSPC, a hung device) answers InternalFailure, not a hang.
/// A waiter fails between this and this plus an eighth of it after writes began waiting
/// (the watchdog's period); the request whose own thread runs the hung flush waits for it.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// How many flushes in a row must each have covered a single write before a request flushes
/// on its own thread. Under concurrent writes the flusher thread flushes: its wake-up
/// gathers the writes that come meanwhile, a request's own flush starts with its write alone
/// (32 connections: about 36,000 -> 21,000 sends/s when any request that found the flusher
/// idle flushed itself).
const LONE_WRITER_FLUSHES: u64 = 8;

/// How long the flusher pauses before it retries after a failed flush.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The highest write ticket known to be on disk, and the error of the last flush if it failed,
/// with the highest ticket that flush was for.
type Flushed = (u64, Option<(u64, String)>);

struct Shared {
    /// Bumped by every writer after its `apply`.
    written: AtomicU64,
    /// Set by the flusher, under the `stop` lock, before it checks for writes and waits on
    /// `wake`; only then does a waiter need the lock and a notification to wake it.
    idle: AtomicBool,
    /// Set when the owner is dropped.
    stop: Mutex<bool>,
    wake: Condvar,
    /// Held through a flush, by the flusher thread or a request's thread.
    flushing: Mutex<()>,
    /// How many successful flushes in a row covered a single write.
    single_flushes: AtomicU64,
    flushed: watch::Sender<Flushed>,
    /// Successful flushes, and the microseconds they took together (metrics).
    flushes: AtomicU64,
    flush_micros: AtomicU64,
}

pub struct GroupCommit {
    shared: Arc<Shared>,
    store: Arc<dyn Store>,
    flusher: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher thread and the watchdog task for `store`. Must run inside a tokio
    /// runtime.
    pub fn start(store: Arc<dyn Store>) -> Arc<Self> {
        Self::start_with_timeout(store, FLUSH_TIMEOUT)
    }

    /// [`GroupCommit::start`], with waits failing after `flush_timeout`.
    pub fn start_with_timeout(store: Arc<dyn Store>, flush_timeout: Duration) -> Arc<Self> {
        let shared = Arc::new(Shared {
            written: AtomicU64::new(0),
            idle: AtomicBool::new(false),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            flushing: Mutex::new(()),
            single_flushes: AtomicU64::new(0),
            flushed: watch::channel((0, None)).0,
            flushes: AtomicU64::new(0),
            flush_micros: AtomicU64::new(0),
        });
        let s = shared.clone();
        let st = store.clone();
        let flusher = std::thread::Builder::new()
            .name("cauda-flusher".into())
            .spawn(move || flusher(&s, st.as_ref()))
            .expect("spawn the flusher thread");
        tokio::spawn(watchdog(Arc::downgrade(&shared), flush_timeout));
        Arc::new(GroupCommit {
            shared,
            store,
            flusher: Some(flusher),
        })
    }

    /// The flushes made since the start, and the time they took together.
    pub fn flush_totals(&self) -> (u64, Duration) {
        (
            self.shared.flushes.load(Ordering::Relaxed),
            Duration::from_micros(self.shared.flush_micros.load(Ordering::Relaxed)),
        )
    }

    /// Takes a ticket for a write that has just been applied.
    pub fn ticket(&self) -> u64 {
        // SeqCst with `idle` (see `wake_flusher`).
        self.shared.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Waits until the write with `ticket` is on disk; fails if its flush fails or does not
    /// complete within the flush timeout.
    pub async fn wait(&self, ticket: u64) -> Result<(), StoreError> {
        let mut rx = self.shared.flushed.subscribe();
        if rx.borrow().0 >= ticket {
            return Ok(());
        }
        if !self.flush_on_this_thread() {
            self.wake_flusher();
        }
        loop {
            {
                let (done, error) = &*rx.borrow_and_update();
                if *done >= ticket {
                    return Ok(());
                }
                // A failed flush fails the writes it was for; a later write waits for the
                // next flush (a stale error must not fail a write no flush has tried yet).
                if let Some((failed_upto, e)) = error {
                    if ticket <= *failed_upto {
                        return Err(StoreError(e.clone()));
                    }
                }
            }
            if rx.changed().await.is_err() {
                return Err(StoreError("flusher stopped".into()));
            }
        }
    }

    /// Runs the flush on the caller's thread when writes come one at a time (the last
    /// [`LONE_WRITER_FLUSHES`] flushes covered one each), no flush is in progress or waiting
    /// for the flusher, the last flush did not fail (the flusher retries after a pause) and
    /// the runtime can lend the thread (`block_in_place`). True if it ran one: it covered
    /// every ticket taken before it, the caller's too.
    fn flush_on_this_thread(&self) -> bool {
        let shared = &self.shared;
        if shared.single_flushes.load(Ordering::Relaxed) < LONE_WRITER_FLUSHES
            || !shared.idle.load(Ordering::SeqCst)
            || shared.flushed.borrow().1.is_some()
        {
            return false;
        }
        if !Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread) {
            return false;
        }
        let Ok(flushing) = shared.flushing.try_lock() else {
            return false;
        };
        // The request's reply waits for nothing after its flush: `after_flush` is left to
        // the flusher and the store's own background work.
        tokio::task::block_in_place(|| {
            flush_covering(shared, self.store.as_ref(), &flushing, false);
        });
        true
    }

    /// Wakes the flusher if it is waiting for writes. The caller's ticket was taken before
    /// (SeqCst, like `idle`): either the flusher's check after setting `idle` sees the ticket,
    /// or this load sees `idle` set and the lock orders the notification after the check.
    fn wake_flusher(&self) {
        if self.shared.idle.load(Ordering::SeqCst) {
            drop(self.shared.stop.lock().expect("flusher lock"));
            self.shared.wake.notify_one();
        }
    }
}

/// Flushes every write applied so far unless a flush already covered them, and publishes the
/// outcome. The caller holds `flushing`, so the target is read before this flush starts and
/// after every earlier flush finished: `flushed` only rises.
/// With `then_tidy`, runs the store's [`Store::after_flush`] once the waiters are woken.
fn flush_covering(
    shared: &Shared,
    store: &dyn Store,
    _flushing: &MutexGuard<'_, ()>,
    then_tidy: bool,
) {
    let target = shared.written.load(Ordering::SeqCst);
    let done = shared.flushed.borrow().0;
    if target <= done {
        return;
    }
    #[allow(
        clippy::disallowed_methods,
        reason = "a flush timing itself on its own thread, for the metrics"
    )]
    let started = std::time::Instant::now();
    match store.flush() {
        Ok(()) => {
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            shared.flush_micros.fetch_add(micros, Ordering::Relaxed);
            shared.flushes.fetch_add(1, Ordering::Relaxed);
            if target - done == 1 {
                shared.single_flushes.fetch_add(1, Ordering::Relaxed);
            } else {
                shared.single_flushes.store(0, Ordering::Relaxed);
            }
            shared.flushed.send_replace((target, None));
            if then_tidy {
                if let Err(e) = store.after_flush() {
                    super::log_failure("store work after a flush failed", &e);
                }
            }
        }
        Err(e) => {
            super::log_failure("store flush failed", &e);
            shared
                .flushed
                .send_modify(|(_, error)| *error = Some((target, e.0)));
        }
    }
}

/// Waits until some write is not covered by a finished flush; false once the owner is
/// dropped.
fn writes_waiting(shared: &Shared) -> bool {
    let mut stop = shared.stop.lock().expect("flusher lock");
    loop {
        if *stop {
            return false;
        }
        shared.idle.store(true, Ordering::SeqCst);
        let written = shared.written.load(Ordering::SeqCst);
        if written > shared.flushed.borrow().0 {
            shared.idle.store(false, Ordering::SeqCst);
            return true;
        }
        // The timeout only bounds a ticket nobody waits for (it is flushed all the same).
        stop = shared
            .wake
            .wait_timeout(stop, Duration::from_millis(100))
            .expect("flusher lock")
            .0;
    }
}

fn flusher(shared: &Shared, store: &dyn Store) {
    while writes_waiting(shared) {
        if shared.flushed.borrow().1.is_some() {
            // A failing disk fails every waiter; do not spin on it.
            #[allow(clippy::disallowed_methods, reason = "the flusher's own thread")]
            std::thread::sleep(RETRY_PAUSE);
        }
        let flushing = shared.flushing.lock().expect("flush lock");
        flush_covering(shared, store, &flushing, true);
    }
}

/// Fails the waiting writes once writes have waited `timeout` without a flush finishing,
/// then again after each further `timeout`; ends when the group commit is dropped.
async fn watchdog(shared: Weak<Shared>, timeout: Duration) {
    let period = timeout / 16;
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The flushed ticket last seen, and when writes were last seen all flushed or a flush
    // was last seen finishing.
    let mut last_done = 0;
    let mut progress_at = tokio::time::Instant::now();
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let now = tokio::time::Instant::now();
        let done = shared.flushed.borrow().0;
        let written = shared.written.load(Ordering::SeqCst);
        if done != last_done || written <= done {
            last_done = done;
            progress_at = now;
            continue;
        }
        // A period's margin: `progress_at` may be up to one period before the first write
        // began waiting, and no waiter may fail before `timeout`.
        if now.duration_since(progress_at) < timeout + period {
            continue;
        }
        let message = format!(
            "no flush completed within {} s: the disk may be full, failing or hung",
            timeout.as_secs_f64()
        );
        shared.flushed.send_if_modified(|(flushed, error)| {
            if *flushed != done {
                return false;
            }
            *error = Some((written, message));
            true
        });
        progress_at = now;
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        *self.shared.stop.lock().expect("flusher lock") = true;
        self.shared.wake.notify_one();
        if let Some(handle) = self.flusher.take() {
            if handle.join().is_err() {
                tracing::error!("the group-commit flusher thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, StoreResult, WriteBatch};

    /// A store whose flush never returns until released.
    struct HangingFlush {
        inner: MemoryStore,
        release: Mutex<bool>,
        released: Condvar,
    }

    impl Store for HangingFlush {
        fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
            self.inner.get(key)
        }
        fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
            self.inner.scan_prefix(prefix)
        }
        fn keys_with_prefix(&self, prefix: &[u8], limit: usize) -> StoreResult<Vec<Vec<u8>>> {
            self.inner.keys_with_prefix(prefix, limit)
        }
        fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
            self.inner.apply(batch)
        }
        fn flush(&self) -> StoreResult<()> {
            let mut released = self.release.lock().unwrap();
            while !*released {
                released = self.released.wait(released).unwrap();
            }
            Ok(())
        }
        fn is_persistent(&self) -> bool {
            true
        }
    }

    /// A flush that never completes fails the waiting write after the timeout, instead of
    /// holding the request forever.
    #[tokio::test]
    async fn a_hung_flush_fails_the_wait_after_the_timeout() {
        let store = Arc::new(HangingFlush {
            inner: MemoryStore::new(),
            release: Mutex::new(false),
            released: Condvar::new(),
        });
        let commit = GroupCommit::start_with_timeout(store.clone(), Duration::from_millis(300));
        let ticket = commit.ticket();
        let failed = commit.wait(ticket).await;
        assert!(
            failed
                .as_ref()
                .is_err_and(|e| e.0.contains("no flush completed")),
            "{failed:?}"
        );
        *store.release.lock().unwrap() = true;
        store.released.notify_all();
        commit.wait(commit.ticket()).await.unwrap();
    }
}

#[cfg(test)]
mod pipeline_tests {
    use std::sync::mpsc;

    use super::*;
    use crate::store::{StoreResult, WriteBatch};

    /// A store whose every flush reports that it started (and on which thread) and then
    /// blocks until the test releases it with the flush's outcome.
    struct GatedStore {
        started: Mutex<mpsc::Sender<Option<String>>>,
        release: Mutex<mpsc::Receiver<Result<(), String>>>,
    }

    impl Store for GatedStore {
        fn get(&self, _key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
            Ok(None)
        }
        fn scan_prefix(&self, _prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
            Ok(Vec::new())
        }
        fn keys_with_prefix(&self, _prefix: &[u8], _limit: usize) -> StoreResult<Vec<Vec<u8>>> {
            Ok(Vec::new())
        }
        fn apply(&self, _batch: WriteBatch) -> StoreResult<()> {
            Ok(())
        }
        fn flush(&self) -> StoreResult<()> {
            let thread = std::thread::current().name().map(str::to_owned);
            let _ = self.started.lock().unwrap().send(thread);
            // Bounded, so a failing test cannot leave the flusher (and its join) hanging.
            match self
                .release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(30))
            {
                Ok(outcome) => outcome.map_err(StoreError),
                Err(_) => Err(StoreError("not released".into())),
            }
        }
        fn is_persistent(&self) -> bool {
            true
        }
    }

    struct Harness {
        commit: Arc<GroupCommit>,
        started: mpsc::Receiver<Option<String>>,
        release: mpsc::Sender<Result<(), String>>,
    }

    impl Harness {
        fn new() -> Self {
            let (started_tx, started) = mpsc::channel();
            let (release, release_rx) = mpsc::channel();
            let store = Arc::new(GatedStore {
                started: Mutex::new(started_tx),
                release: Mutex::new(release_rx),
            });
            Harness {
                commit: GroupCommit::start(store),
                started,
                release,
            }
        }

        /// Blocks until the next flush has started; the name of the thread running it.
        fn flush_started(&self) -> Option<String> {
            self.started
                .recv_timeout(Duration::from_secs(30))
                .expect("a flush started")
        }

        /// Blocks until the flusher thread waits for writes.
        fn flusher_idle(&self) {
            for _ in 0..3_000 {
                if self.commit.shared.idle.load(Ordering::SeqCst) {
                    return;
                }
                #[allow(clippy::disallowed_methods, reason = "polling another thread's state")]
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("the flusher never went idle");
        }

        fn waiter(&self, ticket: u64) -> tokio::task::JoinHandle<Result<(), StoreError>> {
            let commit = self.commit.clone();
            tokio::spawn(async move { commit.wait(ticket).await })
        }
    }

    /// Gives spawned waiters time to run (only ever used to show that something did NOT
    /// happen, so a slow machine cannot make it fail).
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_applied_during_a_flush_is_acknowledged_by_the_next_one() {
        let h = Harness::new();
        let first = h.commit.ticket();
        let first_waiter = h.waiter(first);
        h.flush_started();
        // Applied while flush 1 is in progress: flush 1's target was read before it started.
        let during: Vec<u64> = (0..3).map(|_| h.commit.ticket()).collect();
        let during_waiters: Vec<_> = during.iter().map(|t| h.waiter(*t)).collect();
        settle().await;
        assert!(!first_waiter.is_finished(), "acknowledged before its flush");
        h.release.send(Ok(())).unwrap();
        first_waiter
            .await
            .unwrap()
            .expect("flush 1 covers the first write");
        // Batch 2 starts at once, with no gathering sleep, and covers every write made
        // during flush 1; none of them is acknowledged before it finishes.
        h.flush_started();
        settle().await;
        assert!(during_waiters.iter().all(|w| !w.is_finished()));
        h.release.send(Ok(())).unwrap();
        for w in during_waiters {
            w.await
                .unwrap()
                .expect("flush 2 covers the writes made during flush 1");
        }
        assert_eq!(
            h.commit.flush_totals().0,
            2,
            "three writes shared one flush"
        );
        // Nothing left to flush: the flusher waits for the next write.
        assert!(h.started.recv_timeout(Duration::from_millis(200)).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_flush_fails_its_waiters_and_a_later_write_waits_for_the_next_flush() {
        let h = Harness::new();
        let first = h.commit.ticket();
        let first_waiter = h.waiter(first);
        h.flush_started();
        let later = h.commit.ticket();
        let later_waiter = h.waiter(later);
        h.release.send(Err("disk on fire".into())).unwrap();
        let err = first_waiter.await.unwrap().expect_err("its flush failed");
        assert!(err.0.contains("disk on fire"), "{}", err.0);
        // The failed flush was not for the later write: it waits for the retry.
        h.flush_started();
        settle().await;
        assert!(!later_waiter.is_finished(), "failed by a flush not for it");
        h.release.send(Ok(())).unwrap();
        later_waiter.await.unwrap().expect("the retry covers it");
        assert_eq!(
            h.commit.flush_totals().0,
            1,
            "only successful flushes count"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_disk_is_retried_after_a_pause_not_in_a_spin() {
        let h = Harness::new();
        let waiter = h.waiter(h.commit.ticket());
        h.flush_started();
        #[allow(clippy::disallowed_methods, reason = "measuring the flusher's pause")]
        let failed_at = std::time::Instant::now();
        h.release.send(Err("full".into())).unwrap();
        waiter.await.unwrap().expect_err("its flush failed");
        h.flush_started();
        assert!(failed_at.elapsed() >= Duration::from_millis(90));
        h.release.send(Ok(())).unwrap();
    }

    /// Writes that come one at a time are flushed by the flusher thread until
    /// [`LONE_WRITER_FLUSHES`] flushes in a row covered one write each; then, with the flusher
    /// idle on the multi-thread runtime, a lone write is flushed on its request's own thread.
    /// A write applied during that flush is not acknowledged by it but by the next flush,
    /// which the flusher thread runs once the first one has finished.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_write_is_flushed_on_its_own_thread_and_a_write_during_it_by_the_next_flush() {
        let h = Harness::new();
        for _ in 0..LONE_WRITER_FLUSHES {
            h.flusher_idle();
            let waiter = h.waiter(h.commit.ticket());
            assert_eq!(h.flush_started().as_deref(), Some("cauda-flusher"));
            h.release.send(Ok(())).unwrap();
            waiter.await.unwrap().expect("flushed");
        }
        h.flusher_idle();
        let first = h.commit.ticket();
        let first_waiter = h.waiter(first);
        let thread = h.flush_started();
        assert!(
            thread.as_deref() != Some("cauda-flusher"),
            "flushed by the flusher thread, not the request's: {thread:?}"
        );
        let during = h.commit.ticket();
        let during_waiter = h.waiter(during);
        settle().await;
        assert!(!first_waiter.is_finished(), "acknowledged before its flush");
        h.release.send(Ok(())).unwrap();
        first_waiter
            .await
            .unwrap()
            .expect("its own flush covers it");
        assert_eq!(
            h.flush_started().as_deref(),
            Some("cauda-flusher"),
            "the write made during the first flush is flushed by the flusher thread"
        );
        settle().await;
        assert!(
            !during_waiter.is_finished(),
            "acknowledged by the earlier flush"
        );
        h.release.send(Ok(())).unwrap();
        during_waiter
            .await
            .unwrap()
            .expect("the second flush covers it");
        assert_eq!(h.commit.flush_totals().0, LONE_WRITER_FLUSHES + 2);
    }
}

#[cfg(test)]
mod watchdog_tests {
    use super::*;
    use crate::store::{MemoryStore, StoreResult, WriteBatch};

    /// A store whose flush takes a tenth of a second.
    struct SlowFlush(MemoryStore);

    impl Store for SlowFlush {
        fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
            self.0.get(key)
        }
        fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
            self.0.scan_prefix(prefix)
        }
        fn keys_with_prefix(&self, prefix: &[u8], limit: usize) -> StoreResult<Vec<Vec<u8>>> {
            self.0.keys_with_prefix(prefix, limit)
        }
        fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
            self.0.apply(batch)
        }
        fn flush(&self) -> StoreResult<()> {
            #[allow(
                clippy::disallowed_methods,
                reason = "a slow disk, on the flusher's thread"
            )]
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        }
        fn is_persistent(&self) -> bool {
            true
        }
    }

    /// The timeout counts from when writes began waiting: a long idle spell before a write
    /// does not fail it, however late it comes.
    #[tokio::test]
    async fn an_idle_spell_does_not_count_against_the_flush_timeout() {
        let commit = GroupCommit::start_with_timeout(
            Arc::new(SlowFlush(MemoryStore::new())),
            Duration::from_secs(1),
        );
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            commit.wait(commit.ticket()).await.expect("flushed in time");
        }
        assert_eq!(commit.flush_totals().0, 3);
    }
}
