//! Opening a data directory: sled and its trees, the format version, the journal's replay,
//! the legacy layouts, and the start of the background writer.

use super::*;

impl SledStore {
    /// Opens the store in `dir`; a format 1 directory's cold records move to the segments
    /// without index records (see [`SledStore::open_with_index`]).
    pub fn open(dir: &Path) -> StoreResult<Self> {
        Self::open_with_index(dir, None)
    }

    /// Opens the store in `dir`; migrating a format 1 directory, `index_of` gives each cold
    /// record's index record, written in the same write-out.
    pub fn open_with_index(dir: &Path, index_of: Option<IndexOf>) -> StoreResult<Self> {
        #[allow(
            clippy::disallowed_methods,
            reason = "timing the open for the log (recovery time)"
        )]
        let started = std::time::Instant::now();
        let sled = open_sled(dir)?;
        // Before the log is touched: a newer cauda's directory is refused as it is.
        let format = check_format(&sled.db, &sled.journal, dir)?;
        // Write-outs acknowledged through the log but not yet in sled's flushed state first.
        let (mut wal, records) = wal::Wal::open(dir, wal::SEGMENT_BYTES)
            .map_err(|e| StoreError(format!("the store in {} failed: {e}", dir.display())))?;
        let mut bodies =
            bodies::Bodies::open(&dir.join("bodies")).map_err(|e| bodies::failed(dir, &e))?;
        let migrated = migrate_messages(&sled, &mut bodies, dir)?;
        let (replayed, cold_upto) = Inner::replay_wal(&sled, &mut bodies, dir, &records)?;
        wal.reset()
            .map_err(|e| StoreError(format!("the store in {} failed: {e}", dir.display())))?;
        let Sled {
            db,
            journal,
            messages,
            meta,
        } = sled;
        let sled_opened = started.elapsed();
        let legacy = !db.is_empty();
        let state = replay(&db, &journal, dir, format)?;
        tracing::info!(
            sled_open_ms = sled_opened.as_millis() as u64,
            replay_ms = (started.elapsed() - sled_opened).as_millis() as u64,
            records = state.map.len() + state.lean.len(),
            journal_entries = state.entries.len(),
            wal_records_replayed = replayed,
            bodies = bodies.len(),
            bodies_migrated = migrated,
            "store opened"
        );
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            sled: RwLock::new(Some(Sled {
                db,
                journal,
                messages,
                meta,
            })),
            last_recovery: Mutex::new(None),
            state: Mutex::new(state),
            writer: Mutex::new(()),
            wal: Mutex::new(wal),
            checkpoint: Mutex::new(Checkpoints {
                recorded: cold_upto,
                applied: cold_upto,
            }),
            reclaim: Mutex::new(()),
            bodies: Mutex::new(bodies),
            bodies_sync: Mutex::new(()),
        });
        if legacy {
            inner.migrate_legacy()?;
        }
        if format < 2 {
            inner.migrate_cold(index_of)?;
        }
        let (stop, background) = spawn_background(inner.clone())?;
        Ok(SledStore {
            inner,
            stop: Some(stop),
            background: Some(background),
        })
    }
}

/// Write-outs since the open after which a clean close reopens sled once (see
/// [`Inner::snapshot_on_close`]).
const SNAPSHOT_AFTER_WRITE_OUTS: u64 = 10_000;

impl Inner {
    /// At a clean close, after the last checkpoint: sled 0.34 writes a snapshot of its page
    /// table only when it opens, after scanning all of its log written since the previous
    /// one (every body written since: 4-6 s after a fill of 10,000,000 messages), so after
    /// [`SNAPSHOT_AFTER_WRITE_OUTS`] write-outs sled is reopened here once, and the next open
    /// reads that snapshot instead. A crash skips it, and a failure here only leaves the next
    /// open its scan.
    pub(super) fn snapshot_on_close(&self) {
        let written = {
            let state = self.state();
            state.pending_seq.saturating_sub(state.lean.opened_at())
        };
        if written < SNAPSHOT_AFTER_WRITE_OUTS {
            return;
        }
        #[allow(
            clippy::disallowed_methods,
            reason = "timing the close for the log (restart time)"
        )]
        let started = std::time::Instant::now();
        let taken = self
            .sled
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(sled) = taken else {
            return;
        };
        drop(sled);
        match open_db(&self.dir) {
            Ok(db) => {
                drop(db);
                tracing::info!(
                    write_outs = written,
                    reopen_ms = started.elapsed().as_millis() as u64,
                    "store reopened at close: the next open reads sled's snapshot"
                );
            }
            Err(e) => tracing::warn!(error = %e, "reopening the store at close failed"),
        }
    }
}

