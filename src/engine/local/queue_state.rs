//! One queue's state on the local backend: its stored record, and in-memory indexes over its
//! messages' metadata (bodies stay in the store). All times are epoch milliseconds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::watch;

use crate::engine::attributes::QueueAttributes;
use crate::engine::queue::{Counts, DedupRecord, MessageMeta, MessageStateRecord, QueueRecord};
use bulk::BulkInsert;
use table::MessageTable;

/// A FIFO receive remembered for `ReceiveRequestAttemptId` retries.
#[derive(Clone, Debug)]
pub struct ReceiveAttempt {
    pub expires_at: u64,
    pub messages: Vec<AttemptedMessage>,
    pub visibility_timeout: u32,
}

/// A message as a receive attempt left it: a retry replays only while each is unchanged
/// (not received again, deleted, or its visibility changed;
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>, `ReceiveRequestAttemptId`).
#[derive(Clone, Copy, Debug)]
pub struct AttemptedMessage {
    pub seq: u64,
    pub receive_count: u32,
    pub visible_at: u64,
}

/// A queue's state under its lock. The fields are private: every index and counter changes
/// only through the methods below, which keep them consistent with each other.
#[derive(Debug)]
pub struct QueueState {
    record: QueueRecord,
    /// By sequence number, in shards that grow one at a time (see [`MessageTable`]).
    /// Compact: one entry per queued message (see [`Meta`]).
    messages: MessageTable,
    /// The message groups the messages name, by the small ids their [`Meta`] holds.
    group_ids: GroupIds,
    /// Messages not yet visible when last looked at, by (visible_at, seq); [`promote`]
    /// moves those whose time has come to `ready`.
    ///
    /// [`promote`]: QueueState::promote
    waiting: BTreeSet<(u64, u64)>,
    /// Visible messages by seq, i.e. in send order: a receive takes the oldest first, and a
    /// message whose visibility timeout lapsed goes back to its place, not behind later sends.
    ready: BTreeSet<u64>,
    /// Every message by (sent_at, seq), for retention.
    by_sent: BTreeSet<(u64, u64)>,
    /// Received messages by (visible_at, seq); entries at or before now are pruned lazily.
    in_flight: BTreeSet<(u64, u64)>,
    /// Never-received messages by (visible_at, seq) while delayed; pruned lazily.
    delayed: BTreeSet<(u64, u64)>,
    /// FIFO: each group's messages in send order.
    groups: BTreeMap<Arc<str>, VecDeque<u64>>,
    /// Messages that carry a MessageGroupId (fair standard queues, FIFO).
    grouped: usize,
    /// FIFO: the group served last, so receives rotate over groups.
    group_cursor: Option<Arc<str>>,
    /// FIFO deduplication entries by key: a B-tree, not a hash table, since a FIFO queue at
    /// full speed holds a few hundred thousand (five minutes of sends) and a hash table's
    /// growth rehashes them all at once under the queue's lock (a pause of tens of
    /// milliseconds at 100,000 keys).
    dedup: BTreeMap<String, DedupRecord>,
    dedup_expiry: BTreeSet<(u64, String)>,
    /// FIFO receives by `ReceiveRequestAttemptId` (a B-tree, like `dedup`).
    attempts: BTreeMap<String, ReceiveAttempt>,
    /// Receive attempts by (expires_at, attempt id), for the janitor's deadline.
    attempt_expiry: BTreeSet<(u64, String)>,
    /// The janitor deadline last scheduled for this queue (see [`QueueState::janitor_due`]).
    janitor_at: Option<u64>,
    last_purge_at: Option<u64>,
    deleted: bool,
    /// `--shuffle-seed`: the generator of the delivery order, seeded at the first receive.
    shuffle: Option<StdRng>,
    /// While recovery inserts many messages: their entries of `messages`, kept aside until
    /// [`QueueState::finish_recovery`].
    recovering: Option<Box<BulkInsert>>,
}

