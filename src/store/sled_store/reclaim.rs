//! Reclaiming journal space from its head: removing dead entries, and compacting the oldest
//! entries' live records into a new one when the journal outgrows the live data.

use super::*;

impl State {
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
            // Newest first: an entry may put a key twice, and a lean record's value is taken
            // from its latest put here.
            for (key, value) in ops.into_iter().rev() {
                let Some(value) = value else {
                    continue;
                };
                if keys::is_lean(&key) {
                    if self.lean.entry_of(&key) == Some(seq) {
                        encode_op(&mut copy, &key, Some(&value));
                        self.lean.moved(&key, copy_seq);
                        live += 1;
                    }
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
    pub(super) fn needs_urgent_compaction(&self) -> bool {
        self.journal_bytes > 4 * self.live_bytes + 4 * COMPACTION_SLACK
    }
}

impl Inner {
    /// Removes at most `max` dead head entries from sled, oldest first (a newer dead entry may
    /// hold the tombstone that hides an older one's put). Runs beside writers: a mass delete
    /// kills thousands of entries at once, and sled takes tens of microseconds per removal,
    /// which no flush should wait for.
    pub(super) fn remove_dead(&self, max: usize) -> StoreResult<()> {
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
    pub(super) fn compact(&self) -> StoreResult<()> {
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
        let out = state.take_pending();
        let copy_seq = state.pending_seq;
        state.pending_seq += 1;
        // P goes to the write-ahead log first, like every write-out (the copy entry need not:
        // it only moves records already durable, in one atomic batch with the removals).
        drop(state);
        let logged = self.log_write_out(&sled, &out)?;
        let unlogged = out.number.filter(|_| !logged);
        if let Some(number) = unlogged {
            self.before_unlogged(&sled, number)?;
        }
        let WriteOut {
            entry: written,
            dead,
            ..
        } = out;
        let mut state = self.state();
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
        if let Some(number) = unlogged {
            self.flush_sled(&sled, number)?;
        }
        drop(writer);
        let mut state = self.state();
        if let Some((_, bytes)) = written {
            state.keep_spare(bytes);
        }
        state.dead.extend(dead);
        Ok(())
    }
}
