//! The postgres backend beside the embedded one (issue 15), same machine, same run: starts
//! the `cauda` binary built with it (release under `cargo bench`) as separate processes —
//! sled (default strict durability), postgres with one node, postgres with two nodes over one
//! database (workers spread over both, as behind a load balancer) — and runs the same load
//! scenarios against each: SendMessage, SendMessageBatch, ReceiveMessage(10) +
//! DeleteMessageBatch of a pre-filled queue, FIFO send and round trip over `--fifo-groups`
//! groups. Then the receive latency of one postgres node at queue depths (`--depths`, default
//! 10,000 and 1,000,000).
//!
//! ```text
//! cargo bench --bench pg                                     # its own throwaway cluster
//! cargo bench --bench pg -- --database-url postgres://…      # a cluster of yours
//! cargo bench --bench pg -- --duration-secs 3 --depths 10000 --setups pg1
//! ```
//!
//! Without `--database-url` it initdb's a cluster of its own in a temporary directory (as the
//! `postgres` user when run as root), on a free loopback port, **with fsync and
//! synchronous_commit on** (the defaults; durable like sled's strict mode: an acknowledged
//! write is on disk), `max_connections=200`, and removes it at the end. `--pg-fast` starts it
//! with fsync and synchronous_commit off instead (the CI test cluster's settings). Each
//! postgres setup gets a fresh database, with `statement_timeout = 30s` (the client's request
//! timeout: a runaway statement must not load the machine through the next scenarios). Every loop is bounded by time and by a count; any
//! request error is counted and reported, and makes the exit status 3.
//!
//! Fill for the depth runs: `--fill batch` (default) sends SendMessageBatch through the node;
//! `--fill sql` sends the first 10,000 so, then copies those rows in the database with one
//! `INSERT … SELECT` per step (new `seq` and `message_id` columns, the same record bytes, so
//! the rows, their size and the indexes are as the backend writes them, while the MessageId
//! inside a copy's record repeats its original's: fine for timing receives, not for checking
//! them).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the benchmark's output is its report"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the benchmark measures and signs in real time"
)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "common/client.rs"]
#[allow(dead_code, reason = "the soak's operations are not used here")]
mod client;
use client::*;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Setup {
    /// The embedded backend, one process over a fresh data directory.
    Sled,
    /// One node over a fresh database.
    Pg1,
    /// Two nodes over one fresh database; workers alternate between them.
    Pg2,
}

impl Setup {
    fn label(self) -> &'static str {
        match self {
            Setup::Sled => "sled",
            Setup::Pg1 => "postgres, 1 node",
            Setup::Pg2 => "postgres, 2 nodes",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Fill {
    Batch,
    Sql,
}

#[derive(Debug, Parser)]
#[command(
    name = "pg",
    about = "cauda: postgres (1 and 2 nodes) beside sled, same run"
)]
struct Args {
    /// A PostgreSQL cluster to use (each setup creates a database there); default: a
    /// throwaway cluster of the benchmark's own.
    #[arg(long, env = "CAUDA_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// The own cluster with fsync and synchronous_commit off (not durable).
    #[arg(long)]
    pg_fast: bool,
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sled,pg1,pg2"
    )]
    setups: Vec<Setup>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 5)]
    duration_secs: u64,
    /// Connections (workers) per scenario.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    #[arg(long, default_value_t = 256)]
    body_bytes: usize,
    /// Messages pre-filled at most for a round trip (also bounded by `--duration-secs`).
    #[arg(long, default_value_t = 50_000)]
    prefill_max: u64,
    #[arg(long, default_value_t = 10)]
    fifo_groups: usize,
    /// Queue depths for the receive-latency runs on one postgres node (`0`: none).
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    depths: Vec<u64>,
    #[arg(long, value_enum, default_value = "batch")]
    fill: Fill,
    /// Upper bound on the time to fill a depth.
    #[arg(long, default_value_t = 1_800)]
    fill_secs_max: u64,
    /// Passed by `cargo bench`; without it (`cargo test --benches`) nothing runs.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.bench {
        println!("pg: benchmark binary; run it with `cargo bench --bench pg -- [args]`. Skipping.");
        return ExitCode::SUCCESS;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run(args))
}

