//! Cold records ([`keys::is_cold`]: message bodies and attributes) on disk, in segment files
//! of cauda's own under `bodies/` in the data directory, not in sled: sled 0.34 costs ~5 µs a
//! key written and ~3 µs a key removed, and writes each body about three times over (its log,
//! then its garbage collection); here a body costs an append to a buffer and an entry in a
//! B-tree, a removal a small tombstone.
//!
//! **Files.** `<generation>.seg` files, generation numbers ascending, each up to
//! [`SEGMENT_BYTES`]; records are appended to the newest (*active*) one only: a put is
//! `crc32 (u32) · length (u32) · key (17 bytes) · value`, a removal the same header with
//! length [`TOMBSTONE`] and no value (the CRC covers length, key and value). When the active
//! segment is full it is *sealed* and a new active segment starts; the next sync syncs the
//! sealed one and only then writes its `<generation>.hint` file, listing its records (offset,
//! length, key; with a count and a CRC), so that an open reads the hints instead of the bodies.
//!
//! **Durability** is the caller's: writes are buffered (and written out, unsynced, each
//! [`WRITE_CHUNK`]), and a sync (`Inner::sync_bodies`) makes every write before it durable.
//! The store syncs at each checkpoint before it records the write-out its cold writes reach
//! (see `cold.rs`), so the write-ahead log still holds every cold write the files may lack.
//! At the open a segment without a hint file is read up to the first record that does not
//! check (a torn tail), and the file is cut there.
//!
//! **Index.** Memory keeps, per queue, a B-tree from a record's seq to its place (segment
//! slot, offset and length packed in 64 bits: about 32 bytes a message), rebuilt at the open
//! by replaying every segment's records in order (puts, and removals that undo them).
//!
//! **Space.** A segment none of whose puts is live any more is deleted, oldest first only, so
//! that a removal's tombstone never outlives the segments it may still have to hide a put
//! in; and only once the writes that killed it are synced (a copy made by compaction must be
//! on disk before its original goes). When the files outgrow twice the live bytes (plus
//! one segment), compaction copies the live records of the oldest segment to the
//! active one, [`COMPACTION_STEP`] bytes at a time, and the oldest segment then dies.
//!
//! [`keys::is_cold`]: crate::store::keys::is_cold

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use files::*;

/// The largest segment file (a record larger than what is left starts a new one).
pub(super) const SEGMENT_BYTES: u64 = 64 << 20;
/// Buffered bytes written out (unsynced) at once.
const WRITE_CHUNK: usize = 1 << 20;
/// Bytes of live records one compaction step copies at most (bounds the lock's hold).
const COMPACTION_STEP: u64 = 512 << 10;

struct Segment {
    generation: u64,
    file: Arc<File>,
    /// Bytes of records in it (written or buffered).
    bytes: u64,
    /// Its puts that are a key's latest, and their bytes.
    live: u64,
    live_bytes: u64,
    /// The write count ([`Bodies::writes`]) at which its last live put died.
    died_at: Option<u64>,
}

/// A compaction in progress: the oldest segment's records still to look at.
struct Compaction {
    generation: u64,
    entries: Vec<Entry>,
    next: usize,
}

pub(super) struct Bodies {
    dir: PathBuf,
    /// [`SEGMENT_BYTES`] but in tests; also the slack compaction allows.
    segment_bytes: u64,
    /// Segments by slot (a slot is reused once its segment is deleted).
    slots: Vec<Option<Segment>>,
    /// Slots of the segments, oldest first; the last is the active one.
    order: VecDeque<usize>,
    /// Bytes of the active segment written to its file; `buffer` follows them.
    written: u64,
    buffer: Vec<u8>,
    /// The active segment's hint entries so far.
    hint: Vec<u8>,
    /// Segments sealed since the last sync.
    sealed: Vec<Sealed>,
    index: FxHashMap<u64, BTreeMap<u64, Place>>,
    /// Puts and removals so far, and how many of them a completed sync covers.
    writes: u64,
    synced: u64,
    /// A segment file was created since the last sync: the directory is synced too.
    dir_dirty: bool,
    bytes: u64,
    live_bytes: u64,
    compaction: Option<Compaction>,
}

