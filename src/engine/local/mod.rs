//! The local backend: each queue's message metadata indexed in memory
//! ([`QueueState`](queue_state::QueueState), under the queue's lock, about 40 bytes per message
//! plus its index entries), everything written to a [`Store`](crate::store::Store) — sled, or
//! nothing that survives a restart (`--backend memory`, which keeps bodies in memory). Each
//! message is three records: its record (`m`: body, attributes, ids; the sled store keeps it
//! on disk only, and a receive reads it after releasing the queue's lock), its index record
//! (`i`: what recovery needs, so a restart never reads a body) and, once received, its state
//! (`s`); [`journal::put_message`] and [`journal::delete_message`] write them together. Every
//! mutation follows the engine's order: lock the queue → build a `WriteBatch` → apply it →
//! only on success change memory → unlock → await durability.

mod admin_delete;
mod delete;
mod delete_queue;
#[cfg(test)]
mod fault_tests;
pub(crate) mod journal;
mod move_tasks;
mod peek;
mod purge;
mod queue_record;
pub(crate) mod queue_state;
mod receive;
mod recovery;
pub(crate) mod redrive;
pub(crate) mod retention;
mod select;
mod send;
mod visibility;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::janitor::Deadlines;
use crate::clock::Clock;
use retention::Due;

use super::move_tasks::{MoveStep, NextMove, TaskMove};
use super::peek::{PeekRequest, PeekedMessage};
use super::queue::{Counts, Queue, QueueRecord, QueueSlot, QueueStats};
use super::receive::{Claim, Claimed};
use super::send::{SendEntry, SendOutcome, Sending};
use super::state::{MessageState, RecordChange, SharedStore, StateFuture};
use super::EngineResult;
use journal::Journal;
use queue_state::QueueState;

/// A queue as the local backend sees it: its [`QueueState`] under the queue's lock, kept in
/// the queue's [`QueueSlot`].
pub(crate) trait LocalQueue {
    /// Locks the queue's state. Never held across an `.await`, nor while another queue's
    /// lock or the registry's is taken (the engine's lock rule).
    fn lock(&self) -> MutexGuard<'_, QueueState>;
}

impl LocalQueue for Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.slot::<Mutex<QueueState>>()
            // One engine has one backend, which made every queue's slot.
            .expect("a queue of the local backend")
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) struct Local {
    journal: Journal,
    clock: Arc<dyn Clock>,
    /// The engine's shutdown: the janitor stops, background frees and removals stop waiting
    /// for the store.
    shutdown: watch::Receiver<bool>,
    /// Each queue's next retention, deduplication or receive-attempt expiry.
    pub(super) janitor: Arc<Deadlines<Due>>,
    /// The next sequence number (queue ids, messages); above every stored one.
    seq: AtomicU64,
    /// Standard queues deliver in an order drawn from this seed (`--shuffle-seed`).
    shuffle_seed: Option<u64>,
    /// The message move tasks' records.
    move_tasks: move_tasks::MoveTasks,
}

impl Local {
    pub(crate) fn new(
        journal: Journal,
        clock: Arc<dyn Clock>,
        shutdown: watch::Receiver<bool>,
        shuffle_seed: Option<u64>,
    ) -> Self {
        Local {
            shuffle_seed,
            journal,
            seq: AtomicU64::new(clock.now_ms().saturating_mul(1_000_000)),
            clock,
            shutdown,
            janitor: Arc::new(Deadlines::new()),
            move_tasks: move_tasks::MoveTasks::default(),
        }
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    /// Recovery: sequence numbers from `seq` on are free.
    pub(crate) fn seq_at_least(&self, seq: u64) {
        self.seq.fetch_max(seq, Ordering::SeqCst);
    }

    /// The journal, for the engine's operations not behind [`MessageState`] yet.
    pub(crate) fn journal(&self) -> &Journal {
        &self.journal
    }
}

/// One process opens the store: the defaults.
impl SharedStore for Local {}

impl MessageState for Local {
    fn create_queue<'a>(&'a self, record: &'a QueueRecord) -> StateFuture<'a, ()> {
        Box::pin(self.store_queue(record))
    }

