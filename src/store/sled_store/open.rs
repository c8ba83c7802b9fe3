//! Opening a data directory: sled and its trees, the format version, the legacy layouts.

use super::*;

/// Opens sled over `dir`, and its journal and messages trees.
pub(super) fn open_sled(dir: &Path) -> StoreResult<Sled> {
    let db = open_db(dir)?;
    let journal = db.open_tree("journal").map_err(|e| describe(dir, &e))?;
    let messages = db.open_tree("messages").map_err(|e| describe(dir, &e))?;
    Ok(Sled {
        db,
        journal,
        messages,
    })
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
pub(super) fn check_format(db: &sled::Db, journal: &sled::Tree, dir: &Path) -> StoreResult<u32> {
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