impl QueueState {
    pub fn new(record: QueueRecord) -> Self {
        QueueState {
            record,
            messages: MessageTable::default(),
            group_ids: GroupIds::default(),
            waiting: BTreeSet::new(),
            ready: BTreeSet::new(),
            by_sent: BTreeSet::new(),
            in_flight: BTreeSet::new(),
            delayed: BTreeSet::new(),
            groups: BTreeMap::new(),
            grouped: 0,
            group_cursor: None,
            dedup: BTreeMap::new(),
            dedup_expiry: BTreeSet::new(),
            attempts: BTreeMap::new(),
            attempt_expiry: BTreeSet::new(),
            janitor_at: None,
            last_purge_at: None,
            deleted: false,
            shuffle: None,
            recovering: None,
        }
    }

    pub fn attributes(&self) -> &QueueAttributes {
        &self.record.attributes
    }

    /// The queue's stored record.
    pub fn record(&self) -> &QueueRecord {
        &self.record
    }

    /// Replaces the stored record after a change was written (attributes, tags, policy).
    pub fn set_record(&mut self, record: QueueRecord) {
        self.record = record;
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// Marks the queue deleted (DeleteQueue) and moves its indexes out, for the caller to
    /// free where that takes no request's time.
    pub fn mark_deleted(&mut self) -> QueueState {
        self.deleted = true;
        self.take_indexes()
    }

    /// PurgeQueue: unless the last purge is less than `cooldown_ms` ago, records the purge
    /// and moves every message index and deduplication entry out (on a FIFO queue the same
    /// MessageDeduplicationId sent after a purge is delivered, as observed on AWS). `None` while the
    /// cooldown runs.
    pub fn try_start_purge(&mut self, now: u64, cooldown_ms: u64) -> Option<QueueState> {
        if let Some(last) = self.last_purge_at {
            if cooldown_ms > 0 && now < last + cooldown_ms {
                return None;
            }
        }
        self.last_purge_at = Some(now);
        Some(self.take_indexes())
    }

    /// When the last purge started.
    pub fn last_purge_at(&self) -> Option<u64> {
        self.last_purge_at
    }

    /// A purge whose write failed: the cooldown runs from the purge before it again.
    pub fn cancel_purge(&mut self, previous: Option<u64>) {
        self.last_purge_at = previous;
    }

    /// Moves every message index and deduplication entry out, keeping the queue's record,
    /// purge time and deleted mark.
    fn take_indexes(&mut self) -> QueueState {
        let mut emptied = QueueState::new(self.record.clone());
        emptied.last_purge_at = self.last_purge_at;
        emptied.janitor_at = self.janitor_at;
        emptied.deleted = self.deleted;
        std::mem::replace(self, emptied)
    }

    /// A message's metadata.
    pub fn message(&self, seq: u64) -> Option<MessageMeta> {
        self.messages
            .get(seq)
            .map(|m| m.expand(self.group_ids.name(m.group)))
    }

    /// How many messages the queue holds (engine tests).
    #[cfg(test)]
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// Sequence numbers of every message, in no order.
    pub fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.messages.seqs()
    }

    /// Whether any message carries a MessageGroupId (fair standard queues, FIFO).
    pub fn has_grouped_messages(&self) -> bool {
        self.grouped > 0
    }

    /// FIFO: each message group's messages in send order.
    pub fn groups(&self) -> &BTreeMap<Arc<str>, VecDeque<u64>> {
        &self.groups
    }

    /// FIFO: the group a receive served last.
    pub fn group_cursor(&self) -> Option<&Arc<str>> {
        self.group_cursor.as_ref()
    }

    /// FIFO: remembers the group a receive served last, so the next starts after it.
    pub fn set_group_cursor(&mut self, group: Arc<str>) {
        self.group_cursor = Some(group);
    }

    /// Puts back the group cursor a receive found (its write failed).
    pub fn restore_group_cursor(&mut self, cursor: Option<Arc<str>>) {
        self.group_cursor = cursor;
    }

    /// The live deduplication entry of `key`, if one has not expired by `now`.
    pub fn dedup_entry(&self, key: &str, now: u64) -> Option<&DedupRecord> {
        self.dedup.get(key).filter(|d| d.expires_at > now)
    }

    /// Whether an entry of `key` is held, expired or not.
    pub fn holds_dedup_key(&self, key: &str) -> bool {
        self.dedup.contains_key(key)
    }

