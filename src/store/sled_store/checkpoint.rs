//! Checkpoints: moving cold writes (message bodies) to the segments, syncing them and flushing
//! sled (see `cold.rs`
//! for when and why), and the order a write-out too large for the write-ahead log takes.

use std::time::Instant;

use super::*;

/// How many copies of flushed writes a checkpoint lets go of per hold of the state lock
/// (about a millisecond's work with millions of messages queued).
const FORGET_SLICE: usize = 1024;

impl State {
    /// Write-outs up to `upto` are flushed to sled: lets go of at most `max` of the copies
    /// memory kept of their cold and lean writes; true once none is left.
    pub(super) fn forget_flushed(&mut self, upto: u64, max: usize) -> bool {
        let cold = self.cold.flushed(upto, max);
        self.lean.flushed(upto, max) && cold
    }
}

/// Where the cold writes stand against the segments (see [`cold`]).
pub(super) struct Checkpoints {
    /// The last `COLD_UPTO_KEY` written.
    pub(super) recorded: u64,
    /// The cold writes of write-outs up to this one are in the segments (maybe not synced).
    pub(super) applied: u64,
}

impl Inner {
    /// Before write-out `number`, too large for the log, goes to sled: it must be consistent
    /// there by itself after a crash, and the log's replay must never need to step over it.
    /// So every earlier write-out is checkpointed, and its cold puts are written (its journal
    /// entry next, then the checkpoint of `number` writes its cold removals and flushes).
    pub(super) fn before_unlogged(&self, sled: &Sled, number: u64) -> StoreResult<()> {
        self.flush_sled(sled, number - 1)?;
        let (puts, _) = self
            .state()
            .cold
            .due(number - 1, number, usize::MAX)
            .0
            .split();
        // On disk before the journal entry that indexes them can be.
        self.apply_bodies(puts)?;
        self.sync_bodies()
    }

    /// Flushes sled with every write-out so far: the log's records up to them are obsolete.
    pub(super) fn checkpoint(&self) -> StoreResult<()> {
        let upto = self.write_pending()?;
        self.has_room(0)?;
        self.flush_sled(&self.sled()?, upto)
    }

    /// A checkpoint: writes the cold writes of write-outs up to `upto` to the segments, syncs
    /// them, records that (`COLD_UPTO_KEY`), and flushes sled; then those cold writes leave
    /// memory, and the log's records up to `upto` are obsolete. Every write-out up to `upto`
    /// must be in sled.
    pub(super) fn flush_sled(&self, sled: &Sled, upto: u64) -> StoreResult<()> {
        {
            let mut checkpoints = self.checkpoint.lock().expect("store checkpoint lock");
            self.apply_cold(&mut checkpoints, upto, usize::MAX)?;
            // The cold writes it records must be on disk before the record can be (and dead
            // segments go once their deaths are).
            self.sync_bodies()?;
            if upto > checkpoints.recorded {
                sled.meta
                    .insert(COLD_UPTO_KEY, &upto.to_be_bytes())
                    .map_err(|e| self.failed(&e))?;
                checkpoints.recorded = upto;
            }
        }
        // Not under the lock: a flush makes durable what sled was given before it started,
        // and the flush's path must not wait for one to move cold writes.
        sled.db.flush().map_err(|e| self.failed(&e))?;
        // In slices, each a short hold of the state lock, which every write waits for: a
        // checkpoint lets go of a copy per write since the previous one (8 ms of work at
        // 5,000,000 queued), and 0.8 s was seen once (a delayed checkpoint has more).
        while !self.state().forget_flushed(upto, FORGET_SLICE) {}
        self.wal_checkpointed(upto);
        Ok(())
    }

    /// Writes to the segments, unsynced, the cold writes of write-outs up to `upto` they lack,
    /// or of as many of them as reach `max_ops` ops.
    pub(super) fn apply_cold(
        &self,
        checkpoints: &mut Checkpoints,
        upto: u64,
        max_ops: usize,
    ) -> StoreResult<()> {
        if upto <= checkpoints.applied {
            return Ok(());
        }
        let (due, done) = self.state().cold.due(checkpoints.applied, upto, max_ops);
        if !due.is_empty() {
            // Room for them first, as for every write of the store (see the module doc).
            self.has_room(due.bytes().saturating_mul(2))?;
        }
        self.apply_bodies(due)?;
        checkpoints.applied = done;
        Ok(())
    }

    /// Writes to the segments the cold writes of write-outs taken at or before `cutoff` (see
    /// [`cold`]), at most `max_ops` of them (rounded up to a whole write-out). Gives way to
    /// another move at work instead of waiting for it. Returns whether it moved any.
    pub(super) fn apply_lagging_cold(&self, cutoff: Instant, max_ops: usize) -> StoreResult<bool> {
        let mut checkpoints = match self.checkpoint.try_lock() {
            Ok(checkpoints) => checkpoints,
            Err(std::sync::TryLockError::WouldBlock) => return Ok(false),
            Err(std::sync::TryLockError::Poisoned(e)) => panic!("store checkpoint lock: {e}"),
        };
        let lagging = self.state().cold.lagging(cutoff, checkpoints.applied);
        match lagging {
            Some(upto) => {
                self.apply_cold(&mut checkpoints, upto, max_ops)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// How far a background checkpoint goes: to `upto` (the newest write-out in sled) when
    /// the log is filling, else only to just before the first write-out whose cold writes
    /// were not moved yet (a checkpoint that moved the last [`cold::COLD_LAG`] of them would
    /// hold the flush's path up).
    pub(super) fn checkpoint_bound(&self, upto: u64) -> u64 {
        if self.wal_filling() {
            return upto;
        }
        let applied = self
            .checkpoint
            .lock()
            .expect("store checkpoint lock")
            .applied;
        match self.state().cold.first_not_moved(applied) {
            Some(first) => upto.min(first - 1),
            None => upto,
        }
    }
}
