//! The default [`Store`]: every record in memory, made durable by a journal in sled.
//!
//! sled 0.34 costs about 10 µs per key written (a leaf splits every few inserts), so writing
//! one key per message capped throughput far below what a queue needs. Here each batch of
//! writes that reaches disk together — everything applied since the last write-out, i.e. all
//! the requests that share one group-commit flush — is **one** sled value in the `journal`
//! tree, keyed by a big-endian sequence number. The live records are kept in memory (a
//! `BTreeMap`), which answers every read; the journal is only read when the store opens.
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
//! **A full disk.** sled 0.34 does not survive one: a log write that fails with ENOSPC is never
//! retried, and every later flush waits for it forever (even once space is back), as does
//! closing the database (observed; see the full-disk test). So sled must never meet a full
//! disk: before moving writes to sled the store checks the free space of the data directory's
//! disk, and below [`MIN_FREE_SPACE`] (plus what it is about to write) it writes nothing, and
//! every flush fails, saying the disk is full and where. Reads and writes to memory go on;
//! the pending writes stay pending, and the first flush after space was freed writes them: the
//! store recovers by itself. (Only a disk filled by someone else faster than that margin
//! between the check and sled's write can still wedge sled; then flushes hang, and cauda must
//! be restarted once space is freed: nothing acknowledged is lost.)
//!
//! **Other failures.** After any other failed sled call (an IO error, a failed fsync) sled
//! refuses every later write until it is reopened. So the store is then *failed*: reads keep
//! being answered from memory, writes keep being applied there, but no flush reports success.
//! Every flush and background round then tries (at most every `RECOVERY_INTERVAL`) to
//! recover in place: sled is reopened, and since it may have lost any write not yet flushed,
//! the journal is rewritten from memory, the whole live map as one entry replacing every old
//! one in a single atomic batch, and flushed. Once that succeeds the store works again.
//!
//! **Opening.** The `meta` tree holds the data directory's format version ([`STORE_FORMAT`]); a
//! directory without one is of the current format and gets it. A newer version, or a journal
//! entry that does not decode, refuses the open with a message saying what the operator can
//! do: the store never serves part of a journal.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_bytes::Bytes;

use super::{with_prefix, Op, Store, StoreError, StoreResult, WriteBatch};

/// Format byte of a journal entry; the entry is this byte, then postcard-encoded ops.
pub(crate) const ENTRY_V1: u8 = 1;
/// The data directory's format version, kept in the `meta` tree under `FORMAT_KEY`: raised
/// when a cauda writes what an older one cannot read. Directories without it are version 1.
pub const STORE_FORMAT: u32 = 1;
const FORMAT_KEY: &[u8] = b"format";
/// The shortest time between two attempts to recover a failed store.
const RECOVERY_INTERVAL: Duration = Duration::from_millis(500);
/// Free space the data directory's disk keeps beyond what a write-out adds: below it, nothing
/// is written to sled (which never recovers from a full disk, see the module doc).
pub const MIN_FREE_SPACE: u64 = 16 * 1024 * 1024;
/// How often the background writer moves pending writes to sled (relaxed durability) and
/// reclaims space.
const WRITE_INTERVAL: Duration = Duration::from_millis(10);
/// Every this many background rounds (500 ms) sled is flushed too, so that with relaxed
/// durability (nobody waits for flushes) writes still reach the disk soon.
const FLUSH_EVERY_ROUNDS: u32 = 50;
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

fn err(e: sled::Error) -> StoreError {
    StoreError(e.to_string())
}

/// Whether `e` says the disk (or the user's quota on it) is full.
fn is_disk_full(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => {
            matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) || io.raw_os_error() == Some(28)
                || io.to_string().contains("No space left on device")
        }
        _ => false,
    }
}

/// A failed sled call, as the log and the operator should read it.
fn describe(dir: &Path, e: &sled::Error) -> StoreError {
    let dir = dir.display();
    if is_disk_full(e) {
        StoreError(format!(
            "the disk is full: no space left for the store in {dir} ({e}); writes fail with \
             InternalFailure until space is freed there, then the store recovers by itself"
        ))
    } else {
        StoreError(format!("the store in {dir} failed: {e}"))
    }
}

