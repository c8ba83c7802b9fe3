//! ReceiveMessage: the long-poll loop, FIFO receive-attempt replay, delivery and the
//! receive-time move to a dead-letter queue.

use std::sync::Arc;

use super::message::{self, AttributeValue};
use super::queue::{AttemptedMessage, ReceiveAttempt};
use super::queue::{MessageRecord, MessageStateRecord, Queue, QueueState};
use super::receipt::ReceiptHandle;
use super::redrive::{Arrivals, RedriveTarget};
use super::send::sequence_number;
use super::{select, Engine, EngineError, EngineResult};
use crate::store::{keys, records, WriteBatch};

impl Engine {
    /// ReceiveMessage, long-polling up to the wait time.
    pub async fn receive(
        &self,
        q: &Arc<Queue>,
        req: &ReceiveRequest,
    ) -> EngineResult<Vec<ReceivedMessage>> {
        for n in &req.system_attribute_names {
            if !SYSTEM_ATTRIBUTE_NAMES.contains(&n.as_str())
                && !super::attributes::ALL_ATTRIBUTE_NAMES.contains(&n.as_str())
            {
                return Err(EngineError::UnknownAttribute(n.to_string()));
            }
        }
        let wait_seconds = match req.wait_time_seconds {
            Some(w) => w,
            None => q.lock().attributes().receive_message_wait_time_seconds,
        };
        let deadline = self.now() + wait_seconds as u64 * 1000;
        let mut shutdown = self.shutdown_signal();
        // Resolved only for a queue that has a RedrivePolicy, and kept across long-poll rounds.
        let mut target = RedriveTarget::unresolved();
        loop {
            let notified = q.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let outcome = loop {
                // `None`: the queue's RedrivePolicy is not the one `target` was resolved from
                // (or it was never resolved): resolve it and try again.
                if let Some(done) = self.try_receive(q, req, wait_seconds > 0, &target)? {
                    break done;
                }
                target = self.redrive_target(q);
            };
            self.local.schedule_janitor(q, outcome.janitor_at);
            if let Some(arrivals) = outcome.dead_letter_moves {
                arrivals.land(self, self.now());
            }
            self.durable(outcome.ticket).await?;
            if !outcome.messages.is_empty() || q.lock().is_deleted() {
                return Ok(outcome.messages);
            }
            let now = self.now();
            if now >= deadline || self.is_shutting_down() {
                return Ok(outcome.messages);
            }
            let wake_at = outcome
                .next_visible_at
                .map_or(deadline, |v| v.min(deadline));
            tokio::select! {
                _ = &mut notified => {}
                _ = self.clock.sleep_until(wake_at) => {}
                _ = shutdown.changed() => return Ok(Vec::new()),
            }
        }
    }

    /// One receive attempt under the queue's lock, as a pipeline: expire what is past its
    /// retention, replay a FIFO receive attempt, select candidates, split out those due for
    /// the dead-letter queue, commit. `None` when `target` no longer matches the queue's
    /// RedrivePolicy.
    fn try_receive(
        &self,
        q: &Arc<Queue>,
        req: &ReceiveRequest,
        long_poll: bool,
        target: &RedriveTarget,
    ) -> EngineResult<Option<ReceiveOutcome>> {
        let now = self.now();
        let mut st = q.lock();
        if st.is_deleted() {
            return Ok(Some(ReceiveOutcome::nothing(None, None)));
        }
        if !target.matches(st.attributes()) {
            return Ok(None);
        }
        let round = Round {
            q,
            req,
            now,
            visibility_timeout: req
                .visibility_timeout
                .unwrap_or(st.attributes().visibility_timeout),
            max: req.max_messages.clamp(1, 10) as usize,
        };
        let mut wb = WriteBatch::new();
        let expired = super::local::retention::expire_messages(q.id, &st, now, &mut wb);
        if let Some(replayed) = self.replay_attempt(&round, &mut st, &mut wb)? {
            let ticket = self.apply(wb)?;
            for seq in expired {
                st.remove(seq);
            }
            let messages = deliver(&round, &mut st, &replayed);
            return Ok(Some(ReceiveOutcome::delivered(messages, None, ticket)));
        }
        for seq in expired {
            st.remove(seq);
        }
        if !q.fifo && st.counts(now).in_flight >= self.settings.max_inflight {
            return self.over_in_flight_limit(&st, wb, long_poll, now).map(Some);
        }
        let redrive = target.active();
        let max_receives = redrive.map(|(_, n)| n);
        let candidates = select::candidates(&mut st, q.fifo, now, round.max, max_receives);
        let taken = self.take(&round, &st, candidates, max_receives, &mut wb)?;
        let moves = match redrive {
            Some((dlq, _)) => self.dead_letter_moves(q, &st, dlq, taken.due_for_dlq, now, &mut wb),
            None => None,
        };
        self.commit(&round, &mut st, wb, taken.delivered, moves)
            .map(Some)
    }

