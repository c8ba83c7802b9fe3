//! Lean records ([`keys::is_lean`]: message index records) are journalled like every other
//! record, but memory keeps only their keys and the entry holding each one's latest put (about
//! 50 bytes a record instead of ~150 with its value): a backlog of millions holds one per
//! message, and the engine keeps what they say in its own indexes anyway.
//!
//! A lean record's value stays in memory only
//! - from the open until the opener's recovery has read it ([`Store::recovered`]), since
//!   recovery reads every one, and
//! - from its put until that put is flushed: until then a failed store, which rewrites its
//!   journal from memory, may find it lost from sled.
//!
//! Any other read of one (a `get`, a scan) finds its entry in the journal and decodes it; so
//! do compaction (it reads the old entries anyway) and a failed store's rewrite.
//!
//! [`keys::is_lean`]: crate::store::keys::is_lean
//! [`Store::recovered`]: crate::store::Store::recovered

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{decode_entry, entry_key, keys, Inner, Sled, StoreError, StoreResult};
use crate::store::Visit;

/// The lean puts of one decoded journal entry: key → latest value.
type EntryPuts = HashMap<Vec<u8>, Vec<u8>>;

/// A lean record's key (`i` + queue id + seq), ordered as its bytes are but compared as two
/// integers: the replay inserts millions in a `BTreeMap`, where a `memcmp` call per
/// comparison was the largest cost.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct LeanKey([u8; 17]);

impl LeanKey {
    fn of(key: &[u8]) -> LeanKey {
        LeanKey(key.try_into().expect("a lean key is 17 bytes"))
    }

    /// Its queue id and seq.
    fn ids(&self) -> (u64, u64) {
        let half = |at: usize| u64::from_be_bytes(self.0[at..at + 8].try_into().expect("8 bytes"));
        (half(1), half(9))
    }

    /// The first and last possible lean keys starting with `prefix`, if any can.
    fn range_of(prefix: &[u8]) -> Option<(LeanKey, LeanKey)> {
        if !keys::may_be_lean(prefix) {
            return None;
        }
        let (mut lo, mut hi) = ([0u8; 17], [0xffu8; 17]);
        lo[0] = keys::MESSAGE_INDEX;
        hi[0] = keys::MESSAGE_INDEX;
        lo[..prefix.len()].copy_from_slice(prefix);
        hi[..prefix.len()].copy_from_slice(prefix);
        Some((LeanKey(lo), LeanKey(hi)))
    }
}

impl Ord for LeanKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0[0], self.ids()).cmp(&(other.0[0], other.ids()))
    }
}

impl PartialOrd for LeanKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::ops::Deref for LeanKey {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// Bits of a slot holding the entry number; the bits above hold the value's length, but the
/// top one, [`IN_ARENA`].
const ENTRY_BITS: u32 = 48;
const ENTRY_MASK: u64 = (1 << ENTRY_BITS) - 1;
/// The largest value length a slot counts (a lean value is ~25 bytes; the length only counts
/// live bytes).
const MAX_LEN: u64 = (1 << 15) - 1;
/// A slot with this bit set holds the place of its record in the replay's [`Arena`] instead;
/// the record there starts with the slot it stands for.
const IN_ARENA: u64 = 1 << 63;

/// Where a lean record's value is.
pub(super) enum Found<'a> {
    Memory(&'a [u8]),
    /// Only in this journal entry (flushed).
    Entry(u64),
}

/// The records replayed at the open, kept until the opener's recovery is done, in the order
/// the replay read them: each is its slot (entry and length, 8 bytes), its value's length
/// (4) and its value, in chunks of anonymous memory mapped for them, which go back to the
/// system whole when dropped (freed heap pages would stay resident until the allocator purges
/// them). The lean slots point into it, so no table maps keys to records.
#[derive(Default)]
pub(super) struct Arena {
    chunks: Vec<memmap2::MmapMut>,
    /// Bytes used in the last chunk.
    used: usize,
}

/// Bytes of an arena chunk (mapped, so only what is written becomes resident).
const ARENA_CHUNK: usize = 64 << 20;
/// Bits of a place in the arena holding the offset in its chunk.
const CHUNK_BITS: u32 = 32;

impl Arena {
    /// Appends a record; its place.
    fn push(&mut self, slot: u64, value: &[u8]) -> u64 {
        let len = u32::try_from(value.len()).expect("a record under 4 GiB");
        let size = 12 + value.len();
        if self.chunks.is_empty() || self.used + size > self.chunks[self.chunks.len() - 1].len() {
            let chunk = memmap2::MmapMut::map_anon(size.max(ARENA_CHUNK))
                .expect("mapping memory for the replayed records");
            self.chunks.push(chunk);
            self.used = 0;
        }
        let index = self.chunks.len() - 1;
        let at = self.used;
        let chunk = &mut self.chunks[index];
        chunk[at..at + 8].copy_from_slice(&slot.to_le_bytes());
        chunk[at + 8..at + 12].copy_from_slice(&len.to_le_bytes());
        chunk[at + 12..at + size].copy_from_slice(value);
        self.used += size;
        ((index as u64) << CHUNK_BITS) | at as u64
    }

