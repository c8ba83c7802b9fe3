//! PurgeQueue on the local backend: the queue emptied at once in memory, its records
//! removed in batches.

use std::sync::Arc;

use crate::engine::queue::Queue;
use crate::engine::{EngineError, EngineResult};
use crate::store::{keys, WriteBatch};

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
        let Some(purged) = q.lock().try_start_purge(now, cooldown_ms) else {
            return Ok(false);
        };
        // The store's lock is held ~1.5 µs per removed record: a large queue is purged in
        // batches, letting other requests run between them, on a task of its own so that a
        // client hanging up does not stop it halfway. The reply waits until every batch is
        // flushed; a crash before it may leave the queue partly purged, as an unanswered
        // PurgeQueue may be.
        let store = self.journal.store_arc();
        let commit = self.journal.commit();
        let queue = q.clone();
        let shutdown = self.shutdown.clone();
        let removal = tokio::spawn(async move {
            let queue_id = queue.id;
            let seqs: Vec<u64> = purged.seqs().collect();
            let mut ticket = None;
            for chunk in seqs.chunks(PURGE_CHUNK) {
                let mut wb = WriteBatch::new();
                for &seq in chunk {
                    wb.delete(keys::message(queue_id, seq));
                    wb.delete(keys::message_state(queue_id, seq));
                }
                store.apply(wb)?;
                ticket = commit.as_ref().map(|c| c.ticket());
                tokio::task::yield_now().await;
            }
            let dedup_keys: Vec<&String> = purged.dedup_keys().collect();
            for chunk in dedup_keys.chunks(PURGE_CHUNK) {
                // A send after the purge may have stored the same key again: under the
                // queue's lock, only the records it has not replaced are removed.
                {
                    let st = queue.lock();
                    let mut wb = WriteBatch::new();
                    for key in chunk.iter().filter(|k| !st.holds_dedup_key(k)) {
                        wb.delete(keys::dedup(queue_id, key));
                    }
                    if !wb.is_empty() {
                        store.apply(wb)?;
                        ticket = commit.as_ref().map(|c| c.ticket());
                    }
                }
                tokio::task::yield_now().await;
            }
            tokio::task::spawn_blocking(move || purged.free_gradually(&shutdown));
            Ok::<_, EngineError>(ticket)
        });
        let ticket = removal.await.map_err(|e| {
            tracing::error!(error = %e, "purge task failed");
            EngineError::Internal
        })??;
        self.journal.durable(ticket).await?;
        Ok(true)
    }
}

/// Messages whose records one PurgeQueue store batch removes.
const PURGE_CHUNK: usize = 1_024;
