//! DeleteMessage(Batch) on the local backend.

use super::journal;
use crate::engine::queue::Queue;
use crate::engine::receipt::ReceiptHandle;
use crate::engine::EngineResult;
use crate::store::WriteBatch;

use super::Local;
use super::LocalQueue;

impl Local {
    /// All deletions are one store batch and one durability wait.
    pub(super) async fn delete(
        &self,
        q: &Queue,
        handles: &[&str],
        now: u64,
    ) -> EngineResult<Vec<EngineResult<()>>> {
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
                    h.check_current(q.fifo, &meta, now, handle)?;
                    if !removed.contains(&h.seq) {
                        journal::delete_message(&mut wb, q.id, h.seq);
                        removed.push(h.seq);
                    }
                    Ok(())
                });
                results.push(result);
            }
            let ticket = self.journal.apply(wb)?;
            for seq in removed {
                st.remove(seq);
            }
            ticket
        };
        self.journal.durable(ticket).await?;
        Ok(results)
    }
}
