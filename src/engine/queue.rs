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
