//! SendMessage and SendMessageBatch: validation, digests, FIFO deduplication keys and the
//! records of a new message; the backend looks keys up and stores them.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::attributes::QueueAttributes;
use super::message::{self, AttributeValue, MessageAttributes};
use super::queue::{DedupRecord, MessageRecord, MessageStateRecord, Queue, QueueRecord};
use super::{Engine, EngineError, EngineResult, Param};

impl Engine {
    /// Checks one entry against the queue's rules. `batch` selects the wording AWS uses in
    /// SendMessageBatch entries.
    fn validate_entry(
        q: &Queue,
        attributes: &QueueAttributes,
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
        let max = attributes.maximum_message_size as usize;
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
                None if !attributes.content_based_deduplication => {
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
    /// The backend prepares each entry under its queue's record (`Sending::prepare`),
    /// deduplicates and stores them (`MessageState::enqueue`).
    pub async fn send_messages(
        &self,
        q: &Arc<Queue>,
        entries: Vec<SendEntry>,
        sender_id: &str,
        batch: bool,
    ) -> EngineResult<Vec<EngineResult<SendOutcome>>> {
        let sending = Sending {
            q,
            sender_id,
            batch,
            now: self.now(),
        };
        let results = self.state.enqueue(&sending, entries).await?;
        q.count_sent(results.iter().filter(|r| r.is_ok()).count());
        q.notify.notify_waiters();
        Ok(results)
    }
}

/// One SendMessage(Batch) call: what each entry is prepared with.
pub(crate) struct Sending<'a> {
    pub(crate) q: &'a Arc<Queue>,
    sender_id: &'a str,
    batch: bool,
    pub(crate) now: u64,
}

impl Sending<'_> {
    /// Validates `e` against the queue's `record` (as the backend holds it while it stores
    /// the batch) and prepares it: its delay, digests and FIFO deduplication key.
    pub(crate) fn prepare(&self, record: &QueueRecord, e: SendEntry) -> EngineResult<NewMessage> {
        let (q, attributes) = (self.q, &record.attributes);
        Engine::validate_entry(q, attributes, &e, self.batch)?;
        // FIFO only accepts an explicit 0, and the queue's delay still applies then.
        let delay = e
            .delay_seconds
            .filter(|_| !q.fifo)
            .map_or(attributes.delay_seconds as u64, |d| d as u64);
        Ok(NewMessage {
            digests: Digests::of(&e),
            dedup: q.fifo.then(|| dedup_key(record, &e)),
            visible_at: self.now + delay * 1000,
            entry: e,
        })
    }
}

/// A valid entry, prepared: a backend looks its deduplication key up, then either reports
/// it a [`duplicate`](NewMessage::duplicate) or stores what [`accept`](NewMessage::accept)
/// makes of it.
pub(crate) struct NewMessage {
    entry: SendEntry,
    visible_at: u64,
    /// FIFO: the deduplication key (scoped to the group when the queue deduplicates per
    /// group) and the MessageDeduplicationId (explicit, or the body's SHA-256).
    dedup: Option<(String, String)>,
    digests: Digests,
}

/// A new message as a send stores it.
pub(crate) struct Accepted {
    pub(crate) record: MessageRecord,
    pub(crate) state: MessageStateRecord,
    pub(crate) dedup: Option<DedupRecord>,
    pub(crate) outcome: SendOutcome,
}

impl NewMessage {
    /// FIFO: the key deduplication looks up.
    /// The MessageGroupId sent, if any.
    pub(crate) fn group_id(&self) -> Option<&str> {
        self.entry.group_id.as_deref()
    }

    pub(crate) fn dedup_key(&self) -> Option<&str> {
        self.dedup.as_ref().map(|(key, _)| key.as_str())
    }

    /// The outcome of a send that duplicates `of` (sent in the window, or earlier in the batch).
    pub(crate) fn duplicate(self, of: &DedupRecord) -> SendOutcome {
        let seq = Some(sequence_number(of.seq));
        self.digests.outcome(of.message_id.clone(), seq)
    }

    /// The records of a new message `seq` sent by `sending`, and the send's outcome.
    pub(crate) fn accept(self, sending: &Sending<'_>, seq: u64) -> Accepted {
        let (fifo, now) = (sending.q.fifo, sending.now);
        let message_id = uuid::Uuid::new_v4().to_string();
        let state = MessageStateRecord {
            visible_at: self.visible_at,
            ..Default::default()
        };
        let (dedup_key, dedup_id) = self.dedup.unzip();
        let e = self.entry;
        let dedup = dedup_key.map(|key| DedupRecord {
            key,
            expires_at: now + DEDUP_WINDOW_MS,
            message_id: message_id.clone(),
            seq,
        });
        let record = MessageRecord {
            message_id: message_id.clone(),
            body: e.body,
            attributes: e.attributes,
            trace_header: e.trace_header,
            sender_id: sending.sender_id.to_string(),
            sent_at: now,
            first_visible_at: state.visible_at,
            group_id: e.group_id,
            dedup_id,
            dlq_source_arn: None,
        };
        let outcome = self
            .digests
            .outcome(message_id, fifo.then(|| sequence_number(seq)));
        Accepted {
            record,
            state,
            dedup,
            outcome,
        }
    }
}

/// FIFO: the deduplication key of `e` and its MessageDeduplicationId.
fn dedup_key(record: &QueueRecord, e: &SendEntry) -> (String, String) {
    let id = e
        .dedup_id
        .clone()
        .unwrap_or_else(|| hex::encode(Sha256::digest(e.body.as_bytes())));
    let key = if record.deduplicates_per_group() {
        format!("{}\u{0}{id}", e.group_id.as_deref().unwrap_or(""))
    } else {
        id.clone()
    };
    (key, id)
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
