//! [`Postgres`]: the [`MessageState`] over the `cauda` schema (phase 1: see the module doc's
//! "Built so far"). Each operation is one transaction on a pooled connection; the shared
//! rules (send preparation, receipt-handle checks, the visibility rule) run on the rows it
//! read, locked `FOR UPDATE`.

use std::sync::{Arc, PoisonError, RwLock};

use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use crate::engine::move_tasks::{MoveStep, NextMove, TaskMove};
use crate::engine::peek::{PeekRequest, PeekedMessage, Phase};
use crate::engine::queue::{
    Counts, DedupRecord, MessageMeta, MessageRecord, MessageStateRecord, Queue, QueueRecord,
    QueueSlot, QueueStats,
};
use crate::engine::receipt::ReceiptHandle;
use crate::engine::receive::{Claim, Claimed, Delivery, ATTEMPT_WINDOW_MS};
use crate::engine::redrive::MoveKind;
use crate::engine::send::{Accepted, SendEntry, SendOutcome, Sending};
use crate::engine::state::{MessageState, RecordChange, StateFuture};
use crate::engine::visibility::visibility_change;
use crate::engine::{EngineError, EngineResult};
use crate::store::records;

use super::listen::{CHANNEL, FALLBACK_POLL_MS, REGISTRY_CHANNEL};

/// The PostgreSQL backend of one node.
pub(crate) struct Postgres {
    pool: Pool,
    /// The region of a record that names none (never written by this backend).
    default_region: String,
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
    failed(&e)
}

