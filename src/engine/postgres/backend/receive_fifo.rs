//! ReceiveMessage on a FIFO queue: the FIFO rule in SQL, group-by-group claims, and moves to
//! a FIFO dead-letter queue at receive.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use crate::engine::queue::{MessageMeta, MessageRecord, Queue};
use crate::engine::receive::{Claim, Claimed};
use crate::engine::redrive::MoveKind;
use crate::engine::EngineResult;
use crate::store::records;

use super::attempts::{remember_attempt, replay_attempt};
use super::receive::{finish_claim, move_row, TAKE};
use super::{db, failed, notify_ready, state_of, to_i64, to_u64};

/// The groups with a message that is not visible (in flight or delayed), and the first such
/// message of each: computed once per statement from the `visible_at` index's range above
/// now, so the rule below costs a hash probe per message. (The rule used to look for an
/// earlier invisible message of the group per candidate message: one index probe each,
/// walking the group's dead index entries — received and deleted heads not yet vacuumed —
/// so that with every group's head in flight a claim scanned the queue at a cost of
/// messages × dead entries: a second per receive at 4,000 messages under load, and claims
/// busy for over 90 s.) `visible_at > sent_at` (implied: nothing is sent in the future) lets
/// the planner read the `messages_waiting` index instead of the table.
pub(super) const BLOCKED: &str = "blocked AS MATERIALIZED (SELECT group_id, min(seq) AS first \
     FROM cauda.messages WHERE queue_id = $1 AND visible_at > sent_at AND visible_at > $2 \
     AND group_id IS NOT NULL GROUP BY group_id)";

/// The FIFO rule as a condition on message `m` (with [`BLOCKED`] in the statement's `WITH`):
/// visible, and no earlier message of its group is not (in flight or delayed), so a group
/// delivers from its head up to its first in-flight message.
pub(super) const FIFO_RECEIVABLE: &str =
    "m.queue_id = $1 AND m.visible_at <= $2 AND m.sent_at > $3 \
     AND NOT EXISTS (SELECT 1 FROM blocked k WHERE k.group_id = m.group_id AND k.first < m.seq)";

/// A FIFO queue's claim: a ReceiveRequestAttemptId replayed while its messages are
/// unchanged, else [`claim_fifo`], remembered under the attempt id. `[now, retained_after,
/// max, visible_at]`; `visibility`: the request's timeout in force (seconds).
pub(super) async fn fifo_request(
    tx: Transaction<'_>,
    c: &Claim<'_>,
    times: [i64; 4],
    visibility: u32,
) -> EngineResult<Option<Claimed>> {
    let (id, now_i) = (to_i64(c.q.id), times[0]);
    if let Some(attempt) = &c.req.attempt_id {
        let vt = c.req.visibility_timeout;
        if let Some(rows) = replay_attempt(&tx, id, attempt, now_i, vt).await? {
            return finish_claim(tx, id, now_i, &rows).await;
        }
    }
    let (rows, moved) = claim_fifo(&tx, c.q, c.dead_letter.active(), times).await?;
    if let (Some(attempt), false) = (&c.req.attempt_id, rows.is_empty()) {
        remember_attempt(&tx, id, attempt, &rows, c.now, visibility).await?;
    }
    let mut claimed = finish_claim(tx, id, now_i, &rows).await?;
    if let Some(claimed) = claimed.as_mut() {
        claimed.moved_to_dead_letter = moved;
    }
    Ok(claimed)
}

/// A FIFO claim, group by group as Amazon SQS does ("SQS returns as many messages with the
/// same message group ID as possible", so that other consumers can take the other groups):
/// the groups of the oldest receivable messages are ranked by their oldest receivable
/// message, and as many of them as the window suggests fill the receive are locked
/// (`fifo_groups`, `SKIP LOCKED`: a group another claim holds is left to it, and the next one
/// is taken instead); then each held group, in that order, gives its messages from its head
/// up to its first message that is not visible, until `max`. Holding the group rows keeps the
/// rule's view current until the commit: sends to the group and other claims of it wait.
/// (Locking every candidate group and taking the oldest messages across them, as this did
/// before, made each receive block one group per message and left every concurrent claim
/// empty-handed.)
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
                "WITH {BLOCKED} SELECT c.group_id, count(*) FROM (SELECT m.group_id, m.seq \
                 FROM cauda.messages m WHERE {FIFO_RECEIVABLE} ORDER BY m.seq LIMIT $4) c \
                 GROUP BY c.group_id ORDER BY min(c.seq)"
            ),
            &[&id, &now, &retained_after, &(max * 4)],
        )
        .await
        .map_err(db)?;
    let groups: Vec<String> = candidates.iter().map(|r| r.get(0)).collect();
    let counts: Vec<i64> = candidates.iter().map(|r| r.get(1)).collect();
    if groups.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let held = tx
        .query(
            "SELECT g.group_id FROM cauda.fifo_groups g \
               JOIN unnest($2::text[]) WITH ORDINALITY AS u(group_id, ord) \
                 ON g.group_id = u.group_id \
             WHERE g.queue_id = $1 ORDER BY u.ord LIMIT $3 FOR UPDATE OF g SKIP LOCKED",
            &[&id, &groups, &groups_to_hold(&counts, max)],
        )
        .await
        .map_err(db)?;
    let mut held: Vec<String> = held.iter().map(|r| r.get(0)).collect();
    if held.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let rank: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), i))
        .collect();
    held.sort_by_key(|g| rank.get(g.as_str()).copied());
    let Some((dlq, max_receives)) = dead_letter else {
        let rows = tx
            .query(
                &format!(
                    "WITH {BLOCKED}, c AS ({}) {TAKE}",
                    group_by_group("$6", "$4")
                ),
                &[&id, &now, &retained_after, &max, &visible_at, &held],
            )
            .await
            .map_err(db)?;
        return Ok((rows, 0));
    };
    claim_fifo_with_redrive(
        tx,
        q,
        dlq,
        max_receives,
        &held,
        [now, retained_after, max, visible_at],
    )
    .await
}

