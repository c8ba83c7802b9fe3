//! A queue's message table (see [`MessageTable`]).

use rustc_hash::FxHashMap;

use super::Meta;

/// A queue's messages by seq: [`MessageTable::SHARDS`] hash tables, a message's shard picked
/// by its seq. One table would double in one step as the queue grows, rehashing every message
/// under the queue's lock: a pause of ~0.4 s at 7,340,032 messages (and ~0.2 s at half that),
/// when sends and receives of the queue all wait, and the old and new tables resident at once.
/// Each shard grows on its own, so a step rehashes one 256th of the table. A small queue
/// keeps one table (256 of them would cost it ~60 KiB): the table splits into shards when it
/// reaches [`MessageTable::SPLIT_AT`] messages.
#[derive(Debug, Default)]
pub(super) struct MessageTable {
    /// None, one (not split yet) or [`MessageTable::SHARDS`].
    shards: Vec<FxHashMap<u64, Meta>>,
    len: usize,
}

impl MessageTable {
    pub(super) const SHARDS: usize = 256;
    /// Messages at which one table splits into shards (a pause like one doubling's at this
    /// size: about a millisecond).
    const SPLIT_AT: usize = 1 << 15;

    /// The shard of `seq`: the top bits of a multiplicative (Fibonacci) hash, which spreads
    /// consecutive and evenly spaced seqs alike, and is not the tables' own hash, whose top
    /// bits their buckets' tags use.
    pub(super) fn shard_of(seq: u64) -> usize {
        (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::SHARDS.trailing_zeros())) as usize
    }

    /// Where `seq` is, or would be, in `shards`.
    fn index(&self, seq: u64) -> usize {
        if self.shards.len() == Self::SHARDS {
            Self::shard_of(seq)
        } else {
            0
        }
    }

    fn shard(&self, seq: u64) -> Option<&FxHashMap<u64, Meta>> {
        self.shards.get(self.index(seq))
    }

    /// Shard `index` of the split table (splitting it first if it is not).
    fn shard_mut(&mut self, index: usize) -> &mut FxHashMap<u64, Meta> {
        self.split();
        &mut self.shards[index]
    }

    /// Moves the messages of the one table into shards, if not done yet.
    fn split(&mut self) {
        if self.shards.len() == Self::SHARDS {
            return;
        }
        let one = self.shards.pop().unwrap_or_default();
        let room = one.len() / Self::SHARDS * 5 / 4;
        self.shards = (0..Self::SHARDS)
            .map(|_| FxHashMap::with_capacity_and_hasher(room, Default::default()))
            .collect();
        for (seq, meta) in one {
            self.shards[Self::shard_of(seq)].insert(seq, meta);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn get(&self, seq: u64) -> Option<&Meta> {
        self.shard(seq)?.get(&seq)
    }

    pub(super) fn get_mut(&mut self, seq: u64) -> Option<&mut Meta> {
        let index = self.index(seq);
        self.shards.get_mut(index)?.get_mut(&seq)
    }

    /// Inserts or replaces; the replaced entry.
    pub(super) fn insert(&mut self, seq: u64, meta: Meta) -> Option<Meta> {
        if self.shards.is_empty() {
            self.shards.push(FxHashMap::default());
        }
        let index = self.index(seq);
        let old = self.shards[index].insert(seq, meta);
        self.len += usize::from(old.is_none());
        if self.shards.len() == 1 && self.len >= Self::SPLIT_AT {
            self.split();
        }
        old
    }

    pub(super) fn remove(&mut self, seq: u64) -> Option<Meta> {
        let index = self.index(seq);
        let old = self.shards.get_mut(index)?.remove(&seq);
        self.len -= usize::from(old.is_some());
        old
    }

    /// Every seq, in no order.
    pub(super) fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.shards.iter().flat_map(|s| s.keys().copied())
    }

    /// Room for `count` more messages spread over the shards as seqs spread (a shard that
    /// gets more than its share grows by itself).
    pub(super) fn reserve(&mut self, count: usize) {
        if self.len + count < Self::SPLIT_AT {
            if self.shards.is_empty() {
                self.shards.push(FxHashMap::default());
            }
            self.shards[0].reserve(count);
            return;
        }
        let per_shard = count / Self::SHARDS + count / Self::SHARDS / 16 + 16;
        for index in 0..Self::SHARDS {
            self.shard_mut(index).reserve(per_shard);
        }
    }
}

