//! ReceiveMessage: standard and FIFO claims, dead-letter moves at receive.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError};

use deadpool_postgres::Transaction;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tokio_postgres::Row;

use crate::engine::local::queue_state::fnv1a;

use crate::engine::queue::{MessageMeta, MessageRecord, MessageStateRecord, Queue};
use crate::engine::receive::{Claim, Claimed, Delivery};
use crate::engine::redrive::MoveKind;
use crate::engine::{EngineError, EngineResult};
use crate::store::records;

use super::super::listen::FALLBACK_POLL_MS;

use super::send::{insert_message, next_message_seq};
use super::{db, failed, notify_ready, record_of, state_of, to_i64, to_u64, Postgres};

/// Due messages a standard claim promotes at most (see [`promote`]).
const PROMOTE_BATCH: i64 = 256;

impl Postgres {
    /// One standard claim: up to the request's maximum of visible messages, in the embedded
    /// engine's order ([`Postgres::candidates`]), skipping those another claim holds, made in
    /// flight in the same transaction.
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
        // Messages past their retention are not delivered; the janitor deletes their rows.
        let retained_after =
            now.saturating_sub(u64::from(record.attributes.message_retention_period) * 1000);
        let (id, now_i) = (to_i64(q.id), to_i64(now));
        let visible_at = to_i64(now + u64::from(visibility) * 1000);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        if q.fifo {
            let times = [now_i, to_i64(retained_after), max, visible_at];
            return super::receive_fifo::fifo_request(tx, c, times, visibility).await;
        }
        // Shuffled: every due message, as the embedded engine draws from every visible one.
        let batch = if self.shuffle_seed.is_some() {
            i64::MAX
        } else {
            PROMOTE_BATCH
        };
        // Independent statements, pipelined on the connection: one round trip. A promotion
        // made while at the in-flight limit is rolled back with the transaction.
        let (in_flight, (), grouped) = tokio::try_join!(
            in_flight_count(&tx, id, now_i, to_i64(c.max_inflight as u64)),
            promote(&tx, id, now_i, batch),
            has_groups(&tx, id),
        )?;
        if to_u64(in_flight) >= c.max_inflight as u64 {
            if !c.long_poll {
                return Err(EngineError::TooManyInFlight);
            }
            let next = next_visible_at(&tx, id, now_i).await?;
            return Ok(Some(nothing(with_fallback(next, now_i), false)));
        }
        let retained_after = to_i64(retained_after);
        if let Some((dlq, max_receives)) = c.dead_letter.active() {
            // Extra rows, so that messages moved instead of delivered leave room for others.
            let order = self
                .candidates(
                    &tx,
                    q,
                    &record.name,
                    grouped,
                    [now_i, retained_after, max + 20],
                )
                .await?;
            let (rows, moved) =
                claim_with_redrive(&tx, q, dlq, max_receives, &order, [now_i, max, visible_at])
                    .await?;
            let mut claimed = deliver(tx, id, now_i, &rows, &order).await?;
            if let Some(claimed) = claimed.as_mut() {
                claimed.moved_to_dead_letter = moved;
            }
            return Ok(claimed);
        }
        let order = self
            .candidates(&tx, q, &record.name, grouped, [now_i, retained_after, max])
            .await?;
        let rows = take(&tx, id, &order, now_i, visible_at).await?;
        deliver(tx, id, now_i, &rows, &order).await
    }

    /// The visible messages a standard claim takes, locked (`SKIP LOCKED`: another claim's
    /// are left to it), at most `n`, in the embedded engine's order: oldest sent first; one
    /// per message group first when the queue holds grouped messages (fair queues); drawn by
    /// the queue's seeded generator with `--shuffle-seed`. `grouped`: whether the queue holds
    /// grouped messages ([`has_groups`]). `[now, retained_after, n]`.
    async fn candidates(
        &self,
        tx: &Transaction<'_>,
        q: &Queue,
        name: &str,
        grouped: bool,
        [now, retained_after, n]: [i64; 3],
    ) -> EngineResult<Vec<i64>> {
        let id = to_i64(q.id);
        let picks = if let Some(seed) = self.shuffle_seed {
            let visible: Vec<i64> = tx
                .query(
                    &format!("SELECT seq {READY} ORDER BY seq"),
                    &[&id, &now, &retained_after],
                )
                .await
                .map_err(db)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            self.draw(q.id, name, seed, visible, n)
        } else if grouped {
            // As the embedded engine: a window of the oldest visible messages, the first of
            // each group (ungrouped messages count as one group) in send order, then the rest.
            tx.query(
                &format!(
                    "WITH w AS (SELECT seq, group_id {READY} ORDER BY seq LIMIT $4), \
                     r AS (SELECT seq, row_number() OVER (PARTITION BY group_id ORDER BY seq) \
                       AS rank FROM w) \
                     SELECT seq FROM r ORDER BY rank > 1, seq LIMIT $5"
                ),
                &[&id, &now, &retained_after, &(n * 20 + 100), &n],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| r.get(0))
            .collect()
        } else {
            return lock_oldest(tx, id, [now, retained_after, n], &[]).await;
        };
        // The picks were read without locks: those another claim holds are skipped, and the
        // oldest others fill their places.
        let locked: HashSet<i64> = tx
            .query(
                "SELECT seq FROM cauda.messages WHERE queue_id = $1 AND seq = ANY($2) \
                 AND visible_at <= $3 FOR UPDATE SKIP LOCKED",
                &[&id, &picks, &now],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let skipped = locked.len() < picks.len();
        let mut order: Vec<i64> = picks.into_iter().filter(|s| locked.contains(s)).collect();
        let missing = n - i64::try_from(order.len()).unwrap_or(n);
        if skipped && missing > 0 && self.shuffle_seed.is_none() {
            order.extend(lock_oldest(tx, id, [now, retained_after, missing], &order).await?);
        }
        Ok(order)
    }

    /// `--shuffle-seed`: `n` of `visible` (in send order) drawn by queue `id`'s generator,
    /// in the order drawn: the embedded engine's draw, from the same seed.
    fn draw(&self, id: u64, name: &str, seed: u64, mut visible: Vec<i64>, n: i64) -> Vec<i64> {
        let take = usize::try_from(n).unwrap_or(0).min(visible.len());
        let mut rngs = self.shuffles.lock().unwrap_or_else(PoisonError::into_inner);
        let rng = rngs
            .entry(id)
            .or_insert_with(|| StdRng::seed_from_u64(seed ^ fnv1a(name.as_bytes())));
        let (drawn, _) = visible.partial_shuffle(rng, take);
        drawn.to_vec()
    }
}

