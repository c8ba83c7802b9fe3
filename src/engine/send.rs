//! SendMessage and SendMessageBatch: validation, FIFO deduplication and the stored records.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::message::{self, AttributeValue, MessageAttributes};
use super::queue::{
    DedupRecord, MessageMeta, MessageRecord, MessageStateRecord, Queue, QueueState,
};
use super::{Engine, EngineError, EngineResult, Param};
use crate::store::{keys, records, WriteBatch};

impl Engine {
    /// Checks one entry against the queue's rules. `batch` selects the wording AWS uses in
    /// SendMessageBatch entries.
    fn validate_entry(
        &self,
        q: &Queue,
        st: &QueueState,
        e: &SendEntry,
        batch: bool,
    ) -> EngineResult<()> {
        message::validate_body(&e.body)?;
        message::validate_message_attributes(&e.attributes)?;
        if let Some(t) = &e.trace_header {
            if t.is_empty() || !message::has_only_allowed_chars(t) {
                return Err(EngineError::invalid(
                    Param::TraceHeader,
                    t,
                    "Invalid trace header.",
                ));
            }
        }
        let max = st.attributes().maximum_message_size as usize;
        if message::message_size(&e.body, &e.attributes) > max {
            let verb = if batch {
                "cannot be validated"
            } else {
                "are invalid"
            };
            return Err(EngineError::InvalidRequest(format!("One or more parameters {verb}. Reason: Message must be shorter than {max} bytes.").into()));
        }
        if let Some(d) = e.delay_seconds {
            if !(0..=900).contains(&d) {
                return Err(EngineError::invalid(
                    Param::DelaySeconds,
                    d,
                    "DelaySeconds must be >= 0 and <= 900.",
                ));
            }
            if q.fifo && d != 0 {
                return Err(EngineError::invalid(
                    Param::DelaySeconds,
                    d,
                    "The request include parameter that is not valid for this queue type.",
                ));
            }
        }
        if let Some(g) = &e.group_id {
            message::validate_fifo_id(Param::MessageGroupId, g)?;
        }
        if q.fifo {
            if e.group_id.is_none() {
                return Err(if batch {
                    EngineError::InvalidRequest(
                        "The request must contain the parameter MessageGroupId.".into(),
                    )
                } else {
                    EngineError::MissingParameter(Param::MessageGroupId)
                });
            }
            match &e.dedup_id {
                Some(d) => message::validate_fifo_id(Param::MessageDeduplicationId, d)?,
                None if !st.attributes().content_based_deduplication => {
                    return Err(EngineError::InvalidRequest("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into()))
                }
                None => {}
            }
        } else if let Some(d) = &e.dedup_id {
            return Err(EngineError::invalid(
                Param::MessageDeduplicationId,
                d,
                "The request include parameter that is not valid for this queue type.",
            ));
        }
        Ok(())
    }

    /// Sends entries to `q`; one result per entry, in order. A store failure fails them all.
    /// Each entry is validated, looked up among the FIFO deduplication entries, and built into
    /// records; all of them are then written in one store batch, and memory changed after.
    pub async fn send_messages(
        &self,
        q: &Arc<Queue>,
        entries: Vec<SendEntry>,
        sender_id: &str,
        batch: bool,
    ) -> EngineResult<Vec<EngineResult<SendOutcome>>> {
        let now = self.now();
        let mut results = Vec::with_capacity(entries.len());
        let (ticket, janitor_at) = {
            let mut st = q.lock();
            if st.is_deleted() {
                return Err(EngineError::QueueDoesNotExist);
            }
            let mut staged = Staged::default();
            for e in entries {
                let result = self
                    .validate_entry(q, &st, &e, batch)
                    .map(|()| self.stage(q, &st, e, sender_id, now, &mut staged));
                results.push(result);
            }
            let ticket = self.apply(staged.wb)?;
            for (seq, meta) in staged.inserts {
                st.insert(seq, meta, now);
            }
            for d in staged.new_dedup {
                st.record_dedup(d);
            }
            (ticket, st.janitor_due())
        };
        self.local.schedule_janitor(q, janitor_at);
        self.durable(ticket).await?;
        q.notify.notify_waiters();
        Ok(results)
    }

    /// Stages one valid entry: the outcome of the message it duplicates (FIFO), else its
    /// records in `staged`.
    fn stage(
        &self,
        q: &Queue,
        st: &QueueState,
        e: SendEntry,
        sender_id: &str,
        now: u64,
        staged: &mut Staged,
    ) -> SendOutcome {
        let digests = Digests::of(&e);
        let dedup = match q.fifo.then(|| dedup_lookup(st, &e, &staged.new_dedup, now)) {
            Some(Dedup::Duplicate(d)) => {
                return digests.outcome(d.message_id.clone(), Some(sequence_number(d.seq)))
            }
            Some(Dedup::New { key, id }) => Some((key, id)),
            None => None,
        };
        let seq = self.next_seq();
        let message_id = uuid::Uuid::new_v4().to_string();
        // FIFO only accepts an explicit 0, and the queue's delay still applies then.
        let delay = e
            .delay_seconds
            .filter(|_| !q.fifo)
            .map(|d| d as u64)
            .unwrap_or(st.attributes().delay_seconds as u64);
        let state = MessageStateRecord {
            visible_at: now + delay * 1000,
            ..Default::default()
        };
        let (dedup_key, dedup_id) = dedup.unzip();
        let record = MessageRecord {
            message_id: message_id.clone(),
            body: e.body,
            attributes: e.attributes,
            trace_header: e.trace_header,
            sender_id: sender_id.to_string(),
            sent_at: now,
            first_visible_at: state.visible_at,
            group_id: e.group_id,
            dedup_id,
            dlq_source_arn: None,
        };
        if let Some(key) = dedup_key {
            let d = DedupRecord {
                key,
                expires_at: now + DEDUP_WINDOW_MS,
                message_id: message_id.clone(),
                seq,
            };
            staged
                .wb
                .put(keys::dedup(q.id, &d.key), records::encode(&d));
            staged.new_dedup.push(d);
        }
        staged
            .wb
            .put(keys::message(q.id, seq), records::encode(&record));
        let group = record.group_id.as_deref().map(Arc::from);
        let meta = MessageMeta {
            state,
            sent_at: now,
            group,
        };
        staged.inserts.push((seq, meta));
        digests.outcome(message_id, q.fifo.then(|| sequence_number(seq)))
    }
}

/// A send's store writes, and what memory gets once they are written.
#[derive(Default)]
struct Staged {
    wb: WriteBatch,
    inserts: Vec<(u64, MessageMeta)>,
    new_dedup: Vec<DedupRecord>,
}

/// What a FIFO send's deduplication lookup found.
enum Dedup<'a> {
    /// The message it duplicates (sent in the window, or earlier in this batch).
    Duplicate(&'a DedupRecord),
    /// A new message: its deduplication key (scoped to its group when the queue deduplicates
    /// per group) and its MessageDeduplicationId (explicit, or the body's SHA-256).
    New { key: String, id: String },
}

/// FIFO: looks `e` up among the live deduplication entries and those `pending` in the batch.
fn dedup_lookup<'a>(
    st: &'a QueueState,
    e: &SendEntry,
    pending: &'a [DedupRecord],
    now: u64,
) -> Dedup<'a> {
    let id = e
        .dedup_id
        .clone()
        .unwrap_or_else(|| hex::encode(Sha256::digest(e.body.as_bytes())));
    let key = if st.deduplicates_per_group() {
        format!("{}\u{0}{id}", e.group_id.as_deref().unwrap_or(""))
    } else {
        id.clone()
    };
    let previous = st
        .dedup_entry(&key, now)
        .or_else(|| pending.iter().find(|d| d.key == key));
    match previous {
        Some(d) => Dedup::Duplicate(d),
        None => Dedup::New { key, id },
    }
}

