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
use std::ops::Bound;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{decode_entry, entry_key, keys, Inner, Sled, StoreError, StoreResult};
use crate::store::Visit;

/// The lean puts of one decoded journal entry: key → latest value.
type EntryPuts = HashMap<Vec<u8>, Vec<u8>>;

/// A lean record's key (`i` + queue id + seq).
pub(super) type LeanKey = [u8; 17];

/// Bits of a slot holding the entry number; the bits above hold the value's length.
const ENTRY_BITS: u32 = 48;
const ENTRY_MASK: u64 = (1 << ENTRY_BITS) - 1;

/// Where a lean record's value is.
pub(super) enum Found<'a> {
    Memory(&'a [u8]),
    /// Only in this journal entry (flushed).
    Entry(u64),
}

/// The values replayed at the open, kept until the opener's recovery is done: one arena and
/// one table, a few large allocations given back whole when dropped (millions of small ones
/// would leave the allocator's pages fragmented, and the resident set high).
#[derive(Default)]
pub(super) struct Replayed {
    /// Offset and length in `bytes`.
    index: FxHashMap<LeanKey, (u64, u32)>,
    bytes: Vec<u8>,
}

impl Replayed {
    fn put(&mut self, key: LeanKey, value: &[u8]) {
        let len = u32::try_from(value.len()).expect("a record under 4 GiB");
        self.index.insert(key, (self.bytes.len() as u64, len));
        self.bytes.extend_from_slice(value);
    }

    pub(super) fn get(&self, key: &LeanKey) -> Option<&[u8]> {
        let &(at, len) = self.index.get(key)?;
        self.bytes.get(at as usize..at as usize + len as usize)
    }
}

#[derive(Default)]
pub(super) struct Lean {
    /// Every live lean record: the entry of its latest put (low [`ENTRY_BITS`]) and its
    /// value's length (above), packed, since there is one per queued message.
    slots: BTreeMap<LeanKey, u64>,
    /// Values held in memory (see the module doc) but those replayed at the open.
    values: FxHashMap<LeanKey, Box<[u8]>>,
    /// The values replayed at the open, until the opener's recovery is done. A key's value
    /// is here only if it has a slot and no entry in `values`.
    replayed: Option<Arc<Replayed>>,
    /// Whether the open's replay is running (its puts go to `replayed`).
    replaying: bool,
    /// Puts not known to be flushed, by entry, oldest first: once flushed, their values go.
    unflushed: VecDeque<(u64, LeanKey)>,
    /// Entries up to this one are flushed.
    flushed_upto: u64,
    /// Whether the opener's recovery is done: values of flushed puts are no longer kept.
    released: bool,
}

fn lean_key(key: &[u8]) -> LeanKey {
    key.try_into().expect("a lean key is 17 bytes")
}

fn pack(entry: u64, len: usize) -> u64 {
    debug_assert!(entry <= ENTRY_MASK, "fewer than 2^48 journal entries");
    (entry & ENTRY_MASK) | ((len.min(u16::MAX as usize) as u64) << ENTRY_BITS)
}

fn unpack(slot: u64) -> (u64, u64) {
    (slot & ENTRY_MASK, slot >> ENTRY_BITS)
}

impl Lean {
    /// Lean records about to be replayed from the journal.
    pub(super) fn replaying() -> Self {
        Lean {
            replaying: true,
            ..Lean::default()
        }
    }

    /// A put of `key` in entry `entry`; the entry and value length of the put it replaces.
    pub(super) fn put(&mut self, key: &[u8], value: &[u8], entry: u64) -> Option<(u64, u64)> {
        let key = lean_key(key);
        let old = self.slots.insert(key, pack(entry, value.len()));
        if self.replaying {
            let replayed = self.replayed.get_or_insert_with(Default::default);
            Arc::get_mut(replayed)
                .expect("nothing shares the replayed values during the replay")
                .put(key, value);
            return old.map(unpack);
        }
        self.values.insert(key, value.into());
        if self.released && entry > self.flushed_upto {
            self.unflushed.push_back((entry, key));
        }
        old.map(unpack)
    }

