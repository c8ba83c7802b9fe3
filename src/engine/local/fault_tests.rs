//! Fault injection: every mutating action of the engine, run over a [`FaultyStore`] that fails
//! its write (or its flush), leaves the engine's memory and the store as they were before the
//! request (a failed flush: as the store holds them), and an engine recovered from the store
//! (a restart) sees the same state.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::LocalQueue;
use crate::clock::{Clock, ManualClock};
use crate::engine::peek::PeekRequest;
use crate::engine::{Engine, EngineError, EngineSettings, Queue, ReceiveRequest, SendEntry};
use crate::store::{keys, FaultyStore, MemoryStore, Store, WriteBatch};

const T0: u64 = 1_700_000_000_000;
const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";

/// An engine over a faulty memory store, with a hand-moved clock.
struct World {
    store: Arc<FaultyStore>,
    clock: Arc<ManualClock>,
    engine: Arc<Engine>,
    settings: EngineSettings,
}

impl World {
    /// `durable`: the store says it is persistent and the engine waits for its flushes.
    fn new(durable: bool) -> World {
        let faulty = FaultyStore::new(Arc::new(MemoryStore::new()));
        let store = Arc::new(if durable { faulty.persistent() } else { faulty });
        let clock = Arc::new(ManualClock::new(T0));
        let settings = EngineSettings {
            purge_cooldown_ms: 0,
            ..EngineSettings::default()
        };
        let engine = Engine::open(store.clone(), clock.clone(), settings.clone()).unwrap();
        World {
            store,
            clock,
            engine,
            settings,
        }
    }

    /// A fresh engine recovered from a copy of the store (what a restart would see; the copy
    /// keeps recovery's own clean-up out of the running world).
    fn recovered(&self) -> Arc<Engine> {
        let copy = MemoryStore::new();
        let mut batch = WriteBatch::new();
        for (k, v) in stored(self.store.inner().as_ref()) {
            batch.put(k, v);
        }
        copy.apply(batch).unwrap();
        Engine::open(Arc::new(copy), self.clock.clone(), self.settings.clone()).unwrap()
    }

    fn q(&self, name: &str) -> Arc<Queue> {
        self.engine.queue(ACCOUNT, REGION, name).unwrap()
    }

    async fn create(&self, name: &str, attrs: &[(&str, &str)]) -> Arc<Queue> {
        self.engine
            .create_queue(ACCOUNT, REGION, name, &pairs(attrs), &[])
            .await
            .unwrap()
    }

    async fn send(&self, q: &Arc<Queue>, body: &str, group: Option<&str>) {
        let e = entry(body, group);
        let r = self.engine.send_messages(q, vec![e], "tester", false).await;
        r.unwrap().pop().unwrap().unwrap();
    }

    async fn receive(&self, q: &Arc<Queue>, max: u32) -> Vec<crate::engine::ReceivedMessage> {
        self.engine
            .receive(q, &receive_req(max, None))
            .await
            .unwrap()
    }

    /// Queues `src` (standard, redriving to `dlq` after 2 receives), `dlq`, `f.fifo`
    /// (content-based deduplication) and `t` (tagged, with a permission), with messages
    /// visible, in flight, delayed, and due for the dead-letter queue.
    async fn populated(durable: bool) -> World {
        let w = World::new(durable);
        let dlq = w.create("dlq", &[]).await;
        w.create(
            "src",
            &[
                ("VisibilityTimeout", "30"),
                (
                    "RedrivePolicy",
                    &format!(
                        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"2"}}"#,
                        dlq.arn
                    ),
                ),
            ],
        )
        .await;
        w.create(
            "f.fifo",
            &[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")],
        )
        .await;
        let t = w.create("t", &[]).await;
        w.engine
            .tag_queue(&t, &pairs(&[("team", "a"), ("env", "dev")]))
            .await
            .unwrap();
        w.engine
            .add_permission(&t, "p1", &["111111111111".into()], &["SendMessage".into()])
            .await
            .unwrap();
        let src = w.q("src");
        for i in 0..6 {
            w.send(&src, &format!("m{i}"), None).await;
        }
        // Two received twice (due for the dead-letter queue at their next receive), one in
        // flight for an hour.
        w.receive(&src, 2).await;
        w.clock.advance_ms(31_000);
        w.receive(&src, 2).await;
        let long = ReceiveRequest {
            visibility_timeout: Some(3600),
            ..receive_req(1, None)
        };
        assert_eq!(w.engine.receive(&src, &long).await.unwrap().len(), 1);
        w.clock.advance_ms(31_000);
        let delayed = SendEntry {
            delay_seconds: Some(600),
            ..entry("late", None)
        };
        w.engine
            .send_messages(&src, vec![delayed], "tester", false)
            .await
            .unwrap();
        let f = w.q("f.fifo");
        for (body, group) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
            w.send(&f, body, Some(group)).await;
        }
        w.send(&dlq, "old", None).await;
        w
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn entry(body: &str, group: Option<&str>) -> SendEntry {
    SendEntry {
        body: body.into(),
        group_id: group.map(str::to_string),
        ..Default::default()
    }
}

