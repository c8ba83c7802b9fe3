//! The PostgreSQL backend (`--backend postgres`, issue 15): message state in one database
//! shared by every cauda node over it, so that any node answers any request. This is the
//! design; what is built so far is listed at the end.
//!
//! # Crates
//!
//! `tokio-postgres` with `deadpool-postgres`, not `sqlx`: the backend has a few dozen
//! hand-written statements, prepared at run time and cached per connection
//! (`prepare_cached`); sqlx's checked queries would need a database (or committed offline
//! metadata) at build time and a larger macro-heavy build on a 2-core machine, for checks the
//! integration tests make anyway. tokio-postgres exposes LISTEN/NOTIFY as the connection's
//! own message stream (`AsyncMessage::Notification`) and pipelines statements on one
//! connection; deadpool is a small pool that checks a connection before handing it out
//! again. Both are maintained by the same small, long-lived set of projects.
//!
//! # Tables (schema `cauda`, migrated at start by [`schema`])
//!
//! Times are epoch milliseconds (`bigint`) from the engine's [`Clock`](crate::clock::Clock),
//! as in the embedded backend, so the same rules and `ManualClock` tests apply; the nodes'
//! clocks must agree (NTP): a skew of *d* shifts visibility deadlines seen across nodes by
//! *d*. Records are stored with [`records::encode`](crate::store::records) (the embedded
//! store's versioned MessagePack) in `bytea`, with the columns that statements filter on
//! beside them.
//!
//! - `queues(id, account, region, name, record, version, last_purge_at)`: the registry's
//!   truth. `UNIQUE(account, region, name)` decides a CreateQueue race between nodes (the
//!   loser reads the winner's row and compares attributes, as CreateQueue of an existing name
//!   does). `version` grows at each SetQueueAttributes/tag/policy change. Queue ids come from
//!   the sequence `ids`, so they are unique across nodes and keep the receipt-handle format.
//! - `messages(queue_id, seq, message_id, record, group_id, sent_at, visible_at,
//!   receive_count, first_receive_at, received_at)`, primary key `(queue_id, seq)`;
//!   partial indexes `messages_ready (queue_id, seq) WHERE visible_at <= sent_at` (visible
//!   since their send, or promoted: what a standard receive takes, oldest first),
//!   `messages_waiting (queue_id, visible_at) WHERE visible_at > sent_at` (delayed, in flight,
//!   due for promotion) and `messages_in_flight` (the same `AND receive_count > 0`: the
//!   in-flight limit and count); `(queue_id, sent_at)` (retention), `(queue_id, group_id,
//!   seq)` (FIFO and fair groups). Every statement a receive runs is a bounded range of one
//!   of them, so its cost does not grow with the queue's depth. `seq` is
//!   `nextval('message_seq')`, the FIFO SequenceNumber. Messages of a deleted queue go with
//!   it (`ON DELETE CASCADE`).
//! - `dedup(queue_id, key, expires_at, message_id, seq)`, primary key `(queue_id, key)`: a
//!   FIFO send first takes a transaction advisory lock on the key's hash, so that a second
//!   send of the key (on any node) waits for the first to commit and then finds its live
//!   entry: a duplicate, whose outcome is the first message's. An expired entry is replaced.
//!   Indexed by `(queue_id, expires_at)` for the janitor, as `receive_attempts` is.
//! - `fifo_groups(queue_id, group_id)`: one row per FIFO group with messages. A FIFO send
//!   locks its group's row before taking its `seq`, so that within a group `seq` order is
//!   commit order (a sequence alone is not: two sends may commit in the other order, and a
//!   receive could deliver 11 before 10 commits). Each janitor round forgets a page of rows
//!   whose group has no message left (`backend/groups.rs` says how without a race).
//! - `receive_attempts(queue_id, attempt_id, expires_at, seqs, generations, visible_ats,
//!   visibility_timeout)`: a FIFO
//!   ReceiveRequestAttemptId replayed within 5 minutes while its messages are unchanged.
//! - `move_tasks(handle, source_arn, destination_arn, status, started_at, record, owner,
//!   lease_until)`, primary key the task's handle: message move tasks, seen by every node. A
//!   partial unique index on `source_arn` `WHERE status = 'RUNNING'` decides a
//!   StartMessageMoveTask race between nodes (one active task per source); `owner` (the
//!   running node's random id) and `lease_until` are the lease.
//! - `schema_version(version, cauda_version, applied_at)`.
//!
//! # Statements
//!
//! Every request is one transaction, answered after COMMIT returns: *acknowledged means
//! committed*. What committed then promises is the database's: with `synchronous_commit=on`
//! the WAL is flushed on the primary; with synchronous replicas (`synchronous_standby_names`,
//! `remote_write`/`on`/`remote_apply`) it is on them too. `--durability relaxed` sets
//! `synchronous_commit=off` for cauda's sessions (a crash of the database may lose the last
//! ~3 × `wal_writer_delay` of acknowledged writes, never leaves them half-applied).
//!
//! - **Send**: validation, digests and dedup keys are the shared [`Sending::prepare`]; the
//!   backend inserts the batch's rows (and dedup rows) in one transaction, then `pg_notify`.
//! - **Receive, standard**, in the embedded engine's order (oldest *sent* first, so a message
//!   whose visibility timeout lapsed goes back to its place, not behind later sends). A
//!   visible message's `visible_at` only matters as "at or before now", so a claim first
//!   *promotes* up to 256 messages that became visible (`UPDATE … SET visible_at = sent_at`,
//!   oldest due first, `SKIP LOCKED`) into `messages_ready`, as the embedded engine's
//!   `promote` moves them from `waiting` to `ready` (once per change of visibility); then
//!   `SELECT seq … WHERE queue_id = $1 AND visible_at <= sent_at AND visible_at <= $now ORDER
//!   BY seq LIMIT $max FOR UPDATE SKIP LOCKED` and `UPDATE … SET visible_at, receive_count +
//!   1, received_at, first_receive_at … RETURNING …`: concurrent receivers on any node skip
//!   each other's rows instead of waiting, and a message goes to one receiver at a time.
//!   More than 256 messages becoming visible at once are delivered in order from the next
//!   claims on. A message is ready at its send unless delayed; one moved to a dead-letter
//!   queue at receive is inserted ready. EXPLAIN on 1M rows (generic plans): `Limit →
//!   LockRows → Index Scan using messages_ready`, 30 buffers, 0.13 ms; promotion with none
//!   due is one probe of `messages_waiting` (0.03 ms), 500 due take 14 ms. Measured through
//!   the engine (machine loaded, load average 11 on 2 cores), 300 receives of 10 and their
//!   deletes: p50 5.0 / 5.4 ms at 10,000 messages, 6.2 / 6.3 ms at 1,000,000; p99 16–29 ms
//!   at both. The in-flight limit is a bounded count of `messages_in_flight` (`LIMIT
//!   max_inflight`).
//! - **Fair queues** (standard queues with MessageGroupIds; one probe of the group index
//!   says whether any is held): as the embedded engine, a window of the `20 × max + 100`
//!   oldest ready messages, the first of each group (ungrouped messages count as one group)
//!   in send order, then the rest (`row_number() OVER (PARTITION BY group_id)`); the picks,
//!   read without locks, are then locked `SKIP LOCKED`, and the oldest others fill the places
//!   of those another claim holds (fairness is best effort under concurrent receives).
//! - **`--shuffle-seed`** (a testing mode): every due message is promoted, and `max` of the
//!   visible ones are drawn by the queue's generator, seeded as the embedded engine's (seed
//!   xor the FNV-1a hash of the queue's name) at the queue's first receive *on this node*
//!   and kept by the node. On one node the order is bit-identical to the embedded
//!   engine's for the same seed and sends; with several nodes each draws from its own
//!   generator, so the order is reproducible only per node and request interleaving.
//! - **Receive, FIFO**: group by group, as SQS returns "as many messages with the same
//!   message group ID as possible": the candidate groups are ranked by their oldest
//!   receivable message, as many as should fill the receive are locked (`fifo_groups`,
//!   `ORDER BY rank LIMIT k FOR UPDATE SKIP LOCKED`: a group is received by one claim at a
//!   time, and a claim skips a held group for the next), then each held group gives its
//!   messages by `seq` from the head up to its first invisible one (a range of
//!   `messages_by_group` bounded by the group's first blocked `seq`), as the shared FIFO rule
//!   says. Fair queues: a standard claim ordered
//!   by each group's rank (`row_number() OVER (PARTITION BY group_id)`).
//! - **Dead-letter moves** at receive: in the claim's transaction, rows already received
//!   maxReceiveCount times are inserted into the dead-letter queue (as the shared
//!   [`redrive`](super::redrive) rule makes them) and deleted from the source; the claim
//!   re-reads the source's RedrivePolicy in the same transaction (`None` if it changed). On a
//!   FIFO queue the candidates are the held groups' receivable messages (`FOR UPDATE`): one
//!   due for the dead-letter queue moves (into its group's row of the FIFO dead-letter
//!   queue) and no longer blocks its group, whose next messages are delivered by the same
//!   claim. That row is locked `SKIP LOCKED`, never waited for: when another transaction
//!   holds it, the message stays and its group gives nothing more to this claim. (Waiting
//!   could deadlock two claims of FIFO queues that redrive to each other, each holding its
//!   own group row.)
//! - **Receipt handles**: the embedded engine's [`ReceiptHandle`](super::receipt)
//!   unchanged (queue id, `seq`, generation = receive count). Delete and
//!   ChangeMessageVisibility read the row `FOR UPDATE`, apply the shared rules
//!   (`check_current`, `visibility_change`) to it, then write: stale handles are rejected
//!   exactly as in the embedded engine.
//! - **Purge**: `UPDATE queues SET last_purge_at = $now WHERE id = $1 AND (last_purge_at IS
//!   NULL OR last_purge_at <= $now - cooldown)`, then delete the messages sent before and the
//!   dedup rows, in one transaction.
//! - **Retention**: messages past their retention are never delivered, counted or acted on
//!   (every statement filters `sent_at`); their rows are deleted by each node's janitor
//!   (`Postgres::spawn_janitor`, on the engine's clock): every 10 s one statement finds the
//!   queues with something due (per queue three index probes: its oldest `sent_at` against
//!   its retention, its oldest dedup and receive-attempt `expires_at`; 3 ms for 1,000 idle
//!   queues), and each such queue is expired in transactions of at most 1,000 rows of each
//!   kind (messages by the `sent_at` index, rows another transaction holds skipped), each
//!   holding `pg_try_advisory_xact_lock(queue id)`: while one node expires a queue, the
//!   others leave it. So a queue with no traffic is cleaned too, at most 10 s late, and a
//!   node with nothing due runs one cheap statement per round. `Engine::expire` (a shorter
//!   retention set) runs the same batches. A redriven message (move task) is a new message
//!   with `sent_at` = the move (the shared `MoveKind::Redrive`), so its retention restarts.
//! - **Counts**: exact for a queue of up to 10,000 rows (one scan bounded by `LIMIT
//!   10001`). Above, SQS-like approximations in constant time: in flight and delayed are
//!   counted by their partial indexes (up to 100,000 each), the total is the planner's
//!   estimate of the queue's rows (`EXPLAIN … WHERE queue_id = <id>`: the column statistics
//!   of the last ANALYZE, scaled to the table's current size), visible is the rest; the
//!   oldest message's age stays exact (one probe). While the statistics do not yet know the
//!   queue is large (no ANALYZE since it grew; autovacuum analyzes after 10% of the table
//!   changed) it is counted exactly instead. Measured at 1,000,000 messages: 11–22 ms with
//!   statistics (estimate within 0.4% of the truth), 590 ms for the exact fallback before
//!   the first ANALYZE. Rows past their retention that the janitor has not deleted yet are
//!   in the estimated total.
//! - **Move tasks** (`backend/move_tasks.rs`): the node that starts a task holds its lease
//!   (`owner` = the node's random id, `lease_until` = now + `--move-task-lease-secs`), which
//!   its runner renews every third of the lease; every node looks for expired leases every
//!   third of the lease and takes such a task over with `UPDATE … WHERE status = 'RUNNING'
//!   AND lease_until < $now RETURNING` (one node wins each row). Each step is one
//!   transaction: the task's row locked `FOR UPDATE` and checked (RUNNING, owned by this
//!   node), the message's row locked and checked (there, visible), the insert into the
//!   destination, the delete from the source, the task's progress. A takeover waits for a
//!   step in progress, so it repeats nothing and loses nothing; a runner whose step finds
//!   the task cancelled (by any node) or owned by another stops without writing.
//!   A graceful shutdown gives the node's leases up (`owner` and `lease_until` cleared), so
//!   another node takes its tasks over at its next look, not when the leases expire.
//!   ListMessageMoveTasks and CancelMessageMoveTask read and write the table from any node.
//! - **Long polls across nodes**: one dedicated connection per node (not pooled) `LISTEN`s
//!   on `cauda_ready`; a send, a visibility change to 0 and a purge `pg_notify` the queue id in
//!   their transaction (delivered at commit) and the listener wakes that queue's waiters
//!   (`Queue::notify`). A message becoming visible by its timeout needs no notification: the
//!   claim returns `next_visible_at` and the waiter sleeps until then. Without NOTIFY
//!   (CockroachDB, YugabyteDB) or while the listener reconnects, a waiting receive claims
//!   again every `fallback_poll` (bounded, default 1 s): slower, never spinning.
//!
//! # What the shared engine must change for several nodes
//!
//! The registry (`Engine::queues`) is a per-process map of `Arc<Queue>` handles, and queue
//! lookups are synchronous. Over postgres it stays, as a *cache* of handles (a handle
//! carries node-local things: long-poll waiters, rate counters), the `queues` table being
//! the truth. Done: CreateQueue, DeleteQueue and record changes `pg_notify('cauda_registry',
//! id)`; every node's listener makes its registry follow the stored record
//! (`Engine::follow_stored`), every stored queue is followed once the listener listens, and
//! a check every 5 s compares stored versions with those last seen, so a lost notification
//! delays a change (within SQS's own "up to 60 seconds" for attribute changes), never loses
//! it. SetQueueAttributes edits the stored record locked `FOR UPDATE`, not the node's copy.
//! Queue ids come from the backend
//! ([`MessageState::queue_id`](super::state::MessageState::queue_id)). Message move task
//! records are behind the seam
//! ([`MoveTaskRecords`](super::state::MoveTaskRecords): the local backend journals them as
//! before, with no leases; postgres keeps them in `move_tasks` with leases), and the engine's
//! task runner renews its lease and stops when a step finds the task no longer its own.
//! A lookup the registry misses (GetQueueUrl, every action taking a QueueUrl:
//! `Engine::find_queue`) reads `queues` by name before answering QueueDoesNotExist, so a
//! queue created on node A is usable on node B at once. CreateQueue checks the stored record
//! (a handle another node deleted or replaced is not handed out), and one that loses the
//! unique key to another node answers as CreateQueue of an existing name (the winner's URL,
//! or QueueNameExists). The queue-deleted cooldown reads `deleted_queues` (each name's last
//! deletion, by any node) and the purge cooldown `queues.last_purge_at`: both hold across
//! nodes (times from the nodes' clocks).
//! To do: statements that depend on the record (the claim's RedrivePolicy, the dedup scope)
//! re-read it in their transaction; the engine's `local` field (store stats, flush) becomes
//! backend-neutral; an index of queues by id replaces the listener's registry scan; a queue
//! deleted on another node stays usable here (its requests then find no rows) until this
//! node hears of it, and ListQueues reads only the registry.
//!
//! # The database down
//!
//! [`health`]: a URL that does not parse, a refusal by the server (role, password,
//! database, privileges) or a newer schema stop the start; a database that does not answer
//! does not: the node starts, answers every SQS request 500 InternalFailure and `/health`
//! 503, and opens (schema, stored queues, listener) as soon as the database answers. While
//! serving, a `SELECT 1` every 2 s (and any request that cannot get a connection) notices a
//! lost database; the node is then not ready until it answers again, without a restart.
//!
//! # Built so far (phase 1)
//!
//! - [`schema`]: created and migrated at start, versioned, refused when newer.
//! - [`Postgres`]: queue create/get/list/delete, attributes, tags and policies (shared
//!   across nodes, [`listen`]); SendMessage(Batch) to standard and FIFO queues (FIFO
//!   deduplication, sequence numbers, per-group commit order); ReceiveMessage of standard
//!   queues (SKIP LOCKED) and FIFO queues (group rows locked, head up to the first in-flight
//!   message; ReceiveRequestAttemptId replayed within 5 minutes while its messages are
//!   unchanged); the embedded engine's delivery order on standard queues (oldest sent
//!   first, fair queues, `--shuffle-seed`); dead-letter moves at a standard or FIFO queue's
//!   receive, in the claim's transaction; message move tasks (Start, List, Cancel from any
//!   node; leased to one node, taken over when its lease expires; `--move-task-lease-secs`);
//!   visibility, receive counts; DeleteMessage(Batch) and ChangeMessageVisibility(Batch) with
//!   the shared handle rules; counts (estimated above 10,000 messages) and the oldest
//!   message's age; purge with its cooldown; an operator's peek and delete by message id;
//!   retention by a janitor on every node and `Engine::expire`; long polls woken across
//!   nodes (LISTEN/NOTIFY, 2 s fallback poll).
//! - TLS to the database as the URL's `sslmode` says, the server verified with
//!   `--database-ca-file` (`tls.rs`).
//! - Nothing is refused any more for want of the backend. An operator's peek shows a
//!   promoted visible message's `visible_at` as its send time.

