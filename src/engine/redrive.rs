//! Redrive: a message moving from one queue to another, at receive time to its queue's
//! dead-letter queue, or by a message move task out of a dead-letter queue. What the moved
//! message becomes ([`MoveKind::rewrite`]) is decided here; the move itself, atomic, is the
//! backend's.

use std::sync::Arc;

use super::attributes::QueueAttributes;
use super::queue::{MessageMeta, MessageRecord, MessageStateRecord, Queue};
use super::Engine;

/// A queue's RedrivePolicy (target ARN, maxReceiveCount) and its dead-letter queue, resolved
/// before the queue's lock is taken. No `dlq` when the policy names the queue itself or a
/// queue that does not exist (any more): messages then stay where they are.
pub(crate) struct RedriveTarget {
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
    pub(crate) fn matches(&self, attributes: &QueueAttributes) -> bool {
        let current = attributes
            .redrive_policy
            .as_ref()
            .map(|p| (p.dead_letter_target_arn.as_str(), p.max_receive_count));
        current == self.policy.as_ref().map(|(arn, n)| (arn.as_str(), *n))
    }

    /// The dead-letter queue and maxReceiveCount, when messages move.
    pub(crate) fn active(&self) -> Option<(&Arc<Queue>, u32)> {
        self.dlq.as_ref().zip(self.policy.as_ref().map(|(_, n)| *n))
    }
}

/// What a moved message becomes in its destination.
#[derive(Clone, Copy)]
pub(super) enum MoveKind {
    /// Received maxReceiveCount times, to its queue's dead-letter queue: the same message
    /// (MessageId, send time, receive count), marked with the ARN of the queue it left; into
    /// a FIFO queue with its MessageId as deduplication id.
    DeadLetter,
    /// By a move task: a new message (new MessageId, send time and retention) with the same
    /// body and attributes (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html>); into a FIFO queue with
    /// its old MessageId as deduplication id.
    MoveTask,
}

impl MoveKind {
    /// The message (`from` its metadata, `record` as stored) as it arrives in `dest` from
    /// `source` at `now`: its record, and its metadata there.
    pub(crate) fn rewrite(
        self,
        source: &Queue,
        dest: &Queue,
        from: &MessageMeta,
        record: MessageRecord,
        now: u64,
    ) -> (MessageRecord, MessageMeta) {
        match self {
            MoveKind::DeadLetter => {
                let mut record = record;
                record.dlq_source_arn = Some(source.arn.clone());
                if dest.fifo {
                    record.dedup_id = Some(record.message_id.clone());
                }
                let state = MessageStateRecord {
                    visible_at: now,
                    received_at: 0,
                    ..from.state
                };
                let sent_at = record.sent_at;
                (
                    record,
                    MessageMeta {
                        state,
                        sent_at,
                        group: from.group.clone(),
                    },
                )
            }
            MoveKind::MoveTask => {
                let record = redriven(record, dest.fifo, now);
                let state = MessageStateRecord {
                    visible_at: now,
                    ..Default::default()
                };
                let group = record.group_id.as_deref().map(Into::into);
                (
                    record,
                    MessageMeta {
                        state,
                        sent_at: now,
                        group,
                    },
                )
            }
        }
    }
}

impl Engine {
    /// Resolves `q`'s dead-letter queue without holding `q`'s lock while the registry is read
    /// (the engine's lock rule).
    pub(super) fn redrive_target(&self, q: &Queue) -> RedriveTarget {
        let policy = self.record_of(q, |r| {
            r.attributes
                .redrive_policy
                .as_ref()
                .map(|p| (p.dead_letter_target_arn.clone(), p.max_receive_count))
        });
        let dlq = policy
            .as_ref()
            .and_then(|(arn, _)| self.queue_by_arn(arn))
            .filter(|dlq| dlq.id != q.id);
        RedriveTarget { policy, dlq }
    }
}

/// A message as a move task puts it in its destination (see [`MoveKind::MoveTask`]).
fn redriven(record: MessageRecord, fifo: bool, now: u64) -> MessageRecord {
    MessageRecord {
        message_id: uuid::Uuid::new_v4().to_string(),
        sent_at: now,
        first_visible_at: now,
        dlq_source_arn: None,
        dedup_id: fifo.then(|| record.message_id.clone()),
        group_id: if fifo {
            record.group_id.clone().or(Some("moved".into()))
        } else {
            record.group_id.clone()
        },
        ..record
    }
}
