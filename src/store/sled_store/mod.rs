//! The default [`Store`]: every record in memory, made durable by a journal in sled — except
//! cold records (message bodies, [`keys::is_cold`]), which are on disk only, in segment files
//! of their own (`bodies/`), so that a backlog is bounded by the disk and recovery reads
//! only the journal (see `cold.rs`: they reach the segments ~50 ms after their write-out, off
//! the reply's path).
//!
//! sled 0.34 costs about 10 µs per key written (a leaf splits every few inserts), so writing
//! one key per message capped throughput far below what a queue needs. Here each batch of
//! writes that reaches disk together — everything applied since the last write-out, i.e. all
//! the requests that share one group-commit flush — is **one** sled value in the `journal`
//! tree, keyed by a big-endian sequence number. The live records are kept in memory (a
//! `BTreeMap`), which answers every read; the journal is only read when the store opens —
//! except for lean records ([`keys::is_lean`], message index records), of which memory keeps
//! only the key once the engine has recovered, reading the value back from its journal entry
//! on the rare read (see `lean.rs`).
//!
//! Space is reclaimed from the head of the journal only, so replaying the remaining entries
//! in order always rebuilds the same map:
//! - an entry none of whose puts is still the latest value of its key is removed, oldest
//!   first, by the background thread beside the writers (in a queue most messages are
//!   deleted soon after they are sent, so this is the common case; a flush never waits for
//!   removals, which cost sled tens of microseconds each);
//! - when the journal outgrows twice the live data (plus a slack), the oldest entries'
//!   still-live records are copied into a new entry, and the old entries are removed in the
//!   same atomic sled batch (the old entries are read without holding up writers).
//!
//! Entries are inserted in sequence order by one writer at a time, and a head entry is removed
//! only after the entry that made it dead has been inserted; since sled recovers a prefix of
//! its operations after a crash, the journal never has a gap that replay could misread.
//!
//! A store opened over a data directory written by the earlier one-key-per-record layout (the
//! default sled tree) is migrated on open: its records become one journal entry.
//!
//! **Durability** comes from a write-ahead log of our own (`wal.rs`), not from flushing sled:
//! each write-out is written to the log (one `O_DIRECT` write of its new blocks) before its
//! journal entry goes to sled unflushed; its cold writes follow ~50 ms later, to the segments
//! (`cold.rs`). sled and the segments are synced in the background every 100 ms (a
//! checkpoint), after which the log's records up to it are obsolete; on open, the records they
//! may lack (see `wal.rs`) are applied to them again before the journal is read.
//!
//! **A full disk.** sled 0.34 does not survive one: a log write that fails with ENOSPC is never
//! retried, and every later flush waits for it forever (even once space is back), as does
//! closing the database (observed; see the full-disk test). So sled must never meet a full
//! disk: before moving writes to the write-ahead log and sled the store checks the free space
//! of the data directory's disk, and below [`MIN_FREE_SPACE`] (plus what it is about to write)
//! it writes nothing, and every flush fails, saying the disk is full and where. The write-ahead
//! log's two files are allocated in full when created, so its writes never need space. Reads and writes to memory go on;
//! the pending writes stay pending, and the first flush after space was freed writes them: the
//! store recovers by itself. (Only a disk filled by someone else faster than that margin
//! between the check and sled's write can still wedge sled; then flushes hang, and cauda must
//! be restarted once space is freed: nothing acknowledged is lost.)
//!
//! **Other failures.** After any other failed sled call (an IO error, a failed fsync) sled
//! refuses every later write until it is reopened; a failed write or sync of the write-ahead
//! log is treated the same way. So the store is then *failed*: reads keep
//! being answered from memory, writes keep being applied there, but no flush reports success.
//! Every flush and background round then tries (at most every `RECOVERY_INTERVAL`) to
//! recover in place: sled is reopened, and since it may have lost any write not yet flushed,
//! the journal is rewritten from memory, the whole live map as one entry replacing every old
//! one in a single atomic batch, and flushed, and the write-ahead log is started afresh. Once
//! that succeeds the store works again.
//!
//! **Opening.** The `meta` tree holds the data directory's format version ([`STORE_FORMAT`]); a
//! new directory gets the current one, and a directory with records but no version is version 1.
//! A version 1 directory (bodies in the journal) is migrated on open (`migrate_cold`). A newer
//! version, or a journal entry that does not decode, refuses the open with a message saying
//! what the operator can do: the store never serves part of a journal.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_bytes::Bytes;

