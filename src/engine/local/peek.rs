//! Peek on the local backend: the selection under the queue's lock, then the records read
//! from the store with no lock held; nothing is written.

use super::Local;
use super::LocalQueue;
use crate::engine::peek::{PeekRequest, PeekedMessage, Phase};
use crate::engine::queue::{MessageRecord, MessageStateRecord, Queue};
use crate::engine::EngineResult;
use crate::store::{keys, records};

impl Local {
    pub(super) fn peek(
        &self,
        q: &Queue,
        req: PeekRequest,
        now: u64,
    ) -> EngineResult<Vec<PeekedMessage>> {
        let chosen = select(q, req, now);
        let mut peeked = Vec::with_capacity(chosen.len());
        for (seq, state) in chosen {
            // A message deleted since the selection is left out.
            let Some(bytes) = self.journal.store().get(&keys::message(q.id, seq))? else {
                continue;
            };
            let record: MessageRecord = records::decode(&bytes)?;
            peeked.push(PeekedMessage {
                seq,
                record,
                state,
                phase: Phase::of(&state, now),
            });
        }
        Ok(peeked)
    }
}

/// The sequence numbers and states `req` selects, oldest first.
fn select(q: &Queue, req: PeekRequest, now: u64) -> Vec<(u64, MessageStateRecord)> {
    let st = q.lock();
    let mut seqs: Vec<u64> = st
        .seqs()
        .filter(|&seq| req.after.is_none_or(|after| seq > after))
        .collect();
    seqs.sort_unstable();
    seqs.into_iter()
        .filter_map(|seq| Some((seq, st.message(seq)?.state)))
        .filter(|(_, state)| req.phase.is_none_or(|p| Phase::of(state, now) == p))
        .take(req.limit)
        .collect()
}
