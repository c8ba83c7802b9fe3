//! Message move tasks (StartMessageMoveTask and friends): move messages out of a dead-letter
//! queue, back to their original sources or to a chosen destination, at a bounded rate.
//!
//! Task records live behind the seam (`MoveTaskRecords` in `state.rs`): in the embedded
//! journal on the local backend, in the `move_tasks` table on postgres, where every node sees
//! them. A task that was RUNNING when its runner stopped resumes with what it still had to
//! move: on the local backend at the next start, on postgres on whichever node first finds
//! its lease expired. Nothing acknowledged is lost or moved twice: each move (out of the
//! source, into the destination, the task's progress) is one atomic write, so a crash leaves
//! every message either in the source or in the destination.

pub use super::policy::decode_task_handle;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::policy::encode_task_handle;
use super::queue::{MessageRecord, Queue};
use super::state::EndOutcome;
use super::{Engine, EngineError, EngineResult, Param};

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

/// How a RUNNING task ends ([`MoveTaskRecords::end_task`](super::state::MoveTaskRecords::end_task)).
#[derive(Clone, Debug)]
pub(crate) struct TaskEnd {
    pub(crate) status: MoveTaskStatus,
    pub(crate) failure_reason: Option<String>,
    /// Ended by its runner, which may do so only while its node holds the task's lease; a
    /// cancel ends it wherever it runs.
    pub(crate) by_runner: bool,
}

impl TaskEnd {
    pub(crate) fn cancel() -> Self {
        TaskEnd {
            status: MoveTaskStatus::Cancelled,
            failure_reason: None,
            by_runner: false,
        }
    }

    pub(crate) fn runner(status: MoveTaskStatus, failure_reason: Option<String>) -> Self {
        TaskEnd {
            status,
            failure_reason,
            by_runner: true,
        }
    }

    /// `task` as this end leaves it.
    pub(crate) fn apply(&self, task: &mut MoveTaskInfo) {
        task.status = self.status;
        task.failure_reason.clone_from(&self.failure_reason);
    }
}

impl Engine {
    /// At a graceful shutdown, after [`Engine::shutdown`]: gives up this node's move-task
    /// leases (`MoveTaskRecords::release_task_leases`); a failure is logged, and the
    /// leases then expire as after a crash.
    pub async fn release_task_leases(&self) {
        if let Err(err) = self.state.release_task_leases().await {
            tracing::warn!(error = ?err, "the message move tasks' leases were not released; other nodes take them over when they expire");
        }
    }
}

/// Runs the RUNNING tasks this node is to run: at start every one left running (a backend
/// without leases), or, with leases, those whose lease expired, looked for at start and then
/// every third of the lease.
pub(crate) fn resume(engine: &Arc<Engine>) {
    let lease = engine.state.task_lease_ms();
    let weak = Arc::downgrade(engine);
    let mut shutdown = engine.shutdown_signal();
    tokio::spawn(async move {
        loop {
            let Some(e) = weak.upgrade() else { return };
            if e.is_shutting_down() {
                return;
            }
            // Not before the backend serves: a task's queues are looked up in the registry,
            // which a postgres node whose database did not answer at start has not loaded.
            let found = match e.unavailable() {
                None => e.state.take_over_tasks(e.now()).await,
                Some(_) => Ok(Vec::new()),
            };
            match found {
                Ok(tasks) => {
                    for task in tasks {
                        tracing::info!(task = %task.task_id, moved = task.moved, "resuming message move task");
                        spawn_runner(&e, task.handle());
                    }
                }
                Err(err) => {
                    tracing::warn!(error = ?err, "cannot look for message move tasks to resume");
                }
            }
            drop(e);
            let Some(lease) = lease else { return };
            // Real time, not the engine's clock: a clock moved only when told to must not
            // stall the search, and an early look only finds nothing.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis((lease / 3).max(1))) => {}
                _ = shutdown.changed() => return,
            }
        }
    });
}