/// Rebuilds the live records from sled: the records of the earlier one-key-per-record layout
/// (the default tree) first, since the journal is newer, then the journal's entries in order.
fn replay(db: &sled::Db, journal: &sled::Tree, dir: &Path, format: u32) -> StoreResult<State> {
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
        cold: Cold::default(),
        lean: Lean::replaying(),
    };
    for pair in db.iter() {
        let (k, v) = pair.map_err(err)?;
        state.apply_op(k.to_vec(), Some(v.to_vec()), 0);
    }
    for pair in journal.iter() {
        let (k, v) = pair.map_err(err)?;
        let seq =
            u64::from_be_bytes(k.as_ref().try_into().map_err(|_| {
                damaged(dir, &format!("a journal key is {} bytes, not 8", k.len()))
            })?);
        let corrupt = |e: &dyn std::fmt::Display| {
            damaged(dir, &format!("journal entry {seq} does not decode: {e}"))
        };
        let Some((&ENTRY_V1, mut rest)) = v.split_first() else {
            return Err(corrupt(&"unknown journal entry format"));
        };
        // Decoded in place: lean records (most of a backlog's) are applied without copying
        // their keys and values out first.
        while !rest.is_empty() {
            type OpRef<'a> = (&'a [u8], Option<&'a [u8]>);
            let ((key, value), tail) = postcard::take_from_bytes::<OpRef>(rest)
                .map_err(|e| corrupt(&format!("corrupt journal entry: {e}")))?;
            rest = tail;
            if keys::is_lean(key) {
                state.apply_lean(key, value, seq);
            } else if format < 2 || !keys::is_cold(key) {
                // From format 2 on, a cold record in the journal is one a migration moved
                // out (and maybe changed since): stale.
                state.apply_op(key.to_vec(), value.map(<[u8]>::to_vec), seq);
            }
        }
        let stat = state.entries.entry(seq).or_default();
        stat.bytes = v.len() as u64;
        state.journal_bytes += stat.bytes;
        state.pending_seq = seq + 1;
    }
    state.lean.opened(state.pending_seq - 1);
    Ok(state)
}

/// Starts the background writer: a round every [`WRITE_INTERVAL`] until the returned sender
/// is dropped.
fn spawn_background(worker: Arc<Inner>) -> StoreResult<(mpsc::Sender<()>, JoinHandle<()>)> {
    let (stop, stopped) = mpsc::channel::<()>();
    let background = std::thread::Builder::new()
        .name("cauda-store".into())
        .spawn(move || {
            let mut round: u32 = 0;
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(WRITE_INTERVAL) {
                round = round.wrapping_add(1);
                if let Err(e) = worker.background_round(round) {
                    super::super::log_failure("store background write failed", &e);
                }
            }
        })
        .map_err(|e| StoreError(e.to_string()))?;
    Ok((stop, background))
}

