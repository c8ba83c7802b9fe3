//! Durability of a real server process (`--data-dir`, default strict durability): SIGKILL at a
//! random moment under concurrent sends loses no acknowledged message, resurrects no deleted
//! one, keeps FIFO order and the deduplication window; SIGKILL during visibility changes, batch
//! deletes, dead-letter moves and attribute changes loses none of the acknowledged ones; a
//! graceful restart keeps in-flight visibility and receive counts.
//!
//! A request that fails before the kill fails the test ([`KillSwitch`]): only requests cut off
//! by the kill are uncertain. `Proc` (the child process), `KillSwitch` and the helpers below
//! are shared with `process.rs`, `concurrency.rs`, `stress.rs` and `crash_mixed.rs` (repeated
//! SIGKILL under mixed load).

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use rand::Rng;

use crate::harness::TestServer;
use crate::messages::{counts, receive, sys};

/// A `cauda` child process; killed (SIGKILL) if still running when dropped.
pub(crate) struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Proc {
    /// Starts the binary on a free port over `data_dir` and waits until /health answers.
    pub(crate) async fn start(data_dir: &Path, log: &Path) -> Proc {
        Self::start_with(data_dir, log, &[]).await
    }

    /// [`Proc::start`] with extra command-line flags (e.g. `["--durability", "relaxed"]`).
    pub(crate) async fn start_with(data_dir: &Path, log: &Path, args: &[&str]) -> Proc {
        let data_dir = data_dir.to_string_lossy();
        Self::spawn(&[&["--data-dir", &data_dir], args].concat(), &[], log).await
    }

    /// Starts the binary on a free port with `args` and `env` (pass `--data-dir` or
    /// `--in-memory` in `args`), its output appended to `log`; waits until /health answers.
    pub(crate) async fn spawn(args: &[&str], env: &[(&str, &str)], log: &Path) -> Proc {
        for _attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let logfile = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_cauda"))
                .args(["--bind", &addr.to_string()])
                .args(args)
                .envs(env.iter().copied())
                .stdout(Stdio::from(logfile.try_clone().unwrap()))
                .stderr(Stdio::from(logfile))
                .spawn()
                .expect("spawn cauda");
            let mut p = Proc { child, addr };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = p.child.try_wait() {
                    break; // exited (e.g. the port was taken meanwhile): try another port
                }
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    let r = TestServer::connect(addr)
                        .send("GET", "/health", &[], "", false)
                        .await;
                    if r.status == 200 {
                        return p;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            p.kill();
        }
        panic!(
            "cauda did not start; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    pub(crate) fn client(&self) -> TestServer {
        TestServer::connect(self.addr)
    }

    /// SIGKILL, and reap.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and returns at once.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    /// Waits (up to `bound`, polling every 5 ms) for the process to exit; asserts exit code 0.
    pub(crate) async fn wait_clean_exit(mut self, bound: Duration) {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "graceful exit: {st:?}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no exit within {bound:?} after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub(crate) async fn stop_gracefully(self) {
        self.terminate();
        self.wait_clean_exit(Duration::from_secs(20)).await;
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// An SDK client without retries: a request cut by the kill fails instead of being retried.
pub(crate) fn no_retry(s: &TestServer) -> aws_sdk_sqs::Client {
    let conf = s
        .sdk()
        .config()
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

pub(crate) async fn queue_url(s: &TestServer, name: &str) -> String {
    s.sdk()
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .expect("queue survives the restart")
        .queue_url
        .unwrap()
}

/// Receives and deletes until the queue is empty (waiting for in-flight messages to come
/// back); returns the bodies in receive order.
pub(crate) async fn drain(s: &TestServer, url: &str, deadline: Duration) -> Vec<String> {
    let end = Instant::now() + deadline;
    let mut out = Vec::new();
    loop {
        let got = receive(s, url, 10, 1, Some(60)).await;
        for m in &got {
            out.push(m.body().unwrap().to_string());
            crate::messages::delete(s, url, m).await;
        }
        if got.is_empty() && counts(s, url).await == (0, 0, 0) {
            return out;
        }
        assert!(
            Instant::now() < end,
            "queue not drained; counts {:?}",
            counts(s, url).await
        );
    }
}

pub(crate) struct Dirs {
    _tmp: tempfile::TempDir,
    pub(crate) data: PathBuf,
    pub(crate) log: PathBuf,
}

pub(crate) fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log = tmp.path().join("cauda.log");
    Dirs {
        data,
        log,
        _tmp: tmp,
    }
}

#[derive(Default)]
struct Ledger {
    /// Bodies whose send was acknowledged.
    acked: HashSet<String>,
    /// Bodies whose send failed (cut by the kill): they may or may not exist.
    uncertain: HashSet<String>,
    /// Bodies whose delete was acknowledged.
    deleted: HashSet<String>,
    /// Bodies received but whose delete was not acknowledged.
    delete_uncertain: HashSet<String>,
}

/// Tells requests cut off by the kill from failures: a request that fails before the kill
/// (or a batch entry that fails at all) is recorded, and fails the test.
#[derive(Default)]
pub(crate) struct KillSwitch {
    killed: AtomicBool,
    failures: Mutex<Vec<String>>,
}

impl KillSwitch {
    /// A request failed: cut off if the kill has happened, else a failure of the test.
    pub(crate) fn request_failed(&self, what: &str, err: &dyn std::fmt::Debug) {
        if !self.killed.load(Ordering::SeqCst) {
            self.fail(format!("{what} failed before the kill: {err:?}"));
        }
    }

    /// Something is wrong whether or not the process was killed.
    pub(crate) fn fail(&self, what: String) {
        self.failures.lock().unwrap().push(what);
    }

    /// Panics with what went wrong so far.
    pub(crate) fn check(&self) {
        let f = self.failures.lock().unwrap().clone();
        assert!(
            f.is_empty(),
            "{} failures, e.g. {:?}",
            f.len(),
            &f[..f.len().min(5)]
        );
    }

    /// Checks that nothing failed so far, then SIGKILLs `proc`: from now on a failed request
    /// counts as cut off.
    pub(crate) fn kill(&self, proc: &mut Proc) {
        self.check();
        self.killed.store(true, Ordering::SeqCst);
        proc.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_concurrent_sends_loses_no_acknowledged_message() {
    const SENDERS: usize = 6;
    const ROUNDS: usize = 3;
    let started = Instant::now();
    let d = dirs();
    let mut proc = Proc::start(&d.data, &d.log).await;
    let name = crate::harness::unique("crash-std");
    let mut url = crate::messages::create_queue(&proc.client(), &name, &[]).await;
    let mut rng = rand::thread_rng();

    for round in 0..ROUNDS {
        let client = proc.client();
        let ledger: Arc<Mutex<Ledger>> = Arc::default();
        let acks = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let ks = Arc::new(KillSwitch::default());
        let mut tasks = Vec::new();
        for t in 0..SENDERS {
            let sdk = no_retry(&client);
            let (url, ledger, acks, stop, ks) = (
                url.clone(),
                ledger.clone(),
                acks.clone(),
                stop.clone(),
                ks.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut i = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    // Odd senders use batches of 5, even ones single sends.
                    let bodies: Vec<String> = (0..if t % 2 == 1 { 5 } else { 1 })
                        .map(|k| format!("r{round}-t{t}-{}", i + k))
                        .collect();
                    i += bodies.len();
                    let ok = if bodies.len() == 1 {
                        match sdk
                            .send_message()
                            .queue_url(&url)
                            .message_body(&bodies[0])
                            .send()
                            .await
                        {
                            Ok(_) => true,
                            Err(e) => {
                                ks.request_failed("SendMessage", &e);
                                false
                            }
                        }
                    } else {
                        let mut req = sdk.send_message_batch().queue_url(&url);
                        for (k, b) in bodies.iter().enumerate() {
                            req = req.entries(
                                SendMessageBatchRequestEntry::builder()
                                    .id(format!("e{k}"))
                                    .message_body(b)
                                    .build()
                                    .unwrap(),
                            );
                        }
                        match req.send().await {
                            Ok(out) => {
                                if !out.failed().is_empty()
                                    || out.successful().len() != bodies.len()
                                {
                                    ks.fail(format!("SendMessageBatch: {out:?}"));
                                    return;
                                }
                                true
                            }
                            Err(e) => {
                                ks.request_failed("SendMessageBatch", &e);
                                false
                            }
                        }
                    };
                    let mut l = ledger.lock().unwrap();
                    if ok {
                        acks.fetch_add(bodies.len(), Ordering::SeqCst);
                        l.acked.extend(bodies);
                    } else {
                        l.uncertain.extend(bodies);
                        return; // the server is gone
                    }
                }
            }));
        }
        // One consumer deletes some messages before the kill.
        {
            let sdk = no_retry(&client);
            let (url, ledger, stop, ks) = (url.clone(), ledger.clone(), stop.clone(), ks.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let out = match sdk
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(10)
                        .visibility_timeout(5)
                        .send()
                        .await
                    {
                        Ok(out) => out,
                        Err(e) => return ks.request_failed("ReceiveMessage", &e),
                    };
                    for m in out.messages() {
                        let body = m.body().unwrap().to_string();
                        ledger.lock().unwrap().delete_uncertain.insert(body.clone());
                        let r = sdk
                            .delete_message()
                            .queue_url(&url)
                            .receipt_handle(m.receipt_handle().unwrap())
                            .send()
                            .await;
                        let mut l = ledger.lock().unwrap();
                        if let Err(e) = r {
                            return ks.request_failed("DeleteMessage", &e);
                        }
                        l.delete_uncertain.remove(&body);
                        l.deleted.insert(body);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }));
        }

        // Kill at a random moment after a few hundred acknowledged sends.
        let threshold = rng.gen_range(200..600);
        let deadline = Instant::now() + Duration::from_secs(30);
        while acks.load(Ordering::SeqCst) < threshold {
            ks.check();
            assert!(
                Instant::now() < deadline,
                "too slow: {} acks",
                acks.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..30))).await;
        ks.kill(&mut proc);
        stop.store(true, Ordering::SeqCst);
        for t in tasks {
            t.await.unwrap();
        }
        ks.check();
        let l = std::mem::take(&mut *ledger.lock().unwrap());
        assert!(l.acked.len() >= threshold);

        proc = Proc::start(&d.data, &d.log).await;
        let client = proc.client();
        url = queue_url(&client, &name).await;
        let got = drain(&client, &url, Duration::from_secs(20)).await;

        let mut seen = HashSet::new();
        for b in &got {
            assert!(seen.insert(b.clone()), "round {round}: {b} received twice");
            assert!(
                !l.deleted.contains(b),
                "round {round}: {b} was deleted before the kill and came back"
            );
            assert!(
                l.acked.contains(b) || l.uncertain.contains(b),
                "round {round}: {b} was never sent"
            );
        }
        let lost: Vec<&String> = l
            .acked
            .iter()
            .filter(|b| {
                !seen.contains(*b) && !l.deleted.contains(*b) && !l.delete_uncertain.contains(*b)
            })
            .collect();
        assert!(
            lost.is_empty(),
            "round {round}: {} acknowledged messages lost, e.g. {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
        eprintln!(
            "round {round}: killed after {} acked sends ({} deleted before the kill, {} uncertain); {} received after restart; t={:?}",
            l.acked.len(),
            l.deleted.len(),
            l.uncertain.len(),
            got.len(),
            started.elapsed()
        );
    }
    proc.kill();
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_keeps_fifo_order_and_deduplication() {
    const GROUPS: usize = 4;
    let d = dirs();
    let mut proc = Proc::start(&d.data, &d.log).await;
    let name = format!("{}.fifo", crate::harness::unique("crash-fifo"));
    let url = crate::messages::create_queue(&proc.client(), &name, &[("FifoQueue", "true")]).await;
    let client = proc.client();

    // Per group: how many sends were acknowledged (sends are sequential within a group).
    let acked: Arc<Vec<AtomicUsize>> = Arc::new((0..GROUPS).map(|_| AtomicUsize::new(0)).collect());
    let total = Arc::new(AtomicUsize::new(0));
    let ks = Arc::new(KillSwitch::default());
    let mut tasks = Vec::new();
    for g in 0..GROUPS {
        let sdk = no_retry(&client);
        let (url, acked, total, ks) = (url.clone(), acked.clone(), total.clone(), ks.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let body = format!("g{g}:{i}");
                let r = sdk
                    .send_message()
                    .queue_url(&url)
                    .message_body(&body)
                    .message_group_id(format!("g{g}"))
                    .message_deduplication_id(&body)
                    .send()
                    .await;
                if let Err(e) = r {
                    return ks.request_failed("SendMessage (FIFO)", &e);
                }
                acked[g].store(i + 1, Ordering::SeqCst);
                total.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let threshold = rand::thread_rng().gen_range(150..400);
    let deadline = Instant::now() + Duration::from_secs(30);
    while total.load(Ordering::SeqCst) < threshold {
        ks.check();
        assert!(Instant::now() < deadline, "too slow");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_millis(rand::thread_rng().gen_range(0..30))).await;
    ks.kill(&mut proc);
    for t in tasks {
        t.await.unwrap();
    }
    ks.check();
    let acked: Vec<usize> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();

    let proc = Proc::start(&d.data, &d.log).await;
    let client = proc.client();
    let url = queue_url(&client, &name).await;
    let drain_groups = || async {
        let mut per_group: HashMap<usize, Vec<usize>> = HashMap::new();
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let got = client
                .sdk()
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
                .send()
                .await
                .unwrap();
            if got.messages().is_empty() {
                break;
            }
            for m in got.messages() {
                let (g, i) = m.body().unwrap().split_once(':').unwrap();
                assert_eq!(sys(m)["MessageGroupId"], g);
                per_group
                    .entry(g[1..].parse().unwrap())
                    .or_default()
                    .push(i.parse().unwrap());
                crate::messages::delete(&client, &url, m).await;
            }
            assert!(Instant::now() < end, "drain too slow");
        }
        assert_eq!(counts(&client, &url).await, (0, 0, 0));
        per_group
    };

    // Every acknowledged message exactly once and in order; the send in flight at the kill
    // (index n) at most once, after the others.
    let mut per_group = drain_groups().await;
    let mut in_flight_stored = Vec::new();
    for (g, &n) in acked.iter().enumerate() {
        let got = per_group.remove(&g).unwrap_or_default();
        let want: Vec<usize> = (0..n).collect();
        let want_plus: Vec<usize> = (0..=n).collect();
        assert!(
            got == want || got == want_plus,
            "group g{g}: {n} acknowledged, received {got:?}"
        );
        in_flight_stored.push(got == want_plus);
    }
    assert!(per_group.is_empty(), "unknown groups: {per_group:?}");

    // The deduplication window survived the kill (and the deletes): resending the last
    // acknowledged message of each group with its dedup id delivers nothing; the one that was
    // in flight is delivered only if it had not been stored.
    for (g, &n) in acked.iter().enumerate() {
        for i in [n.saturating_sub(1), n] {
            let body = format!("g{g}:{i}");
            client
                .sdk()
                .send_message()
                .queue_url(&url)
                .message_body(&body)
                .message_group_id(format!("g{g}"))
                .message_deduplication_id(&body)
                .send()
                .await
                .expect("resend after restart");
        }
    }
    let mut again = drain_groups().await;
    for (g, &n) in acked.iter().enumerate() {
        let got = again.remove(&g).unwrap_or_default();
        let want: Vec<usize> = if in_flight_stored[g] { vec![] } else { vec![n] };
        assert_eq!(got, want, "group g{g}: resent after the restart");
    }
    eprintln!("fifo crash: acknowledged per group {acked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_keeps_in_flight_visibility_and_receive_counts() {
    let d = dirs();
    let proc = Proc::start(&d.data, &d.log).await;
    let s = proc.client();
    let name = crate::harness::unique("restart-inflight");
    let url = crate::messages::create_queue(&s, &name, &[]).await;
    crate::messages::send(&s, &url, "held").await;
    let held = receive(&s, &url, 1, 0, Some(120)).await.remove(0);
    assert_eq!(held.body(), Some("held"));
    crate::messages::send(&s, &url, "twice").await;
    for n in 1..=2 {
        let m = receive(&s, &url, 1, 0, Some(0)).await.remove(0);
        assert_eq!(m.body(), Some("twice"));
        assert_eq!(sys(&m)["ApproximateReceiveCount"], n.to_string());
    }
    assert_eq!(counts(&s, &url).await, (1, 1, 0));
    proc.stop_gracefully().await;

    let proc = Proc::start(&d.data, &d.log).await;
    let s = proc.client();
    let url = queue_url(&s, &name).await;
    assert_eq!(counts(&s, &url).await, (1, 1, 0));
    // Only the visible message comes; the in-flight one stays hidden.
    let got = receive(&s, &url, 10, 0, Some(0)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body(), Some("twice"));
    assert_eq!(sys(&got[0])["ApproximateReceiveCount"], "3");
    // The receipt handle from before the restart still works; the count continues.
    s.sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(held.receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .expect("old receipt handle after restart");
    let mut got = receive(&s, &url, 10, 0, None).await;
    got.sort_by_key(|m| m.body().unwrap().to_string());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body(), Some("held"));
    assert_eq!(sys(&got[0])["ApproximateReceiveCount"], "2");
    assert_eq!(
        sys(&got[0])["ApproximateFirstReceiveTimestamp"],
        sys(&held)["ApproximateFirstReceiveTimestamp"]
    );
    assert_eq!(sys(&got[1])["ApproximateReceiveCount"], "4");
    proc.stop_gracefully().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_queue_stays_deleted_across_a_shutdown_during_its_cleanup() {
    let d = dirs();
    let proc = Proc::start(&d.data, &d.log).await;
    let s = proc.client();
    let name = crate::harness::unique("deleted-during-cleanup");
    let url = crate::messages::create_queue(&s, &name, &[]).await;
    // Enough messages that the background cleanup (~250 ms at 128 records per 4 ms) is still
    // running at the SIGTERM; the time bound below guards against shutdown waiting for it.
    fill(&s, &url, 8, 100).await;
    assert_eq!(counts(&s, &url).await, (8_000, 0, 0));
    s.sdk().delete_queue().queue_url(&url).send().await.unwrap();
    let stopping = Instant::now();
    proc.stop_gracefully().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "shutdown waited {:?} for the cleanup",
        stopping.elapsed()
    );

    let proc = Proc::start(&d.data, &d.log).await;
    let s = proc.client();
    let gone = s.sdk().get_queue_url().queue_name(&name).send().await;
    let gone = crate::harness::sdk_failure(gone.unwrap_err());
    assert!(gone.err.is_queue_does_not_exist(), "{}", gone.code);
    let url = crate::messages::create_queue(&s, &name, &[]).await;
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    proc.stop_gracefully().await;
}

/// Sends `workers` × `batches` × 10 messages, the workers concurrently.
async fn fill(s: &TestServer, url: &str, workers: usize, batches: usize) {
    let mut senders = Vec::new();
    for w in 0..workers {
        let sdk = s.sdk();
        let url = url.to_string();
        let items: Vec<(String, Option<String>)> = (0..batches * 10)
            .map(|i| (format!("w{w}-m{i}"), None))
            .collect();
        senders.push(tokio::spawn(async move {
            crate::concurrency::send_batches(&sdk, &url, &items).await;
        }));
    }
    for t in senders {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_acknowledged_purge_survives_sigkill() {
    let d = dirs();
    let mut proc = Proc::start(&d.data, &d.log).await;
    let s = proc.client();
    let name = crate::harness::unique("purge-kill");
    let url = crate::messages::create_queue(&s, &name, &[]).await;
    // Several purge batches (1,024 messages each), some of the messages in flight.
    fill(&s, &url, 4, 100).await;
    assert_eq!(receive(&s, &url, 10, 0, Some(300)).await.len(), 10);
    assert_eq!(counts(&s, &url).await, (3_990, 10, 0));
    s.sdk().purge_queue().queue_url(&url).send().await.unwrap();
    proc.kill();

    let proc = Proc::start(&d.data, &d.log).await;
    let s = proc.client();
    let url = queue_url(&s, &name).await;
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    proc.stop_gracefully().await;
}

/// Records a failed expectation in `$bad` instead of panicking at once.
macro_rules! check {
    ($bad:ident, $cond:expr, $($fmt:tt)+) => {
        if !$cond {
            $bad.push(format!($($fmt)+));
        }
    };
}

/// What a visibility worker last did to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vis {
    /// Received with a 2 s visibility timeout (visible again 2 s later).
    Received,
    /// Acknowledged ChangeMessageVisibilityBatch to 600 s.
    Hidden,
    /// Acknowledged ChangeMessageVisibility to 0.
    Released,
    /// A change was sent but not acknowledged (cut by the kill).
    Uncertain,
}

/// Progress of the four workloads of [`sigkill_during_changes_deletes_dead_letter_moves_and_attribute_changes`].
#[derive(Default)]
struct Changes {
    vis: HashMap<String, Vis>,
    vis_acks: usize,
    deleted: HashSet<String>,
    delete_uncertain: HashSet<String>,
    /// The DLQ's visible count read after an acknowledged receive, with no receive in flight.
    dlq_floor: u64,
    dlq_receives: usize,
    /// Last acknowledged SetQueueAttributes round, and the one in flight at the kill.
    attrs_acked: u32,
    attrs_in_flight: Option<u32>,
}

const VIS_MESSAGES: usize = 60;
const DEL_MESSAGES: usize = 150;
const DLQ_MESSAGES: usize = 150;

async fn fill_bodies(s: &TestServer, url: &str, prefix: &str, n: usize) -> Vec<String> {
    let items: Vec<(String, Option<String>)> =
        (0..n).map(|i| (format!("{prefix}-{i}"), None)).collect();
    crate::concurrency::send_batches(&s.sdk(), url, &items).await;
    items.into_iter().map(|(b, _)| b).collect()
}

/// Receives everything visible (with a 600 s visibility timeout) until two receives in a row
/// come back empty.
pub(crate) async fn receive_all_visible(s: &TestServer, url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut empty = 0;
    let end = Instant::now() + Duration::from_secs(20);
    while empty < 2 {
        let got = receive(s, url, 10, 0, Some(600)).await;
        empty = if got.is_empty() { empty + 1 } else { 0 };
        out.extend(got.iter().map(|m| m.body().unwrap().to_string()));
        assert!(Instant::now() < end, "receive_all_visible too slow");
    }
    out
}

/// SIGKILL while four workloads run on their own queues — ChangeMessageVisibility(Batch),
/// DeleteMessageBatch, dead-letter moves at receive (maxReceiveCount 1, visibility 0),
/// SetQueueAttributes — then check after a restart that every acknowledged change is in
/// force and that no message is lost or duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_changes_deletes_dead_letter_moves_and_attribute_changes() {
    const ROUNDS: usize = 2;
    let started = Instant::now();
    let d = dirs();
    let mut proc = Proc::start(&d.data, &d.log).await;
    let mut rng = rand::thread_rng();
    for round in 0..ROUNDS {
        let s = proc.client();
        let names: Vec<String> = ["vis", "del", "dlsrc", "dlq", "attrs"]
            .iter()
            .map(|p| crate::harness::unique(&format!("kill-{p}")))
            .collect();
        let mut urls = Vec::new();
        for n in &names {
            urls.push(crate::messages::create_queue(&s, n, &[]).await);
        }
        let dlq_arn = crate::messages::queue_arn(&s, &urls[3]).await;
        crate::messages::set_attrs(
            &s,
            &urls[2],
            &[(
                "RedrivePolicy",
                &format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#),
            )],
        )
        .await;
        let vis_all = fill_bodies(&s, &urls[0], &format!("r{round}-vis"), VIS_MESSAGES).await;
        let del_all = fill_bodies(&s, &urls[1], &format!("r{round}-del"), DEL_MESSAGES).await;
        let dl_all = fill_bodies(&s, &urls[2], &format!("r{round}-dl"), DLQ_MESSAGES).await;

        let ks = Arc::new(KillSwitch::default());
        let led: Arc<Mutex<Changes>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();

        // (a) Visibility: receive (VT 2 s); hide half with one batch change to 600 s, release
        // the others one by one (VT 0).
        {
            let (sdk, url, ks, led, stop) = (
                no_retry(&s),
                urls[0].clone(),
                ks.clone(),
                led.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let out = match sdk
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(10)
                        .visibility_timeout(2)
                        .send()
                        .await
                    {
                        Ok(o) => o,
                        Err(e) => return ks.request_failed("ReceiveMessage", &e),
                    };
                    let msgs = out.messages().to_vec();
                    {
                        let mut l = led.lock().unwrap();
                        for m in &msgs {
                            l.vis.insert(m.body().unwrap().into(), Vis::Received);
                        }
                    }
                    let (hide, release) = msgs.split_at(msgs.len() / 2);
                    if !hide.is_empty() {
                        let mut req = sdk.change_message_visibility_batch().queue_url(&url);
                        for (i, m) in hide.iter().enumerate() {
                            led.lock()
                                .unwrap()
                                .vis
                                .insert(m.body().unwrap().into(), Vis::Uncertain);
                            req = req.entries(
                                aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry::builder()
                                    .id(format!("c{i}"))
                                    .receipt_handle(m.receipt_handle().unwrap())
                                    .visibility_timeout(600)
                                    .build()
                                    .unwrap(),
                            );
                        }
                        match req.send().await {
                            Ok(o) if o.failed().is_empty() => {
                                let mut l = led.lock().unwrap();
                                l.vis_acks += 1;
                                for m in hide {
                                    l.vis.insert(m.body().unwrap().into(), Vis::Hidden);
                                }
                            }
                            Ok(o) => return ks.fail(format!("ChangeMessageVisibilityBatch: {o:?}")),
                            Err(e) => return ks.request_failed("ChangeMessageVisibilityBatch", &e),
                        }
                    }
                    for m in release {
                        let body: String = m.body().unwrap().into();
                        led.lock().unwrap().vis.insert(body.clone(), Vis::Uncertain);
                        let r = sdk
                            .change_message_visibility()
                            .queue_url(&url)
                            .receipt_handle(m.receipt_handle().unwrap())
                            .visibility_timeout(0)
                            .send()
                            .await;
                        if let Err(e) = r {
                            return ks.request_failed("ChangeMessageVisibility", &e);
                        }
                        let mut l = led.lock().unwrap();
                        l.vis_acks += 1;
                        l.vis.insert(body, Vis::Released);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        // (b) DeleteMessageBatch of what each receive (VT 2 s) returns.
        {
            let (sdk, url, ks, led, stop) = (
                no_retry(&s),
                urls[1].clone(),
                ks.clone(),
                led.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let out = match sdk
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(10)
                        .visibility_timeout(2)
                        .send()
                        .await
                    {
                        Ok(o) => o,
                        Err(e) => return ks.request_failed("ReceiveMessage", &e),
                    };
                    if out.messages().is_empty() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    let bodies: Vec<String> = out
                        .messages()
                        .iter()
                        .map(|m| m.body().unwrap().to_string())
                        .collect();
                    led.lock()
                        .unwrap()
                        .delete_uncertain
                        .extend(bodies.iter().cloned());
                    let mut req = sdk.delete_message_batch().queue_url(&url);
                    for (i, m) in out.messages().iter().enumerate() {
                        req = req.entries(
                            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                                .id(format!("d{i}"))
                                .receipt_handle(m.receipt_handle().unwrap())
                                .build()
                                .unwrap(),
                        );
                    }
                    match req.send().await {
                        Ok(o) if o.failed().is_empty() => {
                            let mut l = led.lock().unwrap();
                            for b in bodies {
                                l.delete_uncertain.remove(&b);
                                l.deleted.insert(b);
                            }
                        }
                        Ok(o) => return ks.fail(format!("DeleteMessageBatch: {o:?}")),
                        Err(e) => return ks.request_failed("DeleteMessageBatch", &e),
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        // (c) Receives with visibility 0 from a maxReceiveCount-1 source: a message's second
        // receive moves it to the DLQ. After each acknowledged receive (and only then: no
        // receive in flight), the DLQ's count is a floor for after the restart.
        {
            let (sdk, src, dlq, ks, led, stop) = (
                no_retry(&s),
                urls[2].clone(),
                urls[3].clone(),
                ks.clone(),
                led.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    if let Err(e) = sdk
                        .receive_message()
                        .queue_url(&src)
                        .max_number_of_messages(10)
                        .visibility_timeout(0)
                        .send()
                        .await
                    {
                        return ks.request_failed("ReceiveMessage (DLQ source)", &e);
                    }
                    let a = match sdk
                        .get_queue_attributes()
                        .queue_url(&dlq)
                        .attribute_names(
                            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
                        )
                        .send()
                        .await
                    {
                        Ok(a) => a,
                        Err(e) => return ks.request_failed("GetQueueAttributes", &e),
                    };
                    let n: u64 = a.attributes().unwrap()
                        [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages]
                        .parse()
                        .unwrap();
                    {
                        let mut l = led.lock().unwrap();
                        l.dlq_receives += 1;
                        l.dlq_floor = l.dlq_floor.max(n);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        // (d) SetQueueAttributes: round i sets VisibilityTimeout i and MaximumMessageSize
        // 1024 + i in one call.
        {
            let (sdk, url, ks, led, stop) = (
                no_retry(&s),
                urls[4].clone(),
                ks.clone(),
                led.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                for i in 1.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    led.lock().unwrap().attrs_in_flight = Some(i);
                    let r = sdk
                        .set_queue_attributes()
                        .queue_url(&url)
                        .attributes(
                            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                            i.to_string(),
                        )
                        .attributes(
                            aws_sdk_sqs::types::QueueAttributeName::MaximumMessageSize,
                            (1024 + i).to_string(),
                        )
                        .send()
                        .await;
                    if let Err(e) = r {
                        return ks.request_failed("SetQueueAttributes", &e);
                    }
                    {
                        let mut l = led.lock().unwrap();
                        l.attrs_acked = i;
                        l.attrs_in_flight = None;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }));
        }

        // Kill once every workload is well under way.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            ks.check();
            {
                let l = led.lock().unwrap();
                if l.vis_acks >= 20
                    && l.deleted.len() >= 40
                    && l.dlq_floor >= 20
                    && l.attrs_acked >= 20
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "too slow: {} visibility acks, {} deleted, DLQ {}, {} attribute rounds",
                    l.vis_acks,
                    l.deleted.len(),
                    l.dlq_floor,
                    l.attrs_acked
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..30))).await;
        ks.kill(&mut proc);
        let killed_at = Instant::now();
        stop.store(true, Ordering::SeqCst);
        for t in tasks {
            t.await.unwrap();
        }
        ks.check();
        let l = std::mem::take(&mut *led.lock().unwrap());

        proc = Proc::start(&d.data, &d.log).await;
        let s = proc.client();
        let urls: Vec<String> = {
            let mut v = Vec::new();
            for n in &names {
                v.push(queue_url(&s, n).await);
            }
            v
        };

        // (d) The last acknowledged attribute change (or the one in flight) is in force, both
        // attributes of one call together.
        // What is wrong, by workload (all are checked before failing).
        let mut bad: Vec<String> = Vec::new();
        let a = crate::messages::queue_attrs(&s, &urls[4]).await;
        let vt: u32 = a["VisibilityTimeout"].parse().unwrap();
        let mms = &a["MaximumMessageSize"];
        check!(
            bad,
            *mms == (1024 + vt).to_string(),
            "(d) half of one SetQueueAttributes: VisibilityTimeout {vt}, MaximumMessageSize {mms}"
        );
        check!(
            bad,
            vt == l.attrs_acked || Some(vt) == l.attrs_in_flight,
            "(d) VisibilityTimeout {vt} after the restart; {} acknowledged last, {:?} in flight",
            l.attrs_acked,
            l.attrs_in_flight
        );

        // (c) Every message in exactly one of source and DLQ; the DLQ holds at least what it
        // held after the last acknowledged receive.
        let dlq_count = counts(&s, &urls[3]).await;
        check!(
            bad,
            dlq_count.0 >= l.dlq_floor,
            "(c) DLQ holds {dlq_count:?} after the restart, {} before the kill",
            l.dlq_floor
        );
        // (Receiving from the source moves what was received before to the DLQ.)
        let in_src = receive_all_visible(&s, &urls[2]).await;
        let in_dlq = receive_all_visible(&s, &urls[3]).await;
        for (q, n) in [(&urls[2], in_src.len()), (&urls[3], in_dlq.len())] {
            let c = counts(&s, q).await;
            check!(bad, c == (0, n as u64, 0), "(c) {c:?} after receiving {n}");
        }
        let mut both: Vec<String> = in_src.iter().chain(&in_dlq).cloned().collect();
        both.sort();
        let mut want = dl_all.clone();
        want.sort();
        check!(
            bad,
            both == want,
            "(c) source {} + DLQ {} messages after the restart, {DLQ_MESSAGES} sent",
            in_src.len(),
            in_dlq.len()
        );

        // (a), (b): wait until the 2 s visibility timeouts of receives before the kill are
        // over, then look at what is visible.
        let wait_until = killed_at + Duration::from_millis(2_300);
        tokio::time::sleep(wait_until.saturating_duration_since(Instant::now())).await;
        let visible: HashSet<String> = {
            let v = receive_all_visible(&s, &urls[0]).await;
            let set: HashSet<String> = v.iter().cloned().collect();
            check!(bad, set.len() == v.len(), "(a) a message received twice");
            set
        };
        let vis_counts = counts(&s, &urls[0]).await;
        check!(
            bad,
            vis_counts == (0, VIS_MESSAGES as u64, 0),
            "(a) {vis_counts:?}: messages lost or gained"
        );
        let (mut hidden, mut shown) = (0, 0);
        for b in &vis_all {
            match l.vis.get(b) {
                Some(Vis::Hidden) => {
                    hidden += 1;
                    check!(
                        bad,
                        !visible.contains(b),
                        "(a) {b}: acknowledged change to 600 s lost"
                    );
                }
                Some(Vis::Received | Vis::Released) | None => {
                    shown += 1;
                    check!(
                        bad,
                        visible.contains(b),
                        "(a) {b} ({:?}) should be visible",
                        l.vis.get(b)
                    );
                }
                Some(Vis::Uncertain) => {}
            }
        }
        let got = receive_all_visible(&s, &urls[1]).await;
        let del_counts = counts(&s, &urls[1]).await;
        check!(
            bad,
            del_counts == (0, got.len() as u64, 0),
            "(b) {del_counts:?} after receiving {}",
            got.len()
        );
        let mut seen = HashSet::new();
        for b in &got {
            check!(bad, seen.insert(b.clone()), "(b) {b} received twice");
            check!(
                bad,
                !l.deleted.contains(b),
                "(b) {b}: acknowledged batch delete lost"
            );
        }
        let lost: Vec<&String> = del_all
            .iter()
            .filter(|b| !seen.contains(*b) && !l.deleted.contains(*b))
            .filter(|b| !l.delete_uncertain.contains(*b))
            .collect();
        check!(bad, lost.is_empty(), "(b) lost {lost:?}");
        eprintln!(
            "round {round}: visibility {hidden} hidden + {shown} visible ({} acks); {} batch-deleted ({} uncertain); DLQ {} (≥ {} before the kill, {} receives), source {}; attributes round {} ({:?} in flight), {vt} after; t={:?}",
            l.vis_acks,
            l.deleted.len(),
            l.delete_uncertain.len(),
            in_dlq.len(),
            l.dlq_floor,
            l.dlq_receives,
            in_src.len(),
            l.attrs_acked,
            l.attrs_in_flight,
            started.elapsed()
        );
        assert!(
            bad.is_empty(),
            "round {round}: {} wrong after the restart:\n{}",
            bad.len(),
            bad[..bad.len().min(20)].join("\n")
        );
    }
    proc.stop_gracefully().await;
}
