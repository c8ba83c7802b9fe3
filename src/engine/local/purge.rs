//! PurgeQueue on the local backend: the queue emptied at once in memory, its records
//! removed in batches.

use super::journal;
use std::sync::Arc;

use super::queue_state::QueueState;
use crate::engine::queue::Queue;
use crate::engine::{EngineError, EngineResult};
use tokio::sync::watch;

use crate::store::durability::GroupCommit;
use crate::store::{keys, Store, StoreError, WriteBatch};

use super::Local;
use super::LocalQueue;

impl Local {
    /// `false` while the cooldown since the last purge runs.
    pub(super) async fn purge(
        &self,
        q: &Arc<Queue>,
        now: u64,
        cooldown_ms: u64,
    ) -> EngineResult<bool> {
        let (previous, purged) = {
            let mut st = q.lock();
            (st.last_purge_at(), st.try_start_purge(now, cooldown_ms))
        };
        let Some(purged) = purged else {
            return Ok(false);
        };
        // The store's lock is held ~1.5 µs per removed record: a large queue is purged in
        // batches, letting other requests run between them, on a task of its own so that a
        // client hanging up does not stop it halfway. The reply waits until every batch is
        // flushed; a crash before it may leave the queue partly purged, as an unanswered
        // PurgeQueue may be.
        let store = self.journal.store_arc();
        let commit = self.journal.commit();
        let shutdown = self.shutdown.clone();
        let removal = tokio::spawn(remove_purged(store, commit, q.clone(), purged, shutdown));
        let ticket = match removal.await {
            Ok(Ok(ticket)) => ticket,
            Ok(Err(unwritten)) => {
                let error = unwritten.restore(q, previous, now);
                self.schedule_expiry(q);
                return Err(error.into());
            }
            Err(e) => {
                tracing::error!(error = %e, "purge task failed");
                return Err(EngineError::Internal);
            }
        };
        self.journal.durable(ticket).await?;
        Ok(true)
    }
}

/// Removes a purge's records from the store in batches (then, once every batch is written,
/// frees the purged memory on a blocking thread): the last write's ticket, or what could not
/// be removed when a batch failed.
async fn remove_purged(
    store: Arc<dyn Store>,
    commit: Option<Arc<GroupCommit>>,
    queue: Arc<Queue>,
    purged: QueueState,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<u64>, Unwritten> {
    let queue_id = queue.id;
    let seqs: Vec<u64> = purged.seqs().collect();
    let dedup_keys: Vec<String> = purged.dedup_keys().cloned().collect();
    let mut ticket = None;
    for (i, chunk) in seqs.chunks(PURGE_CHUNK).enumerate() {
        let mut wb = WriteBatch::new();
        for &seq in chunk {
            journal::delete_message(&mut wb, queue_id, seq);
        }
        if let Err(error) = store.apply(wb) {
            return Err(Unwritten {
                error,
                purged,
                seqs: seqs[i * PURGE_CHUNK..].to_vec(),
                dedup_keys,
            });
        }
        ticket = commit.as_ref().map(|c| c.ticket());
        tokio::task::yield_now().await;
    }
    for (i, chunk) in dedup_keys.chunks(PURGE_CHUNK).enumerate() {
        // A send after the purge may have stored the same key again: under the
        // queue's lock, only the records it has not replaced are removed.
        let written = {
            let st = queue.lock();
            let mut wb = WriteBatch::new();
            for key in chunk.iter().filter(|k| !st.holds_dedup_key(k)) {
                wb.delete(keys::dedup(queue_id, key));
            }
            if wb.is_empty() {
                Ok(false)
            } else {
                store.apply(wb).map(|()| true)
            }
        };
        match written {
            Ok(true) => ticket = commit.as_ref().map(|c| c.ticket()),
            Ok(false) => {}
            Err(error) => {
                return Err(Unwritten {
                    error,
                    purged,
                    seqs: Vec::new(),
                    dedup_keys: dedup_keys[i * PURGE_CHUNK..].to_vec(),
                });
            }
        }
        tokio::task::yield_now().await;
    }
    tokio::task::spawn_blocking(move || purged.free_gradually(&shutdown));
    Ok(ticket)
}

/// What a purge could not remove from the store when a batch failed: the messages and
/// deduplication entries of that batch and those after it.
struct Unwritten {
    error: StoreError,
    purged: QueueState,
    seqs: Vec<u64>,
    dedup_keys: Vec<String>,
}

impl Unwritten {
    /// Puts what is still stored back in the queue's memory (a send since the purge may have
    /// stored a deduplication key again: that entry stays), and the purge cooldown as it was;
    /// memory and the store then agree. If the first batch failed, the queue is as before.
    fn restore(mut self, q: &Queue, previous: Option<u64>, now: u64) -> StoreError {
        let mut st = q.lock();
        if !st.is_deleted() {
            for seq in self.seqs {
                if let Some(meta) = self.purged.remove(seq) {
                    st.insert(seq, meta, now);
                }
            }
            for key in self.dedup_keys {
                if !st.holds_dedup_key(&key) {
                    if let Some(entry) = self.purged.take_dedup(&key) {
                        st.record_dedup(entry);
                    }
                }
            }
            st.cancel_purge(previous);
        }
        self.error
    }
}

/// Messages whose records one PurgeQueue store batch removes.
const PURGE_CHUNK: usize = 1_024;