/// What this phase of the backend does not do yet: a clear refusal, not a silent gap.
fn not_built(what: &str) -> EngineError {
    EngineError::InvalidRequest(
        format!("{what} is not supported by cauda's postgres backend yet (issue 15).").into(),
    )
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
    pub(crate) fn new(pool: Pool, default_region: String) -> Self {
        Postgres {
            pool,
            default_region,
        }
    }

    async fn client(&self) -> EngineResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| failed(&e))
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

    async fn store_queue(&self, record: &QueueRecord) -> EngineResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let region = record.region.as_deref().unwrap_or(&self.default_region);
        let inserted = tx
            .execute(
                "INSERT INTO cauda.queues (id, account, region, name, record) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account, region, name) DO NOTHING",
                &[
                    &to_i64(record.id),
                    &record.account,
                    &region,
                    &record.name,
                    &records::encode(record),
                ],
            )
            .await
            .map_err(db)?;
        if inserted == 0 {
            // Another node created the name first; its CreateQueue answers for it.
            return Err(EngineError::InvalidRequest(
                "Another CreateQueue of this name is in progress; try again.".into(),
            ));
        }
        notify_registry(&tx, record.id).await?;
        tx.commit().await.map_err(db)
    }

    async fn remove_queue(&self, q: &Queue) -> EngineResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute("DELETE FROM cauda.queues WHERE id = $1", &[&to_i64(q.id)])
            .await
            .map_err(db)?;
        notify_registry(&tx, q.id).await?;
        tx.commit().await.map_err(db)
    }

    /// The stored record, locked, is the one changed (not this node's copy, which another
    /// node's change may have outdated); every node then reloads it.
    async fn update_record(&self, q: &Queue, change: &mut RecordChange<'_>) -> EngineResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let id = to_i64(q.id);
        let row = tx
            .query_opt(
                "SELECT record FROM cauda.queues WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await
            .map_err(db)?
            .ok_or(EngineError::QueueDoesNotExist)?;
        let mut next: QueueRecord =
            records::decode(row.get::<_, &[u8]>(0)).map_err(|e| failed(&e))?;
        change(&mut next)?;
        tx.execute(
            "UPDATE cauda.queues SET record = $2, version = version + 1 WHERE id = $1",
            &[&id, &records::encode(&next)],
        )
        .await
        .map_err(db)?;
        notify_registry(&tx, q.id).await?;
        tx.commit().await.map_err(db)?;
        Postgres::refresh(q, next);
        Ok(())
    }

    /// `q`'s record as stored now (another node changed it): the one this node uses.
    pub(crate) fn refresh(q: &Queue, record: QueueRecord) {
        q.refresh_policy(&record);
        *slot(q)
            .record
            .write()
            .unwrap_or_else(PoisonError::into_inner) = record;
    }

    /// Queue `id`'s stored record; `None` when it is deleted.
    pub(crate) async fn stored_queue(&self, id: u64) -> EngineResult<Option<QueueRecord>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT record FROM cauda.queues WHERE id = $1",
                &[&to_i64(id)],
            )
            .await
            .map_err(db)?;
        row.map(|r| records::decode(r.get::<_, &[u8]>(0)).map_err(|e| failed(&e)))
            .transpose()
    }

    /// Every stored queue's id and record version, for the registry's periodic check.
    pub(crate) async fn queue_versions(&self) -> EngineResult<Vec<(u64, i64)>> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT id, version FROM cauda.queues", &[])
            .await
            .map_err(db)?;
        Ok(rows.iter().map(|r| (to_u64(r.get(0)), r.get(1))).collect())
    }

    /// The batch's messages (and FIFO deduplication entries) in one transaction.
    async fn enqueue(
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

    /// One standard claim: up to the request's maximum of visible messages, skipping those
    /// another claim holds, made in flight in the same statement.
    async fn claim(&self, c: &Claim<'_>) -> EngineResult<Option<Claimed>> {
        let (q, now) = (c.q, c.now);
        let record = record_of(q);
        if !c.dead_letter.matches(&record.attributes) {
            return Ok(None);
        }
        if q.fifo && c.dead_letter.active().is_some() {
            return Err(not_built(
                "ReceiveMessage on a FIFO queue with a RedrivePolicy",
            ));
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
            let rows = claim_fifo(&tx, id, now_i, to_i64(retained_after), max, visible_at).await?;
            if let (Some(attempt), false) = (&c.req.attempt_id, rows.is_empty()) {
                remember_attempt(&tx, id, attempt, &rows, now, visibility).await?;
            }
            return finish_claim(tx, id, now_i, &rows).await;
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

    /// Each handle's message, locked, checked by the shared rule, then deleted.
    async fn delete(
        &self,
        q: &Queue,
        handles: &[&str],
        now: u64,
    ) -> EngineResult<Vec<EngineResult<()>>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            let h = match ReceiptHandle::for_queue(handle, q.id) {
                Ok(h) => h,
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            };
            let Some(meta) = locked_meta(&tx, q, h.seq, now).await? else {
                results.push(Ok(()));
                continue;
            };
            if let Err(e) = h.check_current(q.fifo, &meta, now, handle) {
                results.push(Err(e));
                continue;
            }
            tx.execute(
                "DELETE FROM cauda.messages WHERE queue_id = $1 AND seq = $2",
                &[&to_i64(q.id), &to_i64(h.seq)],
            )
            .await
            .map_err(db)?;
            results.push(Ok(()));
        }
        tx.commit().await.map_err(db)?;
        Ok(results)
    }

    /// Each entry's message, locked, changed as the shared visibility rule allows.
    async fn change_visibility(
        &self,
        q: &Queue,
        entries: &[(&str, i64)],
        now: u64,
    ) -> EngineResult<Vec<EngineResult<()>>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let mut results = Vec::with_capacity(entries.len());
        for &(handle, timeout) in entries {
            let h = match ReceiptHandle::for_queue(handle, q.id) {
                Ok(h) => h,
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            };
            let meta = locked_meta(&tx, q, h.seq, now).await?;
            match visibility_change(q.fifo, meta.as_ref(), h, handle, timeout, now) {
                Ok(state) => {
                    if timeout == 0 {
                        notify_ready(&tx, q.id).await?;
                    }
                    tx.execute(
                        "UPDATE cauda.messages SET visible_at = $3 WHERE queue_id = $1 AND seq = $2",
                        &[&to_i64(q.id), &to_i64(h.seq), &to_i64(state.visible_at)],
                    )
                    .await
                    .map_err(db)?;
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(results)
    }

    /// Messages past their retention are not counted (nor delivered) even while their rows
    /// wait for deletion.
    async fn stats(&self, q: &Queue, now: u64) -> EngineResult<QueueStats> {
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
    async fn peek(
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

    async fn delete_by_id(&self, q: &Queue, message_id: &str) -> EngineResult<bool> {
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
    async fn purge(&self, q: &Queue, now: u64, cooldown_ms: u64) -> EngineResult<bool> {
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
    async fn expire(&self, q: &Queue, now: u64) -> EngineResult<()> {
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

/// The claimed rows delivered in send order, or (none claimed) whether the queue is gone and
/// when its next message becomes visible; commits the claim.
async fn finish_claim(
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
async fn claim_with_redrive(
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

/// A FIFO receive's messages remembered under its ReceiveRequestAttemptId for
/// [`ATTEMPT_WINDOW_MS`], as it left them (receive count, visibility), with its visibility
/// timeout.
async fn remember_attempt(
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
async fn replay_attempt(
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

/// The FIFO rule as a condition on message `m`: visible, and no earlier message of its group
/// is not (in flight or delayed), so a group delivers from its head up to its first
/// in-flight message.
const FIFO_RECEIVABLE: &str = "m.queue_id = $1 AND m.visible_at <= $2 AND m.sent_at > $3 \
     AND NOT EXISTS (SELECT 1 FROM cauda.messages b WHERE b.queue_id = $1 \
       AND b.group_id = m.group_id AND b.seq < m.seq AND b.visible_at > $2)";

/// A FIFO claim: the groups of the oldest receivable messages are locked (`fifo_groups`,
/// `SKIP LOCKED`: a group another claim holds is left to it), then the receivable messages of
/// the groups held, oldest first, are made in flight. Holding the group rows keeps the rule's
/// view current until the commit: sends to the group and other claims of it wait.
async fn claim_fifo(
    tx: &Transaction<'_>,
    id: i64,
    now: i64,
    retained_after: i64,
    max: i64,
    visible_at: i64,
) -> EngineResult<Vec<Row>> {
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
        return Ok(Vec::new());
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
        return Ok(Vec::new());
    }
    tx.query(
        &format!(
            "WITH c AS (SELECT m.seq FROM cauda.messages m \
               WHERE {FIFO_RECEIVABLE} AND m.group_id = ANY($6) ORDER BY m.seq LIMIT $4) \
             {TAKE}"
        ),
        &[&id, &now, &retained_after, &max, &visible_at, &held],
    )
    .await
    .map_err(db)
}

/// Makes the messages of CTE `c` in flight until `$5` at `$2`, returning what a delivery needs.
const TAKE: &str = "UPDATE cauda.messages m SET visible_at = $5, \
     receive_count = m.receive_count + 1, first_receive_at = coalesce(m.first_receive_at, $2), \
     received_at = $2 \
     FROM c WHERE m.queue_id = $1 AND m.seq = c.seq \
     RETURNING m.seq, m.record, m.visible_at, m.receive_count, m.first_receive_at, m.received_at";

/// When a waiting receive claims again: at the next visibility, and within the fallback poll
/// whatever happens (a notification from another node may be lost).
fn with_fallback(next_visible_at: Option<u64>, now: i64) -> Option<u64> {
    let poll = to_u64(now) + FALLBACK_POLL_MS;
    Some(next_visible_at.map_or(poll, |v| v.min(poll)))
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

fn nothing(next_visible_at: Option<u64>, deleted: bool) -> Claimed {
    Claimed {
        delivered: Vec::new(),
        next_visible_at,
        deleted,
        moved_to_dead_letter: 0,
    }
}

async fn next_visible_at(tx: &Transaction<'_>, id: i64, now: i64) -> EngineResult<Option<u64>> {
    let row = tx
        .query_one(
            "SELECT min(visible_at) FROM cauda.messages WHERE queue_id = $1 AND visible_at > $2",
            &[&id, &now],
        )
        .await
        .map_err(db)?;
    Ok(row.get::<_, Option<i64>>(0).map(to_u64))
}

/// Message `seq`'s state, locked until the transaction ends; `None` when it is gone.
async fn locked_meta(
    tx: &Transaction<'_>,
    q: &Queue,
    seq: u64,
    now: u64,
) -> EngineResult<Option<MessageMeta>> {
    // A message past its retention is gone, whether or not its row is deleted yet.
    let retention_ms = u64::from(record_of(q).attributes.message_retention_period) * 1000;
    let row = tx
        .query_opt(
            "SELECT sent_at, group_id, visible_at, receive_count, first_receive_at, received_at \
             FROM cauda.messages WHERE queue_id = $1 AND seq = $2 AND sent_at > $3 FOR UPDATE",
            &[
                &to_i64(q.id),
                &to_i64(seq),
                &to_i64(now.saturating_sub(retention_ms)),
            ],
        )
        .await
        .map_err(db)?;
    Ok(row.map(|r| MessageMeta {
        sent_at: to_u64(r.get(0)),
        group: r.get::<_, Option<&str>>(1).map(Arc::from),
        state: state_of(&r, 2),
    }))
}

/// A live deduplication entry of `key`, locked (a concurrent send of the key waits for it).
async fn live_dedup(
    tx: &Transaction<'_>,
    queue_id: u64,
    key: &str,
    now: u64,
) -> EngineResult<Option<DedupRecord>> {
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

async fn store_dedup(tx: &Transaction<'_>, queue_id: u64, d: &DedupRecord) -> EngineResult<()> {
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
async fn lock_group(tx: &Transaction<'_>, queue_id: u64, group: &str) -> EngineResult<()> {
    tx.execute(
        "INSERT INTO cauda.fifo_groups (queue_id, group_id) VALUES ($1, $2) \
         ON CONFLICT (queue_id, group_id) DO UPDATE SET group_id = excluded.group_id",
        &[&to_i64(queue_id), &group],
    )
    .await
    .map_err(db)?;
    Ok(())
}

async fn next_message_seq(tx: &Transaction<'_>) -> EngineResult<u64> {
    let row = tx
        .query_one("SELECT nextval('cauda.message_seq')", &[])
        .await
        .map_err(db)?;
    Ok(to_u64(row.get(0)))
}

async fn insert_message(
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

    fn next_to_move<'a>(&'a self, _source: &'a Queue, _now: u64) -> StateFuture<'a, NextMove> {
        Box::pin(std::future::ready(Err(not_built("A message move task"))))
    }

    fn move_message<'a>(&'a self, _m: TaskMove<'a>) -> StateFuture<'a, MoveStep> {
        Box::pin(std::future::ready(Err(not_built("A message move task"))))
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

    /// No background work yet: retention is applied at receive (expired messages are not
    /// delivered) and by `Engine::expire`; a janitor comes with the multi-node registry.
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
