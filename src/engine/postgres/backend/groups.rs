//! Forgetting empty message groups: a FIFO queue's `fifo_groups` row is made by the first
//! send to its group and locked by sends and claims, and nothing else removes it but a purge
//! or the queue's deletion, so a queue given a new MessageGroupId per order, user or job
//! would grow the table without bound. Each janitor round looks at the next
//! [`GROUP_PAGE`] rows (all queues, in key order, wrapping around) and deletes those whose
//! group has no message left.
//!
//! A row is deleted only under its lock, taken `SKIP LOCKED` (a send or claim of the group
//! in progress holds it), and only if a statement that started after the lock was taken
//! finds no message of the group: a send that committed before is seen, and one that starts
//! after waits for the lock, then finds the row gone and makes it again (an upsert retries
//! its insert when the conflicting row is deleted). So a group with a message never loses
//! its row, which claims need (they lock it).

use super::{db, Postgres};
use crate::engine::EngineResult;

/// Rows of `fifo_groups` one janitor round looks at.
pub(super) const GROUP_PAGE: i64 = 1_000;

impl Postgres {
    /// One page of the sweep the module doc describes: returns how many rows it deleted.
    pub(super) async fn forget_empty_groups(&self) -> EngineResult<u64> {
        let after = self
            .group_cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut client = self.client().await?;
        let page = client
            .query(
                "SELECT g.queue_id, g.group_id, NOT EXISTS (SELECT 1 FROM cauda.messages m \
                   WHERE m.queue_id = g.queue_id AND m.group_id = g.group_id) \
                 FROM cauda.fifo_groups g WHERE (g.queue_id, g.group_id) > ($1, $2) \
                 ORDER BY g.queue_id, g.group_id LIMIT $3",
                &[&after.0, &after.1, &GROUP_PAGE],
            )
            .await
            .map_err(db)?;
        let next = match page.last() {
            Some(last) if page.len() as i64 == GROUP_PAGE => (last.get(0), last.get(1)),
            _ => (0, String::new()),
        };
        *self
            .group_cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        let (queues, groups): (Vec<i64>, Vec<String>) = page
            .iter()
            .filter(|r| r.get::<_, bool>(2))
            .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
            .unzip();
        if queues.is_empty() {
            return Ok(0);
        }
        let tx = client.transaction().await.map_err(db)?;
        let locked = tx
            .query(
                "SELECT g.queue_id, g.group_id FROM cauda.fifo_groups g \
                   JOIN unnest($1::bigint[], $2::text[]) AS u(queue_id, group_id) \
                     ON g.queue_id = u.queue_id AND g.group_id = u.group_id \
                 FOR UPDATE OF g SKIP LOCKED",
                &[&queues, &groups],
            )
            .await
            .map_err(db)?;
        let (queues, groups): (Vec<i64>, Vec<String>) = locked
            .iter()
            .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
            .unzip();
        // A new statement, so a new snapshot, taken with the locks held: it sees every send
        // to these groups that committed before, and none can be under way. Only the rows
        // locked above: a row another transaction held is left to a later round.
        let deleted = tx
            .execute(
                "DELETE FROM cauda.fifo_groups g \
                   USING unnest($1::bigint[], $2::text[]) AS u(queue_id, group_id) \
                 WHERE g.queue_id = u.queue_id AND g.group_id = u.group_id \
                   AND NOT EXISTS (SELECT 1 FROM cauda.messages m \
                     WHERE m.queue_id = g.queue_id AND m.group_id = g.group_id)",
                &[&queues, &groups],
            )
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(deleted)
    }
}