mod backend;
pub(crate) mod health;
pub(crate) mod listen;
pub(crate) mod schema;
mod tls;

pub(crate) use backend::Postgres;
#[cfg(test)]
pub(crate) mod testdb;
#[cfg(test)]
mod tests;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Connections a node keeps to the database at most.
const POOL_SIZE: usize = 16;

/// How long a connection attempt may take unless the URL says (`connect_timeout`): a
/// database host that drops packets fails requests after this, instead of holding them.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("the database URL does not parse: {0}")]
    Url(tokio_postgres::Error),
    #[error("cannot connect to the database: {message}")]
    Connect {
        message: String,
        /// The database may answer later (not reachable, starting up, too many
        /// connections), as opposed to a refusal an operator must fix (credentials, a
        /// database that does not exist).
        transient: bool,
    },
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    /// `--database-ca-file` cannot be read or holds no certificate.
    #[error("{0}")]
    Tls(String),
}

impl OpenError {
    /// Whether waiting may help: the node then starts, not ready, and opens once the
    /// database answers; otherwise the start stops (an operator's error).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            OpenError::Url(_)
            | OpenError::Tls(_)
            | OpenError::Schema(schema::SchemaError::Newer { .. }) => false,
            OpenError::Connect { transient, .. } => *transient,
            OpenError::Schema(schema::SchemaError::Database(e)) => is_transient(e),
        }
    }

    pub(crate) fn connect(e: &deadpool_postgres::PoolError) -> OpenError {
        let transient = match e {
            deadpool_postgres::PoolError::Backend(e) => is_transient(e),
            _ => true,
        };
        OpenError::Connect {
            message: describe(e),
            transient,
        }
    }
}

