//! Redrive: messages moving between queues (to a dead-letter queue at receive time).

use std::sync::Arc;

use super::attributes::QueueAttributes;
use super::queue::{MessageMeta, MessageRecord, MessageStateRecord, Queue, QueueState};
use super::Engine;
use crate::store::{keys, records, WriteBatch};

/// A queue's RedrivePolicy (target ARN, maxReceiveCount) and its dead-letter queue, resolved
/// before the queue's lock is taken. No `dlq` when the policy names the queue itself or a
/// queue that does not exist (any more): messages then stay where they are.
pub(super) struct RedriveTarget {
    policy: Option<(String, u32)>,
    dlq: Option<Arc<Queue>>,
}

impl RedriveTarget {
    /// Not resolved yet: matches only a queue without a RedrivePolicy.
    pub(super) fn unresolved() -> Self {
        RedriveTarget {
            policy: None,
            dlq: None,
        }
    }

    /// Whether this was resolved from the RedrivePolicy `attributes` hold now.
    pub(super) fn matches(&self, attributes: &QueueAttributes) -> bool {
        let current = attributes
            .redrive_policy
            .as_ref()
            .map(|p| (p.dead_letter_target_arn.as_str(), p.max_receive_count));
        current == self.policy.as_ref().map(|(arn, n)| (arn.as_str(), *n))
    }

    /// The dead-letter queue and maxReceiveCount, when messages move.
    pub(super) fn active(&self) -> Option<(&Arc<Queue>, u32)> {
        self.dlq.as_ref().zip(self.policy.as_ref().map(|(_, n)| *n))
    }
}

/// A message leaving its queue for a dead-letter queue, applied after the source unlocks.
pub(super) struct DeadLetterMove {
    dlq: Arc<Queue>,
    /// Its seq in the queue it leaves.
    pub(super) from: u64,
    /// Its seq in the dead-letter queue.
    seq: u64,
    meta: MessageMeta,
}

impl Engine {
    /// Resolves `q`'s dead-letter queue without holding `q`'s lock while the registry is read
    /// (the engine's lock rule).
    pub(super) fn redrive_target(&self, q: &Queue) -> RedriveTarget {
        let policy = q
            .lock()
            .attributes()
            .redrive_policy
            .as_ref()
            .map(|p| (p.dead_letter_target_arn.clone(), p.max_receive_count));
        let dlq = policy
            .as_ref()
            .and_then(|(arn, _)| self.queue_by_arn(arn))
            .filter(|dlq| dlq.id != q.id);
        RedriveTarget { policy, dlq }
    }

    /// Adds to `wb` the moves of `due` (messages of `q` received maxReceiveCount times) to
    /// `dlq`, under `q`'s lock; the moves, to finish once the batch is written and the lock
    /// released.
    pub(super) fn dead_letter_moves(
        &self,
        q: &Queue,
        st: &QueueState,
        dlq: &Arc<Queue>,
        due: Vec<(u64, MessageRecord)>,
        now: u64,
        wb: &mut WriteBatch,
    ) -> Vec<DeadLetterMove> {
        let mut moves = Vec::new();
        for (seq, mut record) in due {
            record.dlq_source_arn = Some(q.arn.clone());
            if dlq.fifo {
                record.dedup_id = Some(record.message_id.clone());
            }
            let meta = st
                .message(seq)
                .expect("a message due for its dead-letter queue");
            let new_seq = self.next_seq();
            let state = MessageStateRecord {
                visible_at: now,
                received_at: 0,
                ..meta.state
            };
            wb.delete(keys::message(q.id, seq));
            wb.delete(keys::message_state(q.id, seq));
            wb.put(keys::message(dlq.id, new_seq), records::encode(&record));
            wb.put(
                keys::message_state(dlq.id, new_seq),
                records::encode(&state),
            );
            moves.push(DeadLetterMove {
                dlq: dlq.clone(),
                from: seq,
                seq: new_seq,
                meta: MessageMeta {
                    state,
                    sent_at: record.sent_at,
                    group: meta.group.clone(),
                },
            });
        }
        moves
    }

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
