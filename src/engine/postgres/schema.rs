//! The `cauda` schema: created on start and migrated in order, versioned in
//! `cauda.schema_version`. Nodes starting together migrate one at a time (a transaction-scoped
//! advisory lock); a database whose schema is newer than this cauda knows is refused.

use tokio_postgres::GenericClient;

/// The schema's name.
pub(crate) const SCHEMA: &str = "cauda";

/// Each migration takes the schema from the version before it (its index) to the next.
const MIGRATIONS: &[&str] = &[
    // 1: queues, messages, FIFO deduplication and groups, receive attempts, move tasks.
    // Deduplication keys are bytea: a per-group key holds a NUL between group and id.
    r"
    CREATE SEQUENCE cauda.ids;
    CREATE SEQUENCE cauda.message_seq;
    CREATE TABLE cauda.queues (
        id bigint PRIMARY KEY,
        account text NOT NULL,
        region text NOT NULL,
        name text NOT NULL,
        record bytea NOT NULL,
        version bigint NOT NULL DEFAULT 1,
        last_purge_at bigint,
        UNIQUE (account, region, name)
    );
    CREATE TABLE cauda.messages (
        queue_id bigint NOT NULL REFERENCES cauda.queues (id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        message_id text NOT NULL,
        record bytea NOT NULL,
        group_id text,
        sent_at bigint NOT NULL,
        visible_at bigint NOT NULL,
        receive_count integer NOT NULL DEFAULT 0,
        first_receive_at bigint,
        received_at bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (queue_id, seq)
    );
    -- Visible since their send or promoted (visible_at set back to sent_at once due, see
    -- receive.rs): what a standard receive takes, in send order.
    CREATE INDEX messages_ready ON cauda.messages (queue_id, seq) WHERE visible_at <= sent_at;
    -- Delayed, in flight, or visible again but not yet promoted, by when they become visible.
    CREATE INDEX messages_waiting ON cauda.messages (queue_id, visible_at)
        WHERE visible_at > sent_at;
    -- In flight (or visible again, not yet promoted): the in-flight limit and count.
    CREATE INDEX messages_in_flight ON cauda.messages (queue_id, visible_at)
        WHERE receive_count > 0 AND visible_at > sent_at;
    CREATE INDEX messages_by_sent_at ON cauda.messages (queue_id, sent_at);
    CREATE INDEX messages_by_group ON cauda.messages (queue_id, group_id, seq)
        WHERE group_id IS NOT NULL;
    CREATE UNIQUE INDEX messages_by_id ON cauda.messages (queue_id, message_id);
    CREATE TABLE cauda.dedup (
        queue_id bigint NOT NULL REFERENCES cauda.queues (id) ON DELETE CASCADE,
        key bytea NOT NULL,
        expires_at bigint NOT NULL,
        message_id text NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (queue_id, key)
    );
    CREATE INDEX dedup_by_expiry ON cauda.dedup (queue_id, expires_at);
    CREATE TABLE cauda.fifo_groups (
        queue_id bigint NOT NULL REFERENCES cauda.queues (id) ON DELETE CASCADE,
        group_id text NOT NULL,
        PRIMARY KEY (queue_id, group_id)
    );
    CREATE TABLE cauda.receive_attempts (
        queue_id bigint NOT NULL REFERENCES cauda.queues (id) ON DELETE CASCADE,
        attempt_id text NOT NULL,
        expires_at bigint NOT NULL,
        seqs bigint[] NOT NULL,
        generations integer[] NOT NULL,
        visible_ats bigint[] NOT NULL,
        visibility_timeout integer NOT NULL,
        PRIMARY KEY (queue_id, attempt_id)
    );
    CREATE INDEX receive_attempts_by_expiry ON cauda.receive_attempts (queue_id, expires_at);
    CREATE TABLE cauda.move_tasks (
        handle text PRIMARY KEY,
        source_arn text NOT NULL,
        destination_arn text,
        status text NOT NULL,
        started_at bigint NOT NULL,
        record bytea NOT NULL,
        owner text,
        lease_until bigint NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX move_tasks_one_running ON cauda.move_tasks (source_arn)
        WHERE status = 'RUNNING';
    CREATE INDEX move_tasks_by_source ON cauda.move_tasks (source_arn, started_at);
    CREATE INDEX move_tasks_by_lease ON cauda.move_tasks (lease_until)
        WHERE status = 'RUNNING';
    ",
    // 2: when each queue name was last deleted, by any node (the queue-deleted cooldown).
    r"
    CREATE TABLE cauda.deleted_queues (
        account text NOT NULL,
        region text NOT NULL,
        name text NOT NULL,
        deleted_at bigint NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    ",
];

/// The schema version this cauda writes and reads.
pub(crate) const VERSION: i32 = MIGRATIONS.len() as i32;

/// Why the schema could not be made current.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    #[error("the database's cauda schema is version {found}, newer than this cauda knows ({VERSION}): upgrade cauda, or use another database or schema")]
    Newer { found: i32 },
    #[error("cannot migrate the cauda schema: {0}")]
    Database(#[from] tokio_postgres::Error),
}

/// Creates the schema or migrates it to [`VERSION`], in one transaction; returns the version
/// found before. Concurrent callers (nodes starting together) run one after the other.
pub(crate) async fn migrate(client: &mut tokio_postgres::Client) -> Result<i32, SchemaError> {
    let tx = client.transaction().await?;
    // Any constant key: only cauda's migrations take it.
    tx.execute("SELECT pg_advisory_xact_lock(4242015)", &[])
        .await?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {SCHEMA};
         CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (
             version integer NOT NULL,
             cauda_version text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await?;
    let found = current_version(&tx).await?;
    if found > VERSION {
        return Err(SchemaError::Newer { found });
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(migration).await?;
        tx.execute(
            &format!(
                "INSERT INTO {SCHEMA}.schema_version (version, cauda_version) VALUES ($1, $2)"
            ),
            &[&(i as i32 + 1), &env!("CARGO_PKG_VERSION")],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// The highest version applied, 0 for none.
pub(crate) async fn current_version(
    client: &impl GenericClient,
) -> Result<i32, tokio_postgres::Error> {
    let row = client
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version"),
            &[],
        )
        .await?;
    Ok(row.get(0))
}
