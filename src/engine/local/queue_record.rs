//! A queue's stored record on the local backend: written by CreateQueue, changed by
//! SetQueueAttributes, tags and policy, removed by DeleteQueue.

use crate::engine::queue::{Queue, QueueRecord};
use crate::engine::state::RecordChange;
use crate::engine::{EngineError, EngineResult};
use crate::store::{keys, records, WriteBatch};

use super::Local;
use super::LocalQueue;

impl Local {
    /// Writes a new queue's record (under its regional key) and waits until it is durable.
    pub(super) async fn store_queue(&self, record: &QueueRecord) -> EngineResult<()> {
        let mut batch = WriteBatch::new();
        batch.put(
            keys::queue(&record.account, record.region.as_deref(), &record.name),
            records::encode(record),
        );
        let ticket = self.journal.apply(batch)?;
        self.journal.durable(ticket).await
    }

    /// Removes `q`'s record (under the key it was stored at) and waits until that is durable.
    pub(super) async fn remove_queue(&self, q: &Queue) -> EngineResult<()> {
        let mut batch = WriteBatch::new();
        batch.delete(q.store_key.clone());
        let ticket = self.journal.apply(batch)?;
        self.journal.durable(ticket).await
    }

    /// Under the queue's lock: `change` edits a copy of the record, which is written, then
    /// becomes the queue's record (and its policy the one in force).
    pub(super) async fn update_queue(
        &self,
        q: &Queue,
        change: &mut RecordChange<'_>,
    ) -> EngineResult<()> {
        let ticket = {
            let mut st = q.lock();
            if st.is_deleted() {
                return Err(EngineError::QueueDoesNotExist);
            }
            let mut next = st.record().clone();
            change(&mut next)?;
            let mut batch = WriteBatch::new();
            batch.put(q.store_key.clone(), records::encode(&next));
            let ticket = self.journal.apply(batch)?;
            q.refresh_policy(&next);
            st.set_record(next);
            ticket
        };
        self.journal.durable(ticket).await
    }
}
