//! Redrive: messages moving between queues (to a dead-letter queue at receive time).

use std::sync::Arc;

use super::queue::{MessageMeta, Queue};
use super::Engine;

impl Engine {
    /// Puts moved messages into their dead-letter queues' memory (the store has them already).
    pub(super) fn finish_moves(&self, moves: Vec<DeadLetterMove>) {
        let now = self.now();
        for m in moves {
            let mut st = m.dlq.lock();
            if !st.is_deleted() {
                st.insert(m.seq, m.meta, now);
            }
            drop(st);
            m.dlq.notify.notify_waiters();
        }
    }
}

/// A queue's RedrivePolicy (target ARN, maxReceiveCount) and its dead-letter queue, resolved
/// before the queue's lock is taken. No `dlq` when the policy names the queue itself or a
/// queue that does not exist (any more): messages then stay where they are.
pub(super) struct RedriveTarget {
    pub(super) policy: Option<(String, u32)>,
    pub(super) dlq: Option<Arc<Queue>>,
}

/// A message leaving its queue for a dead-letter queue, applied after the source unlocks.
pub(super) struct DeadLetterMove {
    pub(super) dlq: Arc<Queue>,
    pub(super) seq: u64,
    pub(super) meta: MessageMeta,
}