    /// Keys of every deduplication entry.
    pub fn dedup_keys(&self) -> impl Iterator<Item = &String> + '_ {
        self.dedup.keys()
    }

    /// Removes and returns the deduplication entry of `key`.
    pub fn take_dedup(&mut self, key: &str) -> Option<DedupRecord> {
        let entry = self.dedup.remove(key)?;
        self.dedup_expiry
            .remove(&(entry.expires_at, entry.key.clone()));
        Some(entry)
    }

    /// Adds (or replaces) a deduplication entry.
    pub fn record_dedup(&mut self, entry: DedupRecord) {
        self.dedup_expiry
            .insert((entry.expires_at, entry.key.clone()));
        self.dedup.insert(entry.key.clone(), entry);
    }

    /// Deduplication entries expired by `now`, as (expires_at, key), oldest first.
    pub fn expired_dedup(&self, now: u64) -> Vec<(u64, String)> {
        self.dedup_expiry
            .iter()
            .take_while(|(at, _)| *at <= now)
            .cloned()
            .collect()
    }

    /// Drops deduplication entries [`expired_dedup`] returned, once their records are gone.
    ///
    /// [`expired_dedup`]: QueueState::expired_dedup
    pub fn forget_dedup(&mut self, expired: Vec<(u64, String)>) {
        for entry in expired {
            self.dedup.remove(&entry.1);
            self.dedup_expiry.remove(&entry);
        }
    }

    /// The receive of a FIFO `ReceiveRequestAttemptId`, if remembered.
    pub fn attempt(&self, id: &str) -> Option<&ReceiveAttempt> {
        self.attempts.get(id)
    }

    /// Remembers a FIFO receive for retries with the same `ReceiveRequestAttemptId`.
    pub fn remember_attempt(&mut self, id: String, attempt: ReceiveAttempt) {
        self.attempt_expiry.insert((attempt.expires_at, id.clone()));
        if let Some(old) = self.attempts.insert(id.clone(), attempt) {
            self.attempt_expiry.remove(&(old.expires_at, id));
        }
    }

    /// A replayed attempt's messages are visible again at `visible_at`: a later retry
    /// compares against that.
    pub fn renew_attempt(&mut self, id: &str, visible_at: u64) {
        if let Some(attempt) = self.attempts.get_mut(id) {
            for a in &mut attempt.messages {
                a.visible_at = visible_at;
            }
        }
    }

    /// Forgets receive attempts whose window has passed.
    pub fn forget_expired_attempts(&mut self, now: u64) {
        while let Some((at, _)) = self.attempt_expiry.first() {
            if *at > now {
                break;
            }
            if let Some((_, id)) = self.attempt_expiry.pop_first() {
                self.attempts.remove(&id);
            }
        }
    }

    /// The earliest moment the janitor has work here: the oldest message's retention end,
    /// the first deduplication entry's or receive attempt's expiry.
    pub fn next_deadline(&self) -> Option<u64> {
        let retention_ms = self.record.attributes.message_retention_period as u64 * 1000;
        let retention = self
            .by_sent
            .first()
            .map(|&(sent, _)| sent.saturating_add(retention_ms));
        let dedup = self.dedup_expiry.first().map(|&(at, _)| at);
        let attempt = self.attempt_expiry.first().map(|&(at, _)| at);
        [retention, dedup, attempt].into_iter().flatten().min()
    }

    /// The deadline to hand the janitor after a change, if [`next_deadline`] is earlier than
    /// the one last scheduled (or none is): it is then recorded as scheduled. A send only
    /// adds later moments, so this is one comparison on its path.
    ///
    /// [`next_deadline`]: QueueState::next_deadline
    pub fn janitor_due(&mut self) -> Option<u64> {
        if self.deleted {
            return None;
        }
        let at = self.next_deadline()?;
        if self.janitor_at.is_some_and(|scheduled| scheduled <= at) {
            return None;
        }
        self.janitor_at = Some(at);
        Some(at)
    }

    /// A failed expiry is retried at `at`: the deadline to hand the janitor, as
    /// [`janitor_due`](QueueState::janitor_due) would, unless an earlier one is scheduled.
    pub fn janitor_retry(&mut self, at: u64) -> Option<u64> {
        if self.deleted || self.janitor_at.is_some_and(|scheduled| scheduled <= at) {
            return None;
        }
        self.janitor_at = Some(at);
        Some(at)
    }

    /// The janitor took this queue's deadline: nothing is scheduled until the next
    /// [`janitor_due`](QueueState::janitor_due).
    pub fn janitor_fired(&mut self) {
        self.janitor_at = None;
    }

    /// Frees the indexes of a deleted or purged queue a slice at a time: a queue with a few
    /// hundred thousand messages and dedup entries takes over 100 ms of CPU to free, which at
    /// once would take a core from the requests. At shutdown the rest is freed at once.
    pub fn free_gradually(self, shutdown: &watch::Receiver<bool>) {
        fn slowly<T>(items: impl IntoIterator<Item = T>, shutdown: &watch::Receiver<bool>) {
            for (i, item) in items.into_iter().enumerate() {
                drop(item);
                if i % 4_096 == 4_095 && !*shutdown.borrow() {
                    #[allow(
                        clippy::disallowed_methods,
                        reason = "a cleanup thread of its own (spawn_blocking) pacing itself, not queue time"
                    )]
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        }
        slowly(self.messages, shutdown);
        slowly(self.group_ids.names, shutdown);
        slowly(self.group_ids.ids, shutdown);
        slowly(self.waiting, shutdown);
        slowly(self.ready, shutdown);
        slowly(self.by_sent, shutdown);
        slowly(self.in_flight, shutdown);
        slowly(self.delayed, shutdown);
        slowly(self.groups, shutdown);
        slowly(self.dedup, shutdown);
        slowly(self.dedup_expiry, shutdown);
        slowly(self.attempts, shutdown);
        slowly(self.attempt_expiry, shutdown);
    }

    /// Adds a message's metadata to every index.
    pub fn insert(&mut self, seq: u64, meta: MessageMeta, now: u64) {
        let v = meta.state.visible_at;
        if let Some(bulk) = self.recovering.as_mut() {
            bulk.by_sent.push((meta.sent_at, seq));
            if v <= now {
                bulk.ready.push(seq);
            } else {
                self.waiting.insert((v, seq));
            }
        } else {
            self.place(seq, v, now);
            self.by_sent.insert((meta.sent_at, seq));
        }
        if v > now {
            if meta.state.receive_count > 0 {
                self.in_flight.insert((v, seq));
            } else {
                self.delayed.insert((v, seq));
            }
        }
        if let Some(g) = &meta.group {
            self.grouped += 1;
            if self.record.attributes.fifo_queue {
                let deque = self.groups.entry(g.clone()).or_default();
                // Sequence numbers only grow, except when recovery or a DLQ move inserts an
                // older message: keep each group sorted.
                match deque.back() {
                    Some(&last) if last > seq => {
                        let pos = deque.partition_point(|&s| s < seq);
                        deque.insert(pos, seq);
                    }
                    _ => deque.push_back(seq),
                }
            }
        }
        let group = self.group_ids.acquire(meta.group.as_ref());
        let compact = Meta::of(&meta, group);
        if let Some(bulk) = self.recovering.as_mut() {
            if bulk.push(seq, &compact) {
                return;
            }
        }
        if let Some(old) = self.messages.insert(seq, compact) {
            self.group_ids.release(old.group);
        }
    }

    /// Removes a message from every index.
    pub fn remove(&mut self, seq: u64) -> Option<MessageMeta> {
        let compact = self.messages.remove(seq)?;
        let meta = compact.expand(self.group_ids.name(compact.group));
        self.group_ids.release(compact.group);
        let v = meta.state.visible_at;
        self.waiting.remove(&(v, seq));
        self.ready.remove(&seq);
        self.by_sent.remove(&(meta.sent_at, seq));
        self.in_flight.remove(&(v, seq));
        self.delayed.remove(&(v, seq));
        if let Some(g) = &meta.group {
            self.grouped -= 1;
            if let Some(deque) = self.groups.get_mut(g) {
                if let Some(pos) = deque.iter().position(|&s| s == seq) {
                    deque.remove(pos);
                }
                if deque.is_empty() {
                    self.groups.remove(g);
                }
            }
        }
        Some(meta)
    }

    /// Replaces a message's state (visibility, receive count) in every index.
    pub fn update_state(&mut self, seq: u64, state: MessageStateRecord, now: u64) {
        let Some(meta) = self.messages.get_mut(seq) else {
            return;
        };
        let old = meta.visible_at;
        meta.set_state(&state);
        self.waiting.remove(&(old, seq));
        self.ready.remove(&seq);
        self.in_flight.remove(&(old, seq));
        self.delayed.remove(&(old, seq));
        let v = state.visible_at;
        self.place(seq, v, now);
        if v > now {
            if state.receive_count > 0 {
                self.in_flight.insert((v, seq));
            } else {
                self.delayed.insert((v, seq));
            }
        }
    }

    pub fn counts(&mut self, now: u64) -> Counts {
        for set in [&mut self.in_flight, &mut self.delayed] {
            while let Some(&first) = set.first() {
                if first.0 > now {
                    break;
                }
                set.pop_first();
            }
        }
        let in_flight = self.in_flight.len();
        let delayed = self.delayed.len();
        Counts {
            visible: self.messages.len() - in_flight - delayed,
            in_flight,
            delayed,
        }
    }

    /// `--shuffle-seed`: the queue's generator, seeded from `seed` and the queue's name.
    pub fn shuffle_rng(&mut self, seed: u64) -> &mut StdRng {
        let name = &self.record.name;
        self.shuffle
            .get_or_insert_with(|| StdRng::seed_from_u64(seed ^ fnv1a(name.as_bytes())))
    }

    /// When the oldest message was sent.
    pub fn oldest_sent_at(&self) -> Option<u64> {
        self.by_sent.first().map(|&(sent, _)| sent)
    }

    /// Puts a message in `ready` or `waiting`, by whether it is visible at `now`.
    fn place(&mut self, seq: u64, visible_at: u64, now: u64) {
        if visible_at <= now {
            self.ready.insert(seq);
        } else {
            self.waiting.insert((visible_at, seq));
        }
    }

    /// Moves the messages that became visible by `now` from `waiting` to `ready`: each
    /// message moves once per change of its visibility, so this stays cheap at any depth.
    fn promote(&mut self, now: u64) {
        while let Some(&(v, seq)) = self.waiting.first() {
            if v > now {
                break;
            }
            self.waiting.pop_first();
            self.ready.insert(seq);
        }
    }

    /// Visible messages, oldest sent first.
    pub fn visible(&mut self, now: u64) -> impl Iterator<Item = u64> + '_ {
        self.promote(now);
        self.ready.iter().copied()
    }

    /// The earliest future moment a message becomes visible, if any.
    pub fn next_visible_at(&self, now: u64) -> Option<u64> {
        self.waiting.range((now + 1, 0)..).next().map(|&(v, _)| v)
    }

    /// Seqs of messages whose retention period has passed.
    pub fn expired(&self, now: u64) -> Vec<u64> {
        let retention_ms = self.record.attributes.message_retention_period as u64 * 1000;
        self.by_sent
            .iter()
            .take_while(|(sent, _)| sent.saturating_add(retention_ms) <= now)
            .map(|&(_, seq)| seq)
            .collect()
    }
}

