//! ReceiveMessage: standard and FIFO claims, dead-letter moves at receive.

use std::sync::Arc;

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use crate::engine::queue::{MessageMeta, MessageRecord, Queue};
use crate::engine::receive::{Claim, Claimed, Delivery};
use crate::engine::redrive::MoveKind;
use crate::engine::{EngineError, EngineResult};
use crate::store::records;

use super::super::listen::FALLBACK_POLL_MS;

use super::attempts::{remember_attempt, replay_attempt};
use super::send::{insert_message, lock_group, next_message_seq};
use super::{db, failed, notify_ready, record_of, state_of, to_i64, to_u64, Postgres};

impl Postgres {
    /// One standard claim: up to the request's maximum of visible messages, skipping those
    /// another claim holds, made in flight in the same statement.
    pub(super) async fn claim(&self, c: &Claim<'_>) -> EngineResult<Option<Claimed>> {
        let (q, now) = (c.q, c.now);
        let record = record_of(q);
        if !c.dead_letter.matches(&record.attributes) {
            return Ok(None);
        }
        let visibility = c
            .req
            .visibility_timeout
            .unwrap_or(record.attributes.visibility_timeout);
        let max = i64::from(c.req.max_messages.clamp(1, 10));
        let retained_after =
            now.saturating_sub(u64::from(record.attributes.message_retention_period) * 1000);
        let (id, now_i) = (to_i64(q.id), to_i64(now));
        let visible_at = to_i64(now + u64::from(visibility) * 1000);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // Messages past their retention go first, as on the local backend (a range of the
        // sent_at index: nothing to read when none has expired).
        tx.execute(
            "DELETE FROM cauda.messages WHERE queue_id = $1 AND sent_at <= $2",
            &[&id, &to_i64(retained_after)],
        )
        .await
        .map_err(db)?;
        if q.fifo {
            if let Some(attempt) = &c.req.attempt_id {
                let vt = c.req.visibility_timeout;
                if let Some(rows) = replay_attempt(&tx, id, attempt, now_i, vt).await? {
                    return finish_claim(tx, id, now_i, &rows).await;
                }
            }
            let times = [now_i, to_i64(retained_after), max, visible_at];
            let (rows, moved) = claim_fifo(&tx, q, c.dead_letter.active(), times).await?;
            if let (Some(attempt), false) = (&c.req.attempt_id, rows.is_empty()) {
                remember_attempt(&tx, id, attempt, &rows, now, visibility).await?;
            }
            let mut claimed = finish_claim(tx, id, now_i, &rows).await?;
            if let Some(claimed) = claimed.as_mut() {
                claimed.moved_to_dead_letter = moved;
            }
            return Ok(claimed);
        }
        let in_flight: i64 = tx
            .query_one(
                "SELECT count(*) FROM (SELECT 1 FROM cauda.messages WHERE queue_id = $1 \
                 AND receive_count > 0 AND visible_at > $2 LIMIT $3) f",
                &[&id, &now_i, &to_i64(c.max_inflight as u64)],
            )
            .await
            .map_err(db)?
            .get(0);
        if to_u64(in_flight) >= c.max_inflight as u64 {
            if !c.long_poll {
                return Err(EngineError::TooManyInFlight);
            }
            let next = next_visible_at(&tx, id, now_i).await?;
            return Ok(Some(nothing(with_fallback(next, now_i), false)));
        }
        if let Some((dlq, max_receives)) = c.dead_letter.active() {
            let (rows, moved) = claim_with_redrive(
                &tx,
                q,
                dlq,
                max_receives,
                [now_i, to_i64(retained_after), max, visible_at],
            )
            .await?;
            let mut claimed = finish_claim(tx, id, now_i, &rows).await?;
            if let Some(claimed) = claimed.as_mut() {
                claimed.moved_to_dead_letter = moved;
            }
            return Ok(claimed);
        }
        let rows = tx
            .query(
                &format!(
                    "WITH c AS (SELECT seq FROM cauda.messages \
                       WHERE queue_id = $1 AND visible_at <= $2 AND sent_at > $3 \
                       ORDER BY visible_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED) {TAKE}"
                ),
                &[&id, &now_i, &to_i64(retained_after), &max, &visible_at],
            )
            .await
            .map_err(db)?;
        finish_claim(tx, id, now_i, &rows).await
    }
}

