//! Engine tests on a memory store and a hand-moved clock: visibility, delays, retention, and a
//! randomized FIFO model test (order per group, delivery up to the first in-flight message,
//! dedup window, redrive count).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::local::LocalQueue;
use super::queue::MessageRecord;
use super::*;
use crate::clock::ManualClock;
use crate::store::{keys, records, MemoryStore, WriteBatch};

const T0: u64 = 1_700_000_000_000;
const REGION: &str = "us-east-1";

fn engine() -> (Arc<Engine>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Engine::open(
        Arc::new(MemoryStore::new()),
        clock.clone(),
        EngineSettings::default(),
    )
    .unwrap();
    (engine, clock)
}

/// Queue attributes as `create_queue` takes them.
pub(crate) fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn entry(body: &str) -> SendEntry {
    SendEntry {
        body: body.into(),
        ..Default::default()
    }
}

fn receive_req(max: u32) -> ReceiveRequest {
    ReceiveRequest {
        max_messages: max,
        wait_time_seconds: Some(0),
        system_attribute_names: vec!["All".into()],
        ..Default::default()
    }
}

async fn send(e: &Engine, q: &Arc<Queue>, entries: Vec<SendEntry>) -> Vec<SendOutcome> {
    e.send_messages(q, entries, "tester", false)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

#[tokio::test]
async fn visibility_timeout_hides_then_returns() {
    let (e, clock) = engine();
    let q = e
        .create_queue(
            "000000000000",
            REGION,
            "v",
            &attrs(&[("VisibilityTimeout", "30")]),
            &[],
        )
        .await
        .unwrap();
    send(&e, &q, vec![entry("a")]).await;
    let first = e.receive(&q, &receive_req(10)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(e.receive(&q, &receive_req(10)).await.unwrap().is_empty());
    assert_eq!(
        q.lock().counts(clock.now_ms()),
        Counts {
            visible: 0,
            in_flight: 1,
            delayed: 0
        }
    );
    clock.advance_ms(30_000);
    // No system attributes unless asked for (receive_req asks for all of them).
    let request = ReceiveRequest {
        system_attribute_names: Vec::new(),
        ..receive_req(10)
    };
    let again = e.receive(&q, &request).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].receipt_handle, first[0].receipt_handle);
    assert!(again[0].attributes.is_empty());
    // A standard queue deletes even with the older handle.
    e.delete_message(&q, &first[0].receipt_handle)
        .await
        .unwrap();
    assert_eq!(q.lock().message_count(), 0);
    e.delete_message(&q, &first[0].receipt_handle)
        .await
        .unwrap();
}

#[tokio::test]
async fn delays_count_as_delayed_until_due() {
    let (e, clock) = engine();
    let q = e
        .create_queue(
            "000000000000",
            REGION,
            "d",
            &attrs(&[("DelaySeconds", "5")]),
            &[],
        )
        .await
        .unwrap();
    send(
        &e,
        &q,
        vec![
            entry("a"),
            SendEntry {
                delay_seconds: Some(0),
                ..entry("b")
            },
        ],
    )
    .await;
    assert_eq!(
        q.lock().counts(clock.now_ms()),
        Counts {
            visible: 1,
            in_flight: 0,
            delayed: 1
        }
    );
    assert_eq!(e.receive(&q, &receive_req(10)).await.unwrap().len(), 1);
    clock.advance_ms(5_000);
    let got = e.receive(&q, &receive_req(10)).await.unwrap();
    assert_eq!(
        got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        vec!["a"]
    );
}

#[tokio::test]
async fn retention_expires_in_flight_messages_too() {
    let (e, clock) = engine();
    let q = e
        .create_queue(
            "000000000000",
            REGION,
            "r",
            &attrs(&[("MessageRetentionPeriod", "60")]),
            &[],
        )
        .await
        .unwrap();
    send(&e, &q, vec![entry("old")]).await;
    assert_eq!(e.receive(&q, &receive_req(1)).await.unwrap().len(), 1);
    clock.advance_ms(30_000);
    send(&e, &q, vec![entry("new")]).await;
    clock.advance_ms(30_000);
    e.expire(&q).await.unwrap();
    assert_eq!(q.lock().message_count(), 1);
    let got = e.receive(&q, &receive_req(10)).await.unwrap();
    assert_eq!(got[0].body, "new");
}

