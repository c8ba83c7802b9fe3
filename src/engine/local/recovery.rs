//! Recovery on the local backend: every in-memory index rebuilt from the store when the
//! engine opens. It reads the small records only (queues, message index records, states,
//! deduplication entries), never a message's (cold) record: with the bodies on disk, the
//! time to readiness follows the number of messages, not their size.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use rustc_hash::FxHashMap;

use crate::engine::queue::{DedupRecord, MessageIndexRecord, MessageMeta, MessageStateRecord};
use crate::engine::queue::{Queue, QueueRecord};
use crate::store::StoreError;
use crate::store::{keys, records, WriteBatch};

use super::queue_state::QueueState;
use super::Local;
use super::LocalQueue;

impl Local {
    /// Every stored queue record.
    pub(crate) fn stored_queues(&self) -> Result<Vec<QueueRecord>, StoreError> {
        let mut out = Vec::new();
        for (_, v) in self.journal.store().scan_prefix(&[keys::QUEUE])? {
            out.push(records::decode(&v)?);
        }
        Ok(out)
    }

    /// Puts every stored message and live deduplication entry of the queues `by_id` in their
    /// indexes, schedules each queue's next expiry, and removes what belongs to no queue.
    /// The count of messages recovered.
    pub(crate) fn recover(
        &self,
        by_id: &HashMap<u64, Arc<Queue>>,
        now: u64,
    ) -> Result<usize, StoreError> {
        let mut max_seq = by_id.keys().copied().max().unwrap_or(0);
        let mut garbage = WriteBatch::new();
        let recovered = self.recover_messages(by_id, now, &mut max_seq, &mut garbage)?;
        self.recover_dedup(by_id, now, &mut garbage)?;
        for q in by_id.values() {
            self.schedule_expiry(q);
        }
        // No cauda writes sequence number u64::MAX (they start near clock ms × 10^6); a record
        // that carries it is damaged, and the start is refused rather than half loaded.
        let next_seq = max_seq.checked_add(1).ok_or_else(|| {
            StoreError(
                "the store is damaged: a record carries sequence number 18446744073709551615, \
                 which no cauda writes; cauda does not start on part of a journal: restore a \
                 backup of the data directory, or move it away to start with an empty store"
                    .into(),
            )
        })?;
        self.seq_at_least(next_seq);
        if !garbage.is_empty() {
            self.journal.store().apply(garbage)?;
        }
        self.journal.store().recovered();
        Ok(recovered)
    }

