//! ChangeMessageVisibility and ChangeMessageVisibilityBatch.

use std::sync::Arc;

use super::delete::single;
use super::queue::{MessageMeta, MessageStateRecord, Queue};
use super::receipt::ReceiptHandle;
use super::{Engine, EngineError, EngineResult, Param};

impl Engine {
    pub async fn change_visibility(
        &self,
        q: &Arc<Queue>,
        handle: &str,
        timeout: i64,
    ) -> EngineResult<()> {
        single(self.change_visibilities(q, &[(handle, timeout)]).await?)
    }

    /// ChangeMessageVisibility for each (handle, timeout); one result per entry. A message
    /// made visible at once may be received: long polls are woken.
    pub async fn change_visibilities(
        &self,
        q: &Arc<Queue>,
        entries: &[(&str, i64)],
    ) -> EngineResult<Vec<EngineResult<()>>> {
        let results = self.state.change_visibility(q, entries, self.now()).await?;
        let wake = entries
            .iter()
            .zip(&results)
            .any(|(&(_, timeout), r)| timeout == 0 && r.is_ok());
        if wake {
            q.notify.notify_waiters();
        }
        Ok(results)
    }
}

const MAX_VISIBILITY_MS: u64 = 43_200 * 1000;

/// The new state of message `meta` (`None`: gone) whose visibility timeout changes to
/// `timeout` seconds, or why the change is refused
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html>). A rule on a message's
/// state that every backend applies.
pub(super) fn visibility_change(
    fifo: bool,
    meta: Option<&MessageMeta>,
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
    let meta = meta.ok_or_else(unavailable)?;
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