/// The claimed rows delivered in send order, or (none claimed) whether the queue is gone and
/// when its next message becomes visible; commits the claim.
pub(super) async fn finish_claim(
    tx: Transaction<'_>,
    id: i64,
    now: i64,
    rows: &[Row],
) -> EngineResult<Option<Claimed>> {
    let mut delivered = Vec::with_capacity(rows.len());
    for row in rows {
        delivered.push(Delivery {
            seq: to_u64(row.get(0)),
            record: records::decode::<MessageRecord>(row.get::<_, &[u8]>(1))
                .map_err(|e| failed(&e))?,
            state: state_of(row, 2),
        });
    }
    delivered.sort_by_key(|d| d.seq);
    if delivered.is_empty() {
        let exists = tx
            .query_opt("SELECT 1 FROM cauda.queues WHERE id = $1", &[&id])
            .await
            .map_err(db)?
            .is_some();
        let next = next_visible_at(&tx, id, now).await?;
        tx.commit().await.map_err(db)?;
        return Ok(Some(nothing(with_fallback(next, now), !exists)));
    }
    tx.commit().await.map_err(db)?;
    Ok(Some(Claimed {
        delivered,
        next_visible_at: None,
        deleted: false,
        moved_to_dead_letter: 0,
    }))
}

/// A standard claim of a queue with a dead-letter queue: the oldest visible messages are
/// locked (`SKIP LOCKED`); those already received `max_receives` times move to `dlq` in this
/// transaction (as [`MoveKind::DeadLetter`] rewrites them) and do not count against the
/// maximum; up to the maximum of the others are made in flight. `[now, retained_after, max,
/// visible_at]`; returns the rows delivered and the number moved.
pub(super) async fn claim_with_redrive(
    tx: &Transaction<'_>,
    q: &Queue,
    dlq: &Queue,
    max_receives: u32,
    [now, retained_after, max, visible_at]: [i64; 4],
) -> EngineResult<(Vec<Row>, usize)> {
    let id = to_i64(q.id);
    // Extra rows, so that messages moved instead of delivered leave room for others.
    let window = max + 20;
    let candidates = tx
        .query(
            "SELECT seq, record, group_id, sent_at, visible_at, receive_count, first_receive_at, \
               received_at FROM cauda.messages \
             WHERE queue_id = $1 AND visible_at <= $2 AND sent_at > $3 \
             ORDER BY visible_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED",
            &[&id, &now, &retained_after, &window],
        )
        .await
        .map_err(db)?;
    let mut take: Vec<i64> = Vec::new();
    let mut moved = 0;
    for row in &candidates {
        let meta = MessageMeta {
            sent_at: to_u64(row.get(3)),
            group: row.get::<_, Option<&str>>(2).map(Arc::from),
            state: state_of(row, 4),
        };
        if meta.state.receive_count < max_receives {
            if take.len() < usize::try_from(max).unwrap_or(10) {
                take.push(row.get(0));
            }
            continue;
        }
        let record: MessageRecord =
            records::decode(row.get::<_, &[u8]>(1)).map_err(|e| failed(&e))?;
        let (record, meta) = MoveKind::DeadLetter.rewrite(q, dlq, &meta, record, to_u64(now));
        let seq = next_message_seq(tx).await?;
        insert_message(tx, dlq.id, seq, &record, &meta.state).await?;
        tx.execute(
            "DELETE FROM cauda.messages WHERE queue_id = $1 AND seq = $2",
            &[&id, &row.get::<_, i64>(0)],
        )
        .await
        .map_err(db)?;
        moved += 1;
    }
    if moved > 0 {
        notify_ready(tx, dlq.id).await?;
    }
    let rows = tx
        .query(
            "UPDATE cauda.messages m SET visible_at = $3, receive_count = m.receive_count + 1, \
               first_receive_at = coalesce(m.first_receive_at, $2), received_at = $2 \
             WHERE m.queue_id = $1 AND m.seq = ANY($4) \
             RETURNING m.seq, m.record, m.visible_at, m.receive_count, m.first_receive_at, \
               m.received_at",
            &[&id, &now, &visible_at, &take],
        )
        .await
        .map_err(db)?;
    Ok((rows, moved))
}

