//! The queue engine: queues, messages, visibility, FIFO groups, deduplication, redrive and
//! message move tasks. SQS semantics live here, written once; where message state lives is
//! behind one seam, `MessageState` (`state.rs`), whose first implementation is
//! `local` (in-memory indexes journalled to a [`Store`]).
//!
//! Every mutation of the local backend follows one order: lock the queue → validate → build
//! a `WriteBatch` → `store.apply` → only on success change memory → unlock → await
//! durability → notify waiters. A failed write leaves memory untouched. This module never
//! sees HTTP, XML or JSON wire types; its errors are [`EngineError`]s, what went wrong in SQS
//! terms, which the api layer maps to SQS error codes and messages.
//!
//! **The lock rule: never take the registry's lock or another queue's lock while holding a
//! queue's lock**, and never hold one across an `.await`. Whatever a change needs from other
//! queues (a dead-letter queue's type, ARN and RedriveAllowPolicy, a move's destination) is
//! resolved first by the shared engine, each lock taken and released on its own; the backend
//! then runs the change under its own queue's lock, re-checking what may have moved
//! meanwhile. A message moving between queues is one store batch written under the source's
//! lock; the destination's memory is updated after that lock is released. Two queues' locks
//! are thus never held together, so no order between them can deadlock (two
//! SetQueueAttributes naming each other as dead-letter queue once did). The local
//! backend's move-task table's lock may be taken under a queue's lock (a move records its
//! progress in its own store batch), never a queue's lock under it.
//!
//! Where each SQS action happens (shared | behind the seam, in `local/`):
//!
//! | shared file | what | `local/` |
//! |---|---|---|
//! | `registry.rs` | lookups, ListQueues, CreateQueue, DeleteQueue (one at a time), ListDeadLetterSourceQueues | `queue_record.rs`: the stored record; `delete_queue.rs`: a deleted queue's messages |
//! | `queue_attributes.rs` | Get/SetQueueAttributes, Tag/Untag/ListQueueTags | `queue_record.rs`: the record in force |
//! | `permissions.rs` | Add/RemovePermission | (through `queue_record.rs`) |
//! | `send.rs` | SendMessage(Batch): validation, digests, dedup keys, new records | `send.rs`: dedup lookup, the batch's write |
//! | `receive.rs` | ReceiveMessage: long poll, dead-letter target, rendering | `receive.rs`: one claim (expire, attempt replay, take, redrive, commit); `select.rs`: which messages (standard, fair, FIFO) |
//! | `redrive.rs` | the dead-letter target; what a moved message becomes | `redrive.rs`: the atomic move |
//! | `visibility.rs` | ChangeMessageVisibility(Batch); the visibility rule | `visibility.rs` |
//! | `delete.rs` | DeleteMessage(Batch) | `delete.rs` |
//! | `admin_delete.rs` | an operator's delete of a message by its id | `admin_delete.rs` |
//! | `purge.rs` | PurgeQueue | `purge.rs` |
//! | `peek.rs` | an operator's read-only look at messages | `peek.rs` |
//! | `move_tasks.rs` | Start/Cancel/ListMessageMoveTasks, the runner, leases | `move_tasks.rs`: the task records, the next message, the move with its progress |
//! | `retention.rs` | `Engine::expire` | `retention.rs`: expiry, and the janitor on its deadlines (`janitor.rs`) |
//! | `recovery.rs` | registering stored queues at open | `recovery.rs`: indexes rebuilt from the store |
//! | `state.rs` | `MessageState` (`state.rs`): the seam | `mod.rs`: its implementation; `queue_state.rs`: a queue's indexes; `journal.rs`: store + group commit |
//! | `queue.rs` | a queue's handle, its records, [`MessageMeta`](queue::MessageMeta) | |
//! | `attributes.rs`, `message.rs`, `receipt.rs` | queue attributes, message rules, receipt handles | |
//! | `error.rs` | [`EngineError`]: what went wrong, in SQS terms | |

