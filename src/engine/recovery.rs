//! Recovery: every in-memory index rebuilt from the store when the engine opens.

use std::collections::HashMap;
use std::sync::Arc;

use super::queue::{
    DedupRecord, MessageMeta, MessageRecord, MessageStateRecord, Queue, QueueRecord,
};
use super::{queue_key, Engine};
use crate::store::StoreError;
use crate::store::{keys, records, WriteBatch};

impl Engine {
    pub(super) fn recover(&self) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut max_seq = 0u64;
        let by_id = self.recover_queues(&mut max_seq)?;
        let mut garbage = WriteBatch::new();
        let recovered = self.recover_messages(&by_id, now, &mut max_seq, &mut garbage)?;
        self.recover_dedup(&by_id, now, &mut garbage)?;
        for q in by_id.values() {
            self.local.schedule_expiry(q);
        }
        self.local.seq_at_least(max_seq + 1);
        self.move_tasks.recover(self.store())?;
        if !garbage.is_empty() {
            self.store().apply(garbage)?;
        }
        tracing::info!(
            queues = by_id.len(),
            messages = recovered,
            "store recovered"
        );
        Ok(())
    }

    /// Registers every stored queue; every queue by id, served or not.
    fn recover_queues(&self, max_seq: &mut u64) -> Result<HashMap<u64, Arc<Queue>>, StoreError> {
        let mut by_id: HashMap<u64, Arc<Queue>> = HashMap::new();
        for (_, v) in self.store().scan_prefix(&[keys::QUEUE])? {
            let record: QueueRecord = records::decode(&v)?;
            *max_seq = (*max_seq).max(record.id);
            let q = Arc::new(Queue::new(record, &self.settings.region));
            by_id.insert(q.id, q.clone());
            let mut queues = self.queues.write().expect("registry");
            let key = queue_key(&q.account, &q.region, &q.name);
            // A legacy record (no region) of a name that also has a record naming the same
            // region (possible only after --region changed): the one naming it wins, the other
            // is kept in the store untouched but not served.
            if let Some(other) = queues.get(&key) {
                let legacy = |q: &Queue| q.store_key == keys::queue(&q.account, None, &q.name);
                tracing::warn!(queue = %q.name, region = %q.region, "two stored queues share one name and region; serving the one whose record names the region");
                if !legacy(other) || legacy(&q) {
                    continue;
                }
            }
            queues.insert(key, q);
        }
        Ok(by_id)
    }

    /// Puts every stored message in its queue's indexes; the records of a queue that no
    /// longer exists, and states without a message, go to `garbage`. The count recovered.
    fn recover_messages(
        &self,
        by_id: &HashMap<u64, Arc<Queue>>,
        now: u64,
        max_seq: &mut u64,
        garbage: &mut WriteBatch,
    ) -> Result<usize, StoreError> {
        let mut states: HashMap<(u64, u64), MessageStateRecord> = HashMap::new();
        for (k, v) in self.store().scan_prefix(&[keys::MESSAGE_STATE])? {
            if let Some(id) = keys::split_id_key(&k) {
                states.insert(id, records::decode(&v)?);
            }
        }
        let mut recovered = 0usize;
        for (k, v) in self.store().scan_prefix(&[keys::MESSAGE])? {
            let Some((queue_id, seq)) = keys::split_id_key(&k) else {
                continue;
            };
            *max_seq = (*max_seq).max(seq);
            let Some(q) = by_id.get(&queue_id) else {
                garbage.delete(k);
                garbage.delete(keys::message_state(queue_id, seq));
                continue;
            };
            let record: MessageRecord = records::decode(&v)?;
            let state = states
                .remove(&(queue_id, seq))
                .unwrap_or(MessageStateRecord {
                    visible_at: record.first_visible_at.max(record.sent_at),
                    ..Default::default()
                });
            let meta = MessageMeta {
                state,
                sent_at: record.sent_at,
                group: record.group_id.as_deref().map(Arc::from),
            };
            q.lock().insert(seq, meta, now);
            recovered += 1;
        }
        for ((queue_id, seq), _) in states {
            garbage.delete(keys::message_state(queue_id, seq));
        }
        Ok(recovered)
    }

    /// Puts every live deduplication entry in its queue; expired ones go to `garbage`.
    fn recover_dedup(
        &self,
        by_id: &HashMap<u64, Arc<Queue>>,
        now: u64,
        garbage: &mut WriteBatch,
    ) -> Result<(), StoreError> {
        for (k, v) in self.store().scan_prefix(&[keys::DEDUP])? {
            let record: DedupRecord = records::decode(&v)?;
            match keys::split_queue_id(&k).and_then(|id| by_id.get(&id)) {
                Some(q) if record.expires_at > now => {
                    q.lock().record_dedup(record);
                }
                _ => garbage.delete(k),
            }
        }
        Ok(())
    }
}
