//! Which messages a receive takes: oldest first on standard queues (one per message group
//! first on fair queues), or in a seeded pseudo-random order with `--shuffle-seed`; group by
//! group in order on FIFO queues.

use std::collections::HashSet;
use std::sync::Arc;

use rand::seq::SliceRandom;

use super::queue_state::QueueState;

/// The messages a receive of at most `max` may take, in order: on a FIFO queue, messages
/// received `max_receives` times already (due for the dead-letter queue) do not count.
pub(super) fn candidates(
    st: &mut QueueState,
    fifo: bool,
    now: u64,
    max: usize,
    max_receives: Option<u32>,
    shuffle_seed: Option<u64>,
) -> Vec<u64> {
    match (fifo, shuffle_seed) {
        (true, _) => fifo_candidates(st, now, max, max_receives),
        (false, Some(seed)) => shuffled_candidates(st, now, max, seed),
        (false, None) => standard_candidates(st, now, max),
    }
}

/// Standard queues with `--shuffle-seed`: `max` visible messages drawn by the queue's seeded
/// generator, in the order drawn (message groups play no part). The draw is over every visible
/// message, so it costs a pass over them per receive: a testing mode.
fn shuffled_candidates(st: &mut QueueState, now: u64, max: usize, seed: u64) -> Vec<u64> {
    let mut visible: Vec<u64> = st.visible(now).collect();
    let take = max.min(visible.len());
    let (drawn, _) = visible.partial_shuffle(st.shuffle_rng(seed), take);
    drawn.to_vec()
}

/// Standard queues: visible messages oldest sent first (best effort, as AWS documents),
/// taking one message per message group first (fair queues), then filling up in order.
fn standard_candidates(st: &mut QueueState, now: u64, max: usize) -> Vec<u64> {
    if !st.has_grouped_messages() {
        return st.visible(now).take(max).collect();
    }
    let window: Vec<u64> = st.visible(now).take(max * 20 + 100).collect();
    if window.len() <= max
        || !window
            .iter()
            .any(|s| st.message(*s).is_some_and(|m| m.group.is_some()))
    {
        return window;
    }
    let mut groups_seen = HashSet::new();
    let mut first: Vec<u64> = Vec::new();
    let mut rest: Vec<u64> = Vec::new();
    for seq in window {
        let group = st.message(seq).and_then(|m| m.group.clone());
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
/// delivered even if a later one of its group is still in flight
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html>).
/// Groups are visited round-robin, starting after the group served last. A message due for
/// the dead-letter queue does not block its group.
fn fifo_candidates(
    st: &mut QueueState,
    now: u64,
    max: usize,
    max_receives: Option<u32>,
) -> Vec<u64> {
    let mut out = Vec::new();
    let start = st.group_cursor().cloned();
    let order: Vec<_> = match &start {
        Some(c) => st
            .groups()
            .range::<Arc<str>, _>((
                std::ops::Bound::Excluded(c.clone()),
                std::ops::Bound::Unbounded,
            ))
            .chain(st.groups().range::<Arc<str>, _>(..=c.clone()))
            .map(|(g, _)| g.clone())
            .collect(),
        None => st.groups().keys().cloned().collect(),
    };
    let mut last = None;
    let mut taken = 0usize;
    for g in order {
        if taken >= max {
            break;
        }
        let mut any = false;
        for &seq in &st.groups()[&g] {
            let m = st.message(seq).expect("a grouped message");
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
    if let Some(last) = last {
        st.set_group_cursor(last);
    }
    out
}
