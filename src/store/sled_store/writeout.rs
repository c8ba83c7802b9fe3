//! Write-outs: the pending ops become a journal entry, which goes to the write-ahead log
//! (durably: what a waiting write needs) and then to sled, unflushed, until a checkpoint.

use super::*;

/// What one write-out moves to the log and sled: its journal entry (if it has hot ops), its
/// cold writes (to the log only: they go to the segments later, see [`cold`]), the head entries it
/// made dead, and its write-out number.
pub(super) struct WriteOut {
    /// Its write-out number, if it writes anything.
    pub(super) number: Option<u64>,
    pub(super) entry: Option<(u64, Vec<u8>)>,
    pub(super) cold: ColdWrites,
    pub(super) dead: Vec<u64>,
}

/// A logged write-out's part that goes to sled: its journal entry, and the head entries it
/// made dead (they may go from sled once it is there).
pub(super) struct Unsled {
    entry: Option<(u64, Vec<u8>)>,
    dead: Vec<u64>,
}

impl State {
    /// The first journal entry not in sled yet, if any.
    pub(super) fn first_unsled(&self) -> Option<u64> {
        self.unsled
            .iter()
            .find_map(|u| u.entry.as_ref().map(|(seq, _)| *seq))
    }

    /// Takes the pending ops as the next entry, and the dead entries at the head of the
    /// journal (they may be removed from sled once that entry is in it).
    pub(super) fn take_pending(&mut self) -> WriteOut {
        let number =
            (self.pending.len() > 1 || self.cold.has_pending()).then_some(self.pending_seq);
        let mut cold = ColdWrites::default();
        if self.cold.has_pending() {
            cold = self.cold.take(self.pending_seq);
            if self.pending.len() <= 1 {
                // Cold writes alone still take a write-out number: writes after this one
                // belong to the next (see `Cold::flushed`).
                self.pending_seq += 1;
            }
        }
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
        WriteOut {
            number,
            entry: written,
            cold,
            dead,
        }
    }

    pub(super) fn keep_spare(&mut self, buffer: Vec<u8>) {
        if buffer.capacity() <= MAX_SPARE {
            self.spare = buffer;
        }
    }
}

impl Inner {
    /// Moves the pending ops to the write-ahead log, durably, and every logged journal entry
    /// into sled (unflushed; but sled is flushed when the write-out is too large for the log).
    /// Returns the number of the last write-out now in sled: a flush that starts after this
    /// makes every write-out up to it durable.
    pub(super) fn write_pending(&self) -> StoreResult<u64> {
        self.write_out(true)
    }

    /// Moves the pending ops to the write-ahead log, durably: what a waiting write needs. Their
    /// journal entry waits in `unsled` for the next [`Inner::write_pending`] or
    /// [`Inner::sled_logged`] (the flusher's tidy-up, or the background writer's round within
    /// [`WRITE_INTERVAL`]): the log's replay restores it after a crash, as it does an entry
    /// in sled but not flushed, and a checkpoint first puts every entry in sled. So a lone
    /// writer's reply waits for no sled insert.
    /// With `to_sled`, every logged entry goes to sled too. A failed store recovers first (or
    /// fails again); on a full disk nothing is written (the ops stay pending).
    pub(super) fn write_out(&self, to_sled: bool) -> StoreResult<u64> {
        if self.state().failed.is_some() {
            self.recover()?;
            return Ok(self.state().pending_seq - 1);
        }
        let pending = {
            let state = self.state();
            state.pending.len() as u64 + state.cold.pending_bytes()
        };
        // Checked for the journal entry's sled insert too, which follows within a round.
        self.has_room(pending.saturating_mul(2))?;
        let sled = self.sled()?;
        let writer = self.writer.lock().expect("store writer lock");
        let out = self.state().take_pending();
        let number = out.number;
        let logged = self.log_write_out(&sled, &writer, &out)?;
        let unsled = Unsled {
            entry: out.entry,
            dead: out.dead,
        };
        if logged {
            if unsled.entry.is_some() || !unsled.dead.is_empty() {
                self.state().unsled.push_back(unsled);
            }
            if to_sled {
                self.insert_unsled(&sled, &writer)?;
            }
        } else if let Some(number) = number {
            // Too large for the log: into sled, flushed, in an order consistent by itself.
            self.insert_unsled(&sled, &writer)?;
            self.before_unlogged(&sled, number)?;
            self.state().unsled.push_back(unsled);
            self.insert_unsled(&sled, &writer)?;
            self.flush_sled(&sled, number)?;
        }
        Ok(self.state().pending_seq - 1)
    }

    /// Puts the logged write-outs' journal entries into sled ([`Inner::write_out`]).
    pub(super) fn sled_logged(&self) -> StoreResult<()> {
        {
            let state = self.state();
            if state.unsled.is_empty() || state.failed.is_some() {
                return Ok(());
            }
        }
        let sled = self.sled()?;
        let writer = self.writer.lock().expect("store writer lock");
        self.insert_unsled(&sled, &writer)
    }

    /// Inserts the entries in `unsled` into sled, oldest first; then the entries each made dead
    /// may go. `_writer` proves the caller holds the writer lock. A failed store inserts
    /// nothing: its recovery rewrites the journal from memory.
    pub(super) fn insert_unsled(
        &self,
        sled: &Sled,
        _writer: &MutexGuard<'_, ()>,
    ) -> StoreResult<()> {
        loop {
            let next = {
                let mut state = self.state();
                if state.failed.is_some() {
                    return Ok(());
                }
                state.unsled.pop_front()
            };
            let Some(Unsled { entry, dead }) = next else {
                return Ok(());
            };
            if let Some((seq, bytes)) = entry {
                // On failure the entries it killed are left in sled (the recovery rewrites the
                // whole journal anyway); removing them without their killer on disk could
                // resurrect puts.
                if let Err(e) = sled.journal.insert(entry_key(seq), bytes.as_slice()) {
                    self.state().unsled.push_front(Unsled {
                        entry: Some((seq, bytes)),
                        dead,
                    });
                    return Err(self.failed(&e));
                }
                self.state().keep_spare(bytes);
            }
            self.state().dead.extend(dead);
        }
    }
}
