//! Recovery's bulk fill of a large queue's message table (see [`BulkInsert`]).

use std::collections::BTreeSet;

use super::{MessageTable, Meta, QueueState};

impl QueueState {
    /// Recovery is about to insert `count` messages: the table is sized for them at once
    /// (grown by doubling instead, its earlier sizes would stay freed but resident), and a
    /// large recovery fills it in bulk (see [`BulkInsert`]) until
    /// [`QueueState::finish_recovery`], which must come before any other use.
    pub fn start_recovery(&mut self, count: usize) {
        self.messages.reserve(count);
        if count >= BulkInsert::MIN_MESSAGES {
            self.recovering = BulkInsert::new(count).map(Box::new);
        }
    }

    /// Puts the messages recovery inserted into the table, and into `ready` and `by_sent`.
    pub fn finish_recovery(&mut self) {
        if let Some(bulk) = self.recovering.take() {
            let (ready, by_sent) = bulk.fill(&mut self.messages);
            self.ready.append(&mut BTreeSet::from_iter(ready));
            self.by_sent.append(&mut BTreeSet::from_iter(by_sent));
        }
    }
}

/// Recovery's inserts into a large `messages` table, in bulk. Inserted in send order (as
/// recovery reads them), each message lands in a random bucket of a table far larger than
/// the cache: two cache misses (and TLB misses) each, ~35 % of a 10,000,000-message
/// recovery. Instead each (seq, [`Meta`]) is appended to the buffer of its shard of the
/// table ([`MessageTable::shard_of`]), and the table is then filled one shard at a time,
/// each small enough for the cache. The buffers are anonymous memory maps, returned to the
/// system whole when done. A message that finds its buffer full is inserted directly.
///
/// `ready` and `by_sent` are built at the end from their sorted entries too: inserted one by
/// one in ascending order, a `BTreeSet` leaves its nodes about half full (each split keeps 6
/// of 11 on the left), built from sorted input they are full: fewer pages, and no descent
/// from the root per message.
pub(super) struct BulkInsert {
    /// One buffer per shard, and the bytes used in it.
    parts: Vec<(memmap2::MmapMut, usize)>,
    pub(super) ready: Vec<u64>,
    pub(super) by_sent: Vec<(u64, u64)>,
}

impl std::fmt::Debug for BulkInsert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkInsert")
            .field("parts", &self.parts.len())
            .finish()
    }
}

impl BulkInsert {
    /// Below this many messages the table fits the cache well enough.
    pub(super) const MIN_MESSAGES: usize = 100_000;
    /// An entry: seq, visible_at, received_at, first_receive_at, sent_at, receive_count,
    /// group.
    const ENTRY: usize = 5 * 8 + 2 * 4;

    pub(super) fn new(count: usize) -> Option<BulkInsert> {
        // Room for the expected share and then some; the rest goes in directly.
        let per_part = (count / MessageTable::SHARDS) * 9 / 8 + 1024;
        let mut parts = Vec::with_capacity(MessageTable::SHARDS);
        for _ in 0..MessageTable::SHARDS {
            let map = memmap2::MmapMut::map_anon(per_part * Self::ENTRY).ok()?;
            parts.push((map, 0));
        }
        Some(BulkInsert {
            parts,
            ready: Vec::with_capacity(count),
            by_sent: Vec::with_capacity(count),
        })
    }

    /// Keeps the entry for later; `false` if its buffer is full.
    pub(super) fn push(&mut self, seq: u64, meta: &Meta) -> bool {
        let Some((map, used)) = self.parts.get_mut(MessageTable::shard_of(seq)) else {
            return false;
        };
        let Some(slot) = map.get_mut(*used..*used + Self::ENTRY) else {
            return false;
        };
        let words = [
            seq,
            meta.visible_at,
            meta.received_at,
            meta.first_receive_at,
            meta.sent_at,
        ];
        for (i, w) in words.iter().enumerate() {
            slot[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        slot[40..44].copy_from_slice(&meta.receive_count.to_le_bytes());
        slot[44..48].copy_from_slice(&meta.group.to_le_bytes());
        *used += Self::ENTRY;
        true
    }

    /// Inserts every kept entry, shard by shard (no seq is kept twice: recovery reads each
    /// message once); the entries of `ready` and `by_sent`.
    #[allow(clippy::type_complexity, reason = "a private pair of lists")]
    pub(super) fn fill(self, table: &mut MessageTable) -> (Vec<u64>, Vec<(u64, u64)>) {
        let word =
            |e: &[u8], i: usize| u64::from_le_bytes(e[i * 8..i * 8 + 8].try_into().expect("8"));
        let half = |e: &[u8], at: usize| u32::from_le_bytes(e[at..at + 4].try_into().expect("4"));
        for (map, used) in self.parts {
            for e in map[..used].chunks_exact(Self::ENTRY) {
                let meta = Meta {
                    visible_at: word(e, 1),
                    received_at: word(e, 2),
                    first_receive_at: word(e, 3),
                    sent_at: word(e, 4),
                    receive_count: half(e, 40),
                    group: half(e, 44),
                };
                table.insert(word(e, 0), meta);
            }
        }
        (self.ready, self.by_sent)
    }
}
