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
//! segment is full it is *sealed*: written, synced, and given a `<generation>.hint` file
//! listing its records (offset, length, key; with a count and a CRC) so that an open reads
//! the hints instead of the bodies; then a new active segment starts.
//!
//! **Durability** is the caller's: writes are buffered (and written out, unsynced, each
//! [`WRITE_CHUNK`]), and [`Bodies::sync`] makes every write before it durable. The store
//! syncs at each checkpoint before it records the write-out its cold writes reach (see
//! `cold.rs`), so the write-ahead log still holds every cold write the files may lack. At the
//! open the active segment's records are read up to the first one that does not check (a torn
//! tail), and the file is cut there.
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

/// The largest segment file (a record larger than what is left starts a new one).
pub(super) const SEGMENT_BYTES: u64 = 64 << 20;
/// crc32, length, key.
const HEADER: usize = 4 + 4 + KEY;
/// A cold key: prefix byte, queue id, seq.
const KEY: usize = 17;
/// The length of a removal's record.
const TOMBSTONE: u32 = u32::MAX;
/// Bits of a place holding the offset in its segment, and above them the value's length; the
/// top bits hold the segment's slot.
const OFFSET_BITS: u32 = 26;
const LEN_BITS: u32 = 24;
const SLOT_BITS: u32 = 64 - OFFSET_BITS - LEN_BITS;
/// The largest value a record holds (a message is at most 1 MiB with its attributes); the
/// slot bits left allow 16,384 segments (1 TiB).
pub(super) const MAX_VALUE: usize = (1 << LEN_BITS) - 1;
/// Buffered bytes written out (unsynced) at once.
const WRITE_CHUNK: usize = 1 << 20;
/// Bytes of live records one compaction step copies at most (bounds the lock's hold).
const COMPACTION_STEP: u64 = 512 << 10;
/// One hint entry: offset (u32), length (u32), key.
const HINT_ENTRY: usize = 4 + 4 + KEY;

const _: () = assert!(SEGMENT_BYTES <= 1 << OFFSET_BITS);

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// A cold key's queue id and seq.
fn ids(key: &[u8]) -> (u64, u64) {
    assert_eq!(key.len(), KEY, "a cold key is 17 bytes");
    let half = |at: usize| u64::from_be_bytes(key[at..at + 8].try_into().expect("8 bytes"));
    (half(1), half(9))
}

fn key_of(queue: u64, seq: u64) -> Vec<u8> {
    crate::store::keys::message(queue, seq)
}

/// A record's place: its segment's slot, its offset there, and its value's length.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Place(u64);

impl Place {
    fn new(slot: usize, offset: u64, len: usize) -> Place {
        debug_assert!(slot < 1 << SLOT_BITS && offset < 1 << OFFSET_BITS && len <= MAX_VALUE);
        Place(((slot as u64) << (OFFSET_BITS + LEN_BITS)) | ((len as u64) << OFFSET_BITS) | offset)
    }
    fn slot(self) -> usize {
        (self.0 >> (OFFSET_BITS + LEN_BITS)) as usize
    }
    fn offset(self) -> u64 {
        self.0 & ((1 << OFFSET_BITS) - 1)
    }
    fn len(self) -> usize {
        ((self.0 >> OFFSET_BITS) & ((1 << LEN_BITS) - 1)) as usize
    }
    fn record_bytes(self) -> u64 {
        (HEADER + self.len()) as u64
    }
}

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

/// A record read from a segment or its hint file: offset, length ([`TOMBSTONE`] for a
/// removal) and key.
type Entry = (u64, u32, [u8; KEY]);

/// Where a value is: in the write buffer (copied), or in a file at an offset.
pub(super) enum ValueAt {
    Copied(Vec<u8>),
    File(Arc<File>, u64, usize, [u8; KEY]),
}

impl ValueAt {
    /// Reads the value (outside the lock: a deleted segment's open file is still readable).
    pub(super) fn read(self) -> io::Result<Vec<u8>> {
        match self {
            ValueAt::Copied(v) => Ok(v),
            ValueAt::File(file, offset, len, key) => {
                let mut record = vec![0u8; HEADER + len];
                file.read_exact_at(&mut record, offset)?;
                if record[8..HEADER] != key || !checks(&record) {
                    return Err(invalid(format!(
                        "a message body's record at offset {offset} does not check"
                    )));
                }
                record.drain(..HEADER);
                Ok(record)
            }
        }
    }
}

