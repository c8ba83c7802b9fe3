//! When sled fails: a full disk (checked before sled meets one), any other failed call (the
//! store is *failed* until it recovers in place), and how each is told to the operator.

use std::collections::HashMap;

use super::lean::{EntryReader, LeanKey};
use super::*;

/// Whether `e` says the disk (or the user's quota on it) is full.
pub(super) fn is_disk_full(e: &sled::Error) -> bool {
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
pub(super) fn describe(dir: &Path, e: &sled::Error) -> StoreError {
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
pub(super) fn damaged(dir: &Path, what: &str) -> StoreError {
    let dir = dir.display();
    StoreError(format!(
        "the store in {dir} is damaged: {what}. cauda does not start on part of a journal: \
         restore a backup of {dir}, or move it away (e.g. `mv {dir} {dir}.damaged`) to start \
         with an empty store"
    ))
}

impl Inner {
    /// Marks the store failed by sled's `e` (see [`State::failed`]) and says what happened.
    pub(super) fn failed(&self, e: &sled::Error) -> StoreError {
        self.fail(describe(&self.dir, e))
    }

    /// Marks the store failed by `e` unless it already failed (the first failure stands);
    /// returns `e`.
    pub(super) fn fail(&self, e: StoreError) -> StoreError {
        self.state().failed.get_or_insert_with(|| e.0.clone());
        e
    }

    /// Whether the data directory's disk has room for `bytes` more and [`MIN_FREE_SPACE`]; a
    /// full disk is an error saying so.
    /// A disk whose free space cannot be read is assumed to have room.
    pub(super) fn has_room(&self, bytes: u64) -> StoreResult<()> {
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

    /// Recovers a failed store in place: reopens sled (which refuses every write after an IO
    /// error) and replaces the whole journal with one entry holding every live record, in one
    /// atomic batch, then flushes. Tried at most every [`RECOVERY_INTERVAL`]; until it
    /// succeeds, the failure stands.
    pub(super) fn recover(&self) -> StoreResult<()> {
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
        // The log starts afresh once the journal is rewritten and flushed: a record torn by the
        // failure must not end the log before records written after it.
        let rewritten = self
            .rewrite_journal(&sled)
            .and_then(|records| self.reset_wal().map(|()| records));
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

    /// Replaces every journal entry in `sled` by one holding the whole live map, and flushes;
    /// the segments are reopened as they are on disk, and every cold write not checkpointed
    /// is written to them again first (a failed write may have left it out). Lean values not
    /// in memory are flushed, hence in the entries read back from `sled` before they go.
    /// The count of records written. The caller holds the reclaim and writer locks.
    pub(super) fn rewrite_journal(&self, sled: &Sled) -> StoreResult<usize> {
        let mut checkpoints = self.checkpoint.lock().expect("store checkpoint lock");
        // Under the checkpoint lock: no move of cold writes straddles the reopen.
        let reopened = bodies::Bodies::open(&self.dir.join("bodies"))
            .map_err(|e| StoreError(format!("reopening the message bodies failed: {e}")))?;
        *self.bodies() = reopened;
        let old: Vec<sled::IVec> = sled
            .journal
            .iter()
            .keys()
            .collect::<Result<_, _>>()
            .map_err(err)?;
        let on_disk = old
            .last()
            .and_then(|k| <[u8; 8]>::try_from(k.as_ref()).ok())
            .map_or(0, u64::from_be_bytes);
        let fetched = self.lean_values_from(sled)?;
        let (seq, entry, records, cold) = {
            let mut guard = self.state();
            let state = &mut *guard;
            let seq = state.pending_seq.max(on_disk + 1);
            state.cold.take_all(seq);
            let (cold, _) = state.cold.due(seq - 1, seq, usize::MAX);
            let mut entry = vec![ENTRY_V1];
            for (k, slot) in state.map.iter_mut() {
                encode_op(&mut entry, k, Some(&slot.value));
                slot.entry = seq;
            }
            for (k, _) in state.lean.iter() {
                let value = state
                    .lean
                    .value(k)
                    .or_else(|| fetched.get(k).map(Vec::as_slice))
                    .ok_or_else(|| StoreError("a lean record's value was not found".into()))?;
                encode_op(&mut entry, k, Some(value));
            }
            state.lean.rewrite_to(seq);
            // The pending ops are in the map, hence in this entry.
            state.pending.clear();
            state.pending.push(ENTRY_V1);
            state.pending_seq = seq + 1;
            state.dead.clear();
            state.entries.clear();
            let bytes = entry.len() as u64;
            let records = state.map.len() + state.lean.len();
            state.entries.insert(
                seq,
                EntryStat {
                    bytes,
                    live: records as u64,
                },
            );
            state.journal_bytes = bytes;
            (seq, entry, records, cold)
        };
        let (puts, removes) = cold.split();
        self.apply_bodies(puts)?;
        let mut batch = sled::Batch::default();
        for k in old {
            batch.remove(k);
        }
        batch.insert(&entry_key(seq), entry);
        sled.journal.apply_batch(batch).map_err(err)?;
        self.apply_bodies(removes)?;
        self.sync_bodies()?;
        sled.meta
            .insert(COLD_UPTO_KEY, &seq.to_be_bytes())
            .map_err(err)?;
        sled.db.flush().map_err(err)?;
        checkpoints.recorded = seq;
        checkpoints.applied = seq;
        self.state().forget_flushed(seq, usize::MAX);
        Ok(records)
    }

    /// The values of the lean records that are not in memory, read from their journal
    /// entries in `sled`.
    fn lean_values_from(&self, sled: &Sled) -> StoreResult<HashMap<LeanKey, Vec<u8>>> {
        let wanted: Vec<(LeanKey, u64)> = {
            let state = self.state();
            state
                .lean
                .iter()
                .filter(|(k, _)| state.lean.value(k).is_none())
                .map(|(k, entry)| (*k, entry))
                .collect()
        };
        let mut fetched = HashMap::with_capacity(wanted.len());
        let mut reader = EntryReader::new(sled);
        for (k, entry) in wanted {
            fetched.insert(k, reader.value(&k, entry)?);
        }
        Ok(fetched)
    }
}
