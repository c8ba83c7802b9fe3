//! Message move tasks (StartMessageMoveTask and friends): move messages out of a dead-letter
//! queue, back to their original sources or to a chosen destination, at a bounded rate.
//!
//! Tasks are persisted; a task that was RUNNING when the server stopped resumes on the next
//! start with what it still had to move (nothing acknowledged is lost: each move is one atomic
//! store batch, so a crash leaves every message either in the source or in the destination).

pub use super::policy::decode_task_handle;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::queue::{MessageRecord, Queue};
use super::{Engine, EngineError, EngineResult, Param};
use crate::store::{keys, records, Store, StoreError, WriteBatch};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveTaskInfo {
    pub task_id: String,
    pub source_arn: String,
    pub destination_arn: Option<String>,
    pub max_per_second: Option<u32>,
    pub status: MoveTaskStatus,
    pub moved: u64,
    pub to_move: u64,
    pub failure_reason: Option<String>,
    pub started_at: u64,
}

/// A move task's state, stored and shown as AWS names it. (AWS also has `CANCELLING`; a
/// cancel here takes effect at once, so no task is ever in it.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MoveTaskStatus {
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl MoveTaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveTaskStatus::Running => "RUNNING",
            MoveTaskStatus::Completed => "COMPLETED",
            MoveTaskStatus::Cancelled => "CANCELLED",
            MoveTaskStatus::Failed => "FAILED",
        }
    }
}

impl MoveTaskInfo {
    pub fn handle(&self) -> String {
        super::policy::encode_task_handle(&self.task_id, &self.source_arn)
    }
}

#[derive(Default)]
pub(crate) struct MoveTasks {
    tasks: Mutex<Vec<MoveTaskInfo>>,
}

impl MoveTasks {
    pub(crate) fn recover(&self, store: &dyn Store) -> Result<(), StoreError> {
        let mut tasks = Vec::new();
        for (_, v) in store.scan_prefix(&[keys::MOVE_TASK])? {
            tasks.push(records::decode::<MoveTaskInfo>(&v)?);
        }
        tasks.sort_by_key(|t| t.started_at);
        *self.tasks.lock().expect("move tasks") = tasks;
        Ok(())
    }

    fn get(&self, task_id: &str) -> Option<MoveTaskInfo> {
        self.tasks
            .lock()
            .expect("move tasks")
            .iter()
            .find(|t| t.task_id == task_id)
            .cloned()
    }
}

/// Restarts every task left RUNNING.
pub(crate) fn resume(engine: &Arc<Engine>) {
    let running: Vec<String> = engine
        .move_tasks
        .tasks
        .lock()
        .expect("move tasks")
        .iter()
        .filter(|t| t.status == MoveTaskStatus::Running)
        .map(|t| t.task_id.clone())
        .collect();
    for id in running {
        tracing::info!(task = %id, "resuming message move task");
        spawn_runner(engine, id);
    }
}

impl Engine {
    /// Writes a task's record; returns the ticket to wait on for durability.
    fn save_task(&self, task: &MoveTaskInfo) -> EngineResult<Option<u64>> {
        let mut wb = WriteBatch::new();
        wb.put(keys::move_task(&task.task_id), records::encode(task));
        self.apply(wb)
    }

    /// Changes a task: its record is written under the task table's lock (as a move's
    /// progress is), and memory changed only once that succeeded. Returns the changed task and
    /// the ticket to wait on for durability.
    fn update_task<F: FnOnce(&mut MoveTaskInfo)>(
        &self,
        task_id: &str,
        change: F,
    ) -> EngineResult<(MoveTaskInfo, Option<u64>)> {
        let mut tasks = self.move_tasks.tasks.lock().expect("move tasks");
        let task = tasks
            .iter_mut()
            .find(|t| t.task_id == task_id)
            .ok_or(EngineError::ResourceNotFound(Param::TaskHandle))?;
        let mut changed = task.clone();
        change(&mut changed);
        let ticket = self.save_task(&changed)?;
        *task = changed.clone();
        Ok((changed, ticket))
    }