impl Bodies {
    /// Opens (or creates) the segments in `dir`, rebuilding the index.
    pub(super) fn open(dir: &Path) -> io::Result<Bodies> {
        Self::open_with(dir, SEGMENT_BYTES)
    }

    fn open_with(dir: &Path, segment_bytes: u64) -> io::Result<Bodies> {
        assert!(segment_bytes <= SEGMENT_BYTES);
        std::fs::create_dir_all(dir)?;
        let generations = generations(dir)?;
        let mut bodies = Bodies {
            dir: dir.to_path_buf(),
            segment_bytes,
            slots: Vec::new(),
            order: VecDeque::new(),
            written: 0,
            buffer: Vec::new(),
            hint: Vec::new(),
            sealed: Vec::new(),
            index: FxHashMap::default(),
            writes: 0,
            synced: 0,
            dir_dirty: false,
            bytes: 0,
            live_bytes: 0,
            compaction: None,
        };
        if generations.is_empty() {
            let first = bodies.create_segment(1)?;
            bodies.install_segment(first);
            return Ok(bodies);
        }
        let last = generations.len() - 1;
        for (i, &generation) in generations.iter().enumerate() {
            let sealed = i < last;
            let (file, entries, end) = load_segment(dir, generation, sealed)?;
            let slot = bodies.slots.len();
            bodies.slots.push(Some(Segment {
                generation,
                file: Arc::new(file),
                bytes: end,
                live: 0,
                live_bytes: 0,
                died_at: None,
            }));
            bodies.order.push_back(slot);
            bodies.bytes += end;
            for (offset, len, key) in entries {
                if !sealed {
                    push_hint(&mut bodies.hint, offset, len, &key);
                }
                if len == TOMBSTONE {
                    bodies.unindex(&key);
                } else {
                    bodies.index(&key, Place::new(slot, offset, len as usize));
                }
            }
            if !sealed {
                bodies.written = end;
            }
        }
        let active = bodies.active();
        for &slot in &bodies.order {
            let segment = bodies.slots[slot].as_mut().expect("a listed segment");
            if segment.live == 0 && slot != active {
                segment.died_at = Some(0);
            }
        }
        Ok(bodies)
    }

    fn active(&self) -> usize {
        *self.order.back().expect("an active segment")
    }

    fn segment(&mut self, slot: usize) -> &mut Segment {
        self.slots[slot].as_mut().expect("a live slot")
    }

    /// Records `key` at `place`, the put it replaces dying.
    fn index(&mut self, key: &[u8], place: Place) {
        let (queue, seq) = ids(key);
        let old = self.index.entry(queue).or_default().insert(seq, place);
        let segment = self.segment(place.slot());
        segment.live += 1;
        segment.live_bytes += place.record_bytes();
        self.live_bytes += place.record_bytes();
        if let Some(old) = old {
            self.unlink(old);
        }
    }

    /// Forgets `key`; whether it had a put.
    fn unindex(&mut self, key: &[u8]) -> bool {
        let (queue, seq) = ids(key);
        let Some(tree) = self.index.get_mut(&queue) else {
            return false;
        };
        let old = tree.remove(&seq);
        if tree.is_empty() {
            self.index.remove(&queue);
        }
        match old {
            Some(old) => {
                self.unlink(old);
                true
            }
            None => false,
        }
    }

    fn unlink(&mut self, place: Place) {
        let writes = self.writes;
        let active = self.active();
        let segment = self.segment(place.slot());
        segment.live -= 1;
        segment.live_bytes -= place.record_bytes();
        if segment.live == 0 && place.slot() != active {
            segment.died_at = Some(writes);
        }
        self.live_bytes -= place.record_bytes();
    }

    /// Creates the file of a new segment (empty), and finds its slot.
    fn create_segment(&self, generation: u64) -> io::Result<(usize, Segment)> {
        let slot = self
            .slots
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.slots.len());
        if slot >= 1 << SLOT_BITS {
            return Err(invalid("too many message body segments".into()));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(segment_path(&self.dir, generation))?;
        let segment = Segment {
            generation,
            file: Arc::new(file),
            bytes: 0,
            live: 0,
            live_bytes: 0,
            died_at: None,
        };
        Ok((slot, segment))
    }