fn receive_req(max: u32, attempt_id: Option<&str>) -> ReceiveRequest {
    ReceiveRequest {
        max_messages: max,
        wait_time_seconds: Some(0),
        attempt_id: attempt_id.map(str::to_string),
        ..Default::default()
    }
}

/// What an engine shows of its state: every queue's attributes (counts included), tags,
/// messages as memory holds them and as a peek reads them, deduplication entries, and the
/// move tasks. Only what the store keeps (a restart forgets receive attempts).
async fn snapshot(e: &Engine) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for q in e.all_queues() {
        let mut attrs = e.queue_attributes(&q, &["All".into()]).await.unwrap();
        attrs.sort();
        let tags = e.queue_tags(&q);
        let (memory, dedup) = {
            let st = q.lock();
            let mut seqs: Vec<u64> = st.seqs().collect();
            seqs.sort_unstable();
            let memory: Vec<String> = seqs
                .iter()
                .map(|s| format!("{s}: {:?}", st.message(*s)))
                .collect();
            // Live entries only: an expired one means nothing, and a restart drops it.
            let now = e.clock.now_ms();
            let mut dedup: Vec<String> = st
                .dedup_keys()
                .filter_map(|k| Some(format!("{k}: {:?}", st.dedup_entry(k, now)?)))
                .collect();
            dedup.sort();
            (memory, dedup)
        };
        let peeked = e
            .peek(
                &q,
                PeekRequest {
                    phase: None,
                    after: None,
                    limit: 1000,
                },
            )
            .await
            .unwrap();
        let peeked: Vec<String> = peeked
            .iter()
            .map(|p| format!("{} {:?} {:?}", p.seq, p.record, p.state))
            .collect();
        out.insert(
            q.name.clone(),
            format!("{attrs:?}\n{tags:?}\n{memory:#?}\n{peeked:#?}\n{dedup:?}"),
        );
    }
    if let Some(dlq) = e.all_queues().into_iter().find(|q| q.name == "dlq") {
        let tasks = e.list_move_tasks(&dlq.arn, Some(10)).await.unwrap();
        out.insert("move tasks".into(), format!("{tasks:?}"));
    }
    out
}

fn stored(store: &dyn Store) -> Vec<(Vec<u8>, Vec<u8>)> {
    store.scan_prefix(b"").unwrap()
}

/// Asserts the rule for one failed request: it answered an internal failure; memory and the
/// store are as before it; a restart sees the same.
async fn assert_untouched<T: std::fmt::Debug>(
    w: &World,
    what: &str,
    result: Result<T, EngineError>,
    before: &BTreeMap<String, String>,
    stored_before: &[(Vec<u8>, Vec<u8>)],
) {
    assert_eq!(
        result.as_ref().err(),
        Some(&EngineError::Internal),
        "{what}: {result:?}"
    );
    assert!(w.store.failed_writes() > 0, "{what}: no write failed");
    assert_eq!(&snapshot(&w.engine).await, before, "{what}: memory changed");
    assert_eq!(
        stored(w.store.inner().as_ref()),
        stored_before,
        "{what}: the store changed"
    );
    assert_eq!(
        &snapshot(&w.recovered()).await,
        before,
        "{what}: a restart sees another state"
    );
}

/// A mutating action, run on a populated world (after the clock moved as its row says).
type Action = for<'a> fn(
    &'a World,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<String, EngineError>> + Send + 'a>,
>;