use super::{keys, with_prefix, Op, Store, StoreError, StoreResult, Visit, WriteBatch};
use checkpoint::Checkpoints;
use cold::{Cold, ColdWrites};
use lean::Lean;

/// Format byte of a journal entry; the entry is this byte, then postcard-encoded ops.
pub(crate) const ENTRY_V1: u8 = 1;
/// The data directory's format version, kept in the `meta` tree under `FORMAT_KEY`: raised
/// when a cauda writes what an older one cannot read. Directories without it are version 1.
/// Version 2 keeps cold records (message bodies) in the `messages` tree instead of the
/// journal; a version 1 directory is migrated on open. Version 3 adds the write-ahead log
/// (`wal/`), which may hold acknowledged writes sled does not have yet: a cauda that reads
/// at most version 2 would ignore it, so it must refuse the directory. A version 2 directory
/// becomes version 3 on open (nothing to convert). Version 4 writes cold records to sled
/// after their write-out's journal entry, so the log's replay must start at the write-out
/// after `COLD_UPTO_KEY`'s, which a cauda that reads at most version 3 would not: it must
/// refuse the directory. A version 2 or 3 directory becomes version 4 on open (nothing to
/// convert: without the key, replay starts where version 3's does). Version 5 keeps cold
/// records in segment files of their own (`bodies/` in the data directory) instead of the
/// `messages` tree, which a cauda that reads at most version 4 would not see; the open moves a
/// version 2–4 directory's bodies there.
pub const STORE_FORMAT: u32 = 5;
const FORMAT_KEY: &[u8] = b"format";
/// In the `meta` tree: the last write-out whose cold writes are all in the segments, synced
/// (big-endian u64), written by each checkpoint before it flushes sled (see `cold.rs`).
const COLD_UPTO_KEY: &[u8] = b"cold_upto";
/// The shortest time between two attempts to recover a failed store.
const RECOVERY_INTERVAL: Duration = Duration::from_millis(500);
/// Free space the data directory's disk keeps beyond what a write-out adds: below it, nothing
/// is written to sled (which never recovers from a full disk, see the module doc).
pub const MIN_FREE_SPACE: u64 = 16 * 1024 * 1024;
/// How often the background writer moves pending writes to sled (relaxed durability) and
/// reclaims space.
const WRITE_INTERVAL: Duration = Duration::from_millis(10);
/// Every this many background rounds (100 ms) sled is flushed too (a checkpoint: see [`wal`]),
/// so that the write-ahead log's records become obsolete and, with relaxed durability (nobody
/// waits for flushes), writes still reach the disk soon.
const CHECKPOINT_EVERY_ROUNDS: u32 = 10;
/// Journal bytes allowed beyond twice the live bytes before live records are copied forward.
const COMPACTION_SLACK: u64 = 32 * 1024 * 1024;
/// How many bytes of old entries one compaction step rewrites at most (bounds the pause).
const COMPACTION_STEP: u64 = 512 * 1024;
/// A compaction step runs every this many background rounds (up to ~10 MiB/s reclaimed), or
/// every round (~50 MiB/s) when the journal is far over its bound: each step holds the store
/// locks for a few milliseconds, which requests feel.
const COMPACT_EVERY_ROUNDS: u32 = 5;
/// Dead entries removed from sled per background round (removal runs beside the writers).
const BACKGROUND_REMOVALS: usize = 128;
/// The largest write-out buffer kept for reuse.
const MAX_SPARE: usize = 4 * 1024 * 1024;
/// Bookkeeping bytes counted per live record on top of its key and value.
const RECORD_OVERHEAD: u64 = 16;

/// The store's own clock, for pacing its sled writes (not an SQS time).
#[allow(
    clippy::disallowed_methods,
    reason = "pacing the store's sled writes, not an SQS time"
)]
fn now() -> Instant {
    Instant::now()
}

fn err(e: sled::Error) -> StoreError {
    StoreError(e.to_string())
}

fn entry_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// One live record: its value and the journal entry holding its latest put.
struct Slot {
    value: Vec<u8>,
    entry: u64,
}