impl Engine {
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
        let handle = task.handle();
        match self.state.insert_task(&task, self.now()).await {
            Ok(true) => {}
            Ok(false) => return Err(EngineError::InvalidRequest("There is already a task running. Only one active task is allowed for a source queue arn at a given time.".into())),
            Err(err) => {
                // Stored but not durable (a failed flush): it runs all the same, as stored.
                if let Ok(Some(_)) = self.state.task(&handle).await {
                    spawn_runner(self, handle);
                }
                return Err(err);
            }
        }
        spawn_runner(self, handle.clone());
        Ok(handle)
    }

    /// Answered once the cancel is durable, like every mutation. The runner (on whichever
    /// node) sees the status at its next step and stops.
    pub async fn cancel_move_task(&self, handle: &str) -> EngineResult<u64> {
        let (task_id, source_arn) =
            decode_task_handle(handle).ok_or(EngineError::MalformedParameter(Param::TaskHandle))?;
        self.queue_by_arn(&source_arn)
            .ok_or(EngineError::ResourceNotFound(Param::SourceArn))?;
        let handle = encode_task_handle(&task_id, &source_arn);
        let not_running = |task: &MoveTaskInfo| {
            EngineError::InvalidRequest(
                format!(
                    "Only active tasks can be cancelled. Task status is {}.",
                    task.status.as_str()
                )
                .into(),
            )
        };
        let task = self
            .state
            .task(&handle)
            .await?
            .ok_or(EngineError::MoveTaskNotFound)?;
        if task.status != MoveTaskStatus::Running {
            return Err(not_running(&task));
        }
        match self.state.end_task(&handle, TaskEnd::cancel()).await? {
            EndOutcome::Ended(task) => Ok(task.moved),
            EndOutcome::NotRunning(task) => Err(not_running(&task)),
            EndOutcome::Missing => Err(EngineError::MoveTaskNotFound),
        }
    }

    pub async fn list_move_tasks(
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
        self.state.list_tasks(source_arn, max as usize).await
    }

    /// Moves one visible message out of the task's source, as the backend's one atomic write
    /// (the message into its destination and out of the source, the task one message
    /// further).
    ///
    /// Follows the engine's lock rule: the backend chooses the message, its destination is
    /// resolved with no lock held, then the backend moves it and the task's progress in one
    /// atomic write if the message is still there and visible.
    async fn move_one(&self, task: &MoveTaskInfo) -> EngineResult<Step> {
        let source = self
            .queue_by_arn(&task.source_arn)
            .ok_or(EngineError::QueueDoesNotExist)?;
        loop {
            let now = self.now();
            let (seq, record) = match self.state.next_to_move(&source, now).await? {
                NextMove::Nothing => return Ok(Step::Done),
                NextMove::Vanished => return Ok(Step::Again),
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
            let m = TaskMove {
                source: &source,
                seq,
                record,
                dest: &dest,
                now,
                task,
            };
            match self.state.move_message(m).await? {
                MoveStep::Moved => return Ok(Step::Again),
                // Received or deleted meanwhile: choose again.
                MoveStep::MessageGone => continue,
                // Cancelled, or taken over by another node, meanwhile: nothing moved.
                MoveStep::TaskStopped => return Ok(Step::Stopped),
            }
        }
    }
}

/// What one round of a task's runner did.
enum Step {
    /// A message moved, or there was nothing to do this round: go on.
    Again,
    /// No visible message is left: the task is complete.
    Done,
    /// The task no longer runs here: stop without writing.
    Stopped,
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
    /// The task, as its runner last read it: its progress is counted in the move's write.
    pub(crate) task: &'a MoveTaskInfo,
}

/// What a move task's move did.
pub(crate) enum MoveStep {
    Moved,
    /// The message was received or deleted meanwhile.
    MessageGone,
    /// The task was cancelled (or is gone, or runs on another node) meanwhile: nothing was
    /// written.
    TaskStopped,
}

/// The FailureReason a task stopped by `err` shows: the SQS error code of what stopped it. A
/// move fails only when a queue is gone or the store fails.
fn failure_reason(err: &EngineError) -> &'static str {
    match err {
        EngineError::QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
        _ => "InternalFailure",
    }
}

/// The tasks (by handle) whose runner runs on this node: one runner per task, even if a
/// late renewal let this node take its own task over again.
#[derive(Default)]
pub(crate) struct Runners(Mutex<HashSet<String>>);

impl Runners {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A runner's place in [`Runners`], given up when the runner ends.
struct Running {
    engine: Weak<Engine>,
    handle: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(e) = self.engine.upgrade() {
            e.runners.set().remove(&self.handle);
        }
    }
}

