//! Delete by message id on the local backend. Memory indexes messages by sequence number,
//! not by id: the queue's sequence numbers are taken under its lock, the records read from
//! the store without it until one has the id, then that message is removed under the lock
//! (if it is still there) as DeleteMessage removes it: one store batch, then memory, then the
//! durability wait.

use super::journal;
use crate::engine::queue::{MessageRecord, Queue};
use crate::engine::EngineResult;
use crate::store::{keys, records, WriteBatch};

use super::Local;
use super::LocalQueue;

impl Local {
    pub(super) async fn delete_by_id(&self, q: &Queue, message_id: &str) -> EngineResult<bool> {
        let mut seqs: Vec<u64> = q.lock().seqs().collect();
        seqs.sort_unstable();
        let Some(seq) = self.seq_of(q, &seqs, message_id)? else {
            return Ok(false);
        };
        let ticket = {
            let mut st = q.lock();
            if st.message(seq).is_none() {
                // Deleted, purged or expired meanwhile.
                return Ok(false);
            }
            let mut wb = WriteBatch::new();
            journal::delete_message(&mut wb, q.id, seq);
            let ticket = self.journal.apply(wb)?;
            st.remove(seq);
            ticket
        };
        self.journal.durable(ticket).await?;
        Ok(true)
    }

    /// The sequence number among `seqs` whose stored record has `message_id`.
    fn seq_of(&self, q: &Queue, seqs: &[u64], message_id: &str) -> EngineResult<Option<u64>> {
        for &seq in seqs {
            let Some(bytes) = self.journal.store().get(&keys::message(q.id, seq))? else {
                continue;
            };
            let record: MessageRecord = records::decode(&bytes)?;
            if record.message_id == message_id {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }
}
