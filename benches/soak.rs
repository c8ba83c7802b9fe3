//! Soak: a durable cauda server under steady mixed load for a long time, watched for leaks,
//! errors and lost or duplicated messages.
//!
//! ```text
//! cargo bench --bench soak                                 # 10 minutes, release build
//! cargo bench --bench soak -- --duration-secs 60 --csv /tmp/rss.csv --svg /tmp/rss.svg
//! cargo test --bench soak -- --run --duration-secs 45      # the CI variant (debug build)
//! ```
//!
//! 1. Starts the `cauda` binary built with this benchmark (loopback, a free port, a fresh
//!    temporary `--data-dir`, default strict durability) and creates `--queues` queues, every
//!    `--fifo-every`-th one FIFO (content-based deduplication).
//! 2. Measures the peak: `--connections` workers run the mixed load unthrottled for
//!    `--peak-secs` (skipped with `--rate`).
//! 3. Runs the mixed load at half that rate (in iterations/s) for `--duration-secs`. An
//!    iteration picks a random queue and does one of: SendMessage (30 %), SendMessageBatch of 10
//!    (10 %), ReceiveMessage of up to 10 (55 %) followed by DeleteMessageBatch of most,
//!    ChangeMessageVisibility to 0 of about 10 % (released, received again later) and to 30 s
//!    then DeleteMessage of another 10 %, or GetQueueAttributes (5 %). Beside them, 4 tasks long-poll (1 s) random queues and treat
//!    what they get the same way. Every body carries a unique id.
//! 4. Drains: no more sends; receives and deletes until every acknowledged send is deleted.
//! 5. Stops the server with SIGTERM (it must exit 0 within 20 s).
//!
//! Meanwhile it samples the server's resident set (`VmRSS` of /proc/PID/status) every
//! `--sample-secs` and writes the curve as CSV (`--csv`) and SVG (`--svg`).
//!
//! It fails (exit status 1, and a `test result: FAILED` line) on any request error (non-200,
//! transport, or a batch entry failure), a message received while another receive holds it or
//! after its delete was acknowledged, a message never sent, an acknowledged send not deleted
//! exactly once by the end of the drain, an unclean server exit, any server log line (it runs
//! with `RUST_LOG=warn`: a 5xx, a failed accept or flush, a panic), or RSS growth after warm-up:
//! after `--warmup-secs` of the steady phase the rest is cut in halves, and the mean RSS of the
//! second half must not exceed the mean of the first half by more than `--rss-tolerance-pct`
//! percent (and 2 MiB, the allocator's granularity at this size). The warm-up defaults to 330 s,
//! the 5-minute FIFO deduplication window and half a minute: until the window is full, each
//! FIFO send adds an entry that stays for 5 minutes, so memory grows by design (a run too short
//! for it, where the warm-up would exceed two thirds of the phase, uses the first third). Only
//! loopback is used; every phase is bounded in time, so it always stops by itself.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the soak's output is its report"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the soak measures and signs in real time"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use clap::Parser;
use rand::Rng;

#[path = "common/client.rs"]
#[allow(
    dead_code,
    reason = "the load benchmark's operations are not all used here"
)]
mod client;
#[path = "common/server.rs"]
#[allow(
    dead_code,
    reason = "the backlog benchmark's crash restart (`kill`) is not used here"
)]
mod server;
use client::*;
use server::{rss_kib, Server};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long the drain may take before the remaining messages count as lost.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);
/// Tasks doing 1 s long polls beside the paced workers.
const LONG_POLLERS: usize = 4;
/// Extra RSS growth always allowed between the two halves after warm-up.
const RSS_SLACK_KIB: f64 = 2048.0;

#[derive(Debug, Parser)]
#[command(
    name = "soak",
    about = "Soak test: a durable cauda server under steady mixed load (loopback only)"
)]
struct Args {
    /// Length of the steady phase at half the peak rate, in seconds.
    #[arg(long, default_value_t = 600)]
    duration_secs: u64,

    /// Length of the unthrottled phase that measures the peak rate, in seconds.
    #[arg(long, default_value_t = 15)]
    peak_secs: u64,

    /// Iterations per second of the steady phase; skips the peak measurement.
    #[arg(long)]
    rate: Option<f64>,

    /// Number of queues.
    #[arg(long, default_value_t = 200)]
    queues: usize,