/// One message's metadata as a queue holds it: [`MessageMeta`] in 40 bytes instead of 64 (no
/// `Option` tags, the group as a small id), since a backlog of millions holds one each.
#[derive(Clone, Copy, Debug)]
struct Meta {
    visible_at: u64,
    received_at: u64,
    /// [`NEVER`] for none.
    first_receive_at: u64,
    sent_at: u64,
    receive_count: u32,
    /// A [`GroupIds`] id; 0 for none.
    group: u32,
}

/// `first_receive_at` of a message never received.
const NEVER: u64 = u64::MAX;

impl Meta {
    fn of(meta: &MessageMeta, group: u32) -> Meta {
        let mut m = Meta {
            visible_at: 0,
            received_at: 0,
            first_receive_at: NEVER,
            sent_at: meta.sent_at,
            receive_count: 0,
            group,
        };
        m.set_state(&meta.state);
        m
    }

    fn set_state(&mut self, state: &MessageStateRecord) {
        self.visible_at = state.visible_at;
        self.received_at = state.received_at;
        self.first_receive_at = state.first_receive_at.unwrap_or(NEVER);
        self.receive_count = state.receive_count;
    }

    fn expand(&self, group: Option<&Arc<str>>) -> MessageMeta {
        MessageMeta {
            state: MessageStateRecord {
                visible_at: self.visible_at,
                receive_count: self.receive_count,
                first_receive_at: (self.first_receive_at != NEVER).then_some(self.first_receive_at),
                received_at: self.received_at,
            },
            sent_at: self.sent_at,
            group: group.cloned(),
        }
    }
}

