//! Concurrency stress with a watchdog, against a real server process (sled, strict durability):
//! many SDK clients over standard and FIFO queues doing everything at once — sends, batch sends,
//! short and long polls, deletes, visibility changes (single and batch), RedrivePolicy changes in
//! both directions between two queues and onto queues that are being deleted or whose
//! RedriveAllowPolicy flips between denyAll and allowAll, dead-letter moves (maxReceiveCount 1–3,
//! visibility timeouts of 1 s), message move tasks started and cancelled, purges, deletes and
//! re-creations of queues in use, ListQueues, GetQueueAttributes, ListDeadLetterSourceQueues and
//! ListMessageMoveTasks.
//!
//! The watchdog: every request is bounded (10 s; a long poll its wait plus 10 s) and a probe
//! (ListQueues and GetQueueAttributes of a queue nobody deletes) runs every 500 ms under the
//! same bound. A request over its bound, a 5xx, a transport error, or an error SQS would not
//! return in such a race fails the test; the errors a race explains are allowed per action
//! (e.g. QueueDoesNotExist on a queue being deleted, PurgeQueueInProgress, a stale receipt
//! handle, a move task on a queue that is no longer a dead-letter queue) and counted. The
//! server's log must show no panic and no line at WARN or ERROR (a 5xx is logged at WARN).
//!
//! 20 s of load in CI; `CAUDA_LONG_TESTS=1` runs it for 120 s.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::crash::{dirs, no_retry, Proc};
use crate::harness::TestServer;

/// Bound of any single request but a long poll.
const BOUND: Duration = Duration::from_secs(10);
const WORKERS: usize = 12;

/// Whether the long variants run (`CAUDA_LONG_TESTS=1`).
pub(crate) fn long_tests() -> bool {
    std::env::var("CAUDA_LONG_TESTS").is_ok_and(|v| v == "1")
}

// Query error codes, as the Rust SDK reports them (from `x-amzn-query-error`).
const GONE: &str = "AWS.SimpleQueueService.NonExistentQueue";
const PURGING: &str = "AWS.SimpleQueueService.PurgeQueueInProgress";
const STALE_HANDLE: &str = "ReceiptHandleIsInvalid";
const NOT_INFLIGHT: &str = "AWS.SimpleQueueService.MessageNotInflight";
const INVALID: &str = "InvalidParameterValue";
const NOT_FOUND: &str = "ResourceNotFoundException";

/// The queues: which are FIFO, which get deleted and re-created, which serve as DLQs.
struct Layout {
    std_sources: Vec<&'static str>,
    fifo_sources: Vec<&'static str>,
    std_dlqs: Vec<&'static str>,
    fifo_dlqs: Vec<&'static str>,
    victims: Vec<&'static str>,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            // ra and rb name each other as DLQ, in both directions, over and over.
            std_sources: vec!["s0", "s1", "s2", "ra", "rb", "v0", "v1"],
            fifo_sources: vec!["f0.fifo", "f1.fifo", "vf.fifo"],
            std_dlqs: vec!["da", "db", "vdlq", "ra", "rb"],
            fifo_dlqs: vec!["fd.fifo"],
            victims: vec!["v0", "v1", "vdlq", "vf.fifo"],
        }
    }

    fn all(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = [
            &self.std_sources[..],
            &self.fifo_sources,
            &self.std_dlqs,
            &self.fifo_dlqs,
        ]
        .concat();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn is_victim(&self, q: &str) -> bool {
        self.victims.contains(&q)
    }
}

/// What the watchdog saw.
#[derive(Default)]
struct Watch {
    failures: Mutex<Vec<String>>,
    /// Successful requests per action.
    ok: Mutex<BTreeMap<&'static str, u64>>,
    /// Allowed errors, "action code" → count.
    allowed: Mutex<BTreeMap<String, u64>>,
    slowest: Mutex<(Duration, &'static str)>,
    received: AtomicU64,
    /// Messages received in a queue other than the one they were sent to (moved by a
    /// dead-letter redrive or a move task).
    moved_seen: AtomicU64,
    probes: AtomicU64,
}

impl Watch {
    fn fail(&self, what: String) {
        let mut f = self.failures.lock().unwrap();
        if f.len() < 50 {
            f.push(what);
        }
    }