    /// Every N-th queue is FIFO.
    #[arg(long, default_value_t = 10)]
    fifo_every: usize,

    /// Concurrent workers, each with its own keep-alive connection.
    #[arg(long, default_value_t = 16)]
    connections: usize,

    /// Size of each message body in bytes (bodies start with their unique id).
    #[arg(long, default_value_t = 256)]
    body_bytes: usize,

    /// Wire protocol.
    #[arg(long, value_enum, default_value = "json")]
    protocol: Protocol,

    /// Seconds between two RSS samples.
    #[arg(long, default_value_t = 5)]
    sample_secs: u64,

    /// Seconds of the steady phase before RSS must be flat (a third of the phase if this is
    /// more than two thirds of it).
    #[arg(long, default_value_t = 330)]
    warmup_secs: u64,

    /// Allowed RSS growth, second half over first half of the steady phase after warm-up, in
    /// percent.
    #[arg(long, default_value_t = 10.0)]
    rss_tolerance_pct: f64,

    /// Where to write the RSS curve (CSV).
    #[arg(long, default_value = "target/soak/rss.csv")]
    csv: PathBuf,

    /// Where to write the RSS plot (SVG).
    #[arg(long, default_value = "target/soak/rss.svg")]
    svg: PathBuf,

    /// Extra server flags (whitespace-separated), e.g. `--server-args="--backend memory"`.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    server_args: String,

    /// Run although `--bench` is absent (e.g. under `cargo test --bench soak -- --run`).
    #[arg(long)]
    run: bool,

    /// Passed by `cargo bench`; without it (or `--run`) nothing runs.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.bench && !args.run {
        println!(
            "soak: run it with `cargo bench --bench soak -- [args]` (or pass --run). Skipping."
        );
        return ExitCode::SUCCESS;
    }
    if args.queues == 0 || args.connections == 0 || args.duration_secs < 3 || args.sample_secs == 0
    {
        eprintln!("soak: --queues, --connections, --sample-secs must be positive and --duration-secs at least 3");
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("soak: cannot start tokio: {e}");
            return ExitCode::from(1);
        }
    };
    let failures = rt.block_on(run(&args));
    if failures.is_empty() {
        println!("test result: ok. 1 passed; 0 failed");
        ExitCode::SUCCESS
    } else {
        println!("\n!!! soak failed:");
        for f in &failures {
            println!("!!!   {f}");
        }
        println!("test result: FAILED. 0 passed; 1 failed");
        ExitCode::from(1)
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger: what happened to every message
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// The send is on its way or acknowledged; not received yet.
    Sent,
    /// A receive holds it (until deleted or released).
    Held,
    /// Its visibility was set to 0: it may be received again.
    Released,
    /// Its delete was acknowledged.
    Deleted,
}

#[derive(Default)]
struct Ledger {
    fate: HashMap<u64, Fate>,
    /// Sends not yet acknowledged (ids); an error fails the soak anyway.
    unacked: usize,
    acked: u64,
    deleted: u64,
    received: u64,
    anomalies: Vec<String>,
}

impl Ledger {
    fn anomaly(&mut self, what: String) {
        if self.anomalies.len() < 20 {
            self.anomalies.push(what);
        } else if self.anomalies.len() == 20 {
            self.anomalies.push("… more anomalies not recorded".into());
        }
    }

    fn received(&mut self, id: u64) {
        self.received += 1;
        match self.fate.get_mut(&id) {
            Some(f @ (Fate::Sent | Fate::Released)) => *f = Fate::Held,
            Some(Fate::Held) => self.anomaly(format!("message {id} received while held")),
            Some(Fate::Deleted) => self.anomaly(format!("message {id} received after its delete")),
            None => self.anomaly(format!("message {id} received but never sent")),
        }
    }

    fn deleted(&mut self, id: u64) {
        match self.fate.get_mut(&id) {
            Some(f @ Fate::Held) => {
                *f = Fate::Deleted;
                self.deleted += 1;
            }
            other => {
                let what = format!("message {id} deleted while {other:?}");
                self.anomaly(what);
            }
        }
    }

    /// Messages acknowledged but not deleted.
    fn outstanding(&self) -> u64 {
        self.acked - self.deleted
    }
}