    pub async fn start_move_task(
        self: &Arc<Self>,
        source_arn: &str,
        destination_arn: Option<&str>,
        rate: Option<i64>,
    ) -> EngineResult<String> {
        let source = self
            .queue_by_arn(source_arn)
            .ok_or(EngineError::ResourceNotFound(Param::SourceArn))?;
        if self.dead_letter_sources(&source).is_empty() {
            return Err(EngineError::InvalidRequest(
                "Source queue must be configured as a Dead Letter Queue.".into(),
            ));
        }
        if let Some(d) = destination_arn {
            // Messages never leave their account and region: another's queue is not found.
            self.queue_by_arn(d)
                .filter(|d| d.region == source.region && d.account == source.account)
                .ok_or(EngineError::ResourceNotFound(Param::DestinationArn))?;
        }
        if let Some(r) = rate {
            if !(1..=500).contains(&r) {
                return Err(EngineError::invalid(
                    Param::MaxNumberOfMessagesPerSecond,
                    r,
                    "Must be between 1 and 500.",
                ));
            }
        }
        let to_move = self.state.counts(&source, self.now()).await?.visible as u64;
        let task = MoveTaskInfo {
            task_id: uuid::Uuid::new_v4().to_string(),
            source_arn: source_arn.to_string(),
            destination_arn: destination_arn.map(str::to_string),
            max_per_second: rate.map(|r| r as u32),
            status: MoveTaskStatus::Running,
            moved: 0,
            to_move,
            failure_reason: None,
            started_at: self.now(),
        };
        let ticket = {
            let mut tasks = self.move_tasks.tasks.lock().expect("move tasks");
            if tasks
                .iter()
                .any(|t| t.source_arn == source_arn && t.status == MoveTaskStatus::Running)
            {
                return Err(EngineError::InvalidRequest("There is already a task running. Only one active task is allowed for a source queue arn at a given time.".into()));
            }
            // Written under the table's lock, and kept only once written.
            let ticket = self.save_task(&task)?;
            tasks.push(task.clone());
            ticket
        };
        // Runs even if the flush fails: the task is in memory and in the store.
        spawn_runner(self, task.task_id.clone());
        self.local.journal().durable(ticket).await?;
        Ok(task.handle())
    }

    /// Answered once the cancel is durable, like every mutation.
    pub async fn cancel_move_task(&self, handle: &str) -> EngineResult<u64> {
        let (task_id, source_arn) =
            decode_task_handle(handle).ok_or(EngineError::MalformedParameter(Param::TaskHandle))?;
        let (task_id, source_arn) = (task_id.as_str(), source_arn.as_str());
        self.queue_by_arn(source_arn)
            .ok_or(EngineError::ResourceNotFound(Param::SourceArn))?;
        let task = self
            .move_tasks
            .get(task_id)
            .filter(|t| t.source_arn == source_arn)
            .ok_or(EngineError::MoveTaskNotFound)?;
        if task.status != MoveTaskStatus::Running {
            return Err(EngineError::InvalidRequest(
                format!(
                    "Only active tasks can be cancelled. Task status is {}.",
                    task.status.as_str()
                )
                .into(),
            ));
        }
        let (task, ticket) = self.update_task(task_id, |t| t.status = MoveTaskStatus::Cancelled)?;
        self.local.journal().durable(ticket).await?;
        Ok(task.moved)
    }