    /// Puts every stored message (by its index record) in its queue's indexes; the records of
    /// a queue that no longer exists, and states without a message, go to `garbage`. The
    /// count recovered.
    fn recover_messages(
        &self,
        by_id: &HashMap<u64, Arc<Queue>>,
        now: u64,
        max_seq: &mut u64,
        garbage: &mut WriteBatch,
    ) -> Result<usize, StoreError> {
        let store = self.journal.store();
        let mut states: FxHashMap<(u64, u64), MessageStateRecord> = FxHashMap::default();
        for (k, v) in store.scan_prefix(&[keys::MESSAGE_STATE])? {
            if let Some(id) = keys::split_id_key(&k) {
                states.insert(id, records::decode(&v)?);
            }
        }
        for q in by_id.values() {
            let count = store.count_with_prefix(&keys::queue_prefix(keys::MESSAGE_INDEX, q.id))?;
            q.lock().start_recovery(count);
        }
        let mut recovered = 0usize;
        // The queue of the records being visited, locked: they come queue by queue (key
        // order), so the lookup and the lock are taken once per queue, not per message.
        let mut current: Option<(u64, MutexGuard<'_, QueueState>)> = None;
        // Visited in place: a backlog holds millions, and copying them all out first would
        // double the memory recovery takes.
        let mut visit = |k: &[u8], v: &[u8]| -> Result<(), StoreError> {
            let Some((queue_id, seq)) = keys::split_id_key(k) else {
                return Ok(());
            };
            *max_seq = (*max_seq).max(seq);
            if current.as_ref().map(|(id, _)| *id) != Some(queue_id) {
                // One queue's lock at a time (the engine's lock rule).
                current = None;
                let Some(q) = by_id.get(&queue_id) else {
                    super::journal::delete_message(garbage, queue_id, seq);
                    return Ok(());
                };
                current = Some((queue_id, q.lock()));
            }
            let Some((_, queue)) = current.as_mut() else {
                return Ok(());
            };
            let record = match decode_index(v) {
                Some(record) => record,
                None => records::decode::<MessageIndexRecord>(v)?,
            };
            // Most messages of a backlog were never received: no state record to look up.
            let stored = if states.is_empty() {
                None
            } else {
                states.remove(&(queue_id, seq))
            };
            let state = stored.unwrap_or(MessageStateRecord {
                visible_at: record.first_visible_at.max(record.sent_at),
                ..Default::default()
            });
            let meta = MessageMeta {
                state,
                sent_at: record.sent_at,
                group: record.group_id.as_deref().map(Arc::from),
            };
            queue.insert(seq, meta, now);
            recovered += 1;
            Ok(())
        };
        let visited = store.for_each_with_prefix(&[keys::MESSAGE_INDEX], &mut visit);
        drop(current);
        for q in by_id.values() {
            q.lock().finish_recovery();
        }
        visited?;
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
        for (k, v) in self.journal.store().scan_prefix(&[keys::DEDUP])? {
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

/// An index record as this cauda writes it (format 2: a MessagePack map of `t`, `v` and maybe
/// `g`), read with rmp's own functions rather than through serde: recovery reads one per
/// queued message, and serde's generic path was ~13 % of a 10,000,000-message recovery.
/// `None` for anything else, which [`records::decode`] then reads (or refuses).
fn decode_index(bytes: &[u8]) -> Option<MessageIndexRecord> {
    let (&records::FORMAT_V2_MSGPACK, mut rest) = bytes.split_first()? else {
        return None;
    };
    let fields = rmp::decode::read_map_len(&mut rest).ok()?;
    let (mut sent_at, mut first_visible_at, mut group_id) = (None, None, None);
    for _ in 0..fields {
        let (name, tail) = rmp::decode::read_str_from_slice(rest).ok()?;
        rest = tail;
        match name {
            "t" => sent_at = Some(rmp::decode::read_int::<u64, _>(&mut rest).ok()?),
            "v" => first_visible_at = Some(rmp::decode::read_int::<u64, _>(&mut rest).ok()?),
            "g" => {
                let (group, tail) = rmp::decode::read_str_from_slice(rest).ok()?;
                group_id = Some(group.to_string());
                rest = tail;
            }
            _ => return None,
        }
    }
    rest.is_empty().then_some(())?;
    Some(MessageIndexRecord {
        sent_at: sent_at?,
        first_visible_at: first_visible_at?,
        group_id,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use crate::clock::ManualClock;
    use crate::engine::attributes::QueueAttributes;
    use crate::engine::queue::{MessageIndexRecord, MessageRecord, QueueRecord};
    use crate::engine::{Engine, EngineSettings};
    use crate::store::sled_store::{encode_op, ENTRY_V1};
    use crate::store::{keys, records, SledStore, Store};

    use super::LocalQueue;

    const T0: u64 = 1_700_000_000_000;

    /// The direct decoding of index records reads what serde writes, and leaves any other
    /// shape to serde.
    #[test]
    fn index_records_decode_as_serde_reads_them() {
        for record in [
            MessageIndexRecord {
                sent_at: T0,
                first_visible_at: T0 + 900_000,
                group_id: None,
            },
            MessageIndexRecord {
                sent_at: 0,
                first_visible_at: u64::MAX,
                group_id: Some("group é 1".into()),
            },
            MessageIndexRecord {
                sent_at: 127,
                first_visible_at: 128,
                group_id: Some(String::new()),
            },
        ] {
            let bytes = records::encode(&record);
            assert_eq!(super::decode_index(&bytes), Some(record.clone()));
            assert_eq!(
                records::decode::<MessageIndexRecord>(&bytes).unwrap(),
                record
            );
        }
        let json = [&[1u8][..], br#"{"t":1,"v":2}"#].concat();
        assert_eq!(super::decode_index(&json), None, "format 1: serde's");
        assert_eq!(
            records::decode::<MessageIndexRecord>(&json)
                .unwrap()
                .first_visible_at,
            2
        );
        let mut extra = records::encode(&MessageIndexRecord {
            sent_at: 1,
            first_visible_at: 2,
            group_id: None,
        });
        extra.push(0xc0);
        assert_eq!(super::decode_index(&extra), None, "trailing bytes");
        assert_eq!(
            super::decode_index(&[2, 0x81, 0xa1, b'x', 1]),
            None,
            "unknown field"
        );
        assert_eq!(
            super::decode_index(&[2, 0x81, 0xa1, b't', 1]),
            None,
            "no `v`"
        );
    }

    /// A format 1 data dir (message records in the journal, no index records) opened by the
    /// server's store: the migration writes each message's index record from its record, and
    /// the engine recovers the messages with their bodies, on this open and the next.
    #[tokio::test]
    async fn a_format_1_data_dir_is_recovered_after_its_migration() {
        let dir = tempfile::tempdir().unwrap();
        let queue = QueueRecord {
            id: 7,
            account: "000000000000".into(),
            region: Some("us-east-1".into()),
            name: "old".into(),
            attributes: QueueAttributes::new(false),
            tags: BTreeMap::new(),
            created_at: T0 / 1000,
            last_modified_at: T0 / 1000,
            creation_deduplication_scope: None,
        };
        let message = |n: u64| MessageRecord {
            message_id: format!("m-{n}"),
            body: format!("body {n}"),
            attributes: Default::default(),
            trace_header: None,
            sender_id: "tester".into(),
            sent_at: T0 + n,
            first_visible_at: T0 + n,
            group_id: None,
            dedup_id: None,
            dlq_source_arn: None,
        };
        {
            let db = sled::open(dir.path()).unwrap();
            let journal = db.open_tree("journal").unwrap();
            let mut entry = vec![ENTRY_V1];
            let queue_key = keys::queue(&queue.account, queue.region.as_deref(), &queue.name);
            encode_op(&mut entry, &queue_key, Some(&records::encode(&queue)));
            for n in 1..=3 {
                let m = records::encode(&message(n));
                encode_op(&mut entry, &keys::message(7, T0 * 10 + n), Some(&m));
            }
            journal.insert(1u64.to_be_bytes(), entry).unwrap();
            db.flush().unwrap();
        }
        for _open in 0..2 {
            let store: Arc<dyn Store> = Arc::new(
                SledStore::open_with_index(dir.path(), Some(MessageIndexRecord::of_stored))
                    .unwrap(),
            );
            let index = store.get(&keys::message_index(7, T0 * 10 + 2)).unwrap();
            let index: MessageIndexRecord = records::decode(&index.unwrap()).unwrap();
            assert_eq!(index, MessageIndexRecord::of(&message(2)));
            let clock = Arc::new(ManualClock::new(T0 + 1_000));
            let e = Engine::open(store.clone(), clock, EngineSettings::default()).unwrap();
            let q = e.queue("000000000000", "us-east-1", "old").unwrap();
            assert_eq!(q.lock().message_count(), 3);
            let body = store.get(&keys::message(7, T0 * 10 + 3)).unwrap().unwrap();
            let body: MessageRecord = records::decode(&body).unwrap();
            assert_eq!(body.body, "body 3");
        }
    }
}