#[derive(Default)]
struct EntryStat {
    /// Encoded size in sled.
    bytes: u64,
    /// Puts in this entry that are still the latest value of their key.
    live: u64,
}

struct State {
    map: BTreeMap<Vec<u8>, Slot>,
    /// Ops applied to `map` but not yet in sled, encoded after the format byte; they become
    /// entry `pending_seq`.
    pending: Vec<u8>,
    /// The buffer of the last entry written, kept to be the next `pending` (its pages are warm).
    spare: Vec<u8>,
    pending_seq: u64,
    /// Dead entries still in sled whose killing entries are in sled too, oldest first, to be
    /// removed in this order.
    dead: VecDeque<u64>,
    /// Every entry in sled, oldest first, and the pending one once it has a live put.
    entries: BTreeMap<u64, EntryStat>,
    journal_bytes: u64,
    live_bytes: u64,
    /// Set when a sled call failed: sled may have lost writes it had taken, so no flush may
    /// report success until [`Inner::recover`] has rewritten the journal from memory.
    failed: Option<String>,
    /// Cold records' writes not flushed yet (the records themselves are in sled only).
    cold: Cold,
    /// Lean records: their keys and entries (their values mostly in the journal only).
    lean: Lean,
}

/// What one write-out moves to the log and sled: its journal entry (if it has hot ops), its
/// cold writes (to the log only: they go to the segments later, see [`cold`]), the head entries it
/// made dead, and its write-out number.
struct WriteOut {
    /// Its write-out number, if it writes anything.
    number: Option<u64>,
    entry: Option<(u64, Vec<u8>)>,
    cold: ColdWrites,
    dead: Vec<u64>,
}

impl State {
    fn record_bytes(key: &[u8], value: &[u8]) -> u64 {
        (key.len() + value.len()) as u64 + RECORD_OVERHEAD
    }

    /// Forgets that `entry` holds the latest put of a key.
    fn unlink(&mut self, entry: u64, bytes: u64) {
        if let Some(stat) = self.entries.get_mut(&entry) {
            stat.live = stat.live.saturating_sub(1);
        }
        self.live_bytes = self.live_bytes.saturating_sub(bytes);
    }

    /// Whether `key` has a live record.
    fn contains(&self, key: &[u8]) -> bool {
        if keys::is_lean(key) {
            self.lean.contains(key)
        } else {
            self.map.contains_key(key)
        }
    }

    /// Applies one op of a lean record ([`keys::is_lean`]), as the latest write of entry
    /// `entry`; borrowed, since the replay reads millions.
    fn apply_lean(&mut self, key: &[u8], value: Option<&[u8]>, entry: u64) {
        let old = match value {
            Some(value) => {
                self.entries.entry(entry).or_default().live += 1;
                self.live_bytes += Self::record_bytes(key, value);
                self.lean.put(key, value, entry)
            }
            None => self.lean.remove(key),
        };
        if let Some((old_entry, len)) = old {
            self.unlink(old_entry, key.len() as u64 + len + RECORD_OVERHEAD);
        }
    }

    /// Applies one op to the map, as the latest write of entry `entry`.
    fn apply_op(&mut self, key: Vec<u8>, value: Option<Vec<u8>>, entry: u64) {
        if keys::is_lean(&key) {
            self.apply_lean(&key, value.as_deref(), entry);
            return;
        }
        match value {
            Some(value) => {
                let bytes = Self::record_bytes(&key, &value);
                let key_len = key.len();
                let old = self.map.insert(key, Slot { value, entry });
                if let Some(old) = old {
                    let old_bytes = (key_len + old.value.len()) as u64 + RECORD_OVERHEAD;
                    self.unlink(old.entry, old_bytes);
                }
                self.entries.entry(entry).or_default().live += 1;
                self.live_bytes += bytes;
            }
            None => {
                if let Some(old) = self.map.remove(&key) {
                    let old_bytes = Self::record_bytes(&key, &old.value);
                    self.unlink(old.entry, old_bytes);
                }
            }
        }
    }

