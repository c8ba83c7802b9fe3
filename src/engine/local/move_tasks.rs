//! A message move task's moves on the local backend.

use crate::engine::move_tasks::{MoveStep, NextMove, TaskMove};
use crate::engine::queue::{MessageRecord, Queue};
use crate::engine::redrive::MoveKind;
use crate::engine::EngineResult;
use crate::store::{keys, records, WriteBatch};

use super::redrive::Move;
use super::Local;
use super::LocalQueue;

impl Local {
    /// The oldest visible message of `source` and its record, read under its lock. A
    /// message whose record is gone is dropped from memory.
    pub(super) async fn next_to_move(&self, source: &Queue, now: u64) -> EngineResult<NextMove> {
        let mut st = source.lock();
        let Some(seq) = st.visible(now).next() else {
            return Ok(NextMove::Nothing);
        };
        let Some(bytes) = self.journal.store().get(&keys::message(source.id, seq))? else {
            st.remove(seq);
            return Ok(NextMove::Vanished);
        };
        let record: MessageRecord = records::decode(&bytes)?;
        Ok(NextMove::Message(seq, Box::new(record)))
    }

    /// Writes one move under the source's lock: the message leaves `source` for `dest`
    /// ([`Local::move_message`]) and the task's progress goes up, in one store batch, if the
    /// message is still there and visible and the task still running; the destination's
    /// memory is updated after the source's lock is released.
    pub(super) async fn move_for_task(&self, m: TaskMove<'_>) -> EngineResult<MoveStep> {
        let TaskMove {
            source,
            seq,
            record,
            dest,
            now,
            progress,
        } = m;
        let moved = {
            let mut st = source.lock();
            let visible_now = self.clock.now_ms();
            let Some(meta) = st
                .message(seq)
                .filter(|m| m.state.visible_at <= visible_now)
            else {
                return Ok(MoveStep::MessageGone);
            };
            let mv = Move {
                source,
                seq,
                dest,
                kind: MoveKind::MoveTask,
                now,
            };
            let mut moved = None;
            let written = progress.advance(|task| {
                let mut wb = WriteBatch::new();
                wb.put(keys::move_task(&task.task_id), records::encode(task));
                let m = self.move_message(&mv, &meta, record, &mut wb);
                self.journal.apply(wb)?;
                moved = Some(m);
                Ok(())
            })?;
            let Some(moved) = moved.filter(|_| written) else {
                return Ok(MoveStep::TaskStopped);
            };
            st.remove(seq);
            moved
        };
        moved.land(self, dest, now);
        Ok(MoveStep::Moved)
    }
}