/// Each mutating action, by name. Each changes the state when its write succeeds (checked).
fn actions() -> Vec<(&'static str, u64, Action)> {
    vec![
        ("send", 0, |w| {
            Box::pin(async move {
                let r = w
                    .engine
                    .send_messages(&w.q("src"), vec![entry("new", None)], "tester", false)
                    .await?;
                Ok(format!("{r:?}"))
            })
        }),
        ("send batch", 0, |w| {
            Box::pin(async move {
                let batch = vec![entry("x", None), entry("y", None), entry("z", None)];
                let r = w
                    .engine
                    .send_messages(&w.q("src"), batch, "tester", true)
                    .await?;
                Ok(format!("{r:?}"))
            })
        }),
        ("fifo send with a deduplication entry", 0, |w| {
            Box::pin(async move {
                let r = w
                    .engine
                    .send_messages(
                        &w.q("f.fifo"),
                        vec![entry("c1", Some("c"))],
                        "tester",
                        false,
                    )
                    .await?;
                Ok(format!("{r:?}"))
            })
        }),
        ("receive (claims, dead-letter moves)", 0, |w| {
            Box::pin(async move {
                let r = w
                    .engine
                    .receive(&w.q("src"), &receive_req(10, None))
                    .await?;
                Ok(format!("{}", r.len()))
            })
        }),
        // Past the retention of `src`'s messages: the receive's write removes them.
        (
            "receive past the retention period",
            4 * 86_400_000 - 60_000,
            |w| {
                Box::pin(async move {
                    let r = w
                        .engine
                        .receive(&w.q("src"), &receive_req(10, None))
                        .await?;
                    Ok(format!("{}", r.len()))
                })
            },
        ),
        ("fifo receive with an attempt id", 0, |w| {
            Box::pin(async move {
                let r = w
                    .engine
                    .receive(&w.q("f.fifo"), &receive_req(10, Some("att")))
                    .await?;
                Ok(format!("{}", r.len()))
            })
        }),
        ("change visibility", 0, |w| {
            Box::pin(async move {
                let q = w.q("src");
                let handle = in_flight_handle(w, &q);
                w.engine.change_visibility(&q, &handle, 0).await?;
                Ok(String::new())
            })
        }),
        ("change visibility batch", 0, |w| {
            Box::pin(async move {
                let q = w.q("src");
                let handle = in_flight_handle(w, &q);
                let r = w
                    .engine
                    .change_visibilities(&q, &[(&handle, 100), (&handle, 5)])
                    .await?;
                Ok(format!("{r:?}"))
            })
        }),
        ("delete", 0, |w| {
            Box::pin(async move {
                let q = w.q("src");
                let handle = in_flight_handle(w, &q);
                w.engine.delete_message(&q, &handle).await?;
                Ok(String::new())
            })
        }),
        ("delete batch", 0, |w| {
            Box::pin(async move {
                let q = w.q("src");
                let handle = in_flight_handle(w, &q);
                let r = w.engine.delete_messages(&q, &[&handle, "bogus"]).await?;
                Ok(format!("{r:?}"))
            })
        }),
        ("purge", 0, |w| {
            Box::pin(async move {
                w.engine.purge(&w.q("src")).await?;
                Ok(String::new())
            })
        }),
        ("purge fifo (deduplication entries)", 0, |w| {
            Box::pin(async move {
                w.engine.purge(&w.q("f.fifo")).await?;
                Ok(String::new())
            })
        }),
        ("create queue", 0, |w| {
            Box::pin(async move {
                let q = w
                    .engine
                    .create_queue(ACCOUNT, REGION, "new", &[], &[])
                    .await?;
                Ok(q.name.clone())
            })
        }),
        ("delete queue", 0, |w| {
            Box::pin(async move {
                w.engine.delete_queue(&w.q("t")).await?;
                Ok(String::new())
            })
        }),
        ("set attributes", 0, |w| {
            Box::pin(async move {
                w.engine
                    .set_queue_attributes(
                        &w.q("src"),
                        &pairs(&[("VisibilityTimeout", "99"), ("RedrivePolicy", "")]),
                    )
                    .await?;
                Ok(String::new())
            })
        }),
        ("tag", 0, |w| {
            Box::pin(async move {
                w.engine
                    .tag_queue(&w.q("t"), &pairs(&[("new", "1")]))
                    .await?;
                Ok(String::new())
            })
        }),
        ("untag", 0, |w| {
            Box::pin(async move {
                w.engine.untag_queue(&w.q("t"), &["team".into()]).await?;
                Ok(String::new())
            })
        }),
        ("add permission", 0, |w| {
            Box::pin(async move {
                w.engine
                    .add_permission(
                        &w.q("t"),
                        "p2",
                        &["222222222222".into()],
                        &["ReceiveMessage".into()],
                    )
                    .await?;
                Ok(String::new())
            })
        }),
        ("remove permission", 0, |w| {
            Box::pin(async move {
                w.engine.remove_permission(&w.q("t"), "p1").await?;
                Ok(String::new())
            })
        }),
        ("start a move task", 0, |w| {
            Box::pin(async move {
                w.engine
                    .start_move_task(&w.q("dlq").arn, Some(&w.q("t").arn), Some(1))
                    .await
            })
        }),
        // Past the 4-day retention of every message.
        ("retention expiry", 4 * 86_400_000 + 1_000, |w| {
            Box::pin(async move {
                w.engine.expire(&w.q("src")).await?;
                Ok(String::new())
            })
        }),
        // Past the 5-minute deduplication window.
        ("deduplication expiry", 6 * 60_000, |w| {
            Box::pin(async move {
                w.engine.expire(&w.q("f.fifo")).await?;
                Ok(String::new())
            })
        }),
    ]
}

