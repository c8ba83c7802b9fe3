//! A queue: its handle ([`Queue`]), its stored record, and the records of its messages.
//! All times are epoch milliseconds.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::attributes::QueueAttributes;
use super::message::MessageAttributes;
use super::policy::QueuePolicy;
use crate::store::keys;

/// A queue as stored (`q` records).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueueRecord {
    pub id: u64,
    pub account: String,
    /// `None` in a record stored before queues had regions: a queue of the configured region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub name: String,
    pub attributes: QueueAttributes,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Epoch seconds.
    pub created_at: u64,
    /// Epoch seconds.
    pub last_modified_at: u64,
    /// FIFO: the DeduplicationScope the queue was created with, which sends stay
    /// deduplicated under whatever SetQueueAttributes shows later (as observed on AWS). Absent in
    /// records written before it was kept: the attribute's value applies then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_deduplication_scope: Option<String>,
}

impl QueueRecord {
    /// Whether sends are deduplicated per message group: by the scope in force at creation.
    pub fn deduplicates_per_group(&self) -> bool {
        self.creation_deduplication_scope
            .as_deref()
            .unwrap_or(&self.attributes.deduplication_scope)
            == "messageGroup"
    }
}

/// The immutable part of a message (`m` records).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MessageRecord {
    pub message_id: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "MessageAttributes::is_empty")]
    pub attributes: MessageAttributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    pub sender_id: String,
    pub sent_at: u64,
    /// When the message first becomes visible (after its delay). Until a receive writes a
    /// [`MessageStateRecord`], this is the message's whole state: a send writes one record.
    #[serde(default)]
    pub first_visible_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlq_source_arn: Option<String>,
}

/// What recovery needs of a message (`i` records), so that it never reads the message's
/// (cold) record: written and removed with it. Short field names: one is held per queued
/// message in the store's memory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageIndexRecord {
    #[serde(rename = "t")]
    pub sent_at: u64,
    #[serde(rename = "v")]
    pub first_visible_at: u64,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

impl MessageIndexRecord {
    pub fn of(record: &MessageRecord) -> Self {
        MessageIndexRecord {
            sent_at: record.sent_at,
            first_visible_at: record.first_visible_at,
            group_id: record.group_id.clone(),
        }
    }

    /// The index record (key, value) of a stored message record (key, value): the sled
    /// store's migration to format 2 writes one for every message stored before them (see
    /// [`crate::store::sled_store::IndexOf`]).
    pub fn of_stored(
        key: &[u8],
        value: &[u8],
    ) -> crate::store::StoreResult<Option<crate::store::sled_store::Record>> {
        let Some((queue_id, seq)) = keys::split_id_key(key) else {
            return Ok(None);
        };
        let record: MessageRecord = crate::store::records::decode(value)?;
        Ok(Some((
            keys::message_index(queue_id, seq),
            crate::store::records::encode(&MessageIndexRecord::of(&record)),
        )))
    }
}

/// What a receive changes (`s` records).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct MessageStateRecord {
    pub visible_at: u64,
    pub receive_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_receive_at: Option<u64>,
    /// When the current receive happened (0 if never received).
    #[serde(default)]
    pub received_at: u64,
}

/// A deduplication entry of a FIFO queue (`d` records).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DedupRecord {
    pub key: String,
    pub expires_at: u64,
    pub message_id: String,
    pub seq: u64,
}

/// In-memory metadata of one message.
#[derive(Clone, Debug)]
pub struct MessageMeta {
    pub state: MessageStateRecord,
    pub sent_at: u64,
    pub group: Option<Arc<str>>,
}

impl MessageMeta {
    pub fn in_flight(&self, now: u64) -> bool {
        self.state.receive_count > 0 && self.state.visible_at > now
    }
}

pub struct Queue {
    pub id: u64,
    pub account: String,
    pub region: String,
    pub name: String,
    pub arn: String,
    pub fifo: bool,
    /// Where the queue's record is stored (a legacy record keeps its region-less key).
    pub(crate) store_key: Vec<u8>,
    /// What the backend keeps for this queue (see [`QueueSlot`]).
    slot: QueueSlot,
    /// The `Policy` attribute, parsed once when it is set; read on every authorized request
    /// without the state's lock.
    policy: RwLock<Option<Arc<QueuePolicy>>>,
    /// Woken when messages may have become receivable, or the queue was deleted.
    pub notify: Notify,
    /// Messages a receive moved to the dead-letter queue since the server started.
    dead_letter_moves: AtomicU64,
    /// Long-poll receives waiting now.
    waiting_receives: AtomicUsize,
    /// Messages sent to the queue since the server started (the console's send rate).
    sent: AtomicU64,
    /// Messages delivered by ReceiveMessage since the server started (its receive rate).
    received: AtomicU64,
}

/// What a [`MessageState`](super::state::MessageState) backend keeps per queue beside the
/// shared handle, opaque to the shared engine (the local backend: the queue's in-memory
/// indexes and record under its lock).
pub(crate) type QueueSlot = Box<dyn Any + Send + Sync>;

