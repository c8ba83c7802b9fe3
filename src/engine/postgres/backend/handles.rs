//! DeleteMessage and ChangeMessageVisibility by receipt handle.

use std::sync::Arc;

use deadpool_postgres::Transaction;

use crate::engine::queue::{MessageMeta, Queue};
use crate::engine::receipt::ReceiptHandle;
use crate::engine::visibility::visibility_change;
use crate::engine::EngineResult;

use super::{db, notify_ready, record_of, state_of, to_i64, to_u64, Postgres};

impl Postgres {
    /// Each handle's message, locked, checked by the shared rule, then deleted.
    pub(super) async fn delete(
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
    pub(super) async fn change_visibility(
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
}

/// Message `seq`'s state, locked until the transaction ends; `None` when it is gone.
pub(super) async fn locked_meta(
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