    /// Runs one request under `bound`; `allowed` are the error codes this race may return.
    async fn call<T, E>(
        &self,
        action: &'static str,
        bound: Duration,
        allowed: &[&str],
        fut: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Option<T>
    where
        E: ProvideErrorMetadata + std::fmt::Debug,
    {
        let start = Instant::now();
        let r = tokio::time::timeout(bound, fut).await;
        let took = start.elapsed();
        {
            let mut s = self.slowest.lock().unwrap();
            if took > s.0 {
                *s = (took, action);
            }
        }
        match r {
            Err(_) => {
                self.fail(format!("{action}: no answer within {bound:?}"));
                None
            }
            Ok(Ok(v)) => {
                *self.ok.lock().unwrap().entry(action).or_default() += 1;
                Some(v)
            }
            Ok(Err(e)) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let code = e.code().unwrap_or_default().to_string();
                match status {
                    Some(s) if s < 500 && allowed.contains(&code.as_str()) => {
                        *self
                            .allowed
                            .lock()
                            .unwrap()
                            .entry(format!("{action} {code}"))
                            .or_default() += 1;
                    }
                    _ => {
                        let mut d = format!("{e:?}");
                        d.truncate(600);
                        self.fail(format!("{action}: HTTP {status:?} {code:?}: {d}"));
                    }
                }
                None
            }
        }
    }
}

struct Ctx {
    port_url: String,
    layout: Layout,
    arns: BTreeMap<&'static str, String>,
    watch: Watch,
    /// Move task handles started and perhaps still running.
    tasks: Mutex<Vec<String>>,
    until: Instant,
}

impl Ctx {
    fn url(&self, q: &str) -> String {
        format!("{}/000000000000/{q}", self.port_url)
    }

    /// `allowed` plus QueueDoesNotExist when `q` is one that gets deleted.
    fn on<'a>(&self, q: &str, allowed: &[&'a str]) -> Vec<&'a str> {
        let mut v = allowed.to_vec();
        if self.layout.is_victim(q) {
            v.push(GONE);
        }
        v
    }
}

fn fifo(q: &str) -> bool {
    q.ends_with(".fifo")
}

fn create_attrs(q: &str) -> Vec<(QueueAttributeName, &'static str)> {
    if fifo(q) {
        vec![(QueueAttributeName::FifoQueue, "true")]
    } else {
        vec![]
    }
}

async fn create(ctx: &Ctx, sdk: &aws_sdk_sqs::Client, q: &'static str) {
    let mut req = sdk.create_queue().queue_name(q);
    for (k, v) in create_attrs(q) {
        req = req.attributes(k, v);
    }
    ctx.watch.call("CreateQueue", BOUND, &[], req.send()).await;
}

