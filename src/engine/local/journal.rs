//! The local backend's journal: the store its writes go to, and the group commit a mutation
//! waits on before it is acknowledged (strict durability on a persistent store).

use std::sync::Arc;

use crate::engine::queue::{MessageIndexRecord, MessageRecord};
use crate::engine::{EngineError, EngineResult};
use crate::store::{keys, records, GroupCommit, Store, StoreStats, WriteBatch};

/// Adds a message's records to `wb`: its (cold) record and its index record.
pub(crate) fn put_message(wb: &mut WriteBatch, queue_id: u64, seq: u64, record: &MessageRecord) {
    wb.put(keys::message(queue_id, seq), records::encode(record));
    wb.put(
        keys::message_index(queue_id, seq),
        records::encode(&MessageIndexRecord::of(record)),
    );
}

/// Adds the removal of every record of a message to `wb`: record, index and state.
pub(crate) fn delete_message(wb: &mut WriteBatch, queue_id: u64, seq: u64) {
    wb.delete(keys::message(queue_id, seq));
    wb.delete(keys::message_index(queue_id, seq));
    wb.delete(keys::message_state(queue_id, seq));
}

pub(crate) struct Journal {
    store: Arc<dyn Store>,
    commit: Option<Arc<GroupCommit>>,
}

impl Journal {
    /// Starts the flusher when `sync_writes` asks for strict durability on a persistent
    /// store. Must run inside a tokio runtime.
    pub(crate) fn open(store: Arc<dyn Store>, sync_writes: bool) -> Self {
        let commit =
            (sync_writes && store.is_persistent()).then(|| GroupCommit::start(store.clone()));
        Journal { store, commit }
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub(crate) fn store_arc(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    pub(crate) fn commit(&self) -> Option<Arc<GroupCommit>> {
        self.commit.clone()
    }

    /// The store's journal size and the group commit's flushes (none in relaxed durability:
    /// sled flushes by itself then).
    pub(crate) fn stats(&self) -> StoreStats {
        let (flushes, flush_time) = self
            .commit
            .as_ref()
            .map_or_else(Default::default, |c| c.flush_totals());
        StoreStats {
            journal_bytes: self.store.journal_bytes(),
            flushes,
            flush_time,
        }
    }

    /// Applies a batch; returns the ticket to wait on for durability.
    pub(crate) fn apply(&self, batch: WriteBatch) -> EngineResult<Option<u64>> {
        if batch.is_empty() {
            return Ok(None);
        }
        self.store.apply(batch)?;
        Ok(self.commit.as_ref().map(|c| c.ticket()))
    }

    /// Waits until the write of `ticket` is durable (strict durability only). A failed flush
    /// is [`EngineError::Unflushed`]: the write is in memory and in the store already.
    pub(crate) async fn durable(&self, ticket: Option<u64>) -> EngineResult<()> {
        match (ticket, &self.commit) {
            (Some(t), Some(c)) => c.wait(t).await.map_err(|e| {
                crate::store::log_failure("a write was not made durable", &e);
                EngineError::Unflushed
            }),
            _ => Ok(()),
        }
    }
}
