//! Cold records ([`keys::is_cold`]: message bodies and attributes) live in the `messages`
//! tree, one sled key each, and not in memory: a backlog is bounded by the disk, not by RAM.
//!
//! What stays in memory is only each cold key's latest write **until it is flushed**: until
//! then a read must see it, and a failed store that rewrites its journal from memory must
//! rewrite it too. A write-out (one journal entry) writes its cold puts to the `messages` tree
//! before the entry and its cold removals after it, so that after a crash (sled recovers a
//! prefix of its operations, across trees) every journalled index record still finds its body,
//! and a body is never removed before the removal of its index is in the journal. A crash can
//! leave a body whose index never reached the journal (a send not acknowledged): it is never
//! read, and stays until its queue's records are removed.
//!
//! [`keys::is_cold`]: crate::store::keys::is_cold

use std::collections::{HashMap, VecDeque};

/// A cold key's latest write not known to be flushed, and the write-out it belongs to.
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
    /// Keys written to sled by write-out `.0`, not yet flushed, oldest first.
    written: VecDeque<(u64, Vec<u8>)>,
}

/// One write-out's cold writes: puts before its journal entry, removals after it; and the same
/// encoded for the write-ahead log (each a journal entry: format byte, then ops; empty if none).
#[derive(Default)]
pub(super) struct ColdWrites {
    pub(super) puts: Option<ColdOps>,
    pub(super) removes: Option<ColdOps>,
    pub(super) log_puts: Vec<u8>,
    pub(super) log_removes: Vec<u8>,
}

/// Cold puts or removals, applied to sled one key at a time, in order: an atomic sled batch
/// rolls sled's log buffer twice (two log writes, each with its `sync_file_range` on sled's I/O
/// threads), while a write-out needs only the order of its writes (sled recovers a prefix of
/// its operations, and the write-ahead log holds them all).
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

    /// Takes the writes of write-out `entry` (every write since the last one).
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
                Some(v) => {
                    log_op(&mut out.log_puts, &key, Some(v));
                    out.puts
                        .get_or_insert_with(Default::default)
                        .0
                        .push((key.clone(), Some(v.clone())));
                }
                None => {
                    log_op(&mut out.log_removes, &key, None);
                    out.removes
                        .get_or_insert_with(Default::default)
                        .0
                        .push((key.clone(), None));
                }
            }
            self.written.push_back((entry, key));
        }
        out
    }

    /// Every unflushed write, as one write-out `entry` (a failed store rewriting from memory).
    pub(super) fn take_all(&mut self, entry: u64) -> ColdWrites {
        self.pending = self.slots.keys().cloned().collect();
        self.written.clear();
        for slot in self.slots.values_mut() {
            slot.entry = entry;
        }
        self.take(entry)
    }

    /// Write-outs up to `upto` are flushed: their writes are the `messages` tree's now.
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
