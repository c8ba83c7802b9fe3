//! Group commit: callers that applied a batch wait until a flush that started after their
//! write has finished. One flusher thread runs flushes back to back, so concurrent requests
//! share one flush instead of paying one each.
//!
//! The commit is pipelined and never sleeps to gather: while flush N is on its way to disk,
//! new writes take tickets above N's target and so form batch N + 1, which the flusher starts
//! the moment N has finished. A waiter is woken by the flush whose target covers its ticket;
//! a target is read before its flush starts, and a ticket is taken after its write was
//! applied, so a write applied during flush N is acknowledged by N + 1, never by N.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use super::{Store, StoreError};

/// How long a request waits for the flush of its write before it fails: a disk that stops
/// completing flushes (sled after ENOSPC, a hung device) answers InternalFailure, not a hang.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

struct Shared {
    /// Bumped by every writer after its `apply`.
    written: AtomicU64,
    /// Set by the flusher, under the `stop` lock, before it checks for writes and waits on
    /// `wake`; only then does a waiter need the lock and a notification to wake it.
    idle: AtomicBool,
    /// Set when the owner is dropped.
    stop: Mutex<bool>,
    wake: Condvar,
    /// The highest write ticket known to be on disk, and the error of the last flush if it
    /// failed, with the highest ticket that flush was for.
    flushed: watch::Sender<(u64, Option<(u64, String)>)>,
    /// Successful flushes, and the microseconds they took together (metrics).
    flushes: AtomicU64,
    flush_micros: AtomicU64,
}

pub struct GroupCommit {
    shared: Arc<Shared>,
    /// See [`FLUSH_TIMEOUT`].
    flush_timeout: Duration,
    flusher: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher thread for `store`.
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
            flushed: watch::channel((0, None)).0,
            flushes: AtomicU64::new(0),
            flush_micros: AtomicU64::new(0),
        });
        let s = shared.clone();
        let flusher = std::thread::Builder::new()
            .name("cauda-flusher".into())
            .spawn(move || flusher(&s, store.as_ref()))
            .expect("spawn the flusher thread");
        Arc::new(GroupCommit {
            shared,
            flush_timeout,
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
        let timeout = self.flush_timeout;
        tokio::time::timeout(timeout, self.wait_flushed(ticket))
            .await
            .unwrap_or_else(|_| {
                Err(StoreError(format!(
                    "no flush completed within {} s: the disk may be full, failing or hung",
                    timeout.as_secs_f64()
                )))
            })
    }

    async fn wait_flushed(&self, ticket: u64) -> Result<(), StoreError> {
        let mut rx = self.shared.flushed.subscribe();
        if rx.borrow().0 >= ticket {
            return Ok(());
        }
        self.wake_flusher();
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
}

impl GroupCommit {
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

/// Waits until some write is not covered by a finished flush and returns the ticket a flush
/// started now covers; `None` once the owner is dropped.
fn next_target(shared: &Shared) -> Option<u64> {
    let mut stop = shared.stop.lock().expect("flusher lock");
    loop {
        if *stop {
            return None;
        }
        shared.idle.store(true, Ordering::SeqCst);
        let written = shared.written.load(Ordering::SeqCst);
        if written > shared.flushed.borrow().0 {
            shared.idle.store(false, Ordering::SeqCst);
            return Some(written);
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
    while let Some(target) = next_target(shared) {
        #[allow(
            clippy::disallowed_methods,
            reason = "the flusher's own thread timing its flush, for the metrics"
        )]
        let started = std::time::Instant::now();
        match store.flush() {
            Ok(()) => {
                let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                shared.flush_micros.fetch_add(micros, Ordering::Relaxed);
                shared.flushes.fetch_add(1, Ordering::Relaxed);
                shared.flushed.send_replace((target, None));
            }
            Err(e) => {
                super::log_failure("store flush failed", &e);
                let done = shared.flushed.borrow().0;
                shared.flushed.send_replace((done, Some((target, e.0))));
                // A failing disk fails every waiter; do not spin on it.
                #[allow(clippy::disallowed_methods, reason = "the flusher's own thread")]
                std::thread::sleep(Duration::from_millis(100));
            }
        }
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

    /// A store whose every flush reports that it started and then blocks until the test
    /// releases it with the flush's outcome.
    struct GatedStore {
        started: Mutex<mpsc::Sender<()>>,
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
            let _ = self.started.lock().unwrap().send(());
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
        started: mpsc::Receiver<()>,
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

        /// Blocks until the flusher has started its next flush.
        fn flush_started(&self) {
            self.started
                .recv_timeout(Duration::from_secs(30))
                .expect("a flush started");
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
}