/// The message groups of a queue's messages by small ids (from 1), counted, so that an id is
/// reused once no message names its group.
#[derive(Debug, Default)]
struct GroupIds {
    /// A B-tree, not a hash table: a queue may hold a million groups (one per customer), and a
    /// hash table's growth would rehash them all at once under the queue's lock.
    ids: BTreeMap<Arc<str>, u32>,
    /// By id − 1: the group and how many messages name it.
    names: Vec<(Option<Arc<str>>, usize)>,
    free: Vec<u32>,
}

impl GroupIds {
    fn acquire(&mut self, group: Option<&Arc<str>>) -> u32 {
        let Some(group) = group else {
            return 0;
        };
        if let Some(&id) = self.ids.get(group) {
            self.names[id as usize - 1].1 += 1;
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.names[id as usize - 1] = (Some(group.clone()), 1);
                id
            }
            None => {
                self.names.push((Some(group.clone()), 1));
                u32::try_from(self.names.len()).expect("fewer than 2^32 message groups")
            }
        };
        self.ids.insert(group.clone(), id);
        id
    }

    fn release(&mut self, id: u32) {
        let Some(slot) = id
            .checked_sub(1)
            .and_then(|i| self.names.get_mut(i as usize))
        else {
            return;
        };
        slot.1 = slot.1.saturating_sub(1);
        if slot.1 == 0 {
            if let Some(name) = slot.0.take() {
                self.ids.remove(&name);
            }
            self.free.push(id);
        }
    }

    fn name(&self, id: u32) -> Option<&Arc<str>> {
        let i = id.checked_sub(1)?;
        self.names.get(i as usize)?.0.as_ref()
    }
}

