//! Counts, the operator's peek and delete by id, purge and retention.

use crate::engine::peek::{PeekRequest, PeekedMessage, Phase};
use crate::engine::queue::{Counts, Queue, QueueStats};
use crate::engine::EngineResult;
use crate::store::records;

use super::{db, failed, record_of, state_of, to_i64, to_u64, Postgres};

impl Postgres {
    /// Messages past their retention are not counted (nor delivered) even while their rows
    /// wait for deletion.
    pub(super) async fn stats(&self, q: &Queue, now: u64) -> EngineResult<QueueStats> {
        let retention_ms = u64::from(record_of(q).attributes.message_retention_period) * 1000;
        let retained_after = to_i64(now.saturating_sub(retention_ms));
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE visible_at <= $2), \
                   count(*) FILTER (WHERE visible_at > $2 AND receive_count > 0), \
                   count(*) FILTER (WHERE visible_at > $2 AND receive_count = 0), \
                   min(sent_at) \
                 FROM cauda.messages WHERE queue_id = $1 AND sent_at > $3",
                &[&to_i64(q.id), &to_i64(now), &retained_after],
            )
            .await
            .map_err(db)?;
        let n = |i: usize| usize::try_from(row.get::<_, i64>(i)).unwrap_or(0);
        Ok(QueueStats {
            counts: Counts {
                visible: n(0),
                in_flight: n(1),
                delayed: n(2),
            },
            oldest_sent_at: row.get::<_, Option<i64>>(3).map(to_u64),
        })
    }

    /// The messages `req` selects, oldest first, by the primary key; nothing is written.
    pub(super) async fn peek(
        &self,
        q: &Queue,
        req: PeekRequest,
        now: u64,
    ) -> EngineResult<Vec<PeekedMessage>> {
        // The phase as SQL: 0 any, 1 visible, 2 in flight, 3 delayed (Phase::of).
        let phase: i32 = match req.phase {
            None => 0,
            Some(Phase::Visible) => 1,
            Some(Phase::InFlight) => 2,
            Some(Phase::Delayed) => 3,
        };
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, record, visible_at, receive_count, first_receive_at, received_at \
                 FROM cauda.messages WHERE queue_id = $1 AND seq > $2 AND ( \
                   $3::integer = 0 \
                   OR ($3 = 1 AND visible_at <= $4) \
                   OR ($3 = 2 AND visible_at > $4 AND receive_count > 0) \
                   OR ($3 = 3 AND visible_at > $4 AND receive_count = 0)) \
                 ORDER BY seq LIMIT $5",
                &[
                    &to_i64(q.id),
                    &req.after.map_or(-1, to_i64),
                    &phase,
                    &to_i64(now),
                    &to_i64(req.limit as u64),
                ],
            )
            .await
            .map_err(db)?;
        rows.iter()
            .map(|row| {
                let state = state_of(row, 2);
                Ok(PeekedMessage {
                    seq: to_u64(row.get(0)),
                    record: records::decode(row.get::<_, &[u8]>(1)).map_err(|e| failed(&e))?,
                    state,
                    phase: Phase::of(&state, now),
                })
            })
            .collect()
    }

    pub(super) async fn delete_by_id(&self, q: &Queue, message_id: &str) -> EngineResult<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM cauda.messages WHERE queue_id = $1 AND message_id = $2",
                &[&to_i64(q.id), &message_id],
            )
            .await
            .map_err(db)?;
        Ok(n > 0)
    }

    /// The cooldown checked and the purge time set in the statement that starts the purge;
    /// every message and deduplication entry removed in the same transaction.
    pub(super) async fn purge(&self, q: &Queue, now: u64, cooldown_ms: u64) -> EngineResult<bool> {
        let id = to_i64(q.id);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let started = tx
            .execute(
                "UPDATE cauda.queues SET last_purge_at = $2 WHERE id = $1 \
                 AND (last_purge_at IS NULL OR last_purge_at <= $2 - $3::bigint)",
                &[&id, &to_i64(now), &to_i64(cooldown_ms)],
            )
            .await
            .map_err(db)?;
        if started == 0 {
            return Ok(false);
        }
        tx.execute("DELETE FROM cauda.messages WHERE queue_id = $1", &[&id])
            .await
            .map_err(db)?;
        tx.execute("DELETE FROM cauda.dedup WHERE queue_id = $1", &[&id])
            .await
            .map_err(db)?;
        tx.execute("DELETE FROM cauda.fifo_groups WHERE queue_id = $1", &[&id])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    /// Messages past their retention, expired deduplication entries and receive attempts.
    pub(super) async fn expire(&self, q: &Queue, now: u64) -> EngineResult<()> {
        let retention_ms = u64::from(record_of(q).attributes.message_retention_period) * 1000;
        let (id, now_i) = (to_i64(q.id), to_i64(now));
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute(
            "DELETE FROM cauda.messages WHERE queue_id = $1 AND sent_at <= $2",
            &[&id, &to_i64(now.saturating_sub(retention_ms))],
        )
        .await
        .map_err(db)?;
        tx.execute(
            "DELETE FROM cauda.dedup WHERE queue_id = $1 AND expires_at <= $2",
            &[&id, &now_i],
        )
        .await
        .map_err(db)?;
        tx.execute(
            "DELETE FROM cauda.receive_attempts WHERE queue_id = $1 AND expires_at <= $2",
            &[&id, &now_i],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }
}
