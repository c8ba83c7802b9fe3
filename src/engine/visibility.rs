//! ChangeMessageVisibility and ChangeMessageVisibilityBatch.

use std::sync::Arc;

use super::delete::single;
use super::queue::{MessageStateRecord, Queue, QueueState};
use super::receipt::ReceiptHandle;
use super::{Engine, EngineError, EngineResult, Param};
use crate::store::{keys, records, WriteBatch};

impl Engine {
    pub async fn change_visibility(
        &self,
        q: &Arc<Queue>,
        handle: &str,
        timeout: i64,
    ) -> EngineResult<()> {
        single(self.change_visibilities(q, &[(handle, timeout)]).await?)
    }

    /// ChangeMessageVisibility for each (handle, timeout); one result per entry, one store
    /// batch, one durability wait.
    pub async fn change_visibilities(
        &self,
        q: &Arc<Queue>,
        entries: &[(&str, i64)],
    ) -> EngineResult<Vec<EngineResult<()>>> {
        let now = self.now();
        let mut results = Vec::with_capacity(entries.len());
        let mut wake = false;
        let ticket = {
            let mut st = q.lock();
            let mut wb = WriteBatch::new();
            let mut changed: Vec<(u64, MessageStateRecord)> = Vec::new();
            for &(handle, timeout) in entries {
                let result = ReceiptHandle::for_queue(handle, q.id).and_then(|h| {
                    let state = visibility_change(q.fifo, &st, h, handle, timeout, now)?;
                    wb.put(keys::message_state(q.id, h.seq), records::encode(&state));
                    changed.push((h.seq, state));
                    wake |= timeout == 0;
                    Ok(())
                });
                results.push(result);
            }
            let ticket = self.apply(wb)?;
            for (seq, state) in changed {
                st.update_state(seq, state, now);
            }
            ticket
        };
        self.durable(ticket).await?;
        if wake {
            q.notify.notify_waiters();
        }
        Ok(results)
    }
}

const MAX_VISIBILITY_MS: u64 = 43_200 * 1000;

/// The new state of a message whose visibility timeout changes to `timeout` seconds, or why
/// the change is refused (SQS-REFERENCE §6).
fn visibility_change(
    fifo: bool,
    st: &QueueState,
    h: ReceiptHandle,
    handle: &str,
    timeout: i64,
    now: u64,
) -> EngineResult<MessageStateRecord> {
    if !(0..=43_200).contains(&timeout) {
        return Err(EngineError::invalid(
            Param::VisibilityTimeout,
            timeout,
            "Must be >= 0 and <= 43200, if provided.",
        ));
    }
    let unavailable = || EngineError::MessageNotAvailable {
        handle: handle.to_string(),
    };
    let meta = st.message(h.seq).ok_or_else(unavailable)?;
    h.check_current(fifo, meta, now, handle)?;
    if meta.state.receive_count == 0 {
        return Err(unavailable());
    }
    let visible_at = now + timeout as u64 * 1000;
    if visible_at > meta.state.received_at + MAX_VISIBILITY_MS {
        return Err(EngineError::invalid(
            Param::VisibilityTimeout,
            timeout,
            "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]",
        ));
    }
    Ok(MessageStateRecord {
        visible_at,
        ..meta.state
    })
}