/// FNV-1a: a hash that is the same in every process and version (a queue's shuffle seed).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

mod bulk;
mod table;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::queue::QueueRecord;

    fn state(fifo: bool) -> QueueState {
        QueueState::new(QueueRecord {
            id: 1,
            account: "000000000000".into(),
            region: None,
            name: "q".into(),
            attributes: QueueAttributes::new(fifo),
            tags: BTreeMap::new(),
            created_at: 0,
            last_modified_at: 0,
            creation_deduplication_scope: None,
        })
    }

    fn meta(visible_at: u64, receive_count: u32, group: Option<&str>) -> MessageMeta {
        MessageMeta {
            state: MessageStateRecord {
                visible_at,
                receive_count,
                first_receive_at: None,
                received_at: 0,
            },
            sent_at: 0,
            group: group.map(Arc::from),
        }
    }

    #[test]
    fn counts_follow_time() {
        let mut s = state(false);
        s.insert(1, meta(0, 0, None), 100);
        s.insert(2, meta(200, 0, None), 100);
        s.insert(3, meta(300, 1, None), 100);
        assert_eq!(
            s.counts(100),
            Counts {
                visible: 1,
                in_flight: 1,
                delayed: 1
            }
        );
        assert_eq!(
            s.counts(250),
            Counts {
                visible: 2,
                in_flight: 1,
                delayed: 0
            }
        );
        assert_eq!(
            s.counts(300),
            Counts {
                visible: 3,
                in_flight: 0,
                delayed: 0
            }
        );
        assert_eq!(s.next_visible_at(100), Some(200));
        s.remove(1);
        assert_eq!(s.counts(300).visible, 2);
    }

    /// The compact per-message metadata gives back what was put in (states, groups), and a
    /// group's id is reused once its last message is gone.
    #[test]
    fn compact_metadata_round_trips_and_reuses_group_ids() {
        assert_eq!(std::mem::size_of::<Meta>(), 40);
        let mut s = state(false);
        let mut received = meta(500, 3, Some("g1"));
        received.state.first_receive_at = Some(0);
        received.state.received_at = 400;
        received.sent_at = 7;
        s.insert(1, received.clone(), 100);
        s.insert(2, meta(0, 0, None), 100);
        s.insert(3, meta(0, 0, Some("g1")), 100);
        let got = s.message(1).unwrap();
        assert_eq!(
            (
                got.state.visible_at,
                got.state.receive_count,
                got.state.first_receive_at
            ),
            (500, 3, Some(0))
        );
        assert_eq!((got.state.received_at, got.sent_at), (400, 7));
        assert_eq!(got.group.as_deref(), Some("g1"));
        assert_eq!(s.message(2).unwrap().state.first_receive_at, None);
        assert_eq!(s.message(2).unwrap().group, None);
        s.remove(1);
        assert_eq!(s.message(3).unwrap().group.as_deref(), Some("g1"));
        s.remove(3);
        assert!(s.group_ids.ids.is_empty());
        s.insert(4, meta(0, 0, Some("g2")), 100);
        assert_eq!(s.group_ids.names.len(), 1, "the freed id is reused");
        assert_eq!(s.message(4).unwrap().group.as_deref(), Some("g2"));
    }

    /// A large recovery's bulk insert gives the same queue as inserting one by one.
    #[test]
    fn a_bulk_recovery_holds_what_was_inserted() {
        let n = BulkInsert::MIN_MESSAGES as u64 + 5_000;
        let base = 1_700_000_000_000_000_000u64;
        let m = |i: u64| {
            let mut m = meta(if i % 3 == 0 { 500 } else { 0 }, (i % 4) as u32, None);
            m.sent_at = i;
            m.state.received_at = i * 2;
            if i % 5 == 0 {
                m.group = Some(Arc::from(format!("g{}", i % 7).as_str()));
            }
            if i % 4 > 0 {
                m.state.first_receive_at = Some(i);
            }
            m
        };
        let mut bulk = state(false);
        bulk.start_recovery(n as usize);
        assert!(bulk.recovering.is_some());
        let mut one_by_one = state(false);
        for i in 0..n {
            bulk.insert(base + i, m(i), 100);
            one_by_one.insert(base + i, m(i), 100);
        }
        bulk.finish_recovery();
        assert!(bulk.recovering.is_none());
        assert_eq!(bulk.message_count(), n as usize);
        assert_eq!(bulk.counts(100), one_by_one.counts(100));
        assert_eq!(
            bulk.visible(100).collect::<Vec<_>>(),
            one_by_one.visible(100).collect::<Vec<_>>()
        );
        assert_eq!(bulk.next_visible_at(100), one_by_one.next_visible_at(100));
        assert_eq!(bulk.oldest_sent_at(), one_by_one.oldest_sent_at());
        assert_eq!(bulk.expired(50_000), one_by_one.expired(50_000));
        assert_eq!(bulk.visible(600).count(), n as usize, "all visible later");
        for i in (0..n).step_by(997).chain([n - 1]) {
            let (a, b) = (
                bulk.message(base + i).unwrap(),
                one_by_one.message(base + i).unwrap(),
            );
            assert_eq!(
                (
                    a.sent_at,
                    a.group.clone(),
                    a.state.visible_at,
                    a.state.receive_count
                ),
                (
                    b.sent_at,
                    b.group.clone(),
                    b.state.visible_at,
                    b.state.receive_count
                )
            );
            assert_eq!(
                (a.state.first_receive_at, a.state.received_at),
                (b.state.first_receive_at, b.state.received_at)
            );
        }
        assert_eq!(bulk.remove(base + 10).unwrap().group.as_deref(), Some("g3"));
        assert!(bulk.message(base + 10).is_none());
    }

    #[test]
    fn fifo_groups_stay_ordered() {
        let mut s = state(true);
        s.insert(5, meta(0, 0, Some("g")), 0);
        s.insert(9, meta(0, 0, Some("g")), 0);
        s.insert(7, meta(0, 0, Some("g")), 0);
        assert_eq!(
            s.groups()[&Arc::from("g")]
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            vec![5, 7, 9]
        );
        s.remove(7);
        s.remove(5);
        s.remove(9);
        assert!(s.groups().is_empty());
    }
}
