//! Many producers and consumers on one queue: exactly-once delivery on a standard queue when
//! consumers delete in time, and FIFO per-group order with exclusive group ownership. Two
//! queues naming each other as dead-letter queue, changed and redriven concurrently, never
//! hang the server (the engine's lock rule).
//!
//! Cost in a debug build (measured with `/usr/bin/time` on a shared 2-core machine): the
//! standard test uses about 18 s of CPU, the FIFO one (20,000 messages) about 37 s of CPU, so
//! roughly 10 s and 20 s of wall time on two idle cores. Most of it is SigV4 and the SDK
//! running unoptimised, on both sides of the loopback.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};

use crate::harness::{unique, TestServer};
use crate::messages::{counts, create_queue};

/// A guard against hangs; see the module docs for measured times.
const TIME_LIMIT: Duration = Duration::from_secs(180);

/// Sends `bodies` in batches of 10 (with `group` per body on FIFO queues).
pub(crate) async fn send_batches(
    sdk: &aws_sdk_sqs::Client,
    url: &str,
    items: &[(String, Option<String>)],
) {
    for chunk in items.chunks(10) {
        let mut req = sdk.send_message_batch().queue_url(url);
        for (i, (body, group)) in chunk.iter().enumerate() {
            req = req.entries(
                SendMessageBatchRequestEntry::builder()
                    .id(format!("e{i}"))
                    .message_body(body)
                    .set_message_group_id(group.clone())
                    .set_message_deduplication_id(group.as_ref().map(|_| body.clone()))
                    .build()
                    .unwrap(),
            );
        }
        let out = req.send().await.expect("send batch");
        assert!(out.failed().is_empty(), "{:?}", out.failed());
        assert_eq!(out.successful().len(), chunk.len());
    }
}