// ---------------------------------------------------------------------------------------------
// Processes: the cluster and the nodes
// ---------------------------------------------------------------------------------------------

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Runs `cmd` (as the `postgres` user when we are root); its stdout, or why it failed.
fn as_postgres(cmd: &[&str]) -> Result<String, String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut c = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(cmd);
        c
    } else {
        let mut c = Command::new(cmd[0]);
        c.args(&cmd[1..]);
        c
    };
    let out = c.output().map_err(|e| format!("{}: {e}", cmd[0]))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}: {}{}",
            cmd.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A throwaway cluster, stopped and removed when dropped.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    url: String,
}

impl Cluster {
    fn start(fast: bool) -> Result<Cluster, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| {
                format!("no PostgreSQL in /usr/lib/postgresql ({e}); pass --database-url")
            })?
            .filter_map(Result::ok)
            .map(|d| d.path().join("bin"))
            .find(|b| b.join("initdb").exists())
            .ok_or("no initdb under /usr/lib/postgresql; pass --database-url")?;
        let dir = tempfile::Builder::new()
            .prefix("cauda-bench-pg")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let path = dir.path().to_string_lossy().into_owned();
        let _ = Command::new("chown").args(["postgres:", &path]).status();
        let data = format!("{path}/data");
        let initdb = bin.join("initdb").to_string_lossy().into_owned();
        as_postgres(&[
            &initdb,
            "-D",
            &data,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ])?;
        let port = free_port();
        let mut opts = format!("-h 127.0.0.1 -p {port} -k {path} -c max_connections=200");
        if fast {
            opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let pg_ctl = bin.join("pg_ctl").to_string_lossy().into_owned();
        let log = format!("{path}/server.log");
        as_postgres(&[&pg_ctl, "-D", &data, "-l", &log, "-w", "-o", &opts, "start"])?;
        Ok(Cluster {
            bin,
            dir,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl").to_string_lossy().into_owned();
        let data = self.dir.path().join("data").to_string_lossy().into_owned();
        if let Err(e) = as_postgres(&[&pg_ctl, "-D", &data, "-m", "fast", "-w", "stop"]) {
            eprintln!("pg: stopping the cluster: {e}");
        }
    }
}

async fn db_client(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(conn);
    Ok(client)
}

/// A new database on the cluster `url` names; its URL.
async fn fresh_database(url: &str) -> Result<String, String> {
    let client = db_client(url).await?;
    let name = format!("cauda_bench_{}", uuid::Uuid::new_v4().simple());
    // A statement cut at 30 s (the client's request timeout): a runaway statement of one
    // scenario must not go on loading the machine through the next ones.
    for statement in [
        format!("CREATE DATABASE {name}"),
        format!("ALTER DATABASE {name} SET statement_timeout = '30s'"),
    ] {
        client
            .batch_execute(&statement)
            .await
            .map_err(|e| e.to_string())?;
    }
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// A `cauda` process; SIGKILLed if still running when dropped.
struct Node {
    child: Child,
    addr: SocketAddr,
}

impl Node {
    async fn start(args: &[String], log: &Path) -> Result<Node, String> {
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let logfile = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let child = Command::new(env!("CARGO_BIN_EXE_cauda"))
            .args(["--bind", &addr.to_string()])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(logfile.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(logfile))
            .spawn()
            .map_err(|e| format!("spawn cauda: {e}"))?;
        let mut node = Node { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = node.child.try_wait() {
                return Err(format!(
                    "cauda exited ({st}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            if health(addr).await {
                return Ok(node);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("cauda did not answer /health within 60 s".into())
    }

    /// SIGTERM, then up to 20 s for the exit (SIGKILL after).
    async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("pg: node {} did not exit within 20 s of SIGTERM", self.addr);
    }

    /// The process's resident set, from /proc.
    fn rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn health(addr: SocketAddr) -> bool {
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    let req = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf)).await;
    buf.starts_with(b"HTTP/1.1 200")
}

fn ctx_for(addr: SocketAddr, body_bytes: usize) -> Arc<Ctx> {
    Arc::new(Ctx {
        target: Target::parse(&format!("http://{addr}")).expect("a loopback address"),
        signer: Signer {
            identity: Credentials::new("test", "test", None, None, "cauda-bench").into(),
            region: "us-east-1".into(),
        },
        protocol: Protocol::Json,
        body_bytes,
    })
}

// ---------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 300_000_000, 3).expect("histogram bounds")
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// What one phase's workers share.
struct Phase {
    deadline: Instant,
    /// Requests left (a bound beside the deadline).
    budget: AtomicU64,
    /// Messages done (sent or deleted) by all workers.
    done: AtomicU64,
    /// Stop when `done` reaches it.
    target: u64,
    errors: AtomicU64,
    samples: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Phase {
    fn new(dur: Duration, max_requests: u64, target: u64) -> Arc<Phase> {
        Arc::new(Phase {
            deadline: Instant::now() + dur,
            budget: AtomicU64::new(max_requests),
            done: AtomicU64::new(0),
            target,
            errors: AtomicU64::new(0),
            samples: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        })
    }

    fn go(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
            && Instant::now() < self.deadline
            && self.done.load(Ordering::Relaxed) < self.target
            && self
                .budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                .is_ok()
    }

    fn error(&self, what: String) {
        if self.errors.fetch_add(1, Ordering::Relaxed) >= 100 {
            self.stop.store(true, Ordering::Relaxed);
        }
        let mut s = self.samples.lock().expect("samples");
        if s.len() < 3 {
            s.push(what);
        }
    }
}

#[derive(Clone)]
struct Stats {
    /// Every request (µs).
    all: Histogram<u64>,
    /// ReceiveMessage alone (µs).
    receive: Histogram<u64>,
    messages: u64,
    empty: u64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            all: new_hist(),
            receive: new_hist(),
            messages: 0,
            empty: 0,
        }
    }
    fn merge(&mut self, o: &Stats) {
        let _ = self.all.add(&o.all);
        let _ = self.receive.add(&o.receive);
        self.messages += o.messages;
        self.empty += o.empty;
    }
}

/// One request on the worker's connection (reconnecting after a transport error).
async fn call(
    ctx: &Ctx,
    conn: &mut Option<Conn>,
    phase: &Phase,
    op: &Op<'_>,
) -> Option<(bytes::Bytes, Duration)> {
    if conn.is_none() {
        match Conn::connect(ctx).await {
            Ok(c) => *conn = Some(c),
            Err(e) => {
                phase.error(format!("connect: {e}"));
                return None;
            }
        }
    }
    let req = encode(ctx.protocol, op);
    match conn.as_mut().expect("connected").call(ctx, &req).await {
        Ok(r) => Some(r),
        Err(e) => {
            if matches!(e, CallError::Transport(_)) {
                *conn = None;
            }
            phase.error(format!("{}: {e}", op.action()));
            None
        }
    }
}

#[derive(Clone)]
struct Load {
    url: Arc<str>,
    batch: bool,
    groups: Option<usize>,
    tag: &'static str,
}

/// Senders until the phase ends: SendMessage or SendMessageBatch(10), FIFO over `groups`.
async fn send_worker(ctx: Arc<Ctx>, phase: Arc<Phase>, load: Load, w: usize) -> Stats {
    let mut st = Stats::new();
    let mut conn = None;
    let mut k = 0u64;
    while phase.go() {
        let seq = (w as u64) << 40 | k;
        k += 1;
        let group = |i: u64| {
            load.groups
                .map(|g| format!("g{}", (seq * 10 + i) % g as u64))
        };
        let result = if load.batch {
            let entries: Vec<(String, Option<String>)> = (0..10)
                .map(|i| (make_body(ctx.body_bytes, load.tag, seq * 10 + i), group(i)))
                .collect();
            let op = Op::SendBatch {
                url: &load.url,
                entries: &entries,
            };
            let r = call(&ctx, &mut conn, &phase, &op).await;
            if let Some((body, _)) = &r {
                match decode_batch(ctx.protocol, body, "SendMessageBatchResultEntry") {
                    Ok((ok, 0)) => st.messages += ok as u64,
                    Ok((ok, failed)) => {
                        phase.error(format!("SendMessageBatch: {ok} ok, {failed} failed"));
                    }
                    Err(e) => phase.error(format!("SendMessageBatch: {e}")),
                }
            }
            r
        } else {
            let body = make_body(ctx.body_bytes, load.tag, seq);
            let g = group(0);
            let op = Op::Send {
                url: &load.url,
                body: &body,
                group: g.as_deref(),
            };
            let r = call(&ctx, &mut conn, &phase, &op).await;
            if r.is_some() {
                st.messages += 1;
            }
            r
        };
        if let Some((_, lat)) = result {
            st.all.saturating_record(us(lat));
        }
    }
    st
}

/// ReceiveMessage(10) + DeleteMessageBatch until the phase ends or `phase.target` messages
/// are deleted; with `refill`, each deleted batch is sent again (the depth stays).
async fn consume_worker(ctx: Arc<Ctx>, phase: Arc<Phase>, url: Arc<str>, refill: bool) -> Stats {
    let mut st = Stats::new();
    let mut conn = None;
    let mut empty_streak = 0;
    let mut k = 0u64;
    while phase.go() {
        let Some((body, lat)) =
            call(&ctx, &mut conn, &phase, &Op::Receive { url: &url, max: 10 }).await
        else {
            continue;
        };
        st.all.saturating_record(us(lat));
        st.receive.saturating_record(us(lat));
        let handles = match decode_receipt_handles(ctx.protocol, &body) {
            Ok(h) => h,
            Err(e) => {
                phase.error(format!("ReceiveMessage: {e}"));
                continue;
            }
        };
        if handles.is_empty() {
            st.empty += 1;
            empty_streak += 1;
            if empty_streak > 2_000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        empty_streak = 0;
        let op = Op::DeleteBatch {
            url: &url,
            handles: &handles,
        };
        if let Some((body, lat)) = call(&ctx, &mut conn, &phase, &op).await {
            st.all.saturating_record(us(lat));
            match decode_batch(ctx.protocol, &body, "DeleteMessageBatchResultEntry") {
                Ok((ok, 0)) => {
                    st.messages += ok as u64;
                    phase.done.fetch_add(ok as u64, Ordering::Relaxed);
                }
                Ok((ok, failed)) => {
                    phase.error(format!("DeleteMessageBatch: {ok} ok, {failed} failed"));
                }
                Err(e) => phase.error(format!("DeleteMessageBatch: {e}")),
            }
        }
        if refill {
            let entries: Vec<(String, Option<String>)> = (0..handles.len())
                .map(|_| {
                    k += 1;
                    (make_body(ctx.body_bytes, "r", k), None)
                })
                .collect();
            let op = Op::SendBatch {
                url: &url,
                entries: &entries,
            };
            if let Some((body, lat)) = call(&ctx, &mut conn, &phase, &op).await {
                st.all.saturating_record(us(lat));
                if !matches!(
                    decode_batch(ctx.protocol, &body, "SendMessageBatchResultEntry"),
                    Ok((_, 0))
                ) {
                    phase.error("SendMessageBatch (refill) failed".into());
                }
            }
        }
    }
    st
}

async fn join(handles: Vec<tokio::task::JoinHandle<Stats>>) -> Stats {
    let mut total = Stats::new();
    for h in handles {
        if let Ok(s) = h.await {
            total.merge(&s);
        }
    }
    total
}

/// `conns` senders spread over `ctxs`; the stats and the seconds taken.
async fn send_phase(
    ctxs: &[Arc<Ctx>],
    load: &Load,
    conns: usize,
    phase: &Arc<Phase>,
) -> (Stats, f64) {
    let start = Instant::now();
    let handles = (0..conns)
        .map(|w| {
            let ctx = ctxs[w % ctxs.len()].clone();
            tokio::spawn(send_worker(ctx, phase.clone(), load.clone(), w))
        })
        .collect();
    let st = join(handles).await;
    (st, start.elapsed().as_secs_f64())
}

async fn consume_phase(
    ctxs: &[Arc<Ctx>],
    url: &Arc<str>,
    conns: usize,
    phase: &Arc<Phase>,
    refill: bool,
) -> (Stats, f64) {
    let start = Instant::now();
    let handles = (0..conns)
        .map(|w| {
            let ctx = ctxs[w % ctxs.len()].clone();
            tokio::spawn(consume_worker(ctx, phase.clone(), url.clone(), refill))
        })
        .collect();
    let st = join(handles).await;
    (st, start.elapsed().as_secs_f64())
}

async fn one_call(ctx: &Ctx, op: &Op<'_>) -> Result<bytes::Bytes, String> {
    let mut conn = Conn::connect(ctx).await?;
    conn.call(ctx, &encode(ctx.protocol, op))
        .await
        .map(|(b, _)| b)
        .map_err(|e| format!("{}: {e}", op.action()))
}

/// Creates a queue on the first node and waits until every node knows it.
async fn create_queue(ctxs: &[Arc<Ctx>], id: &str, fifo: bool) -> Result<Arc<str>, String> {
    let u = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("bench-{id}-{}{}", &u[..12], if fifo { ".fifo" } else { "" });
    let body = one_call(&ctxs[0], &Op::CreateQueue { name: &name, fifo }).await?;
    let url = decode_queue_url(Protocol::Json, &body).map_err(|e| e.to_string())?;
    for ctx in &ctxs[1..] {
        let deadline = Instant::now() + Duration::from_secs(30);
        while one_call(ctx, &Op::GetDepth { url: &url }).await.is_err() {
            if Instant::now() > deadline {
                return Err(format!("{name} never seen by {}", ctx.target.base));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(url.into())
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

struct Row {
    setup: &'static str,
    scenario: String,
    conns: usize,
    msgs_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    note: String,
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

fn finish(phase: &Phase, label: &str) -> u64 {
    let errors = phase.errors.load(Ordering::Relaxed);
    if errors > 0 {
        eprintln!(
            "!!! {label}: {errors} errors, e.g. {:?}",
            phase.samples.lock().expect("samples")
        );
    }
    errors
}

async fn scenarios(
    setup: Setup,
    ctxs: &[Arc<Ctx>],
    args: &Args,
    rows: &mut Vec<Row>,
) -> Result<(), String> {
    let dur = Duration::from_secs(args.duration_secs);
    let conns = args.connections;
    let groups = args.fifo_groups.max(1);
    for (id, batch, fifo) in [
        ("send", false, false),
        ("batch send", true, false),
        ("FIFO send", false, true),
    ] {
        let url = create_queue(ctxs, "send", fifo).await?;
        let load = Load {
            url: url.clone(),
            batch,
            groups: fifo.then_some(groups),
            tag: "s",
        };
        let phase = Phase::new(dur, 5_000_000, u64::MAX);
        let (st, secs) = send_phase(ctxs, &load, conns, &phase).await;
        let scenario = if fifo {
            format!("{id} ({groups} groups)")
        } else {
            id.to_string()
        };
        rows.push(Row {
            setup: setup.label(),
            errors: finish(&phase, &scenario),
            scenario,
            conns,
            msgs_per_s: st.messages as f64 / secs,
            p50_ms: ms(&st.all, 0.5),
            p99_ms: ms(&st.all, 0.99),
            note: String::new(),
        });
        print_row(rows.last().expect("pushed"));
        let _ = one_call(&ctxs[0], &Op::DeleteQueue { url: &url }).await;
    }
    for fifo in [false, true] {
        let url = create_queue(ctxs, "rt", fifo).await?;
        let load = Load {
            url: url.clone(),
            batch: true,
            groups: fifo.then_some(groups),
            tag: "p",
        };
        let fill = Phase::new(
            dur.max(Duration::from_secs(10)),
            args.prefill_max.div_ceil(10),
            u64::MAX,
        );
        let (filled, fill_secs) = send_phase(ctxs, &load, conns, &fill).await;
        let fill_errors = finish(&fill, "pre-fill");
        // With G groups at most G receivers hold messages at once.
        let c = if fifo { conns.min(groups) } else { conns };
        let phase = Phase::new(dur, 5_000_000, filled.messages);
        let (st, secs) = consume_phase(ctxs, &url, c, &phase, false).await;
        let scenario = if fifo {
            format!("FIFO receive + delete ({groups} groups)")
        } else {
            "receive + delete".to_string()
        };
        rows.push(Row {
            setup: setup.label(),
            errors: fill_errors + finish(&phase, &scenario),
            scenario,
            conns: c,
            msgs_per_s: st.messages as f64 / secs,
            p50_ms: ms(&st.all, 0.5),
            p99_ms: ms(&st.all, 0.99),
            note: format!(
                "pre-filled {} in {fill_secs:.1} s; receive alone p50 {:.2} / p99 {:.2} ms; {} empty receives",
                filled.messages,
                ms(&st.receive, 0.5),
                ms(&st.receive, 0.99),
                st.empty
            ),
        });
        print_row(rows.last().expect("pushed"));
        let _ = one_call(&ctxs[0], &Op::DeleteQueue { url: &url }).await;
    }
    Ok(())
}

/// Receive latency of one node at each of `args.depths` (ascending, one queue filled
/// further for each).
async fn depths(ctx: &Arc<Ctx>, db: &str, args: &Args, rows: &mut Vec<Row>) -> Result<(), String> {
    let mut wanted: Vec<u64> = args.depths.iter().copied().filter(|&d| d > 0).collect();
    wanted.sort_unstable();
    let url = create_queue(std::slice::from_ref(ctx), "depth", false).await?;
    let mut depth = 0u64;
    for want in wanted {
        let fill_start = Instant::now();
        let fill_deadline = Duration::from_secs(args.fill_secs_max);
        let method = if args.fill == Fill::Sql && depth >= 10_000 {
            "INSERT … SELECT copies"
        } else {
            "SendMessageBatch"
        };
        if args.fill == Fill::Sql && depth >= 10_000 {
            let client = db_client(db).await?;
            let name = url.rsplit('/').next().unwrap_or_default();
            while depth < want && fill_start.elapsed() < fill_deadline {
                let copies = (want - depth).min(depth) as i64;
                let n = client
                    .execute(
                        "INSERT INTO cauda.messages (queue_id, seq, message_id, record, group_id, \
                         sent_at, visible_at) \
                         SELECT queue_id, nextval('cauda.message_seq'), gen_random_uuid()::text, \
                         record, group_id, sent_at, visible_at FROM cauda.messages \
                         WHERE queue_id = (SELECT id FROM cauda.queues WHERE name = $2) LIMIT $1",
                        &[&copies, &name],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                depth += n;
            }
            client
                .batch_execute("VACUUM ANALYZE cauda.messages")
                .await
                .map_err(|e| e.to_string())?;
        } else if depth < want {
            let load = Load {
                url: url.clone(),
                batch: true,
                groups: None,
                tag: "f",
            };
            let fill = Phase::new(fill_deadline, (want - depth).div_ceil(10), u64::MAX);
            let (st, _) =
                send_phase(std::slice::from_ref(ctx), &load, args.connections, &fill).await;
            finish(&fill, "fill");
            depth += st.messages;
        }
        let fill_secs = fill_start.elapsed().as_secs_f64();
        let count_start = Instant::now();
        let counted = one_call(ctx, &Op::GetDepth { url: &url })
            .await
            .and_then(|b| decode_depth(Protocol::Json, &b).map_err(|e| e.to_string()));
        let count_ms = count_start.elapsed().as_secs_f64() * 1000.0;
        println!(
            "    depth: filled to {depth} in {fill_secs:.1} s ({method}); GetQueueAttributes says {counted:?} in {count_ms:.0} ms"
        );
        let phase = Phase::new(Duration::from_secs(args.duration_secs), 5_000_000, u64::MAX);
        let (st, _) = consume_phase(std::slice::from_ref(ctx), &url, 1, &phase, true).await;
        let label = format!("receive at depth {depth}");
        rows.push(Row {
            setup: Setup::Pg1.label(),
            errors: finish(&phase, &label),
            scenario: label,
            conns: 1,
            msgs_per_s: 0.0,
            p50_ms: ms(&st.receive, 0.5),
            p99_ms: ms(&st.receive, 0.99),
            note: format!(
                "ReceiveMessage(10) latency, {} receives (each followed by DeleteMessageBatch and a SendMessageBatch back); filled by {method} in {fill_secs:.0} s; GetQueueAttributes {count_ms:.0} ms",
                st.receive.len()
            ),
        });
        print_row(rows.last().expect("pushed"));
    }
    let _ = one_call(ctx, &Op::DeleteQueue { url: &url }).await;
    Ok(())
}

fn print_row(r: &Row) {
    println!(
        "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
        r.setup, r.scenario, r.conns, r.msgs_per_s, r.p50_ms, r.p99_ms, r.errors, r.note
    );
}

async fn run(args: Args) -> ExitCode {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let mut cluster: Option<Cluster> = None;
    let base_url = match &args.database_url {
        Some(u) => u.clone(),
        None => match Cluster::start(args.pg_fast) {
            Ok(c) => cluster.insert(c).url.clone(),
            Err(e) => {
                eprintln!("pg: cannot start a cluster: {e}");
                return ExitCode::from(1);
            }
        },
    };
    match db_client(&base_url).await {
        Ok(c) => {
            let mut settings = Vec::new();
            for s in [
                "server_version",
                "fsync",
                "synchronous_commit",
                "shared_buffers",
                "max_connections",
            ] {
                if let Ok(row) = c.query_one(&format!("SHOW {s}"), &[]).await {
                    settings.push(format!("{s}={}", row.get::<_, String>(0)));
                }
            }
            println!("pg: cluster {base_url}: {}", settings.join(", "));
        }
        Err(e) => {
            eprintln!("pg: cannot connect: {e}");
            return ExitCode::from(1);
        }
    }
    println!(
        "pg: {} s per scenario, {} connections, {} B bodies, JSON protocol; cauda {}",
        args.duration_secs,
        args.connections,
        args.body_bytes,
        env!("CARGO_BIN_EXE_cauda")
    );
    println!("| setup | scenario | conns | msgs/s | p50 ms | p99 ms | errors | notes |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for setup in &args.setups {
        let (node_args, n): (Vec<String>, usize) = match setup {
            Setup::Sled => {
                let dir = tmp.path().join("sled");
                (
                    vec!["--data-dir".into(), dir.to_string_lossy().into_owned()],
                    1,
                )
            }
            Setup::Pg1 | Setup::Pg2 => {
                let db = match fresh_database(&base_url).await {
                    Ok(db) => db,
                    Err(e) => {
                        failed.push(format!("{}: {e}", setup.label()));
                        continue;
                    }
                };
                let n = if *setup == Setup::Pg2 { 2 } else { 1 };
                (
                    vec![
                        "--backend".into(),
                        "postgres".into(),
                        "--database-url".into(),
                        db,
                    ],
                    n,
                )
            }
        };
        let mut nodes = Vec::new();
        for i in 0..n {
            match Node::start(&node_args, &tmp.path().join(format!("{setup:?}-{i}.log"))).await {
                Ok(node) => nodes.push(node),
                Err(e) => failed.push(format!("{}: {e}", setup.label())),
            }
        }
        if nodes.len() != n {
            continue;
        }
        let ctxs: Vec<Arc<Ctx>> = nodes
            .iter()
            .map(|nd| ctx_for(nd.addr, args.body_bytes))
            .collect();
        if let Err(e) = scenarios(*setup, &ctxs, &args, &mut rows).await {
            failed.push(format!("{}: {e}", setup.label()));
        }
        if *setup == Setup::Pg1 && args.depths.iter().any(|&d| d > 0) {
            let db = node_args.last().expect("the database URL").clone();
            if let Err(e) = depths(&ctxs[0], &db, &args, &mut rows).await {
                failed.push(format!("depths: {e}"));
            }
        }
        let rss: Vec<String> = nodes
            .iter()
            .map(|nd| format!("{:.0} MiB", nd.rss_mib()))
            .collect();
        println!(
            "    {}: RSS after the load {}",
            setup.label(),
            rss.join(", ")
        );
        for nd in nodes {
            nd.stop().await;
        }
    }
    println!();
    println!("| setup | scenario | conns | msgs/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            r.setup, r.scenario, r.conns, r.msgs_per_s, r.p50_ms, r.p99_ms, r.errors
        );
    }
    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    for f in &failed {
        println!("!!! {f}");
    }
    if failed.is_empty() && errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}