/// The rows of queue `$1` visible at `$2` and retained after `$3`, by the `messages_ready`
/// index (its predicate repeated, so that the planner uses it): a `FROM … WHERE` clause.
pub(in crate::engine::postgres) const READY: &str =
    "FROM cauda.messages WHERE queue_id = $1 AND visible_at <= sent_at \
     AND visible_at <= $2 AND sent_at > $3";

/// Makes up to `batch` messages that became visible by `now` ready: their `visible_at` goes
/// back to their `sent_at`, which puts them in the `messages_ready` index in their send-order
/// place (a visible message's `visible_at` only matters as "at or before now", which stays
/// true). Each message is promoted once per change of its visibility, as the embedded
/// engine's `promote` moves it from `waiting` to `ready`, so a claim's cost does not grow
/// with the queue's depth. Rows another transaction holds are left to a later claim.
async fn promote(tx: &Transaction<'_>, id: i64, now: i64, batch: i64) -> EngineResult<()> {
    tx.execute(
        "UPDATE cauda.messages m SET visible_at = m.sent_at FROM (SELECT seq FROM cauda.messages \
           WHERE queue_id = $1 AND visible_at > sent_at AND visible_at <= $2 \
           ORDER BY visible_at LIMIT $3 FOR UPDATE SKIP LOCKED) d \
         WHERE m.queue_id = $1 AND m.seq = d.seq",
        &[&id, &now, &batch],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// Queue `id`'s messages in flight, counted up to `limit` (by `messages_in_flight`).
async fn in_flight_count(tx: &Transaction<'_>, id: i64, now: i64, limit: i64) -> EngineResult<i64> {
    let row = tx
        .query_one(
            "SELECT count(*) FROM (SELECT 1 FROM cauda.messages WHERE queue_id = $1 \
             AND receive_count > 0 AND visible_at > sent_at AND visible_at > $2 LIMIT $3) f",
            &[&id, &now, &limit],
        )
        .await
        .map_err(db)?;
    Ok(row.get(0))
}

/// Whether queue `id` holds a message with a MessageGroupId (one probe of its index).
async fn has_groups(tx: &Transaction<'_>, id: i64) -> EngineResult<bool> {
    // Not `EXISTS`, which the planner may answer by a scan of the table: ordered by the
    // index, it is read from the index.
    let row = tx
        .query_opt(
            "SELECT 1 FROM cauda.messages WHERE queue_id = $1 AND group_id IS NOT NULL \
             ORDER BY group_id LIMIT 1",
            &[&id],
        )
        .await
        .map_err(db)?;
    Ok(row.is_some())
}

/// The `n` oldest visible messages but those of `except`, locked as the scan finds them.
async fn lock_oldest(
    tx: &Transaction<'_>,
    id: i64,
    [now, retained_after, n]: [i64; 3],
    except: &[i64],
) -> EngineResult<Vec<i64>> {
    Ok(tx
        .query(
            &format!(
                "SELECT seq {READY} AND seq <> ALL($5) ORDER BY seq LIMIT $4 \
                 FOR UPDATE SKIP LOCKED"
            ),
            &[&id, &now, &retained_after, &n, &except],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Makes messages `seqs` (locked) in flight until `visible_at`, returning what a delivery
/// needs.
async fn take(
    tx: &Transaction<'_>,
    id: i64,
    seqs: &[i64],
    now: i64,
    visible_at: i64,
) -> EngineResult<Vec<Row>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    tx.query(
        "UPDATE cauda.messages m SET visible_at = $3, receive_count = m.receive_count + 1, \
           first_receive_at = coalesce(m.first_receive_at, $2), received_at = $2 \
         WHERE m.queue_id = $1 AND m.seq = ANY($4) \
         RETURNING m.seq, m.record, m.visible_at, m.receive_count, m.first_receive_at, \
           m.received_at",
        &[&id, &now, &visible_at, &seqs],
    )
    .await
    .map_err(db)
}

/// The claimed rows delivered in send order, or (none claimed) whether the queue is gone and
/// when its next message becomes visible; commits the claim.
pub(super) async fn finish_claim(
    tx: Transaction<'_>,
    id: i64,
    now: i64,
    rows: &[Row],
) -> EngineResult<Option<Claimed>> {
    deliver(tx, id, now, rows, &[]).await
}

/// [`finish_claim`], delivering in the order of `order` (by seq when empty).
async fn deliver(
    tx: Transaction<'_>,
    id: i64,
    now: i64,
    rows: &[Row],
    order: &[i64],
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
    if order.is_empty() {
        delivered.sort_by_key(|d| d.seq);
    } else {
        let place: HashMap<u64, usize> = order
            .iter()
            .enumerate()
            .map(|(i, &s)| (to_u64(s), i))
            .collect();
        delivered.sort_by_key(|d| place.get(&d.seq).copied().unwrap_or(usize::MAX));
    }
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

/// A standard claim of a queue with a dead-letter queue, of the candidates `order` (locked,
/// in delivery order): those already received `max_receives` times move to `dlq` in this
/// transaction (as [`MoveKind::DeadLetter`] rewrites them) and do not count against the
/// maximum; up to the maximum of the others are made in flight. `[now, max, visible_at]`;
/// returns the rows delivered and the number moved.
pub(super) async fn claim_with_redrive(
    tx: &Transaction<'_>,
    q: &Queue,
    dlq: &Queue,
    max_receives: u32,
    order: &[i64],
    [now, max, visible_at]: [i64; 3],
) -> EngineResult<(Vec<Row>, usize)> {
    let id = to_i64(q.id);
    let rows = tx
        .query(
            "SELECT seq, record, group_id, sent_at, visible_at, receive_count, first_receive_at, \
               received_at FROM cauda.messages WHERE queue_id = $1 AND seq = ANY($2)",
            &[&id, &order],
        )
        .await
        .map_err(db)?;
    let by_seq: HashMap<i64, &Row> = rows.iter().map(|r| (r.get(0), r)).collect();
    let mut take_seqs: Vec<i64> = Vec::new();
    let mut moved = 0;
    for row in order.iter().filter_map(|s| by_seq.get(s)) {
        let meta = MessageMeta {
            sent_at: to_u64(row.get(3)),
            group: row.get::<_, Option<&str>>(2).map(Arc::from),
            state: state_of(row, 4),
        };
        if meta.state.receive_count < max_receives {
            if take_seqs.len() < usize::try_from(max).unwrap_or(10) {
                take_seqs.push(row.get(0));
            }
            continue;
        }
        let record: MessageRecord =
            records::decode(row.get::<_, &[u8]>(1)).map_err(|e| failed(&e))?;
        let (record, mut meta) = MoveKind::DeadLetter.rewrite(q, dlq, &meta, record, to_u64(now));
        if meta.state.visible_at <= to_u64(now) {
            // Visible at once: ready (see `promote`), not left for the dead-letter queue's
            // next receive to promote.
            meta.state.visible_at = record.sent_at.min(meta.state.visible_at);
        }
        move_row(tx, id, row.get(0), dlq, &record, &meta.state).await?;
        moved += 1;
    }
    if moved > 0 {
        notify_ready(tx, dlq.id).await?;
    }
    Ok((take(tx, id, &take_seqs, now, visible_at).await?, moved))
}

/// Moves message `seq` of queue `from` to `dlq` as `record` and `state`: a new row there
/// (with a new `seq`), the old one deleted, in the caller's transaction.
pub(super) async fn move_row(
    tx: &Transaction<'_>,
    from: i64,
    seq: i64,
    dlq: &Queue,
    record: &MessageRecord,
    state: &MessageStateRecord,
) -> EngineResult<()> {
    let new_seq = next_message_seq(tx).await?;
    insert_message(tx, dlq.id, new_seq, record, state).await?;
    tx.execute(
        "DELETE FROM cauda.messages WHERE queue_id = $1 AND seq = $2",
        &[&from, &seq],
    )
    .await
    .map_err(db)?;
    Ok(())
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
            "SELECT min(visible_at) FROM cauda.messages \
             WHERE queue_id = $1 AND visible_at > sent_at AND visible_at > $2",
            &[&id, &now],
        )
        .await
        .map_err(db)?;
    Ok(row.get::<_, Option<i64>>(0).map(to_u64))
}
