//! The seam between SQS semantics and where messages live: [`MessageState`].
//!
//! Behind it: the SQS rules that depend on where messages live — which messages a claim
//! takes (standard, fair, FIFO groups), visibility, receive counts, the deduplication window,
//! atomic moves between queues, retention, and the queue record in force. In front of it, in
//! the engine's shared files and written once: validation, attribute rules, MD5s,
//! receipt-handle encoding, rendering of received messages, long-poll waiting, dead-letter
//! queue resolution, policies and error mapping. A rule that is a pure function of a
//! message's state (a FIFO handle being current, the 12-hour visibility cap, what a moved
//! message becomes) is a shared function every backend calls, not a copy.
//!
//! The engine holds an `Arc<dyn MessageState>`, not a type parameter: the backend is chosen
//! at start from the configuration, and `Arc<Engine>` travels through the api, http and
//! server layers, which need not know it. Every operation is one boxed future (no macro
//! crate, one allocation per call). A mutation's future completes once its change is as
//! durable as the configured durability asks; the engine wakes long polls after that.
//!
//! Implementations: [`local`](super::local) (memory indexes over the store's journal; the
//! store is sled or memory, `--backend`), and `postgres` (phase 1 of issue 15: one database
//! shared by every node; its module doc holds the design).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::move_tasks::{MoveStep, MoveTaskInfo, NextMove, TaskEnd, TaskMove};
use super::peek::{PeekRequest, PeekedMessage};
use super::queue::{Counts, Queue, QueueRecord, QueueSlot, QueueStats};
use super::receive::{Claim, Claimed};
use super::send::{SendEntry, SendOutcome, Sending};
use super::EngineResult;

/// An edit of a queue's record, run by the backend on the record in force.
pub(crate) type RecordChange<'a> = dyn FnMut(&mut QueueRecord) -> EngineResult<()> + Send + 'a;

/// What a [`MessageState`] operation returns.
pub(crate) type StateFuture<'a, T> = Pin<Box<dyn Future<Output = EngineResult<T>> + Send + 'a>>;

/// What a backend several nodes share tells each node's registry; a store only one process
/// opens keeps these defaults.
pub(crate) trait SharedStore: Send + Sync {
    /// Whether other nodes share this store (their queues change under this node's registry).
    fn is_shared(&self) -> bool {
        false
    }

    /// A queue another node over the same store created that this node's registry does not
    /// hold yet: its stored record, read by name. `None` for a store no other node shares.
    fn stored_queue<'a>(
        &'a self,
        _account: &'a str,
        _region: &'a str,
        _name: &'a str,
    ) -> StateFuture<'a, Option<QueueRecord>> {
        Box::pin(std::future::ready(Ok(None)))
    }

    /// When a queue of this name was last deleted by any node over the same store (the
    /// queue-deleted cooldown); `None` for a store no other node shares (the engine keeps
    /// its own deletions).
    fn deleted_at<'a>(
        &'a self,
        _account: &'a str,
        _region: &'a str,
        _name: &'a str,
    ) -> StateFuture<'a, Option<u64>> {
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Why the backend cannot serve now (its database unreachable); `None` when it can.
    fn unavailable(&self) -> Option<&'static str> {
        None
    }
}