    /// A standard queue at its in-flight limit: nothing is delivered. A long poll gets no
    /// error and waits until a message's visibility may have changed [Doc "Visibility
    /// timeout"]; a short one is refused.
    fn over_in_flight_limit(
        &self,
        st: &QueueState,
        wb: WriteBatch,
        long_poll: bool,
        now: u64,
    ) -> EngineResult<ReceiveOutcome> {
        // The expired messages are already gone from memory; drop them from the store too.
        let ticket = self.apply(wb)?;
        if !long_poll {
            return Err(EngineError::TooManyInFlight);
        }
        Ok(ReceiveOutcome::nothing(st.next_visible_at(now), ticket))
    }

    /// Reads the candidates' records, up to `round.max` to deliver, and writes each
    /// delivered message's new state to `wb`. A message already received `max_receives`
    /// times is due for the dead-letter queue instead, and does not count against the max.
    fn take(
        &self,
        round: &Round<'_>,
        st: &QueueState,
        candidates: Vec<u64>,
        max_receives: Option<u32>,
        wb: &mut WriteBatch,
    ) -> EngineResult<Taken> {
        let q = round.q;
        let mut taken = Taken {
            delivered: Vec::new(),
            due_for_dlq: Vec::new(),
        };
        for seq in candidates {
            if taken.delivered.len() >= round.max {
                break;
            }
            let Some(meta) = st.message(seq) else {
                continue;
            };
            let Some(bytes) = self.store().get(&keys::message(q.id, seq))? else {
                continue;
            };
            let record: MessageRecord = records::decode(&bytes)?;
            if max_receives.is_some_and(|n| meta.state.receive_count >= n) {
                taken.due_for_dlq.push((seq, record));
                continue;
            }
            let state = MessageStateRecord {
                visible_at: round.visible_at(),
                receive_count: meta.state.receive_count + 1,
                first_receive_at: meta.state.first_receive_at.or(Some(round.now)),
                received_at: round.now,
            };
            wb.put(keys::message_state(q.id, seq), records::encode(&state));
            taken.delivered.push(Delivery { seq, record, state });
        }
        Ok(taken)
    }

    /// Writes the receive's one store batch (a dead-letter move, delete here and put there,
    /// lands whole), then changes memory: moved messages leave, delivered ones take their
    /// new state, and a FIFO receive is remembered under its attempt id.
    fn commit(
        &self,
        round: &Round<'_>,
        st: &mut QueueState,
        wb: WriteBatch,
        delivered: Vec<Delivery>,
        moves: Option<Arrivals>,
    ) -> EngineResult<ReceiveOutcome> {
        let ticket = self.apply(wb)?;
        for m in moves.iter().flat_map(|a| &a.moved) {
            st.remove(m.from);
        }
        let messages = deliver(round, st, &delivered);
        if let (Some(id), true) = (&round.req.attempt_id, round.q.fifo && !delivered.is_empty()) {
            st.remember_attempt(
                id.clone(),
                ReceiveAttempt {
                    expires_at: round.now + ATTEMPT_WINDOW_MS,
                    messages: delivered
                        .iter()
                        .map(|d| AttemptedMessage {
                            seq: d.seq,
                            receive_count: d.state.receive_count,
                            visible_at: d.state.visible_at,
                        })
                        .collect(),
                    visibility_timeout: round.visibility_timeout,
                },
            );
        }
        let mut outcome =
            ReceiveOutcome::delivered(messages, st.next_visible_at(round.now), ticket);
        outcome.dead_letter_moves = moves;
        outcome.janitor_at = st.janitor_due();
        Ok(outcome)
    }