#[tokio::test]
async fn change_visibility_is_capped_at_twelve_hours_from_the_receive() {
    let (e, clock) = engine();
    let q = e
        .create_queue("000000000000", REGION, "c", &[], &[])
        .await
        .unwrap();
    send(&e, &q, vec![entry("a")]).await;
    let m = e.receive(&q, &receive_req(1)).await.unwrap().remove(0);
    clock.advance_ms(10_000);
    assert!(e
        .change_visibility(&q, &m.receipt_handle, 43_190)
        .await
        .is_ok());
    let err = e
        .change_visibility(&q, &m.receipt_handle, 43_200)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        EngineError::invalid(
            Param::VisibilityTimeout,
            43_200,
            "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )
    );
    e.change_visibility(&q, &m.receipt_handle, 0).await.unwrap();
    assert_eq!(e.receive(&q, &receive_req(1)).await.unwrap().len(), 1);
}

/// Receives and deletes until the queue is empty; the bodies received.
async fn drain(e: &Engine, q: &Arc<Queue>) -> HashSet<String> {
    let mut bodies = HashSet::new();
    loop {
        let request = ReceiveRequest {
            visibility_timeout: Some(600),
            ..receive_req(10)
        };
        let got = e.receive(q, &request).await.unwrap();
        if got.is_empty() {
            return bodies;
        }
        for m in got {
            e.delete_message(q, &m.receipt_handle).await.unwrap();
            bodies.insert(m.body);
        }
    }
}

/// The reference model of one FIFO message.
#[derive(Clone, Debug)]
struct ModelMessage {
    body: String,
    receive_count: u32,
    visible_at: u64,
}

const MAX_RECEIVES: u32 = 3;