    pub fn list_move_tasks(
        &self,
        source_arn: &str,
        max_results: Option<i64>,
    ) -> EngineResult<Vec<MoveTaskInfo>> {
        let max = max_results.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(EngineError::invalid(
                Param::MaxResults,
                max,
                "Must be between 1 and 10, if provided.",
            ));
        }
        self.queue_by_arn(source_arn)
            .ok_or(EngineError::ResourceNotFound(Param::SourceArn))?;
        let tasks = self.move_tasks.tasks.lock().expect("move tasks");
        Ok(tasks
            .iter()
            .rev()
            .filter(|t| t.source_arn == source_arn)
            .take(max as usize)
            .cloned()
            .collect())
    }

    /// Moves one visible message out of `source_arn`. `Ok(false)` when none is left; `Ok(true)`
    /// when one moved, or there is nothing to do this round (a vanished record dropped, or the
    /// task no longer running, which the runner then sees).
    ///
    /// Follows the engine's lock rule: the backend chooses the message, its destination is
    /// resolved with no lock held, then the backend moves it and the task's progress in one
    /// atomic write if the message is still there and visible.
    async fn move_one(&self, task: &MoveTaskInfo) -> EngineResult<bool> {
        let source = self
            .queue_by_arn(&task.source_arn)
            .ok_or(EngineError::QueueDoesNotExist)?;
        loop {
            let now = self.now();
            let (seq, record) = match self.state.next_to_move(&source, now).await? {
                NextMove::Nothing => return Ok(false),
                NextMove::Vanished => return Ok(true),
                NextMove::Message(seq, record) => (seq, *record),
            };
            let dest_arn = task
                .destination_arn
                .as_deref()
                .or(record.dlq_source_arn.as_deref())
                .ok_or(EngineError::QueueDoesNotExist)?;
            let dest = self
                .queue_by_arn(dest_arn)
                .filter(|d| d.region == source.region && d.account == source.account)
                .ok_or(EngineError::QueueDoesNotExist)?;
            let progress = TaskProgress {
                tasks: &self.move_tasks,
                task_id: &task.task_id,
            };
            let m = TaskMove {
                source: &source,
                seq,
                record,
                dest: &dest,
                now,
                progress: &progress,
            };
            match self.state.move_message(m).await? {
                MoveStep::Moved => return Ok(true),
                // Received or deleted meanwhile: choose again.
                MoveStep::MessageGone => continue,
                // Cancelled meanwhile: nothing moved; the runner sees the status and stops.
                MoveStep::TaskStopped => return Ok(true),
            }
        }
    }
}

/// What a move task's backend finds to move next.
pub(crate) enum NextMove {
    /// No visible message is left.
    Nothing,
    /// The message chosen had no record any more: dropped; nothing moves this round.
    Vanished,
    /// Message `seq` of the source, and its record (boxed: the other variants are empty).
    Message(u64, Box<MessageRecord>),
}

/// One move of a move task
/// ([`MessageState::move_message`](super::state::MessageState::move_message)).
pub(crate) struct TaskMove<'a> {
    pub(crate) source: &'a Arc<Queue>,
    pub(crate) seq: u64,
    pub(crate) record: MessageRecord,
    pub(crate) dest: &'a Arc<Queue>,
    pub(crate) now: u64,
    pub(crate) progress: &'a TaskProgress<'a>,
}

/// What a move task's move did.
pub(crate) enum MoveStep {
    Moved,
    /// The message was received or deleted meanwhile.
    MessageGone,
    /// The task was cancelled (or is gone) meanwhile: nothing was written.
    TaskStopped,
}

/// A running task's progress, counted in the move's own atomic write.
pub(crate) struct TaskProgress<'a> {
    tasks: &'a MoveTasks,
    task_id: &'a str,
}

impl TaskProgress<'_> {
    /// Under the task table's lock (which may be taken under a queue's lock, never the other
    /// way round): if the task still runs, `write` writes the move with the task's record
    /// one message further, and the progress is kept once it succeeded. `Ok(false)` if the
    /// task stopped: nothing is written.
    pub(crate) fn advance(
        &self,
        write: impl FnOnce(&MoveTaskInfo) -> EngineResult<()>,
    ) -> EngineResult<bool> {
        let mut tasks = self.tasks.tasks.lock().expect("move tasks");
        let Some(current) = tasks.iter_mut().find(|t| t.task_id == self.task_id) else {
            return Ok(false);
        };
        if current.status != MoveTaskStatus::Running {
            return Ok(false);
        }
        let mut progressed = current.clone();
        progressed.moved += 1;
        write(&progressed)?;
        *current = progressed;
        Ok(true)
    }
}

