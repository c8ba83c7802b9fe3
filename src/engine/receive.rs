//! ReceiveMessage: the long-poll loop around the backend's claims, the dead-letter queue
//! resolved for them, and the rendering of delivered messages.

use std::sync::Arc;

use super::message::{self, AttributeValue};
use super::queue::{MessageRecord, MessageStateRecord, Queue};
use super::receipt::ReceiptHandle;
use super::redrive::RedriveTarget;
use super::send::sequence_number;
use super::{Engine, EngineError, EngineResult};

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
                return Err(EngineError::UnknownAttribute(n.clone()));
            }
        }
        let wait_seconds = match req.wait_time_seconds {
            Some(w) => w,
            None => self.record_of(q, |r| r.attributes.receive_message_wait_time_seconds),
        };
        let deadline = self.now() + wait_seconds as u64 * 1000;
        let mut shutdown = self.shutdown_signal();
        // Resolved only for a queue that has a RedrivePolicy, and kept across long-poll rounds.
        let mut target = RedriveTarget::unresolved();
        loop {
            let notified = q.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let claimed = loop {
                let claim = Claim {
                    q,
                    req,
                    long_poll: wait_seconds > 0,
                    dead_letter: &target,
                    max_inflight: self.settings.max_inflight,
                    now: self.now(),
                };
                // `None`: the queue's RedrivePolicy is not the one `target` was resolved from
                // (or it was never resolved): resolve it and try again.
                if let Some(done) = self.state.claim(&claim).await? {
                    break done;
                }
                target = self.redrive_target(q);
            };
            q.count_dead_letter_moves(claimed.moved_to_dead_letter);
            let messages: Vec<ReceivedMessage> = claimed
                .delivered
                .iter()
                .map(|d| render(q, d, req))
                .collect();
            q.count_received(messages.len());
            if !messages.is_empty() || claimed.deleted {
                return Ok(messages);
            }
            let now = self.now();
            if now >= deadline || self.is_shutting_down() {
                return Ok(messages);
            }
            let wake_at = claimed
                .next_visible_at
                .map_or(deadline, |v| v.min(deadline));
            // A permit per waiting receive, held only while it waits (never under a lock):
            // beyond `max_long_polls` the receive ends now, as a short poll would.
            let Ok(_permit) = self.long_polls.try_acquire() else {
                crate::limits::hit(
                    crate::limits::Limit::LongPolls,
                    "a long poll was answered as a short poll",
                );
                return Ok(messages);
            };
            let _waiting = q.wait_guard();
            tokio::select! {
                _ = &mut notified => {}
                _ = self.clock.sleep_until(wake_at) => {}
                _ = shutdown.changed() => return Ok(Vec::new()),
            }
        }
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

/// A message a receive delivers: its record and its state after the receive.
pub(crate) struct Delivery {
    pub(crate) seq: u64,
    pub(crate) record: MessageRecord,
    pub(crate) state: MessageStateRecord,
}

/// One claim a receive asks of the backend
/// ([`MessageState::claim`](super::state::MessageState::claim)).
pub(crate) struct Claim<'a> {
    pub(crate) q: &'a Arc<Queue>,
    pub(crate) req: &'a ReceiveRequest,
    /// Whether the receive waits: at the in-flight limit it then gets nothing, not an error.
    pub(crate) long_poll: bool,
    /// The queue's dead-letter queue as resolved before the claim.
    pub(crate) dead_letter: &'a RedriveTarget,
    /// In-flight messages a standard queue may have.
    pub(crate) max_inflight: usize,
    pub(crate) now: u64,
}

/// What a claim took.
pub(crate) struct Claimed {
    /// The messages delivered, with their states after the receive.
    pub(crate) delivered: Vec<Delivery>,
    /// When the next message becomes visible, for a long poll to wake then.
    pub(crate) next_visible_at: Option<u64>,
    /// The queue was deleted: the receive ends.
    pub(crate) deleted: bool,
    /// Messages moved to the dead-letter queue instead of delivered.
    pub(crate) moved_to_dead_letter: usize,
}

/// How long a FIFO receive is remembered for retries with its `ReceiveRequestAttemptId`.
pub(crate) const ATTEMPT_WINDOW_MS: u64 = 5 * 60 * 1000;

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
