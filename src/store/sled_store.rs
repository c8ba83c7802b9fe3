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

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_bytes::Bytes;

use super::{with_prefix, Op, Store, StoreError, StoreResult, WriteBatch};

/// Format byte of a journal entry; the entry is this byte, then postcard-encoded ops.
pub(crate) const ENTRY_V1: u8 = 1;
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
    /// Set when ops taken from `pending` could not be written to sled: they are applied in
    /// memory but not in the journal, so no later flush may report success (a restart replays
    /// what is on disk).
    broken: Option<String>,
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

struct Inner {
    db: sled::Db,
    journal: sled::Tree,
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

    /// Moves the pending ops into sled as one entry. Does not fsync.
    fn write_pending(&self) -> StoreResult<()> {
        let writer = self.writer.lock().expect("store writer lock");
        let written = self.state().take_pending();
        self.insert_entry(&writer, written)
    }

    /// Inserts an entry taken by [`State::take_pending`]; then the entries it made dead may go.
    /// `_writer` proves the caller holds the writer lock.
    fn insert_entry(
        &self,
        _writer: &MutexGuard<'_, ()>,
        (written, dead): (Option<(u64, Vec<u8>)>, Vec<u64>),
    ) -> StoreResult<()> {
        if let Some((seq, bytes)) = written {
            // On failure the entries it killed are left in sled (replay after a restart finds
            // them dead again); removing them without their killer on disk could resurrect puts.
            if let Err(e) = self.journal.insert(entry_key(seq), bytes.as_slice()) {
                return Err(self.lost_write(e));
            }
            self.state().keep_spare(bytes);
        }
        self.state().dead.extend(dead);
        Ok(())
    }

    /// Records that taken ops never reached sled (see [`State::broken`]).
    fn lost_write(&self, e: sled::Error) -> StoreError {
        let e = err(e);
        self.state().broken.get_or_insert_with(|| e.0.clone());
        e
    }

    /// Removes at most `max` dead head entries from sled, oldest first (a newer dead entry may
    /// hold the tombstone that hides an older one's put). Runs beside writers: a mass delete
    /// kills thousands of entries at once, and sled takes tens of microseconds per removal,
    /// which no flush should wait for.
    fn remove_dead(&self, max: usize) -> StoreResult<()> {
        let _reclaim = self.reclaim.lock().expect("store reclaim lock");
        let dead: Vec<u64> = {
            let mut state = self.state();
            let n = state.dead.len().min(max);
            state.dead.drain(..n).collect()
        };
        for (i, &seq) in dead.iter().enumerate() {
            if let Err(e) = self.journal.remove(entry_key(seq)) {
                let mut state = self.state();
                for &seq in dead[i..].iter().rev() {
                    state.dead.push_front(seq);
                }
                return Err(err(e));
            }
        }
        Ok(())
    }

    /// The decoded ops of the entries `seqs` still in sled, with their sequence numbers.
    fn read_entries(&self, seqs: &[u64]) -> StoreResult<Vec<(u64, Vec<Op>)>> {
        let mut decoded = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            if let Some(bytes) = self.journal.get(entry_key(seq)).map_err(err)? {
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
        let decoded = self.read_entries(&old)?;

        let writer = self.writer.lock().expect("store writer lock");
        let mut state = self.state();
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
        if let Err(e) = self.journal.apply_batch(batch) {
            return Err(self.lost_write(e));
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
            self.db.flush().map_err(err)?;
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
        let db = open_db(dir)?;
        let journal = db.open_tree("journal").map_err(err)?;
        let mut state = State {
            map: BTreeMap::new(),
            pending: vec![ENTRY_V1],
            spare: Vec::new(),
            pending_seq: 1,
            dead: VecDeque::new(),
            entries: BTreeMap::new(),
            journal_bytes: 0,
            live_bytes: 0,
            broken: None,
        };
        // Records of the earlier one-key-per-record layout come first: the journal is newer.
        let legacy = !db.is_empty();
        for pair in db.iter() {
            let (k, v) = pair.map_err(err)?;
            state.apply_op(k.to_vec(), Some(v.to_vec()), 0);
        }
        for pair in journal.iter() {
            let (k, v) = pair.map_err(err)?;
            let seq = u64::from_be_bytes(
                k.as_ref()
                    .try_into()
                    .map_err(|_| StoreError("bad journal key".into()))?,
            );
            for (key, value) in decode_entry(&v)? {
                state.apply_op(key, value, seq);
            }
            let stat = state.entries.entry(seq).or_default();
            stat.bytes = v.len() as u64;
            state.journal_bytes += stat.bytes;
            state.pending_seq = seq + 1;
        }
        let inner = Arc::new(Inner {
            db,
            journal,
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
                        tracing::error!(error = %e, "store background write failed");
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
            other => return other.map_err(err),
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
        self.db.flush().map_err(err)?;
        self.db.clear().map_err(err)?;
        self.db.flush().map_err(err)?;
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
        if let Some(e) = &self.inner.state().broken {
            return Err(StoreError(format!(
                "an earlier write to the journal failed: {e}"
            )));
        }
        self.inner.db.flush().map(|_| ()).map_err(err)
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
        store.inner.journal.len()
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
        assert!(store.inner.db.is_empty());
        let mut b = WriteBatch::new();
        b.delete(b"m1".to_vec());
        store.apply(b).unwrap();
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(b"m1").unwrap(), None);
        assert_eq!(store.get(b"q1").unwrap().as_deref(), Some(&b"queue"[..]));
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