fn message_id(body: &str) -> Option<u64> {
    body.strip_prefix("m-")?.split('-').next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct SoakQueue {
    url: String,
    fifo: bool,
}

struct Shared {
    ctx: Ctx,
    queues: Vec<SoakQueue>,
    ledger: Mutex<Ledger>,
    next_id: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    error_samples: Mutex<Vec<String>>,
}

impl Shared {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut s = self.error_samples.lock().unwrap();
        if s.len() < 10 {
            s.push(what);
        }
    }

    /// One request; an error is recorded (and the connection replaced after a transport error).
    async fn call(&self, conn: &mut Option<Conn>, op: &Op<'_>) -> Option<bytes::Bytes> {
        if conn.is_none() {
            match Conn::connect(&self.ctx).await {
                Ok(c) => *conn = Some(c),
                Err(e) => {
                    self.error(format!("connect: {e}"));
                    return None;
                }
            }
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let enc = encode(self.ctx.protocol, op);
        match conn.as_mut().unwrap().call(&self.ctx, &enc).await {
            Ok((body, _)) => Some(body),
            Err(e) => {
                if matches!(e, CallError::Transport(_)) {
                    *conn = None;
                }
                self.error(format!("{}: {e}", op.action()));
                None
            }
        }
    }

    fn new_body(&self) -> (u64, String) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut l = self.ledger.lock().unwrap();
        l.fate.insert(id, Fate::Sent);
        l.unacked += 1;
        (id, make_body(self.ctx.body_bytes, "m", id))
    }

    fn acked(&self, n: usize, ok: bool) {
        let mut l = self.ledger.lock().unwrap();
        l.unacked -= n;
        if ok {
            l.acked += n as u64;
        }
    }

    async fn send(&self, conn: &mut Option<Conn>, q: &SoakQueue, rng_group: u32) {
        let (_, body) = self.new_body();
        let group = q.fifo.then(|| format!("g{rng_group}"));
        let ok = self
            .call(
                conn,
                &Op::Send {
                    url: &q.url,
                    body: &body,
                    group: group.as_deref(),
                },
            )
            .await
            .is_some();
        self.acked(1, ok);
    }

    async fn send_batch(&self, conn: &mut Option<Conn>, q: &SoakQueue, rng_group: u32) {
        let entries: Vec<(String, Option<String>)> = (0..10)
            .map(|_| (self.new_body().1, q.fifo.then(|| format!("g{rng_group}"))))
            .collect();
        let ok = match self
            .call(
                conn,
                &Op::SendBatch {
                    url: &q.url,
                    entries: &entries,
                },
            )
            .await
        {
            Some(body) => {
                match decode_batch(self.ctx.protocol, &body, "SendMessageBatchResultEntry") {
                    Ok((10, 0)) => true,
                    Ok((ok, failed)) => {
                        self.error(format!("SendMessageBatch: {ok} ok, {failed} failed"));
                        false
                    }
                    Err(e) => {
                        self.error(format!("SendMessageBatch: {e}"));
                        false
                    }
                }
            }
            None => false,
        };
        self.acked(10, ok);
    }

    /// Receives from `q` and deletes or releases what came: most deleted in one batch, about
    /// 10 % released (visibility 0), about 10 % extended to 30 s then deleted alone.
    async fn receive(&self, conn: &mut Option<Conn>, q: &SoakQueue, wait: u32, release: bool) {
        let Some(body) = self
            .call(
                conn,
                &Op::ReceiveMessages {
                    url: &q.url,
                    max: 10,
                    wait,
                    visibility: 60,
                },
            )
            .await
        else {
            return;
        };
        let msgs = match decode_messages(self.ctx.protocol, &body) {
            Ok(m) => m,
            Err(e) => return self.error(format!("ReceiveMessage: {e}")),
        };
        let mut ids = Vec::with_capacity(msgs.len());
        {
            let mut l = self.ledger.lock().unwrap();
            for (b, _) in &msgs {
                match message_id(b) {
                    Some(id) => {
                        l.received(id);
                        ids.push(id);
                    }
                    None => {
                        l.anomaly(format!("unknown body {:?}", &b[..b.len().min(40)]));
                        return;
                    }
                }
            }
        }
        let mut batch_ids = Vec::new();
        let mut batch_handles = Vec::new();
        for (id, (_, handle)) in ids.iter().zip(&msgs) {
            // Drawn afresh each time: a message released once is not released every time (a
            // FIFO group whose first message is always released would never move on).
            let pick = rand::thread_rng().gen_range(0..10u32);
            if release && pick == 0 {
                // Released before the request: another receive may get it as soon as the
                // server has changed it.
                if let Some(f) = self.ledger.lock().unwrap().fate.get_mut(id) {
                    *f = Fate::Released;
                }
                let op = Op::ChangeVisibility {
                    url: &q.url,
                    handle,
                    timeout: 0,
                };
                self.call(conn, &op).await;
            } else if pick == 1 {
                let op = Op::ChangeVisibility {
                    url: &q.url,
                    handle,
                    timeout: 30,
                };
                if self.call(conn, &op).await.is_some()
                    && self
                        .call(
                            conn,
                            &Op::Delete {
                                url: &q.url,
                                handle,
                            },
                        )
                        .await
                        .is_some()
                {
                    self.ledger.lock().unwrap().deleted(*id);
                }
            } else {
                batch_ids.push(*id);
                batch_handles.push(handle.clone());
            }
        }
        if batch_handles.is_empty() {
            return;
        }
        let op = Op::DeleteBatch {
            url: &q.url,
            handles: &batch_handles,
        };
        if let Some(body) = self.call(conn, &op).await {
            match decode_batch(self.ctx.protocol, &body, "DeleteMessageBatchResultEntry") {
                Ok((ok, 0)) if ok == batch_handles.len() => {
                    let mut l = self.ledger.lock().unwrap();
                    for id in batch_ids {
                        l.deleted(id);
                    }
                }
                Ok((ok, failed)) => {
                    self.error(format!("DeleteMessageBatch: {ok} ok, {failed} failed"));
                }
                Err(e) => self.error(format!("DeleteMessageBatch: {e}")),
            }
        }
    }

    async fn depth(&self, conn: &mut Option<Conn>, q: &SoakQueue) {
        if let Some(body) = self.call(conn, &Op::GetDepth { url: &q.url }).await {
            if let Err(e) = decode_depth(self.ctx.protocol, &body) {
                self.error(format!("GetQueueAttributes: {e}"));
            }
        }
    }

    /// One iteration of the mixed load on a random queue.
    async fn iteration(&self, conn: &mut Option<Conn>) {
        let (q, r, group) = {
            let mut rng = rand::thread_rng();
            let q = &self.queues[rng.gen_range(0..self.queues.len())];
            (q, rng.gen_range(0..100u32), rng.gen_range(0..4u32))
        };
        match r {
            0..30 => self.send(conn, q, group).await,
            30..40 => self.send_batch(conn, q, group).await,
            40..95 => self.receive(conn, q, 0, true).await,
            _ => self.depth(conn, q).await,
        }
    }
}