/// The receipt handle of a message of `q` in flight, made from memory (its current receive).
fn in_flight_handle(w: &World, q: &Queue) -> String {
    let now = w.clock.now_ms();
    let st = q.lock();
    let seq = st
        .seqs()
        .find(|s| st.message(*s).is_some_and(|m| m.in_flight(now)))
        .expect("a message in flight");
    let generation = st.message(seq).unwrap().state.receive_count;
    crate::engine::receipt::ReceiptHandle {
        queue_id: q.id,
        seq,
        generation,
    }
    .encode()
}

/// Lets background work started by an action (a move task's first move, a deleted queue's
/// clean-up) run before the state is compared.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_failed_write_leaves_memory_and_store_as_before_every_action() {
    for (what, advance_ms, action) in actions() {
        let w = World::populated(false).await;
        w.clock.advance_ms(advance_ms);
        let before = snapshot(&w.engine).await;
        let stored_before = stored(w.store.inner().as_ref());
        w.store.fail_every_write();
        let failed = action(&w).await;
        settle().await;
        w.store.heal();
        assert_untouched(&w, what, failed, &before, &stored_before).await;
        // Healed, the same action succeeds and changes what it should, in memory and store.
        let writes = w.store.writes();
        let done = action(&w).await;
        settle().await;
        assert!(done.is_ok(), "{what} after healing: {done:?}");
        assert!(w.store.writes() > writes, "{what} wrote nothing");
        if what == "deduplication expiry" {
            assert!(stored_before.iter().any(|(k, _)| k[0] == keys::DEDUP));
            // An expired entry shows nowhere; its record is what goes.
            let dedup = w.store.scan_prefix(&[keys::DEDUP]).unwrap();
            assert!(dedup.is_empty(), "{what} left {} records", dedup.len());
        } else {
            assert_ne!(snapshot(&w.engine).await, before, "{what} changed nothing");
        }
        let recovered = w.recovered();
        assert_eq!(
            snapshot(&w.engine).await,
            snapshot(&recovered).await,
            "{what}: after a successful retry, memory and the store disagree"
        );
        // And both deliver the same messages.
        assert_eq!(
            receive_everything(&w.engine).await,
            receive_everything(&recovered).await,
            "{what}: a receive delivers other messages after a restart"
        );
    }
}

/// What a receive of 10 delivers from each of `src` and `f.fifo`: ids, bodies, handles.
async fn receive_everything(e: &Engine) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for name in ["src", "f.fifo"] {
        let q = e.queue(ACCOUNT, REGION, name).unwrap();
        for m in e.receive(&q, &receive_req(10, None)).await.unwrap() {
            out.push((m.message_id, m.body, m.receipt_handle));
        }
    }
    out
}

