//! Retention: the janitor's periodic pass, and [`Engine::expire`], which removes one queue's
//! messages past their retention period, expired deduplication entries and receive attempts.

use std::sync::Arc;
use std::time::Duration;

use super::queue::{Queue, QueueState};
use super::{Engine, EngineResult};
use crate::store::{keys, WriteBatch};

/// Runs [`Engine::expire`] over every queue every 500 ms until shutdown.
pub(super) fn spawn_janitor(engine: &Arc<Engine>) {
    let mut shutdown = engine.shutdown_signal();
    let engine = Arc::downgrade(engine);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let Some(engine) = engine.upgrade() else {
                return;
            };
            engine.janitor_pass().await;
        }
    });
}

impl Engine {
    async fn janitor_pass(&self) {
        let queues: Vec<Arc<Queue>> = self
            .queues
            .read()
            .expect("registry")
            .values()
            .cloned()
            .collect();
        for q in queues {
            if let Err(e) = self.expire(&q).await {
                tracing::warn!(queue = %q.name, error = %e, "janitor pass failed");
            }
        }
    }

    /// Removes messages past their retention, expired dedup entries and receive attempts.
    pub(crate) async fn expire(&self, q: &Arc<Queue>) -> EngineResult<()> {
        let now = self.now();
        {
            let mut st = q.lock();
            let mut batch = WriteBatch::new();
            let expired = expire_messages(q.id, &st, now, &mut batch);
            let dedup_expired = st.expired_dedup(now);
            for (_, key) in &dedup_expired {
                batch.delete(keys::dedup(q.id, key));
            }
            if batch.is_empty() {
                st.forget_expired_attempts(now);
                return Ok(());
            }
            // Expiry is nobody's acknowledged write: sled's periodic flush makes it durable.
            self.apply(batch)?;
            for seq in expired {
                st.remove(seq);
            }
            st.forget_dedup(dedup_expired);
            st.forget_expired_attempts(now);
        }
        Ok(())
    }
}

/// Adds the removal of `st`'s messages past their retention period to `wb`; returns their
/// seqs, to remove from memory once `wb` is written.
pub(super) fn expire_messages(
    queue_id: u64,
    st: &QueueState,
    now: u64,
    wb: &mut WriteBatch,
) -> Vec<u64> {
    let expired = st.expired(now);
    for &seq in &expired {
        wb.delete(keys::message(queue_id, seq));
        wb.delete(keys::message_state(queue_id, seq));
    }
    expired
}
