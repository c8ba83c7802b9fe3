//! The segments' files: the record and hint formats, reading them back, syncing and deleting.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::SEGMENT_BYTES;

/// crc32, length, key.
pub(super) const HEADER: usize = 4 + 4 + KEY;
/// A cold key: prefix byte, queue id, seq.
pub(super) const KEY: usize = 17;
/// The length of a removal's record.
pub(super) const TOMBSTONE: u32 = u32::MAX;
/// Bits of a place holding the offset in its segment, and above them the value's length; the
/// top bits hold the segment's slot.
pub(super) const OFFSET_BITS: u32 = 26;
pub(super) const LEN_BITS: u32 = 24;
pub(super) const SLOT_BITS: u32 = 64 - OFFSET_BITS - LEN_BITS;
/// The largest value a record holds (a message is at most 1 MiB with its attributes); the
/// slot bits left allow 16,384 segments (1 TiB).
pub(super) const MAX_VALUE: usize = (1 << LEN_BITS) - 1;

/// One hint entry: offset (u32), length (u32), key.
pub(super) const HINT_ENTRY: usize = 4 + 4 + KEY;

pub(super) fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// A cold key's queue id and seq.
pub(super) fn ids(key: &[u8]) -> (u64, u64) {
    crate::store::keys::split_id_key(key).expect("a cold key is 17 bytes")
}

/// A record's place: its segment's slot, its offset there, and its value's length.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Place(u64);

impl Place {
    pub(super) fn new(slot: usize, offset: u64, len: usize) -> Place {
        debug_assert!(slot < 1 << SLOT_BITS && offset < 1 << OFFSET_BITS && len <= MAX_VALUE);
        Place(((slot as u64) << (OFFSET_BITS + LEN_BITS)) | ((len as u64) << OFFSET_BITS) | offset)
    }
    pub(super) fn slot(self) -> usize {
        (self.0 >> (OFFSET_BITS + LEN_BITS)) as usize
    }
    pub(super) fn offset(self) -> u64 {
        self.0 & ((1 << OFFSET_BITS) - 1)
    }
    pub(super) fn len(self) -> usize {
        ((self.0 >> OFFSET_BITS) & ((1 << LEN_BITS) - 1)) as usize
    }
    pub(super) fn record_bytes(self) -> u64 {
        (HEADER + self.len()) as u64
    }
}

/// A record read from a segment or its hint file: offset, length ([`TOMBSTONE`] for a
/// removal) and key.
pub(super) type Entry = (u64, u32, [u8; KEY]);

/// Where a value is: in the write buffer (copied), or in a file at an offset.
pub(crate) enum BodyAt {
    Copied(Vec<u8>),
    File(Arc<File>, u64, usize, [u8; KEY]),
}

impl BodyAt {
    /// Reads the value (outside the lock: a deleted segment's open file is still readable).
    pub(crate) fn read(self) -> io::Result<Vec<u8>> {
        match self {
            BodyAt::Copied(v) => Ok(v),
            BodyAt::File(file, offset, len, key) => {
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
pub(super) fn checks(record: &[u8]) -> bool {
    let crc = u32::from_le_bytes(record[..4].try_into().expect("4 bytes"));
    crc32fast::hash(&record[4..]) == crc
}

pub(super) fn encode_record(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
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
pub(super) struct Sealed {
    pub(super) file: Arc<File>,
    pub(super) hint_path: PathBuf,
    pub(super) hint: Vec<u8>,
}

/// A sync in progress: the files to sync and the writes it covers.
pub(super) struct SyncTicket {
    pub(super) sealed: Vec<Sealed>,
    pub(super) file: Arc<File>,
    pub(super) dir: Option<PathBuf>,
    pub(super) writes: u64,
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
    pub(super) dir: PathBuf,
    pub(super) generations: Vec<u64>,
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

pub(super) fn segment_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{generation:016x}.seg"))
}

pub(super) fn hint_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{generation:016x}.hint"))
}

/// Parses a segment's records up to the first that does not check (a torn tail); the end of
/// the last one.
pub(super) fn scan(bytes: &[u8]) -> (Vec<Entry>, u64) {
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

/// The generations of the segments in `dir`, oldest first.
pub(super) fn generations(dir: &Path) -> io::Result<Vec<u64>> {
    let mut generations = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(g) = name.strip_suffix(".seg") {
            generations.push(
                u64::from_str_radix(g, 16).map_err(|_| {
                    invalid(format!("{name} in {} is not a segment", dir.display()))
                })?,
            );
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
    Ok(generations)
}

/// Opens a segment and reads its records: from its hint file if it is `sealed` and has a
/// whole one, else from the segment, whose torn tail is cut off. The file, its records and
/// its length.
pub(super) fn load_segment(
    dir: &Path,
    generation: u64,
    sealed: bool,
) -> io::Result<(File, Vec<Entry>, u64)> {
    let path = segment_path(dir, generation);
    let file = OpenOptions::new().read(true).write(true).open(&path)?;
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
        // A torn tail (of a segment sealed after the last sync, too): what follows the last
        // whole record was never synced, and the write-ahead log's replay writes again what
        // it held, or its originals are still in older segments.
        file.set_len(end)?;
    }
    Ok((file, entries, end))
}

/// A sealed segment's hint entries, if its hint file is whole.
pub(super) fn read_hint(path: &Path) -> Option<Vec<Entry>> {
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

pub(super) fn push_hint(hint: &mut Vec<u8>, offset: u64, len: u32, key: &[u8]) {
    hint.extend_from_slice(&(offset as u32).to_le_bytes());
    hint.extend_from_slice(&len.to_le_bytes());
    hint.extend_from_slice(key);
}

const _: () = assert!(SEGMENT_BYTES <= 1 << OFFSET_BITS);
