//! Cold records ([`keys::is_cold`]: message bodies and attributes) live in segment files of
//! their own (`bodies/`), and not in memory: a backlog is bounded by the disk, not by RAM.
//!
//! A cold write does not reach the segments with its write-out: a write-out makes its cold
//! writes durable in the write-ahead log, and only then may they go to the segments
//! (unsynced), once they are [`COLD_LAG`] old, at most [`FLUSH_PATH_OPS`] keys at a time: from
//! the flusher after it answered a flush's waiters (`Store::after_flush`; unless another move
//! is at work), and from the background writer. A message sent and deleted within the lag —
//! most of a busy queue's — so never reaches the segments: they get each key's latest value
//! only.
//!
//! Until its checkpoint, a cold key's latest write stays in memory: a read must see it, and a
//! failed store must write it again (the segments may lose what they were given unsynced). A
//! **checkpoint** (`Inner::flush_sled`) writes the cold writes of every write-out up to its
//! number that the segments lack, syncs them, records that number in sled's `meta` tree
//! (`COLD_UPTO_KEY`), then flushes sled. The background writer's checkpoints (every 100 ms)
//! go only as far as the cold writes already moved, unless the write-ahead log is filling.
//! At the open, the log's replay starts at the oldest write-out whose cold writes may be
//! missing from the segments (see `wal.rs`), so after a crash every journalled index record
//! still finds its body. A crash can leave a body whose index never reached the journal (a
//! send not acknowledged): it is never read, and stays until its queue's records are removed.
//!
//! A write-out too large for the log is the exception: it reaches the disk in the order that
//! is consistent by itself (every earlier write-out checkpointed, then its cold puts, synced,
//! its journal entry, its cold removals, and a checkpoint), see `Inner::write_pending`.
//!
//! [`keys::is_cold`]: crate::store::keys::is_cold

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::bodies::Bodies;
use crate::store::StoreResult;

/// How old a write-out's cold writes are before they go to the segments (unless a checkpoint
/// comes first): a message deleted within it costs them nothing.
pub(super) const COLD_LAG: Duration = Duration::from_millis(50);
/// The most cold writes one move takes (a few hundred microseconds): the flusher moves the ones
/// old enough after each flush, sharing the work with the background writer much as when
/// every write-out wrote its own, and the background writer moves the rest this much at a
/// time, so that the flusher never waits long for it.
pub(super) const FLUSH_PATH_OPS: usize = 1024;

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
    /// When each write-out with cold writes became durable in the log, oldest first (pruned
    /// as they reach the segments). Only these may go there: a cold write there whose write-out
    /// is not in the log could outlive a crash that its journal entry does not.
    taken: VecDeque<(Instant, u64)>,
}

/// One write-out's cold writes, encoded for the write-ahead log (each a journal entry: format
/// byte, then ops; empty if none): puts, and removals.
#[derive(Default)]
pub(super) struct ColdWrites {
    pub(super) log_puts: Vec<u8>,
    pub(super) log_removes: Vec<u8>,
}

impl ColdWrites {
    pub(super) fn has_writes(&self) -> bool {
        !self.log_puts.is_empty() || !self.log_removes.is_empty()
    }
}

/// Cold puts and removals due at a checkpoint, each key's latest value once, applied to the
/// segments in order (no atomicity needed: the write-ahead log holds every write).
#[derive(Default)]
pub(super) struct ColdOps(Vec<(Vec<u8>, Option<Vec<u8>>)>);

/// Cold writes applied per hold of the segments' lock (a receive reading a body waits for it).
const APPLY_SLICE: usize = 256;