mod admin_delete;
pub mod attributes;
mod delete;
mod error;
pub mod janitor;
mod local;
pub mod message;
pub mod move_tasks;
pub mod peek;
mod permissions;
pub mod policy;
mod postgres;
mod purge;
pub mod queue;
mod queue_attributes;
pub mod receipt;
mod receive;
mod recovery;
mod redrive;
mod registry;
mod retention;
mod send;
pub(crate) mod state;
#[cfg(test)]
mod tests;
mod visibility;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::watch;

use crate::clock::Clock;
use crate::store::{MemoryStore, Store, StoreError};
use local::journal::Journal;
use state::MessageState;

pub use attributes::QueueAttributes;
pub use error::{EngineError, EngineResult, Param};
pub use move_tasks::MoveTaskInfo;
pub use queue::{Counts, Queue, QueueRecord, QueueStats};
pub use receive::{ReceiveRequest, ReceivedMessage};
pub use send::{SendEntry, SendOutcome};

/// Engine settings taken from the server configuration.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// The region of queue records stored before queues had regions.
    pub region: String,
    pub max_inflight: usize,
    pub purge_cooldown_ms: u64,
    pub queue_deleted_cooldown_ms: u64,
    /// Wait for a flush before acknowledging a mutation.
    pub sync_writes: bool,
    /// Standard queues deliver in an order drawn from this seed instead of oldest first.
    pub shuffle_seed: Option<u64>,
    /// Receives waiting at once; one more is answered as a short poll.
    pub max_long_polls: usize,
    /// Queues an account may have, all regions together; one more is OverLimit.
    pub max_queues_per_account: usize,
    /// How long a node's lease of a running message move task lasts on a backend shared by
    /// several nodes (postgres); renewed every third of it, taken over by another node once
    /// expired.
    pub move_task_lease_ms: u64,
    /// The certificates (PEM) a postgres backend trusts for the database's: the server is
    /// then verified; without, the connection is encrypted when the server offers TLS.
    pub database_ca_file: Option<std::path::PathBuf>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            region: "us-east-1".into(),
            max_inflight: 120_000,
            purge_cooldown_ms: 60_000,
            queue_deleted_cooldown_ms: 0,
            sync_writes: true,
            shuffle_seed: None,
            max_long_polls: 1024,
            max_queues_per_account: 10_000,
            move_task_lease_ms: 30_000,
            database_ca_file: None,
        }
    }
}

/// A queue's identity: (account, region, name).
type QueueKey = (String, String, String);

fn queue_key(account: &str, region: &str, name: &str) -> QueueKey {
    (account.to_string(), region.to_string(), name.to_string())
}

pub struct Engine {
    /// Where message state lives.
    state: Arc<dyn MessageState>,
    /// The local backend (the same object as `state`, or over a node-local memory store when
    /// `state` is postgres), for what is not behind [`MessageState`]: store statistics, the
    /// final flush and recovery.
    local: Arc<local::Local>,
    pub clock: Arc<dyn Clock>,
    pub settings: EngineSettings,
    queues: RwLock<BTreeMap<QueueKey, Arc<Queue>>>,
    /// CreateQueue and DeleteQueue run one at a time: each awaits its record's write between
    /// checking the registry and changing it.
    registry_gate: tokio::sync::Mutex<()>,
    deleted_at: Mutex<HashMap<QueueKey, u64>>,
    shutdown: watch::Sender<bool>,
    /// The message move tasks whose runner runs on this node.
    runners: move_tasks::Runners,
    /// A permit per waiting long poll (`max_long_polls`).
    long_polls: tokio::sync::Semaphore,
}

