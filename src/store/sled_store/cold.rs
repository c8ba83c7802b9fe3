//! Cold records ([`keys::is_cold`]: message bodies and attributes) live in the `messages`
//! tree, one sled key each, and not in memory: a backlog is bounded by the disk, not by RAM.
//!
//! A cold write reaches sled only at a **checkpoint** (`Inner::flush_sled`, every 100 ms or
//! when the write-ahead log fills), not with its write-out: a write-out makes its cold writes
//! durable in the write-ahead log alone. sled costs ~5 µs a key written and ~3 µs a key
//! removed, so a message sent and deleted between two checkpoints — most of a busy queue's —
//! costs sled nothing but the removal of a key it never had (a read, ~0.2 µs): the checkpoint
//! writes each key's latest value only.
//!
//! Until its checkpoint, a cold key's latest write stays in memory: a read must see it, and a
//! failed store that rewrites its journal from memory must rewrite it too. A checkpoint writes
//! the cold writes of every write-out up to its number, then records that number in the
//! `meta` tree (`COLD_UPTO_KEY`), then flushes sled; at the open, the write-ahead log's
//! replay starts at the oldest write-out whose cold writes may be missing from sled (see
//! `wal.rs`), so after a crash every journalled index record still finds its body. A crash
//! can leave a body whose index never reached the journal (a send not acknowledged): it is
//! never read, and stays until its queue's records are removed.
//!
//! A write-out too large for the log is the exception: it reaches sled in the order that is
//! consistent by itself (every earlier write-out checkpointed, then its cold puts, its journal
//! entry, its cold removals, and a flush), see `Inner::write_pending`.
//!
//! [`keys::is_cold`]: crate::store::keys::is_cold

use std::collections::{HashMap, VecDeque};

/// A cold key's latest write not checkpointed yet, and the write-out it belongs to.
struct Slot {
    value: Option<Vec<u8>>,
    entry: u64,
}

#[derive(Default)]
pub(super) struct Cold {
    slots: HashMap<Vec<u8>, Slot>,
    /// Keys written since the last write-out (may repeat).
    pending: Vec<Vec<u8>>,
    /// Bytes of those writes (for the free-space check).
    pending_bytes: u64,
    /// Keys taken by write-out `.0`, not checkpointed yet, oldest first.
    written: VecDeque<(u64, Vec<u8>)>,
}

/// One write-out's cold writes, encoded for the write-ahead log (each a journal entry: format
/// byte, then ops; empty if none): puts, and removals.
#[derive(Default)]
pub(super) struct ColdWrites {
    pub(super) log_puts: Vec<u8>,
    pub(super) log_removes: Vec<u8>,
}

/// Cold puts and removals due at a checkpoint, each key's latest value once, applied to sled
/// one key at a time: an atomic sled batch costs as much a key and rolls sled's log buffer
/// twice, while a checkpoint needs no atomicity (the write-ahead log holds every write).
#[derive(Default)]
pub(super) struct ColdOps(Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl ColdOps {
    pub(super) fn apply(self, tree: &sled::Tree) -> Result<(), sled::Error> {
        for (key, value) in self.0 {
            match value {
                Some(value) => tree.insert(key, value)?,
                None => tree.remove(key)?,
            };
        }
        Ok(())
    }

    /// The puts, and the removals.
    pub(super) fn split(self) -> (ColdOps, ColdOps) {
        let (puts, removes) = self.0.into_iter().partition(|(_, v)| v.is_some());
        (ColdOps(puts), ColdOps(removes))
    }
}

/// Appends an op to a log encoding, starting it with the format byte.
fn log_op(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
    if out.is_empty() {
        out.push(super::ENTRY_V1);
    }
    super::encode_op(out, key, value);
}

impl Cold {
    /// Records a write of `key` belonging to write-out `entry`.
    pub(super) fn apply(&mut self, key: Vec<u8>, value: Option<Vec<u8>>, entry: u64) {
        self.pending_bytes += (key.len() + value.as_ref().map_or(0, Vec::len)) as u64;
        self.pending.push(key.clone());
        self.slots.insert(key, Slot { value, entry });
    }

    /// The latest write of `key` not flushed yet: `Some(None)` for a removal, `None` when the
    /// `messages` tree has the latest value.
    pub(super) fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.slots.get(key).map(|s| s.value.as_deref())
    }

    /// The unflushed writes of keys starting with `prefix`.
    pub(super) fn with_prefix<'a>(
        &'a self,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (&'a Vec<u8>, Option<&'a [u8]>)> + 'a {
        self.slots
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, s)| (k, s.value.as_deref()))
    }

    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    pub(super) fn pending_bytes(&self) -> u64 {
        self.pending_bytes
    }

    /// Takes the writes of write-out `entry` (every write since the last one), encoded for
    /// the write-ahead log; they stay in memory until a checkpoint writes them to sled.
    pub(super) fn take(&mut self, entry: u64) -> ColdWrites {
        let mut keys = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        keys.sort_unstable();
        keys.dedup();
        let mut out = ColdWrites::default();
        for key in keys {
            let Some(slot) = self.slots.get(&key).filter(|s| s.entry == entry) else {
                continue;
            };
            match &slot.value {
                Some(v) => log_op(&mut out.log_puts, &key, Some(v)),
                None => log_op(&mut out.log_removes, &key, None),
            }
            self.written.push_back((entry, key));
        }
        out
    }

    /// What a checkpoint of write-outs up to `upto` writes to sled: the latest write of each
    /// key they wrote, unless a later write-out wrote it again (that one's checkpoint will).
    pub(super) fn due(&self, upto: u64) -> ColdOps {
        let mut ops = Vec::new();
        for (entry, key) in self.written.iter().take_while(|(e, _)| *e <= upto) {
            if let Some(slot) = self.slots.get(key).filter(|s| s.entry == *entry) {
                ops.push((key.clone(), slot.value.clone()));
            }
        }
        ColdOps(ops)
    }

    /// Makes every write not checkpointed part of write-out `entry` (a failed store rewriting
    /// from memory; [`Cold::due`] then gives them all).
    pub(super) fn take_all(&mut self, entry: u64) {
        self.pending = self.slots.keys().cloned().collect();
        self.written.clear();
        for slot in self.slots.values_mut() {
            slot.entry = entry;
        }
        self.take(entry);
    }

    /// Write-outs up to `upto` are checkpointed: their writes are the `messages` tree's now.
    pub(super) fn flushed(&mut self, upto: u64) {
        while let Some((entry, _)) = self.written.front() {
            if *entry > upto {
                break;
            }
            let (entry, key) = self.written.pop_front().expect("a front entry");
            if self.slots.get(&key).is_some_and(|s| s.entry == entry) {
                self.slots.remove(&key);
            }
        }
    }

    /// Unflushed cold writes held in memory (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }
}
