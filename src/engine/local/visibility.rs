//! ChangeMessageVisibility(Batch) on the local backend.

use crate::engine::queue::{MessageStateRecord, Queue};
use crate::engine::receipt::ReceiptHandle;
use crate::engine::visibility::visibility_change;
use crate::engine::EngineResult;
use crate::store::{keys, records, WriteBatch};

use super::Local;
use super::LocalQueue;

impl Local {
    /// One store batch, one durability wait.
    pub(super) async fn change_visibility(
        &self,
        q: &Queue,
        entries: &[(&str, i64)],
        now: u64,
    ) -> EngineResult<Vec<EngineResult<()>>> {
        let mut results = Vec::with_capacity(entries.len());
        let ticket = {
            let mut st = q.lock();
            let mut wb = WriteBatch::new();
            let mut changed: Vec<(u64, MessageStateRecord)> = Vec::new();
            for &(handle, timeout) in entries {
                let result = ReceiptHandle::for_queue(handle, q.id).and_then(|h| {
                    let meta = st.message(h.seq);
                    let state = visibility_change(q.fifo, meta.as_ref(), h, handle, timeout, now)?;
                    wb.put(keys::message_state(q.id, h.seq), records::encode(&state));
                    changed.push((h.seq, state));
                    Ok(())
                });
                results.push(result);
            }
            let ticket = self.journal.apply(wb)?;
            for (seq, state) in changed {
                st.update_state(seq, state, now);
            }
            ticket
        };
        self.journal.durable(ticket).await?;
        Ok(results)
    }
}