impl Engine {
    /// Opens the engine over `store`, rebuilding every in-memory index from it. Must run inside
    /// a tokio runtime (it starts the flusher).
    pub fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: EngineSettings,
    ) -> Result<Arc<Engine>, StoreError> {
        let engine = Engine::new(store, None, clock, settings);
        engine.recover()?;
        Ok(Arc::new(engine))
    }

    /// Opens the engine over the PostgreSQL database `url` names (`--backend postgres`):
    /// connects, makes the schema current, registers the stored queues. Queues are shared with
    /// every node over the database (phase 1 of issue 15: see `postgres`'s module doc for
    /// what is built). A URL that does not parse, credentials or a database the server
    /// refuses, or a schema newer than this cauda knows are errors; a database that does not
    /// answer yet is not: the engine is returned unavailable ([`Engine::unavailable`]) and
    /// opens as soon as the database answers.
    pub async fn open_postgres(
        url: &str,
        clock: Arc<dyn Clock>,
        settings: EngineSettings,
    ) -> Result<Arc<Engine>, String> {
        let (pool, config) = postgres::open_pool(
            url,
            settings.sync_writes,
            settings.database_ca_file.as_deref(),
        )
        .map_err(|e| postgres::describe(&e))?;
        let pg = Arc::new(postgres::Postgres::new(
            pool,
            settings.region.clone(),
            settings.move_task_lease_ms,
            settings.shuffle_seed,
            clock.clone(),
        ));
        let opened = pg.open().await;
        // What is not behind the seam yet (store statistics) stays on a node-local memory
        // store.
        let engine = Arc::new(Engine::new(
            Arc::new(MemoryStore::new()),
            Some(pg.clone()),
            clock,
            settings,
        ));
        match opened {
            Ok(records) => {
                let count = engine.register_stored(records).len();
                pg.health.set_opened();
                tracing::info!(queues = count, "postgres backend opened");
            }
            Err(e) if e.is_transient() => tracing::error!(
                error = %postgres::describe(&e),
                "postgres backend: the database does not answer; cauda starts without it, \
                 answers requests 500 InternalFailure and /health 503, and opens as soon as \
                 it answers (tried every second)"
            ),
            Err(e) => return Err(postgres::describe(&e)),
        }
        pg.spawn_janitor(Arc::downgrade(&engine));
        postgres::health::spawn(config, Arc::downgrade(&engine), pg);
        Ok(engine)
    }

    /// Why the engine cannot serve requests now (its backend's database unreachable);
    /// `None` when it can.
    pub fn unavailable(&self) -> Option<&'static str> {
        self.state.unavailable()
    }

    /// An engine whose message state is `state`, or the local backend over `store`; with
    /// `state`, `store` keeps only what is not behind [`MessageState`] yet.
    fn new(
        store: Arc<dyn Store>,
        state: Option<Arc<dyn MessageState>>,
        clock: Arc<dyn Clock>,
        settings: EngineSettings,
    ) -> Engine {
        let journal = Journal::open(store, settings.sync_writes);
        let shutdown = watch::channel(false).0;
        let long_polls = tokio::sync::Semaphore::new(settings.max_long_polls);
        let local = Arc::new(local::Local::new(
            journal,
            clock.clone(),
            shutdown.subscribe(),
            settings.shuffle_seed,
        ));
        Engine {
            state: state.unwrap_or_else(|| local.clone()),
            local,
            clock,
            settings,
            queues: RwLock::new(BTreeMap::new()),
            registry_gate: tokio::sync::Mutex::new(()),
            deleted_at: Mutex::new(HashMap::new()),
            shutdown,
            runners: move_tasks::Runners::default(),
            long_polls,
        }
    }

    /// Starts the background work: the janitor and the message move tasks this node is to run
    /// (left running, or, with leases, whose lease expired).
    pub fn start(self: &Arc<Self>) {
        self.state.clone().start();
        move_tasks::resume(self);
    }

    /// Releases long-poll waiters and stops background work.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
        for q in self.queues.read().expect("registry").values() {
            q.notify.notify_waiters();
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// The store's journal size and flushes, for the metrics.
    pub fn store_stats(&self) -> crate::store::StoreStats {
        self.local.journal().stats()
    }

    /// Flushes the store (graceful shutdown).
    pub fn flush(&self) -> EngineResult<()> {
        Ok(self.local.journal().store().flush()?)
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now_ms()
    }

    pub fn arn(&self, account: &str, region: &str, name: &str) -> String {
        queue::arn(region, account, name)
    }
}