/// The FIFO rule as a condition on message `m`: visible, and no earlier message of its group
/// is not (in flight or delayed), so a group delivers from its head up to its first
/// in-flight message.
pub(super) const FIFO_RECEIVABLE: &str =
    "m.queue_id = $1 AND m.visible_at <= $2 AND m.sent_at > $3 \
     AND NOT EXISTS (SELECT 1 FROM cauda.messages b WHERE b.queue_id = $1 \
       AND b.group_id = m.group_id AND b.seq < m.seq AND b.visible_at > $2)";

/// A FIFO claim: the groups of the oldest receivable messages are locked (`fifo_groups`,
/// `SKIP LOCKED`: a group another claim holds is left to it), then the receivable messages of
/// the groups held, oldest first, are made in flight. Holding the group rows keeps the rule's
/// view current until the commit: sends to the group and other claims of it wait.
///
/// With a dead-letter queue (`dead_letter`: it and maxReceiveCount), the receivable messages
/// already received maxReceiveCount times move to it in this transaction (as
/// [`MoveKind::DeadLetter`] rewrites them, into their group's row of the dead-letter queue)
/// and do not count against the maximum: a moved message no longer blocks its group, whose
/// next messages are delivered. `[now, retained_after, max, visible_at]`; returns the rows
/// delivered and the number moved.
pub(super) async fn claim_fifo(
    tx: &Transaction<'_>,
    q: &Queue,
    dead_letter: Option<(&Arc<Queue>, u32)>,
    [now, retained_after, max, visible_at]: [i64; 4],
) -> EngineResult<(Vec<Row>, usize)> {
    let id = to_i64(q.id);
    let candidates = tx
        .query(
            &format!(
                "SELECT DISTINCT group_id FROM (SELECT m.group_id FROM cauda.messages m \
                 WHERE {FIFO_RECEIVABLE} ORDER BY m.seq LIMIT $4) c"
            ),
            &[&id, &now, &retained_after, &(max * 4)],
        )
        .await
        .map_err(db)?;
    let groups: Vec<String> = candidates.iter().map(|r| r.get(0)).collect();
    if groups.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let held = tx
        .query(
            "SELECT group_id FROM cauda.fifo_groups WHERE queue_id = $1 AND group_id = ANY($2) \
             ORDER BY group_id FOR UPDATE SKIP LOCKED",
            &[&id, &groups],
        )
        .await
        .map_err(db)?;
    let held: Vec<String> = held.iter().map(|r| r.get(0)).collect();
    if held.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let Some((dlq, max_receives)) = dead_letter else {
        let rows = tx
            .query(
                &format!(
                    "WITH c AS (SELECT m.seq FROM cauda.messages m \
                       WHERE {FIFO_RECEIVABLE} AND m.group_id = ANY($6) ORDER BY m.seq LIMIT $4) \
                     {TAKE}"
                ),
                &[&id, &now, &retained_after, &max, &visible_at, &held],
            )
            .await
            .map_err(db)?;
        return Ok((rows, 0));
    };
    // Extra rows, so that messages moved instead of delivered leave room for others.
    let rows = tx
        .query(
            &format!(
                "SELECT m.seq, m.record, m.group_id, m.sent_at, m.visible_at, m.receive_count, \
                   m.first_receive_at, m.received_at FROM cauda.messages m \
                 WHERE {FIFO_RECEIVABLE} AND m.group_id = ANY($5) ORDER BY m.seq LIMIT $4 \
                 FOR UPDATE OF m"
            ),
            &[&id, &now, &retained_after, &(max + 20), &held],
        )
        .await
        .map_err(db)?;
    let mut take: Vec<i64> = Vec::new();
    let mut moved = 0;
    for row in &rows {
        if take.len() >= usize::try_from(max).unwrap_or(10) {
            break;
        }
        let meta = MessageMeta {
            sent_at: to_u64(row.get(3)),
            group: row.get::<_, Option<&str>>(2).map(Arc::from),
            state: state_of(row, 4),
        };
        if meta.state.receive_count < max_receives {
            take.push(row.get(0));
            continue;
        }
        let record: MessageRecord =
            records::decode(row.get::<_, &[u8]>(1)).map_err(|e| failed(&e))?;
        let (record, meta) = MoveKind::DeadLetter.rewrite(q, dlq, &meta, record, to_u64(now));
        if let Some(group) = meta.group.as_deref().filter(|_| dlq.fifo) {
            lock_group(tx, dlq.id, group).await?;
        }
        let seq = next_message_seq(tx).await?;
        insert_message(tx, dlq.id, seq, &record, &meta.state).await?;
        tx.execute(
            "DELETE FROM cauda.messages WHERE queue_id = $1 AND seq = $2",
            &[&id, &row.get::<_, i64>(0)],
        )
        .await
        .map_err(db)?;
        moved += 1;
    }
    if moved > 0 {
        notify_ready(tx, dlq.id).await?;
    }
    let rows = tx
        .query(
            "UPDATE cauda.messages m SET visible_at = $3, receive_count = m.receive_count + 1, \
               first_receive_at = coalesce(m.first_receive_at, $2), received_at = $2 \
             WHERE m.queue_id = $1 AND m.seq = ANY($4) \
             RETURNING m.seq, m.record, m.visible_at, m.receive_count, m.first_receive_at, \
               m.received_at",
            &[&id, &now, &visible_at, &take],
        )
        .await
        .map_err(db)?;
    Ok((rows, moved))
}

