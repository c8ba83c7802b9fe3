//! Peeking at a queue's messages for operators: their records and states as they are, with
//! no receive, so no visibility or receive count changes.

use super::queue::{MessageRecord, MessageStateRecord, Queue};
use super::{Engine, EngineResult};

/// Where a message stands at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Receivable (counted in ApproximateNumberOfMessages).
    Visible,
    /// Received, its visibility timeout running (ApproximateNumberOfMessagesNotVisible).
    InFlight,
    /// Not yet visible after its delay (ApproximateNumberOfMessagesDelayed).
    Delayed,
}

impl Phase {
    /// A message's phase at `now`.
    pub fn of(state: &MessageStateRecord, now: u64) -> Phase {
        if state.visible_at <= now {
            Phase::Visible
        } else if state.receive_count > 0 {
            Phase::InFlight
        } else {
            Phase::Delayed
        }
    }
}

/// Which messages a peek returns: those in `phase` (any when `None`) with a sequence number
/// after `after`, oldest first, at most `limit`.
#[derive(Clone, Copy, Debug)]
pub struct PeekRequest {
    pub phase: Option<Phase>,
    pub after: Option<u64>,
    pub limit: usize,
}

/// The most messages one peek returns.
pub const PEEK_LIMIT: usize = 1000;

/// A message as a peek saw it.
#[derive(Clone, Debug)]
pub struct PeekedMessage {
    /// The message's sequence number in its queue: the paging key.
    pub seq: u64,
    pub record: MessageRecord,
    pub state: MessageStateRecord,
    pub phase: Phase,
}

impl Engine {
    /// `q`'s messages as `req` selects them, read without changing any.
    pub async fn peek(&self, q: &Queue, req: PeekRequest) -> EngineResult<Vec<PeekedMessage>> {
        let req = PeekRequest {
            limit: req.limit.clamp(1, PEEK_LIMIT),
            ..req
        };
        self.state.peek(q, req, self.now()).await
    }
}