/// The FailureReason a task stopped by `err` shows: the SQS error code of what stopped it. A
/// move fails only when a queue is gone or the store fails.
fn failure_reason(err: &EngineError) -> &'static str {
    match err {
        EngineError::QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
        _ => "InternalFailure",
    }
}

fn spawn_runner(engine: &Arc<Engine>, task_id: String) {
    let engine = Arc::downgrade(engine);
    tokio::spawn(async move {
        let mut pace = Pace::default();
        loop {
            let Some(e) = engine.upgrade() else { return };
            if e.is_shutting_down() {
                return;
            }
            let Some(task) = e.move_tasks.get(&task_id) else {
                return;
            };
            if task.status != MoveTaskStatus::Running {
                return;
            }
            let finished = |status: MoveTaskStatus, reason: Option<String>| {
                let ended = e.update_task(&task_id, |t| {
                    t.status = status;
                    t.failure_reason = reason;
                });
                if let Err(err) = ended {
                    tracing::warn!(task = %task_id, error = ?err, "a move task's end was not stored; it resumes after a restart");
                }
            };
            if task.moved >= task.to_move {
                finished(MoveTaskStatus::Completed, None);
                return;
            }
            match e.move_one(&task).await {
                Ok(true) => {}
                Ok(false) => {
                    finished(MoveTaskStatus::Completed, None);
                    return;
                }
                Err(err) => {
                    finished(
                        MoveTaskStatus::Failed,
                        Some(failure_reason(&err).to_string()),
                    );
                    return;
                }
            }
            let Some(rate) = task.max_per_second else {
                // No rate: only let other tasks run. Never a sleep on the clock, which would
                // stall under a clock that moves only when told to.
                drop(e);
                tokio::task::yield_now().await;
                continue;
            };
            let at = pace.next(e.now(), rate);
            let (clock, mut shutdown) = (e.clock.clone(), e.shutdown_signal());
            drop(e);
            tokio::select! {
                _ = clock.sleep_until(at) => {}
                _ = shutdown.changed() => return,
            }
        }
    });
}

/// A rate kept from a fixed start: the `n`th move is due at `start + n * 1000 / rate` ms, so
/// time spent moving does not slow the rate down.
#[derive(Default)]
struct Pace {
    start: Option<u64>,
    moves: u64,
}

impl Pace {
    /// The moment the next move is due, after one more move at `now`.
    fn next(&mut self, now: u64, rate: u32) -> u64 {
        let start = *self.start.get_or_insert(now);
        self.moves += 1;
        start + self.moves * 1000 / rate.max(1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Task records written when the status was a plain string still read, and are written
    /// back the same way.
    #[test]
    fn statuses_are_stored_as_aws_names_them() {
        for (status, name) in [
            (MoveTaskStatus::Running, "RUNNING"),
            (MoveTaskStatus::Completed, "COMPLETED"),
            (MoveTaskStatus::Cancelled, "CANCELLED"),
            (MoveTaskStatus::Failed, "FAILED"),
        ] {
            assert_eq!(status.as_str(), name);
            let old = serde_json::json!({
                "task_id": "t", "source_arn": "arn:aws:sqs:us-east-1:000000000000:d",
                "destination_arn": null, "max_per_second": null, "status": name,
                "moved": 1, "to_move": 2, "failure_reason": null, "started_at": 3,
            });
            let v1 = [&[1u8][..], old.to_string().as_bytes()].concat();
            let task: MoveTaskInfo = records::decode(&v1).unwrap();
            assert_eq!(task.status, status);
            let again: MoveTaskInfo = records::decode(&records::encode(&task)).unwrap();
            assert_eq!(again, task);
            let json = serde_json::to_value(&task).unwrap();
            assert_eq!(json["status"], name);
        }
    }
}
