//! [`Postgres`]: the [`MessageState`] over the `cauda` schema (phase 1: see the module doc's
//! "Built so far"). Each operation is one transaction on a pooled connection; the shared
//! rules (send preparation, receipt-handle checks, the visibility rule) run on the rows it
//! read, locked `FOR UPDATE`.

mod admin;
mod attempts;
mod groups;
mod handles;
mod move_tasks;
mod queues;
mod receive;
mod receive_fifo;
mod send;

#[cfg(test)]
pub(super) use admin::EXACT_COUNT_LIMIT;
#[cfg(test)]
pub(super) use receive::READY;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use deadpool_postgres::{Pool, Transaction};
use rand::rngs::StdRng;
use tokio_postgres::Row;

use crate::clock::Clock;
use crate::engine::move_tasks::{MoveStep, NextMove, TaskMove};
use crate::engine::peek::{PeekRequest, PeekedMessage};
use crate::engine::queue::{Counts, MessageStateRecord, Queue, QueueRecord, QueueSlot, QueueStats};
use crate::engine::receive::{Claim, Claimed};
use crate::engine::send::{SendEntry, SendOutcome, Sending};
use crate::engine::state::{MessageState, RecordChange, SharedStore, StateFuture};
use crate::engine::{EngineError, EngineResult};
use crate::store::records;

use super::health::Health;
use super::listen::{CHANNEL, REGISTRY_CHANNEL};
use super::{schema, OpenError};

/// The PostgreSQL backend of one node.
pub(crate) struct Postgres {
    pool: Pool,
    /// The region of a record that names none (never written by this backend).
    default_region: String,
    /// The engine's clock: the times this backend writes of its own (a queue's deletion).
    clock: Arc<dyn Clock>,
    /// Whether this node can serve: opened, and the database reachable.
    pub(crate) health: Health,
    /// This node's random id: the owner of the message move tasks it runs.
    node: String,
    /// How long this node's lease of a move task lasts, in milliseconds.
    lease_ms: u64,
    /// `--shuffle-seed`: standard queues deliver in an order drawn from it.
    shuffle_seed: Option<u64>,
    /// Each queue's generator of that order, by queue id, seeded at its first receive on
    /// this node.
    shuffles: Mutex<HashMap<u64, StdRng>>,
    /// Where this node's janitor goes on looking for empty `fifo_groups` rows: the last
    /// (queue id, group) it looked at (`groups.rs`).
    group_cursor: Mutex<(i64, String)>,
}

/// What the backend keeps per queue: its record as this node last read or wrote it.
struct Slot {
    record: RwLock<QueueRecord>,
}

fn slot(q: &Queue) -> &Slot {
    // One engine has one backend, which made every queue's slot.
    q.slot::<Slot>().expect("a queue of the postgres backend")
}

fn record_of(q: &Queue) -> QueueRecord {
    slot(q)
        .record
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// A database failure: logged here, answered as InternalFailure.
fn failed(e: &dyn std::fmt::Display) -> EngineError {
    tracing::error!(error = %e, "postgres backend: database failure");
    EngineError::Internal
}

fn db(e: tokio_postgres::Error) -> EngineError {
    failed(&super::describe(&e))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A message row's state (`visible_at, receive_count, first_receive_at, received_at` from
/// column `at` on).
fn state_of(row: &Row, at: usize) -> MessageStateRecord {
    MessageStateRecord {
        visible_at: to_u64(row.get(at)),
        receive_count: u32::try_from(row.get::<_, i32>(at + 1)).unwrap_or(0),
        first_receive_at: row.get::<_, Option<i64>>(at + 2).map(to_u64),
        received_at: to_u64(row.get(at + 3)),
    }
}

impl Postgres {
    pub(crate) fn new(
        pool: Pool,
        default_region: String,
        lease_ms: u64,
        shuffle_seed: Option<u64>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Postgres {
            pool,
            default_region,
            clock,
            health: Health::default(),
            node: uuid::Uuid::new_v4().to_string(),
            lease_ms,
            shuffle_seed,
            shuffles: Mutex::default(),
            group_cursor: Mutex::default(),
        }
    }

    /// A pooled connection. A failure to get one is the database lost: this node is not
    /// ready until the health check reaches it again.
    async fn client(&self) -> EngineResult<deadpool_postgres::Object> {
        match self.pool.get().await {
            Ok(client) => Ok(client),
            Err(e) => {
                let why = super::describe(&e);
                self.health.lost(&why);
                Err(failed(&why))
            }
        }
    }

    /// Connects, makes the schema current and reads every stored queue's record: what the
    /// node needs before it serves.
    pub(crate) async fn open(&self) -> Result<Vec<QueueRecord>, OpenError> {
        let mut client = self.pool.get().await.map_err(|e| OpenError::connect(&e))?;
        let found = schema::migrate(&mut client).await?;
        if found < schema::VERSION {
            tracing::info!(
                from = found,
                to = schema::VERSION,
                "migrated the cauda schema"
            );
        }
        drop(client);
        self.stored_queues().await.map_err(|_| OpenError::Connect {
            message: "cannot read the queues (see the log)".into(),
            transient: true,
        })
    }

    /// One cheap statement on a pooled connection: whether the database answers.
    pub(crate) async fn ping(&self) -> Result<(), String> {
        let client = self.pool.get().await.map_err(|e| super::describe(&e))?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| super::describe(&e))?;
        Ok(())
    }

    /// Every stored queue's record, for the engine's registry at open.
    pub(crate) async fn stored_queues(&self) -> EngineResult<Vec<QueueRecord>> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT record FROM cauda.queues ORDER BY id", &[])
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| records::decode(r.get::<_, &[u8]>(0)).map_err(|e| failed(&e)))
            .collect()
    }

    async fn next_id(&self) -> EngineResult<u64> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT nextval('cauda.ids')", &[])
            .await
            .map_err(db)?;
        Ok(to_u64(row.get(0)))
    }
}