/// How many of the ranked candidate groups a FIFO claim of `max` locks: enough for their
/// receivable messages in the candidate window (`counts`, in rank order) to fill it, or all.
fn groups_to_hold(counts: &[i64], max: i64) -> i64 {
    let mut total = 0;
    for (i, n) in counts.iter().enumerate() {
        total += n;
        if total >= max {
            return i as i64 + 1;
        }
    }
    counts.len() as i64
}

/// A query for the seqs of up to `limit` receivable messages of the groups in the text array
/// `groups`, group by group in the array's order, each from its head up to (not including)
/// its first message that is not visible ([`BLOCKED`] must be in the statement's `WITH`).
/// Each group is a range of the `messages_by_group` index that ends at that message.
fn group_by_group(groups: &str, limit: &str) -> String {
    format!(
        "SELECT x.seq FROM unnest({groups}::text[]) WITH ORDINALITY AS h(group_id, ord) \
           CROSS JOIN LATERAL (SELECT m.seq FROM cauda.messages m \
             WHERE m.queue_id = $1 AND m.group_id = h.group_id \
               AND m.seq < coalesce((SELECT k.first FROM blocked k \
                 WHERE k.group_id = h.group_id), 9223372036854775807) \
               AND m.visible_at <= $2 AND m.sent_at > $3 \
             ORDER BY m.seq LIMIT {limit}) x \
         ORDER BY h.ord, x.seq LIMIT {limit}"
    )
}

/// [`claim_fifo`] of a queue with a dead-letter queue: the held groups' receivable messages
/// are locked; those received `max_receives` times move to `dlq` (and no longer block their
/// group), up to `max` of the others are made in flight. Returns those and the number moved.
async fn claim_fifo_with_redrive(
    tx: &Transaction<'_>,
    q: &Queue,
    dlq: &Arc<Queue>,
    max_receives: u32,
    held: &[String],
    [now, retained_after, max, visible_at]: [i64; 4],
) -> EngineResult<(Vec<Row>, usize)> {
    let id = to_i64(q.id);
    // Extra rows, so that messages moved instead of delivered leave room for others.
    let mut rows = tx
        .query(
            &format!(
                "WITH {BLOCKED}, c AS ({}) SELECT m.seq, m.record, m.group_id, m.sent_at, \
                   m.visible_at, m.receive_count, m.first_receive_at, m.received_at \
                 FROM cauda.messages m JOIN c ON m.seq = c.seq WHERE m.queue_id = $1 \
                 FOR UPDATE OF m",
                group_by_group("$5", "$4")
            ),
            &[&id, &now, &retained_after, &(max + 20), &held],
        )
        .await
        .map_err(db)?;
    let rank: HashMap<&str, usize> = held
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), i))
        .collect();
    rows.sort_by_key(|r| (rank.get(r.get::<_, &str>(2)).copied(), r.get::<_, i64>(0)));
    let mut take: Vec<i64> = Vec::new();
    let mut moved = 0;
    // Groups whose next message is due for a dead-letter group another transaction holds:
    // nothing more of them in this claim.
    let mut stopped: HashSet<&str> = HashSet::new();
    for row in &rows {
        if take.len() >= usize::try_from(max).unwrap_or(10) {
            break;
        }
        let group: &str = row.get(2);
        if stopped.contains(group) {
            continue;
        }
        let meta = MessageMeta {
            sent_at: to_u64(row.get(3)),
            group: Some(Arc::from(group)),
            state: state_of(row, 4),
        };
        if meta.state.receive_count < max_receives {
            take.push(row.get(0));
            continue;
        }
        // Not waiting for the dead-letter queue's group: a claim of that queue may hold it
        // and wait for this one's (two FIFO queues redriving to each other), a deadlock.
        if dlq.fifo && !try_lock_group(tx, dlq.id, group).await? {
            stopped.insert(group);
            continue;
        }
        let record: MessageRecord =
            records::decode(row.get::<_, &[u8]>(1)).map_err(|e| failed(&e))?;
        let (record, meta) = MoveKind::DeadLetter.rewrite(q, dlq, &meta, record, to_u64(now));
        move_row(tx, id, row.get(0), dlq, &record, &meta.state).await?;
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

/// Locks the `fifo_groups` row of `group` in queue `queue_id` (made if missing) unless
/// another transaction holds it: `false` then, without waiting.
async fn try_lock_group(tx: &Transaction<'_>, queue_id: u64, group: &str) -> EngineResult<bool> {
    let id = to_i64(queue_id);
    tx.execute(
        "INSERT INTO cauda.fifo_groups (queue_id, group_id) VALUES ($1, $2) \
         ON CONFLICT (queue_id, group_id) DO NOTHING",
        &[&id, &group],
    )
    .await
    .map_err(db)?;
    let held = tx
        .query_opt(
            "SELECT 1 FROM cauda.fifo_groups WHERE queue_id = $1 AND group_id = $2 \
             FOR UPDATE SKIP LOCKED",
            &[&id, &group],
        )
        .await
        .map_err(db)?;
    Ok(held.is_some())
}