    /// Takes the pending ops as the next entry, and the dead entries at the head of the
    /// journal (they may be removed from sled once that entry is in it).
    fn take_pending(&mut self) -> WriteOut {
        let number =
            (self.pending.len() > 1 || self.cold.has_pending()).then_some(self.pending_seq);
        let mut cold = ColdWrites::default();
        if self.cold.has_pending() {
            cold = self.cold.take(self.pending_seq);
            if self.pending.len() <= 1 {
                // Cold writes alone still take a write-out number: writes after this one
                // belong to the next (see `Cold::flushed`).
                self.pending_seq += 1;
            }
        }
        let written = if self.pending.len() <= 1 {
            None
        } else {
            let seq = self.pending_seq;
            self.pending_seq += 1;
            let mut next = std::mem::take(&mut self.spare);
            next.clear();
            next.push(ENTRY_V1);
            let bytes = std::mem::replace(&mut self.pending, next);
            let stat = self.entries.entry(seq).or_default();
            stat.bytes = bytes.len() as u64;
            self.journal_bytes += stat.bytes;
            Some((seq, bytes))
        };
        let mut dead = Vec::new();
        while let Some((&seq, stat)) = self.entries.first_key_value() {
            if stat.live > 0 || seq >= self.pending_seq {
                break;
            }
            self.journal_bytes = self.journal_bytes.saturating_sub(stat.bytes);
            self.entries.remove(&seq);
            dead.push(seq);
        }
        WriteOut {
            number,
            entry: written,
            cold,
            dead,
        }
    }

    fn keep_spare(&mut self, buffer: Vec<u8>) {
        if buffer.capacity() <= MAX_SPARE {
            self.spare = buffer;
        }
    }
}

pub(crate) fn encode_op(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
    let op = (Bytes::new(key), value.map(Bytes::new));
    postcard::to_io(&op, &mut *out).expect("a (bytes, bytes) pair encodes into a Vec");
}

/// The ops of one journal entry, in order.
pub(crate) fn decode_entry(bytes: &[u8]) -> StoreResult<Vec<Op>> {
    let Some((&ENTRY_V1, mut rest)) = bytes.split_first() else {
        return Err(StoreError("unknown journal entry format".into()));
    };
    let mut ops = Vec::new();
    while !rest.is_empty() {
        type OpRef<'a> = (&'a [u8], Option<&'a [u8]>);
        let ((key, value), tail) = postcard::take_from_bytes::<OpRef>(rest)
            .map_err(|e| StoreError(format!("corrupt journal entry: {e}")))?;
        ops.push((key.to_vec(), value.map(<[u8]>::to_vec)));
        rest = tail;
    }
    Ok(ops)
}

/// The sled database and its trees; replaced when a failed store reopens sled.
#[derive(Clone)]
struct Sled {
    db: sled::Db,
    journal: sled::Tree,
    /// Cold records of a format 2–4 directory, one key each, moved to the segments on open.
    messages: sled::Tree,
    /// The format version and the checkpoint's `COLD_UPTO_KEY`.
    meta: sled::Tree,
}

