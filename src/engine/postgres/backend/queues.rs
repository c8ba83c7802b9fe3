//! Queue records in the `queues` table: create, delete, change, read back.

use std::sync::PoisonError;

use crate::engine::queue::{Queue, QueueRecord};
use crate::engine::state::RecordChange;
use crate::engine::{EngineError, EngineResult};
use crate::store::records;

use super::{db, failed, notify_registry, slot, to_i64, to_u64, Postgres};

impl Postgres {
    pub(super) async fn store_queue(&self, record: &QueueRecord) -> EngineResult<()> {
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
            // Another node created the name first: the engine answers with its queue
            // (`Engine::create_queue`), unless it is deleted again meanwhile.
            return Err(EngineError::InvalidRequest(
                "Another CreateQueue of this name is in progress; try again.".into(),
            ));
        }
        notify_registry(&tx, record.id).await?;
        tx.commit().await.map_err(db)
    }

    pub(super) async fn remove_queue(&self, q: &Queue) -> EngineResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let deleted = tx
            .execute("DELETE FROM cauda.queues WHERE id = $1", &[&to_i64(q.id)])
            .await
            .map_err(db)?;
        if deleted == 0 {
            // Another node deleted it (this node has not heard yet).
            return Err(EngineError::QueueDoesNotExist);
        }
        tx.execute(
            "INSERT INTO cauda.deleted_queues (account, region, name, deleted_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account, region, name) \
             DO UPDATE SET deleted_at = EXCLUDED.deleted_at",
            &[&q.account, &q.region, &q.name, &to_i64(self.clock.now_ms())],
        )
        .await
        .map_err(db)?;
        notify_registry(&tx, q.id).await?;
        tx.commit().await.map_err(db)
    }

    /// The stored record, locked, is the one changed (not this node's copy, which another
    /// node's change may have outdated); every node then reloads it.
    pub(super) async fn update_record(
        &self,
        q: &Queue,
        change: &mut RecordChange<'_>,
    ) -> EngineResult<()> {
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

    /// The stored record of the queue named so; `None` when there is none.
    pub(super) async fn stored_queue_named(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> EngineResult<Option<QueueRecord>> {
        if !storable(&[account, region, name]) {
            return Ok(None);
        }
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT record FROM cauda.queues WHERE account = $1 AND region = $2 AND name = $3",
                &[&account, &region, &name],
            )
            .await
            .map_err(db)?;
        row.map(|r| records::decode(r.get::<_, &[u8]>(0)).map_err(|e| failed(&e)))
            .transpose()
    }

    /// When a queue of the name was last deleted, by any node.
    pub(super) async fn deleted_at(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> EngineResult<Option<u64>> {
        if !storable(&[account, region, name]) {
            return Ok(None);
        }
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT deleted_at FROM cauda.deleted_queues \
                 WHERE account = $1 AND region = $2 AND name = $3",
                &[&account, &region, &name],
            )
            .await
            .map_err(db)?;
        Ok(row.map(|r| to_u64(r.get(0))))
    }
}

/// Whether a `text` column can hold each of `texts`: PostgreSQL refuses a NUL (a statement
/// given one fails), so no stored queue has a name, account or region with one, and a lookup
/// of such a name (a hostile QueueUrl) finds nothing instead of failing.
fn storable(texts: &[&str]) -> bool {
    texts.iter().all(|t| !t.contains('\0'))
}
