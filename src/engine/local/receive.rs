//! ReceiveMessage on the local backend: one claim under the queue's lock, as a pipeline
//! (expire, attempt-id replay, select, take, redrive, commit); then, with no lock held, the
//! claimed messages' records (bodies, which the sled store keeps on disk) are read.

use super::queue_state::{AttemptedMessage, QueueState, ReceiveAttempt};
use crate::engine::queue::{MessageRecord, MessageStateRecord, Queue};
use crate::engine::receive::{Claim, Claimed, Delivery, ReceiveRequest, ATTEMPT_WINDOW_MS};
use crate::engine::{EngineError, EngineResult};
use crate::store::{keys, records, WriteBatch};

use super::redrive::Arrivals;
use super::retention::expire_messages;
use super::LocalQueue;
use super::{select, Local};

impl Local {
    /// One claim: the pipeline under the queue's lock, then the dead-letter moves landed,
    /// the janitor told of a remembered attempt, and the write awaited.
    pub(super) async fn claim(&self, c: &Claim<'_>) -> EngineResult<Option<Claimed>> {
        let Some(outcome) = self.try_claim(c)? else {
            return Ok(None);
        };
        self.schedule_janitor(c.q, outcome.janitor_at);
        let mut moved_to_dead_letter = 0;
        if let Some(arrivals) = outcome.dead_letter_moves {
            moved_to_dead_letter = arrivals.moved.len();
            arrivals.land(self, c.now);
        }
        let delivered = self.read_claimed(c.q, outcome.delivered)?;
        self.journal.durable(outcome.ticket).await?;
        Ok(Some(Claimed {
            delivered,
            next_visible_at: outcome.next_visible_at,
            deleted: outcome.deleted,
            moved_to_dead_letter,
        }))
    }

    /// The records of the claimed messages, read with no lock held (a body may come from
    /// disk). A message deleted since its claim (a purge, a delete with an older receipt
    /// handle) is not delivered.
    fn read_claimed(&self, q: &Queue, claimed: Vec<ClaimedMessage>) -> EngineResult<Vec<Delivery>> {
        let mut delivered = Vec::with_capacity(claimed.len());
        for ClaimedMessage { seq, state } in claimed {
            let Some(bytes) = self.journal.store().get(&keys::message(q.id, seq))? else {
                continue;
            };
            let record: MessageRecord = records::decode(&bytes)?;
            delivered.push(Delivery { seq, record, state });
        }
        Ok(delivered)
    }