/// The nth write failing, for n = 1.., in a receive that both delivers and moves messages
/// to the dead-letter queue, and a purge: the first write of each fails whole.
#[tokio::test]
async fn the_first_failed_write_of_any_action_fails_it_whole() {
    for (what, advance_ms, action) in actions() {
        let w = World::populated(false).await;
        w.clock.advance_ms(advance_ms);
        let before = snapshot(&w.engine).await;
        let stored_before = stored(w.store.inner().as_ref());
        w.store.fail_nth_write(1);
        let failed = action(&w).await;
        settle().await;
        assert_untouched(&w, what, failed, &before, &stored_before).await;
    }
}

/// With strict durability, a failed flush after a successful write: the request is not
/// acknowledged (it waited on the flush), and memory holds what the store holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flush_is_never_acknowledged_and_memory_agrees_with_the_store() {
    for (what, advance_ms, action) in actions() {
        let w = World::populated(true).await;
        w.clock.advance_ms(advance_ms);
        w.store.fail_flushes();
        let result = action(&w).await;
        settle().await;
        // Expiry is nobody's acknowledged write: it does not wait for the flush.
        if what.ends_with("expiry") {
            assert!(result.is_ok(), "{what}: {result:?}");
        } else {
            assert_eq!(result.err(), Some(EngineError::Unflushed), "{what}");
            assert!(w.store.failed_flushes() > 0, "{what}: no flush failed");
        }
        // Background work (a move task's first move) runs on another worker here: compare
        // once it is done.
        let mut tries = 0;
        while snapshot(&w.engine).await != snapshot(&w.recovered()).await && tries < 100 {
            tries += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            snapshot(&w.engine).await,
            snapshot(&w.recovered()).await,
            "{what}: memory and the store disagree"
        );
        // Reads keep being served, and once the disk heals, writes are acknowledged again.
        assert!(w
            .engine
            .queue_attributes(&w.q("src"), &["All".into()])
            .await
            .is_ok());
        w.store.heal();
        let q = w
            .engine
            .create_queue(ACCOUNT, REGION, "after", &[], &[])
            .await;
        assert!(q.is_ok(), "{what}: {:?}", q.err());
    }
}

/// A FIFO receive whose write fails changes nothing a retry could see: the same
/// ReceiveRequestAttemptId replays the same messages afterwards, and the next receive serves
/// the group it would have served.
#[tokio::test]
async fn a_failed_fifo_receive_keeps_its_attempt_and_group_order() {
    let w = World::populated(false).await;
    let f = w.q("f.fifo");
    let first = w
        .engine
        .receive(&f, &receive_req(1, Some("r1")))
        .await
        .unwrap();
    assert_eq!(first[0].body, "a1");
    // A retry of the same attempt whose write fails, then one that succeeds: the same message.
    w.store.fail_every_write();
    let failed = w.engine.receive(&f, &receive_req(1, Some("r1"))).await;
    assert_eq!(failed.err(), Some(EngineError::Internal));
    w.store.heal();
    let replayed = w
        .engine
        .receive(&f, &receive_req(1, Some("r1")))
        .await
        .unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].message_id, first[0].message_id);
    // Group `a` is blocked by a1 in flight; a failed receive does not move the group cursor.
    w.send(&f, "c1", Some("c")).await;
    w.store.fail_every_write();
    let failed = w.engine.receive(&f, &receive_req(1, None)).await;
    assert_eq!(failed.err(), Some(EngineError::Internal));
    w.store.heal();
    let next = w.receive(&f, 1).await;
    assert_eq!(next[0].body, "b1");
    let next = w.receive(&f, 1).await;
    assert_eq!(next[0].body, "c1");
}

/// A move task whose move fails: nothing moves, and the task's end is not stored either
/// (memory keeps what the store has, RUNNING, which a restart resumes). A cancel whose write
/// fails leaves the task running.
#[tokio::test]
async fn a_move_task_whose_writes_fail_moves_nothing() {
    let w = World::populated(false).await;
    let (dlq, t) = (w.q("dlq"), w.q("t"));
    w.send(&dlq, "second", None).await;
    let handle = w
        .engine
        .start_move_task(&dlq.arn, Some(&t.arn), Some(1))
        .await
        .unwrap();
    // The runner's first move has not run yet (nothing yielded): make it fail.
    w.store.fail_every_write();
    settle().await;
    let before = snapshot(&w.engine).await;
    assert!(
        before["move tasks"].contains("Running"),
        "{}",
        before["move tasks"]
    );
    assert_eq!(snapshot(&w.recovered()).await, before);
    assert_eq!(
        w.engine.cancel_move_task(&handle).await.err(),
        Some(EngineError::Internal)
    );
    assert_eq!(snapshot(&w.engine).await, before);
    w.store.heal();
    assert_eq!(w.engine.cancel_move_task(&handle).await, Ok(0));
    let after = snapshot(&w.engine).await;
    assert!(after["move tasks"].contains("Cancelled"));
    assert_eq!(snapshot(&w.recovered()).await, after);
}