impl Queue {
    /// `default_region` is the region of a record that names none; `slot` makes the backend's
    /// per-queue state from the record.
    pub(crate) fn new(
        record: QueueRecord,
        default_region: &str,
        slot: impl FnOnce(QueueRecord) -> QueueSlot,
    ) -> Self {
        let region = record.region.as_deref().unwrap_or(default_region);
        let policy = parsed_policy(record.attributes.policy.as_deref(), &record.name);
        Queue {
            id: record.id,
            account: record.account.clone(),
            region: region.to_string(),
            name: record.name.clone(),
            arn: arn(region, &record.account, &record.name),
            fifo: record.attributes.fifo_queue,
            store_key: keys::queue(&record.account, record.region.as_deref(), &record.name),
            policy: RwLock::new(policy),
            notify: Notify::new(),
            slot: slot(record),
            dead_letter_moves: AtomicU64::new(0),
            waiting_receives: AtomicUsize::new(0),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    /// The backend's per-queue state, if it is a `T` (the backend that made the queue knows).
    pub(crate) fn slot<T: Any>(&self) -> Option<&T> {
        self.slot.downcast_ref()
    }

    /// Messages a receive moved to the dead-letter queue since the server started.
    pub fn dead_letter_moves(&self) -> u64 {
        self.dead_letter_moves.load(Ordering::Relaxed)
    }

    pub(crate) fn count_dead_letter_moves(&self, moved: usize) {
        self.dead_letter_moves
            .fetch_add(u64::try_from(moved).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Messages sent to the queue since the server started.
    pub fn messages_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Messages ReceiveMessage delivered from the queue since the server started.
    pub fn messages_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    pub(crate) fn count_sent(&self, n: usize) {
        self.sent
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub(crate) fn count_received(&self, n: usize) {
        self.received
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Long-poll receives waiting now.
    pub fn waiting_receives(&self) -> usize {
        self.waiting_receives.load(Ordering::Relaxed)
    }

    /// Counts a waiting long poll until the returned guard drops.
    pub(crate) fn wait_guard(&self) -> WaitGuard<'_> {
        self.waiting_receives.fetch_add(1, Ordering::Relaxed);
        WaitGuard(&self.waiting_receives)
    }

    /// The queue's parsed `Policy`, if it has one.
    pub fn policy(&self) -> Option<Arc<QueuePolicy>> {
        self.policy
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Re-reads the `Policy` of `record` after it changed; called under the state's lock, so
    /// that the policy in force follows the stored record's order of changes.
    pub(crate) fn refresh_policy(&self, record: &QueueRecord) {
        *self
            .policy
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            parsed_policy(record.attributes.policy.as_deref(), &record.name);
    }
}

/// A long poll counted as waiting while it lives.
pub(crate) struct WaitGuard<'a>(&'a AtomicUsize);

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stored policy document, parsed. Documents are validated when set; one that no longer
/// parses (stored by an older, laxer cauda) grants nothing, and says so in the log.
fn parsed_policy(document: Option<&str>, queue: &str) -> Option<Arc<QueuePolicy>> {
    let document = document?;
    match QueuePolicy::parse(document) {
        Ok(p) => Some(Arc::new(p)),
        Err(reason) => {
            tracing::warn!(queue, %reason, "stored queue policy does not parse; it grants nothing");
            None
        }
    }
}

pub fn arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// `(region, account, name)` of a queue ARN.
pub fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.split(':');
    let (Some("arn"), Some(_partition), Some("sqs"), Some(region), Some(account), Some(name), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some((region, account, name))
}

/// Counts of GetQueueAttributes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub visible: usize,
    pub in_flight: usize,
    pub delayed: usize,
}

/// A queue's counts and the send time of its oldest message (`None`: it has none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub counts: Counts,
    pub oldest_sent_at: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        assert_eq!(
            parse_arn("arn:aws:sqs:us-east-1:000000000000:q1"),
            Some(("us-east-1", "000000000000", "q1"))
        );
        assert_eq!(parse_arn("arn:aws:sqs:us-east-1:000000000000"), None);
        assert_eq!(parse_arn("arn:aws:sns:us-east-1:000000000000:q"), None);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::collection::{btree_map, vec};
    use proptest::option;
    use proptest::prelude::*;
    use serde::de::DeserializeOwned;

    use super::*;
    use crate::engine::message::AttributeValue;
    use crate::engine::policy::{RedriveAllowPolicy, RedrivePolicy};
    use crate::store::records;

    fn text() -> impl Strategy<Value = String> {
        "\\PC{0,24}"
    }

    fn attributes() -> impl Strategy<Value = QueueAttributes> {
        (
            (any::<[u32; 6]>(), any::<[bool; 3]>()),
            (option::of(text()), option::of(text()), text(), text()),
            option::of((text(), text(), any::<u32>())),
            option::of((text(), text(), vec(text(), 0..3))),
        )
            .prop_map(|((n, b), (policy, kms, scope, limit), redrive, allow)| {
                let mut a = QueueAttributes::new(b[0]);
                a.delay_seconds = n[0];
                a.maximum_message_size = n[1];
                a.message_retention_period = n[2];
                a.receive_message_wait_time_seconds = n[3];
                a.visibility_timeout = n[4];
                a.kms_data_key_reuse_period_seconds = n[5];
                a.sqs_managed_sse_enabled = b[1];
                a.content_based_deduplication = b[2];
                a.policy = policy;
                a.kms_master_key_id = kms;
                a.deduplication_scope = scope;
                a.fifo_throughput_limit = limit;
                a.redrive_policy = redrive.map(|(raw, arn, max)| RedrivePolicy {
                    raw,
                    dead_letter_target_arn: arn,
                    max_receive_count: max,
                });
                a.redrive_allow_policy =
                    allow.map(|(raw, permission, source_queue_arns)| RedriveAllowPolicy {
                        raw,
                        permission,
                        source_queue_arns,
                    });
                a
            })
    }

    fn queue_record() -> impl Strategy<Value = QueueRecord> {
        (
            (any::<u64>(), text(), option::of(text()), text()),
            attributes(),
            btree_map(text(), text(), 0..4),
            (any::<u64>(), any::<u64>(), option::of(text())),
        )
            .prop_map(
                |((id, account, region, name), attributes, tags, (created, modified, scope))| {
                    QueueRecord {
                        id,
                        account,
                        region,
                        name,
                        attributes,
                        tags,
                        created_at: created,
                        last_modified_at: modified,
                        creation_deduplication_scope: scope,
                    }
                },
            )
    }

    fn attribute_value() -> impl Strategy<Value = AttributeValue> {
        (
            text(),
            option::of(text()),
            option::of(vec(any::<u8>(), 0..16)),
        )
            .prop_map(|(data_type, string_value, binary_value)| AttributeValue {
                data_type,
                string_value,
                binary_value,
            })
    }

    fn message_record() -> impl Strategy<Value = MessageRecord> {
        (
            (
                text(),
                "\\PC{0,200}",
                btree_map(text(), attribute_value(), 0..4),
            ),
            (option::of(text()), text(), any::<u64>(), any::<u64>()),
            (option::of(text()), option::of(text()), option::of(text())),
        )
            .prop_map(
                |(
                    (message_id, body, attributes),
                    (trace_header, sender_id, sent_at, first_visible_at),
                    (group_id, dedup_id, dlq_source_arn),
                )| MessageRecord {
                    message_id,
                    body,
                    attributes,
                    trace_header,
                    sender_id,
                    sent_at,
                    first_visible_at,
                    group_id,
                    dedup_id,
                    dlq_source_arn,
                },
            )
    }

    fn state_record() -> impl Strategy<Value = MessageStateRecord> {
        (
            any::<u64>(),
            any::<u32>(),
            option::of(any::<u64>()),
            any::<u64>(),
        )
            .prop_map(
                |(visible_at, receive_count, first_receive_at, received_at)| MessageStateRecord {
                    visible_at,
                    receive_count,
                    first_receive_at,
                    received_at,
                },
            )
    }

    fn dedup_record() -> impl Strategy<Value = DedupRecord> {
        (text(), any::<u64>(), text(), any::<u64>()).prop_map(
            |(key, expires_at, message_id, seq)| DedupRecord {
                key,
                expires_at,
                message_id,
                seq,
            },
        )
    }

    /// The stored form round-trips (compared as JSON values, so that no field is left out of
    /// the comparison), the version-1 JSON form of the same record reads the same, and every
    /// truncation of the stored bytes is an error, never a panic or a partial record.
    fn check<T: Serialize + DeserializeOwned>(record: &T) -> Result<(), TestCaseError> {
        let want = serde_json::to_value(record).unwrap();
        let bytes = records::encode(record);
        let back: T = records::decode(&bytes).map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert_eq!(serde_json::to_value(&back).unwrap(), want.clone());
        let v1 = [&[1u8][..], &serde_json::to_vec(record).unwrap()].concat();
        let old: T = records::decode(&v1).map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert_eq!(serde_json::to_value(&old).unwrap(), want);
        for len in 0..bytes.len() {
            prop_assert!(
                records::decode::<T>(&bytes[..len]).is_err(),
                "prefix of {}",
                len
            );
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn queue_records_round_trip(r in queue_record()) {
            check(&r)?;
        }

        #[test]
        fn message_records_round_trip(r in message_record()) {
            check(&r)?;
        }

        #[test]
        fn message_state_records_round_trip(r in state_record()) {
            check(&r)?;
        }

        #[test]
        fn dedup_records_round_trip(r in dedup_record()) {
            check(&r)?;
        }

        /// The key of a message or state record gives back its queue id and sequence number;
        /// a dedup key its queue id.
        #[test]
        fn record_keys_split_back(queue_id in any::<u64>(), seq in any::<u64>(), dedup in text()) {
            prop_assert_eq!(keys::split_id_key(&keys::message(queue_id, seq)), Some((queue_id, seq)));
            prop_assert_eq!(keys::split_id_key(&keys::message_state(queue_id, seq)), Some((queue_id, seq)));
            prop_assert_eq!(keys::split_queue_id(&keys::dedup(queue_id, &dedup)), Some(queue_id));
        }
    }
}