impl ColdOps {
    /// Applies them in order, [`APPLY_SLICE`] per hold of `bodies`' lock: between two slices
    /// a read still finds the later ones in memory (see [`Cold::get`]).
    pub(super) fn apply(self, bodies: &Mutex<Bodies>) -> std::io::Result<()> {
        let mut ops = self.0.into_iter().peekable();
        while ops.peek().is_some() {
            let mut bodies = bodies.lock().expect("store bodies lock");
            for (key, value) in ops.by_ref().take(APPLY_SLICE) {
                match value {
                    Some(value) => bodies.put(&key, &value)?,
                    None => bodies.remove(&key)?,
                };
            }
        }
        Ok(())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes of their keys and values.
    pub(super) fn bytes(&self) -> u64 {
        let len = |(k, v): &(Vec<u8>, Option<Vec<u8>>)| k.len() + v.as_ref().map_or(0, Vec::len);
        self.0.iter().map(len).sum::<usize>() as u64
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

    /// The latest write of `key` not checkpointed yet: `Some(None)` for a removal, `None` when
    /// the segments have the latest value.
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
    /// the write-ahead log; they stay in memory until a checkpoint.
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

    /// What the segments lack of write-outs `after + 1 ..= upto` (those up to `after` are in them):
    /// the latest write of each key they wrote, unless a later write-out wrote it again (that
    /// one's turn will come). Stops after the write-out that reaches `max_ops` ops; returns
    /// the ops and the last write-out they complete.
    pub(super) fn due(&self, after: u64, upto: u64, max_ops: usize) -> (ColdOps, u64) {
        let mut ops = Vec::new();
        let mut done = after;
        let start = self.written.partition_point(|(e, _)| *e <= after);
        for (entry, key) in self.written.range(start..).take_while(|(e, _)| *e <= upto) {
            if *entry != done {
                if ops.len() >= max_ops {
                    return (ColdOps(ops), done);
                }
                done = *entry;
            }
            if let Some(slot) = self.slots.get(key).filter(|s| s.entry == *entry) {
                ops.push((key.clone(), slot.value.clone()));
            }
        }
        (ColdOps(ops), upto.max(after))
    }

    /// Write-out `entry`, which has cold writes, is durable in the write-ahead log since `at`:
    /// from now on its cold writes may go to the segments.
    pub(super) fn logged(&mut self, entry: u64, at: Instant) {
        self.taken.push_back((at, entry));
    }

    /// The oldest write-out with cold writes the segments lack (they have those up to `applied`).
    pub(super) fn first_not_moved(&mut self, applied: u64) -> Option<u64> {
        while self.taken.front().is_some_and(|&(_, e)| e <= applied) {
            self.taken.pop_front();
        }
        self.taken.front().map(|&(_, e)| e)
    }

    /// The newest write-out logged at or before `cutoff` whose cold writes the segments lack
    /// (they have those up to `applied`), if any.
    pub(super) fn lagging(&mut self, cutoff: Instant, applied: u64) -> Option<u64> {
        self.first_not_moved(applied)?;
        // Logged in order, under the writer lock: both the times and the numbers ascend.
        let old_enough = self.taken.partition_point(|&(at, _)| at <= cutoff);
        old_enough.checked_sub(1).map(|last| self.taken[last].1)
    }

    /// Makes every write not checkpointed part of write-out `entry` (a failed store rewriting
    /// from memory; `due(entry - 1, entry, usize::MAX)` then gives them all).
    pub(super) fn take_all(&mut self, entry: u64) {
        self.pending = self.slots.keys().cloned().collect();
        self.written.clear();
        self.taken.clear();
        for slot in self.slots.values_mut() {
            slot.entry = entry;
        }
        self.take(entry);
    }

    /// Write-outs up to `upto` are checkpointed: their writes are the segments' now.
    /// Lets go of at most `max` of them; true once none is left.
    pub(super) fn flushed(&mut self, upto: u64, max: usize) -> bool {
        for _ in 0..max {
            let Some((entry, _)) = self.written.front() else {
                return true;
            };
            if *entry > upto {
                return true;
            }
            let (entry, key) = self.written.pop_front().expect("a front entry");
            if self.slots.get(&key).is_some_and(|s| s.entry == entry) {
                self.slots.remove(&key);
            }
        }
        self.written.front().is_none_or(|(entry, _)| *entry > upto)
    }

    /// Unflushed cold writes held in memory (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }
}

impl super::Inner {
    /// A cold record: its unflushed write if any, else the segments' value.
    pub(super) fn get_cold(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        if let Some(latest) = self.state().cold.get(key) {
            return Ok(latest.map(<[u8]>::to_vec));
        }
        // Not in memory: the write is checkpointed, so the segments have it (or never had).
        let found = self.bodies().find(key);
        found
            .map(|at| at.read().map_err(|e| self.bodies_failed(&e)))
            .transpose()
    }

    /// At most `limit` cold records whose key starts with `prefix`, unflushed writes applied;
    /// without their values (left empty) unless `values`.
    pub(super) fn scan_cold(
        &self,
        prefix: &[u8],
        limit: usize,
        values: bool,
    ) -> StoreResult<BTreeMap<Vec<u8>, Vec<u8>>> {
        let overlay: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .state()
            .cold
            .with_prefix(prefix)
            .map(|(k, v)| (k.clone(), v.map(<[u8]>::to_vec)))
            .collect();
        let removed = overlay.values().filter(|v| v.is_none()).count();
        let mut found = BTreeMap::new();
        let keys = self
            .bodies()
            .keys_with_prefix(prefix, limit.saturating_add(removed));
        for k in keys {
            if !values {
                found.insert(k, Vec::new());
                continue;
            }
            // A record removed meanwhile is left out.
            let at = self.bodies().find(&k);
            if let Some(at) = at {
                let v = at.read().map_err(|e| self.bodies_failed(&e))?;
                found.insert(k, v);
            }
        }
        for (k, v) in overlay {
            match v {
                Some(v) => found.insert(k, if values { v } else { Vec::new() }),
                None => found.remove(&k),
            };
        }
        while found.len() > limit {
            found.pop_last();
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(cold: &Cold, after: u64, upto: u64, max: usize) -> (Vec<(String, Option<u8>)>, u64) {
        let (ColdOps(ops), done) = cold.due(after, upto, max);
        let mut ops: Vec<_> = ops
            .into_iter()
            .map(|(k, v)| (String::from_utf8(k).unwrap(), v.map(|v| v[0])))
            .collect();
        ops.sort();
        (ops, done)
    }

    /// Write-outs 1 (puts a, b), 2 (removes a, puts c) and 3 (puts d), taken 0, 10 and 60 ms
    /// after `t0`.
    fn three_write_outs(t0: Instant) -> Cold {
        let mut cold = Cold::default();
        let ms = Duration::from_millis;
        for (entry, at, writes) in [
            (1, ms(0), vec![("a", Some(1)), ("b", Some(1))]),
            (2, ms(10), vec![("a", None), ("c", Some(2))]),
            (3, ms(60), vec![("d", Some(3))]),
        ] {
            for (key, value) in writes {
                cold.apply(key.into(), value.map(|v: u8| vec![v]), entry);
            }
            cold.take(entry);
            cold.logged(entry, t0 + at);
        }
        cold
    }

    #[test]
    fn due_gives_each_keys_latest_write_once_and_stops_between_write_outs() {
        let cold = three_write_outs(super::super::now());
        let all = vec![
            ("a".to_string(), None),
            ("b".to_string(), Some(1)),
            ("c".to_string(), Some(2)),
            ("d".to_string(), Some(3)),
        ];
        assert_eq!(ops(&cold, 0, 3, usize::MAX), (all, 3));
        assert_eq!(
            ops(&cold, 0, 3, 1),
            (vec![("b".to_string(), Some(1))], 1),
            "a's put is superseded by write-out 2's removal; the limit ends write-out 1"
        );
        assert_eq!(
            ops(&cold, 1, 2, usize::MAX),
            (vec![("a".to_string(), None), ("c".to_string(), Some(2))], 2)
        );
        assert_eq!(ops(&cold, 3, 3, usize::MAX), (vec![], 3), "nothing left");
    }

    #[test]
    fn lagging_is_the_newest_write_out_old_enough_that_the_segments_lack() {
        let t0 = super::super::now();
        let mut cold = three_write_outs(t0);
        let ms = Duration::from_millis;
        assert_eq!(cold.lagging(t0 + ms(5), 0), Some(1));
        assert_eq!(cold.lagging(t0 + ms(59), 0), Some(2));
        assert_eq!(
            cold.lagging(t0 + ms(59), 2),
            None,
            "the segments have 1 and 2"
        );
        assert_eq!(cold.lagging(t0 + ms(60), 2), Some(3));
        assert_eq!(cold.lagging(t0 + ms(60), 3), None);
        assert_eq!(cold.first_not_moved(3), None);
    }

    #[test]
    fn the_first_write_out_not_moved_bounds_a_checkpoint() {
        let mut cold = three_write_outs(super::super::now());
        assert_eq!(cold.first_not_moved(0), Some(1));
        assert_eq!(cold.first_not_moved(1), Some(2));
        assert_eq!(cold.first_not_moved(3), None);
    }

    /// A checkpoint lets go of the copies of flushed writes a few at a time, oldest first,
    /// keeping those of write-outs it does not cover.
    #[test]
    fn flushed_writes_leave_memory_a_slice_at_a_time() {
        let mut cold = three_write_outs(super::super::now());
        assert_eq!(cold.len(), 4, "a (removal), b, c, d");
        assert!(!cold.flushed(2, 2), "write-out 2's writes are left");
        assert_eq!(cold.len(), 3, "b went; a's first write is not its latest");
        assert!(cold.flushed(2, 2));
        assert_eq!(cold.len(), 1, "only d, of write-out 3, stays");
        assert!(cold.get(b"d").is_some() && cold.get(b"a").is_none());
        assert!(cold.flushed(3, usize::MAX));
        assert_eq!(cold.len(), 0);
    }
}