/// A stored record that does not decode refuses the open, saying what to do; the engine
/// never starts on part of its data.
#[tokio::test]
async fn a_record_that_does_not_decode_refuses_the_open() {
    let w = World::populated(false).await;
    let q = w.q("src");
    let key = {
        let st = q.lock();
        let seq = st.seqs().next().unwrap();
        keys::message(q.id, seq)
    };
    let mut batch = WriteBatch::new();
    batch.put(key, vec![2, 0xc1, 0xff, 0x00]);
    w.store.apply(batch).unwrap();
    let refused = Engine::open(w.store.clone(), w.clock.clone(), w.settings.clone());
    let message = refused.err().expect("a damaged record opened").to_string();
    assert!(
        message.contains("corrupt record")
            && message.contains("restore a backup")
            && message.contains("move it away"),
        "{message}"
    );
}

/// A stored message under sequence number u64::MAX (no cauda writes one: only a damaged journal
/// holds it) refuses the open instead of leaving the sequence counter with nowhere to go.
#[tokio::test]
async fn a_record_at_the_last_sequence_number_refuses_the_open() {
    let w = World::populated(false).await;
    let q = w.q("src");
    let seq = q.lock().seqs().next().unwrap();
    let record = w.store.get(&keys::message(q.id, seq)).unwrap().unwrap();
    let mut batch = WriteBatch::new();
    batch.put(keys::message(q.id, u64::MAX), record);
    w.store.apply(batch).unwrap();
    let refused = Engine::open(w.store.clone(), w.clock.clone(), w.settings.clone());
    let message = refused.err().expect("a damaged journal opened").to_string();
    assert!(
        message.contains("sequence number 18446744073709551615") && message.contains("restore a"),
        "{message}"
    );
}

/// With strict durability, a cancel whose flush fails is not acknowledged either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_whose_flush_fails_is_not_acknowledged() {
    let w = World::populated(true).await;
    let (dlq, t) = (w.q("dlq"), w.q("t"));
    let handle = w
        .engine
        .start_move_task(&dlq.arn, Some(&t.arn), Some(1))
        .await
        .unwrap();
    w.store.fail_flushes();
    let cancelled = w.engine.cancel_move_task(&handle).await;
    assert_eq!(cancelled.err(), Some(EngineError::Unflushed));
    w.store.heal();
    let after = w.engine.list_move_tasks(&dlq.arn, Some(1)).await.unwrap();
    assert_eq!(after[0].status.as_str(), "CANCELLED");
}

/// The janitor's expiry whose write fails is tried again a second later, and succeeds once
/// the store heals (before, the queue's deadline was dropped until some later change).
#[tokio::test(start_paused = true)]
async fn a_failed_expiry_is_retried_by_the_janitor() {
    let clock = Arc::new(crate::clock::TokioClock::new(T0));
    let store = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let e = Engine::open(store.clone(), clock, EngineSettings::default()).unwrap();
    e.start();
    let retention = pairs(&[("MessageRetentionPeriod", "60")]);
    let q = e
        .create_queue(ACCOUNT, REGION, "ret", &retention, &[])
        .await
        .unwrap();
    let sent = e.send_messages(&q, vec![entry("a", None)], "tester", false);
    sent.await.unwrap();
    store.fail_every_write();
    let settle_at = |ms| async move {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        settle().await;
    };
    settle_at(60_000).await;
    assert_eq!(
        q.lock().message_count(),
        1,
        "expired despite the failed write"
    );
    assert!(store.failed_writes() >= 1);
    let failed = store.failed_writes();
    settle_at(1_000).await;
    assert!(store.failed_writes() > failed, "the expiry was not retried");
    store.heal();
    settle_at(1_000).await;
    assert_eq!(q.lock().message_count(), 0);
    e.shutdown();
}