/// Random operations on a FIFO queue with a dead-letter queue, checked against a model.
async fn fifo_model_run(seed: u64) {
    let (e, clock) = engine();
    let account = "000000000000";
    let dlq = e
        .create_queue(
            account,
            REGION,
            "dlq.fifo",
            &attrs(&[("FifoQueue", "true")]),
            &[],
        )
        .await
        .unwrap();
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":{MAX_RECEIVES}}}"#,
        dlq.arn
    );
    let q = e
        .create_queue(
            account,
            REGION,
            "m.fifo",
            &attrs(&[
                ("FifoQueue", "true"),
                ("VisibilityTimeout", "30"),
                ("RedrivePolicy", &policy),
            ]),
            &[],
        )
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let groups = ["g0", "g1", "g2", "g3"];
    let mut model: BTreeMap<&str, Vec<ModelMessage>> = BTreeMap::new();
    let mut dedup: HashMap<String, u64> = HashMap::new();
    let mut handles: Vec<(String, String, u32)> = Vec::new(); // (handle, body, generation)
    let mut due_bodies: HashSet<String> = HashSet::new();
    let mut cursor: Option<&str> = None; // the group a receive served last
    let mut counter = 0u32;

    for _ in 0..1500 {
        let now = clock.now_ms();
        match rng.gen_range(0..100) {
            0..=34 => {
                let group = groups[rng.gen_range(0..groups.len())];
                // Reuse a dedup id now and then to exercise the window.
                let dedup_id = if rng.gen_bool(0.15) && counter > 0 {
                    format!("d{}", rng.gen_range(0..counter))
                } else {
                    format!("d{counter}")
                };
                counter += 1;
                let body = format!("{group}:{dedup_id}:{counter}");
                let entry = SendEntry {
                    body: body.clone(),
                    group_id: Some(group.into()),
                    dedup_id: Some(dedup_id.clone()),
                    ..Default::default()
                };
                let out = e
                    .send_messages(&q, vec![entry], "t", false)
                    .await
                    .unwrap()
                    .remove(0)
                    .unwrap();
                assert!(out.sequence_number.is_some());
                let duplicate = dedup.get(&dedup_id).is_some_and(|&exp| exp > now);
                if !duplicate {
                    dedup.insert(dedup_id, now + 300_000);
                    model.entry(group).or_default().push(ModelMessage {
                        body,
                        receive_count: 0,
                        visible_at: now,
                    });
                }
            }
            35..=64 => {
                let max = rng.gen_range(1..=10);
                // The model of a FIFO receive: groups are visited round-robin starting after
                // the group served last; each yields its messages from the head up to the
                // first one not visible. A visible message past maxReceiveCount is moved to the
                // DLQ (not delivered, not counted against `max`); the others are delivered
                // until `max` are.
                let order: Vec<&str> = match cursor {
                    Some(c) => model
                        .range::<&str, _>((
                            std::ops::Bound::Excluded(c),
                            std::ops::Bound::Unbounded,
                        ))
                        .chain(model.range::<&str, _>(..=c))
                        .map(|(g, _)| *g)
                        .collect(),
                    None => model.keys().copied().collect(),
                };
                let mut expected: Vec<(String, u32)> = Vec::new(); // (body, receive count)
                let mut last = None;
                for g in order {
                    if expected.len() >= max as usize {
                        break;
                    }
                    let list = model.get_mut(g).expect("group in model");
                    let mut kept = Vec::with_capacity(list.len());
                    let mut open = true;
                    for mut m in list.drain(..) {
                        if open && expected.len() < max as usize && m.visible_at <= now {
                            last = Some(g);
                            if m.receive_count >= MAX_RECEIVES {
                                due_bodies.insert(m.body);
                                continue;
                            }
                            m.receive_count += 1;
                            m.visible_at = now + 30_000;
                            expected.push((m.body.clone(), m.receive_count));
                        } else {
                            open = false;
                        }
                        kept.push(m);
                    }
                    *list = kept;
                }
                if last.is_some() {
                    cursor = last;
                }
                let got = e.receive(&q, &receive_req(max)).await.unwrap();
                let got_bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
                let expected_bodies: Vec<&str> = expected.iter().map(|(b, _)| b.as_str()).collect();
                assert_eq!(
                    got_bodies, expected_bodies,
                    "seed {seed}: delivered messages"
                );
                for (m, (_, count)) in got.iter().zip(&expected) {
                    let rc: u32 = m
                        .attributes
                        .iter()
                        .find(|(k, _)| k == "ApproximateReceiveCount")
                        .map_or_else(
                            || panic!("seed {seed}: no ApproximateReceiveCount"),
                            |(_, v)| v.parse().unwrap(),
                        );
                    assert_eq!(rc, *count, "seed {seed}: receive count of {}", m.body);
                    handles.push((m.receipt_handle.clone(), m.body.clone(), *count));
                }
            }
            65..=79 if !handles.is_empty() => {
                let (handle, body, generation) =
                    handles.swap_remove(rng.gen_range(0..handles.len()));
                let found = model
                    .values_mut()
                    .find_map(|l| l.iter().position(|m| m.body == body).map(|p| (l, p)));
                let result = e.delete_message(&q, &handle).await;
                match found {
                    Some((list, pos)) => {
                        let m = &list[pos];
                        if m.receive_count == generation && m.visible_at > now {
                            result.unwrap();
                            list.remove(pos);
                        } else {
                            assert!(
                                matches!(
                                    result.unwrap_err(),
                                    EngineError::ReceiptHandleExpired { .. }
                                ),
                                "seed {seed}: stale handle"
                            );
                        }
                    }
                    // Deleted already, or moved to the DLQ by a receive: deleting is a no-op.
                    None => result.unwrap(),
                }
            }
            80..=89 if !handles.is_empty() => {
                let (handle, body, generation) = handles[rng.gen_range(0..handles.len())].clone();
                let found = model
                    .values_mut()
                    .flat_map(|l| l.iter_mut())
                    .find(|m| m.body == body);
                let result = e.change_visibility(&q, &handle, 0).await;
                match found {
                    Some(m) if m.receive_count == generation && m.visible_at > now => {
                        result.unwrap();
                        m.visible_at = now;
                    }
                    _ => assert!(
                        result.is_err(),
                        "seed {seed}: visibility change with a stale handle"
                    ),
                }
            }
            _ => clock.advance_ms(rng.gen_range(0..40_000)),
        }
    }

    // Drain: everything left is either delivered here (not due) or moved to the DLQ (due).
    clock.advance_ms(400_000);
    let remaining = drain(&e, &q).await;
    let in_dlq = drain(&e, &dlq).await;
    for list in model.values() {
        for m in list {
            if m.receive_count >= MAX_RECEIVES {
                due_bodies.insert(m.body.clone());
            } else {
                assert!(remaining.contains(&m.body), "seed {seed}: lost {}", m.body);
            }
        }
    }
    assert_eq!(
        in_dlq, due_bodies,
        "seed {seed}: DLQ holds exactly the messages past maxReceiveCount"
    );
    assert_eq!(
        remaining.len(),
        model
            .values()
            .flatten()
            .filter(|m| m.receive_count < MAX_RECEIVES)
            .count(),
        "seed {seed}: nothing extra delivered"
    );
}