    fn record(&self, place: u64) -> &[u8] {
        let chunk = &self.chunks[(place >> CHUNK_BITS) as usize];
        &chunk[(place & ((1 << CHUNK_BITS) - 1)) as usize..]
    }

    /// The slot the record at `place` stands for.
    fn slot(&self, place: u64) -> u64 {
        u64::from_le_bytes(self.record(place)[..8].try_into().expect("8 bytes"))
    }

    fn value(&self, place: u64) -> &[u8] {
        let record = self.record(place);
        let len = u32::from_le_bytes(record[8..12].try_into().expect("4 bytes")) as usize;
        &record[12..12 + len]
    }
}

#[derive(Default)]
pub(super) struct Lean {
    /// Every live lean record: the entry of its latest put (low [`ENTRY_BITS`]) and its
    /// value's length (above), packed, since there is one per queued message; or, until the
    /// opener's recovery is done, the place of its replayed record in [`Lean::replayed`]
    /// ([`IN_ARENA`]).
    slots: BTreeMap<LeanKey, u64>,
    /// Values held in memory (see the module doc) but those replayed at the open.
    values: FxHashMap<LeanKey, Box<[u8]>>,
    /// The records replayed at the open, until the opener's recovery is done.
    replayed: Option<Arc<Arena>>,
    /// Whether the open's replay is running (its puts go to `replayed`).
    replaying: bool,
    /// Puts not known to be flushed, by entry, oldest first: once flushed, their values go.
    unflushed: VecDeque<(u64, LeanKey)>,
    /// Entries up to this one are flushed.
    flushed_upto: u64,
    /// Whether the opener's recovery is done: values of flushed puts are no longer kept.
    released: bool,
    /// The last entry replayed at the open.
    opened_at: u64,
}

fn pack(entry: u64, len: usize) -> u64 {
    debug_assert!(entry <= ENTRY_MASK, "fewer than 2^48 journal entries");
    (entry & ENTRY_MASK) | ((len as u64).min(MAX_LEN) << ENTRY_BITS)
}

fn unpack(slot: u64) -> (u64, u64) {
    (slot & ENTRY_MASK, slot >> ENTRY_BITS)
}

/// A chunk of lean records copied out of the state lock: each key with its value, or the
/// place of its replayed record in the arena.
pub(super) enum ValueAt {
    Owned(Box<[u8]>),
    Arena(u64),
}

impl Lean {
    /// Lean records about to be replayed from the journal.
    pub(super) fn replaying() -> Self {
        Lean {
            replaying: true,
            ..Lean::default()
        }
    }

    /// The packed entry and length a slot stands for.
    fn resolve(&self, slot: u64) -> u64 {
        match (slot & IN_ARENA != 0, &self.replayed) {
            (true, Some(arena)) => arena.slot(slot & !IN_ARENA),
            _ => slot,
        }
    }

    /// A put of `key` in entry `entry`; the entry and value length of the put it replaces.
    pub(super) fn put(&mut self, key: &[u8], value: &[u8], entry: u64) -> Option<(u64, u64)> {
        let key = LeanKey::of(key);
        let packed = pack(entry, value.len());
        let slot = if self.replaying {
            let arena = self.replayed.get_or_insert_with(Default::default);
            let arena = Arc::get_mut(arena).expect("nothing shares the arena during the replay");
            IN_ARENA | arena.push(packed, value)
        } else {
            self.values.insert(key, value.into());
            if self.released && entry > self.flushed_upto {
                self.unflushed.push_back((entry, key));
            }
            packed
        };
        let old = self.slots.insert(key, slot)?;
        Some(unpack(self.resolve(old)))
    }

