//! Counts, the operator's peek and delete by id, purge, retention and the janitor.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use tokio_postgres::SimpleQueryMessage;

use crate::engine::janitor::periodically;
use crate::engine::peek::{PeekRequest, PeekedMessage, Phase};
use crate::engine::queue::{Counts, Queue, QueueStats};
use crate::engine::{Engine, EngineResult};
use crate::store::records;

use super::{db, failed, record_of, state_of, to_i64, to_u64, Postgres};

/// A queue of up to this many messages (rows) is counted exactly; a larger one estimated.
pub(crate) const EXACT_COUNT_LIMIT: i64 = 10_000;

/// The most rows an estimate counts in flight, and delayed or in flight.
const COUNT_CAP: i64 = 100_000;

/// Rows of each kind one expiry transaction deletes at most.
const EXPIRY_BATCH: i64 = 1_000;

/// How often (engine clock) each node's janitor looks for queues with something to expire.
pub(crate) const JANITOR_PERIOD_MS: u64 = 10_000;

impl Postgres {
    /// Exact counts of a queue of up to [`EXACT_COUNT_LIMIT`] messages; above, estimates
    /// (see the module doc's "Counts"), so that the cost does not grow with the depth.
    /// Messages past their retention are not counted (nor delivered) even while their rows
    /// wait for the janitor.
    pub(super) async fn stats(&self, q: &Queue, now: u64) -> EngineResult<QueueStats> {
        let retention_ms = u64::from(record_of(q).attributes.message_retention_period) * 1000;
        let retained_after = to_i64(now.saturating_sub(retention_ms));
        let (id, now) = (to_i64(q.id), to_i64(now));
        let client = self.client().await?;
        let exact = |limit: i64| {
            let client = &client;
            async move {
                let row = client
                    .query_one(
                        "SELECT count(*) FILTER (WHERE sent_at > $3 AND visible_at <= $2), \
                           count(*) FILTER (WHERE sent_at > $3 AND visible_at > $2 \
                             AND receive_count > 0), \
                           count(*) FILTER (WHERE sent_at > $3 AND visible_at > $2 \
                             AND receive_count = 0), \
                           min(sent_at) FILTER (WHERE sent_at > $3), \
                           count(*) \
                         FROM (SELECT sent_at, visible_at, receive_count FROM cauda.messages \
                           WHERE queue_id = $1 LIMIT $4) s",
                        &[&id, &now, &retained_after, &limit],
                    )
                    .await
                    .map_err(db)?;
                let n = |i: usize| usize::try_from(row.get::<_, i64>(i)).unwrap_or(0);
                let stats = QueueStats {
                    counts: Counts {
                        visible: n(0),
                        in_flight: n(1),
                        delayed: n(2),
                    },
                    oldest_sent_at: row.get::<_, Option<i64>>(3).map(to_u64),
                };
                EngineResult::Ok((stats, row.get::<_, i64>(4)))
            }
        };
        let (stats, rows) = exact(EXACT_COUNT_LIMIT + 1).await?;
        if rows <= EXACT_COUNT_LIMIT {
            return Ok(stats);
        }
        match estimated_stats(&client, id, now, retained_after).await? {
            Some(stats) => Ok(stats),
            // The table's statistics do not know the queue is large yet (no ANALYZE since
            // it grew): counted, until they do.
            None => Ok(exact(i64::MAX).await?.0),
        }
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

    /// Messages past their retention, expired deduplication entries and receive attempts,
    /// deleted in batches of [`EXPIRY_BATCH`] rows, each batch a transaction holding the
    /// queue's advisory lock: while another node expires the queue, this returns at once.
    pub(super) async fn expire(&self, q: &Queue, now: u64) -> EngineResult<()> {
        let retention_ms = u64::from(record_of(q).attributes.message_retention_period) * 1000;
        let cutoff = to_i64(now.saturating_sub(retention_ms));
        while self.expire_batch(to_i64(q.id), cutoff, to_i64(now)).await? {}
        Ok(())
    }

    /// One batch of [`Postgres::expire`]: whether more may be due.
    async fn expire_batch(&self, id: i64, cutoff: i64, now: i64) -> EngineResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let locked: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&id])
            .await
            .map_err(db)?
            .get(0);
        if !locked {
            return Ok(false);
        }
        // Rows another transaction holds (a receive, a delete) are left to the next batch.
        let messages = tx
            .execute(
                "DELETE FROM cauda.messages WHERE queue_id = $1 AND seq IN (SELECT seq \
                   FROM cauda.messages WHERE queue_id = $1 AND sent_at <= $2 \
                   ORDER BY sent_at LIMIT $3 FOR UPDATE SKIP LOCKED)",
                &[&id, &cutoff, &EXPIRY_BATCH],
            )
            .await
            .map_err(db)?;
        let dedup = tx
            .execute(
                "DELETE FROM cauda.dedup WHERE queue_id = $1 AND key IN (SELECT key \
                   FROM cauda.dedup WHERE queue_id = $1 AND expires_at <= $2 \
                   ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)",
                &[&id, &now, &EXPIRY_BATCH],
            )
            .await
            .map_err(db)?;
        let attempts = tx
            .execute(
                "DELETE FROM cauda.receive_attempts WHERE queue_id = $1 AND attempt_id IN \
                   (SELECT attempt_id FROM cauda.receive_attempts WHERE queue_id = $1 \
                   AND expires_at <= $2 ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)",
                &[&id, &now, &EXPIRY_BATCH],
            )
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        let full = to_u64(EXPIRY_BATCH);
        Ok(messages == full || dedup == full || attempts == full)
    }

    /// Every node's janitor: every [`JANITOR_PERIOD_MS`] of the engine's clock, one
    /// statement finds the queues with something due ([`Postgres::due_queues`]) and each
    /// is expired, until the engine shuts down or is dropped.
    pub(crate) fn spawn_janitor(self: &Arc<Self>, engine: Weak<Engine>) {
        let Some((clock, shutdown)) = engine
            .upgrade()
            .map(|e| (e.clock.clone(), e.shutdown_signal()))
        else {
            return;
        };
        let pg = self.clone();
        tokio::spawn(async move {
            periodically(clock.as_ref(), JANITOR_PERIOD_MS, shutdown, || {
                let (pg, engine) = (pg.clone(), engine.clone());
                async move {
                    let Some(engine) = engine.upgrade() else {
                        return;
                    };
                    // While the database is unreachable its health check says so, once.
                    if pg.health.unavailable().is_some() {
                        return;
                    }
                    if let Err(e) = pg.sweep(&engine).await {
                        // The database failure is logged where it happened; the next round
                        // tries again.
                        tracing::debug!(error = %e, "postgres janitor: round failed");
                    }
                }
            })
            .await;
        });
    }

    /// One janitor round: expires each of `engine`'s queues that has something due, then
    /// forgets a page of empty message groups (`groups.rs`); returns how many queues it
    /// expired.
    pub(crate) async fn sweep(&self, engine: &Engine) -> EngineResult<usize> {
        let queues = engine.all_queues();
        let now = engine.now();
        let due = self.due_queues(&queues, now).await?;
        for q in queues.iter().filter(|q| due.contains(&q.id)) {
            if engine.is_shutting_down() {
                break;
            }
            self.expire(q, now).await?;
        }
        self.forget_empty_groups().await?;
        Ok(due.len())
    }

    /// The ids of `queues` with a message past its retention, an expired deduplication
    /// entry or receive attempt at `now`: one statement, three index probes per queue.
    async fn due_queues(&self, queues: &[Arc<Queue>], now: u64) -> EngineResult<HashSet<u64>> {
        if queues.is_empty() {
            return Ok(HashSet::new());
        }
        let (ids, cutoffs): (Vec<i64>, Vec<i64>) = queues
            .iter()
            .map(|q| {
                let retention = u64::from(record_of(q).attributes.message_retention_period);
                (to_i64(q.id), to_i64(now.saturating_sub(retention * 1000)))
            })
            .unzip();
        let client = self.client().await?;
        // Scalar subqueries ordered by each index, so that each is one probe (an EXISTS may
        // be planned as a join over the whole table).
        let rows = client
            .query(
                "SELECT q.id FROM unnest($1::bigint[], $2::bigint[]) AS q(id, cutoff) \
                 WHERE (SELECT sent_at FROM cauda.messages m WHERE m.queue_id = q.id \
                     ORDER BY sent_at LIMIT 1) <= q.cutoff \
                   OR (SELECT expires_at FROM cauda.dedup d WHERE d.queue_id = q.id \
                     ORDER BY expires_at LIMIT 1) <= $3 \
                   OR (SELECT expires_at FROM cauda.receive_attempts a \
                     WHERE a.queue_id = q.id ORDER BY expires_at LIMIT 1) <= $3",
                &[&ids, &cutoffs, &to_i64(now)],
            )
            .await
            .map_err(db)?;
        Ok(rows.iter().map(|r| to_u64(r.get(0))).collect())
    }
}