/// Runs `conns` workers until `until`, each at `rate / conns` iterations per second (unpaced
/// without a rate), and `LONG_POLLERS` tasks doing long polls (1 s) on random queues beside
/// them; returns the workers' iterations.
async fn run_phase(shared: &Arc<Shared>, conns: usize, until: Instant, rate: Option<f64>) -> u64 {
    let iterations = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..LONG_POLLERS {
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = None;
            while Instant::now() < until {
                let q = &shared.queues[rand::thread_rng().gen_range(0..shared.queues.len())];
                shared.receive(&mut conn, q, 1, true).await;
            }
        }));
    }
    for _ in 0..conns {
        let (shared, iterations) = (shared.clone(), iterations.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = None;
            let mut tick = rate.map(|r| {
                let mut i = tokio::time::interval(Duration::from_secs_f64(conns as f64 / r));
                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                i
            });
            while Instant::now() < until {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                    if Instant::now() >= until {
                        break;
                    }
                }
                shared.iteration(&mut conn).await;
                iterations.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            shared.error(format!("worker panicked: {e}"));
        }
    }
    iterations.load(Ordering::Relaxed)
}

/// Receives and deletes (no releases) over every queue until every acknowledged send is
/// deleted, or `DRAIN_LIMIT`.
async fn drain(shared: &Arc<Shared>, conns: usize) -> Duration {
    let start = Instant::now();
    let end = start + DRAIN_LIMIT;
    let mut tasks = Vec::new();
    for w in 0..conns {
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = None;
            while Instant::now() < end && shared.ledger.lock().unwrap().outstanding() > 0 {
                for q in shared.queues.iter().skip(w).step_by(conns) {
                    shared.receive(&mut conn, q, 0, false).await;
                }
                if shared.errors.load(Ordering::Relaxed) > 0 {
                    return;
                }
            }
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            shared.error(format!("drain worker panicked: {e}"));
        }
    }
    start.elapsed()
}