    fn delete_queue<'a>(&'a self, q: &'a Queue) -> StateFuture<'a, ()> {
        Box::pin(self.remove_queue(q))
    }

    fn queue_id(&self) -> StateFuture<'_, u64> {
        Box::pin(std::future::ready(Ok(self.next_seq())))
    }

    fn queue_slot(&self, record: QueueRecord) -> QueueSlot {
        Box::new(Mutex::new(QueueState::new(record)))
    }

    fn counts<'a>(&'a self, q: &'a Queue, now: u64) -> StateFuture<'a, Counts> {
        let counts = q.lock().counts(now);
        Box::pin(std::future::ready(Ok(counts)))
    }

    fn stats<'a>(&'a self, q: &'a Queue, now: u64) -> StateFuture<'a, QueueStats> {
        let mut st = q.lock();
        let stats = QueueStats {
            counts: st.counts(now),
            oldest_sent_at: st.oldest_sent_at(),
        };
        drop(st);
        Box::pin(std::future::ready(Ok(stats)))
    }

    fn peek<'a>(
        &'a self,
        q: &'a Queue,
        req: PeekRequest,
        now: u64,
    ) -> StateFuture<'a, Vec<PeekedMessage>> {
        Box::pin(std::future::ready(Local::peek(self, q, req, now)))
    }

    fn with_record(&self, q: &Queue, read: &mut dyn FnMut(&QueueRecord)) {
        read(q.lock().record());
    }

    fn update_queue<'a>(
        &'a self,
        q: &'a Queue,
        change: &'a mut RecordChange<'_>,
    ) -> StateFuture<'a, ()> {
        Box::pin(self.update_queue(q, change))
    }

    fn queue_deleted(&self, q: &Arc<Queue>) {
        self.queue_deleted(q);
    }

    fn next_to_move<'a>(&'a self, source: &'a Queue, now: u64) -> StateFuture<'a, NextMove> {
        Box::pin(self.next_to_move(source, now))
    }

    fn move_message<'a>(&'a self, m: TaskMove<'a>) -> StateFuture<'a, MoveStep> {
        Box::pin(self.move_for_task(m))
    }

    fn claim<'a>(&'a self, claim: &'a Claim<'a>) -> StateFuture<'a, Option<Claimed>> {
        Box::pin(self.claim(claim))
    }

    fn enqueue<'a>(
        &'a self,
        sending: &'a Sending<'a>,
        entries: Vec<SendEntry>,
    ) -> StateFuture<'a, Vec<EngineResult<SendOutcome>>> {
        Box::pin(self.enqueue(sending, entries))
    }

    fn delete<'a>(
        &'a self,
        q: &'a Queue,
        handles: &'a [&'a str],
        now: u64,
    ) -> StateFuture<'a, Vec<EngineResult<()>>> {
        Box::pin(self.delete(q, handles, now))
    }

    fn delete_by_id<'a>(&'a self, q: &'a Queue, message_id: &'a str) -> StateFuture<'a, bool> {
        Box::pin(self.delete_by_id(q, message_id))
    }

    fn change_visibility<'a>(
        &'a self,
        q: &'a Queue,
        entries: &'a [(&'a str, i64)],
        now: u64,
    ) -> StateFuture<'a, Vec<EngineResult<()>>> {
        Box::pin(self.change_visibility(q, entries, now))
    }

    fn purge<'a>(&'a self, q: &'a Arc<Queue>, now: u64, cooldown_ms: u64) -> StateFuture<'a, bool> {
        Box::pin(self.purge(q, now, cooldown_ms))
    }

    fn expire<'a>(&'a self, q: &'a Arc<Queue>, now: u64) -> StateFuture<'a, ()> {
        Box::pin(self.expire(q, now))
    }

    fn start(self: Arc<Self>) {
        self.spawn_janitor();
    }
}