struct Inner {
    dir: PathBuf,
    /// `None` while a failed store reopens sled.
    sled: RwLock<Option<Sled>>,
    /// When the last recovery was tried (see [`RECOVERY_INTERVAL`]).
    last_recovery: Mutex<Option<std::time::Instant>>,
    state: Mutex<State>,
    /// Serialises writers, so entries reach the log and sled in sequence order.
    writer: Mutex<()>,
    /// The write-ahead log (see [`wal`]); taken after `writer` when both are held.
    wal: Mutex<wal::Wal>,
    /// Serialises the moves of cold writes to the segments (see [`cold`]), so they reach them in
    /// write-out order. Taken after `writer` (and `reclaim`) when they are held, never before.
    checkpoint: Mutex<Checkpoints>,
    /// Serialises the removal of dead entries (oldest first) with compaction, which must not
    /// remove an entry whose tombstones still hide an older dead entry's puts.
    reclaim: Mutex<()>,
    /// The cold records checkpointed (see [`bodies`]); taken last, after `checkpoint` when
    /// both are held, and never with `state`.
    bodies: Mutex<bodies::Bodies>,
    /// Serialises the syncs of the segments (a sync covers the writes before it only once
    /// every earlier sync is done); taken before `bodies`.
    bodies_sync: Mutex<()>,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("store state lock")
    }

    /// The sled handles, unless a recovery is reopening sled.
    fn sled(&self) -> StoreResult<Sled> {
        self.sled
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| StoreError(format!("the store in {} is reopening", self.dir.display())))
    }

    /// Moves the pending ops to the write-ahead log, durably, and then into sled as one entry
    /// (unflushed; but sled is flushed when the write-out is too large for the log). A failed
    /// store recovers first (or fails again); on a full disk nothing is written (the ops stay
    /// pending).
    /// Returns the number of the last write-out now in sled: a flush that starts after this
    /// makes every write-out up to it durable.
    fn write_pending(&self) -> StoreResult<u64> {
        if self.state().failed.is_some() {
            self.recover()?;
            return Ok(self.state().pending_seq - 1);
        }
        let pending = {
            let state = self.state();
            state.pending.len() as u64 + state.cold.pending_bytes()
        };
        self.has_room(pending.saturating_mul(2))?;
        let sled = self.sled()?;
        let writer = self.writer.lock().expect("store writer lock");
        let out = self.state().take_pending();
        let number = out.number;
        let logged = self.log_write_out(&sled, &out)?;
        let unlogged = number.filter(|_| !logged);
        if let Some(number) = unlogged {
            self.before_unlogged(&sled, number)?;
        }
        self.insert_entry(&sled, &writer, out)?;
        if let Some(number) = unlogged {
            self.flush_sled(&sled, number)?;
        }
        Ok(self.state().pending_seq - 1)
    }

    /// Inserts an entry taken by [`State::take_pending`]; then the entries it made dead may go.
    /// `_writer` proves the caller holds the writer lock.
    fn insert_entry(
        &self,
        sled: &Sled,
        _writer: &MutexGuard<'_, ()>,
        out: WriteOut,
    ) -> StoreResult<()> {
        if let Some((seq, bytes)) = out.entry {
            // On failure the entries it killed are left in sled (the recovery rewrites the
            // whole journal anyway); removing them without their killer on disk could
            // resurrect puts.
            if let Err(e) = sled.journal.insert(entry_key(seq), bytes.as_slice()) {
                return Err(self.failed(&e));
            }
            self.state().keep_spare(bytes);
        }
        self.state().dead.extend(out.dead);
        Ok(())
    }

    /// One round of the background writer.
    fn background_round(&self, round: u32) -> StoreResult<()> {
        let upto = self.write_pending()?;
        // In slices, so that a flush waits for none of them; only those old enough when the
        // round began, so that the round ends (and checkpoints come) under any load.
        if let Some(cutoff) = now().checked_sub(cold::COLD_LAG) {
            while self.apply_lagging_cold(cutoff, cold::FLUSH_PATH_OPS)? {}
        }
        self.remove_dead(BACKGROUND_REMOVALS)?;
        let urgent = self.state().needs_urgent_compaction();
        if urgent || round % COMPACT_EVERY_ROUNDS == 0 {
            self.compact()?;
        }
        self.compact_bodies()?;
        if round % CHECKPOINT_EVERY_ROUNDS == 0 || self.wal_filling() {
            self.has_room(0)?;
            self.flush_sled(&self.sled()?, self.checkpoint_bound(upto))?;
        }
        Ok(())
    }
}

pub struct SledStore {
    inner: Arc<Inner>,
    stop: Option<mpsc::Sender<()>>,
    background: Option<JoinHandle<()>>,
}

/// Derives, from a cold record of a format 1 directory (key, value), the record that indexes
/// it (key, value), if any: the migration to format 2 writes it, since recovery no longer reads
/// cold records. The engine knows what its records mean; the store does not.
pub type IndexOf = fn(&[u8], &[u8]) -> StoreResult<Option<Record>>;

/// A record: its key and value.
pub type Record = (Vec<u8>, Vec<u8>);

impl Drop for SledStore {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(handle) = self.background.take() {
            if handle.join().is_err() {
                tracing::error!("the store's background thread panicked");
            }
        }
        // Everything in sled, flushed: the log is started afresh, leaving nothing to replay.
        let closed = self.flush().and_then(|()| self.inner.checkpoint());
        match closed.and_then(|()| self.inner.reset_wal()) {
            Ok(()) => self.inner.snapshot_on_close(),
            Err(e) => tracing::error!(error = %e, "store flush on close failed"),
        }
    }
}

