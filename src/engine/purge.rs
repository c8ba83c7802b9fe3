//! PurgeQueue: the queue emptied at once in memory, its records removed in batches.

use std::sync::Arc;

use super::queue::Queue;
use super::{Engine, EngineError, EngineResult};
use crate::store::{keys, WriteBatch};

impl Engine {
    pub async fn purge(&self, q: &Arc<Queue>) -> EngineResult<()> {
        let now = self.now();
        let purged = {
            let purged = q
                .lock()
                .try_start_purge(now, self.settings.purge_cooldown_ms);
            purged.ok_or_else(|| EngineError::PurgeInProgress {
                queue: q.name.clone(),
            })?
        };
        // The store's lock is held ~1.5 µs per removed record: a large queue is purged in
        // batches, letting other requests run between them, on a task of its own so that a
        // client hanging up does not stop it halfway. The reply waits until every batch is
        // flushed; a crash before it may leave the queue partly purged, as an unanswered
        // PurgeQueue may be.
        let store = self.journal.store_arc();
        let commit = self.journal.commit();
        let queue = q.clone();
        let shutdown = self.shutdown_signal();
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
        self.durable(ticket).await
    }
}

/// Messages whose records one PurgeQueue store batch removes.
const PURGE_CHUNK: usize = 1_024;