// ---------------------------------------------------------------------------------------------
// RSS curve
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Sample {
    t: f64,
    phase: &'static str,
    rss_kib: u64,
    requests: u64,
    acked: u64,
    deleted: u64,
}

fn write_csv(path: &Path, samples: &[Sample]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = String::from("t_s,phase,rss_kib,requests,acked_sends,deleted\n");
    for s in samples {
        out.push_str(&format!(
            "{:.1},{},{},{},{},{}\n",
            s.t, s.phase, s.rss_kib, s.requests, s.acked, s.deleted
        ));
    }
    std::fs::write(path, out)
}

/// A small line chart of RSS (MiB) over time; the steady phase, its warm-up and the halves
/// after it marked.
fn write_svg(path: &Path, samples: &[Sample], marks: [f64; 4], title: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let (w, h, left, right, top, bottom) = (640.0, 260.0, 50.0, 10.0, 28.0, 30.0);
    let t_max = samples.last().map_or(1.0, |s| s.t).max(1.0);
    let mib = |s: &Sample| s.rss_kib as f64 / 1024.0;
    let y_max = samples.iter().map(mib).fold(0.0, f64::max).max(1.0) * 1.15;
    let x = |t: f64| left + t / t_max * (w - left - right);
    let y = |v: f64| top + (1.0 - v / y_max) * (h - top - bottom);
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="16" font-size="12">{title}</text>
<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#333"/>
<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="#333"/>
"##,
        h - bottom,
        w - right,
        h - bottom,
        h - bottom
    );
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.0}</text>\n",
            left - 4.0,
            y(v) + 4.0
        ));
    }
    svg.push_str(&format!(
        "<text x=\"12\" y=\"{:.1}\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\">RSS MiB</text>\n",
        (top + h - bottom) / 2.0,
        (top + h - bottom) / 2.0
    ));
    for i in 0..=4 {
        let t = t_max * f64::from(i) / 4.0;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{t:.0} s</text>\n",
            x(t),
            h - bottom + 14.0
        ));
    }
    for (i, t) in marks.iter().enumerate() {
        svg.push_str(&format!(
            "<line x1=\"{0:.1}\" y1=\"{top}\" x2=\"{0:.1}\" y2=\"{1}\" stroke=\"#bbb\" stroke-dasharray=\"{2}\"/>\n",
            x(*t),
            h - bottom,
            if i == 0 || i == 3 { "none" } else { "4 3" }
        ));
    }
    let points: Vec<String> = samples
        .iter()
        .map(|s| format!("{:.1},{:.1}", x(s.t), y(mib(s))))
        .collect();
    svg.push_str(&format!(
        "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{}\"/>\n</svg>\n",
        points.join(" ")
    ));
    std::fs::write(path, svg)
}

