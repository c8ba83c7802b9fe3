//! A message moving between queues on the local backend: one store batch written under
//! the source's lock; the destination's memory updated after that lock is released (the
//! engine's lock rule).

use super::journal;
use std::sync::Arc;

use super::queue_state::QueueState;
use crate::engine::queue::{MessageMeta, MessageRecord, Queue};
use crate::engine::redrive::MoveKind;
use crate::store::{keys, records, WriteBatch};

use super::Local;
use super::LocalQueue;

/// One message's move: message `seq` of `source` to `dest`, at `now`.
pub(crate) struct Move<'a> {
    pub(crate) source: &'a Queue,
    pub(crate) seq: u64,
    pub(crate) dest: &'a Queue,
    pub(crate) kind: MoveKind,
    pub(crate) now: u64,
}

/// A message written to another queue under its source's lock, to add to that queue's
/// memory once the lock is released.
pub(crate) struct Moved {
    /// Its seq in the queue it left.
    pub(crate) from: u64,
    /// Its seq in its destination.
    seq: u64,
    meta: MessageMeta,
}

impl Moved {
    /// Adds the message to `dest`'s memory (the store has it already).
    pub(crate) fn land(self, local: &Local, dest: &Arc<Queue>, now: u64) {
        land(local, dest, std::iter::once(self), now);
    }
}

/// Messages moved to one queue by one receive.
pub(crate) struct Arrivals {
    dest: Arc<Queue>,
    pub(crate) moved: Vec<Moved>,
}

impl Arrivals {
    /// Adds the messages to their destination's memory (the store has them already).
    pub(crate) fn land(self, local: &Local, now: u64) {
        land(local, &self.dest, self.moved, now);
    }
}

/// Inserts moved messages in their destination's memory; they keep their `sent_at` (a
/// dead-letter move), which may bring its janitor deadline forward.
fn land(local: &Local, dest: &Arc<Queue>, moved: impl IntoIterator<Item = Moved>, now: u64) {
    let mut st = dest.lock();
    if !st.is_deleted() {
        for m in moved {
            st.insert(m.seq, m.meta, now);
        }
    }
    let janitor_at = st.janitor_due();
    drop(st);
    local.schedule_janitor(dest, janitor_at);
    dest.notify.notify_waiters();
}

impl Local {
    /// Writes one message's move into `wb`, under the source's lock: the message (`from` its
    /// metadata, `record` as stored) and its state leave the source, and arrive in the
    /// destination under a new seq, rewritten as `m.kind` says. The caller removes it from
    /// the source's memory once `wb` is written, and lands it after the lock is released.
    pub(crate) fn move_message(
        &self,
        m: &Move<'_>,
        from: &MessageMeta,
        record: MessageRecord,
        wb: &mut WriteBatch,
    ) -> Moved {
        let (record, meta) = m.kind.rewrite(m.source, m.dest, from, record, m.now);
        let seq = self.next_seq();
        journal::delete_message(wb, m.source.id, m.seq);
        journal::put_message(wb, m.dest.id, seq, &record);
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
            moved.push(self.move_message(&m, &from, record, wb));
        }
        Some(Arrivals {
            dest: dlq.clone(),
            moved,
        })
    }
}
