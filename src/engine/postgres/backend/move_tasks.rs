//! Message move tasks over the database: their records in `move_tasks`, seen by every node,
//! each RUNNING one leased to the node that runs it (`owner`, `lease_until`), and their
//! moves, each one transaction.
//!
//! A node holds a task's lease while its runner renews it (every third of the lease); a node
//! finding a lease expired takes the task over (`UPDATE … WHERE lease_until < $now
//! RETURNING`). Each move locks the task's row, checks that this node still holds it and that
//! it still runs, then inserts the message into the destination, deletes it from the source
//! and writes the task's progress, and commits: a takeover (which waits for that row lock)
//! finds every move either done and counted or not done at all, so it repeats nothing and
//! loses nothing, and a cancel from any node stops the runner at its next move.

use std::sync::Arc;

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use crate::engine::move_tasks::{
    MoveStep, MoveTaskInfo, MoveTaskStatus, NextMove, TaskEnd, TaskMove,
};
use crate::engine::queue::{MessageMeta, MessageRecord, Queue};
use crate::engine::redrive::MoveKind;
use crate::engine::state::{EndOutcome, MoveTaskRecords, StateFuture};
use crate::engine::EngineResult;
use crate::store::records;

use super::send::{insert_message, lock_group, next_message_seq};
use super::{db, failed, notify_ready, record_of, state_of, to_i64, to_u64, Postgres};

fn decode(row: &Row, at: usize) -> EngineResult<MoveTaskInfo> {
    records::decode(row.get::<_, &[u8]>(at)).map_err(|e| failed(&e))
}

/// Writes `task`'s record (and its status column) back to its row.
async fn store_record(tx: &Transaction<'_>, handle: &str, task: &MoveTaskInfo) -> EngineResult<()> {
    tx.execute(
        "UPDATE cauda.move_tasks SET record = $2, status = $3 WHERE handle = $1",
        &[&handle, &records::encode(task), &task.status.as_str()],
    )
    .await
    .map_err(db)?;
    Ok(())
}

impl Postgres {
    /// The lease's end for a lease taken or renewed at `now`.
    fn lease_until(&self, now: u64) -> i64 {
        to_i64(now.saturating_add(self.lease_ms))
    }

    async fn insert_task(&self, task: &MoveTaskInfo, now: u64) -> EngineResult<bool> {
        let client = self.client().await?;
        // The partial unique index on RUNNING tasks decides a race between nodes.
        let inserted = client
            .execute(
                "INSERT INTO cauda.move_tasks (handle, source_arn, destination_arn, status, \
                   started_at, record, owner, lease_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (source_arn) WHERE status = 'RUNNING' DO NOTHING",
                &[
                    &task.handle(),
                    &task.source_arn,
                    &task.destination_arn,
                    &task.status.as_str(),
                    &to_i64(task.started_at),
                    &records::encode(task),
                    &self.node,
                    &self.lease_until(now),
                ],
            )
            .await
            .map_err(db)?;
        Ok(inserted == 1)
    }

