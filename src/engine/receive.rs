//! ReceiveMessage: the long-poll loop, FIFO receive-attempt replay, delivery and the
//! receive-time move to a dead-letter queue.

use std::sync::Arc;
use std::time::Duration;

use super::message::{self, AttributeValue};
use super::queue::{AttemptedMessage, ReceiveAttempt};
use super::queue::{MessageMeta, MessageRecord, MessageStateRecord, Queue, QueueState};
use super::receipt::ReceiptHandle;
use super::redrive::{DeadLetterMove, RedriveTarget};
use super::select::{fifo_candidates, standard_candidates};
use super::send::sequence_number;
use super::{internal, Engine};
use crate::error::{ErrorCode, SqsError, SqsResult};
use crate::store::{keys, records, WriteBatch};

impl Engine {
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
            if !messages.is_empty() || q.lock().is_deleted() {
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
        if st.is_deleted() {
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
            let Some(meta) = st.message(seq) else {
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
                let meta = st.message(*seq).expect("a candidate");
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
            st.remember_attempt(
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
            .and_then(|id| st.attempt(id))
        else {
            return Ok(None);
        };
        if attempt.expires_at <= now {
            return Ok(None);
        }
        let unchanged = attempt.messages.iter().all(|a| {
            st.message(a.seq).is_some_and(|m| {
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
                ..st.message(a.seq).expect("an attempted message").state
            };
            wb.put(keys::message_state(q.id, a.seq), records::encode(&state));
            out.push((a.seq, record, state));
        }
        // The replay resets the visibility: a later retry compares against the new one.
        if let Some(id) = &req.attempt_id {
            st.renew_attempt(id, visible_at);
        }
        Ok(Some(out))
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
}

const ATTEMPT_WINDOW_MS: u64 = 5 * 60 * 1000;

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