/// Whether a whole record's CRC matches.
fn checks(record: &[u8]) -> bool {
    let crc = u32::from_le_bytes(record[..4].try_into().expect("4 bytes"));
    crc32fast::hash(&record[4..]) == crc
}

fn encode_record(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let len = value.map_or(TOMBSTONE, |v| v.len() as u32);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(key);
    if let Some(v) = value {
        out.extend_from_slice(v);
    }
    let crc = crc32fast::hash(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// A segment sealed since the last sync: its data and then its hint file are synced by the
/// next (a hint file exists only for a segment whose data is on disk).
struct Sealed {
    file: Arc<File>,
    hint_path: PathBuf,
    hint: Vec<u8>,
}

/// A sync in progress: the files to sync and the writes it covers.
pub(super) struct SyncTicket {
    sealed: Vec<Sealed>,
    file: Arc<File>,
    dir: Option<PathBuf>,
    writes: u64,
}

impl SyncTicket {
    /// Syncs (outside the lock; the caller serialises syncs).
    pub(super) fn sync(&self) -> io::Result<()> {
        for sealed in &self.sealed {
            sealed.file.sync_data()?;
            let hint = File::create(&sealed.hint_path)?;
            hint.write_all_at(&sealed.hint, 0)?;
            hint.sync_data()?;
        }
        self.file.sync_data()?;
        if let Some(dir) = &self.dir {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

/// Dead segments let go of, whose files are still to delete.
#[must_use]
pub(super) struct Reclaimed {
    dir: PathBuf,
    generations: Vec<u64>,
}

impl Reclaimed {
    /// Deletes the files; how many segments. A deletion that fails (or is lost in a crash)
    /// leaves only dead records, which the next open reads and lets go of again.
    pub(super) fn delete(self) -> usize {
        for &generation in &self.generations {
            if let Err(e) = std::fs::remove_file(segment_path(&self.dir, generation)) {
                tracing::warn!(error = %e, "removing a dead message body segment failed");
            }
            let _ = std::fs::remove_file(hint_path(&self.dir, generation));
        }
        self.generations.len()
    }
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

fn segment_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{generation:016x}.seg"))
}

fn hint_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{generation:016x}.hint"))
}

/// Parses a segment's records up to the first that does not check (a torn tail); the end of
/// the last one.
fn scan(bytes: &[u8]) -> (Vec<Entry>, u64) {
    let mut entries = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < HEADER {
            break;
        }
        let len = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let size = HEADER + if len == TOMBSTONE { 0 } else { len as usize };
        if rest.len() < size || !checks(&rest[..size]) {
            break;
        }
        let key: [u8; KEY] = rest[8..HEADER].try_into().expect("17 bytes");
        entries.push((at as u64, len, key));
        at += size;
    }
    (entries, at as u64)
}

/// A sealed segment's hint entries, if its hint file is whole.
fn read_hint(path: &Path) -> Option<Vec<Entry>> {
    let bytes = std::fs::read(path).ok()?;
    let (body, trailer) = bytes.split_at_checked(bytes.len().checked_sub(12)?)?;
    let count = u64::from_le_bytes(trailer[..8].try_into().ok()?);
    let crc = u32::from_le_bytes(trailer[8..].try_into().ok()?);
    if crc32fast::hash(body) != crc || body.len() as u64 != count * HINT_ENTRY as u64 {
        return None;
    }
    Some(
        body.chunks_exact(HINT_ENTRY)
            .map(|e| {
                let offset = u32::from_le_bytes(e[..4].try_into().expect("4 bytes"));
                let len = u32::from_le_bytes(e[4..8].try_into().expect("4 bytes"));
                (offset as u64, len, e[8..].try_into().expect("17 bytes"))
            })
            .collect(),
    )
}

impl Bodies {
    /// Opens (or creates) the segments in `dir`, rebuilding the index.
    pub(super) fn open(dir: &Path) -> io::Result<Bodies> {
        Self::open_with(dir, SEGMENT_BYTES)
    }

    fn open_with(dir: &Path, segment_bytes: u64) -> io::Result<Bodies> {
        assert!(segment_bytes <= SEGMENT_BYTES);
        std::fs::create_dir_all(dir)?;
        let mut generations = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(g) = name.strip_suffix(".seg") {
                generations.push(u64::from_str_radix(g, 16).map_err(|_| {
                    invalid(format!("{name} in {} is not a segment", dir.display()))
                })?);
            }
        }
        generations.sort_unstable();
        if generations.len() >= 1 << SLOT_BITS {
            return Err(invalid(format!(
                "{} message body segments in {}: at most {} are supported",
                generations.len(),
                dir.display(),
                (1 << SLOT_BITS) - 1
            )));
        }
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
            bodies.start_segment(1)?;
            return Ok(bodies);
        }
        let last = generations.len() - 1;
        for (i, &generation) in generations.iter().enumerate() {
            let path = segment_path(dir, generation);
            let file = OpenOptions::new().read(true).write(true).open(&path)?;
            let sealed = i < last;
            let hinted = if sealed {
                read_hint(&hint_path(dir, generation))
            } else {
                None
            };
            let (entries, end) = match hinted {
                Some(entries) => (entries, file.metadata()?.len()),
                None => scan(&std::fs::read(&path)?),
            };
            if end < file.metadata()?.len() {
                // A torn tail (of a segment sealed after the last sync, too): what follows the
                // last whole record was never synced, and the write-ahead log's replay writes
                // again what it held, or its originals are still in older segments.
                file.set_len(end)?;
            }
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

    fn start_segment(&mut self, generation: u64) -> io::Result<()> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(segment_path(&self.dir, generation))?;
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        if slot >= 1 << SLOT_BITS {
            return Err(invalid("too many message body segments".into()));
        }
        self.slots[slot] = Some(Segment {
            generation,
            file: Arc::new(file),
            bytes: 0,
            live: 0,
            live_bytes: 0,
            died_at: None,
        });
        self.order.push_back(slot);
        self.written = 0;
        self.hint.clear();
        self.dir_dirty = true;
        Ok(())
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
    /// and starts the next.
    fn roll(&mut self) -> io::Result<()> {
        self.write_out()?;
        let active = self.active();
        let segment = self.segment(active);
        let (generation, file) = (segment.generation, segment.file.clone());
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
        self.start_segment(generation + 1)
    }

    /// Appends a record (a put, or a removal without `value`) to the active segment; its place.
    fn append(&mut self, key: &[u8], value: Option<&[u8]>) -> io::Result<Place> {
        let len = value.map_or(0, <[u8]>::len);
        if len > MAX_VALUE {
            return Err(invalid(format!("a message body record of {len} bytes")));
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
        if self.buffer.len() >= WRITE_CHUNK {
            self.write_out()?;
        }
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
    pub(super) fn find(&self, key: &[u8]) -> Option<ValueAt> {
        let (queue, seq) = ids(key);
        let place = *self.index.get(&queue)?.get(&seq)?;
        let segment = self.slots[place.slot()].as_ref().expect("a live slot");
        let key: [u8; KEY] = key.try_into().expect("17 bytes");
        if place.slot() == self.active() && place.offset() >= self.written {
            let at = (place.offset() - self.written) as usize + HEADER;
            return Some(ValueAt::Copied(self.buffer[at..at + place.len()].to_vec()));
        }
        Some(ValueAt::File(
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
                found.push(key_of(queue, seq));
            }
        }
        found
    }

    /// Starts a sync of every write so far: writes the buffer out; the returned ticket syncs
    /// (outside the lock), then [`Bodies::synced`] takes it back.
    pub(super) fn start_sync(&mut self) -> io::Result<SyncTicket> {
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
    pub(super) fn synced(&mut self, ticket: SyncTicket) {
        self.synced = self.synced.max(ticket.writes);
    }

    /// A failed sync: the next one syncs what it did not.
    pub(super) fn sync_failed(&mut self, ticket: SyncTicket) {
        if ticket.dir.is_some() {
            self.dir_dirty = true;
        }
        let mut sealed = ticket.sealed;
        sealed.append(&mut self.sealed);
        self.sealed = sealed;
    }

    /// Lets go of the oldest segments while they are dead and their deaths synced; their
    /// files, for [`Reclaimed::delete`] (outside the lock).
    pub(super) fn reclaim(&mut self) -> Reclaimed {
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
        let e = crate::store::StoreError(format!(
            "the message bodies in {} failed: {e}",
            self.dir.display()
        ));
        self.state().failed.get_or_insert_with(|| e.0.clone());
        e
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

/// Syncs every write so far, and deletes the segments that died before (at the open, no
/// lock to leave).
pub(super) fn sync_now(bodies: &mut Bodies) -> io::Result<()> {
    let ticket = bodies.start_sync()?;
    ticket.sync()?;
    bodies.synced(ticket);
    bodies.reclaim().delete();
    Ok(())
}

fn push_hint(hint: &mut Vec<u8>, offset: u64, len: u32, key: &[u8]) {
    hint.extend_from_slice(&(offset as u32).to_le_bytes());
    hint.extend_from_slice(&len.to_le_bytes());
    hint.extend_from_slice(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(queue: u64, seq: u64) -> Vec<u8> {
        key_of(queue, seq)
    }

    fn get(bodies: &Bodies, k: &[u8]) -> Option<Vec<u8>> {
        bodies.find(k).map(|at| at.read().unwrap())
    }

    fn sync(bodies: &mut Bodies) {
        let ticket = bodies.start_sync().unwrap();
        ticket.sync().unwrap();
        bodies.synced(ticket);
    }

    fn segment_files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "seg")
            .count()
    }

    /// Puts, overwrites and removals read back before and after a reopen, whether a value is
    /// still buffered, written out, or in a sealed segment read through its hint file.
    #[test]
    fn values_read_back_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut bodies = Bodies::open_with(dir.path(), 1 << 20).unwrap();
        let big = vec![7u8; 3_000];
        for seq in 0..400 {
            bodies.put(&key(1, seq), &big).unwrap();
        }
        bodies.put(&key(2, 5), b"five").unwrap();
        bodies.put(&key(2, 5), b"FIVE").unwrap();
        bodies.put(&key(2, 6), b"six").unwrap();
        bodies.remove(&key(1, 3)).unwrap();
        bodies.remove(&key(9, 9)).unwrap();
        assert!(
            segment_files(dir.path()) > 1,
            "400 × 3 kB fill more than one 1 MiB segment"
        );
        assert_eq!(
            get(&bodies, &key(2, 5)).unwrap(),
            b"FIVE",
            "from the buffer"
        );
        assert_eq!(
            get(&bodies, &key(1, 0)).unwrap(),
            big,
            "from a sealed segment"
        );
        assert_eq!(get(&bodies, &key(1, 3)), None);
        assert_eq!(bodies.len(), 401);
        sync(&mut bodies);
        drop(bodies);
        let bodies = Bodies::open_with(dir.path(), 1 << 20).unwrap();
        assert_eq!(get(&bodies, &key(2, 5)).unwrap(), b"FIVE");
        assert_eq!(get(&bodies, &key(2, 6)).unwrap(), b"six");
        assert_eq!(get(&bodies, &key(1, 399)).unwrap(), big);
        assert_eq!(
            get(&bodies, &key(1, 3)),
            None,
            "the removal is replayed too"
        );
        assert_eq!(bodies.len(), 401);
        let (bytes, live) = bodies.sizes();
        assert!(live < bytes && live > 400 * 3_000);
    }

    /// A torn last record (a crash in the middle of a write) is cut off at the open; what
    /// came before it stays, and new writes follow it.
    #[test]
    fn a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut bodies = Bodies::open(dir.path()).unwrap();
        bodies.put(&key(1, 1), b"one").unwrap();
        bodies.put(&key(1, 2), b"two").unwrap();
        sync(&mut bodies);
        drop(bodies);
        let path = segment_path(dir.path(), 1);
        let len = std::fs::metadata(&path).unwrap().len();
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(len - 1).unwrap();
        let mut bodies = Bodies::open(dir.path()).unwrap();
        assert_eq!(get(&bodies, &key(1, 1)).unwrap(), b"one");
        assert_eq!(get(&bodies, &key(1, 2)), None, "the torn record is gone");
        bodies.put(&key(1, 3), b"three").unwrap();
        sync(&mut bodies);
        drop(bodies);
        let bodies = Bodies::open(dir.path()).unwrap();
        assert_eq!(get(&bodies, &key(1, 3)).unwrap(), b"three");
        assert_eq!(bodies.len(), 2);
    }

    /// A segment sealed after the last sync gets its hint file only from the next sync (which
    /// syncs its data first); without one, a torn tail there is cut off at the open like the
    /// active segment's.
    #[test]
    fn a_segment_sealed_since_the_last_sync_may_be_torn() {
        let dir = tempfile::tempdir().unwrap();
        let mut bodies = Bodies::open_with(dir.path(), 4096).unwrap();
        for seq in 0..5 {
            bodies.put(&key(1, seq), &[seq as u8; 1000]).unwrap();
        }
        assert_eq!(
            segment_files(dir.path()),
            2,
            "three records fill a 4 kB segment"
        );
        assert!(!hint_path(dir.path(), 1).exists(), "not synced yet");
        bodies.write_out().unwrap();
        drop(bodies);
        let first = segment_path(dir.path(), 1);
        let len = std::fs::metadata(&first).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&first)
            .unwrap()
            .set_len(len - 10)
            .unwrap();
        let mut bodies = Bodies::open_with(dir.path(), 4096).unwrap();
        assert_eq!(get(&bodies, &key(1, 1)).unwrap(), vec![1u8; 1000]);
        assert_eq!(get(&bodies, &key(1, 2)), None, "torn");
        assert_eq!(get(&bodies, &key(1, 3)).unwrap(), vec![3u8; 1000]);
        bodies.put(&key(1, 9), b"nine").unwrap();
        sync(&mut bodies);
        for seq in 10..20 {
            bodies.put(&key(1, seq), &[0; 1000]).unwrap();
        }
        sync(&mut bodies);
        assert!(hint_path(dir.path(), 2).exists(), "sealed, then synced");
        drop(bodies);
        let bodies = Bodies::open_with(dir.path(), 4096).unwrap();
        assert_eq!(get(&bodies, &key(1, 9)).unwrap(), b"nine");
        assert_eq!(bodies.len(), 15, "0, 1, 3, 4, 9 and 10 to 19");
    }

    /// Dead segments go oldest first, only once their deaths are synced; compaction copies the
    /// oldest segment's live records forward so that it can go too; space follows the live
    /// bytes, and everything live reads back after a reopen.
    #[test]
    fn dead_segments_go_and_compaction_frees_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let mut bodies = Bodies::open_with(dir.path(), 64 << 10).unwrap();
        let value = vec![1u8; 1 << 10];
        // 62 records a segment: four full ones, and two records in the fifth (active) one.
        for seq in 0..250 {
            bodies.put(&key(1, seq), &value).unwrap();
        }
        let segments = segment_files(dir.path());
        assert_eq!(segments, 5);
        // Everything but one record in the first segment and one in the last dies.
        for seq in 1..249 {
            bodies.remove(&key(1, seq)).unwrap();
        }
        sync(&mut bodies);
        assert_eq!(
            bodies.reclaim().delete(),
            0,
            "the oldest still has a live record"
        );
        assert!(bodies.needs_compaction());
        bodies.compact_step().unwrap();
        assert!(bodies.compaction.is_none(), "one record: one step");
        let head = bodies.slots[bodies.order[0]].as_ref().unwrap();
        assert_eq!(head.live, 0, "its record was copied forward");
        assert_eq!(bodies.reclaim().delete(), 0, "the copy is not synced yet");
        sync(&mut bodies);
        assert_eq!(bodies.reclaim().delete(), segments - 1);
        assert_eq!(segment_files(dir.path()), 1);
        let (bytes, live) = bodies.sizes();
        assert!(bytes < 2 * live + (64 << 10), "{bytes} {live}");
        assert!(!bodies.needs_compaction());
        drop(bodies);
        let bodies = Bodies::open_with(dir.path(), 64 << 10).unwrap();
        assert_eq!(get(&bodies, &key(1, 0)).unwrap(), value);
        assert_eq!(get(&bodies, &key(1, 249)).unwrap(), value);
        assert_eq!(get(&bodies, &key(1, 1)), None);
        assert_eq!(bodies.len(), 2);
    }

    /// Key scans follow key order across queues and honour prefixes and limits.
    #[test]
    fn keys_with_prefix_are_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut bodies = Bodies::open(dir.path()).unwrap();
        for (q, s) in [(2, 1), (1, 300), (1, 2), (256, 0), (1, 1 << 40)] {
            bodies.put(&key(q, s), b"v").unwrap();
        }
        let all = bodies.keys_with_prefix(&[crate::store::keys::MESSAGE], usize::MAX);
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        assert_eq!(all.len(), 5);
        let q1 = crate::store::keys::queue_prefix(crate::store::keys::MESSAGE, 1);
        assert_eq!(
            bodies.keys_with_prefix(&q1, 2),
            vec![key(1, 2), key(1, 300)]
        );
        assert_eq!(bodies.keys_with_prefix(&key(256, 0), 9), vec![key(256, 0)]);
        assert!(bodies
            .keys_with_prefix(&[crate::store::keys::MESSAGE_INDEX], 9)
            .is_empty());
    }
}
