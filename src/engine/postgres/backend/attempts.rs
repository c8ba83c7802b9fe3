//! FIFO ReceiveRequestAttemptId: remembered claims and their replay.

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use crate::engine::receive::ATTEMPT_WINDOW_MS;
use crate::engine::EngineResult;

use super::{db, to_i64};

/// A FIFO receive's messages remembered under its ReceiveRequestAttemptId for
/// [`ATTEMPT_WINDOW_MS`], as it left them (receive count, visibility), with its visibility
/// timeout.
pub(super) async fn remember_attempt(
    tx: &Transaction<'_>,
    id: i64,
    attempt: &str,
    rows: &[Row],
    now: u64,
    visibility_timeout: u32,
) -> EngineResult<()> {
    let mut rows: Vec<&Row> = rows.iter().collect();
    rows.sort_by_key(|r| r.get::<_, i64>(0));
    let seqs: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let visible_ats: Vec<i64> = rows.iter().map(|r| r.get(2)).collect();
    let generations: Vec<i32> = rows.iter().map(|r| r.get(3)).collect();
    tx.execute(
        "INSERT INTO cauda.receive_attempts (queue_id, attempt_id, expires_at, seqs, \
           generations, visible_ats, visibility_timeout) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (queue_id, attempt_id) DO UPDATE SET expires_at = excluded.expires_at, \
           seqs = excluded.seqs, generations = excluded.generations, \
           visible_ats = excluded.visible_ats, visibility_timeout = excluded.visibility_timeout",
        &[
            &id,
            &attempt,
            &to_i64(now + ATTEMPT_WINDOW_MS),
            &seqs,
            &generations,
            &visible_ats,
            &i32::try_from(visibility_timeout).unwrap_or(i32::MAX),
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// A retry of a remembered FIFO receive attempt, within its window and while each of its
/// messages is as the attempt left it (not received again, deleted, or its visibility
/// changed): the same messages, visible again after the request's visibility timeout (else
/// the attempt's). `None`: a new receive.
pub(super) async fn replay_attempt(
    tx: &Transaction<'_>,
    id: i64,
    attempt: &str,
    now: i64,
    visibility_timeout: Option<u32>,
) -> EngineResult<Option<Vec<Row>>> {
    let Some(remembered) = tx
        .query_opt(
            "SELECT expires_at, seqs, generations, visible_ats, visibility_timeout \
             FROM cauda.receive_attempts WHERE queue_id = $1 AND attempt_id = $2 FOR UPDATE",
            &[&id, &attempt],
        )
        .await
        .map_err(db)?
    else {
        return Ok(None);
    };
    if remembered.get::<_, i64>(0) <= now {
        return Ok(None);
    }
    let seqs: Vec<i64> = remembered.get(1);
    let generations: Vec<i32> = remembered.get(2);
    let visible_ats: Vec<i64> = remembered.get(3);
    let current = tx
        .query(
            "SELECT seq, receive_count, visible_at FROM cauda.messages \
             WHERE queue_id = $1 AND seq = ANY($2) FOR UPDATE",
            &[&id, &seqs],
        )
        .await
        .map_err(db)?;
    let unchanged = seqs
        .iter()
        .zip(&generations)
        .zip(&visible_ats)
        .all(|((s, g), v)| {
            current.iter().any(|r| {
                r.get::<_, i64>(0) == *s && r.get::<_, i32>(1) == *g && r.get::<_, i64>(2) == *v
            })
        });
    if !unchanged {
        return Ok(None);
    }
    let vt = visibility_timeout
        .unwrap_or_else(|| u32::try_from(remembered.get::<_, i32>(4)).unwrap_or(0));
    let visible_at = now.saturating_add(i64::from(vt) * 1000);
    let rows = tx
        .query(
            "UPDATE cauda.messages m SET visible_at = $3, received_at = $4 \
             WHERE m.queue_id = $1 AND m.seq = ANY($2) \
             RETURNING m.seq, m.record, m.visible_at, m.receive_count, m.first_receive_at, \
               m.received_at",
            &[&id, &seqs, &visible_at, &now],
        )
        .await
        .map_err(db)?;
    // A later retry compares against the new visibility.
    tx.execute(
        "UPDATE cauda.receive_attempts SET visible_ats = array_fill($3::bigint, \
           ARRAY[cardinality(seqs)]) WHERE queue_id = $1 AND attempt_id = $2",
        &[&id, &attempt, &visible_at],
    )
    .await
    .map_err(db)?;
    Ok(Some(rows))
}