impl IntoIterator for MessageTable {
    type Item = (u64, Meta);
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<FxHashMap<u64, Meta>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.shards.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(sent_at: u64) -> Meta {
        Meta {
            visible_at: 0,
            received_at: 0,
            first_receive_at: super::super::NEVER,
            sent_at,
            receive_count: 0,
            group: 0,
        }
    }

    #[test]
    fn inserts_replaces_and_removes_before_and_after_the_split() {
        let mut table = MessageTable::default();
        assert_eq!((table.len(), table.get(1).is_none()), (0, true));
        assert!(
            table.remove(1).is_none(),
            "an empty table has no shards yet"
        );
        let n = MessageTable::SPLIT_AT as u64 + 10_000;
        for seq in 0..n {
            assert!(table.insert(seq, meta(seq)).is_none());
            if seq == 1_000 {
                assert_eq!(table.shards.len(), 1, "a small queue has one table");
                assert_eq!(table.get(500).map(|m| m.sent_at), Some(500));
            }
        }
        assert_eq!(table.shards.len(), MessageTable::SHARDS, "split");
        assert!(table.shards.iter().all(|s| !s.is_empty()));
        assert_eq!(
            table.get(500).map(|m| m.sent_at),
            Some(500),
            "moved by the split"
        );
        for seq in 10_000..n {
            assert_eq!(table.remove(seq).map(|m| m.sent_at), Some(seq));
        }
        assert_eq!(table.insert(7, meta(70)).map(|m| m.sent_at), Some(7));
        assert_eq!(table.len(), 10_000);
        assert_eq!(table.get(7).map(|m| m.sent_at), Some(70));
        table.get_mut(8).expect("seq 8").sent_at = 80;
        assert_eq!(table.get(8).map(|m| m.sent_at), Some(80));
        assert_eq!(table.remove(9).map(|m| m.sent_at), Some(9));
        assert!(table.remove(9).is_none());
        assert_eq!(table.len(), 9_999);
        let mut seqs: Vec<u64> = table.seqs().collect();
        seqs.sort_unstable();
        assert_eq!(seqs.len(), 9_999);
        assert!(!seqs.contains(&9) && seqs.contains(&9_999));
        assert_eq!(table.into_iter().count(), 9_999);
    }

    /// A recovery's reservation splits a table that will be large, and a small one keeps one.
    #[test]
    fn reserving_for_many_messages_splits() {
        let mut small = MessageTable::default();
        small.reserve(1_000);
        assert_eq!(small.shards.len(), 1);
        let mut large = MessageTable::default();
        large.reserve(MessageTable::SPLIT_AT * 4);
        assert_eq!(large.shards.len(), MessageTable::SHARDS);
        assert!(large.shards.iter().all(|s| s.capacity() >= 4 * 128));
        large.insert(3, meta(3));
        assert_eq!((large.len(), large.get(3).map(|m| m.sent_at)), (1, Some(3)));
    }

    /// Consecutive seqs, and seqs a fixed stride apart (one queue's share of sends that
    /// rotate over several queues), fill every shard about evenly: no shard grows to hold
    /// most of a queue.
    #[test]
    fn consecutive_and_strided_seqs_spread_over_every_shard() {
        for stride in [1u64, 2, 3, 10, 256, 1_000] {
            let mut counts = vec![0usize; MessageTable::SHARDS];
            let n = 256 * 400;
            for i in 0..n as u64 {
                counts[MessageTable::shard_of(1_700_000_000_000 + i * stride)] += 1;
            }
            let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(
                *min >= 300 && *max <= 500,
                "stride {stride}: shards hold {min} to {max} of {n}"
            );
        }
    }
}