    /// Removes `key`; the entry and value length of its latest put.
    pub(super) fn remove(&mut self, key: &[u8]) -> Option<(u64, u64)> {
        let key = LeanKey::of(key);
        self.values.remove(&key);
        let old = self.slots.remove(&key)?;
        Some(unpack(self.resolve(old)))
    }

    pub(super) fn contains(&self, key: &[u8]) -> bool {
        self.slots.contains_key(&LeanKey::of(key))
    }

    /// The entry holding the latest put of `key`.
    pub(super) fn entry_of(&self, key: &[u8]) -> Option<u64> {
        let slot = *self.slots.get(&LeanKey::of(key))?;
        Some(unpack(self.resolve(slot)).0)
    }

    /// The value of `key` (which has a slot), if held in memory.
    pub(super) fn value(&self, key: &[u8]) -> Option<&[u8]> {
        let key = LeanKey::of(key);
        if let Some(v) = self.values.get(&key) {
            return Some(v);
        }
        let slot = *self.slots.get(&key)?;
        match (slot & IN_ARENA != 0, &self.replayed) {
            (true, Some(arena)) => Some(arena.value(slot & !IN_ARENA)),
            _ => None,
        }
    }

    /// Where the value of `key` is; `None` if it has no record.
    pub(super) fn find(&self, key: &[u8]) -> Option<Found<'_>> {
        let slot = *self.slots.get(&LeanKey::of(key))?;
        Some(match self.value(key) {
            Some(v) => Found::Memory(v),
            None => Found::Entry(unpack(slot).0),
        })
    }

    /// Turns the slot of `key`, if in the arena, into its entry and length, its value moving
    /// to `values` (a replayed record whose entry changes).
    fn out_of_arena(&mut self, key: LeanKey) {
        let Some(slot) = self.slots.get_mut(&key) else {
            return;
        };
        if let (true, Some(arena)) = (*slot & IN_ARENA != 0, &self.replayed) {
            let place = *slot & !IN_ARENA;
            self.values.insert(key, arena.value(place).into());
            *slot = arena.slot(place);
        }
    }

    /// `key`'s latest put now lives in entry `entry` (compaction copied it there).
    pub(super) fn moved(&mut self, key: &[u8], entry: u64) {
        let key = LeanKey::of(key);
        self.out_of_arena(key);
        if let Some(slot) = self.slots.get_mut(&key) {
            *slot = pack(entry, unpack(*slot).1 as usize);
            if self.released && self.values.contains_key(&key) {
                self.unflushed.push_back((entry, key));
            }
        }
    }

    /// Every record's latest put now lives in entry `entry` (a failed store rewrites its
    /// journal); [`Lean::flushed`] once it is flushed.
    pub(super) fn rewrite_to(&mut self, entry: u64) {
        let in_arena: Vec<LeanKey> = self
            .slots
            .iter()
            .filter(|(_, &s)| s & IN_ARENA != 0)
            .map(|(k, _)| *k)
            .collect();
        for key in in_arena {
            self.out_of_arena(key);
        }
        for slot in self.slots.values_mut() {
            *slot = pack(entry, unpack(*slot).1 as usize);
        }
        self.unflushed.clear();
        if self.released {
            for (key, _) in self.values.iter() {
                self.unflushed.push_back((entry, *key));
            }
        }
    }

    /// Entries up to `upto` are flushed: the values of their puts may leave memory. Lets go
    /// of at most `max` of them; true once none is left.
    pub(super) fn flushed(&mut self, upto: u64, max: usize) -> bool {
        self.flushed_upto = self.flushed_upto.max(upto);
        for _ in 0..max {
            let Some(&(entry, key)) = self.unflushed.front() else {
                return true;
            };
            if entry > upto {
                return true;
            }
            self.unflushed.pop_front();
            if self.released && self.entry_of(&key) == Some(entry) {
                self.values.remove(&key);
            }
        }
        self.unflushed
            .front()
            .is_none_or(|&(entry, _)| entry > upto)
    }

    /// The replay is done: everything it read, up to entry `upto`, is on disk.
    pub(super) fn opened(&mut self, upto: u64) {
        self.flushed_upto = upto;
        self.opened_at = upto;
        self.replaying = false;
    }