/// Runs the task `handle` names on this node until it ends, stops running here, or the
/// engine shuts down, unless a runner of it runs here already. With leases, the lease is
/// renewed every third of its length; a runner that cannot renew it (taken over) or read its
/// task stops, and the task is resumed where its lease expires.
fn spawn_runner(engine: &Arc<Engine>, handle: String) {
    if !engine.runners.set().insert(handle.clone()) {
        return;
    }
    let running = Running {
        engine: Arc::downgrade(engine),
        handle: handle.clone(),
    };
    let engine = Arc::downgrade(engine);
    tokio::spawn(async move {
        let _running = running;
        let mut pace = Pace::default();
        let mut next_move_at = 0;
        let mut renew_at: Option<u64> = None;
        loop {
            let Some(e) = engine.upgrade() else { return };
            if e.is_shutting_down() {
                return;
            }
            if !renew_lease_if_due(&e, &handle, &mut renew_at).await {
                return;
            }
            let now = e.now();
            if now < next_move_at {
                let wake = renew_at.map_or(next_move_at, |r| r.max(now + 1).min(next_move_at));
                let (clock, mut shutdown) = (e.clock.clone(), e.shutdown_signal());
                drop(e);
                tokio::select! {
                    _ = clock.sleep_until(wake) => {}
                    _ = shutdown.changed() => return,
                }
                continue;
            }
            let task = match e.state.task(&handle).await {
                Ok(Some(task)) => task,
                Ok(None) => return,
                Err(err) => {
                    tracing::warn!(error = ?err, "a move task's record was not read; it resumes where its lease expires");
                    return;
                }
            };
            if task.status != MoveTaskStatus::Running {
                return;
            }
            if !move_and_end(&e, &handle, &task).await {
                return;
            }
            let Some(rate) = task.max_per_second else {
                // No rate: only let other tasks run. Never a sleep on the clock, which would
                // stall under a clock that moves only when told to.
                drop(e);
                tokio::task::yield_now().await;
                continue;
            };
            next_move_at = pace.next(e.now(), rate);
        }
    });
}

/// Renews the lease of the task `handle` names if leases are on and the renewal is due
/// (`renew_at`, first set a third of a lease from now). `false` when the runner must stop:
/// another node has taken the lease over.
async fn renew_lease_if_due(e: &Engine, handle: &str, renew_at: &mut Option<u64>) -> bool {
    let Some(lease) = e.state.task_lease_ms() else {
        return true;
    };
    let now = e.now();
    let due = *renew_at.get_or_insert(now + lease / 3);
    if now >= due {
        match e.state.renew_task_lease(handle, now).await {
            Ok(true) => *renew_at = Some(now + lease / 3),
            Ok(false) => return false,
            // Tried again at the next round; the moves check the lease anyway.
            Err(err) => {
                tracing::warn!(error = ?err, "a move task's lease was not renewed");
            }
        }
    }
    true
}

/// One move of the running `task`, ending the task when it is complete or a move fails.
/// `false` when the runner must stop (the task ended, or stopped running here).
async fn move_and_end(e: &Engine, handle: &str, task: &MoveTaskInfo) -> bool {
    if task.moved >= task.to_move {
        end_task(e, handle, MoveTaskStatus::Completed, None).await;
        return false;
    }
    match e.move_one(task).await {
        Ok(Step::Again) => true,
        Ok(Step::Done) => {
            end_task(e, handle, MoveTaskStatus::Completed, None).await;
            false
        }
        Ok(Step::Stopped) => false,
        Err(err) => {
            let reason = Some(failure_reason(&err).to_string());
            end_task(e, handle, MoveTaskStatus::Failed, reason).await;
            false
        }
    }
}

/// Stores the end of the task `handle` names, as its runner ends it; a failure to store it
/// is logged (the task then resumes after a restart, or where its lease expires).
async fn end_task(e: &Engine, handle: &str, status: MoveTaskStatus, reason: Option<String>) {
    let ended = e
        .state
        .end_task(handle, TaskEnd::runner(status, reason))
        .await;
    if let Err(err) = ended {
        tracing::warn!(task = %handle, error = ?err, "a move task's end was not stored; it resumes after a restart, or where its lease expires");
    }
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
    use crate::store::records;

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