/// The digests a send reports for its entry.
struct Digests {
    md5_of_body: String,
    md5_of_attributes: Option<String>,
    md5_of_system_attributes: Option<String>,
}

impl Digests {
    fn of(e: &SendEntry) -> Self {
        Digests {
            md5_of_body: message::md5_hex(e.body.as_bytes()),
            md5_of_attributes: message::md5_of_attributes(&e.attributes),
            md5_of_system_attributes: trace_md5(&e.trace_header),
        }
    }

    fn outcome(self, message_id: String, sequence_number: Option<String>) -> SendOutcome {
        SendOutcome {
            message_id,
            md5_of_body: self.md5_of_body,
            md5_of_attributes: self.md5_of_attributes,
            md5_of_system_attributes: self.md5_of_system_attributes,
            sequence_number,
        }
    }
}

const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;

/// One message to send (SendMessage, or an entry of SendMessageBatch).
#[derive(Clone, Debug, Default)]
pub struct SendEntry {
    pub body: String,
    pub delay_seconds: Option<i64>,
    pub attributes: MessageAttributes,
    /// The `AWSTraceHeader` system attribute.
    pub trace_header: Option<String>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendOutcome {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
    pub sequence_number: Option<String>,
}

pub(super) fn sequence_number(seq: u64) -> String {
    format!("{seq:020}")
}

fn trace_md5(trace: &Option<String>) -> Option<String> {
    trace.as_ref().and_then(|t| {
        let attrs: MessageAttributes = [(
            "AWSTraceHeader".to_string(),
            AttributeValue {
                data_type: "String".into(),
                string_value: Some(t.clone()),
                binary_value: None,
            },
        )]
        .into_iter()
        .collect();
        message::md5_of_attributes(&attrs)
    })
}