    /// The last entry replayed at the open.
    pub(super) fn opened_at(&self) -> u64 {
        self.opened_at
    }

    /// The opener's recovery is done: only values of puts not flushed stay in memory, and the
    /// replay's arena goes.
    pub(super) fn release(&mut self) {
        if self.released {
            return;
        }
        self.released = true;
        if let Some(arena) = self.replayed.take() {
            for slot in self.slots.values_mut() {
                if *slot & IN_ARENA != 0 {
                    *slot = arena.slot(*slot & !IN_ARENA);
                }
            }
        }
        let upto = self.flushed_upto;
        let slots = &self.slots;
        self.values
            .retain(|k, _| slots.get(k).is_some_and(|&s| unpack(s).0 > upto));
        self.values.shrink_to_fit();
        let mut unflushed: Vec<(u64, LeanKey)> = self
            .values
            .keys()
            .filter_map(|k| Some((self.entry_of(k)?, *k)))
            .collect();
        unflushed.sort_unstable();
        self.unflushed = unflushed.into();
    }

    /// The records whose key starts with `prefix`, in key order, with their latest entry.
    pub(super) fn with_prefix<'a>(
        &'a self,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (&'a LeanKey, u64)> + 'a {
        LeanKey::range_of(prefix)
            .into_iter()
            .flat_map(move |(lo, hi)| self.slots.range(lo..=hi))
            .map(|(k, &s)| (k, unpack(self.resolve(s)).0))
    }

    /// Up to `max` records under `prefix` after `after` (from the first if `None`), in key
    /// order, with their values or the places of their replayed records; `None` once some
    /// value is in neither.
    pub(super) fn chunk(
        &self,
        prefix: &[u8],
        after: Option<&LeanKey>,
        max: usize,
        out: &mut Vec<(LeanKey, ValueAt)>,
    ) -> Option<()> {
        let Some((lo, hi)) = LeanKey::range_of(prefix) else {
            return Some(());
        };
        let range = match after {
            Some(k) if *k >= hi => return Some(()),
            Some(k) => self
                .slots
                .range((std::ops::Bound::Excluded(*k), std::ops::Bound::Included(hi))),
            None => self
                .slots
                .range((std::ops::Bound::Included(lo), std::ops::Bound::Included(hi))),
        };
        for (k, &slot) in range.take(max) {
            let value = match self.values.get(k) {
                Some(v) => ValueAt::Owned(v.clone()),
                None if slot & IN_ARENA != 0 && self.replayed.is_some() => {
                    ValueAt::Arena(slot & !IN_ARENA)
                }
                None => return None,
            };
            out.push((*k, value));
        }
        Some(())
    }

    /// The records replayed at the open, while kept.
    pub(super) fn replayed(&self) -> Option<Arc<Arena>> {
        self.replayed.clone()
    }

    /// Whether every value is in memory (until the opener's recovery is done).
    pub(super) fn all_in_memory(&self) -> bool {
        !self.released
    }

    /// Every record with its latest entry, in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&LeanKey, u64)> + '_ {
        self.slots
            .iter()
            .map(|(k, &s)| (k, unpack(self.resolve(s)).0))
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// How many records have a key starting with `prefix`.
    pub(super) fn count_with_prefix(&self, prefix: &[u8]) -> usize {
        LeanKey::range_of(prefix).map_or(0, |(lo, hi)| self.slots.range(lo..=hi).count())
    }

    /// Lean values held in memory (tests).
    #[cfg(test)]
    pub(super) fn values_in_memory(&self) -> usize {
        let in_arena = if self.replayed.is_some() {
            self.slots.values().filter(|&&s| s & IN_ARENA != 0).count()
        } else {
            0
        };
        self.values.len() + in_arena
    }
}

/// Reads lean records' values from their journal entries, decoding each entry once for a run
/// of keys in the same entry.
pub(super) struct EntryReader<'a> {
    sled: &'a Sled,
    /// The last entry decoded: its lean puts' latest values.
    cached: Option<(u64, EntryPuts)>,
}

impl<'a> EntryReader<'a> {
    pub(super) fn new(sled: &'a Sled) -> Self {
        EntryReader { sled, cached: None }
    }