fn mean(v: &[u64]) -> f64 {
    v.iter().sum::<u64>() as f64 / v.len().max(1) as f64
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

async fn run(args: &Args) -> Vec<String> {
    let mut failures = Vec::new();
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => return vec![format!("temp dir: {e}")],
    };
    let log = tmp.path().join("server.log");
    let mut server = match Server::start(&tmp.path().join("data"), &log, &args.server_args) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    if let Err(e) = server.wait_ready(Duration::from_secs(60)).await {
        return vec![format!(
            "{e}; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )];
    }
    let pid = server.pid();
    let target = match Target::parse(&format!("http://127.0.0.1:{}", server.port)) {
        Ok(t) => t,
        Err(e) => return vec![e],
    };
    let ctx = Ctx {
        target,
        signer: Signer {
            identity: Credentials::new("soak", "soak-secret", None, None, "cauda-soak").into(),
            region: "us-east-1".into(),
        },
        protocol: args.protocol,
        body_bytes: args.body_bytes,
    };

    // The queues.
    let mut queues = Vec::with_capacity(args.queues);
    {
        let mut conn = match Conn::connect(&ctx).await {
            Ok(c) => c,
            Err(e) => return vec![format!("connect: {e}")],
        };
        for i in 0..args.queues {
            let fifo = args.fifo_every > 0 && i % args.fifo_every == args.fifo_every - 1;
            let name = format!("soak-{i:03}{}", if fifo { ".fifo" } else { "" });
            let enc = encode(args.protocol, &Op::CreateQueue { name: &name, fifo });
            let url = match conn.call(&ctx, &enc).await {
                Ok((body, _)) => decode_queue_url(args.protocol, &body),
                Err(e) => Err(e),
            };
            match url {
                Ok(url) => queues.push(SoakQueue { url, fifo }),
                Err(e) => return vec![format!("CreateQueue {name}: {e}")],
            }
        }
    }
    let fifo_count = queues.iter().filter(|q| q.fifo).count();
    println!(
        "soak: server pid {pid} on 127.0.0.1:{} (a fresh --data-dir, default strict durability; extra flags: {:?}), {} queues ({fifo_count} FIFO), {} connections, {} protocol, {} B bodies",
        server.port,
        args.server_args,
        queues.len(),
        args.connections,
        args.protocol.name(),
        args.body_bytes
    );
    let shared = Arc::new(Shared {
        ctx,
        queues,
        ledger: Mutex::default(),
        next_id: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        error_samples: Mutex::default(),
    });

    // The RSS sampler.
    let started = Instant::now();
    let phase: Arc<Mutex<&'static str>> = Arc::new(Mutex::new("peak"));
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let stop_sampler = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (shared, phase, samples, stop) = (
            shared.clone(),
            phase.clone(),
            samples.clone(),
            stop_sampler.clone(),
        );
        let every = Duration::from_secs(args.sample_secs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                let Some(rss) = rss_kib(pid) else { break };
                let (acked, deleted) = {
                    let l = shared.ledger.lock().unwrap();
                    (l.acked, l.deleted)
                };
                samples.lock().unwrap().push(Sample {
                    t: started.elapsed().as_secs_f64(),
                    phase: *phase.lock().unwrap(),
                    rss_kib: rss,
                    requests: shared.requests.load(Ordering::Relaxed),
                    acked,
                    deleted,
                });
            }
        })
    };

    // Peak, then half of it.
    let rate = match args.rate {
        Some(r) => r,
        None => {
            let t0 = Instant::now();
            let n = run_phase(
                &shared,
                args.connections,
                t0 + Duration::from_secs(args.peak_secs.max(1)),
                None,
            )
            .await;
            let peak = n as f64 / t0.elapsed().as_secs_f64();
            println!(
                "soak: peak {peak:.0} iterations/s over {:.1} s ({} requests so far); steady phase at half: {:.0}/s",
                t0.elapsed().as_secs_f64(),
                shared.requests.load(Ordering::Relaxed),
                peak / 2.0
            );
            peak / 2.0
        }
    };
    if rate.is_nan() || rate <= 0.0 {
        failures.push(format!("no usable rate ({rate})"));
    }
    let rate = if rate > 0.0 { rate } else { 1.0 };

    *phase.lock().unwrap() = "steady";
    let steady_start = started.elapsed().as_secs_f64();
    let (req0, acked0) = (
        shared.requests.load(Ordering::Relaxed),
        shared.ledger.lock().unwrap().acked,
    );
    let t0 = Instant::now();
    let n = run_phase(
        &shared,
        args.connections,
        t0 + Duration::from_secs(args.duration_secs),
        Some(rate),
    )
    .await;
    let secs = t0.elapsed().as_secs_f64();
    let steady_end = started.elapsed().as_secs_f64();
    let steady_requests = shared.requests.load(Ordering::Relaxed) - req0;
    let steady_sent = shared.ledger.lock().unwrap().acked - acked0;
    println!(
        "soak: steady phase {secs:.0} s: {:.0} iterations/s ({:.0}% of the target), {:.0} requests/s, {:.0} messages sent/s",
        n as f64 / secs,
        n as f64 / secs / rate * 100.0,
        steady_requests as f64 / secs,
        steady_sent as f64 / secs
    );

    *phase.lock().unwrap() = "drain";
    let drained_in = drain(&shared, args.connections).await;
    stop_sampler.store(true, Ordering::SeqCst);
    let _ = sampler.await;
    let final_rss = rss_kib(pid);
    if let Err(e) = server.stop(Duration::from_secs(20)).await {
        failures.push(format!("server stop: {e}"));
    }
    // The server runs with RUST_LOG=warn: any line is a 5xx answer, a failed accept or
    // flush, or a panic.
    let log_lines = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    if log_lines > 0 {
        failures.push(format!("{log_lines} server log lines at WARN or ERROR"));
    }

    // Verdicts.
    let errors = shared.errors.load(Ordering::Relaxed);
    if errors > 0 {
        failures.push(format!(
            "{errors} request errors, e.g. {:?}",
            shared.error_samples.lock().unwrap()
        ));
    }
    let l = shared.ledger.lock().unwrap();
    let not_deleted: Vec<u64> = {
        let mut v: Vec<u64> = l
            .fate
            .iter()
            .filter(|(_, f)| **f != Fate::Deleted)
            .map(|(id, _)| *id)
            .collect();
        v.sort_unstable();
        v
    };
    println!(
        "soak: {} sends acknowledged, {} receives, {} deleted exactly once, {} not deleted after a {:.1} s drain, {} anomalies, {} requests, {errors} errors",
        l.acked,
        l.received,
        l.deleted,
        not_deleted.len(),
        drained_in.as_secs_f64(),
        l.anomalies.len(),
        shared.requests.load(Ordering::Relaxed)
    );
    if !l.anomalies.is_empty() {
        failures.push(format!("delivery anomalies: {:?}", l.anomalies));
    }
    if l.unacked != 0 {
        failures.push(format!("{} sends never answered", l.unacked));
    }
    if !not_deleted.is_empty() || l.deleted != l.acked {
        failures.push(format!(
            "{} acknowledged sends, {} deleted; never deleted: {} (e.g. {:?})",
            l.acked,
            l.deleted,
            not_deleted.len(),
            &not_deleted[..not_deleted.len().min(10)]
        ));
    }

    let samples = samples.lock().unwrap().clone();
    // A phase too short for the whole warm-up (the CI variant) uses its first third.
    let warmup = if args.warmup_secs as f64 <= secs * 2.0 / 3.0 {
        args.warmup_secs as f64
    } else {
        secs / 3.0
    };
    let flat_from = steady_start + warmup;
    let half = flat_from + (steady_end - flat_from) / 2.0;
    let rss_in = |from: f64, to: f64| -> Vec<u64> {
        samples
            .iter()
            .filter(|s| s.phase == "steady" && s.t >= from && s.t < to)
            .map(|s| s.rss_kib)
            .collect()
    };
    let (first, second) = (rss_in(flat_from, half), rss_in(half, steady_end + 0.1));
    if first.len() < 2 || second.len() < 2 {
        failures.push(format!(
            "only {} + {} RSS samples after warm-up; lower --sample-secs",
            first.len(),
            second.len()
        ));
    } else {
        let (a, b) = (mean(&first), mean(&second));
        let allowed = a * args.rss_tolerance_pct / 100.0 + RSS_SLACK_KIB;
        let all: Vec<u64> = samples.iter().map(|s| s.rss_kib).collect();
        println!(
            "soak: RSS {} samples every {} s: min {:.1} MiB, max {:.1} MiB; after {warmup:.0} s of warm-up: first half mean {:.1} MiB, second half {:.1} MiB ({:+.1}%, allowed +{:.1} MiB); after the drain {:.1} MiB",
            samples.len(),
            args.sample_secs,
            *all.iter().min().unwrap_or(&0) as f64 / 1024.0,
            *all.iter().max().unwrap_or(&0) as f64 / 1024.0,
            a / 1024.0,
            b / 1024.0,
            (b - a) / a * 100.0,
            allowed / 1024.0,
            final_rss.unwrap_or(0) as f64 / 1024.0
        );
        if b > a + allowed {
            failures.push(format!(
                "RSS grew after warm-up: second half {:.1} MiB vs first half {:.1} MiB",
                b / 1024.0,
                a / 1024.0
            ));
        }
    }
    let title = format!(
        "cauda soak: VmRSS, {} queues, {:.0} requests/s for {:.0} s (steady phase solid, warm-up end and half dashed)",
        shared.queues.len(),
        steady_requests as f64 / secs,
        secs
    );
    for r in [
        write_csv(&args.csv, &samples).map(|()| &args.csv),
        write_svg(
            &args.svg,
            &samples,
            [steady_start, flat_from, half, steady_end],
            &title,
        )
        .map(|()| &args.svg),
    ] {
        match r {
            Ok(p) => println!("soak: wrote {}", p.display()),
            Err(e) => failures.push(format!("writing the curve: {e}")),
        }
    }
    if !failures.is_empty() {
        let tail: String = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n");
        println!("soak: last server log lines (newest first):\n{tail}");
    }
    failures
}
