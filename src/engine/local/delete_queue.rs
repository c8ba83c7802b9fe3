//! A deleted queue's messages on the local backend: its indexes freed and its records
//! removed in the background, in chunks (after a crash, recovery drops what is left:
//! records of a queue id that no queue has).

use std::sync::Arc;

use tokio::sync::watch;

use crate::engine::queue::Queue;
use crate::store::{keys, Store, StoreError, WriteBatch};

use super::Local;
use super::LocalQueue;

impl Local {
    pub(super) fn queue_deleted(&self, q: &Arc<Queue>) {
        // The indexes of a large queue take tens of milliseconds to free: they are moved out
        // here and dropped on the cleanup thread, not on a request worker.
        let indexes = q.lock().mark_deleted();
        self.forget_deadline(q);
        let store = self.journal.store_arc();
        let queue_id = q.id;
        let shutdown = self.shutdown.clone();
        tokio::task::spawn_blocking(move || {
            indexes.free_gradually(&shutdown);
            if let Err(e) = remove_queue_records(store.as_ref(), queue_id, &shutdown) {
                tracing::warn!(error = %e, "cleaning up a deleted queue failed; recovery will finish it");
            }
        });
    }
}

/// Records removed per store batch when a deleted queue is cleaned up: each batch holds the
/// store's lock for ~1.5 µs per record, so small batches keep requests from waiting behind it.
const CLEANUP_CHUNK: usize = 128;

/// Removes every message, message state and dedup record of a deleted queue, in chunks of
/// [`CLEANUP_CHUNK`] records with a pause between them (runs on a blocking thread). Stops at
/// shutdown, which must not wait for it: recovery drops what is left on the next start.
fn remove_queue_records(
    store: &dyn Store,
    queue_id: u64,
    shutdown: &watch::Receiver<bool>,
) -> Result<(), StoreError> {
    // Bodies before their index records: what an interrupted cleanup leaves is indexed, and
    // recovery removes it.
    for prefix in [
        keys::MESSAGE,
        keys::MESSAGE_INDEX,
        keys::MESSAGE_STATE,
        keys::DEDUP,
    ] {
        let prefix = keys::queue_prefix(prefix, queue_id);
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let chunk = store.keys_with_prefix(&prefix, CLEANUP_CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            let mut batch = WriteBatch::new();
            for k in chunk {
                batch.delete(k);
            }
            store.apply(batch)?;
            // Background work: leave the store to the requests between chunks.
            #[allow(
                clippy::disallowed_methods,
                reason = "a cleanup thread of its own (spawn_blocking) pacing itself, not queue time"
            )]
            std::thread::sleep(std::time::Duration::from_millis(4));
        }
    }
    Ok(())
}