    /// The value of `key`'s latest put, which is in entry `entry`. The caller keeps the entry
    /// from being removed meanwhile (it holds the reclaim lock).
    pub(super) fn value(&mut self, key: &[u8], entry: u64) -> StoreResult<Vec<u8>> {
        if self.cached.as_ref().map(|c| c.0) != Some(entry) {
            let bytes = self
                .sled
                .journal
                .get(entry_key(entry))
                .map_err(|e| StoreError(e.to_string()))?
                .ok_or_else(|| {
                    StoreError(format!("journal entry {entry} of a live record is missing"))
                })?;
            let mut puts = HashMap::new();
            for (k, v) in decode_entry(&bytes)? {
                if keys::is_lean(&k) {
                    match v {
                        Some(v) => puts.insert(k, v),
                        None => puts.remove(&k),
                    };
                }
            }
            self.cached = Some((entry, puts));
        }
        self.cached
            .as_ref()
            .and_then(|(_, puts)| puts.get(key))
            .cloned()
            .ok_or_else(|| StoreError(format!("journal entry {entry} lacks a live record's put")))
    }
}

impl Inner {
    /// A lean record: from memory if held there, else from its journal entry.
    pub(super) fn get_lean(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        if let Some(Found::Memory(v)) = self.state().lean.find(key) {
            return Ok(Some(v.to_vec()));
        }
        // Nothing removes entries while the reclaim lock is held: look under it.
        let _reclaim = self.reclaim.lock().expect("store reclaim lock");
        let entry = match self.state().lean.find(key) {
            None => return Ok(None),
            Some(Found::Memory(v)) => return Ok(Some(v.to_vec())),
            Some(Found::Entry(entry)) => entry,
        };
        let sled = self.sled()?;
        EntryReader::new(&sled).value(key, entry).map(Some)
    }

    /// Calls `f` with every lean record under `prefix` (a lean prefix) in key order, a chunk
    /// at a time copied out of the state lock; `false` (nothing called) unless every value is
    /// in memory, as before the opener's recovery is done.
    pub(super) fn for_each_lean(&self, prefix: &[u8], f: &mut Visit<'_>) -> StoreResult<bool> {
        const CHUNK: usize = 4096;
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut last: Option<LeanKey> = None;
        loop {
            chunk.clear();
            let replayed = {
                let state = self.state();
                if !state.lean.all_in_memory() {
                    return if last.is_none() {
                        Ok(false)
                    } else {
                        Err(StoreError("lean values left memory during a scan".into()))
                    };
                }
                if state
                    .lean
                    .chunk(prefix, last.as_ref(), CHUNK, &mut chunk)
                    .is_none()
                {
                    return Err(StoreError("a lean value is not in memory".into()));
                }
                state.lean.replayed()
            };
            for (k, v) in &chunk {
                let value = match v {
                    ValueAt::Owned(v) => v,
                    ValueAt::Arena(place) => replayed
                        .as_ref()
                        .map(|arena| arena.value(*place))
                        .ok_or_else(|| StoreError("a lean value is not in memory".into()))?,
                };
                f(k, value)?;
            }
            match chunk.last() {
                Some((k, _)) if chunk.len() == CHUNK => last = Some(*k),
                _ => return Ok(true),
            }
        }
    }

    /// Every lean record whose key starts with `prefix`, in key order.
    pub(super) fn scan_lean(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let (found, missing) = self.lean_in_memory(prefix);
        if missing.is_empty() {
            return Ok(found);
        }
        let _reclaim = self.reclaim.lock().expect("store reclaim lock");
        let (mut found, missing) = self.lean_in_memory(prefix);
        let sled = self.sled()?;
        let mut reader = EntryReader::new(&sled);
        for (i, entry) in missing {
            let value = reader.value(&found[i].0, entry)?;
            found[i].1 = value;
        }
        Ok(found)
    }