#[tokio::test]
async fn fifo_matches_the_reference_model() {
    for seed in 0..8 {
        fifo_model_run(seed).await;
    }
}

/// A data dir written before queues had regions holds `q` + account + 0x00 + name → a record
/// without a region. It opens as a queue of the configured region, its updates stay under the
/// old key, and the same name in another region is a second record.
#[tokio::test]
async fn a_legacy_queue_record_opens_in_the_configured_region() {
    let account = "000000000000";
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(T0));
    let legacy_key = b"q000000000000\0old".to_vec();
    let legacy = QueueRecord {
        id: 7,
        account: account.into(),
        region: None,
        name: "old".into(),
        attributes: QueueAttributes::new(false),
        tags: BTreeMap::new(),
        created_at: T0 / 1000,
        last_modified_at: T0 / 1000,
        creation_deduplication_scope: None,
    };
    let bytes = records::encode(&legacy);
    assert!(!bytes.windows(6).any(|w| w == b"region"), "the old format");
    let message = MessageRecord {
        message_id: "m-1".into(),
        body: "from before regions".into(),
        attributes: Default::default(),
        trace_header: None,
        sender_id: "tester".into(),
        sent_at: T0,
        first_visible_at: T0,
        group_id: None,
        dedup_id: None,
        dlq_source_arn: None,
    };
    let mut batch = WriteBatch::new();
    batch.put(legacy_key.clone(), bytes);
    batch.put(keys::message(7, 1), records::encode(&message));
    batch.put(
        keys::message_index(7, 1),
        records::encode(&super::queue::MessageIndexRecord::of(&message)),
    );
    store.apply(batch).unwrap();

    let settings = |region: &str| EngineSettings {
        region: region.into(),
        ..Default::default()
    };
    let e = Engine::open(store.clone(), clock.clone(), settings("eu-west-1")).unwrap();
    let q = e.queue(account, "eu-west-1", "old").unwrap();
    assert_eq!((q.id, q.region.as_str()), (7, "eu-west-1"));
    assert_eq!(q.arn, "arn:aws:sqs:eu-west-1:000000000000:old");
    assert!(e.queue(account, "us-east-1", "old").is_err());
    assert_eq!(q.lock().message_count(), 1);
    e.set_queue_attributes(&q, &attrs(&[("VisibilityTimeout", "40")]))
        .await
        .unwrap();
    e.tag_queue(&q, &attrs(&[("k", "v")])).await.unwrap();
    let other = e
        .create_queue(account, "us-east-1", "old", &[], &[])
        .await
        .unwrap();
    assert_ne!(other.id, q.id);
    let stored_keys = |store: &MemoryStore| -> Vec<Vec<u8>> {
        let scanned = store.scan_prefix(&[keys::QUEUE]).unwrap();
        scanned.into_iter().map(|(k, _)| k).collect()
    };
    let regional_key = keys::queue(account, Some("us-east-1"), "old");
    assert_eq!(
        stored_keys(&store),
        vec![legacy_key.clone(), regional_key.clone()]
    );
    drop((q, other, e));

    // Reopened with the same --region: both queues, each in its region, the updates kept.
    let e = Engine::open(store.clone(), clock.clone(), settings("eu-west-1")).unwrap();
    let q = e.queue(account, "eu-west-1", "old").unwrap();
    assert_eq!(q.id, 7);
    assert_eq!(q.lock().record().region, None);
    assert_eq!(
        q.lock().attributes().get("VisibilityTimeout").as_deref(),
        Some("40")
    );
    assert_eq!(e.queue_tags(&q).get("k").map(String::as_str), Some("v"));
    assert_eq!(q.lock().message_count(), 1);
    let other = e.queue(account, "us-east-1", "old").unwrap();
    assert_ne!(other.id, 7);
    assert_eq!(e.list_queues(account, "eu-west-1", "").len(), 1);
    assert_eq!(e.list_queues(account, "us-east-1", "").len(), 1);
    drop((q, other, e));

    // Reopened with --region us-east-1, the legacy record would share (account, region, name)
    // with the record naming us-east-1: that one is served, the legacy one is left as it is.
    let e = Engine::open(store.clone(), clock, settings("us-east-1")).unwrap();
    assert_ne!(e.queue(account, "us-east-1", "old").unwrap().id, 7);
    assert!(e.queue(account, "eu-west-1", "old").is_err());
    assert_eq!(stored_keys(&store), vec![legacy_key, regional_key]);
    assert!(store.get(&keys::message(7, 1)).unwrap().is_some());
}