/// Moves the cold records of a format 2–4 directory from sled's `messages` tree to the
/// segments (before the write-ahead log's replay, whose cold writes are newer): copied,
/// synced, then removed from the tree, flushed. An open interrupted half way copies them
/// again (the later copies win; the earlier ones are dead). How many it moved.
fn migrate_messages(sled: &Sled, bodies: &mut bodies::Bodies, dir: &Path) -> StoreResult<usize> {
    let failed = |e| bodies::failed(dir, &e);
    let mut moved = 0;
    for pair in sled.messages.iter() {
        let (k, v) = pair.map_err(|e| describe(dir, &e))?;
        if !keys::is_cold(&k) {
            return Err(damaged(
                dir,
                "its messages tree holds a key that is not a body's",
            ));
        }
        bodies.put(&k, &v).map_err(failed)?;
        moved += 1;
    }
    if moved == 0 {
        return Ok(0);
    }
    bodies::sync_now(bodies).map_err(failed)?;
    sled.messages.clear().map_err(|e| describe(dir, &e))?;
    sled.db.flush().map_err(|e| describe(dir, &e))?;
    tracing::info!(
        moved,
        "moved the message bodies out of sled, to their own segment files"
    );
    Ok(moved)
}

/// Opens sled over `dir`, and its trees.
pub(super) fn open_sled(dir: &Path) -> StoreResult<Sled> {
    let db = open_db(dir)?;
    let tree = |name: &str| db.open_tree(name).map_err(|e| describe(dir, &e));
    let (journal, messages, meta) = (tree("journal")?, tree("messages")?, tree("meta")?);
    Ok(Sled {
        db,
        journal,
        messages,
        meta,
    })
}

/// The last write-out whose cold writes a checkpoint recorded as all in sled, if one did.
pub(super) fn cold_upto(sled: &Sled, dir: &Path) -> StoreResult<Option<u64>> {
    match sled
        .meta
        .get(COLD_UPTO_KEY)
        .map_err(|e| describe(dir, &e))?
    {
        None => Ok(None),
        Some(v) => <[u8; 8]>::try_from(v.as_ref())
            .map(|b| Some(u64::from_be_bytes(b)))
            .map_err(|_| damaged(dir, "its checkpoint record is not a write-out number")),
    }
}

/// Writes the data directory's format version.
fn write_format(db: &sled::Db, dir: &Path, version: u32) -> StoreResult<()> {
    let meta = db.open_tree("meta").map_err(|e| describe(dir, &e))?;
    meta.insert(FORMAT_KEY, &version.to_be_bytes())
        .map_err(|e| describe(dir, &e))?;
    Ok(())
}

/// The directory's format version. Refuses a newer one; a directory without a format record
/// is version 1 if it holds records (it predates the record), and a new one otherwise, which
/// gets the current version.
fn check_format(db: &sled::Db, journal: &sled::Tree, dir: &Path) -> StoreResult<u32> {
    let meta = db.open_tree("meta").map_err(|e| describe(dir, &e))?;
    match meta.get(FORMAT_KEY).map_err(|e| describe(dir, &e))? {
        None if db.is_empty() && journal.is_empty() => {
            write_format(db, dir, STORE_FORMAT)?;
            Ok(STORE_FORMAT)
        }
        None => Ok(1),
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
            if (2..STORE_FORMAT).contains(&version) {
                // Formats 3 and 4 only change how the write-ahead log is written and replayed,
                // and format 5's conversion (`migrate_messages`) follows on every open that
                // finds bodies in sled; but from now on a cauda that would replay the log the
                // old way (or ignore it, or the segments) must refuse the directory.
                write_format(db, dir, STORE_FORMAT)?;
                db.flush().map_err(|e| describe(dir, &e))?;
                return Ok(STORE_FORMAT);
            }
            Ok(version)
        }
    }
}

