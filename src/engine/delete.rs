//! DeleteMessage and DeleteMessageBatch.

use std::sync::Arc;

use super::queue::Queue;
use super::receipt::ReceiptHandle;
use super::{Engine, EngineResult};
use crate::store::{keys, WriteBatch};

impl Engine {
    pub async fn delete_message(&self, q: &Arc<Queue>, handle: &str) -> EngineResult<()> {
        single(self.delete_messages(q, &[handle]).await?)
    }

    /// Deletes by receipt handle; one result per handle. All deletions are one store batch
    /// and one durability wait.
    pub async fn delete_messages(
        &self,
        q: &Arc<Queue>,
        handles: &[&str],
    ) -> EngineResult<Vec<EngineResult<()>>> {
        let now = self.now();
        let mut results = Vec::with_capacity(handles.len());
        let ticket = {
            let mut st = q.lock();
            let mut wb = WriteBatch::new();
            let mut removed: Vec<u64> = Vec::new();
            for handle in handles {
                let result = ReceiptHandle::for_queue(handle, q.id).and_then(|h| {
                    let Some(meta) = st.message(h.seq) else {
                        return Ok(());
                    };
                    h.check_current(q.fifo, meta, now, handle)?;
                    if !removed.contains(&h.seq) {
                        wb.delete(keys::message(q.id, h.seq));
                        wb.delete(keys::message_state(q.id, h.seq));
                        removed.push(h.seq);
                    }
                    Ok(())
                });
                results.push(result);
            }
            let ticket = self.apply(wb)?;
            for seq in removed {
                st.remove(seq);
            }
            ticket
        };
        self.durable(ticket).await?;
        if q.fifo {
            q.notify.notify_waiters();
        }
        Ok(results)
    }
}

/// The one result of a one-entry batch call.
pub(super) fn single(mut results: Vec<EngineResult<()>>) -> EngineResult<()> {
    results.pop().unwrap_or(Ok(()))
}
