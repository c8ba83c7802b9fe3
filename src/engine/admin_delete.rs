//! Deleting a message by its id, for operators (the console's delete): no receipt handle is
//! needed, whatever the message's state. The backend removes it durably, as DeleteMessage does
//! ([`MessageState::delete_by_id`](super::state::MessageState::delete_by_id)).

use std::sync::Arc;

use super::queue::Queue;
use super::{Engine, EngineResult};

impl Engine {
    /// Deletes `q`'s message whose MessageId is `message_id`; `false` when it has none.
    pub async fn delete_message_by_id(
        &self,
        q: &Arc<Queue>,
        message_id: &str,
    ) -> EngineResult<bool> {
        let deleted = self.state.delete_by_id(q, message_id).await?;
        if deleted && q.fifo {
            // The group's next message may have become receivable.
            q.notify.notify_waiters();
        }
        Ok(deleted)
    }
}
