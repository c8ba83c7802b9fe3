//! The write-ahead log that makes a write-out durable without a sled flush.
//!
//! sled 0.34's `flush` wakes every thread of its I/O pool (a `notify_all` per buffer write):
//! tens of futex calls and most of a request's server CPU when every flush carries a handful
//! of requests. So a strict flush does not flush sled: each write-out (its journal entry and
//! its cold writes) is appended to this log, and a flush writes the log's new blocks with one
//! `O_DIRECT` `pwrite`, which returns once the device has them (as strong as sled's own flush,
//! `sync_file_range`: a drive's volatile cache is not flushed; a file system without `O_DIRECT`
//! gets `pwrite` + `fdatasync`). sled gets the same write-out unflushed, and is flushed in the
//! background (a *checkpoint*, every `CHECKPOINT_EVERY_ROUNDS` background rounds), after which
//! the log's records up to the checkpoint are obsolete.
//!
//! **Files.** Two files, `wal/0` and `wal/1` in the data directory, each `segment_bytes` long,
//! allocated and written with zeros when created (a log write never meets a full disk nor
//! changes file metadata); each write covers whole 4 KiB blocks, the last one padded with
//! zeros and written again, with more records, by the next flush. Records are
//! appended to the *active* file; when it is full the log switches to the other one, which
//! needs every record in it checkpointed (else the writer checkpoints first). Each file starts
//! with a header (magic and an *epoch*, a number raised at every switch and open); a record
//! carries its file's epoch, its write-out number, its length and a CRC32, so a torn last record
//! or a stale one from an earlier round ends the file's records instead of being misread.
//!
//! **Recovery** (before the journal is read): sled holds a prefix of its operations. A
//! write-out's journal entry goes to sled with the write-out, its cold writes to the segments
//! (`bodies/`) only later; a checkpoint syncs them, then records the last write-out it
//! covers in the `meta` tree (`COLD_UPTO_KEY`) before flushing sled (see `cold.rs`). So sled
//! has every journal entry up to its newest one and the segments every cold write up to that
//! record, and every valid log record from the older of the two on (the newest entry's
//! write-out, or the one after the record) is applied again, in order (cold puts to the
//! segments, the entry to sled, cold removals), and both are synced. Applying a contiguous run
//! of write-outs that ends with the newest one gives, for each key the run writes, its last
//! write; a key it does not write keeps sled's value, which is its last write if the run starts
//! no later than sled's state ends. Entries the run inserts again that reclaim had removed are
//! dead or superseded by later entries (a compaction's copy of their live records has a later
//! number), so the journal's replay still rebuilds the same map. The run is contiguous because
//! the inactive file holds the records just before the active one's, only the active file can
//! end with a torn record, and a write-out too large for the log is checkpointed with
//! everything before it (the replay never starts before it). Then both files get new epochs:
//! nothing before the open is replayed twice.
//!
//! **Failures.** A failed log write or sync fails the store like a failed sled call: it recovers
//! by rewriting the journal from memory into sled (flushed) and then starting the log afresh.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};

use fs2::FileExt as _;

use super::*;

/// The length of each log file.
pub(super) const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
/// A file's header, in its own block: magic, then the epoch.
const HEADER_BYTES: u64 = 4096;
const FILE_MAGIC: &[u8; 8] = b"caudawal";
const RECORD_MAGIC: u32 = 0xCA0D_A10C;
/// magic u32, payload length u32, epoch u64, write-out number u64, CRC32 u32.
const RECORD_HEADER: usize = 28;

/// One record's contents: a write-out, as [`Inner::insert_entry`] applies it.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Record {
    pub(super) number: u64,
    /// The journal entry (format byte, then ops), if the write-out has one.
    pub(super) entry: Option<Vec<u8>>,
    /// Cold puts and cold removals, each encoded as a journal entry (format byte, then ops).
    pub(super) cold_puts: Vec<u8>,
    pub(super) cold_removes: Vec<u8>,
}

/// Appends `bytes` with a u32 length prefix.
fn put_chunk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take_chunk<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let chunk = rest.get(4..4 + len)?;
    *rest = &rest[4 + len..];
    Some(chunk)
}

