//! Retention: [`Engine::expire`], the backend's removal of one queue's messages past their
//! retention period ([`MessageState::expire`](super::state::MessageState::expire)). A backend
//! runs it on its own as messages reach their retention; the engine also asks for it when a
//! queue's retention period changes.

use std::sync::Arc;

use super::queue::Queue;
use super::{Engine, EngineResult};

impl Engine {
    /// Removes messages past their retention, expired dedup entries and receive attempts.
    pub(crate) async fn expire(&self, q: &Arc<Queue>) -> EngineResult<()> {
        self.state.expire(q, self.now()).await
    }
}
