//! A queue's stored record on the local backend (SetQueueAttributes, tags, policy).

use crate::engine::queue::Queue;
use crate::engine::state::RecordChange;
use crate::engine::{EngineError, EngineResult};
use crate::store::{records, WriteBatch};

use super::Local;
use super::LocalQueue;

impl Local {
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