/// `e` and the errors under it, each once: "db error" alone says nothing, the database's
/// message under it does ("FATAL: role … does not exist", "Connection refused").
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut under = e.source();
    while let Some(cause) = under {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        under = cause.source();
    }
    text
}

/// A failure the database may not repeat: no answer at all (refused, reset, timed out), or
/// an answer that says "later". Wrong credentials, a missing database or missing privileges
/// are not.
fn is_transient(e: &tokio_postgres::Error) -> bool {
    let Some(db) = e.as_db_error() else {
        return true;
    };
    let code = db.code();
    *code == SqlState::CANNOT_CONNECT_NOW
        || *code == SqlState::TOO_MANY_CONNECTIONS
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || code.code().starts_with("08")
}

/// The pool of connections to the database `url` names, its configuration and its TLS
/// connector (for the LISTEN connection; `ca_file`: see [`tls`]); nothing is connected yet ([`Postgres::open`] connects and makes the
/// schema current). `sync_writes` false (`--durability relaxed`): cauda's sessions commit
/// with `synchronous_commit=off` (a database crash may lose the last acknowledged commits,
/// never part of one); otherwise the database's own setting applies.
pub(crate) fn open_pool(
    url: &str,
    sync_writes: bool,
    ca_file: Option<&std::path::Path>,
) -> Result<(Pool, Connect), OpenError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(OpenError::Url)?;
    let tls = tls::connector(ca_file).map_err(OpenError::Tls)?;
    if !sync_writes {
        let options = match config.get_options() {
            Some(o) => format!("{o} -c synchronous_commit=off"),
            None => "-c synchronous_commit=off".to_string(),
        };
        config.options(&options);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let manager = Manager::from_config(
        config.clone(),
        tls.clone(),
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(POOL_SIZE)
        .build()
        .map_err(|e| OpenError::Connect {
            message: e.to_string(),
            transient: false,
        })?;
    Ok((pool, Connect { config, tls }))
}

/// How to open a connection outside the pool (the LISTEN connection): the pool's
/// configuration and TLS connector.
#[derive(Clone)]
pub(crate) struct Connect {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: MakeRustlsConnect,
}
