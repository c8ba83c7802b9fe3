//! PurgeQueue: the backend empties the queue
//! ([`MessageState::purge`](super::state::MessageState::purge)), at most once per cooldown.

use std::sync::Arc;

use super::queue::Queue;
use super::{Engine, EngineError, EngineResult};

impl Engine {
    pub async fn purge(&self, q: &Arc<Queue>) -> EngineResult<()> {
        let cooldown_ms = self.settings.purge_cooldown_ms;
        if self.state.purge(q, self.now(), cooldown_ms).await? {
            Ok(())
        } else {
            Err(EngineError::PurgeInProgress {
                queue: q.name.clone(),
            })
        }
    }
}