/// Tells every node, when the transaction commits, that queue `id` was created, changed or
/// deleted.
async fn notify_registry(tx: &Transaction<'_>, id: u64) -> EngineResult<()> {
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&REGISTRY_CHANNEL, &id.to_string()],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// Wakes the long polls of queue `id` on every node when the transaction commits.
async fn notify_ready(tx: &Transaction<'_>, id: u64) -> EngineResult<()> {
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id.to_string()])
        .await
        .map_err(db)?;
    Ok(())
}

impl MessageState for Postgres {
    fn enqueue<'a>(
        &'a self,
        sending: &'a Sending<'a>,
        entries: Vec<SendEntry>,
    ) -> StateFuture<'a, Vec<EngineResult<SendOutcome>>> {
        Box::pin(self.enqueue(sending, entries))
    }

    fn claim<'a>(&'a self, claim: &'a Claim<'a>) -> StateFuture<'a, Option<Claimed>> {
        Box::pin(self.claim(claim))
    }

    fn next_to_move<'a>(&'a self, source: &'a Queue, now: u64) -> StateFuture<'a, NextMove> {
        Box::pin(self.next_to_move(source, now))
    }

    fn move_message<'a>(&'a self, m: TaskMove<'a>) -> StateFuture<'a, MoveStep> {
        Box::pin(self.move_for_task(m))
    }

    fn update_queue<'a>(
        &'a self,
        q: &'a Queue,
        change: &'a mut RecordChange<'_>,
    ) -> StateFuture<'a, ()> {
        Box::pin(self.update_record(q, change))
    }

    fn with_record(&self, q: &Queue, read: &mut dyn FnMut(&QueueRecord)) {
        read(
            &slot(q)
                .record
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        );
    }

    fn counts<'a>(&'a self, q: &'a Queue, now: u64) -> StateFuture<'a, Counts> {
        Box::pin(async move { Ok(self.stats(q, now).await?.counts) })
    }

    fn stats<'a>(&'a self, q: &'a Queue, now: u64) -> StateFuture<'a, QueueStats> {
        Box::pin(self.stats(q, now))
    }

    fn peek<'a>(
        &'a self,
        q: &'a Queue,
        req: PeekRequest,
        now: u64,
    ) -> StateFuture<'a, Vec<PeekedMessage>> {
        Box::pin(self.peek(q, req, now))
    }

    /// Nothing to forget: the queue's rows went with its record (`ON DELETE CASCADE`).
    fn queue_deleted(&self, _q: &Arc<Queue>) {}

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

    /// Nothing more to start: the janitor ([`Postgres::spawn_janitor`]) and the listener
    /// start with the engine (`Engine::open_postgres`), which they need.
    fn start(self: Arc<Self>) {}

    fn create_queue<'a>(&'a self, record: &'a QueueRecord) -> StateFuture<'a, ()> {
        Box::pin(self.store_queue(record))
    }

    fn delete_queue<'a>(&'a self, q: &'a Queue) -> StateFuture<'a, ()> {
        Box::pin(self.remove_queue(q))
    }

    fn queue_id(&self) -> StateFuture<'_, u64> {
        Box::pin(self.next_id())
    }

    fn queue_slot(&self, record: QueueRecord) -> QueueSlot {
        Box::new(Slot {
            record: RwLock::new(record),
        })
    }
}

impl SharedStore for Postgres {
    fn is_shared(&self) -> bool {
        true
    }

    fn stored_queue<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        name: &'a str,
    ) -> StateFuture<'a, Option<QueueRecord>> {
        Box::pin(self.stored_queue_named(account, region, name))
    }

    fn deleted_at<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        name: &'a str,
    ) -> StateFuture<'a, Option<u64>> {
        Box::pin(self.deleted_at(account, region, name))
    }

    fn unavailable(&self) -> Option<&'static str> {
        self.health.unavailable()
    }
}
