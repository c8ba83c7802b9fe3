//! Sending, receiving (short and long polls), deleting, visibility changes, purging, FIFO group
//! delivery and dead-letter redrive at receive time.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::message::{self, AttributeValue, MessageAttributes};
use super::queue::{
    AttemptedMessage, DedupRecord, MessageMeta, MessageRecord, MessageStateRecord, Queue,
    QueueState, ReceiveAttempt,
};
use super::receipt::ReceiptHandle;
use super::{internal, Engine};
use crate::error::{ErrorCode, SqsError, SqsResult};
use crate::store::{keys, records, WriteBatch};

const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;
const ATTEMPT_WINDOW_MS: u64 = 5 * 60 * 1000;
const MAX_VISIBILITY_MS: u64 = 43_200 * 1000;

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

#[derive(Clone, Debug, Default)]
pub struct ReceiveRequest {
    pub max_messages: u32,
    pub visibility_timeout: Option<u32>,
    pub wait_time_seconds: Option<u32>,
    pub system_attribute_names: Vec<String>,
    pub message_attribute_names: Vec<String>,
    pub attempt_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub attributes: Vec<(String, String)>,
    pub message_attributes: Vec<(String, AttributeValue)>,
    pub md5_of_message_attributes: Option<String>,
}

/// System attribute names a receive may ask for.
pub const SYSTEM_ATTRIBUTE_NAMES: &[&str] = &[
    "All",
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
];

