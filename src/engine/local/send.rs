//! SendMessage(Batch) on the local backend: FIFO deduplication lookups and the batch's one
//! store write.

use super::journal;
use std::sync::Arc;

use super::queue_state::QueueState;
use crate::engine::queue::{DedupRecord, MessageMeta};
use crate::engine::send::{Accepted, NewMessage, SendEntry, SendOutcome, Sending};
use crate::engine::{EngineError, EngineResult};
use crate::store::{keys, records, WriteBatch};

use super::Local;
use super::LocalQueue;

impl Local {
    /// Each entry is prepared under the queue's lock, looked up among the deduplication
    /// entries, and built into records; all of them are then written in one store batch, and
    /// memory changed after.
    pub(super) async fn enqueue(
        &self,
        sending: &Sending<'_>,
        entries: Vec<SendEntry>,
    ) -> EngineResult<Vec<EngineResult<SendOutcome>>> {
        let (q, now) = (sending.q, sending.now);
        let mut results = Vec::with_capacity(entries.len());
        let (ticket, janitor_at) = {
            let mut st = q.lock();
            if st.is_deleted() {
                return Err(EngineError::QueueDoesNotExist);
            }
            let mut staged = Staged::default();
            for e in entries {
                let result = sending
                    .prepare(st.record(), e)
                    .map(|m| self.stage(&st, sending, m, &mut staged));
                results.push(result);
            }
            let ticket = self.journal.apply(staged.wb)?;
            for (seq, meta) in staged.inserts {
                st.insert(seq, meta, now);
            }
            for d in staged.new_dedup {
                st.record_dedup(d);
            }
            (ticket, st.janitor_due())
        };
        self.schedule_janitor(q, janitor_at);
        self.journal.durable(ticket).await?;
        Ok(results)
    }

    /// Stages one prepared entry: the outcome of the message it duplicates (FIFO: a live
    /// deduplication entry, or one earlier in the batch), else its records in `staged`.
    fn stage(
        &self,
        st: &QueueState,
        sending: &Sending<'_>,
        m: NewMessage,
        staged: &mut Staged,
    ) -> SendOutcome {
        if let Some(key) = m.dedup_key() {
            let previous = st
                .dedup_entry(key, sending.now)
                .or_else(|| staged.new_dedup.iter().find(|d| d.key == key));
            if let Some(d) = previous {
                return m.duplicate(d);
            }
        }
        let queue_id = sending.q.id;
        let seq = self.next_seq();
        let Accepted {
            record,
            state,
            dedup,
            outcome,
        } = m.accept(sending, seq);
        if let Some(d) = dedup {
            staged
                .wb
                .put(keys::dedup(queue_id, &d.key), records::encode(&d));
            staged.new_dedup.push(d);
        }
        journal::put_message(&mut staged.wb, queue_id, seq, &record);
        let meta = MessageMeta {
            state,
            sent_at: record.sent_at,
            group: record.group_id.as_deref().map(Arc::from),
        };
        staged.inserts.push((seq, meta));
        outcome
    }
}

/// A send's store writes, and what memory gets once they are written.
#[derive(Default)]
struct Staged {
    wb: WriteBatch,
    inserts: Vec<(u64, MessageMeta)>,
    new_dedup: Vec<DedupRecord>,
}