    /// The lean records under `prefix` with the values memory holds, and the positions and
    /// entries of those whose values it does not (left empty).
    #[allow(clippy::type_complexity, reason = "a private pair of lists")]
    fn lean_in_memory(&self, prefix: &[u8]) -> (Vec<(Vec<u8>, Vec<u8>)>, Vec<(usize, u64)>) {
        let state = self.state();
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for (k, entry) in state.lean.with_prefix(prefix) {
            match state.lean.value(k) {
                Some(v) => found.push((k.to_vec(), v.to_vec())),
                None => {
                    missing.push((found.len(), entry));
                    found.push((k.to_vec(), Vec::new()));
                }
            }
        }
        (found, missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(queue: u64, seq: u64) -> Vec<u8> {
        keys::message_index(queue, seq)
    }

    /// Lean keys order as their bytes do, and a prefix's range holds exactly its keys.
    #[test]
    fn lean_keys_order_as_their_bytes_and_prefixes_bound_them() {
        let ids = [0, 1, 255, 256, 1 << 40, u64::MAX - 1, u64::MAX];
        let mut all = Vec::new();
        for q in ids {
            for s in ids {
                all.push(key(q, s));
            }
        }
        for a in &all {
            for b in &all {
                assert_eq!(LeanKey::of(a).cmp(&LeanKey::of(b)), a.cmp(b), "{a:?} {b:?}");
            }
        }
        let mut lean = Lean::default();
        for k in &all {
            lean.put(k, b"v", 1);
        }
        for prefix in [
            vec![],
            vec![keys::MESSAGE_INDEX],
            keys::queue_prefix(keys::MESSAGE_INDEX, 256),
            key(1 << 40, 255)[..12].to_vec(),
            key(7, 7),
            vec![keys::MESSAGE],
        ] {
            let expect: Vec<&Vec<u8>> = all.iter().filter(|k| k.starts_with(&prefix)).collect();
            let got: Vec<Vec<u8>> = lean.with_prefix(&prefix).map(|(k, _)| k.to_vec()).collect();
            let mut sorted = expect.clone();
            sorted.sort();
            assert_eq!(got.iter().collect::<Vec<_>>(), sorted, "{prefix:?}");
            assert_eq!(lean.count_with_prefix(&prefix), expect.len());
        }
    }

    /// Replayed records live in the arena until the recovery is done: overwrites and removals
    /// report the put they replace, a move takes a record's value out of the arena, and the
    /// release keeps only the values of puts not flushed.
    #[test]
    fn replayed_records_are_read_from_the_arena_until_released() {
        let mut lean = Lean::replaying();
        assert_eq!(lean.put(&key(1, 1), b"one", 1), None);
        assert_eq!(lean.put(&key(1, 2), b"two", 1), None);
        assert_eq!(lean.put(&key(1, 3), b"three", 2), None);
        assert_eq!(lean.put(&key(1, 1), b"uno", 2), Some((1, 3)));
        assert_eq!(lean.remove(&key(1, 2)), Some((1, 3)));
        assert_eq!(lean.remove(&key(1, 2)), None);
        lean.opened(2);
        assert_eq!(lean.value(&key(1, 1)), Some(&b"uno"[..]));
        assert_eq!(lean.entry_of(&key(1, 1)), Some(2));
        assert_eq!(lean.value(&key(1, 2)), None);
        assert_eq!(lean.values_in_memory(), 2);
        // A compaction copies record 3 to entry 5 before the recovery is done.
        lean.moved(&key(1, 3), 5);
        assert_eq!(lean.entry_of(&key(1, 3)), Some(5));
        assert_eq!(lean.value(&key(1, 3)), Some(&b"three"[..]));
        let mut chunk = Vec::new();
        lean.chunk(&[keys::MESSAGE_INDEX], None, 10, &mut chunk)
            .unwrap();
        let arena = lean.replayed().unwrap();
        let read: Vec<(Vec<u8>, Vec<u8>)> = chunk
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    ValueAt::Owned(v) => v.to_vec(),
                    ValueAt::Arena(place) => arena.value(*place).to_vec(),
                };
                (k.to_vec(), v)
            })
            .collect();
        assert_eq!(
            read,
            vec![(key(1, 1), b"uno".to_vec()), (key(1, 3), b"three".to_vec())]
        );
        drop(arena);
        lean.release();
        assert_eq!(lean.entry_of(&key(1, 1)), Some(2));
        assert_eq!(
            lean.value(&key(1, 1)),
            None,
            "flushed: read from the journal"
        );
        assert_eq!(
            lean.value(&key(1, 3)),
            Some(&b"three"[..]),
            "its copy is not flushed yet"
        );
        assert!(lean.flushed(4, usize::MAX), "nothing up to entry 4 is left");
        assert_eq!(lean.values_in_memory(), 1, "entry 5 is not flushed yet");
        assert!(lean.flushed(5, 1));
        assert_eq!(lean.values_in_memory(), 0);
        assert_eq!(lean.len(), 2);
    }
}