    /// The pipeline under the queue's lock: expire what is past its retention, replay a FIFO
    /// receive attempt, select candidates, split out those due for the dead-letter queue,
    /// commit. `None` when the claim's dead-letter target no longer matches the queue's
    /// RedrivePolicy.
    fn try_claim(&self, c: &Claim<'_>) -> EngineResult<Option<Outcome>> {
        let (q, req, now) = (c.q, c.req, c.now);
        let mut st = q.lock();
        if st.is_deleted() {
            let mut gone = Outcome::nothing(None, None);
            gone.deleted = true;
            return Ok(Some(gone));
        }
        if !c.dead_letter.matches(st.attributes()) {
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
        let expired = expire_messages(q.id, &st, now, &mut wb);
        if let Some(replayed) = self.replay_attempt(&round, &st, &mut wb)? {
            let ticket = self.journal.apply(wb)?;
            for seq in expired {
                st.remove(seq);
            }
            deliver(&round, &mut st, &replayed);
            // The replay resets the visibility: a later retry compares against the new one.
            if let (Some(id), Some(d)) = (&req.attempt_id, replayed.first()) {
                st.renew_attempt(id, d.state.visible_at);
            }
            return Ok(Some(Outcome::delivered(replayed, None, ticket)));
        }
        // Expired messages leave memory before the selection (it must not deliver them), and
        // their removal is written with the receive's batch: if nothing is written, they and
        // the FIFO group cursor go back as they were.
        let expired: Vec<_> = expired
            .into_iter()
            .filter_map(|seq| st.remove(seq).map(|meta| (seq, meta)))
            .collect();
        let cursor = st.group_cursor().cloned();
        let result = self.claim_visible(c, &round, &mut st, wb);
        // Every error but TooManyInFlight (refused after its write) comes before the write.
        if matches!(&result, Err(e) if *e != EngineError::TooManyInFlight) {
            for (seq, meta) in expired {
                st.insert(seq, meta, now);
            }
            st.restore_group_cursor(cursor);
        }
        result.map(Some)
    }

    /// The claim once expired messages are gone from memory: select, take, redrive, commit.
    fn claim_visible(
        &self,
        c: &Claim<'_>,
        round: &Round<'_>,
        st: &mut QueueState,
        mut wb: WriteBatch,
    ) -> EngineResult<Outcome> {
        let (q, now) = (c.q, c.now);
        if !q.fifo && st.counts(now).in_flight >= c.max_inflight {
            return self.over_in_flight_limit(st, wb, c.long_poll, now);
        }
        let redrive = c.dead_letter.active();
        let max_receives = redrive.map(|(_, n)| n);
        let candidates =
            select::candidates(st, q.fifo, now, round.max, max_receives, self.shuffle_seed);
        let taken = self.take(round, st, candidates, max_receives, &mut wb)?;
        let moves = match redrive {
            Some((dlq, _)) => self.dead_letter_moves(q, st, dlq, taken.due_for_dlq, now, &mut wb),
            None => None,
        };
        self.commit(round, st, wb, taken.delivered, moves)
    }

    /// A standard queue at its in-flight limit: nothing is delivered. A long poll gets no
    /// error and waits until a message's visibility may have changed
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html>); a short one is refused.
    fn over_in_flight_limit(
        &self,
        st: &QueueState,
        wb: WriteBatch,
        long_poll: bool,
        now: u64,
    ) -> EngineResult<Outcome> {
        // The expired messages are already gone from memory; drop them from the store too.
        let ticket = self.journal.apply(wb)?;
        if !long_poll {
            return Err(EngineError::TooManyInFlight);
        }
        Ok(Outcome::nothing(st.next_visible_at(now), ticket))
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
            if max_receives.is_some_and(|n| meta.state.receive_count >= n) {
                // A move writes the record to the dead-letter queue in the same batch: read
                // here (moves are rare; deliveries read theirs after the lock).
                let Some(bytes) = self.journal.store().get(&keys::message(q.id, seq))? else {
                    continue;
                };
                let record: MessageRecord = records::decode(&bytes)?;
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
            taken.delivered.push(ClaimedMessage { seq, state });
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
        delivered: Vec<ClaimedMessage>,
        moves: Option<Arrivals>,
    ) -> EngineResult<Outcome> {
        let ticket = self.journal.apply(wb)?;
        for m in moves.iter().flat_map(|a| &a.moved) {
            st.remove(m.from);
        }
        deliver(round, st, &delivered);
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
        let mut outcome = Outcome::delivered(delivered, st.next_visible_at(round.now), ticket);
        outcome.dead_letter_moves = moves;
        outcome.janitor_at = st.janitor_due();
        Ok(outcome)
    }

    /// FIFO `ReceiveRequestAttemptId`: the same messages and handles again, if none changed
    /// since; their new states are written to `wb` (memory is changed by the caller, once
    /// `wb` is written).
    fn replay_attempt(
        &self,
        round: &Round<'_>,
        st: &QueueState,
        wb: &mut WriteBatch,
    ) -> EngineResult<Option<Vec<ClaimedMessage>>> {
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
            let state = MessageStateRecord {
                visible_at,
                received_at: now,
                ..st.message(a.seq).expect("an attempted message").state
            };
            wb.put(keys::message_state(q.id, a.seq), records::encode(&state));
            out.push(ClaimedMessage { seq: a.seq, state });
        }
        Ok(Some(out))
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

/// A message claimed for delivery: its seq and its state after the receive (its record is
/// read once the queue's lock is released).
struct ClaimedMessage {
    seq: u64,
    state: MessageStateRecord,
}

/// What a receive took from its candidates.
struct Taken {
    delivered: Vec<ClaimedMessage>,
    /// Messages received maxReceiveCount times already, with their records.
    due_for_dlq: Vec<(u64, MessageRecord)>,
}

/// What one claim did under the queue's lock, to finish once the lock is released.
struct Outcome {
    delivered: Vec<ClaimedMessage>,
    /// When the next message becomes visible, for a long poll to wake then.
    next_visible_at: Option<u64>,
    /// Whether the queue was deleted.
    deleted: bool,
    /// Messages written to the dead-letter queue, to add to its memory.
    dead_letter_moves: Option<Arrivals>,
    /// The store write to wait on before answering.
    ticket: Option<u64>,
    /// A janitor deadline to schedule (a remembered receive attempt's expiry).
    janitor_at: Option<u64>,
}

impl Outcome {
    fn nothing(next_visible_at: Option<u64>, ticket: Option<u64>) -> Self {
        Self::delivered(Vec::new(), next_visible_at, ticket)
    }

    fn delivered(
        delivered: Vec<ClaimedMessage>,
        next_visible_at: Option<u64>,
        ticket: Option<u64>,
    ) -> Self {
        Outcome {
            delivered,
            next_visible_at,
            deleted: false,
            dead_letter_moves: None,
            ticket,
            janitor_at: None,
        }
    }
}

/// Puts each delivered message's new state in memory.
fn deliver(round: &Round<'_>, st: &mut QueueState, delivered: &[ClaimedMessage]) {
    for d in delivered {
        st.update_state(d.seq, d.state, round.now);
    }
}
