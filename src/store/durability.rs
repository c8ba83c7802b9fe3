//! Group commit: callers that applied a batch wait until a flush that started after their
//! write has finished. One flusher task runs flushes back to back, so concurrent requests
//! share one fsync instead of paying one each.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{watch, Notify};

use super::{Store, StoreError};

pub struct GroupCommit {
    /// Bumped by every writer after its `apply`.
    written: AtomicU64,
    /// Wakes the flusher.
    wake: Notify,
    /// The highest write ticket known to be on disk, or an error of the last flush.
    flushed: watch::Sender<(u64, Option<String>)>,
}

impl GroupCommit {
    /// Starts the flusher task for `store` on the current tokio runtime.
    pub fn start(store: Arc<dyn Store>) -> Arc<Self> {
        let gc = Arc::new(GroupCommit {
            written: AtomicU64::new(0),
            wake: Notify::new(),
            flushed: watch::channel((0, None)).0,
        });
        let weak = Arc::downgrade(&gc);
        // Weak, so that the store (and sled's lock on its directory) is released as soon as
        // the engine is dropped, e.g. to reopen the same directory after a graceful shutdown.
        let store = Arc::downgrade(&store);
        tokio::spawn(async move {
            loop {
                let Some(gc) = weak.upgrade() else { return };
                let target = gc.written.load(Ordering::Acquire);
                if target <= gc.flushed.borrow().0 {
                    let wake = gc.clone();
                    drop(gc);
                    // Re-check periodically so a dropped GroupCommit ends this task.
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(1),
                        wake.wake.notified(),
                    )
                    .await;
                    continue;
                }
                let Some(store) = store.upgrade() else { return };
                let result = tokio::task::spawn_blocking(move || store.flush())
                    .await
                    .map_err(|e| StoreError(e.to_string()))
                    .and_then(|r| r);
                match result {
                    Ok(()) => gc.flushed.send_replace((target, None)),
                    Err(e) => {
                        tracing::error!(error = %e, "store flush failed");
                        gc.flushed.send_replace((gc.flushed.borrow().0, Some(e.0)))
                    }
                };
            }
        });
        gc
    }

    /// Takes a ticket for a write that has just been applied.
    pub fn ticket(&self) -> u64 {
        self.written.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Waits until the write with `ticket` is on disk.
    pub async fn wait(&self, ticket: u64) -> Result<(), StoreError> {
        let mut rx = self.flushed.subscribe();
        self.wake.notify_one();
        loop {
            {
                let (done, error) = &*rx.borrow_and_update();
                if *done >= ticket {
                    return Ok(());
                }
                if let Some(e) = error {
                    return Err(StoreError(e.clone()));
                }
            }
            if rx.changed().await.is_err() {
                return Err(StoreError("flusher stopped".into()));
            }
        }
    }
}