    /// Makes a created segment the active one.
    fn install_segment(&mut self, (slot, segment): (usize, Segment)) {
        if slot == self.slots.len() {
            self.slots.push(None);
        }
        self.slots[slot] = Some(segment);
        self.order.push_back(slot);
        self.written = 0;
        self.hint.clear();
        self.dir_dirty = true;
    }

    /// Writes the buffer out to the active segment (not synced).
    fn write_out(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let active = self.active();
        let file = self.segment(active).file.clone();
        file.write_all_at(&self.buffer, self.written)?;
        self.written += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Seals the active segment (written out; the next sync syncs it and writes its hint file)
    /// and starts the next. What may fail comes first: a failed roll changes nothing.
    fn roll(&mut self) -> io::Result<()> {
        self.write_out()?;
        let active = self.active();
        let segment = self.segment(active);
        let (generation, file) = (segment.generation, segment.file.clone());
        let next = self.create_segment(generation + 1)?;
        let mut hint = std::mem::take(&mut self.hint);
        let count = (hint.len() / HINT_ENTRY) as u64;
        let crc = crc32fast::hash(&hint);
        hint.extend_from_slice(&count.to_le_bytes());
        hint.extend_from_slice(&crc.to_le_bytes());
        self.sealed.push(Sealed {
            file,
            hint_path: hint_path(&self.dir, generation),
            hint,
        });
        let writes = self.writes;
        let sealed = self.segment(active);
        if sealed.live == 0 {
            sealed.died_at = Some(writes);
        }
        self.install_segment(next);
        Ok(())
    }

    /// Appends a record (a put, or a removal without `value`) to the active segment; its place.
    fn append(&mut self, key: &[u8], value: Option<&[u8]>) -> io::Result<Place> {
        let len = value.map_or(0, <[u8]>::len);
        if len > MAX_VALUE {
            return Err(invalid(format!("a message body record of {len} bytes")));
        }
        // What may fail comes first: a failed append changes nothing.
        if self.buffer.len() >= WRITE_CHUNK {
            self.write_out()?;
        }
        let size = (HEADER + len) as u64;
        let end = self.written + self.buffer.len() as u64;
        if end > 0 && end + size > self.segment_bytes {
            self.roll()?;
        }
        let offset = self.written + self.buffer.len() as u64;
        encode_record(&mut self.buffer, key, value);
        let stored = value.map_or(TOMBSTONE, |v| v.len() as u32);
        push_hint(&mut self.hint, offset, stored, key);
        let active = self.active();
        self.segment(active).bytes += size;
        self.bytes += size;
        self.writes += 1;
        Ok(Place::new(active, offset, len))
    }

    pub(super) fn put(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let place = self.append(key, Some(value))?;
        self.index(key, place);
        Ok(())
    }

    pub(super) fn remove(&mut self, key: &[u8]) -> io::Result<()> {
        let (queue, seq) = ids(key);
        if self.index.get(&queue).is_some_and(|t| t.contains_key(&seq)) {
            // The tombstone first: the death it causes counts it among the writes to sync.
            self.append(key, None)?;
            self.unindex(key);
        }
        Ok(())
    }

    /// Where `key`'s value is, if it has one.
    pub(super) fn find(&self, key: &[u8]) -> Option<BodyAt> {
        let (queue, seq) = ids(key);
        let place = *self.index.get(&queue)?.get(&seq)?;
        let segment = self.slots[place.slot()].as_ref().expect("a live slot");
        let key: [u8; KEY] = key.try_into().expect("17 bytes");
        if place.slot() == self.active() && place.offset() >= self.written {
            let at = (place.offset() - self.written) as usize + HEADER;
            return Some(BodyAt::Copied(self.buffer[at..at + place.len()].to_vec()));
        }
        Some(BodyAt::File(
            segment.file.clone(),
            place.offset(),
            place.len(),
            key,
        ))
    }

    /// At most `limit` keys starting with `prefix`, in key order.
    pub(super) fn keys_with_prefix(&self, prefix: &[u8], limit: usize) -> Vec<Vec<u8>> {
        if !crate::store::keys::may_be_cold(prefix) {
            return Vec::new();
        }
        let (mut lo, mut hi) = ([0u8; KEY], [0xffu8; KEY]);
        lo[0] = crate::store::keys::MESSAGE;
        hi[0] = crate::store::keys::MESSAGE;
        lo[..prefix.len()].copy_from_slice(prefix);
        hi[..prefix.len()].copy_from_slice(prefix);
        let ((qlo, slo), (qhi, shi)) = (ids(&lo), ids(&hi));
        let mut queues: Vec<u64> = self
            .index
            .keys()
            .copied()
            .filter(|q| (qlo..=qhi).contains(q))
            .collect();
        queues.sort_unstable();
        let mut found = Vec::new();
        for queue in queues {
            let from = if queue == qlo { slo } else { 0 };
            let to = if queue == qhi { shi } else { u64::MAX };
            for &seq in self.index[&queue].range(from..=to).map(|(s, _)| s) {
                if found.len() == limit {
                    return found;
                }
                found.push(crate::store::keys::message(queue, seq));
            }
        }
        found
    }

    /// Starts a sync of every write so far: writes the buffer out; the returned ticket syncs
    /// (outside the lock), then [`Bodies::synced`] takes it back.
    fn start_sync(&mut self) -> io::Result<SyncTicket> {
        self.write_out()?;
        let active = self.active();
        let dir = std::mem::take(&mut self.dir_dirty).then(|| self.dir.clone());
        Ok(SyncTicket {
            sealed: std::mem::take(&mut self.sealed),
            file: self.segment(active).file.clone(),
            dir,
            writes: self.writes,
        })
    }

    /// A sync is done: the segments whose deaths it covers may go.
    fn synced(&mut self, ticket: SyncTicket) {
        self.synced = self.synced.max(ticket.writes);
    }

    /// A failed sync: the next one syncs what it did not.
    fn sync_failed(&mut self, ticket: SyncTicket) {
        if ticket.dir.is_some() {
            self.dir_dirty = true;
        }
        let mut sealed = ticket.sealed;
        sealed.append(&mut self.sealed);
        self.sealed = sealed;
    }

    /// Lets go of the oldest segments while they are dead and their deaths synced; their
    /// files, for [`Reclaimed::delete`] (outside the lock).
    fn reclaim(&mut self) -> Reclaimed {
        let mut generations = Vec::new();
        while self.order.len() > 1 {
            let slot = self.order[0];
            let segment = self.slots[slot].as_ref().expect("a listed segment");
            if segment.live > 0 || segment.died_at.is_none_or(|at| at > self.synced) {
                break;
            }
            generations.push(segment.generation);
            self.bytes -= segment.bytes;
            self.slots[slot] = None;
            self.order.pop_front();
        }
        Reclaimed {
            dir: self.dir.clone(),
            generations,
        }
    }

    /// Whether the files outgrow twice the live bytes (plus a slack).
    pub(super) fn needs_compaction(&self) -> bool {
        self.compaction.is_some()
            || (self.order.len() > 1
                && self.bytes > self.live_bytes.saturating_mul(2) + self.segment_bytes)
    }

    /// Copies up to [`COMPACTION_STEP`] bytes of the oldest segment's live records to the
    /// active one; the oldest segment dies once all are copied (and goes after a sync).
    pub(super) fn compact_step(&mut self) -> io::Result<()> {
        if self.compaction.is_none() {
            if !self.needs_compaction() {
                return Ok(());
            }
            let head = self.slots[self.order[0]]
                .as_ref()
                .expect("a listed segment");
            if head.live == 0 {
                return Ok(());
            }
            let generation = head.generation;
            let entries = match read_hint(&hint_path(&self.dir, generation)) {
                Some(entries) => entries,
                None => scan(&std::fs::read(segment_path(&self.dir, generation))?).0,
            };
            self.compaction = Some(Compaction {
                generation,
                entries,
                next: 0,
            });
        }
        let mut job = self.compaction.take().expect("a compaction");
        let slot = self.order[0];
        let head = self.slots[slot].as_ref().expect("a listed segment");
        if head.generation != job.generation || head.live == 0 {
            // Done (or gone): a dead head waits for a sync and [`Bodies::reclaim`].
            return Ok(());
        }
        let mut copied = 0;
        while job.next < job.entries.len() && copied < COMPACTION_STEP {
            let (offset, len, key) = job.entries[job.next];
            job.next += 1;
            if len == TOMBSTONE {
                continue;
            }
            let (queue, seq) = ids(&key);
            let live = self
                .index
                .get(&queue)
                .and_then(|t| t.get(&seq))
                .is_some_and(|p| p.slot() == slot && p.offset() == offset);
            if !live {
                continue;
            }
            let Some(at) = self.find(&key) else {
                continue;
            };
            let value = at.read()?;
            copied += (HEADER + value.len()) as u64;
            self.put(&key, &value)?;
        }
        if job.next < job.entries.len() {
            self.compaction = Some(job);
        }
        Ok(())
    }

    /// Bytes of the segment files, and of their live records.
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (u64, u64) {
        (self.bytes, self.live_bytes)
    }

    /// How many keys have a value.
    pub(super) fn len(&self) -> usize {
        self.index.values().map(BTreeMap::len).sum()
    }
}

impl super::Inner {
    pub(super) fn bodies(&self) -> std::sync::MutexGuard<'_, Bodies> {
        self.bodies.lock().expect("store bodies lock")
    }