impl Store for SledStore {
    fn journal_bytes(&self) -> Option<u64> {
        Some(self.inner.state().journal_bytes)
    }

    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        if keys::is_cold(key) {
            return self.inner.get_cold(key);
        }
        if keys::is_lean(key) {
            return self.inner.get_lean(key);
        }
        Ok(self.inner.state().map.get(key).map(|s| s.value.clone()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut found = self.scan_not_lean(prefix)?;
        if keys::may_be_lean(prefix) {
            let lean = self.inner.scan_lean(prefix)?;
            if found.is_empty() {
                return Ok(lean);
            }
            found.extend(lean);
            found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(found)
    }

    fn for_each_with_prefix(&self, prefix: &[u8], f: &mut Visit<'_>) -> StoreResult<()> {
        // Lean keys in a chunked walk, when the map holds none under the prefix.
        if prefix.first() == Some(&keys::MESSAGE_INDEX)
            && with_prefix(&self.inner.state().map, prefix)
                .next()
                .is_none()
            && self.inner.for_each_lean(prefix, f)?
        {
            return Ok(());
        }
        for (k, v) in self.scan_prefix(prefix)? {
            f(&k, &v)?;
        }
        Ok(())
    }

    fn count_with_prefix(&self, prefix: &[u8]) -> StoreResult<usize> {
        if keys::may_be_cold(prefix) {
            return Ok(self.keys_with_prefix(prefix, usize::MAX)?.len());
        }
        let state = self.inner.state();
        Ok(with_prefix(&state.map, prefix).count() + state.lean.count_with_prefix(prefix))
    }

    fn keys_with_prefix(&self, prefix: &[u8], limit: usize) -> StoreResult<Vec<Vec<u8>>> {
        let mut found: Vec<Vec<u8>> = Vec::new();
        if keys::may_be_cold(prefix) {
            found = self
                .inner
                .scan_cold(prefix, limit, false)?
                .into_keys()
                .collect();
        }
        let state = self.inner.state();
        found.extend(
            with_prefix(&state.map, prefix)
                .take(limit)
                .map(|(k, _)| k.clone()),
        );
        if keys::may_be_lean(prefix) {
            found.extend(
                state
                    .lean
                    .with_prefix(prefix)
                    .take(limit)
                    .map(|(k, _)| k.to_vec()),
            );
        }
        found.sort_unstable();
        found.truncate(limit);
        Ok(found)
    }

    fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
        let mut guard = self.inner.state();
        let state = &mut *guard;
        let seq = state.pending_seq;
        for (key, value) in batch.ops {
            if keys::is_cold(&key) {
                state.cold.apply(key, value, seq);
                continue;
            }
            if value.is_none() && !state.contains(&key) {
                continue;
            }
            encode_op(&mut state.pending, &key, value.as_deref());
            state.apply_op(key, value, seq);
        }
        Ok(())
    }

    /// Durable through the write-ahead log (`write_pending` writes it, and checks the free
    /// space): sled itself is flushed in the background.
    fn flush(&self) -> StoreResult<()> {
        self.inner.write_pending().map(drop)
    }

    /// A slice of the cold writes old enough goes to the segments (see `cold.rs`), off the reply's
    /// path but on the flusher's, which so shares the work with the background writer.
    fn after_flush(&self) -> StoreResult<()> {
        if let Some(cutoff) = now().checked_sub(cold::COLD_LAG) {
            self.inner
                .apply_lagging_cold(cutoff, cold::FLUSH_PATH_OPS)?;
        }
        Ok(())
    }

    fn is_persistent(&self) -> bool {
        true
    }

    fn recovered(&self) {
        self.inner.state().lean.release();
    }
}

impl SledStore {
    /// [`Store::scan_prefix`] of the records that are not lean.
    fn scan_not_lean(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        if !keys::may_be_cold(prefix) {
            let state = self.inner.state();
            return Ok(with_prefix(&state.map, prefix)
                .map(|(k, s)| (k.clone(), s.value.clone()))
                .collect());
        }
        let mut found = self.inner.scan_cold(prefix, usize::MAX, true)?;
        let state = self.inner.state();
        found.extend(with_prefix(&state.map, prefix).map(|(k, s)| (k.clone(), s.value.clone())));
        Ok(found.into_iter().collect())
    }
}

mod bodies;
mod checkpoint;
mod cold;
mod failure;
mod lean;
mod open;
mod reclaim;
mod wal;

use failure::{damaged, describe};
use open::open_sled;
#[cfg(test)]
mod tests;