/// Where message state lives (DESIGN.md "Backends: where message state lives").
pub(crate) trait MessageState: MoveTaskRecords + SharedStore + Send + Sync {
    /// SendMessage(Batch): prepares each entry under the queue's record
    /// ([`Sending::prepare`]: validation, digests, deduplication key), looks its key up among
    /// the live deduplication entries and those earlier in the batch, and stores the new
    /// ones, all or none. One result per entry; a deleted queue fails them all.
    fn enqueue<'a>(
        &'a self,
        sending: &'a Sending<'a>,
        entries: Vec<SendEntry>,
    ) -> StateFuture<'a, Vec<EngineResult<SendOutcome>>>;

    /// One claim of ReceiveMessage: under the standard, fair or FIFO rules, takes up to the
    /// request's maximum of receivable messages, gives them the visibility timeout, counts
    /// the receive, and moves those received maxReceiveCount times to the claim's
    /// dead-letter queue; replays a FIFO receive attempt whose messages are unchanged.
    /// `None` when the queue's RedrivePolicy is no longer the one the claim's dead-letter
    /// queue was resolved from: the engine resolves it again.
    fn claim<'a>(&'a self, claim: &'a Claim<'a>) -> StateFuture<'a, Option<Claimed>>;

    /// A message move task's next message: the oldest visible one of `source`.
    fn next_to_move<'a>(&'a self, source: &'a Queue, now: u64) -> StateFuture<'a, NextMove>;

    /// A message move task's move: the message leaves its source for its destination as a
    /// new message ([`MoveKind::MoveTask`](super::redrive::MoveKind::MoveTask)), with the
    /// task's progress (one message more moved) in the same atomic write, if the message is
    /// still there and visible and the task still runs here (RUNNING, and on a backend with
    /// leases, held by this node).
    fn move_message<'a>(&'a self, m: TaskMove<'a>) -> StateFuture<'a, MoveStep>;

    /// SetQueueAttributes, tags, policy: `change` edits a copy of `q`'s record (an error
    /// leaves it as it was), which is stored and becomes the record in force. A deleted
    /// queue does not exist.
    fn update_queue<'a>(
        &'a self,
        q: &'a Queue,
        change: &'a mut RecordChange<'_>,
    ) -> StateFuture<'a, ()>;

    /// Calls `read` with `q`'s record in force (attributes, tags), at once: for the shared
    /// rules that read it outside an operation of this trait.
    fn with_record(&self, q: &Queue, read: &mut dyn FnMut(&QueueRecord));

    /// `q`'s visible, in-flight and delayed messages at `now`.
    fn counts<'a>(&'a self, q: &'a Queue, now: u64) -> StateFuture<'a, Counts>;

    /// `q`'s counts at `now` and the send time of its oldest message.
    fn stats<'a>(&'a self, q: &'a Queue, now: u64) -> StateFuture<'a, QueueStats>;

    /// `q`'s messages as `req` selects them at `now`, with their records and states; writes
    /// nothing (no visibility or receive count changes).
    fn peek<'a>(
        &'a self,
        q: &'a Queue,
        req: PeekRequest,
        now: u64,
    ) -> StateFuture<'a, Vec<PeekedMessage>>;

    /// DeleteQueue: `q`'s record is deleted; its messages, deduplication entries and
    /// receive attempts go (a long poll on it then ends).
    fn queue_deleted(&self, q: &Arc<Queue>);

    /// DeleteMessage(Batch): deletes the message each receipt handle names, one result per
    /// handle. A handle of another queue is invalid; on a FIFO queue one whose receive is not
    /// the latest or whose visibility lapsed has expired; a message already gone is deleted.
    fn delete<'a>(
        &'a self,
        q: &'a Queue,
        handles: &'a [&'a str],
        now: u64,
    ) -> StateFuture<'a, Vec<EngineResult<()>>>;

    /// An operator's delete by MessageId (no receipt handle): removes `q`'s message with that
    /// id, whatever its state, as durably as DeleteMessage; `false` when there is none.
    fn delete_by_id<'a>(&'a self, q: &'a Queue, message_id: &'a str) -> StateFuture<'a, bool>;

    /// ChangeMessageVisibility(Batch): each (receipt handle, timeout in seconds) as
    /// [`visibility_change`](super::visibility::visibility_change) allows; one result per entry.
    fn change_visibility<'a>(
        &'a self,
        q: &'a Queue,
        entries: &'a [(&'a str, i64)],
        now: u64,
    ) -> StateFuture<'a, Vec<EngineResult<()>>>;

    /// PurgeQueue: removes every message and deduplication entry (on a FIFO queue the same
    /// MessageDeduplicationId sent after a purge is delivered), unless the last purge is less
    /// than `cooldown_ms` ago: `false` then.
    fn purge<'a>(&'a self, q: &'a Arc<Queue>, now: u64, cooldown_ms: u64) -> StateFuture<'a, bool>;

    /// Removes `q`'s messages past their retention period, its expired deduplication entries
    /// and FIFO receive attempts.
    fn expire<'a>(&'a self, q: &'a Arc<Queue>, now: u64) -> StateFuture<'a, ()>;

    /// Starts the backend's background work (the local backend's janitor, which expires each
    /// queue at its next deadline); it ends at the engine's shutdown.
    fn start(self: Arc<Self>);

    /// CreateQueue: stores a new queue's record. The engine calls it for one queue at a time
    /// (its registry gate), after checking that no queue has the name.
    fn create_queue<'a>(&'a self, record: &'a QueueRecord) -> StateFuture<'a, ()>;

    /// DeleteQueue: removes `q`'s record, before [`MessageState::queue_deleted`] forgets its
    /// messages. One at a time, as [`MessageState::create_queue`].
    fn delete_queue<'a>(&'a self, q: &'a Queue) -> StateFuture<'a, ()>;

    /// A new queue's id, unique among every queue the backend stores (and every node over
    /// it): the receipt handles' queue id.
    fn queue_id(&self) -> StateFuture<'_, u64>;

    /// What this backend keeps for a queue beside its shared handle, made from its record
    /// when the queue is created or recovered.
    fn queue_slot(&self, record: QueueRecord) -> QueueSlot;
}

