//! The disk probe: how many small synchronous writes per second the disk under a directory
//! takes, measured the way a write-ahead log writes — 4 KiB `pwrite`s into a preallocated file,
//! each made durable before the next — so that a durable server's one-connection send rate can
//! be compared with what the disk itself allows, in the same run.
//!
//! Two methods, alternated in short rounds (this disk is shared, and its rate swings between
//! rounds): `pwrite` + `fdatasync`, and `pwrite` on a file opened with `O_DSYNC`. The best
//! method's rate is the disk's rate. Both flush a drive's volatile write cache. A third,
//! `O_DIRECT` `pwrite` (the data reaches the device, its cache is not flushed: what cauda's
//! write-ahead log and sled's `sync_file_range` guarantee), is measured in the same rounds and
//! reported beside them, not counted in the disk's rate.
//!
//! Included by a bench binary with `#[path = "common/disk.rs"] mod disk;`.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// Bytes per write.
pub(crate) const WRITE_BYTES: usize = 4096;
/// Rounds per method; the methods alternate.
const ROUNDS: u32 = 4;

/// One method's figures over its rounds.
#[derive(Debug, Clone)]
pub(crate) struct MethodRate {
    pub(crate) method: &'static str,
    pub(crate) writes: u64,
    pub(crate) secs: f64,
    /// Writes/s of each round, in order.
    pub(crate) rounds: Vec<f64>,
}

impl MethodRate {
    pub(crate) fn per_sec(&self) -> f64 {
        if self.secs > 0.0 {
            self.writes as f64 / self.secs
        } else {
            0.0
        }
    }
}

/// The probe's result: each method, and the disk's rate (the best method's).
#[derive(Debug, Clone)]
pub(crate) struct DiskRate {
    pub(crate) methods: Vec<MethodRate>,
    /// `O_DIRECT` writes (not counted in the disk's rate); `None` where the file system
    /// refuses `O_DIRECT`.
    pub(crate) direct: Option<MethodRate>,
}

impl DiskRate {
    pub(crate) fn writes_per_sec(&self) -> f64 {
        self.methods
            .iter()
            .map(MethodRate::per_sec)
            .fold(0.0, f64::max)
    }

    pub(crate) fn best_method(&self) -> &'static str {
        self.methods
            .iter()
            .max_by(|a, b| a.per_sec().total_cmp(&b.per_sec()))
            .map_or("none", |m| m.method)
    }
}

/// Measures `dir`'s disk: at most `max_writes` writes per method and about `max_time` in all.
/// The probe file (`dir/cauda-disk-probe.tmp`) is removed afterwards.
pub(crate) fn probe(dir: &Path, max_writes: u64, max_time: Duration) -> io::Result<DiskRate> {
    let path = dir.join("cauda-disk-probe.tmp");
    let result = probe_file(&path, max_writes.max(u64::from(ROUNDS)), max_time);
    let _ = std::fs::remove_file(&path);
    result
}

fn probe_file(path: &Path, max_writes: u64, max_time: Duration) -> io::Result<DiskRate> {
    let per_round = max_writes / u64::from(ROUNDS);
    let slots = per_round.max(1);
    // Preallocate (written and synced once), so that no measured write extends the file.
    {
        let f = File::create(path)?;
        let zeros = vec![0u8; WRITE_BYTES];
        for i in 0..slots {
            f.write_all_at(&zeros, i * WRITE_BYTES as u64)?;
        }
        f.sync_all()?;
    }
    let plain = OpenOptions::new().write(true).open(path)?;
    let dsync = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DSYNC)
        .open(path)?;
    let direct = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok();
    // O_DIRECT wants block-aligned memory: a block-aligned slice of a larger buffer.
    let mut raw = vec![0x5au8; 2 * WRITE_BYTES];
    let skew = raw.as_ptr().align_offset(WRITE_BYTES);
    let aligned = &mut raw[skew..skew + WRITE_BYTES];
    let mut direct_rate = MethodRate {
        method: "pwrite, O_DIRECT",
        writes: 0,
        secs: 0.0,
        rounds: Vec::new(),
    };
    let mut methods = [
        MethodRate {
            method: "pwrite + fdatasync",
            writes: 0,
            secs: 0.0,
            rounds: Vec::new(),
        },
        MethodRate {
            method: "pwrite, O_DSYNC",
            writes: 0,
            secs: 0.0,
            rounds: Vec::new(),
        },
    ];
    let round_time = max_time / (ROUNDS * (methods.len() as u32 + 1));
    let buf = vec![0x5au8; WRITE_BYTES];
    for _ in 0..ROUNDS {
        for (i, m) in methods.iter_mut().enumerate() {
            let started = Instant::now();
            let mut n = 0u64;
            while n < per_round && started.elapsed() < round_time {
                let at = (n % slots) * WRITE_BYTES as u64;
                if i == 0 {
                    plain.write_all_at(&buf, at)?;
                    plain.sync_data()?;
                } else {
                    dsync.write_all_at(&buf, at)?;
                }
                n += 1;
            }
            let secs = started.elapsed().as_secs_f64();
            m.writes += n;
            m.secs += secs;
            m.rounds
                .push(if secs > 0.0 { n as f64 / secs } else { 0.0 });
        }
        if let Some(f) = &direct {
            let started = Instant::now();
            let mut n = 0u64;
            while n < per_round && started.elapsed() < round_time {
                f.write_all_at(aligned, (n % slots) * WRITE_BYTES as u64)?;
                n += 1;
            }
            let secs = started.elapsed().as_secs_f64();
            direct_rate.writes += n;
            direct_rate.secs += secs;
            direct_rate
                .rounds
                .push(if secs > 0.0 { n as f64 / secs } else { 0.0 });
        }
    }
    Ok(DiskRate {
        methods: methods.to_vec(),
        direct: direct.map(|_| direct_rate),
    })
}