/// Opens sled over `dir`. sled locks its files, and a database just closed in this process
/// releases the lock from sled's own threads a moment later (sled's tests block on the lock
/// for the same reason), so a failure to lock is retried for up to two seconds; a lock that
/// another live process holds still fails then, naming the directory.
pub(super) fn open_db(dir: &Path) -> StoreResult<sled::Db> {
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
    pub(super) fn migrate_legacy(&self) -> StoreResult<()> {
        {
            let mut guard = self.state();
            let state = &mut *guard;
            let seq = state.pending_seq;
            for (k, slot) in state.map.iter_mut() {
                encode_op(&mut state.pending, k, Some(&slot.value));
                slot.entry = seq;
            }
            // At the open every lean value is in memory (the engine has not recovered yet).
            let lean: Vec<lean::LeanKey> = state.lean.iter().map(|(k, _)| *k).collect();
            for k in &lean {
                let value = state
                    .lean
                    .value(k)
                    .expect("lean values are in memory at the open");
                encode_op(&mut state.pending, k, Some(value));
                state.lean.moved(k, seq);
            }
            // Every record now lives in the pending entry; the journal entries replayed on top
            // of the legacy records (if any) stay until the head reclaim removes them.
            for stat in state.entries.values_mut() {
                stat.live = 0;
            }
            state.entries.entry(seq).or_default().live =
                (state.map.len() + state.lean.len()) as u64;
        }
        self.write_pending()?;
        let db = self.sled()?.db;
        db.flush().map_err(err)?;
        db.clear().map_err(err)?;
        db.flush().map_err(err)?;
        tracing::info!("migrated the store to the journal layout");
        Ok(())
    }

    /// Format 1 → 2: every cold record leaves the journal (and memory) for the `messages`
    /// tree, with the index record `index_of` gives it, in one write-out; once that is flushed
    /// the format record says 2 (and replay ignores the cold records left in old entries). A
    /// crash before repeats the migration on the next open, to the same result.
    pub(super) fn migrate_cold(&self, index_of: Option<IndexOf>) -> StoreResult<()> {
        let moved = {
            let mut guard = self.state();
            let state = &mut *guard;
            let seq = state.pending_seq;
            let cold: Vec<Vec<u8>> = state
                .map
                .keys()
                .filter(|k| keys::is_cold(k))
                .cloned()
                .collect();
            for key in &cold {
                let Some(slot) = state.map.get(key) else {
                    continue;
                };
                let value = slot.value.clone();
                if let Some((index_key, index)) = index_of.map_or(Ok(None), |f| f(key, &value))? {
                    encode_op(&mut state.pending, &index_key, Some(&index));
                    state.apply_op(index_key, Some(index), seq);
                }
                // Out of the map without a tombstone: from format 2 on, replay skips it.
                state.apply_op(key.clone(), None, seq);
                state.cold.apply(key.clone(), Some(value), seq);
            }
            cold.len()
        };
        let upto = self.write_pending()?;
        let sled = self.sled()?;
        self.flush_sled(&sled, upto)?;
        write_format(&sled.db, &self.dir, STORE_FORMAT)?;
        sled.db.flush().map_err(err)?;
        tracing::info!(
            moved,
            "migrated the store to format {STORE_FORMAT}: message bodies on disk only"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sled's snapshot files in `dir`.
    fn snapshots(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("snap."))
            .collect();
        names.sort();
        names
    }

    /// After many write-outs a clean close reopens sled, which writes a new snapshot (the
    /// next open reads it instead of the log); after a few it does not; the data stays whole.
    #[test]
    fn a_clean_close_after_many_write_outs_leaves_a_fresh_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let write_outs = |store: &SledStore, n: u64, from: u64| {
            for i in from..from + n {
                let mut b = WriteBatch::new();
                b.put(format!("k{i:08}").into_bytes(), b"v".to_vec());
                store.apply(b).unwrap();
                store.inner.write_pending().unwrap();
            }
        };
        let store = SledStore::open(dir.path()).unwrap();
        write_outs(&store, 10, 0);
        let opened = snapshots(dir.path());
        drop(store);
        assert_eq!(snapshots(dir.path()), opened, "few write-outs: no reopen");

        let store = SledStore::open(dir.path()).unwrap();
        let opened = snapshots(dir.path());
        write_outs(&store, SNAPSHOT_AFTER_WRITE_OUTS, 10);
        drop(store);
        let closed = snapshots(dir.path());
        assert_ne!(closed, opened, "reopened at close: a newer snapshot");

        let store = SledStore::open(dir.path()).unwrap();
        let all = store.scan_prefix(b"k").unwrap();
        assert_eq!(all.len() as u64, SNAPSHOT_AFTER_WRITE_OUTS + 10);
        assert_eq!(store.get(b"k00000009").unwrap(), Some(b"v".to_vec()));
    }
}