async fn delete_batch(sdk: &aws_sdk_sqs::Client, url: &str, handles: &[String]) {
    if handles.is_empty() {
        return;
    }
    let mut req = sdk.delete_message_batch().queue_url(url);
    for (i, h) in handles.iter().enumerate() {
        req = req.entries(
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(h)
                .build()
                .unwrap(),
        );
    }
    let out = req.send().await.expect("delete batch");
    assert!(out.failed().is_empty(), "{:?}", out.failed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn standard_queue_16_consumers_each_message_exactly_once() {
    const TOTAL: usize = 10_000;
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 16;
    let started = Instant::now();
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("conc-std"), &[("VisibilityTimeout", "60")]).await;

    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let duplicates: Arc<Mutex<Vec<String>>> = Arc::default();
    let deleted = Arc::new(AtomicUsize::new(0));

    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let sdk = s.sdk();
        let url = url.clone();
        producers.push(tokio::spawn(async move {
            let items: Vec<(String, Option<String>)> = (0..TOTAL)
                .filter(|i| i % PRODUCERS == p)
                .map(|i| (format!("msg-{i}"), None))
                .collect();
            send_batches(&sdk, &url, &items).await;
        }));
    }
    let mut consumers = Vec::new();
    for _ in 0..CONSUMERS {
        let sdk = s.sdk();
        let url = url.clone();
        let (seen, duplicates, deleted) = (seen.clone(), duplicates.clone(), deleted.clone());
        consumers.push(tokio::spawn(async move {
            while deleted.load(Ordering::SeqCst) < TOTAL && started.elapsed() < TIME_LIMIT {
                let out = sdk
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .send()
                    .await
                    .expect("receive");
                let msgs = out.messages();
                let mut handles = Vec::new();
                {
                    let mut seen = seen.lock().unwrap();
                    for m in msgs {
                        let body = m.body().unwrap().to_string();
                        if !seen.insert(body.clone()) {
                            duplicates.lock().unwrap().push(body);
                        }
                        handles.push(m.receipt_handle().unwrap().to_string());
                    }
                }
                delete_batch(&sdk, &url, &handles).await;
                deleted.fetch_add(handles.len(), Ordering::SeqCst);
            }
        }));
    }
    for p in producers {
        p.await.unwrap();
    }
    let sent_in = started.elapsed();
    for c in consumers {
        c.await.unwrap();
    }
    let elapsed = started.elapsed();
    eprintln!("standard: {TOTAL} messages sent in {sent_in:?}, all consumed in {elapsed:?}");

    let dups = duplicates.lock().unwrap().clone();
    assert!(
        dups.is_empty(),
        "received twice: {} e.g. {:?}",
        dups.len(),
        &dups[..dups.len().min(5)]
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), TOTAL, "every message received (in {elapsed:?})");
        assert!((0..TOTAL).all(|i| seen.contains(&format!("msg-{i}"))));
    }
    assert_eq!(deleted.load(Ordering::SeqCst), TOTAL);
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifo_8_consumers_50_groups_order_and_exclusive_groups() {
    const TOTAL: usize = 20_000;
    const GROUPS: usize = 50;
    const PER_GROUP: usize = TOTAL / GROUPS;
    const PRODUCERS: usize = 5;
    const CONSUMERS: usize = 8;
    let started = Instant::now();
    let s = TestServer::start().await;
    let url = create_queue(
        &s,
        &format!("{}.fifo", unique("conc-fifo")),
        &[("FifoQueue", "true"), ("VisibilityTimeout", "60")],
    )
    .await;

    // group → the consumer currently holding it (between its receive and its delete).
    let holders: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    // group → index of the next message expected.
    let next: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let deleted = Arc::new(AtomicUsize::new(0));

    // Each producer owns whole groups and sends each group's messages in order.
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let sdk = s.sdk();
        let url = url.clone();
        producers.push(tokio::spawn(async move {
            let mut items = Vec::new();
            for i in 0..PER_GROUP {
                for g in (0..GROUPS).filter(|g| g % PRODUCERS == p) {
                    items.push((format!("g{g}:{i}"), Some(format!("g{g}"))));
                }
            }
            send_batches(&sdk, &url, &items).await;
        }));
    }
    let mut consumers = Vec::new();
    for me in 0..CONSUMERS {
        let sdk = s.sdk();
        let url = url.clone();
        let (holders, next, failures, deleted) = (
            holders.clone(),
            next.clone(),
            failures.clone(),
            deleted.clone(),
        );
        consumers.push(tokio::spawn(async move {
            let mut received = 0usize;
            while deleted.load(Ordering::SeqCst) < TOTAL && started.elapsed() < TIME_LIMIT {
                let out = sdk
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
                    .send()
                    .await
                    .expect("receive");
                let msgs = out.messages();
                received += msgs.len();
                let mut groups = HashSet::new();
                {
                    let mut holders = holders.lock().unwrap();
                    let mut next = next.lock().unwrap();
                    for m in msgs {
                        let body = m.body().unwrap();
                        let (g, i) = body.split_once(':').unwrap();
                        let i: usize = i.parse().unwrap();
                        let attr_group = m
                            .attributes()
                            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                            .map(String::as_str);
                        if attr_group != Some(g) {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{body}: MessageGroupId {attr_group:?}"));
                        }
                        match holders.get(g) {
                            Some(&other) if other != me => failures.lock().unwrap().push(format!(
                                "{body} delivered to consumer {me} while consumer {other} holds {g}"
                            )),
                            _ => {
                                holders.insert(g.to_string(), me);
                            }
                        }
                        let want = next.entry(g.to_string()).or_insert(0);
                        if i != *want {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{body}: expected {g}:{want}"));
                        }
                        *want = i + 1;
                        groups.insert(g.to_string());
                    }
                }
                // Release the groups before deleting: once the delete is done, the server
                // may hand the group to someone else.
                {
                    let mut holders = holders.lock().unwrap();
                    for g in &groups {
                        if holders.get(g) == Some(&me) {
                            holders.remove(g);
                        }
                    }
                }
                let handles: Vec<String> = msgs
                    .iter()
                    .map(|m| m.receipt_handle().unwrap().to_string())
                    .collect();
                delete_batch(&sdk, &url, &handles).await;
                deleted.fetch_add(handles.len(), Ordering::SeqCst);
            }
            received
        }));
    }
    for p in producers {
        p.await.unwrap();
    }
    let sent_in = started.elapsed();
    let mut per_consumer = Vec::new();
    for c in consumers {
        per_consumer.push(c.await.unwrap());
    }
    let elapsed = started.elapsed();
    eprintln!(
        "fifo: {TOTAL} messages sent in {sent_in:?}, all consumed in {elapsed:?}; per consumer {per_consumer:?}"
    );

    {
        let failures = failures.lock().unwrap();
        assert!(
            failures.is_empty(),
            "{} violations, e.g. {:?}",
            failures.len(),
            &failures[..failures.len().min(10)]
        );
    }
    assert_eq!(
        deleted.load(Ordering::SeqCst),
        TOTAL,
        "everything consumed within {TIME_LIMIT:?}"
    );
    {
        let next = next.lock().unwrap();
        assert_eq!(next.len(), GROUPS);
        assert!(next.values().all(|&n| n == PER_GROUP), "{next:?}");
    }
    assert!(
        per_consumer.iter().filter(|&&n| n > 0).count() > 1,
        "work was shared: {per_consumer:?}"
    );
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    s.stop().await;
}

