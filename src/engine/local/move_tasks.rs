//! Message move tasks on the local backend: their records in memory, journalled under
//! `t` + task id ([`keys::move_task`]), and their moves. One process runs every task: there
//! are no leases, and the tasks left RUNNING resume at the next start.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::engine::move_tasks::{
    decode_task_handle, MoveStep, MoveTaskInfo, MoveTaskStatus, NextMove, TaskEnd, TaskMove,
};
use crate::engine::queue::{MessageRecord, Queue};
use crate::engine::redrive::MoveKind;
use crate::engine::state::{EndOutcome, MoveTaskRecords, StateFuture};
use crate::engine::EngineResult;
use crate::store::{keys, records, StoreError, WriteBatch};

use super::redrive::Move;
use super::Local;
use super::LocalQueue;

/// The task records, oldest started first. Its lock may be taken under a queue's lock (a
/// move writes its progress in its own store batch), never a queue's lock under it.
#[derive(Default)]
pub(crate) struct MoveTasks {
    tasks: Mutex<Vec<MoveTaskInfo>>,
}

impl MoveTasks {
    fn lock(&self) -> MutexGuard<'_, Vec<MoveTaskInfo>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The task id `handle` names, if it names a task of its source.
fn find<'t>(tasks: &'t mut [MoveTaskInfo], handle: &str) -> Option<&'t mut MoveTaskInfo> {
    let (task_id, source_arn) = decode_task_handle(handle)?;
    tasks
        .iter_mut()
        .find(|t| t.task_id == task_id && t.source_arn == source_arn)
}

impl Local {
    /// Recovery: reads every stored task.
    pub(crate) fn recover_tasks(&self) -> Result<(), StoreError> {
        let mut tasks = Vec::new();
        for (_, v) in self.journal.store().scan_prefix(&[keys::MOVE_TASK])? {
            tasks.push(records::decode::<MoveTaskInfo>(&v)?);
        }
        tasks.sort_by_key(|t| t.started_at);
        *self.move_tasks.lock() = tasks;
        Ok(())
    }

    /// Writes a task's record; returns the ticket to wait on for durability.
    fn save_task(&self, task: &MoveTaskInfo) -> EngineResult<Option<u64>> {
        let mut wb = WriteBatch::new();
        wb.put(keys::move_task(&task.task_id), records::encode(task));
        self.journal.apply(wb)
    }

    /// Written under the table's lock, and kept only once written.
    async fn insert_task(&self, task: &MoveTaskInfo) -> EngineResult<bool> {
        let ticket = {
            let mut tasks = self.move_tasks.lock();
            if tasks
                .iter()
                .any(|t| t.source_arn == task.source_arn && t.status == MoveTaskStatus::Running)
            {
                return Ok(false);
            }
            let ticket = self.save_task(task)?;
            tasks.push(task.clone());
            ticket
        };
        self.journal.durable(ticket).await?;
        Ok(true)
    }

    /// The record is written under the table's lock (as a move's progress is), and memory
    /// changed only once that succeeded.
    async fn end_task(&self, handle: &str, end: TaskEnd) -> EngineResult<EndOutcome> {
        let (ended, ticket) = {
            let mut tasks = self.move_tasks.lock();
            let Some(task) = find(&mut tasks, handle) else {
                return Ok(EndOutcome::Missing);
            };
            if task.status != MoveTaskStatus::Running {
                return Ok(EndOutcome::NotRunning(task.clone()));
            }
            let mut changed = task.clone();
            end.apply(&mut changed);
            let ticket = self.save_task(&changed)?;
            *task = changed.clone();
            (changed, ticket)
        };
        self.journal.durable(ticket).await?;
        Ok(EndOutcome::Ended(ended))
    }

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
    /// message is still there and visible and the task still running (checked, and its
    /// progress kept once written, under the task table's lock); the destination's memory is
    /// updated after the source's lock is released.
    pub(super) async fn move_for_task(&self, m: TaskMove<'_>) -> EngineResult<MoveStep> {
        let TaskMove {
            source,
            seq,
            record,
            dest,
            now,
            task,
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
            let mut tasks = self.move_tasks.lock();
            let Some(current) = tasks
                .iter_mut()
                .find(|t| t.task_id == task.task_id)
                .filter(|t| t.status == MoveTaskStatus::Running)
            else {
                return Ok(MoveStep::TaskStopped);
            };
            let mut progressed = current.clone();
            progressed.moved += 1;
            let mut wb = WriteBatch::new();
            wb.put(
                keys::move_task(&progressed.task_id),
                records::encode(&progressed),
            );
            let moved = self.move_message(&mv, &meta, record, &mut wb);
            self.journal.apply(wb)?;
            *current = progressed;
            drop(tasks);
            st.remove(seq);
            moved
        };
        moved.land(self, dest, now);
        Ok(MoveStep::Moved)
    }
}

impl MoveTaskRecords for Local {
    fn insert_task<'a>(&'a self, task: &'a MoveTaskInfo, _now: u64) -> StateFuture<'a, bool> {
        Box::pin(self.insert_task(task))
    }

    fn task<'a>(&'a self, handle: &'a str) -> StateFuture<'a, Option<MoveTaskInfo>> {
        let task = find(&mut self.move_tasks.lock(), handle).map(|t| t.clone());
        Box::pin(std::future::ready(Ok(task)))
    }

    fn list_tasks<'a>(
        &'a self,
        source_arn: &'a str,
        max: usize,
    ) -> StateFuture<'a, Vec<MoveTaskInfo>> {
        let tasks = self
            .move_tasks
            .lock()
            .iter()
            .rev()
            .filter(|t| t.source_arn == source_arn)
            .take(max)
            .cloned()
            .collect();
        Box::pin(std::future::ready(Ok(tasks)))
    }

    fn end_task<'a>(&'a self, handle: &'a str, end: TaskEnd) -> StateFuture<'a, EndOutcome> {
        Box::pin(self.end_task(handle, end))
    }

    fn take_over_tasks(&self, _now: u64) -> StateFuture<'_, Vec<MoveTaskInfo>> {
        let running = self
            .move_tasks
            .lock()
            .iter()
            .filter(|t| t.status == MoveTaskStatus::Running)
            .cloned()
            .collect();
        Box::pin(std::future::ready(Ok(running)))
    }

    fn renew_task_lease<'a>(&'a self, handle: &'a str, _now: u64) -> StateFuture<'a, bool> {
        let running = find(&mut self.move_tasks.lock(), handle)
            .is_some_and(|t| t.status == MoveTaskStatus::Running);
        Box::pin(std::future::ready(Ok(running)))
    }

    fn task_lease_ms(&self) -> Option<u64> {
        None
    }

    fn release_task_leases(&self) -> StateFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}