/// Counts of a queue above [`EXACT_COUNT_LIMIT`] messages: in flight and delayed counted by
/// their indexes up to [`COUNT_CAP`] each; the total is the planner's estimate of the
/// queue's rows (its statistics, scaled to the table's current size); visible is the rest.
/// The oldest message's age stays exact (one probe). `None` when the estimate is not above
/// the limit (statistics older than the queue's growth).
async fn estimated_stats(
    client: &deadpool_postgres::Object,
    id: i64,
    now: i64,
    retained_after: i64,
) -> EngineResult<Option<QueueStats>> {
    // A literal id (an integer): the planner estimates for that queue, not a generic one.
    let plan = client
        .simple_query(&format!(
            "EXPLAIN SELECT 1 FROM cauda.messages WHERE queue_id = {id}"
        ))
        .await
        .map_err(db)?;
    // The plan's first line ends with its estimate: `(cost=0.43..8.45 rows=1234 width=4)`.
    let total = plan
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).and_then(estimated_rows),
            _ => None,
        })
        .unwrap_or(0);
    if total <= to_u64(EXACT_COUNT_LIMIT) {
        return Ok(None);
    }
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM cauda.messages WHERE queue_id = $1 \
                 AND visible_at > sent_at AND visible_at > $2 LIMIT $4) w), \
               (SELECT count(*) FROM (SELECT 1 FROM cauda.messages WHERE queue_id = $1 \
                 AND receive_count > 0 AND visible_at > sent_at AND visible_at > $2 \
                 LIMIT $4) f), \
               (SELECT sent_at FROM cauda.messages WHERE queue_id = $1 AND sent_at > $3 \
                 ORDER BY sent_at LIMIT 1)",
            &[&id, &now, &retained_after, &COUNT_CAP],
        )
        .await
        .map_err(db)?;
    let (waiting, in_flight) = (row.get::<_, i64>(0), row.get::<_, i64>(1));
    let (waiting, in_flight) = (to_u64(waiting), to_u64(in_flight));
    let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Ok(Some(QueueStats {
        counts: Counts {
            visible: n(total.saturating_sub(waiting)),
            in_flight: n(in_flight),
            delayed: n(waiting.saturating_sub(in_flight)),
        },
        oldest_sent_at: row.get::<_, Option<i64>>(2).map(to_u64),
    }))
}

/// The row estimate of an EXPLAIN line (`… rows=1234 width=4)`).
fn estimated_rows(line: &str) -> Option<u64> {
    let after = &line[line.find(" rows=")? + " rows=".len()..];
    let digits = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    after[..digits].parse().ok()
}

#[cfg(test)]
mod explain_tests {
    use super::estimated_rows;

    #[test]
    fn the_estimate_is_read_from_a_plan_line() {
        let line = "Index Only Scan using messages_by_sent_at on messages  \
                    (cost=0.43..31245.71 rows=1000123 width=4)";
        assert_eq!(estimated_rows(line), Some(1_000_123));
        assert_eq!(
            estimated_rows("Seq Scan on messages  (cost=0.00..1.01 rows=1 width=4)"),
            Some(1)
        );
        assert_eq!(estimated_rows("Result  (cost=0.00..0.01 width=4)"), None);
    }
}