/// Message move task records, kept where message state lives so that every node over it sees
/// them: ListMessageMoveTasks and CancelMessageMoveTask answer on any node. A task is named by
/// its handle (canonical: [`MoveTaskInfo::handle`]). On a backend shared by several nodes
/// ([`MoveTaskRecords::task_lease_ms`] is `Some`) a RUNNING task is run by the node holding
/// its lease, renewed while it runs; a node finding a lease expired takes the task over.
pub(crate) trait MoveTaskRecords: Send + Sync {
    /// Stores `task` (new, RUNNING, its lease held by this node from `now`) unless a task of
    /// its source runs: `false` then, and nothing is stored. Complete once durable.
    fn insert_task<'a>(&'a self, task: &'a MoveTaskInfo, now: u64) -> StateFuture<'a, bool>;

    /// The task `handle` names, as stored.
    fn task<'a>(&'a self, handle: &'a str) -> StateFuture<'a, Option<MoveTaskInfo>>;

    /// The tasks of `source_arn`, the most recently started first, at most `max`.
    fn list_tasks<'a>(
        &'a self,
        source_arn: &'a str,
        max: usize,
    ) -> StateFuture<'a, Vec<MoveTaskInfo>>;

    /// Ends the RUNNING task `handle` names as `end` says: a cancel (from any node), or its
    /// runner's end (only while this node holds its lease). Complete once durable.
    fn end_task<'a>(&'a self, handle: &'a str, end: TaskEnd) -> StateFuture<'a, EndOutcome>;

    /// The RUNNING tasks this node is to run from `now` on: with leases, those whose lease had
    /// expired, now held by this node (`UPDATE … WHERE lease_until < now`); without, every
    /// RUNNING task (the engine asks once, at start).
    fn take_over_tasks(&self, now: u64) -> StateFuture<'_, Vec<MoveTaskInfo>>;

    /// Extends this node's lease of the task `handle` names from `now`; `false` when this node
    /// no longer holds it (taken over, or the task ended).
    fn renew_task_lease<'a>(&'a self, handle: &'a str, now: u64) -> StateFuture<'a, bool>;

    /// How long a lease lasts, in milliseconds; `None` when one process runs every task.
    fn task_lease_ms(&self) -> Option<u64>;

    /// Gives up every lease this node holds (a graceful shutdown), so that another node
    /// takes its tasks over at its next look instead of when the leases expire. Nothing to do
    /// without leases.
    fn release_task_leases(&self) -> StateFuture<'_, ()>;
}

/// What [`MoveTaskRecords::end_task`] found.
#[derive(Debug)]
pub(crate) enum EndOutcome {
    /// The task as ended.
    Ended(MoveTaskInfo),
    /// The task no longer runs (or, for its runner, runs elsewhere): left as it is.
    NotRunning(MoveTaskInfo),
    /// No such task.
    Missing,
}
