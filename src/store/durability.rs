//! Group commit: callers that applied a batch wait until a flush that started after their
//! write has finished. One flusher thread runs flushes back to back, so concurrent requests
//! share one flush instead of paying one each.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use super::{Store, StoreError};

/// How long the flusher lets more writes join a flush when several requests are waiting.
/// A flush costs the same for one write or a hundred, so under load a short wait buys
/// throughput; a lone request never waits for it.
const GATHER: Duration = Duration::from_micros(200);
/// How long a request waits for the flush of its write before it fails: a disk that stops
/// completing flushes (sled after ENOSPC, a hung device) answers InternalFailure, not a hang.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

struct Shared {
    /// Bumped by every writer after its `apply`.
    written: AtomicU64,
    /// Requests currently waiting for a flush.
    waiting: AtomicUsize,
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
            waiting: AtomicUsize::new(0),
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
        self.shared.written.fetch_add(1, Ordering::AcqRel) + 1
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
        self.shared.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.shared.waiting);
        // Taking the lock orders this wake-up after the flusher's check or inside its wait.
        drop(self.shared.stop.lock().expect("flusher lock"));
        self.shared.wake.notify_one();
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

/// Counts a waiting request for as long as it lives (also when its future is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn flusher(shared: &Shared, store: &dyn Store) {
    loop {
        {
            let mut stop = shared.stop.lock().expect("flusher lock");
            if *stop {
                return;
            }
            while shared.written.load(Ordering::Acquire) <= shared.flushed.borrow().0 {
                if *stop {
                    return;
                }
                stop = shared
                    .wake
                    .wait_timeout(stop, Duration::from_millis(100))
                    .expect("flusher lock")
                    .0;
            }
        }
        if shared.waiting.load(Ordering::Acquire) > 1 {
            #[allow(
                clippy::disallowed_methods,
                reason = "the flusher's own thread, gathering writers"
            )]
            std::thread::sleep(GATHER);
        }
        let target = shared.written.load(Ordering::Acquire);
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