    /// A failed read or write of the segments fails the store like a failed sled call: its
    /// recovery reopens them (see `failure.rs`).
    pub(super) fn bodies_failed(&self, e: &io::Error) -> crate::store::StoreError {
        self.fail(failed(&self.dir, e))
    }

    /// Makes every write to the segments so far durable (the sync itself outside the lock),
    /// then deletes the segments that died before it.
    pub(super) fn sync_bodies(&self) -> crate::store::StoreResult<()> {
        let _syncing = self.bodies_sync.lock().expect("store bodies sync lock");
        let started = self.bodies().start_sync();
        let ticket = started.map_err(|e| self.bodies_failed(&e))?;
        match ticket.sync() {
            Ok(()) => {
                let reclaimed = {
                    let mut bodies = self.bodies();
                    bodies.synced(ticket);
                    bodies.reclaim()
                };
                reclaimed.delete();
                Ok(())
            }
            Err(e) => {
                self.bodies().sync_failed(ticket);
                Err(self.bodies_failed(&e))
            }
        }
    }

    /// One step of the segments' compaction, when they outgrow their live bytes; on a disk
    /// short of room it waits.
    pub(super) fn compact_bodies(&self) -> crate::store::StoreResult<()> {
        if !self.bodies().needs_compaction() {
            return Ok(());
        }
        self.has_room(COMPACTION_STEP.saturating_mul(2))?;
        let stepped = self.bodies().compact_step();
        stepped.map_err(|e| self.bodies_failed(&e))
    }

    /// Applies cold writes to the segments (unsynced).
    pub(super) fn apply_bodies(&self, ops: super::cold::ColdOps) -> crate::store::StoreResult<()> {
        if ops.is_empty() {
            return Ok(());
        }
        ops.apply(&self.bodies).map_err(|e| self.bodies_failed(&e))
    }
}

/// A failed read or write of the segments of the store in `dir`, as a store error.
pub(super) fn failed(dir: &Path, e: &io::Error) -> crate::store::StoreError {
    crate::store::StoreError(format!(
        "the message bodies in {} failed: {e}",
        dir.display()
    ))
}

/// Syncs every write so far, and deletes the segments that died before (at the open, no
/// lock to leave).
pub(super) fn sync_now(bodies: &mut Bodies) -> io::Result<()> {
    let ticket = bodies.start_sync()?;
    ticket.sync()?;
    bodies.synced(ticket);
    bodies.reclaim().delete();
    Ok(())
}

mod files;
#[cfg(test)]
mod tests;