fn sequence_number(seq: u64) -> String {
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

fn invalid_handle(handle: &str) -> SqsError {
    SqsError::new(
        ErrorCode::ReceiptHandleIsInvalid,
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

fn expired_handle(handle: &str) -> SqsError {
    SqsError::invalid_parameter("ReceiptHandle", handle, "The receipt handle has expired.")
}

/// A queue's RedrivePolicy (target ARN, maxReceiveCount) and its dead-letter queue, resolved
/// before the queue's lock is taken. No `dlq` when the policy names the queue itself or a
/// queue that does not exist (any more): messages then stay where they are.
struct RedriveTarget {
    policy: Option<(String, u32)>,
    dlq: Option<Arc<Queue>>,
}

/// A message leaving its queue for a dead-letter queue, applied after the source unlocks.
struct DeadLetterMove {
    dlq: Arc<Queue>,
    seq: u64,
    meta: MessageMeta,
}

impl Engine {
    /// Checks one entry against the queue's rules. `batch` selects the wording AWS uses in
    /// SendMessageBatch entries.
    fn validate_entry(
        &self,
        q: &Queue,
        st: &QueueState,
        e: &SendEntry,
        batch: bool,
    ) -> SqsResult<()> {
        message::validate_body(&e.body)?;
        message::validate_message_attributes(&e.attributes)?;
        if let Some(t) = &e.trace_header {
            if t.is_empty() || !message::has_only_allowed_chars(t) {
                return Err(SqsError::invalid_parameter(
                    "AWSTraceHeader",
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
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("One or more parameters {verb}. Reason: Message must be shorter than {max} bytes."),
            ));
        }
        if let Some(d) = e.delay_seconds {
            if !(0..=900).contains(&d) {
                return Err(SqsError::invalid_parameter(
                    "DelaySeconds",
                    d,
                    "DelaySeconds must be >= 0 and <= 900.",
                ));
            }
            if q.fifo && d != 0 {
                return Err(SqsError::invalid_parameter(
                    "DelaySeconds",
                    d,
                    "The request include parameter that is not valid for this queue type.",
                ));
            }
        }
        if let Some(g) = &e.group_id {
            message::validate_fifo_id("MessageGroupId", g)?;
        }
        if q.fifo {
            if e.group_id.is_none() {
                return Err(if batch {
                    SqsError::new(
                        ErrorCode::InvalidParameterValue,
                        "The request must contain the parameter MessageGroupId.",
                    )
                } else {
                    SqsError::missing_parameter("MessageGroupId")
                });
            }
            match &e.dedup_id {
                Some(d) => message::validate_fifo_id("MessageDeduplicationId", d)?,
                None if !st.attributes().content_based_deduplication => {
                    return Err(SqsError::new(
                        ErrorCode::InvalidParameterValue,
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ))
                }
                None => {}
            }
        } else if let Some(d) = &e.dedup_id {
            return Err(SqsError::invalid_parameter(
                "MessageDeduplicationId",
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
    ) -> SqsResult<Vec<SqsResult<SendOutcome>>> {
        let now = self.now();
        let mut results = Vec::with_capacity(entries.len());
        let ticket = {
            let mut st = q.lock();
            if st.deleted {
                return Err(SqsError::queue_does_not_exist());
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
                        .dedup
                        .get(&key)
                        .filter(|d| d.expires_at > now)
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
                st.dedup_expiry.insert((d.expires_at, d.key.clone()));
                st.dedup.insert(d.key.clone(), d);
            }
            ticket
        };
        self.durable(ticket).await?;
        q.notify.notify_waiters();
        Ok(results)
    }

    /// ReceiveMessage, long-polling up to the wait time.
    pub async fn receive(
        &self,
        q: &Arc<Queue>,
        req: &ReceiveRequest,
    ) -> SqsResult<Vec<ReceivedMessage>> {
        for n in &req.system_attribute_names {
            if !SYSTEM_ATTRIBUTE_NAMES.contains(&n.as_str())
                && !super::attributes::ALL_ATTRIBUTE_NAMES.contains(&n.as_str())
            {
                return Err(SqsError::unknown_attribute(n));
            }
        }
        let wait_seconds = match req.wait_time_seconds {
            Some(w) => w,
            None => q.lock().attributes().receive_message_wait_time_seconds,
        };
        let deadline = self.now() + wait_seconds as u64 * 1000;
        let mut shutdown = self.shutdown_signal();
        // Resolved only for a queue that has a RedrivePolicy, and kept across long-poll rounds.
        let mut target = RedriveTarget {
            policy: None,
            dlq: None,
        };
        loop {
            let notified = q.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (messages, next_visible, moves, ticket) = loop {
                // `None`: the queue's RedrivePolicy is not the one `target` was resolved from
                // (or it was never resolved): resolve it and try again.
                if let Some(done) = self.try_receive(q, req, wait_seconds > 0, &target)? {
                    break done;
                }
                target = self.redrive_target(q);
            };
            self.finish_moves(moves);
            self.durable(ticket).await?;
            if !messages.is_empty() || q.lock().deleted {
                return Ok(messages);
            }
            let now = self.now();
            if now >= deadline || self.is_shutting_down() {
                return Ok(messages);
            }
            let wake_at = next_visible.map_or(deadline, |v| v.min(deadline));
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(Duration::from_millis(wake_at.saturating_sub(now).max(1))) => {}
                _ = shutdown.changed() => return Ok(Vec::new()),
            }
        }
    }

    /// Resolves `q`'s dead-letter queue without holding `q`'s lock while the registry is read
    /// (the engine's lock rule).
    fn redrive_target(&self, q: &Queue) -> RedriveTarget {
        let policy = q
            .lock()
            .attributes()
            .redrive_policy
            .as_ref()
            .map(|p| (p.dead_letter_target_arn.clone(), p.max_receive_count));
        let dlq = policy
            .as_ref()
            .and_then(|(arn, _)| self.queue_by_arn(arn))
            .filter(|dlq| dlq.id != q.id);
        RedriveTarget { policy, dlq }
    }

    /// One receive attempt; `None` when `target` no longer matches the queue's RedrivePolicy.
    #[allow(clippy::type_complexity)] // a private return tuple, named at its one call site
    fn try_receive(
        &self,
        q: &Arc<Queue>,
        req: &ReceiveRequest,
        long_poll: bool,
        target: &RedriveTarget,
    ) -> SqsResult<
        Option<(
            Vec<ReceivedMessage>,
            Option<u64>,
            Vec<DeadLetterMove>,
            Option<u64>,
        )>,
    > {
        let now = self.now();
        let mut st = q.lock();
        if st.deleted {
            return Ok(Some((Vec::new(), None, Vec::new(), None)));
        }
        let current = st
            .attributes()
            .redrive_policy
            .as_ref()
            .map(|p| (p.dead_letter_target_arn.as_str(), p.max_receive_count));
        if current != target.policy.as_ref().map(|(arn, n)| (arn.as_str(), *n)) {
            return Ok(None);
        }
        let vt = req
            .visibility_timeout
            .unwrap_or(st.attributes().visibility_timeout);
        let mut wb = WriteBatch::new();
        let expired = st.expired(now);
        for &seq in &expired {
            wb.delete(keys::message(q.id, seq));
            wb.delete(keys::message_state(q.id, seq));
        }

        if let Some(replayed) = self.replay_attempt(q, &mut st, req, vt, now, &mut wb)? {
            let ticket = self.apply(wb)?;
            for seq in expired {
                st.remove(seq);
            }
            let messages = replayed
                .into_iter()
                .map(|(seq, record, state)| {
                    st.update_state(seq, state, now);
                    self.render(q, seq, &record, &state, req)
                })
                .collect();
            return Ok(Some((messages, None, Vec::new(), ticket)));
        }
        for &seq in &expired {
            st.remove(seq);
        }
        if !q.fifo && st.counts(now).in_flight >= self.settings.max_inflight {
            // The expired messages are already gone from memory; drop them from the store too.
            let ticket = self.apply(wb)?;
            if !long_poll {
                return Err(SqsError::new(
                    ErrorCode::OverLimit,
                    "Too many messages in flight for this queue.",
                ));
            }
            // Long polling: no error, and nothing delivered past the limit [Doc "Visibility
            // timeout"]; wait again until a message's visibility may have changed.
            return Ok(Some((
                Vec::new(),
                st.next_visible_at(now),
                Vec::new(),
                ticket,
            )));
        }

        let redrive = target
            .dlq
            .clone()
            .zip(target.policy.as_ref().map(|(_, n)| *n));
        let max = req.max_messages.clamp(1, 10) as usize;
        let candidates = if q.fifo {
            fifo_candidates(&mut st, now, max, redrive.as_ref().map(|r| r.1))
        } else {
            standard_candidates(&mut st, now, max)
        };

        let mut delivered: Vec<(u64, MessageRecord, MessageStateRecord)> = Vec::new();
        let mut moves: Vec<(u64, MessageRecord)> = Vec::new();
        for seq in candidates {
            if delivered.len() >= max {
                break;
            }
            let Some(meta) = st.messages.get(&seq) else {
                continue;
            };
            let Some(bytes) = self
                .store()
                .get(&keys::message(q.id, seq))
                .map_err(internal)?
            else {
                continue;
            };
            let record: MessageRecord = records::decode(&bytes).map_err(internal)?;
            if let Some((dlq, max_receives)) = &redrive {
                if meta.state.receive_count >= *max_receives {
                    let mut moved = record;
                    moved.dlq_source_arn = Some(q.arn.clone());
                    if dlq.fifo {
                        moved.dedup_id = Some(moved.message_id.clone());
                    }
                    moves.push((seq, moved));
                    continue;
                }
            }
            let state = MessageStateRecord {
                visible_at: now + vt as u64 * 1000,
                receive_count: meta.state.receive_count + 1,
                first_receive_at: meta.state.first_receive_at.or(Some(now)),
                received_at: now,
            };
            wb.put(keys::message_state(q.id, seq), records::encode(&state));
            delivered.push((seq, record, state));
        }

        let mut planned_moves = Vec::new();
        if let Some((dlq, _)) = &redrive {
            for (seq, record) in &moves {
                let meta = &st.messages[seq];
                let new_seq = self.next_seq();
                let state = MessageStateRecord {
                    visible_at: now,
                    received_at: 0,
                    ..meta.state
                };
                wb.delete(keys::message(q.id, *seq));
                wb.delete(keys::message_state(q.id, *seq));
                wb.put(keys::message(dlq.id, new_seq), records::encode(record));
                wb.put(
                    keys::message_state(dlq.id, new_seq),
                    records::encode(&state),
                );
                planned_moves.push(DeadLetterMove {
                    dlq: dlq.clone(),
                    seq: new_seq,
                    meta: MessageMeta {
                        state,
                        sent_at: record.sent_at,
                        group: meta.group.clone(),
                    },
                });
            }
        }

        // One batch: a dead-letter move (delete here, put there) lands whole.
        let ticket = self.apply(wb)?;
        for (seq, _) in &moves {
            st.remove(*seq);
        }
        let mut out = Vec::with_capacity(delivered.len());
        for (seq, record, state) in &delivered {
            st.update_state(*seq, *state, now);
            out.push(self.render(q, *seq, record, state, req));
        }
        if let (Some(id), true) = (&req.attempt_id, q.fifo && !delivered.is_empty()) {
            st.attempts.insert(
                id.clone(),
                ReceiveAttempt {
                    expires_at: now + ATTEMPT_WINDOW_MS,
                    messages: delivered
                        .iter()
                        .map(|(seq, _, s)| AttemptedMessage {
                            seq: *seq,
                            receive_count: s.receive_count,
                            visible_at: s.visible_at,
                        })
                        .collect(),
                    visibility_timeout: vt,
                },
            );
        }
        let next_visible = st.next_visible_at(now);
        Ok(Some((out, next_visible, planned_moves, ticket)))
    }

    /// FIFO `ReceiveRequestAttemptId`: the same messages and handles again, if none changed.
    #[allow(clippy::type_complexity)]
    fn replay_attempt(
        &self,
        q: &Queue,
        st: &mut QueueState,
        req: &ReceiveRequest,
        vt: u32,
        now: u64,
        wb: &mut WriteBatch,
    ) -> SqsResult<Option<Vec<(u64, MessageRecord, MessageStateRecord)>>> {
        let Some(attempt) = req
            .attempt_id
            .as_ref()
            .filter(|_| q.fifo)
            .and_then(|id| st.attempts.get(id))
        else {
            return Ok(None);
        };
        if attempt.expires_at <= now {
            return Ok(None);
        }
        let unchanged = attempt.messages.iter().all(|a| {
            st.messages.get(&a.seq).is_some_and(|m| {
                m.state.receive_count == a.receive_count && m.state.visible_at == a.visible_at
            })
        });
        if !unchanged {
            return Ok(None);
        }
        let vt = if req.visibility_timeout.is_some() {
            vt
        } else {
            attempt.visibility_timeout
        };
        let visible_at = now + vt as u64 * 1000;
        let mut out = Vec::new();
        for a in &attempt.messages {
            let Some(bytes) = self
                .store()
                .get(&keys::message(q.id, a.seq))
                .map_err(internal)?
            else {
                return Ok(None);
            };
            let record: MessageRecord = records::decode(&bytes).map_err(internal)?;
            let state = MessageStateRecord {
                visible_at,
                received_at: now,
                ..st.messages[&a.seq].state
            };
            wb.put(keys::message_state(q.id, a.seq), records::encode(&state));
            out.push((a.seq, record, state));
        }
        // The replay resets the visibility: a later retry compares against the new one.
        if let Some(attempt) = req
            .attempt_id
            .as_ref()
            .and_then(|id| st.attempts.get_mut(id))
        {
            for a in &mut attempt.messages {
                a.visible_at = visible_at;
            }
        }
        Ok(Some(out))
    }

    /// Puts moved messages into their dead-letter queues' memory (the store has them already).
    fn finish_moves(&self, moves: Vec<DeadLetterMove>) {
        let now = self.now();
        for m in moves {
            let mut st = m.dlq.lock();
            if !st.deleted {
                st.insert(m.seq, m.meta, now);
            }
            drop(st);
            m.dlq.notify.notify_waiters();
        }
    }

    fn render(
        &self,
        q: &Queue,
        seq: u64,
        record: &MessageRecord,
        state: &MessageStateRecord,
        req: &ReceiveRequest,
    ) -> ReceivedMessage {
        let selected = message::select_attributes(&record.attributes, &req.message_attribute_names);
        let md5_of_message_attributes = message::md5_of_attributes(selected.iter().copied());
        let names = &req.system_attribute_names;
        let all = names.iter().any(|n| n == "All");
        let wanted = |n: &str| all || names.iter().any(|x| x == n);
        let mut attributes = Vec::new();
        let mut add = |name: &str, value: Option<String>| {
            if let (true, Some(v)) = (wanted(name), value) {
                attributes.push((name.to_string(), v));
            }
        };
        add("SenderId", Some(record.sender_id.clone()));
        add("SentTimestamp", Some(record.sent_at.to_string()));
        add(
            "ApproximateReceiveCount",
            Some(state.receive_count.to_string()),
        );
        add(
            "ApproximateFirstReceiveTimestamp",
            state.first_receive_at.map(|t| t.to_string()),
        );
        add("SequenceNumber", q.fifo.then(|| sequence_number(seq)));
        add(
            "MessageDeduplicationId",
            record.dedup_id.clone().filter(|_| q.fifo),
        );
        add("MessageGroupId", record.group_id.clone());
        add("AWSTraceHeader", record.trace_header.clone());
        add("DeadLetterQueueSourceArn", record.dlq_source_arn.clone());
        ReceivedMessage {
            message_id: record.message_id.clone(),
            receipt_handle: ReceiptHandle {
                queue_id: q.id,
                seq,
                generation: state.receive_count,
            }
            .encode(),
            body: record.body.clone(),
            md5_of_body: message::md5_hex(record.body.as_bytes()),
            attributes,
            message_attributes: selected
                .into_iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            md5_of_message_attributes,
        }
    }

    pub async fn delete_message(&self, q: &Arc<Queue>, handle: &str) -> SqsResult<()> {
        single(self.delete_messages(q, &[handle]).await?)
    }

    /// Deletes by receipt handle; one result per handle. All deletions are one store batch
    /// and one durability wait.
    pub async fn delete_messages(
        &self,
        q: &Arc<Queue>,
        handles: &[&str],
    ) -> SqsResult<Vec<SqsResult<()>>> {
        let now = self.now();
        let mut results = Vec::with_capacity(handles.len());
        let ticket = {
            let mut st = q.lock();
            let mut wb = WriteBatch::new();
            let mut removed: Vec<u64> = Vec::new();
            for handle in handles {
                let result = self.resolve(q, handle).and_then(|h| {
                    let Some(meta) = st.messages.get(&h.seq) else {
                        return Ok(());
                    };
                    if q.fifo && (meta.state.receive_count != h.generation || !meta.in_flight(now))
                    {
                        return Err(expired_handle(handle));
                    }
                    if !removed.contains(&h.seq) {
                        wb.delete(keys::message(q.id, h.seq));
                        wb.delete(keys::message_state(q.id, h.seq));
                        removed.push(h.seq);
                    }
                    Ok(())
                });
                results.push(result);
            }
            let ticket = self.apply(wb)?;
            for seq in removed {
                st.remove(seq);
            }
            ticket
        };
        self.durable(ticket).await?;
        if q.fifo {
            q.notify.notify_waiters();
        }
        Ok(results)
    }

    pub async fn change_visibility(
        &self,
        q: &Arc<Queue>,
        handle: &str,
        timeout: i64,
    ) -> SqsResult<()> {
        single(self.change_visibilities(q, &[(handle, timeout)]).await?)
    }

    /// ChangeMessageVisibility for each (handle, timeout); one result per entry, one store
    /// batch, one durability wait.
    pub async fn change_visibilities(
        &self,
        q: &Arc<Queue>,
        entries: &[(&str, i64)],
    ) -> SqsResult<Vec<SqsResult<()>>> {
        let now = self.now();
        let mut results = Vec::with_capacity(entries.len());
        let mut wake = false;
        let ticket = {
            let mut st = q.lock();
            let mut wb = WriteBatch::new();
            let mut changed: Vec<(u64, MessageStateRecord)> = Vec::new();
            for &(handle, timeout) in entries {
                let result = self.resolve(q, handle).and_then(|h| {
                    let state = visibility_change(q.fifo, &st, h, handle, timeout, now)?;
                    wb.put(keys::message_state(q.id, h.seq), records::encode(&state));
                    changed.push((h.seq, state));
                    wake |= timeout == 0;
                    Ok(())
                });
                results.push(result);
            }
            let ticket = self.apply(wb)?;
            for (seq, state) in changed {
                st.update_state(seq, state, now);
            }
            ticket
        };
        self.durable(ticket).await?;
        if wake {
            q.notify.notify_waiters();
        }
        Ok(results)
    }

    /// Decodes a receipt handle issued by this queue.
    fn resolve(&self, q: &Queue, handle: &str) -> SqsResult<ReceiptHandle> {
        ReceiptHandle::decode(handle)
            .filter(|h| h.queue_id == q.id)
            .ok_or_else(|| invalid_handle(handle))
    }

    pub async fn purge(&self, q: &Arc<Queue>) -> SqsResult<()> {
        let now = self.now();
        let purged = {
            let mut st = q.lock();
            if let Some(last) = st.last_purge_at {
                if self.settings.purge_cooldown_ms > 0
                    && now < last + self.settings.purge_cooldown_ms
                {
                    return Err(SqsError::new(
                        ErrorCode::PurgeQueueInProgress,
                        format!(
                            "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                            q.name
                        ),
                    ));
                }
            }
            st.last_purge_at = Some(now);
            // On a FIFO queue the deduplication entries go too: the same
            // MessageDeduplicationId sent after a purge is delivered [AWS-rec].
            st.take_indexes()
        };
        // The store's lock is held ~1.5 µs per removed record: a large queue is purged in
        // batches, letting other requests run between them, on a task of its own so that a
        // client hanging up does not stop it halfway. The reply waits until every batch is
        // flushed; a crash before it may leave the queue partly purged, as an unanswered
        // PurgeQueue may be.
        let store = self.store.clone();
        let commit = self.commit.clone();
        let queue = q.clone();
        let shutdown = self.shutdown_signal();
        let removal = tokio::spawn(async move {
            let queue_id = queue.id;
            let seqs: Vec<u64> = purged.messages.keys().copied().collect();
            let mut ticket = None;
            for chunk in seqs.chunks(PURGE_CHUNK) {
                let mut wb = WriteBatch::new();
                for &seq in chunk {
                    wb.delete(keys::message(queue_id, seq));
                    wb.delete(keys::message_state(queue_id, seq));
                }
                store.apply(wb).map_err(internal)?;
                ticket = commit.as_ref().map(|c| c.ticket());
                tokio::task::yield_now().await;
            }
            let dedup_keys: Vec<&String> = purged.dedup.keys().collect();
            for chunk in dedup_keys.chunks(PURGE_CHUNK) {
                // A send after the purge may have stored the same key again: under the
                // queue's lock, only the records it has not replaced are removed.
                {
                    let st = queue.lock();
                    let mut wb = WriteBatch::new();
                    for key in chunk.iter().filter(|k| !st.dedup.contains_key(k.as_str())) {
                        wb.delete(keys::dedup(queue_id, key));
                    }
                    if !wb.is_empty() {
                        store.apply(wb).map_err(internal)?;
                        ticket = commit.as_ref().map(|c| c.ticket());
                    }
                }
                tokio::task::yield_now().await;
            }
            tokio::task::spawn_blocking(move || super::free_gradually(purged, &shutdown));
            Ok::<_, SqsError>(ticket)
        });
        let ticket = removal.await.map_err(|e| {
            tracing::error!(error = %e, "purge task failed");
            SqsError::internal("Internal error.")
        })??;
        self.durable(ticket).await
    }
}

/// Messages whose records one PurgeQueue store batch removes.
const PURGE_CHUNK: usize = 1_024;

/// The one result of a one-entry batch call.
fn single(mut results: Vec<SqsResult<()>>) -> SqsResult<()> {
    results.pop().unwrap_or(Ok(()))
}

/// The new state of a message whose visibility timeout changes to `timeout` seconds, or why
/// the change is refused (SQS-REFERENCE §6).
fn visibility_change(
    fifo: bool,
    st: &QueueState,
    h: ReceiptHandle,
    handle: &str,
    timeout: i64,
    now: u64,
) -> SqsResult<MessageStateRecord> {
    if !(0..=43_200).contains(&timeout) {
        return Err(SqsError::invalid_parameter(
            "VisibilityTimeout",
            timeout,
            "Must be >= 0 and <= 43200, if provided.",
        ));
    }
    let unavailable = || {
        SqsError::invalid_parameter(
            "ReceiptHandle",
            handle,
            "Message does not exist or is not available for visibility timeout change.",
        )
    };
    let meta = st.messages.get(&h.seq).ok_or_else(unavailable)?;
    if fifo && (meta.state.receive_count != h.generation || !meta.in_flight(now)) {
        return Err(expired_handle(handle));
    }
    if meta.state.receive_count == 0 {
        return Err(unavailable());
    }
    let visible_at = now + timeout as u64 * 1000;
    if visible_at > meta.state.received_at + MAX_VISIBILITY_MS {
        return Err(SqsError::invalid_parameter(
            "VisibilityTimeout",
            timeout,
            "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]",
        ));
    }
    Ok(MessageStateRecord {
        visible_at,
        ..meta.state
    })
}

/// Standard queues: visible messages oldest sent first (best effort, as AWS documents),
/// taking one message per message group first (fair queues), then filling up in order.
fn standard_candidates(st: &mut QueueState, now: u64, max: usize) -> Vec<u64> {
    if st.grouped == 0 {
        return st.visible(now).take(max).collect();
    }
    let window: Vec<u64> = st.visible(now).take(max * 20 + 100).collect();
    if window.len() <= max
        || !window
            .iter()
            .any(|s| st.messages.get(s).is_some_and(|m| m.group.is_some()))
    {
        return window;
    }
    let mut groups_seen = HashSet::new();
    let mut first: Vec<u64> = Vec::new();
    let mut rest: Vec<u64> = Vec::new();
    for seq in window {
        let group = st.messages.get(&seq).and_then(|m| m.group.clone());
        if groups_seen.insert(group) {
            first.push(seq);
        } else {
            rest.push(seq);
        }
    }
    first.extend(rest);
    first
}

/// FIFO queues: from each group, its messages in order from the oldest undeleted one up to,
/// not including, the first that is not visible (in flight, or still delayed), so nothing
/// after an in-flight message is ever delivered, while a message whose visibility lapsed is
/// delivered even if a later one of its group is still in flight [Doc "FIFO delivery logic"].
/// Groups are visited round-robin, starting after the group served last. A message due for
/// the dead-letter queue does not block its group.
fn fifo_candidates(
    st: &mut QueueState,
    now: u64,
    max: usize,
    max_receives: Option<u32>,
) -> Vec<u64> {
    let mut out = Vec::new();
    let start = st.group_cursor.clone();
    let order: Vec<_> = match &start {
        Some(c) => st
            .groups
            .range::<Arc<str>, _>((
                std::ops::Bound::Excluded(c.clone()),
                std::ops::Bound::Unbounded,
            ))
            .chain(st.groups.range::<Arc<str>, _>(..=c.clone()))
            .map(|(g, _)| g.clone())
            .collect(),
        None => st.groups.keys().cloned().collect(),
    };
    let mut last = None;
    let mut taken = 0usize;
    for g in order {
        if taken >= max {
            break;
        }
        let mut any = false;
        for &seq in &st.groups[&g] {
            let m = &st.messages[&seq];
            if m.state.visible_at > now {
                break;
            }
            out.push(seq);
            any = true;
            // Messages due for the dead-letter queue are moved, not delivered: they do not
            // count against the receive's maximum.
            if max_receives.is_none_or(|mr| m.state.receive_count < mr) {
                taken += 1;
                if taken >= max {
                    break;
                }
            }
        }
        if any {
            last = Some(g);
        }
    }
    if last.is_some() {
        st.group_cursor = last;
    }
    out
}