/// Makes the messages of CTE `c` in flight until `$5` at `$2`, returning what a delivery needs.
pub(super) const TAKE: &str = "UPDATE cauda.messages m SET visible_at = $5, \
     receive_count = m.receive_count + 1, first_receive_at = coalesce(m.first_receive_at, $2), \
     received_at = $2 \
     FROM c WHERE m.queue_id = $1 AND m.seq = c.seq \
     RETURNING m.seq, m.record, m.visible_at, m.receive_count, m.first_receive_at, m.received_at";

/// When a waiting receive claims again: at the next visibility, and within the fallback poll
/// whatever happens (a notification from another node may be lost).
pub(super) fn with_fallback(next_visible_at: Option<u64>, now: i64) -> Option<u64> {
    let poll = to_u64(now) + FALLBACK_POLL_MS;
    Some(next_visible_at.map_or(poll, |v| v.min(poll)))
}

pub(super) fn nothing(next_visible_at: Option<u64>, deleted: bool) -> Claimed {
    Claimed {
        delivered: Vec::new(),
        next_visible_at,
        deleted,
        moved_to_dead_letter: 0,
    }
}

pub(super) async fn next_visible_at(
    tx: &Transaction<'_>,
    id: i64,
    now: i64,
) -> EngineResult<Option<u64>> {
    let row = tx
        .query_one(
            "SELECT min(visible_at) FROM cauda.messages WHERE queue_id = $1 AND visible_at > $2",
            &[&id, &now],
        )
        .await
        .map_err(db)?;
    Ok(row.get::<_, Option<i64>>(0).map(to_u64))
}