    /// Removes `key`; the entry and value length of its latest put.
    pub(super) fn remove(&mut self, key: &[u8]) -> Option<(u64, u64)> {
        let key = lean_key(key);
        self.values.remove(&key);
        if self.replaying {
            if let Some(replayed) = self.replayed.as_mut().and_then(Arc::get_mut) {
                replayed.index.remove(&key);
            }
        }
        self.slots.remove(&key).map(unpack)
    }

    pub(super) fn contains(&self, key: &[u8]) -> bool {
        self.slots.contains_key(&lean_key(key))
    }

    /// The entry holding the latest put of `key`.
    pub(super) fn entry_of(&self, key: &[u8]) -> Option<u64> {
        self.slots.get(&lean_key(key)).map(|&s| unpack(s).0)
    }

    /// The value of `key` (which has a slot), if held in memory.
    pub(super) fn value(&self, key: &LeanKey) -> Option<&[u8]> {
        match self.values.get(key) {
            Some(v) => Some(v),
            None => self.replayed.as_ref()?.get(key),
        }
    }

    /// Where the value of `key` is; `None` if it has no record.
    pub(super) fn find(&self, key: &[u8]) -> Option<Found<'_>> {
        let key = lean_key(key);
        let slot = self.slots.get(&key)?;
        Some(match self.value(&key) {
            Some(v) => Found::Memory(v),
            None => Found::Entry(unpack(*slot).0),
        })
    }

    /// `key`'s latest put now lives in entry `entry` (compaction copied it there).
    pub(super) fn moved(&mut self, key: &[u8], entry: u64) {
        let key = lean_key(key);
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

    /// Entries up to `upto` are flushed: the values of their puts may leave memory.
    pub(super) fn flushed(&mut self, upto: u64) {
        self.flushed_upto = self.flushed_upto.max(upto);
        while let Some(&(entry, key)) = self.unflushed.front() {
            if entry > upto {
                break;
            }
            self.unflushed.pop_front();
            if self.released && self.entry_of(&key) == Some(entry) {
                self.values.remove(&key);
            }
        }
    }

    /// The replay is done: everything it read, up to entry `upto`, is on disk.
    pub(super) fn opened(&mut self, upto: u64) {
        self.flushed_upto = upto;
        self.replaying = false;
    }

    /// The opener's recovery is done: only values of puts not flushed stay in memory.
    pub(super) fn release(&mut self) {
        if self.released {
            return;
        }
        self.released = true;
        self.replayed = None;
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
        self.slots
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, &s)| (k, unpack(s).0))
    }

    /// Up to `max` records under `prefix` after `after` (from the first if `None`), in key
    /// order, with their values unless replayed (`None`: the value is in [`Lean::replayed`]);
    /// `None` once some value is in neither.
    pub(super) fn chunk(
        &self,
        prefix: &[u8],
        after: Option<&LeanKey>,
        max: usize,
        out: &mut Vec<(LeanKey, Option<Box<[u8]>>)>,
    ) -> Option<()> {
        let start = match after {
            Some(k) => Bound::Excluded(&k[..]),
            None => Bound::Included(prefix),
        };
        for (k, _) in self
            .slots
            .range::<[u8], _>((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(max)
        {
            let value = match self.values.get(k) {
                Some(v) => Some(v.clone()),
                None => {
                    self.replayed.as_ref()?.get(k)?;
                    None
                }
            };
            out.push((*k, value));
        }
        Some(())
    }

    /// The values replayed at the open, while kept.
    pub(super) fn replayed(&self) -> Option<Arc<Replayed>> {
        self.replayed.clone()
    }

    /// Whether every value is in memory (until the opener's recovery is done).
    pub(super) fn all_in_memory(&self) -> bool {
        !self.released
    }

    /// Every record with its latest entry, in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&LeanKey, u64)> + '_ {
        self.slots.iter().map(|(k, &s)| (k, unpack(s).0))
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Lean values held in memory (tests).
    #[cfg(test)]
    pub(super) fn values_in_memory(&self) -> usize {
        self.values.len() + self.replayed.as_ref().map_or(0, |r| r.index.len())
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
                    Some(v) => v,
                    None => replayed
                        .as_ref()
                        .and_then(|r| r.get(k))
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