/// The message of an open refused because the journal is damaged.
fn damaged(dir: &Path, what: &str) -> StoreError {
    let dir = dir.display();
    StoreError(format!(
        "the store in {dir} is damaged: {what}. cauda does not start on part of a journal: \
         restore a backup of {dir}, or move it away (e.g. `mv {dir} {dir}.damaged`) to start \
         with an empty store"
    ))
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

    /// Applies one op to the map, as the latest write of entry `entry`.
    fn apply_op(&mut self, key: Vec<u8>, value: Option<Vec<u8>>, entry: u64) {
        match value {
            Some(value) => {
                let bytes = Self::record_bytes(&key, &value);
                let old = self.map.insert(key.clone(), Slot { value, entry });
                if let Some(old) = old {
                    let old_bytes = Self::record_bytes(&key, &old.value);
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
    fn take_pending(&mut self) -> (Option<(u64, Vec<u8>)>, Vec<u64>) {
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
        (written, dead)
    }

    fn keep_spare(&mut self, buffer: Vec<u8>) {
        if buffer.capacity() <= MAX_SPARE {
            self.spare = buffer;
        }
    }

    /// The oldest entries to compact in one step (about [`COMPACTION_STEP`] bytes); none when
    /// no compaction is due.
    fn compaction_step(&self) -> Vec<u64> {
        // Dead entries older than the ones copied here must go first (their puts may be
        // hidden only by tombstones in the entries this step removes).
        if !self.wants_compaction() || !self.dead.is_empty() {
            return Vec::new();
        }
        let mut old = Vec::new();
        let mut step = 0;
        for (&seq, stat) in &self.entries {
            if seq >= self.pending_seq || (step >= COMPACTION_STEP && !old.is_empty()) {
                break;
            }
            step += stat.bytes;
            old.push(seq);
        }
        old
    }

    /// Encodes the records whose latest put is in one of the `decoded` entries into a new
    /// entry `copy_seq`, which they now belong to; returns it and its number of records.
    fn copy_live(&mut self, decoded: Vec<(u64, Vec<Op>)>, copy_seq: u64) -> (Vec<u8>, u64) {
        let mut copy = vec![ENTRY_V1];
        let mut live = 0u64;
        for (seq, ops) in decoded {
            for (key, value) in ops {
                if value.is_none() {
                    continue;
                }
                if let Some(slot) = self.map.get_mut(&key) {
                    if slot.entry == seq {
                        encode_op(&mut copy, &key, Some(&slot.value));
                        slot.entry = copy_seq;
                        live += 1;
                    }
                }
            }
        }
        (copy, live)
    }

    fn wants_compaction(&self) -> bool {
        self.journal_bytes > 2 * self.live_bytes + COMPACTION_SLACK
    }

    /// Far over the bound: compact every round rather than every few.
    fn needs_urgent_compaction(&self) -> bool {
        self.journal_bytes > 4 * self.live_bytes + 4 * COMPACTION_SLACK
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

/// The sled database and its journal tree; replaced when a failed store reopens sled.
#[derive(Clone)]
struct Sled {
    db: sled::Db,
    journal: sled::Tree,
}

struct Inner {
    dir: PathBuf,
    /// `None` while a failed store reopens sled.
    sled: RwLock<Option<Sled>>,
    /// When the last recovery was tried (see [`RECOVERY_INTERVAL`]).
    last_recovery: Mutex<Option<std::time::Instant>>,
    state: Mutex<State>,
    /// Serialises writers, so entries reach sled in sequence order.
    writer: Mutex<()>,
    /// Serialises the removal of dead entries (oldest first) with compaction, which must not
    /// remove an entry whose tombstones still hide an older dead entry's puts.
    reclaim: Mutex<()>,
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

    /// Marks the store failed by `e` (see [`State::failed`]) and says what happened.
    fn failed(&self, e: &sled::Error) -> StoreError {
        let e = describe(&self.dir, e);
        self.state().failed.get_or_insert_with(|| e.0.clone());
        e
    }

    /// Whether the data directory's disk has room for `bytes` more and [`MIN_FREE_SPACE`]; a
    /// full disk is an error saying so.
    /// A disk whose free space cannot be read is assumed to have room.
    fn has_room(&self, bytes: u64) -> StoreResult<()> {
        let available = match fs2::available_space(&self.dir) {
            Ok(available) => available,
            Err(e) => {
                tracing::debug!(error = %e, "the free space of the data directory is unknown");
                return Ok(());
            }
        };
        if available < bytes.saturating_add(MIN_FREE_SPACE) {
            return Err(StoreError(format!(
                "the disk is full: {available} bytes free where the store in {} keeps at \
                 least {MIN_FREE_SPACE} free; writes fail with InternalFailure until space is \
                 freed there, then the store catches up by itself",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Moves the pending ops into sled as one entry. Does not fsync. A failed store recovers
    /// first (or fails again); on a full disk nothing is written (the ops stay pending).
    fn write_pending(&self) -> StoreResult<()> {
        if self.state().failed.is_some() {
            return self.recover();
        }
        let pending = self.state().pending.len() as u64;
        self.has_room(pending.saturating_mul(2))?;
        let sled = self.sled()?;
        let writer = self.writer.lock().expect("store writer lock");
        let written = self.state().take_pending();
        self.insert_entry(&sled, &writer, written)
    }

    /// Inserts an entry taken by [`State::take_pending`]; then the entries it made dead may go.
    /// `_writer` proves the caller holds the writer lock.
    fn insert_entry(
        &self,
        sled: &Sled,
        _writer: &MutexGuard<'_, ()>,
        (written, dead): (Option<(u64, Vec<u8>)>, Vec<u64>),
    ) -> StoreResult<()> {
        if let Some((seq, bytes)) = written {
            // On failure the entries it killed are left in sled (the recovery rewrites the
            // whole journal anyway); removing them without their killer on disk could
            // resurrect puts.
            if let Err(e) = sled.journal.insert(entry_key(seq), bytes.as_slice()) {
                return Err(self.failed(&e));
            }
            self.state().keep_spare(bytes);
        }
        self.state().dead.extend(dead);
        Ok(())
    }

    /// Recovers a failed store in place: reopens sled (which refuses every write after an IO
    /// error) and replaces the whole journal with one entry holding every live record, in one
    /// atomic batch, then flushes. Tried at most every [`RECOVERY_INTERVAL`]; until it
    /// succeeds, the failure stands.
    fn recover(&self) -> StoreResult<()> {
        let still_failed = |state: &State| {
            StoreError(format!(
                "{} (recovery is retried; if this lasts once the disk is healthy, restart \
                 cauda: nothing acknowledged is lost)",
                state.failed.as_deref().unwrap_or("the store failed")
            ))
        };
        {
            let mut last = self
                .last_recovery
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            #[allow(
                clippy::disallowed_methods,
                reason = "pacing recovery attempts of a broken disk in real time"
            )]
            let now = std::time::Instant::now();
            if last.is_some_and(|at| now.duration_since(at) < RECOVERY_INTERVAL) {
                return Err(still_failed(&self.state()));
            }
            *last = Some(now);
        }
        let _reclaim = self.reclaim.lock().expect("store reclaim lock");
        let _writer = self.writer.lock().expect("store writer lock");
        if self.state().failed.is_none() {
            return Ok(());
        }
        self.has_room(self.state().live_bytes.saturating_mul(2))?;
        // Every handle goes before the reopen: sled locks its directory until it is closed.
        // Closing flushes, which may never return on a broken sled: it closes on a thread of
        // its own (if it hangs there, the reopen below keeps failing on sled's lock, and the
        // failure says to restart).
        let old = self
            .sled
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let closing = std::thread::Builder::new()
            .name("cauda-store-close".into())
            .spawn(move || drop(old));
        if let Err(e) = closing {
            tracing::warn!(error = %e, "closing the failed store on a thread failed");
        }
        let sled = match open_sled(&self.dir) {
            Ok(sled) => sled,
            Err(e) => {
                tracing::debug!(error = %e, "reopening the store failed");
                return Err(still_failed(&self.state()));
            }
        };
        let rewritten = self.rewrite_journal(&sled);
        *self.sled.write().unwrap_or_else(PoisonError::into_inner) = Some(sled);
        match rewritten {
            Ok(records) => {
                let failure = self.state().failed.take();
                tracing::warn!(
                    dir = %self.dir.display(),
                    records,
                    failure = failure.as_deref().unwrap_or(""),
                    "the store recovered: sled reopened and the journal rewritten from memory"
                );
                Ok(())
            }
            Err(e) => {
                tracing::debug!(error = %e, "rewriting the journal failed");
                Err(still_failed(&self.state()))
            }
        }
    }

    /// Replaces every journal entry in `sled` by one holding the whole live map, and flushes.
    /// The count of records written. The caller holds the reclaim and writer locks.
    fn rewrite_journal(&self, sled: &Sled) -> Result<usize, sled::Error> {
        let old: Vec<sled::IVec> = sled.journal.iter().keys().collect::<Result<_, _>>()?;
        let on_disk = old
            .last()
            .and_then(|k| <[u8; 8]>::try_from(k.as_ref()).ok())
            .map_or(0, u64::from_be_bytes);
        let (seq, entry, records) = {
            let mut guard = self.state();
            let state = &mut *guard;
            let seq = state.pending_seq.max(on_disk + 1);
            let mut entry = vec![ENTRY_V1];
            for (k, slot) in state.map.iter_mut() {
                encode_op(&mut entry, k, Some(&slot.value));
                slot.entry = seq;
            }
            // The pending ops are in the map, hence in this entry.
            state.pending.clear();
            state.pending.push(ENTRY_V1);
            state.pending_seq = seq + 1;
            state.dead.clear();
            state.entries.clear();
            let bytes = entry.len() as u64;
            let live = state.map.len() as u64;
            state.entries.insert(seq, EntryStat { bytes, live });
            state.journal_bytes = bytes;
            (seq, entry, state.map.len())
        };
        let mut batch = sled::Batch::default();
        for k in old {
            batch.remove(k);
        }
        batch.insert(&entry_key(seq), entry);
        sled.journal.apply_batch(batch)?;
        sled.db.flush()?;
        Ok(records)
    }

    /// Removes at most `max` dead head entries from sled, oldest first (a newer dead entry may
    /// hold the tombstone that hides an older one's put). Runs beside writers: a mass delete
    /// kills thousands of entries at once, and sled takes tens of microseconds per removal,
    /// which no flush should wait for.
    fn remove_dead(&self, max: usize) -> StoreResult<()> {
        let _reclaim = self.reclaim.lock().expect("store reclaim lock");
        if self.state().dead.is_empty() {
            return Ok(());
        }
        self.has_room(0)?;
        let sled = self.sled()?;
        let dead: Vec<u64> = {
            let mut state = self.state();
            let n = state.dead.len().min(max);
            state.dead.drain(..n).collect()
        };
        for (i, &seq) in dead.iter().enumerate() {
            if let Err(e) = sled.journal.remove(entry_key(seq)) {
                {
                    let mut state = self.state();
                    for &seq in dead[i..].iter().rev() {
                        state.dead.push_front(seq);
                    }
                }
                return Err(self.failed(&e));
            }
        }
        Ok(())
    }

    /// The decoded ops of the entries `seqs` still in sled, with their sequence numbers.
    fn read_entries(&self, sled: &Sled, seqs: &[u64]) -> StoreResult<Vec<(u64, Vec<Op>)>> {
        let mut decoded = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let read = sled.journal.get(entry_key(seq));
            if let Some(bytes) = read.map_err(|e| self.failed(&e))? {
                decoded.push((seq, decode_entry(&bytes)?));
            }
        }
        Ok(decoded)
    }

    /// When the journal is too large: copies the live records of the oldest entries into a new
    /// entry and removes the old ones, in one atomic sled batch. One step per call.
    ///
    /// The old entries are read and decoded holding only the reclaim lock (nothing else
    /// removes or changes them); the writer and state locks are taken only to pick the records
    /// still live and to write the batch, so flushes and requests wait for neither the reads
    /// nor the decoding.
    fn compact(&self) -> StoreResult<()> {
        let _reclaim = self.reclaim.lock().expect("store reclaim lock");
        let old = self.state().compaction_step();
        if old.is_empty() {
            return Ok(());
        }
        self.has_room(COMPACTION_STEP.saturating_mul(2))?;
        let sled = self.sled()?;
        let decoded = self.read_entries(&sled, &old)?;

        let writer = self.writer.lock().expect("store writer lock");
        let mut state = self.state();
        if state.failed.is_some() {
            // The recovery rewrites the journal whole.
            return Ok(());
        }
        // The ops applied since the last write-out become entry P and the copy entry P + 1:
        // the copy holds only keys whose latest write is in an old entry, so P touches none
        // of them and their order does not matter; later writes go to P + 2 and after.
        let (written, dead) = state.take_pending();
        let copy_seq = state.pending_seq;
        state.pending_seq += 1;
        let (copy, live) = state.copy_live(decoded, copy_seq);
        let mut batch = sled::Batch::default();
        if let Some((seq, bytes)) = &written {
            batch.insert(&entry_key(*seq), bytes.as_slice());
        }
        for &seq in &old {
            batch.remove(&entry_key(seq));
            if let Some(stat) = state.entries.remove(&seq) {
                state.journal_bytes = state.journal_bytes.saturating_sub(stat.bytes);
            }
        }
        if live > 0 {
            let bytes = copy.len() as u64;
            state.entries.insert(copy_seq, EntryStat { bytes, live });
            state.journal_bytes += bytes;
            batch.insert(&entry_key(copy_seq), copy);
        }
        // From here on requests may change the map again: their writes go to later entries,
        // and one that overwrites a copied record unlinks it from the copy entry.
        drop(state);
        if let Err(e) = sled.journal.apply_batch(batch) {
            return Err(self.failed(&e));
        }
        drop(writer);
        let mut state = self.state();
        if let Some((_, bytes)) = written {
            state.keep_spare(bytes);
        }
        state.dead.extend(dead);
        Ok(())
    }

    /// One round of the background writer.
    fn background_round(&self, round: u32) -> StoreResult<()> {
        self.write_pending()?;
        self.remove_dead(BACKGROUND_REMOVALS)?;
        let urgent = self.state().needs_urgent_compaction();
        if urgent || round % COMPACT_EVERY_ROUNDS == 0 {
            self.compact()?;
        }
        if round % FLUSH_EVERY_ROUNDS == 0 {
            self.has_room(0)?;
            self.sled()?.db.flush().map_err(|e| self.failed(&e))?;
        }
        Ok(())
    }
}

pub struct SledStore {
    inner: Arc<Inner>,
    stop: Option<mpsc::Sender<()>>,
    background: Option<JoinHandle<()>>,
}

impl SledStore {
    pub fn open(dir: &Path) -> StoreResult<Self> {
        let Sled { db, journal } = open_sled(dir)?;
        check_format(&db, dir)?;
        let mut state = State {
            map: BTreeMap::new(),
            pending: vec![ENTRY_V1],
            spare: Vec::new(),
            pending_seq: 1,
            dead: VecDeque::new(),
            entries: BTreeMap::new(),
            journal_bytes: 0,
            live_bytes: 0,
            failed: None,
        };
        // Records of the earlier one-key-per-record layout come first: the journal is newer.
        let legacy = !db.is_empty();
        for pair in db.iter() {
            let (k, v) = pair.map_err(err)?;
            state.apply_op(k.to_vec(), Some(v.to_vec()), 0);
        }
        for pair in journal.iter() {
            let (k, v) = pair.map_err(err)?;
            let seq = u64::from_be_bytes(k.as_ref().try_into().map_err(|_| {
                damaged(dir, &format!("a journal key is {} bytes, not 8", k.len()))
            })?);
            let ops = decode_entry(&v).map_err(|e| {
                damaged(
                    dir,
                    &format!("journal entry {seq} does not decode: {}", e.0),
                )
            })?;
            for (key, value) in ops {
                state.apply_op(key, value, seq);
            }
            let stat = state.entries.entry(seq).or_default();
            stat.bytes = v.len() as u64;
            state.journal_bytes += stat.bytes;
            state.pending_seq = seq + 1;
        }
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            sled: RwLock::new(Some(Sled { db, journal })),
            last_recovery: Mutex::new(None),
            state: Mutex::new(state),
            writer: Mutex::new(()),
            reclaim: Mutex::new(()),
        });
        if legacy {
            inner.migrate_legacy()?;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let worker = inner.clone();
        let background = std::thread::Builder::new()
            .name("cauda-store".into())
            .spawn(move || {
                let mut round: u32 = 0;
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(WRITE_INTERVAL)
                {
                    round = round.wrapping_add(1);
                    if let Err(e) = worker.background_round(round) {
                        super::log_failure("store background write failed", &e);
                    }
                }
            })
            .map_err(|e| StoreError(e.to_string()))?;
        Ok(SledStore {
            inner,
            stop: Some(stop),
            background: Some(background),
        })
    }
}

/// Opens sled over `dir`, and its journal tree.
fn open_sled(dir: &Path) -> StoreResult<Sled> {
    let db = open_db(dir)?;
    let journal = db.open_tree("journal").map_err(|e| describe(dir, &e))?;
    Ok(Sled { db, journal })
}

/// Refuses a directory of a newer format; gives one without a format record the current one.
fn check_format(db: &sled::Db, dir: &Path) -> StoreResult<()> {
    let meta = db.open_tree("meta").map_err(|e| describe(dir, &e))?;
    match meta.get(FORMAT_KEY).map_err(|e| describe(dir, &e))? {
        None => {
            meta.insert(FORMAT_KEY, &STORE_FORMAT.to_be_bytes())
                .map_err(|e| describe(dir, &e))?;
            Ok(())
        }
        Some(v) => {
            let version = <[u8; 4]>::try_from(v.as_ref())
                .map(u32::from_be_bytes)
                .map_err(|_| damaged(dir, "its format record is not a version number"))?;
            if version > STORE_FORMAT {
                return Err(StoreError(format!(
                    "the store in {} has format version {version}, written by a newer cauda; \
                     this one reads format {STORE_FORMAT} at most: run a cauda as new as the \
                     one that wrote it, or point --data-dir elsewhere",
                    dir.display()
                )));
            }
            Ok(())
        }
    }
}

/// Opens sled over `dir`. sled locks its files, and a database just closed in this process
/// releases the lock from sled's own threads a moment later (sled's tests block on the lock
/// for the same reason), so a failure to lock is retried for up to two seconds; a lock that
/// another live process holds still fails then, naming the directory.
fn open_db(dir: &Path) -> StoreResult<sled::Db> {
    let mut attempts_left = 100; // × 20 ms
    loop {
        match sled::Config::new()
            .path(dir)
            .flush_every_ms(None)
            .cache_capacity(16 * 1024 * 1024)
            .open()
        {
            Err(e) if e.to_string().contains("could not acquire lock") && attempts_left > 0 => {
                attempts_left -= 1;
                #[allow(
                    clippy::disallowed_methods,
                    reason = "opening the store, before any runtime work: sled frees its lock from its own threads"
                )]
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e @ sled::Error::Corruption { .. }) => {
                return Err(damaged(dir, &format!("sled reports {e}")))
            }
            other => return other.map_err(|e| describe(dir, &e)),
        }
    }
}

impl Inner {
    /// Rewrites every record as one journal entry and empties the default tree. A crash
    /// before the tree is cleared repeats the migration on the next open, to the same result.
    fn migrate_legacy(&self) -> StoreResult<()> {
        {
            let mut guard = self.state();
            let state = &mut *guard;
            let seq = state.pending_seq;
            for (k, slot) in state.map.iter_mut() {
                encode_op(&mut state.pending, k, Some(&slot.value));
                slot.entry = seq;
            }
            // Every record now lives in the pending entry; the journal entries replayed on top
            // of the legacy records (if any) stay until the head reclaim removes them.
            for stat in state.entries.values_mut() {
                stat.live = 0;
            }
            state.entries.entry(seq).or_default().live = state.map.len() as u64;
        }
        self.write_pending()?;
        let db = self.sled()?.db;
        db.flush().map_err(err)?;
        db.clear().map_err(err)?;
        db.flush().map_err(err)?;
        tracing::info!("migrated the store to the journal layout");
        Ok(())
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(handle) = self.background.take() {
            if handle.join().is_err() {
                tracing::error!("the store's background thread panicked");
            }
        }
        if let Err(e) = self.flush() {
            tracing::error!(error = %e, "store flush on close failed");
        }
    }
}

impl Store for SledStore {
    fn journal_bytes(&self) -> Option<u64> {
        Some(self.inner.state().journal_bytes)
    }

    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.inner.state().map.get(key).map(|s| s.value.clone()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let state = self.inner.state();
        Ok(with_prefix(&state.map, prefix)
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect())
    }

    fn keys_with_prefix(&self, prefix: &[u8], limit: usize) -> StoreResult<Vec<Vec<u8>>> {
        let state = self.inner.state();
        Ok(with_prefix(&state.map, prefix)
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
        let mut guard = self.inner.state();
        let state = &mut *guard;
        let seq = state.pending_seq;
        for (key, value) in batch.ops {
            if value.is_none() && !state.map.contains_key(&key) {
                continue;
            }
            encode_op(&mut state.pending, &key, value.as_deref());
            state.apply_op(key, value, seq);
        }
        Ok(())
    }

    fn flush(&self) -> StoreResult<()> {
        self.inner.write_pending()?;
        self.inner.has_room(0)?;
        let sled = self.inner.sled()?;
        sled.db
            .flush()
            .map(|_| ())
            .map_err(|e| self.inner.failed(&e))
    }

    fn is_persistent(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &SledStore, key: &[u8], value: &[u8]) {
        let mut b = WriteBatch::new();
        b.put(key.to_vec(), value.to_vec());
        store.apply(b).unwrap();
    }

    fn journal_len(store: &SledStore) -> usize {
        store.inner.sled().unwrap().journal.len()
    }

    #[test]
    fn a_directory_reopens_at_once_but_not_while_held() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..10u8 {
            let store = SledStore::open(dir.path()).unwrap();
            put(&store, &[b'k', i], b"v");
            drop(store);
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.scan_prefix(b"k").unwrap().len(), 10);
        #[allow(
            clippy::disallowed_methods,
            reason = "measures the open's real retry time"
        )]
        let started = std::time::Instant::now();
        let second = SledStore::open(dir.path());
        assert!(
            second
                .as_ref()
                .err()
                .is_some_and(|e| e.to_string().contains("could not acquire lock")),
            "a held directory must not open twice"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn dead_head_entries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, b"keep", b"1");
        store.flush().unwrap();
        for i in 0..20u8 {
            put(&store, &[b'm', i], b"body");
            store.flush().unwrap();
            let mut b = WriteBatch::new();
            b.delete(vec![b'm', i]);
            store.apply(b).unwrap();
            store.flush().unwrap();
        }
        // The first entry holds a live record, so every later entry stays (head-only reclaim).
        assert!(journal_len(&store) > 20);
        let mut b = WriteBatch::new();
        b.delete(b"keep".to_vec());
        store.apply(b).unwrap();
        store.flush().unwrap();
        // A background round removes the dead entries, oldest first (the store's own
        // background thread may get there first).
        store.inner.background_round(1).unwrap();
        assert!(journal_len(&store) <= 1, "{}", journal_len(&store));
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.scan_prefix(b"").unwrap().is_empty());
    }

    #[test]
    fn compaction_keeps_live_records_and_bounds_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, b"q-long-lived", b"queue record");
        let body = vec![7u8; 64 * 1024];
        // 64 MiB written through one short-lived key, overwritten again and again.
        for i in 0..1024u32 {
            put(&store, b"s-hot", &body);
            put(&store, format!("m{i:05}").as_bytes(), b"small");
            if i % 2 == 0 {
                let mut b = WriteBatch::new();
                b.delete(format!("m{i:05}").into_bytes());
                store.apply(b).unwrap();
            }
            store.inner.background_round(i).unwrap();
        }
        store.flush().unwrap();
        let journal_bytes = store.inner.state().journal_bytes;
        assert!(
            journal_bytes < 2 * 1024 * 1024 + COMPACTION_SLACK + COMPACTION_STEP + 128 * 1024,
            "journal not compacted: {journal_bytes} bytes"
        );
        let expect = store.scan_prefix(b"").unwrap();
        assert_eq!(expect.len(), 2 + 512);
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap(), expect);
        assert_eq!(
            store.get(b"q-long-lived").unwrap().as_deref(),
            Some(&b"queue record"[..])
        );
    }

    #[test]
    fn compaction_beside_concurrent_writers_keeps_the_latest_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                let big = vec![3u8; 64 * 1024];
                for i in 0..1200u32 {
                    // Hot keys rewritten with large values push the journal over its bound;
                    // small keys are overwritten and deleted while compaction copies them.
                    put(&store, format!("h{}", i % 4).as_bytes(), &big);
                    put(
                        &store,
                        format!("k{:03}", i % 300).as_bytes(),
                        &i.to_be_bytes(),
                    );
                    if i % 7 == 0 {
                        let mut b = WriteBatch::new();
                        b.delete(format!("k{:03}", (i * 13) % 300).into_bytes());
                        store.apply(b).unwrap();
                    }
                    if i % 3 == 0 {
                        store.flush().unwrap();
                    }
                }
            })
        };
        let mut round = 0;
        while !writer.is_finished() {
            round += 1;
            store.inner.background_round(round).unwrap();
            store.inner.compact().unwrap();
        }
        writer.join().unwrap();
        store.flush().unwrap();
        let expect = store.scan_prefix(b"").unwrap();
        let journal_bytes = store.inner.state().journal_bytes;
        assert!(
            journal_bytes < 2 * 1024 * 1024 + COMPACTION_SLACK + 4 * COMPACTION_STEP,
            "journal not compacted: {journal_bytes} bytes"
        );
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap(), expect);
    }

    #[test]
    fn records_of_the_one_key_per_record_layout_are_migrated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            db.insert(b"q1", b"queue".to_vec()).unwrap();
            db.insert(b"m1", b"message".to_vec()).unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(b"m1").unwrap().as_deref(), Some(&b"message"[..]));
        assert!(store.inner.sled().unwrap().db.is_empty());
        let mut b = WriteBatch::new();
        b.delete(b"m1".to_vec());
        store.apply(b).unwrap();
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(b"m1").unwrap(), None);
        assert_eq!(store.get(b"q1").unwrap().as_deref(), Some(&b"queue"[..]));
    }

    /// A failed store (any failed sled call) recovers in place at its next flush: sled is
    /// reopened and the journal rewritten from memory as one entry; nothing is lost, and the
    /// store goes on working.
    #[test]
    fn a_failed_store_reopens_sled_and_rewrites_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        for i in 0..50u8 {
            put(&store, &[b'k', i], &[i; 100]);
            store.flush().unwrap();
        }
        let mut b = WriteBatch::new();
        b.delete(vec![b'k', 7]);
        store.apply(b).unwrap();
        store.inner.state().failed = Some("a test failure".into());
        put(&store, b"while-failed", b"x");
        store.flush().unwrap();
        assert!(store.inner.state().failed.is_none());
        assert_eq!(journal_len(&store), 1, "the journal is one entry");
        put(&store, b"after", b"y");
        store.flush().unwrap();
        let expect = store.scan_prefix(b"").unwrap();
        assert_eq!(expect.len(), 49 + 2);
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap(), expect);
    }

    /// A format record above [`STORE_FORMAT`] refuses the open, naming both versions; a
    /// directory without one opens as the current format and gets it.
    #[test]
    fn a_newer_format_is_refused_and_a_missing_one_is_the_current() {
        let dir = tempfile::tempdir().unwrap();
        drop(SledStore::open(dir.path()).unwrap());
        {
            let db = open_db(dir.path()).unwrap();
            let meta = db.open_tree("meta").unwrap();
            assert_eq!(
                meta.get(FORMAT_KEY).unwrap().as_deref(),
                Some(&STORE_FORMAT.to_be_bytes()[..])
            );
            meta.remove(FORMAT_KEY).unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, b"k", b"v");
        drop(store);
        {
            let db = open_db(dir.path()).unwrap();
            let meta = db.open_tree("meta").unwrap();
            assert!(meta.get(FORMAT_KEY).unwrap().is_some());
            meta.insert(FORMAT_KEY, &(STORE_FORMAT + 1).to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        let refused = SledStore::open(dir.path())
            .err()
            .expect("a newer format opened");
        let message = refused.to_string();
        assert!(
            message.contains(&format!("format version {}", STORE_FORMAT + 1))
                && message.contains("newer cauda")
                && message.contains(&dir.path().display().to_string()),
            "{message}"
        );
    }

    /// A journal entry that does not decode (bad bytes, or a value cut short) refuses the
    /// open, saying which entry and what the operator can do; nothing is half-loaded.
    #[test]
    fn a_corrupted_journal_refuses_the_open() {
        for damage in ["garbage", "truncated"] {
            let dir = tempfile::tempdir().unwrap();
            {
                let store = SledStore::open(dir.path()).unwrap();
                put(&store, b"first", b"one");
                store.flush().unwrap();
                put(&store, b"second-key", &[9u8; 300]);
                store.flush().unwrap();
            }
            {
                let db = open_db(dir.path()).unwrap();
                let journal = db.open_tree("journal").unwrap();
                let (k, v) = journal.last().unwrap().unwrap();
                let bad = match damage {
                    "garbage" => vec![ENTRY_V1, 0xff, 0xff, 0xff, 0xff, 0xff],
                    _ => v[..v.len() / 2].to_vec(),
                };
                journal.insert(k, bad).unwrap();
                db.flush().unwrap();
            }
            let refused = SledStore::open(dir.path())
                .err()
                .expect("a damaged journal opened");
            let message = refused.to_string();
            assert!(
                message.contains("is damaged")
                    && message.contains("journal entry")
                    && message.contains("restore a backup")
                    && message.contains(".damaged"),
                "{damage}: {message}"
            );
        }
    }

    /// A tmpfs of `size` mounted on a temporary directory (we run as root in CI), unmounted
    /// on drop; `None` (and a message) where mounting is not permitted.
    pub(crate) struct SmallDisk {
        dir: tempfile::TempDir,
    }

    impl SmallDisk {
        #[allow(
            clippy::print_stderr,
            reason = "a skipped test says why, where the test runner shows it"
        )]
        pub(crate) fn mount(size: &str) -> Option<SmallDisk> {
            let dir = tempfile::tempdir().ok()?;
            let mounted = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !mounted {
                eprintln!("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
                return None;
            }
            Some(SmallDisk { dir })
        }

        pub(crate) fn path(&self) -> &Path {
            self.dir.path()
        }

        /// Fills the disk with a ballast file until no space is left.
        pub(crate) fn fill(&self) {
            use std::io::Write;
            let mut f = std::fs::File::create(self.path().join("ballast")).unwrap();
            let chunk = vec![1u8; 64 * 1024];
            while f.write_all(&chunk).is_ok() {}
            let _ = f.sync_all();
        }

        /// Frees the space the ballast took.
        pub(crate) fn free(&self) {
            std::fs::remove_file(self.path().join("ballast")).unwrap();
        }
    }

    impl Drop for SmallDisk {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                // Lazily: sled may close its files a moment after the store dropped.
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }

    /// A real full disk: flushes fail with a message saying so and where, reads and writes to
    /// memory go on, and once space is freed the store recovers by itself (sled reopened, the
    /// journal rewritten); everything applied before, during and after is there after a
    /// restart.
    #[test]
    fn a_full_disk_fails_flushes_then_the_store_recovers_by_itself() {
        let Some(disk) = SmallDisk::mount("40m") else {
            return;
        };
        let data = disk.path().join("data");
        let store = SledStore::open(&data).unwrap();
        put(&store, b"before", b"1");
        store.flush().unwrap();
        disk.fill();
        let value = vec![5u8; 256 * 1024];
        let mut failure = None;
        for i in 0..64u32 {
            put(&store, format!("full-{i:02}").as_bytes(), &value);
            if let Err(e) = store.flush() {
                failure = Some(e);
                break;
            }
        }
        let failure = failure.expect("no flush failed on a full disk");
        assert!(
            failure.0.contains("the disk is full")
                && failure.0.contains(&data.display().to_string()),
            "{failure}"
        );
        // Still failed: reads and applies are served from memory; flushes keep failing.
        put(&store, b"during", b"2");
        assert_eq!(store.get(b"during").unwrap().as_deref(), Some(&b"2"[..]));
        assert!(store.flush().is_err());
        disk.free();
        #[allow(clippy::disallowed_methods, reason = "a bounded wait in a test")]
        let started = std::time::Instant::now();
        while let Err(e) = store.flush() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the store did not recover: {e}"
            );
            #[allow(clippy::disallowed_methods, reason = "polling in a test")]
            std::thread::sleep(Duration::from_millis(100));
        }
        put(&store, b"after", b"3");
        store.flush().unwrap();
        let expect = store.scan_prefix(b"").unwrap();
        assert!(expect.len() >= 4, "{}", expect.len());
        drop(store);
        let store = SledStore::open(&data).unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap(), expect);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    use super::*;

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        vec(
            (
                vec(any::<u8>(), 0..40),
                option::of(vec(any::<u8>(), 0..300)),
            ),
            0..20,
        )
    }

    fn entry(ops: &[Op]) -> Vec<u8> {
        let mut out = vec![ENTRY_V1];
        for (key, value) in ops {
            encode_op(&mut out, key, value.as_deref());
        }
        out
    }

    proptest! {
        /// A journal entry decodes to exactly the ops written, in order.
        #[test]
        fn journal_entries_round_trip(ops in ops()) {
            prop_assert_eq!(decode_entry(&entry(&ops)).unwrap(), ops);
        }

        /// A cut entry (a crash mid-write that sled did not catch) decodes to an error or to
        /// a prefix of the ops written, never to anything else; a changed byte never panics.
        #[test]
        fn damaged_journal_entries_are_refused_or_a_prefix(
            ops in ops(),
            cut in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let bytes = entry(&ops);
            let cut = cut.index(bytes.len());
            if let Ok(decoded) = decode_entry(&bytes[..cut]) {
                prop_assert!(decoded.len() <= ops.len());
                prop_assert_eq!(&ops[..decoded.len()], &decoded[..]);
            }
            let mut changed = bytes;
            let at = at.index(changed.len());
            changed[at] ^= flip;
            let _ = decode_entry(&changed);
        }
    }

    proptest! {
        // Each case opens sled twice.
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// A journal written by the store and opened again holds the same records.
        #[test]
        fn journal_replays_to_the_same_records(batches in vec(ops(), 1..4)) {
            let dir = tempfile::tempdir().unwrap();
            let mut want = BTreeMap::new();
            {
                let store = SledStore::open(dir.path()).unwrap();
                for ops in &batches {
                    let mut batch = WriteBatch::new();
                    for (k, v) in ops {
                        match v {
                            Some(v) => {
                                want.insert(k.clone(), v.clone());
                                batch.put(k.clone(), v.clone());
                            }
                            None => {
                                want.remove(k);
                                batch.delete(k.clone());
                            }
                        }
                    }
                    store.apply(batch).unwrap();
                    store.flush().unwrap();
                }
            }
            let store = SledStore::open(dir.path()).unwrap();
            let got: BTreeMap<Vec<u8>, Vec<u8>> = store.scan_prefix(&[]).unwrap().into_iter().collect();
            prop_assert_eq!(got, want);
        }
    }
}