/// One worker: random operations on random queues until `ctx.until`.
async fn worker(ctx: Arc<Ctx>, sdk: aws_sdk_sqs::Client, w: usize) {
    let mut n = 0u64;
    // Receipt handles of messages received lately: (queue, handle).
    let mut held: Vec<(&'static str, String)> = Vec::new();
    let all = ctx.layout.all();
    let w_ = &ctx.watch;
    while Instant::now() < ctx.until {
        n += 1;
        let (op, q, k) = {
            let mut rng = rand::thread_rng();
            (
                rng.gen_range(0..100u32),
                *all.choose(&mut rng).unwrap(),
                rng.gen_range(0..1000u32),
            )
        };
        let url = ctx.url(q);
        let group = format!("g{}", k % 3);
        match op {
            // Sends.
            0..20 => {
                let body = format!("{q}|{w}|{n}");
                let mut req = sdk.send_message().queue_url(&url).message_body(&body);
                if fifo(q) {
                    req = req.message_group_id(&group).message_deduplication_id(&body);
                }
                w_.call("SendMessage", BOUND, &ctx.on(q, &[]), req.send())
                    .await;
            }
            20..28 => {
                let mut req = sdk.send_message_batch().queue_url(&url);
                for i in 0..5 {
                    let body = format!("{q}|{w}|{n}.{i}");
                    let mut e = SendMessageBatchRequestEntry::builder()
                        .id(format!("e{i}"))
                        .message_body(&body);
                    if fifo(q) {
                        e = e.message_group_id(&group).message_deduplication_id(&body);
                    }
                    req = req.entries(e.build().unwrap());
                }
                if let Some(out) = w_
                    .call("SendMessageBatch", BOUND, &ctx.on(q, &[]), req.send())
                    .await
                {
                    if !out.failed().is_empty() {
                        w_.fail(format!(
                            "SendMessageBatch entries failed: {:?}",
                            out.failed()
                        ));
                    }
                }
            }
            // Receives, short and long; 1 s visibility so messages come back and reach their
            // maxReceiveCount.
            28..50 => {
                let wait = if k % 5 == 0 { 1 + (k % 3) as i32 } else { 0 };
                let req = sdk
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .visibility_timeout(1)
                    .wait_time_seconds(wait)
                    .send();
                let bound = BOUND + Duration::from_secs(wait as u64);
                let action = if wait > 0 {
                    "ReceiveMessage (long poll)"
                } else {
                    "ReceiveMessage"
                };
                if let Some(out) = w_.call(action, bound, &ctx.on(q, &[]), req).await {
                    for m in out.messages() {
                        w_.received.fetch_add(1, Ordering::Relaxed);
                        let origin = m.body().unwrap_or_default().split('|').next().unwrap();
                        if origin != q {
                            w_.moved_seen.fetch_add(1, Ordering::Relaxed);
                        }
                        held.push((q, m.receipt_handle().unwrap().to_string()));
                    }
                }
            }
            // Deletes and visibility changes of held messages, single and batch.
            50..62 if !held.is_empty() => {
                let take = held.len().min(1 + (k % 10) as usize);
                let batch: Vec<(&'static str, String)> = held.drain(..take).collect();
                let (bq, h) = &batch[0];
                let burl = ctx.url(bq);
                // A handle whose message was deleted, purged, moved or received again, or
                // whose visibility expired: what SQS answers for each.
                let stale = ctx.on(bq, &[STALE_HANDLE, NOT_INFLIGHT, INVALID]);
                match k % 4 {
                    0 => {
                        let req = sdk.delete_message().queue_url(&burl).receipt_handle(h);
                        w_.call("DeleteMessage", BOUND, &stale, req.send()).await;
                    }
                    1 => {
                        let req = sdk
                            .change_message_visibility()
                            .queue_url(&burl)
                            .receipt_handle(h)
                            .visibility_timeout((k % 3) as i32);
                        w_.call("ChangeMessageVisibility", BOUND, &stale, req.send())
                            .await;
                    }
                    2 => {
                        let mut req = sdk.delete_message_batch().queue_url(&burl);
                        for (i, (_, h)) in batch.iter().filter(|(x, _)| x == bq).enumerate() {
                            req = req.entries(
                                DeleteMessageBatchRequestEntry::builder()
                                    .id(format!("d{i}"))
                                    .receipt_handle(h)
                                    .build()
                                    .unwrap(),
                            );
                        }
                        if let Some(out) = w_
                            .call("DeleteMessageBatch", BOUND, &stale, req.send())
                            .await
                        {
                            for f in out.failed() {
                                if ![STALE_HANDLE, NOT_INFLIGHT, INVALID].contains(&f.code()) {
                                    w_.fail(format!("DeleteMessageBatch entry: {f:?}"));
                                }
                            }
                        }
                    }
                    _ => {
                        let mut req = sdk.change_message_visibility_batch().queue_url(&burl);
                        for (i, (_, h)) in batch.iter().filter(|(x, _)| x == bq).enumerate() {
                            req = req.entries(
                                ChangeMessageVisibilityBatchRequestEntry::builder()
                                    .id(format!("c{i}"))
                                    .receipt_handle(h)
                                    .visibility_timeout((i % 3) as i32)
                                    .build()
                                    .unwrap(),
                            );
                        }
                        if let Some(out) = w_
                            .call("ChangeMessageVisibilityBatch", BOUND, &stale, req.send())
                            .await
                        {
                            for f in out.failed() {
                                if ![STALE_HANDLE, NOT_INFLIGHT, INVALID].contains(&f.code()) {
                                    w_.fail(format!("ChangeMessageVisibilityBatch entry: {f:?}"));
                                }
                            }
                        }
                    }
                }
            }
            // RedriveAllowPolicy of db flips between denyAll and allowAll: sources pointing
            // at it meanwhile keep moving messages there or are refused.
            50..70 if k % 13 == 0 => {
                let policy = if k % 2 == 0 {
                    r#"{"redrivePermission":"denyAll"}"#
                } else {
                    r#"{"redrivePermission":"allowAll"}"#
                };
                let req = sdk
                    .set_queue_attributes()
                    .queue_url(ctx.url("db"))
                    .attributes(QueueAttributeName::RedriveAllowPolicy, policy);
                w_.call(
                    "SetQueueAttributes (RedriveAllowPolicy)",
                    BOUND,
                    &[],
                    req.send(),
                )
                .await;
            }
            // RedrivePolicy: set (either direction between ra and rb, or onto a DLQ that may
            // be gone or deny it) or removed.
            50..70 => {
                let (src, dlqs) = {
                    let mut rng = rand::thread_rng();
                    if k % 3 == 0 {
                        (
                            *ctx.layout.fifo_sources.choose(&mut rng).unwrap(),
                            &ctx.layout.fifo_dlqs,
                        )
                    } else {
                        (
                            *ctx.layout.std_sources.choose(&mut rng).unwrap(),
                            &ctx.layout.std_dlqs,
                        )
                    }
                };
                let dlq = dlqs[(k as usize / 3) % dlqs.len()];
                let policy = if k % 7 == 0 || dlq == src {
                    String::new()
                } else {
                    serde_json::json!({
                        "deadLetterTargetArn": ctx.arns[dlq],
                        "maxReceiveCount": 1 + k % 3,
                    })
                    .to_string()
                };
                let req = sdk
                    .set_queue_attributes()
                    .queue_url(ctx.url(src))
                    .attributes(QueueAttributeName::RedrivePolicy, policy);
                // A DLQ being deleted is "does not exist", db may deny it: InvalidParameterValue.
                let mut allowed = ctx.on(src, &[]);
                if ctx.layout.is_victim(dlq) || dlq == "db" {
                    allowed.push(INVALID);
                }
                w_.call("SetQueueAttributes", BOUND, &allowed, req.send())
                    .await;
            }
            // Reads.
            70..76 => {
                let req = sdk.list_queues().queue_name_prefix(&q[..1]).send();
                w_.call("ListQueues", BOUND, &[], req).await;
            }
            76..82 => {
                let req = sdk
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::All)
                    .send();
                w_.call("GetQueueAttributes", BOUND, &ctx.on(q, &[]), req)
                    .await;
            }
            82..86 => {
                let req = sdk.list_dead_letter_source_queues().queue_url(&url).send();
                w_.call("ListDeadLetterSourceQueues", BOUND, &ctx.on(q, &[]), req)
                    .await;
            }
            86..88 => {
                let req = sdk
                    .list_message_move_tasks()
                    .source_arn(&ctx.arns[q])
                    .send();
                w_.call("ListMessageMoveTasks", BOUND, &ctx.on(q, &[NOT_FOUND]), req)
                    .await;
            }
            // Move tasks out of a standard DLQ, back to their sources or to a queue.
            88..92 => {
                let dlq = ctx.layout.std_dlqs[k as usize % ctx.layout.std_dlqs.len()];
                let mut req = sdk
                    .start_message_move_task()
                    .source_arn(&ctx.arns[dlq])
                    .max_number_of_messages_per_second(50 + (k % 400) as i32);
                if k % 2 == 0 {
                    let dest = ctx.layout.std_sources[k as usize % ctx.layout.std_sources.len()];
                    req = req.destination_arn(&ctx.arns[dest]);
                }
                // Not a DLQ (any more), a task already running: InvalidParameterValue; the
                // source or destination deleted meanwhile: ResourceNotFound.
                if let Some(out) = w_
                    .call(
                        "StartMessageMoveTask",
                        BOUND,
                        &[INVALID, NOT_FOUND],
                        req.send(),
                    )
                    .await
                {
                    ctx.tasks
                        .lock()
                        .unwrap()
                        .push(out.task_handle.unwrap_or_default());
                }
            }
            92..94 => {
                let handle = {
                    let mut t = ctx.tasks.lock().unwrap();
                    if t.is_empty() {
                        continue;
                    }
                    let i = k as usize % t.len();
                    t.swap_remove(i)
                };
                let req = sdk.cancel_message_move_task().task_handle(handle).send();
                // Finished already: InvalidParameterValue; its source deleted: not found.
                w_.call("CancelMessageMoveTask", BOUND, &[INVALID, NOT_FOUND], req)
                    .await;
            }
            94..97 => {
                let req = sdk.purge_queue().queue_url(&url).send();
                w_.call("PurgeQueue", BOUND, &ctx.on(q, &[PURGING]), req)
                    .await;
            }
            // Delete a queue in use, and create it again.
            _ => {
                let v = ctx.layout.victims[k as usize % ctx.layout.victims.len()];
                let req = sdk.delete_queue().queue_url(ctx.url(v)).send();
                w_.call("DeleteQueue", BOUND, &[GONE], req).await;
                tokio::time::sleep(Duration::from_millis(u64::from(k % 200))).await;
                create(&ctx, &sdk, v).await;
            }
        }
    }
}

/// Every 500 ms: ListQueues and GetQueueAttributes of a queue nobody deletes, each bounded.
async fn probe(ctx: Arc<Ctx>, sdk: aws_sdk_sqs::Client) {
    let url = ctx.url("s0");
    while Instant::now() < ctx.until {
        let w = &ctx.watch;
        w.call("probe ListQueues", BOUND, &[], sdk.list_queues().send())
            .await;
        let req = sdk
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send();
        w.call("probe GetQueueAttributes", BOUND, &[], req).await;
        w.probes.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn everything_at_once_never_hangs_or_fails() {
    let busy = if long_tests() {
        Duration::from_secs(120)
    } else {
        Duration::from_secs(20)
    };
    let d = dirs();
    let proc = Proc::start_with(&d.data, &d.log, &["--purge-cooldown-secs", "2"]).await;
    let s: TestServer = proc.client();
    let layout = Layout::new();
    let setup = s.sdk();
    let mut arns = BTreeMap::new();
    for q in layout.all() {
        let mut req = setup.create_queue().queue_name(q);
        for (k, v) in create_attrs(q) {
            req = req.attributes(k, v);
        }
        let url = req.send().await.expect("create").queue_url.unwrap();
        arns.insert(q, crate::messages::queue_arn(&s, &url).await);
    }
    let ctx = Arc::new(Ctx {
        port_url: s
            .queue_url("")
            .trim_end_matches("/000000000000/")
            .to_string(),
        layout,
        arns,
        watch: Watch::default(),
        tasks: Mutex::default(),
        until: Instant::now() + busy,
    });
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        tasks.push(tokio::spawn(worker(ctx.clone(), no_retry(&s), w)));
    }
    tasks.push(tokio::spawn(probe(ctx.clone(), no_retry(&s))));
    // Every task stops by itself at `until`; a request is bounded by 13 s at most.
    for t in tasks {
        tokio::time::timeout(busy + Duration::from_secs(60), t)
            .await
            .expect("the workers stop within their bounds")
            .expect("a worker panicked");
    }
    let elapsed = started.elapsed();

    // The server still answers, and logged no panic.
    let sdk = no_retry(&s);
    ctx.watch
        .call("final ListQueues", BOUND, &[], sdk.list_queues().send())
        .await;
    let log = std::fs::read_to_string(&d.log).unwrap_or_default();
    let w = &ctx.watch;
    let ok = w.ok.lock().unwrap().clone();
    let total: u64 = ok.values().sum();
    eprintln!(
        "stress: {WORKERS} workers for {elapsed:?}: {total} requests ok ({:.0}/s), {} probes, slowest {:?}; {} received, {} of them moved; ok {ok:?}; allowed errors {:?}",
        total as f64 / elapsed.as_secs_f64(),
        w.probes.load(Ordering::Relaxed),
        *w.slowest.lock().unwrap(),
        w.received.load(Ordering::Relaxed),
        w.moved_seen.load(Ordering::Relaxed),
        w.allowed.lock().unwrap()
    );
    {
        let f = w.failures.lock().unwrap();
        assert!(
            f.is_empty(),
            "{} failures, e.g. {:#?}",
            f.len(),
            &f[..f.len().min(10)]
        );
    }
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    // The server logs a 5xx answer, a failed accept or flush at WARN or ERROR.
    assert!(
        warnings.is_empty(),
        "{} server log lines at WARN or ERROR, e.g. {:#?}",
        warnings.len(),
        &warnings[..warnings.len().min(10)]
    );
    // The test did what it says.
    for action in [
        "SendMessage",
        "SendMessageBatch",
        "ReceiveMessage",
        "ReceiveMessage (long poll)",
        "DeleteMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
        "SetQueueAttributes",
        "SetQueueAttributes (RedriveAllowPolicy)",
        "PurgeQueue",
        "DeleteQueue",
        "CreateQueue",
        "StartMessageMoveTask",
        "ListDeadLetterSourceQueues",
    ] {
        assert!(
            ok.get(action).copied().unwrap_or(0) > 0,
            "no {action} succeeded: {ok:?}"
        );
    }
    assert!(
        w.moved_seen.load(Ordering::Relaxed) > 0,
        "no message was seen moved to another queue"
    );
    proc.stop_gracefully().await;
}
