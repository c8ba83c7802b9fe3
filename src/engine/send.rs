//! SendMessage and SendMessageBatch: validation, FIFO deduplication and the stored records.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::message::{self, AttributeValue, MessageAttributes};
use super::queue::{
    DedupRecord, MessageMeta, MessageRecord, MessageStateRecord, Queue, QueueState,
};
use super::Engine;
use super::{EngineError, EngineResult, Param};
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
    pub async fn send_messages(
        &self,
        q: &Arc<Queue>,
        entries: Vec<SendEntry>,
        sender_id: &str,
        batch: bool,
    ) -> EngineResult<Vec<EngineResult<SendOutcome>>> {
        let now = self.now();
        let mut results = Vec::with_capacity(entries.len());
        let ticket = {
            let mut st = q.lock();
            if st.is_deleted() {
                return Err(EngineError::QueueDoesNotExist);
            }
            let mut wb = WriteBatch::new();
            let mut inserts: Vec<(u64, MessageMeta)> = Vec::new();
            let mut new_dedup: Vec<DedupRecord> = Vec::new();
            for e in entries {
                if let Err(err) = self.validate_entry(q, &st, &e, batch) {
                    results.push(Err(err));
                    continue;
                }
                let md5_of_body = message::md5_hex(e.body.as_bytes());
                let md5_of_attributes = message::md5_of_attributes(&e.attributes);
                let md5_of_system_attributes = trace_md5(&e.trace_header);
                let dedup_key = if q.fifo {
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
                        .or_else(|| new_dedup.iter().find(|d| d.key == key));
                    if let Some(d) = previous {
                        results.push(Ok(SendOutcome {
                            message_id: d.message_id.clone(),
                            md5_of_body,
                            md5_of_attributes,
                            md5_of_system_attributes,
                            sequence_number: Some(sequence_number(d.seq)),
                        }));
                        continue;
                    }
                    Some((key, id))
                } else {
                    None
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
                let record = MessageRecord {
                    message_id: message_id.clone(),
                    body: e.body,
                    attributes: e.attributes,
                    trace_header: e.trace_header,
                    sender_id: sender_id.to_string(),
                    sent_at: now,
                    first_visible_at: state.visible_at,
                    group_id: e.group_id,
                    dedup_id: dedup_key.as_ref().map(|(_, id)| id.clone()),
                    dlq_source_arn: None,
                };
                if let Some((key, _)) = dedup_key {
                    let d = DedupRecord {
                        key,
                        expires_at: now + DEDUP_WINDOW_MS,
                        message_id: message_id.clone(),
                        seq,
                    };
                    wb.put(keys::dedup(q.id, &d.key), records::encode(&d));
                    new_dedup.push(d);
                }
                wb.put(keys::message(q.id, seq), records::encode(&record));
                inserts.push((
                    seq,
                    MessageMeta {
                        state,
                        sent_at: now,
                        group: record.group_id.as_deref().map(Arc::from),
                    },
                ));
                results.push(Ok(SendOutcome {
                    message_id,
                    md5_of_body,
                    md5_of_attributes,
                    md5_of_system_attributes,
                    sequence_number: q.fifo.then(|| sequence_number(seq)),
                }));
            }
            let ticket = self.apply(wb)?;
            for (seq, meta) in inserts {
                st.insert(seq, meta, now);
            }
            for d in new_dedup {
                st.record_dedup(d);
            }
            ticket
        };
        self.durable(ticket).await?;
        q.notify.notify_waiters();
        Ok(results)
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