    async fn task(&self, handle: &str) -> EngineResult<Option<MoveTaskInfo>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT record FROM cauda.move_tasks WHERE handle = $1",
                &[&handle],
            )
            .await
            .map_err(db)?;
        row.map(|r| decode(&r, 0)).transpose()
    }

    /// Most recently started first; of two started in the same millisecond, the running one
    /// (the other had ended before it started).
    async fn list_tasks(&self, source_arn: &str, max: usize) -> EngineResult<Vec<MoveTaskInfo>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT record FROM cauda.move_tasks WHERE source_arn = $1 \
                 ORDER BY started_at DESC, (status = 'RUNNING') DESC LIMIT $2",
                &[&source_arn, &to_i64(max as u64)],
            )
            .await
            .map_err(db)?;
        rows.iter().map(|r| decode(r, 0)).collect()
    }

    async fn end_task(&self, handle: &str, end: TaskEnd) -> EngineResult<EndOutcome> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let Some(row) = tx
            .query_opt(
                "SELECT record, owner FROM cauda.move_tasks WHERE handle = $1 FOR UPDATE",
                &[&handle],
            )
            .await
            .map_err(db)?
        else {
            return Ok(EndOutcome::Missing);
        };
        let mut task = decode(&row, 0)?;
        let held = row.get::<_, Option<&str>>(1) == Some(self.node.as_str());
        if task.status != MoveTaskStatus::Running || (end.by_runner && !held) {
            return Ok(EndOutcome::NotRunning(task));
        }
        end.apply(&mut task);
        tx.execute(
            "UPDATE cauda.move_tasks SET record = $2, status = $3, owner = NULL, lease_until = 0 \
             WHERE handle = $1",
            &[&handle, &records::encode(&task), &task.status.as_str()],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(EndOutcome::Ended(task))
    }

    async fn take_over_tasks(&self, now: u64) -> EngineResult<Vec<MoveTaskInfo>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "UPDATE cauda.move_tasks SET owner = $1, lease_until = $3 \
                 WHERE status = 'RUNNING' AND lease_until < $2 RETURNING record",
                &[&self.node, &to_i64(now), &self.lease_until(now)],
            )
            .await
            .map_err(db)?;
        rows.iter().map(|r| decode(r, 0)).collect()
    }

    async fn renew_task_lease(&self, handle: &str, now: u64) -> EngineResult<bool> {
        let client = self.client().await?;
        let renewed = client
            .execute(
                "UPDATE cauda.move_tasks SET lease_until = $3 \
                 WHERE handle = $1 AND owner = $2 AND status = 'RUNNING'",
                &[&handle, &self.node, &self.lease_until(now)],
            )
            .await
            .map_err(db)?;
        Ok(renewed == 1)
    }

    /// Clears the owner and the lease of every RUNNING task this node holds: a move of this
    /// node that has not locked its task row yet then finds it not held and stops, and the
    /// next look of another node takes the task over.
    async fn release_task_leases(&self) -> EngineResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE cauda.move_tasks SET owner = NULL, lease_until = 0 \
                 WHERE owner = $1 AND status = 'RUNNING'",
                &[&self.node],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The oldest visible message of `source` within its retention period, unlocked: the
    /// move locks it and checks again.
    pub(super) async fn next_to_move(&self, source: &Queue, now: u64) -> EngineResult<NextMove> {
        let retention_ms = u64::from(record_of(source).attributes.message_retention_period) * 1000;
        let client = self.client().await?;
        let row = client
            .query_opt(
                // The oldest ready message and the first due one not yet promoted, each by
                // its index (see receive.rs): no scan of the queue's messages.
                "SELECT seq, record FROM ((SELECT seq, record FROM cauda.messages \
                   WHERE queue_id = $1 AND visible_at <= sent_at AND visible_at <= $2 \
                   AND sent_at > $3 ORDER BY seq LIMIT 1) \
                 UNION ALL (SELECT seq, record FROM cauda.messages \
                   WHERE queue_id = $1 AND visible_at > sent_at AND visible_at <= $2 \
                   AND sent_at > $3 ORDER BY visible_at LIMIT 1)) c ORDER BY seq LIMIT 1",
                &[
                    &to_i64(source.id),
                    &to_i64(now),
                    &to_i64(now.saturating_sub(retention_ms)),
                ],
            )
            .await
            .map_err(db)?;
        let Some(row) = row else {
            return Ok(NextMove::Nothing);
        };
        let record: MessageRecord =
            records::decode(row.get::<_, &[u8]>(1)).map_err(|e| failed(&e))?;
        Ok(NextMove::Message(to_u64(row.get(0)), Box::new(record)))
    }

    /// One move, one transaction: the task's row locked and checked (RUNNING, held by this
    /// node), the message's row locked and checked (still there, visible), then the message
    /// into the destination, out of the source, and the task one message further.
    pub(super) async fn move_for_task(&self, m: TaskMove<'_>) -> EngineResult<MoveStep> {
        let handle = m.task.handle();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let Some(row) = tx
            .query_opt(
                "SELECT record FROM cauda.move_tasks WHERE handle = $1 AND owner = $2 \
                 AND status = 'RUNNING' FOR UPDATE",
                &[&handle, &self.node],
            )
            .await
            .map_err(db)?
        else {
            return Ok(MoveStep::TaskStopped);
        };
        let mut task = decode(&row, 0)?;
        let Some(row) = tx
            .query_opt(
                "SELECT group_id, sent_at, visible_at, receive_count, first_receive_at, \
                   received_at FROM cauda.messages \
                 WHERE queue_id = $1 AND seq = $2 AND visible_at <= $3 FOR UPDATE",
                &[&to_i64(m.source.id), &to_i64(m.seq), &to_i64(m.now)],
            )
            .await
            .map_err(db)?
        else {
            return Ok(MoveStep::MessageGone);
        };
        let from = MessageMeta {
            group: row.get::<_, Option<&str>>(0).map(Arc::from),
            sent_at: to_u64(row.get(1)),
            state: state_of(&row, 2),
        };
        let (record, meta) = MoveKind::MoveTask.rewrite(m.source, m.dest, &from, m.record, m.now);
        if let Some(group) = meta.group.as_deref().filter(|_| m.dest.fifo) {
            lock_group(&tx, m.dest.id, group).await?;
        }
        let seq = next_message_seq(&tx).await?;
        insert_message(&tx, m.dest.id, seq, &record, &meta.state).await?;
        tx.execute(
            "DELETE FROM cauda.messages WHERE queue_id = $1 AND seq = $2",
            &[&to_i64(m.source.id), &to_i64(m.seq)],
        )
        .await
        .map_err(db)?;
        task.moved += 1;
        store_record(&tx, &handle, &task).await?;
        notify_ready(&tx, m.dest.id).await?;
        tx.commit().await.map_err(db)?;
        Ok(MoveStep::Moved)
    }
}

impl MoveTaskRecords for Postgres {
    fn insert_task<'a>(&'a self, task: &'a MoveTaskInfo, now: u64) -> StateFuture<'a, bool> {
        Box::pin(self.insert_task(task, now))
    }

    fn task<'a>(&'a self, handle: &'a str) -> StateFuture<'a, Option<MoveTaskInfo>> {
        Box::pin(self.task(handle))
    }

    fn list_tasks<'a>(
        &'a self,
        source_arn: &'a str,
        max: usize,
    ) -> StateFuture<'a, Vec<MoveTaskInfo>> {
        Box::pin(self.list_tasks(source_arn, max))
    }

    fn end_task<'a>(&'a self, handle: &'a str, end: TaskEnd) -> StateFuture<'a, EndOutcome> {
        Box::pin(self.end_task(handle, end))
    }

    fn take_over_tasks(&self, now: u64) -> StateFuture<'_, Vec<MoveTaskInfo>> {
        Box::pin(self.take_over_tasks(now))
    }

    fn renew_task_lease<'a>(&'a self, handle: &'a str, now: u64) -> StateFuture<'a, bool> {
        Box::pin(self.renew_task_lease(handle, now))
    }

    fn task_lease_ms(&self) -> Option<u64> {
        Some(self.lease_ms)
    }

    fn release_task_leases(&self) -> StateFuture<'_, ()> {
        Box::pin(self.release_task_leases())
    }
}
