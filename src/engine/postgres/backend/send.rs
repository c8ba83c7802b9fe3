//! SendMessage(Batch): messages, FIFO deduplication entries and group order.

use deadpool_postgres::Transaction;
use tokio_postgres::error::SqlState;

use crate::engine::queue::{DedupRecord, MessageRecord, MessageStateRecord};
use crate::engine::send::{Accepted, SendEntry, SendOutcome, Sending};
use crate::engine::{EngineError, EngineResult};
use crate::store::records;

use super::{db, notify_ready, record_of, to_i64, to_u64, Postgres};

impl Postgres {
    /// The batch's messages (and FIFO deduplication entries) in one transaction.
    pub(super) async fn enqueue(
        &self,
        sending: &Sending<'_>,
        entries: Vec<SendEntry>,
    ) -> EngineResult<Vec<EngineResult<SendOutcome>>> {
        let (q, now) = (sending.q, sending.now);
        let record = record_of(q);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let mut results = Vec::with_capacity(entries.len());
        let mut new_dedup: Vec<DedupRecord> = Vec::new();
        let mut receivable = false;
        for e in entries {
            let m = match sending.prepare(&record, e) {
                Ok(m) => m,
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            };
            if let Some(key) = m.dedup_key() {
                if let Some(d) = new_dedup.iter().find(|d| d.key == key) {
                    results.push(Ok(m.duplicate(d)));
                    continue;
                }
                if let Some(d) = live_dedup(&tx, q.id, key, now).await? {
                    results.push(Ok(m.duplicate(&d)));
                    continue;
                }
            }
            if let Some(group) = m.group_id().filter(|_| q.fifo) {
                lock_group(&tx, q.id, group).await?;
            }
            let seq = next_message_seq(&tx).await?;
            let Accepted {
                record: message,
                state,
                dedup,
                outcome,
            } = m.accept(sending, seq);
            insert_message(&tx, q.id, seq, &message, &state).await?;
            receivable |= state.visible_at <= now;
            if let Some(d) = dedup {
                store_dedup(&tx, q.id, &d).await?;
                new_dedup.push(d);
            }
            results.push(Ok(outcome));
        }
        if receivable {
            notify_ready(&tx, q.id).await?;
        }
        tx.commit().await.map_err(|e| {
            if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
                EngineError::QueueDoesNotExist
            } else {
                db(e)
            }
        })?;
        Ok(results)
    }
}

/// A live deduplication entry of `key`. The key is first locked for the transaction (an
/// advisory lock on its hash): a concurrent send of the key, on any node, waits until this
/// one commits and then finds its entry. A row lock alone would not do: there is no row to
/// lock before the first send commits, and both sends would insert a message.
pub(super) async fn live_dedup(
    tx: &Transaction<'_>,
    queue_id: u64,
    key: &str,
    now: u64,
) -> EngineResult<Option<DedupRecord>> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(1, hashtext($1::bigint::text || encode($2::bytea, 'hex')))",
        &[&to_i64(queue_id), &key.as_bytes()],
    )
    .await
    .map_err(db)?;
    let row = tx
        .query_opt(
            "SELECT expires_at, message_id, seq FROM cauda.dedup \
             WHERE queue_id = $1 AND key = $2 AND expires_at > $3 FOR UPDATE",
            &[&to_i64(queue_id), &key.as_bytes(), &to_i64(now)],
        )
        .await
        .map_err(db)?;
    Ok(row.map(|r| DedupRecord {
        key: key.to_string(),
        expires_at: to_u64(r.get(0)),
        message_id: r.get(1),
        seq: to_u64(r.get(2)),
    }))
}

pub(super) async fn store_dedup(
    tx: &Transaction<'_>,
    queue_id: u64,
    d: &DedupRecord,
) -> EngineResult<()> {
    tx.execute(
        "INSERT INTO cauda.dedup (queue_id, key, expires_at, message_id, seq) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (queue_id, key) DO UPDATE \
         SET expires_at = excluded.expires_at, message_id = excluded.message_id, seq = excluded.seq",
        &[
            &to_i64(queue_id),
            &d.key.as_bytes(),
            &to_i64(d.expires_at),
            &d.message_id,
            &to_i64(d.seq),
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// Locks a FIFO group's row (created if new) until the transaction ends, so that within the
/// group `seq` order is commit order.
pub(super) async fn lock_group(
    tx: &Transaction<'_>,
    queue_id: u64,
    group: &str,
) -> EngineResult<()> {
    tx.execute(
        "INSERT INTO cauda.fifo_groups (queue_id, group_id) VALUES ($1, $2) \
         ON CONFLICT (queue_id, group_id) DO UPDATE SET group_id = excluded.group_id",
        &[&to_i64(queue_id), &group],
    )
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn next_message_seq(tx: &Transaction<'_>) -> EngineResult<u64> {
    let row = tx
        .query_one("SELECT nextval('cauda.message_seq')", &[])
        .await
        .map_err(db)?;
    Ok(to_u64(row.get(0)))
}

pub(super) async fn insert_message(
    tx: &Transaction<'_>,
    queue_id: u64,
    seq: u64,
    m: &MessageRecord,
    state: &MessageStateRecord,
) -> EngineResult<()> {
    tx.execute(
        "INSERT INTO cauda.messages (queue_id, seq, message_id, record, group_id, sent_at, \
           visible_at, receive_count, first_receive_at, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &to_i64(queue_id),
            &to_i64(seq),
            &m.message_id,
            &records::encode(m),
            &m.group_id,
            &to_i64(m.sent_at),
            &to_i64(state.visible_at),
            &i32::try_from(state.receive_count).unwrap_or(i32::MAX),
            &state.first_receive_at.map(to_i64),
            &to_i64(state.received_at),
        ],
    )
    .await
    .map_err(|e| {
        if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
            EngineError::QueueDoesNotExist
        } else {
            db(e)
        }
    })?;
    Ok(())
}
