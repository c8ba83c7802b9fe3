//! Recovery's bulk fill of a large queue's message table (see [`BulkInsert`]).

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use super::{Meta, QueueState};

impl QueueState {
    /// Recovery is about to insert `count` messages: the table is sized for them at once
    /// (grown by doubling instead, its earlier sizes would stay freed but resident), and a
    /// large recovery fills it in bulk (see [`BulkInsert`]) until
    /// [`QueueState::finish_recovery`], which must come before any other use.
    pub fn start_recovery(&mut self, count: usize) {
        self.messages.reserve(count);
        if count >= BulkInsert::MIN_MESSAGES {
            self.recovering = BulkInsert::new(&self.messages, count).map(Box::new);
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
/// recovery. Instead each (seq, [`Meta`]) is appended to one of [`BulkInsert::PARTS`]
/// buffers by the top bits of the bucket its hash picks (the table's hasher, its bucket count
/// from its capacity), and the table is then filled one buffer at a time, each covering a
/// slice of the table that fits the cache. The buffers are anonymous memory maps, returned to
/// the system whole when done. Only the speed depends on the bucket guess, not correctness;
/// a message that finds its buffer full is inserted directly.
///
/// `ready` and `by_sent` are built at the end from their sorted entries too: inserted one by
/// one in ascending order, a `BTreeSet` leaves its nodes about half full (each split keeps 6
/// of 11 on the left), built from sorted input they are full: fewer pages, and no descent
/// from the root per message.
pub(super) struct BulkInsert {
    hasher: rustc_hash::FxBuildHasher,
    parts: Vec<(memmap2::MmapMut, usize)>,
    pub(super) ready: Vec<u64>,
    pub(super) by_sent: Vec<(u64, u64)>,
    /// Bits of a bucket number above the partition number.
    shift: u32,
    mask: u64,
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
    pub(super) const PARTS: usize = 256;
    /// An entry: seq, visible_at, received_at, first_receive_at, sent_at, receive_count,
    /// group.
    const ENTRY: usize = 5 * 8 + 2 * 4;

    pub(super) fn new(table: &FxHashMap<u64, Meta>, count: usize) -> Option<BulkInsert> {
        let buckets = (table.capacity() / 7 * 8)
            .next_power_of_two()
            .max(Self::PARTS) as u64;
        let shift = buckets.trailing_zeros() - Self::PARTS.trailing_zeros();
        // Room for the expected share and then some; the rest goes in directly.
        let per_part = (count / Self::PARTS) * 9 / 8 + 1024;
        let mut parts = Vec::with_capacity(Self::PARTS);
        for _ in 0..Self::PARTS {
            let map = memmap2::MmapMut::map_anon(per_part * Self::ENTRY).ok()?;
            parts.push((map, 0));
        }
        Some(BulkInsert {
            hasher: *table.hasher(),
            parts,
            ready: Vec::with_capacity(count),
            by_sent: Vec::with_capacity(count),
            shift,
            mask: buckets - 1,
        })
    }

    /// Keeps the entry for later; `false` if its buffer is full.
    pub(super) fn push(&mut self, seq: u64, meta: &Meta) -> bool {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(seq);
        let part = ((hash & self.mask) >> self.shift) as usize;
        let Some((map, used)) = self.parts.get_mut(part) else {
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

    /// Inserts every kept entry, buffer by buffer (no seq is kept twice: recovery reads each
    /// message once); the entries of `ready` and `by_sent`.
    #[allow(clippy::type_complexity, reason = "a private pair of lists")]
    pub(super) fn fill(self, table: &mut FxHashMap<u64, Meta>) -> (Vec<u64>, Vec<(u64, u64)>) {
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