/// An engine on paused tokio time, started (janitor running).
fn paused_engine() -> (Arc<Engine>, Arc<crate::clock::TokioClock>) {
    let clock = Arc::new(crate::clock::TokioClock::new(T0));
    let store = Arc::new(MemoryStore::new());
    let e = Engine::open(store, clock.clone(), EngineSettings::default()).unwrap();
    e.start();
    (e, clock)
}

/// A long poll sleeps on the engine's clock: under paused tokio time it ends when a delayed
/// message becomes visible, at that moment, and an empty one at its wait time.
#[tokio::test(start_paused = true)]
async fn long_polls_follow_paused_time() {
    let (e, clock) = paused_engine();
    let q = e
        .create_queue("000000000000", REGION, "lp", &[], &[])
        .await
        .unwrap();
    let later = SendEntry {
        delay_seconds: Some(7),
        ..entry("later")
    };
    send(&e, &q, vec![later]).await;
    let poll = ReceiveRequest {
        wait_time_seconds: Some(20),
        ..receive_req(10)
    };
    let got = e.receive(&q, &poll).await.unwrap();
    assert_eq!(got[0].body, "later");
    assert_eq!(clock.now_ms(), T0 + 7_000);
    assert!(e.receive(&q, &poll).await.unwrap().is_empty());
    assert_eq!(clock.now_ms(), T0 + 27_000);
    e.shutdown();
}

/// The janitor removes a message at its retention deadline, woken by that deadline alone:
/// no receive, no pass over the queues, no wake-up before or after.
#[tokio::test(start_paused = true)]
async fn the_janitor_expires_at_the_deadline() {
    let (e, _clock) = paused_engine();
    let retention = attrs(&[("MessageRetentionPeriod", "60")]);
    let q = e
        .create_queue("000000000000", REGION, "ret", &retention, &[])
        .await
        .unwrap();
    send(&e, &q, vec![entry("a")]).await;
    tokio::time::sleep(std::time::Duration::from_millis(59_999)).await;
    assert_eq!(q.lock().message_count(), 1);
    assert_eq!(e.local.janitor.wakeups(), 0);
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(q.lock().message_count(), 0);
    assert_eq!(e.local.janitor.wakeups(), 1);
    tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
    assert_eq!(e.local.janitor.wakeups(), 1, "nothing is due any more");
    e.shutdown();
}

/// With queues but nothing due, the janitor sleeps: an hour passes without a wake-up. A FIFO
/// send schedules its deduplication entry's expiry (one wake-up, to sleep to it), which is
/// due five minutes later and wakes it once more.
#[tokio::test(start_paused = true)]
async fn the_janitor_sleeps_while_nothing_is_due() {
    let (e, _clock) = paused_engine();
    for name in ["a", "b", "c"] {
        e.create_queue("000000000000", REGION, name, &[], &[])
            .await
            .unwrap();
    }
    let fifo = attrs(&[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")]);
    let q = e
        .create_queue("000000000000", REGION, "f.fifo", &fifo, &[])
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
    assert_eq!(e.local.janitor.wakeups(), 0);
    let grouped = SendEntry {
        group_id: Some("g".into()),
        ..entry("x")
    };
    send(&e, &q, vec![grouped]).await;
    let got = e.receive(&q, &receive_req(1)).await.unwrap();
    e.delete_message(&q, &got[0].receipt_handle).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(299_999)).await;
    assert_eq!(e.local.janitor.wakeups(), 1);
    assert_eq!(e.local.janitor.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    assert_eq!(e.local.janitor.wakeups(), 2);
    assert!(
        e.local.janitor.is_empty(),
        "the dedup entry was the last deadline"
    );
    assert!(q.lock().dedup_keys().next().is_none());
    e.shutdown();
}