    /// FIFO `ReceiveRequestAttemptId`: the same messages and handles again, if none changed
    /// since; their new states are written to `wb`.
    fn replay_attempt(
        &self,
        round: &Round<'_>,
        st: &mut QueueState,
        wb: &mut WriteBatch,
    ) -> EngineResult<Option<Vec<Delivery>>> {
        let (q, req, now) = (round.q, round.req, round.now);
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
            round.visibility_timeout
        } else {
            attempt.visibility_timeout
        };
        let visible_at = now + vt as u64 * 1000;
        let mut out = Vec::new();
        for a in &attempt.messages {
            let Some(bytes) = self.store().get(&keys::message(q.id, a.seq))? else {
                return Ok(None);
            };
            let record: MessageRecord = records::decode(&bytes)?;
            let state = MessageStateRecord {
                visible_at,
                received_at: now,
                ..st.message(a.seq).expect("an attempted message").state
            };
            wb.put(keys::message_state(q.id, a.seq), records::encode(&state));
            out.push(Delivery {
                seq: a.seq,
                record,
                state,
            });
        }
        // The replay resets the visibility: a later retry compares against the new one.
        if let Some(id) = &req.attempt_id {
            st.renew_attempt(id, visible_at);
        }
        Ok(Some(out))
    }
}

/// A delivered message as ReceiveMessage returns it.
fn render(q: &Queue, delivery: &Delivery, req: &ReceiveRequest) -> ReceivedMessage {
    let Delivery { seq, record, state } = delivery;
    let seq = *seq;
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

/// One receive attempt's fixed inputs.
struct Round<'a> {
    q: &'a Queue,
    req: &'a ReceiveRequest,
    now: u64,
    /// The visibility timeout the receive gives, in seconds.
    visibility_timeout: u32,
    /// The most messages to deliver (MaxNumberOfMessages, 1 to 10).
    max: usize,
}

impl Round<'_> {
    /// When a message delivered by this receive becomes visible again.
    fn visible_at(&self) -> u64 {
        self.now + self.visibility_timeout as u64 * 1000
    }
}

/// A message a receive delivers: its record and its state after the receive.
struct Delivery {
    seq: u64,
    record: MessageRecord,
    state: MessageStateRecord,
}

/// What a receive took from its candidates.
struct Taken {
    delivered: Vec<Delivery>,
    /// Messages received maxReceiveCount times already, with their records.
    due_for_dlq: Vec<(u64, MessageRecord)>,
}

/// What one receive attempt did, for the long-poll loop to finish after the queue's lock is
/// released.
struct ReceiveOutcome {
    messages: Vec<ReceivedMessage>,
    /// When the next message becomes visible, for a long poll to wake then.
    next_visible_at: Option<u64>,
    /// Messages written to the dead-letter queue, to add to its memory.
    dead_letter_moves: Option<Arrivals>,
    /// The store write to wait on before answering.
    ticket: Option<u64>,
    /// A janitor deadline to schedule (a remembered receive attempt's expiry).
    janitor_at: Option<u64>,
}

impl ReceiveOutcome {
    fn nothing(next_visible_at: Option<u64>, ticket: Option<u64>) -> Self {
        Self::delivered(Vec::new(), next_visible_at, ticket)
    }

    fn delivered(
        messages: Vec<ReceivedMessage>,
        next_visible_at: Option<u64>,
        ticket: Option<u64>,
    ) -> Self {
        ReceiveOutcome {
            messages,
            next_visible_at,
            dead_letter_moves: None,
            ticket,
            janitor_at: None,
        }
    }
}

/// Puts each delivered message's new state in memory, and renders it.
fn deliver(round: &Round<'_>, st: &mut QueueState, delivered: &[Delivery]) -> Vec<ReceivedMessage> {
    delivered
        .iter()
        .map(|d| {
            st.update_state(d.seq, d.state, round.now);
            render(round.q, d, round.req)
        })
        .collect()
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