/// Two queues point their RedrivePolicy at each other over and over from concurrent
/// connections, while receives move messages between them in both directions (each is the
/// other's DLQ, maxReceiveCount 1) and ListDeadLetterSourceQueues reads both. Against a real
/// server process (two worker threads on this machine): every round must finish in bounded
/// time. A queue lock held while the other queue's lock was taken deadlocked exactly this.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mutual_redrive_changes_and_moves_never_hang() {
    /// How long the rounds go on; each worker loops until then.
    const BUSY_FOR: Duration = Duration::from_secs(20);
    const PAIRS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let proc = crate::crash::Proc::start(&dir.path().join("data"), &dir.path().join("log")).await;
    let client = proc.client();
    let work = async {
        let mut pairs = Vec::new();
        for i in 0..PAIRS {
            let a = create_queue(&client, &unique(&format!("mutual-a{i}")), &[]).await;
            let b = create_queue(&client, &unique(&format!("mutual-b{i}")), &[]).await;
            let a_arn = crate::messages::queue_arn(&client, &a).await;
            let b_arn = crate::messages::queue_arn(&client, &b).await;
            for k in 0..5 {
                crate::messages::send(&client, &a, &format!("a{i}-{k}")).await;
                crate::messages::send(&client, &b, &format!("b{i}-{k}")).await;
            }
            pairs.push((a, a_arn, b, b_arn));
        }
        let policy = |arn: &str| {
            serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": 1}).to_string()
        };
        let until = Instant::now() + BUSY_FOR;
        let mut tasks = Vec::new();
        for (a, a_arn, b, b_arn) in pairs.clone() {
            // Two setters per side, each with its own connection pool, so the calls overlap.
            for (url, target) in [(&a, &b_arn), (&b, &a_arn), (&a, &b_arn), (&b, &a_arn)] {
                let sdk = client.sdk();
                let url = url.clone();
                let p = policy(target);
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < until {
                        sdk.set_queue_attributes()
                            .queue_url(&url)
                            .attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, &p)
                            .send()
                            .await
                            .expect("set RedrivePolicy");
                    }
                }));
            }
            for url in [a.clone(), b.clone()] {
                let sdk = client.sdk();
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < until {
                        sdk.receive_message()
                            .queue_url(&url)
                            .max_number_of_messages(10)
                            .visibility_timeout(0)
                            .send()
                            .await
                            .expect("receive");
                        sdk.list_dead_letter_source_queues()
                            .queue_url(&url)
                            .send()
                            .await
                            .expect("list sources");
                    }
                }));
            }
        }
        for t in tasks {
            t.await.expect("task");
        }
        // Nothing was lost or duplicated by the moves: each pair still holds its 10 messages.
        for (a, _, b, _) in &pairs {
            let (va, fa, da) = counts(&client, a).await;
            let (vb, fb, db) = counts(&client, b).await;
            assert_eq!(va + fa + da + vb + fb + db, 10, "messages of {a} and {b}");
        }
    };
    tokio::time::timeout(BUSY_FOR + Duration::from_secs(60), work)
        .await
        .expect("mutual RedrivePolicy changes and moves finished in bounded time (no deadlock)");
    drop(proc);
}