/// Encodes `rec` as one log record of `epoch` into `out` (cleared first).
pub(super) fn encode_record(out: &mut Vec<u8>, epoch: u64, rec: &Record) {
    out.clear();
    out.resize(RECORD_HEADER, 0);
    out.push(u8::from(rec.entry.is_some()));
    put_chunk(out, rec.entry.as_deref().unwrap_or_default());
    put_chunk(out, &rec.cold_puts);
    put_chunk(out, &rec.cold_removes);
    let len = (out.len() - RECORD_HEADER) as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&epoch.to_le_bytes());
    crc.update(&rec.number.to_le_bytes());
    crc.update(&out[RECORD_HEADER..]);
    out[0..4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
    out[4..8].copy_from_slice(&len.to_le_bytes());
    out[8..16].copy_from_slice(&epoch.to_le_bytes());
    out[16..24].copy_from_slice(&rec.number.to_le_bytes());
    out[24..28].copy_from_slice(&crc.finalize().to_le_bytes());
}

/// `len` bytes of `file` at `at`, if it has them.
fn read_at(file: &File, at: u64, len: usize) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; len];
    match file.read_exact_at(&mut buf, at) {
        Ok(()) => Ok(Some(buf)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// The valid records of one file, in order, read one at a time (not the whole file: the
/// memory would stay with the process): they end at the first record that is torn, stale
/// (another epoch) or not a record.
pub(super) fn decode_file(file: &File) -> io::Result<(Option<u64>, Vec<Record>)> {
    let Some(epoch) = read_at(file, 0, 16)?.and_then(|h| file_epoch(&h)) else {
        return Ok((None, Vec::new()));
    };
    // A length read from a torn record must not allocate beyond the file.
    let file_len = file.metadata()?.len();
    let mut records = Vec::new();
    let mut at = HEADER_BYTES;
    while let Some(header) = read_at(file, at, RECORD_HEADER)? {
        let word = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
        let long = |i: usize| u64::from_le_bytes(header[i..i + 8].try_into().expect("8 bytes"));
        let (len, rec_epoch, number) = (word(4) as usize, long(8), long(16));
        if word(0) != RECORD_MAGIC || rec_epoch != epoch {
            break;
        }
        let end = at + (RECORD_HEADER + len) as u64;
        if end > file_len {
            break;
        }
        let Some(payload) = read_at(file, at + RECORD_HEADER as u64, len)? else {
            break;
        };
        let mut crc = crc32fast::Hasher::new();
        crc.update(&rec_epoch.to_le_bytes());
        crc.update(&number.to_le_bytes());
        crc.update(&payload);
        if crc.finalize() != word(24) {
            break;
        }
        let Some(rec) = decode_payload(number, &payload) else {
            break;
        };
        records.push(rec);
        at = end;
    }
    Ok((Some(epoch), records))
}

fn decode_payload(number: u64, payload: &[u8]) -> Option<Record> {
    let (&has_entry, mut rest) = payload.split_first()?;
    let entry = take_chunk(&mut rest)?;
    let cold_puts = take_chunk(&mut rest)?.to_vec();
    let cold_removes = take_chunk(&mut rest)?.to_vec();
    Some(Record {
        number,
        entry: (has_entry == 1).then(|| entry.to_vec()),
        cold_puts,
        cold_removes,
    })
}

fn file_epoch(bytes: &[u8]) -> Option<u64> {
    (bytes.get(..8)? == FILE_MAGIC).then_some(())?;
    Some(u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?))
}

/// What [`Wal::append`] did.
#[derive(Debug, PartialEq)]
pub(super) enum Appended {
    /// The record is in the log (not synced yet).
    Done,
    /// The active file is full and the other one holds records not checkpointed yet:
    /// checkpoint, then append again.
    NeedsCheckpoint,
    /// The record is larger than a file: write it to sled and flush sled instead.
    TooLarge,
}

pub(super) struct Wal {
    /// The write handles, opened with `O_DIRECT` where the file system allows it.
    files: [File; 2],
    /// Whether `files` write around the page cache (else a write is followed by `fdatasync`).
    direct: bool,
    segment_bytes: u64,
    active: usize,
    /// The file offset of `tail`'s first byte, a block boundary.
    tail_at: u64,
    /// The active file's bytes from `tail_at` to the end of the last record appended: the
    /// partial block already written and the records not written yet.
    tail: Vec<u8>,
    /// Whether `tail` holds records not written yet.
    dirty: bool,
    /// The epoch of the newest header written.
    epoch: u64,
    /// The highest write-out number in each file's current records (0: none).
    newest: [u64; 2],
    /// The highest write-out number known to be flushed in sled.
    checkpointed: u64,
    buf: Vec<u8>,
    /// Room for one block-aligned write (`O_DIRECT` wants aligned memory).
    io: Vec<u8>,
}

/// Block size of every log write: file offsets, lengths and memory are aligned to it.
const BLOCK: usize = 4096;

impl Wal {
    /// Opens (creating and writing zeros over it when missing, so that a later write needs
    /// neither space nor metadata) the log in `dir/wal`, and returns it with the valid records
    /// of both files, oldest first.
    pub(super) fn open(dir: &Path, segment_bytes: u64) -> io::Result<(Wal, Vec<Record>)> {
        let wal_dir = dir.join("wal");
        std::fs::create_dir_all(&wal_dir)?;
        let mut files = Vec::new();
        let mut records = Vec::new();
        let mut epoch = 0;
        let mut direct = true;
        for i in 0..2 {
            let path = wal_dir.join(i.to_string());
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            let len = file.metadata()?.len();
            if len < segment_bytes {
                file.allocate(segment_bytes)?;
                let zeros = vec![0u8; 64 * 1024];
                let mut at = len;
                while at < segment_bytes {
                    let n = (segment_bytes - at).min(zeros.len() as u64);
                    file.write_all_at(&zeros[..n as usize], at)?;
                    at += n;
                }
                file.sync_all()?;
            }
            let (file_epoch, mut found) = decode_file(&file)?;
            epoch = epoch.max(file_epoch.unwrap_or(0));
            records.append(&mut found);
            let writer = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(&path);
            match writer {
                Ok(writer) if direct => files.push(writer),
                // A file system without O_DIRECT (tmpfs before Linux 6.6): fdatasync instead.
                _ => {
                    direct = false;
                    files.push(file);
                }
            }
        }
        if !direct {
            for (i, file) in files.iter_mut().enumerate() {
                *file = OpenOptions::new()
                    .write(true)
                    .open(wal_dir.join(i.to_string()))?;
            }
        }
        File::open(&wal_dir)?.sync_all()?;
        records.sort_by_key(|r| r.number);
        let files: [File; 2] = files.try_into().expect("two files");
        let wal = Wal {
            files,
            direct,
            segment_bytes,
            active: 0,
            tail_at: HEADER_BYTES,
            tail: Vec::new(),
            dirty: false,
            epoch,
            newest: [0, 0],
            checkpointed: 0,
            buf: Vec::new(),
            io: Vec::new(),
        };
        Ok((wal, records))
    }

    /// Starts both files afresh (new epochs: no record written before counts any more), the
    /// first one active. Everything written so far must be flushed in sled.
    pub(super) fn reset(&mut self) -> io::Result<()> {
        for i in [1, 0] {
            self.start_file(i)?;
        }
        self.newest = [0, 0];
        Ok(())
    }

    /// Writes `bytes` (a multiple of [`BLOCK`]) at `at` of file `i`, from aligned memory, and
    /// makes it durable.
    fn write_blocks(&mut self, i: usize, bytes: &[u8], at: u64) -> io::Result<()> {
        self.io.clear();
        self.io.resize(bytes.len() + BLOCK, 0);
        let start = self.io.as_ptr().align_offset(BLOCK);
        let aligned = &mut self.io[start..start + bytes.len()];
        aligned.copy_from_slice(bytes);
        self.files[i].write_all_at(aligned, at)?;
        if !self.direct {
            self.files[i].sync_data()?;
        }
        Ok(())
    }

    /// Writes a new header to file `i` (a new epoch), synced, and makes it the active file.
    fn start_file(&mut self, i: usize) -> io::Result<()> {
        self.epoch += 1;
        let mut header = vec![0u8; HEADER_BYTES as usize];
        header[..8].copy_from_slice(FILE_MAGIC);
        header[8..16].copy_from_slice(&self.epoch.to_le_bytes());
        self.write_blocks(i, &header, 0)?;
        self.files[i].sync_data()?;
        self.active = i;
        self.tail_at = HEADER_BYTES;
        self.tail.clear();
        self.dirty = false;
        self.newest[i] = 0;
        Ok(())
    }

    /// Appends `rec` to the active file (in memory until [`Wal::sync`]), switching files when
    /// it is full.
    pub(super) fn append(&mut self, rec: &Record) -> io::Result<Appended> {
        let mut buf = std::mem::take(&mut self.buf);
        encode_record(&mut buf, self.epoch, rec);
        let len = buf.len() as u64;
        if HEADER_BYTES + len > self.segment_bytes {
            self.buf = buf;
            return Ok(Appended::TooLarge);
        }
        if self.tail_at + self.tail.len() as u64 + len > self.segment_bytes {
            let other = 1 - self.active;
            if self.newest[other] > self.checkpointed {
                self.buf = buf;
                return Ok(Appended::NeedsCheckpoint);
            }
            // The records of the full file must be on disk before any in the next one.
            if let Err(e) = self.sync().and_then(|()| self.start_file(other)) {
                self.buf = buf;
                return Err(e);
            }
            encode_record(&mut buf, self.epoch, rec);
        }
        self.tail.extend_from_slice(&buf);
        self.buf = buf;
        self.newest[self.active] = rec.number;
        self.dirty = true;
        Ok(Appended::Done)
    }

    /// Writes the records appended since the last sync, durably: one write of the blocks they
    /// cover (the last block padded with zeros, which end the file's records).
    pub(super) fn sync(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut tail = std::mem::take(&mut self.tail);
        let used = tail.len();
        tail.resize(used.div_ceil(BLOCK) * BLOCK, 0);
        let written = self.write_blocks(self.active, &tail, self.tail_at);
        tail.truncate(used);
        if written.is_ok() {
            // Only the last, partial block is written again by the next sync.
            let full = used / BLOCK * BLOCK;
            tail.drain(..full);
            self.tail_at += full as u64;
            self.dirty = false;
        }
        self.tail = tail;
        written
    }

    /// Records up to write-out `upto` are in sled, flushed.
    pub(super) fn checkpointed(&mut self, upto: u64) {
        self.checkpointed = self.checkpointed.max(upto);
    }

    /// Whether a checkpoint is due before the active file fills up: it is more than half
    /// full, and the other file (the next one) still holds records sled may not have.
    pub(super) fn needs_checkpoint(&self) -> bool {
        let used = self.tail_at + self.tail.len() as u64;
        used > self.segment_bytes / 2 && self.newest[1 - self.active] > self.checkpointed
    }
}

impl Inner {
    /// Applies the log's `records` that sled may lack to sled, then flushes sled: from the
    /// newest journal entry in sled, or from the first write-out after the last checkpoint's
    /// (`COLD_UPTO_KEY`: later ones' cold writes may be missing), whichever is older.
    /// Returns how many records it applied, and the checkpoint record it wrote.
    pub(super) fn replay_wal(
        sled: &Sled,
        bodies: &mut bodies::Bodies,
        dir: &Path,
        records: &[Record],
    ) -> StoreResult<(usize, u64)> {
        let newest_entry = match sled.journal.last().map_err(|e| describe(dir, &e))? {
            Some((k, _)) => <[u8; 8]>::try_from(k.as_ref()).map_or(0, u64::from_be_bytes),
            None => 0,
        };
        // Without a checkpoint record (format 3 wrote cold writes with their write-out), the
        // newest entry is where sled's state ends.
        let start = match super::open::cold_upto(sled, dir)? {
            Some(upto) => newest_entry.min(upto + 1),
            None => newest_entry,
        };
        let mut applied = 0;
        for rec in records.iter().filter(|r| r.number >= start) {
            let ops = |bytes: &[u8]| -> StoreResult<Vec<Op>> {
                if bytes.is_empty() {
                    return Ok(Vec::new());
                }
                decode_entry(bytes).map_err(|e| {
                    damaged(
                        dir,
                        &format!("write-ahead log record {}: {}", rec.number, e.0),
                    )
                })
            };
            let failed = |e| bodies::failed(dir, &e);
            for (k, v) in ops(&rec.cold_puts)? {
                if let Some(v) = v {
                    bodies.put(&k, &v).map_err(failed)?;
                }
            }
            if let Some(entry) = &rec.entry {
                sled.journal
                    .insert(entry_key(rec.number), entry.as_slice())
                    .map_err(|e| describe(dir, &e))?;
            }
            for (k, _) in ops(&rec.cold_removes)? {
                bodies.remove(&k).map_err(failed)?;
            }
            applied += 1;
        }
        // Every cold write of the log is in the segments now (synced before the record that
        // says so), and the log is about to start afresh:
        // the checkpoint record moves up to the newest write-out, and a directory that had
        // none (new, or format 3) gets one.
        let upto = records.last().map_or(0, |r| r.number).max(newest_entry);
        bodies::sync_now(bodies).map_err(|e| bodies::failed(dir, &e))?;
        sled.meta
            .insert(COLD_UPTO_KEY, &upto.to_be_bytes())
            .map_err(|e| describe(dir, &e))?;
        sled.db.flush().map_err(|e| describe(dir, &e))?;
        Ok((applied, upto))
    }

    fn wal(&self) -> MutexGuard<'_, Wal> {
        self.wal.lock().expect("store log lock")
    }

    /// A failed log write or sync fails the store (see [`State::failed`]).
    fn wal_failed(&self, e: &io::Error) -> StoreError {
        self.fail(StoreError(format!(
            "the store's write-ahead log in {} failed: {e}",
            self.dir.display()
        )))
    }

    /// Writes a taken write-out to the log, durably, before it goes to sled: sled and the
    /// segments (synced by a checkpoint at any time) must never hold a journal entry, nor a
    /// cold write, that
    /// the log's replay could not complete. `Ok(false)`: it could not go to the log (larger
    /// than a file), so the caller must flush sled after inserting it. The caller holds the
    /// writer lock (write-outs reach the log in order).
    pub(super) fn log_write_out(&self, sled: &Sled, out: &WriteOut) -> StoreResult<bool> {
        let Some(number) = out.number else {
            return Ok(true);
        };
        let logged = self.append_write_out(sled, out, number)?;
        if logged {
            self.sync_wal()?;
            if out.cold.has_writes() {
                self.state().cold.logged(number, now());
            }
        }
        Ok(logged)
    }

    /// [`Inner::log_write_out`]'s append, not synced.
    fn append_write_out(&self, sled: &Sled, out: &WriteOut, number: u64) -> StoreResult<bool> {
        let rec = Record {
            number,
            entry: out.entry.as_ref().map(|(_, bytes)| bytes.clone()),
            cold_puts: out.cold.log_puts.clone(),
            cold_removes: out.cold.log_removes.clone(),
        };
        loop {
            let appended = self.wal().append(&rec);
            match appended.map_err(|e| self.wal_failed(&e))? {
                Appended::Done => return Ok(true),
                Appended::TooLarge => return Ok(false),
                Appended::NeedsCheckpoint => {
                    // Every write-out before this one is in sled (the writer lock is held).
                    let upto = number - 1;
                    self.flush_sled(sled, upto)?;
                }
            }
        }
    }

    /// Makes every record appended so far durable.
    pub(super) fn sync_wal(&self) -> StoreResult<()> {
        let synced = self.wal().sync();
        synced.map_err(|e| self.wal_failed(&e))
    }

    /// After sled was flushed with every write-out up to `upto`.
    pub(super) fn wal_checkpointed(&self, upto: u64) {
        self.wal().checkpointed(upto);
    }

    /// Whether the log needs a checkpoint soon (see [`Wal::needs_checkpoint`]).
    pub(super) fn wal_filling(&self) -> bool {
        self.wal().needs_checkpoint()
    }

    /// Starts the log afresh once the journal was rewritten (and flushed) from memory.
    pub(super) fn reset_wal(&self) -> StoreResult<()> {
        self.wal().reset().map_err(|e| {
            StoreError(format!(
                "the store's write-ahead log in {} failed: {e}",
                self.dir.display()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(number: u64, entry: Option<&[u8]>) -> Record {
        let mut puts = vec![ENTRY_V1];
        encode_op(&mut puts, format!("m{number}").as_bytes(), Some(b"body"));
        Record {
            number,
            entry: entry.map(<[u8]>::to_vec),
            cold_puts: puts,
            cold_removes: Vec::new(),
        }
    }

    fn read(dir: &Path) -> Vec<Record> {
        read_with(dir, 64 * 1024)
    }

    fn read_with(dir: &Path, segment_bytes: u64) -> Vec<Record> {
        Wal::open(dir, segment_bytes).unwrap().1
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_is_cut_not_misread() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, found) = Wal::open(dir.path(), 64 * 1024).unwrap();
            assert!(found.is_empty());
            wal.reset().unwrap();
            for n in 1..=3 {
                assert_eq!(wal.append(&rec(n, Some(b"\x01e"))).unwrap(), Appended::Done);
            }
            assert!(read(dir.path()).is_empty(), "in memory until synced");
            wal.sync().unwrap();
        }
        let found = read(dir.path());
        assert_eq!(
            found,
            vec![
                rec(1, Some(b"\x01e")),
                rec(2, Some(b"\x01e")),
                rec(3, Some(b"\x01e"))
            ]
        );
        // Tear the last record: flip a byte of its payload, then cut it short.
        let path = dir.path().join("wal/0");
        let mut bytes = std::fs::read(&path).unwrap();
        let mut one = Vec::new();
        encode_record(&mut one, 1, &rec(1, Some(b"\x01e")));
        let third = HEADER_BYTES as usize + 2 * one.len();
        bytes[third + RECORD_HEADER + 2] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            read(dir.path()).len(),
            2,
            "a record failing its CRC ends the log"
        );
        bytes[third + RECORD_HEADER + 2] ^= 0xff;
        bytes.truncate(third + RECORD_HEADER + 3);
        bytes.resize(64 * 1024, 0);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read(dir.path()).len(), 2, "a record cut short ends the log");
    }

    #[test]
    fn a_full_file_switches_only_once_the_other_is_checkpointed_and_old_records_go() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), 8 * 1024).unwrap();
        wal.reset().unwrap();
        let big = vec![7u8; 1500];
        let mut n = 0;
        let mut needs = None;
        for _ in 0..20 {
            n += 1;
            let r = rec(n, Some(&big));
            match wal.append(&r).unwrap() {
                Appended::Done => {}
                Appended::NeedsCheckpoint => {
                    needs = Some(n);
                    break;
                }
                Appended::TooLarge => panic!("fits"),
            }
        }
        // File 0 filled, file 1 took the next ones, then file 0 still held unflushed records.
        let blocked = needs.expect("the writer had to checkpoint");
        assert!(
            wal.needs_checkpoint(),
            "file 1 half full, file 0 not checkpointed"
        );
        wal.sync().unwrap();
        let before = read_with(dir.path(), 8 * 1024);
        assert_eq!(before.first().unwrap().number, 1);
        assert_eq!(before.last().unwrap().number, blocked - 1);
        wal.checkpointed(blocked - 1);
        assert!(!wal.needs_checkpoint());
        assert_eq!(
            wal.append(&rec(blocked, Some(&big))).unwrap(),
            Appended::Done
        );
        wal.sync().unwrap();
        // File 0 was recycled: its old records are gone, file 1's and the new one remain.
        let after = read_with(dir.path(), 8 * 1024);
        assert!(
            after.first().unwrap().number > 1,
            "recycled records are not read again"
        );
        assert_eq!(after.last().unwrap().number, blocked);
        let numbers: Vec<u64> = after.iter().map(|r| r.number).collect();
        let first = numbers[0];
        assert_eq!(numbers, (first..=blocked).collect::<Vec<_>>(), "contiguous");
        assert_eq!(
            wal.append(&rec(blocked + 1, Some(&vec![0u8; 9000])))
                .unwrap(),
            Appended::TooLarge
        );
    }

    /// Copies the files of `from` into `to`: only the log (`wal`), or all but the log.
    fn copy_dir(from: &Path, to: &Path, log: bool) {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if (entry.file_name() == "wal") == log {
                copy_all(&entry.path(), &to.join(entry.file_name()));
            }
        }
    }

    fn copy_all(from: &Path, to: &Path) {
        if from.is_dir() {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                copy_all(&entry.path(), &to.join(entry.file_name()));
            }
        } else {
            std::fs::copy(from, to).unwrap();
        }
    }

    /// A crash after a flush (the log synced) but before sled's checkpoint: sled's files hold
    /// only the state before the write, the log has it; the open replays it, body and index.
    #[test]
    fn a_write_only_in_the_log_is_replayed_into_sled_on_open() {
        use crate::store::{keys, Store, WriteBatch};
        let live = tempfile::tempdir().unwrap();
        let before = tempfile::tempdir().unwrap();
        let crashed = tempfile::tempdir().unwrap();
        let store = SledStore::open(live.path()).unwrap();
        let mut b = WriteBatch::new();
        b.put(b"q/first".to_vec(), b"one".to_vec());
        store.apply(b).unwrap();
        store.flush().unwrap();
        store.inner.checkpoint().unwrap();
        // sled's files as a crash right now would leave them (the write is flushed in sled).
        copy_dir(live.path(), before.path(), false);
        copy_dir(live.path(), crashed.path(), false);
        let (body, index) = (keys::message(3, 9), keys::message_index(3, 9));
        let mut b = WriteBatch::new();
        b.put(body.clone(), b"the body".to_vec());
        b.put(index.clone(), b"idx".to_vec());
        b.delete(b"q/first".to_vec());
        store.apply(b).unwrap();
        store.flush().unwrap();
        // The log as the acknowledged flush left it, beside sled's older files.
        copy_dir(live.path(), crashed.path(), true);
        drop(store);

        let without_log = SledStore::open(before.path()).unwrap();
        assert_eq!(
            without_log.get(&index).unwrap(),
            None,
            "sled alone lacks it"
        );
        assert!(without_log.get(b"q/first").unwrap().is_some());
        drop(without_log);

        let reopened = SledStore::open(crashed.path()).unwrap();
        assert_eq!(reopened.get(&index).unwrap().as_deref(), Some(&b"idx"[..]));
        assert_eq!(
            reopened.get(&body).unwrap().as_deref(),
            Some(&b"the body"[..])
        );
        assert_eq!(
            reopened.get(b"q/first").unwrap(),
            None,
            "the delete is replayed too"
        );
        drop(reopened);
        // Replayed, flushed and the log started afresh: the same again without the log.
        std::fs::remove_dir_all(crashed.path().join("wal")).unwrap();
        let again = SledStore::open(crashed.path()).unwrap();
        assert_eq!(again.get(&body).unwrap().as_deref(), Some(&b"the body"[..]));
        assert_eq!(again.get(b"q/first").unwrap(), None);
    }

    /// Applies a message's body and index record, returning their keys.
    fn put_message(
        store: &SledStore,
        (queue, seq): (u64, u64),
        body: &[u8],
        index: &[u8],
    ) -> (Vec<u8>, Vec<u8>) {
        use crate::store::{keys, Store, WriteBatch};
        let keys = (keys::message(queue, seq), keys::message_index(queue, seq));
        let mut b = WriteBatch::new();
        b.put(keys.0.clone(), body.to_vec());
        b.put(keys.1.clone(), index.to_vec());
        store.apply(b).unwrap();
        keys
    }

    /// A crash once sled has flushed journal entries newer than the last checkpoint (sled
    /// flushes for compaction, a too large write-out, or its own reasons): the bodies of
    /// those write-outs are in the log only, and the replay starts at the checkpoint's
    /// record, not at sled's newest entry.
    #[test]
    fn bodies_not_checkpointed_are_replayed_though_sled_has_newer_entries() {
        use crate::store::{Store, WriteBatch};
        let live = tempfile::tempdir().unwrap();
        let crashed = tempfile::tempdir().unwrap();
        let store = SledStore::open(live.path()).unwrap();
        store.inner.checkpoint().unwrap();
        // No move of cold writes nor checkpoint until the copy is taken.
        let no_move = store.inner.checkpoint.lock().unwrap();
        let (body, index) = put_message(&store, (3, 9), b"the body", b"idx");
        store.flush().unwrap();
        let mut b = WriteBatch::new();
        b.put(b"q/later".to_vec(), b"hot".to_vec());
        store.apply(b).unwrap();
        store.flush().unwrap();
        let sled = store.inner.sled().unwrap();
        sled.db.flush().unwrap();
        assert_eq!(
            store.inner.bodies().len(),
            0,
            "the body waits for a checkpoint"
        );
        assert!(sled.journal.len() >= 2, "both entries are in sled");
        copy_all(live.path(), crashed.path());
        drop(no_move);
        drop((sled, store));

        let reopened = SledStore::open(crashed.path()).unwrap();
        assert_eq!(reopened.get(&index).unwrap().as_deref(), Some(&b"idx"[..]));
        assert_eq!(
            reopened.get(&body).unwrap().as_deref(),
            Some(&b"the body"[..]),
            "the body is replayed from the log"
        );
        assert_eq!(
            reopened.get(b"q/later").unwrap().as_deref(),
            Some(&b"hot"[..])
        );
    }

    /// The background writer's write-out (relaxed durability: nobody flushes) reaches sled
    /// only once it is durable in the log, so a checkpoint that flushes sled right then (its
    /// index record on disk, its body still waiting to move) leaves nothing the replay cannot
    /// complete.
    #[test]
    fn an_entry_in_sled_always_has_its_log_record() {
        use crate::store::Store;
        let live = tempfile::tempdir().unwrap();
        let crashed = tempfile::tempdir().unwrap();
        let store = SledStore::open(live.path()).unwrap();
        // No move of cold writes nor checkpoint until the copy is taken.
        let no_move = store.inner.checkpoint.lock().unwrap();
        let (body, index) = put_message(&store, (4, 1), b"relaxed body", b"idx");
        store.inner.write_pending().unwrap();
        let sled = store.inner.sled().unwrap();
        sled.db.flush().unwrap();
        assert!(store.inner.bodies().find(&body).is_none(), "not moved yet");
        copy_all(live.path(), crashed.path());
        drop(no_move);
        drop((sled, store));
        let reopened = SledStore::open(crashed.path()).unwrap();
        assert_eq!(reopened.get(&index).unwrap().as_deref(), Some(&b"idx"[..]));
        assert_eq!(
            reopened.get(&body).unwrap().as_deref(),
            Some(&b"relaxed body"[..])
        );
    }

    /// A write-out too large for the log goes to sled in the order that is consistent by
    /// itself, with every write-out before it checkpointed: sled's files alone have them all
    /// once its flush returned.
    #[test]
    fn a_write_out_too_large_for_the_log_is_in_sled_alone_once_flushed() {
        use crate::store::{Store, WriteBatch};
        let live = tempfile::tempdir().unwrap();
        let crashed = tempfile::tempdir().unwrap();
        let store = SledStore::open(live.path()).unwrap();
        let (small, small_index) = put_message(&store, (3, 1), b"small body", b"idx 1");
        store.flush().unwrap();
        let big = vec![7u8; SEGMENT_BYTES as usize + 4096];
        let (large, large_index) = put_message(&store, (3, 2), &big, b"idx 2");
        let mut b = WriteBatch::new();
        b.delete(small.clone());
        b.delete(small_index.clone());
        store.apply(b).unwrap();
        store.flush().unwrap();
        // sled's files as they are now, without the log.
        copy_dir(live.path(), crashed.path(), false);
        drop(store);
        let reopened = SledStore::open(crashed.path()).unwrap();
        assert_eq!(
            reopened.get(&large_index).unwrap().as_deref(),
            Some(&b"idx 2"[..])
        );
        assert_eq!(reopened.get(&large).unwrap(), Some(big));
        assert_eq!(reopened.get(&small).unwrap(), None);
        assert_eq!(reopened.get(&small_index).unwrap(), None);
    }

    #[test]
    fn an_open_starts_new_epochs_so_nothing_is_replayed_twice() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, _) = Wal::open(dir.path(), 64 * 1024).unwrap();
            wal.reset().unwrap();
            wal.append(&rec(5, None)).unwrap();
            wal.sync().unwrap();
        }
        let (mut wal, found) = Wal::open(dir.path(), 64 * 1024).unwrap();
        assert_eq!(found.len(), 1);
        wal.reset().unwrap();
        drop(wal);
        assert!(read(dir.path()).is_empty());
    }
}
