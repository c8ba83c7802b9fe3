//! DeleteMessage and DeleteMessageBatch: the deletion is the backend's
//! ([`MessageState::delete`](super::state::MessageState::delete)); a FIFO group's next
//! message may have become receivable, so long polls are woken.

use std::sync::Arc;

use super::queue::Queue;
use super::{Engine, EngineResult};

impl Engine {
    pub async fn delete_message(&self, q: &Arc<Queue>, handle: &str) -> EngineResult<()> {
        single(self.delete_messages(q, &[handle]).await?)
    }

    /// Deletes by receipt handle; one result per handle.
    pub async fn delete_messages(
        &self,
        q: &Arc<Queue>,
        handles: &[&str],
    ) -> EngineResult<Vec<EngineResult<()>>> {
        let results = self.state.delete(q, handles, self.now()).await?;
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
