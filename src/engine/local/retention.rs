//! Retention on the local backend: [`Local::expire`] removes one queue's messages past their
//! retention period, expired deduplication entries and receive attempts; the janitor runs it
//! at each queue's next deadline ([`QueueState::next_deadline`]). Nothing iterates every
//! queue on a timer: a change that brings a queue's deadline forward schedules it.

use super::journal;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::queue_state::QueueState;
use crate::engine::queue::Queue;
use crate::engine::EngineResult;
use crate::store::{keys, WriteBatch};

use super::Local;
use super::LocalQueue;

/// A queue as a janitor key, compared and hashed by its id.
#[derive(Clone)]
pub(crate) struct Due(pub(super) Arc<Queue>);

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.id.cmp(&other.0.id)
    }
}

impl Hash for Due {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.id.hash(h);
    }
}

/// How long after a failed expiry the janitor tries the queue again.
const EXPIRY_RETRY_MS: u64 = 1_000;

impl Local {
    /// Runs the janitor until shutdown: each due queue forgets its scheduled deadline and is
    /// expired, which schedules its next one.
    pub(super) fn spawn_janitor(self: Arc<Self>) {
        let shutdown = self.shutdown.clone();
        let (janitor, clock) = (self.janitor.clone(), self.clock.clone());
        let local = Arc::downgrade(&self);
        drop(self);
        tokio::spawn(async move {
            janitor
                .run(clock.as_ref(), shutdown, |Due(q)| {
                    let local = local.upgrade();
                    async move {
                        let Some(local) = local else { return };
                        q.lock().janitor_fired();
                        let now = local.clock.now_ms();
                        if let Err(e) = local.expire(&q, now).await {
                            // The store failure is logged (rate-limited) where it happened;
                            // the queue's expiry is tried again a little later.
                            tracing::debug!(queue = %q.name, error = %e, "expiry failed");
                            local.retry_expiry(&q, now + EXPIRY_RETRY_MS);
                        }
                    }
                })
                .await;
        });
    }

    /// Hands the janitor `q`'s deadline `at`, as [`QueueState::janitor_due`] returned it
    /// under the queue's lock (called after that lock is released).
    pub(super) fn schedule_janitor(&self, q: &Arc<Queue>, at: Option<u64>) {
        if let Some(at) = at {
            self.janitor.schedule(Due(q.clone()), at);
        }
    }

    /// Schedules `q`'s next deadline, if it is earlier than the one scheduled; for callers
    /// that do not hold the queue's lock already.
    pub(super) fn schedule_expiry(&self, q: &Arc<Queue>) {
        let at = q.lock().janitor_due();
        self.schedule_janitor(q, at);
    }

    /// Expiry failed (the store refused its write): `q` is due again at `at`, unless an
    /// earlier deadline is scheduled meanwhile.
    fn retry_expiry(&self, q: &Arc<Queue>, at: u64) {
        let at = q.lock().janitor_retry(at);
        self.schedule_janitor(q, at);
    }

    /// A deleted queue has no deadline any more.
    pub(super) fn forget_deadline(&self, q: &Arc<Queue>) {
        self.janitor.cancel(&Due(q.clone()));
    }

    /// Removes messages past their retention, expired dedup entries and receive attempts.
    pub(super) async fn expire(&self, q: &Arc<Queue>, now: u64) -> EngineResult<()> {
        let at = {
            let mut st = q.lock();
            let mut batch = WriteBatch::new();
            let expired = expire_messages(q.id, &st, now, &mut batch);
            let dedup_expired = st.expired_dedup(now);
            for (_, key) in &dedup_expired {
                batch.delete(keys::dedup(q.id, key));
            }
            if !batch.is_empty() {
                // Expiry is nobody's acknowledged write: sled's periodic flush makes it durable.
                self.journal.apply(batch)?;
                for seq in expired {
                    st.remove(seq);
                }
                st.forget_dedup(dedup_expired);
            }
            st.forget_expired_attempts(now);
            st.janitor_due()
        };
        self.schedule_janitor(q, at);
        Ok(())
    }
}

/// Adds the removal of `st`'s messages past their retention period to `wb`; returns their
/// seqs, to remove from memory once `wb` is written.
pub(crate) fn expire_messages(
    queue_id: u64,
    st: &QueueState,
    now: u64,
    wb: &mut WriteBatch,
) -> Vec<u64> {
    let expired = st.expired(now);
    for &seq in &expired {
        journal::delete_message(wb, queue_id, seq);
    }
    expired
}
