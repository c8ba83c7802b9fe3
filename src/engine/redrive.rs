//! Redrive: a message moving from one queue to another, at receive time to its queue's
//! dead-letter queue, or by a message move task out of a dead-letter queue. [`Engine::move_message`]
//! is the one place that writes such a move.

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

/// What a moved message becomes in its destination.
#[derive(Clone, Copy)]
pub(super) enum MoveKind {
    /// Received maxReceiveCount times, to its queue's dead-letter queue: the same message
    /// (MessageId, send time, receive count), marked with the ARN of the queue it left; into
    /// a FIFO queue with its MessageId as deduplication id.
    DeadLetter,
    /// By a move task: a new message (new MessageId, send time and retention) with the same
    /// body and attributes [Doc "configure dead-letter queue redrive"]; into a FIFO queue with
    /// its old MessageId as deduplication id.
    MoveTask,
}

/// One message's move: message `seq` of `source` to `dest`, at `now`.
pub(super) struct Move<'a> {
    pub(super) source: &'a Queue,
    pub(super) seq: u64,
    pub(super) dest: &'a Queue,
    pub(super) kind: MoveKind,
    pub(super) now: u64,
}

/// A message written to another queue under its source's lock, to add to that queue's
/// memory once the lock is released.
pub(super) struct Moved {
    /// Its seq in the queue it left.
    pub(super) from: u64,
    /// Its seq in its destination.
    seq: u64,
    meta: MessageMeta,
}

impl Moved {
    /// Adds the message to `dest`'s memory (the store has it already).
    pub(super) fn land(self, engine: &Engine, dest: &Arc<Queue>, now: u64) {
        land(engine, dest, std::iter::once(self), now);
    }
}

/// Messages moved to one queue by one receive.
pub(super) struct Arrivals {
    dest: Arc<Queue>,
    pub(super) moved: Vec<Moved>,
}

impl Arrivals {
    /// Adds the messages to their destination's memory (the store has them already).
    pub(super) fn land(self, engine: &Engine, now: u64) {
        land(engine, &self.dest, self.moved, now);
    }
}

/// Inserts moved messages in their destination's memory; they keep their `sent_at` (a
/// dead-letter move), which may bring its janitor deadline forward.
fn land(engine: &Engine, dest: &Arc<Queue>, moved: impl IntoIterator<Item = Moved>, now: u64) {
    let mut st = dest.lock();
    if !st.is_deleted() {
        for m in moved {
            st.insert(m.seq, m.meta, now);
        }
    }
    let janitor_at = st.janitor_due();
    drop(st);
    engine.local.schedule_janitor(dest, janitor_at);
    dest.notify.notify_waiters();
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

    /// Writes one message's move into `wb`, under the source's lock: the message (`from` its
    /// metadata, `record` as stored) and its state leave the source, and arrive in the
    /// destination under a new seq, rewritten as `m.kind` says. The caller removes it from
    /// the source's memory once `wb` is written, and lands it after the lock is released.
    pub(super) fn move_message(
        &self,
        m: &Move<'_>,
        from: &MessageMeta,
        record: MessageRecord,
        wb: &mut WriteBatch,
    ) -> Moved {
        let (record, meta) = match m.kind {
            MoveKind::DeadLetter => {
                let mut record = record;
                record.dlq_source_arn = Some(m.source.arn.clone());
                if m.dest.fifo {
                    record.dedup_id = Some(record.message_id.clone());
                }
                let state = MessageStateRecord {
                    visible_at: m.now,
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
                let record = redriven(record, m.dest.fifo, m.now);
                let state = MessageStateRecord {
                    visible_at: m.now,
                    ..Default::default()
                };
                let group = record.group_id.as_deref().map(Into::into);
                (
                    record,
                    MessageMeta {
                        state,
                        sent_at: m.now,
                        group,
                    },
                )
            }
        };
        let seq = self.next_seq();
        wb.delete(keys::message(m.source.id, m.seq));
        wb.delete(keys::message_state(m.source.id, m.seq));
        wb.put(keys::message(m.dest.id, seq), records::encode(&record));
        wb.put(
            keys::message_state(m.dest.id, seq),
            records::encode(&meta.state),
        );
        Moved {
            from: m.seq,
            seq,
            meta,
        }
    }

    /// The redrive step of a receive: adds to `wb` the moves of `due` (messages of `q`
    /// received maxReceiveCount times, with their records) to `dlq`. `None` if none is due.
    pub(super) fn dead_letter_moves(
        &self,
        q: &Queue,
        st: &QueueState,
        dlq: &Arc<Queue>,
        due: Vec<(u64, MessageRecord)>,
        now: u64,
        wb: &mut WriteBatch,
    ) -> Option<Arrivals> {
        if due.is_empty() {
            return None;
        }
        let mut moved = Vec::with_capacity(due.len());
        for (seq, record) in due {
            let from = st
                .message(seq)
                .expect("a message due for its dead-letter queue");
            let m = Move {
                source: q,
                seq,
                dest: dlq,
                kind: MoveKind::DeadLetter,
                now,
            };
            moved.push(self.move_message(&m, from, record, wb));
        }
        Some(Arrivals {
            dest: dlq.clone(),
            moved,
        })
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
