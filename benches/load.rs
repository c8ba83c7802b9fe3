//! Load benchmark for a **running** cauda server.
//!
//! Drives the server over loopback with SigV4-signed requests in either wire protocol (AWS JSON
//! 1.0 or AWS Query) and reports, per scenario, messages/s and request latency (p50, p99, max).
//! Every scenario works on a fresh queue it creates and deletes afterwards. Each worker task owns
//! one keep-alive HTTP/1.1 connection. Every loop is bounded by time *and* by a request count,
//! so the program always stops by itself.
//!
//! ```text
//! cargo bench --bench load -- --endpoint http://127.0.0.1:9324 --protocol json --duration-secs 5
//! benches/run.sh --duration-secs 5          # builds and starts a server, then runs this
//! ```
//!
//! Output: a human-readable table at the end, and one JSON object per scenario on its own line
//! (lines starting with `{`), as soon as the scenario finishes. Error responses are counted,
//! sampled and printed; any error makes the process exit with status 3.
//!
//! Only loopback targets (127.0.0.0/8, localhost, [::1]) are accepted.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the load generator's output is its report"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the load generator measures and signs in real time"
)]

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

#[path = "common/client.rs"]
#[allow(dead_code, reason = "the soak's operations are not used here")]
mod client;
use client::*;
#[path = "common/disk.rs"]
mod disk;

/// The load generator shares the cores with the server it measures; the allocator the server
/// uses costs it less CPU than glibc's (about a quarter of its time went to malloc/free).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How many distinct error samples a scenario keeps for printing.
const ERROR_SAMPLES: usize = 5;
/// A consumer that sees this many empty receives in a row gives up (the queue is drained or
/// something is wrong; either way the loop must end).
const MAX_EMPTY_STREAK: u32 = 2_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Scenario {
    /// SendMessage on 1 connection.
    Send1,
    /// SendMessage on `--connections` connections.
    Send,
    /// SendMessageBatch (10 entries) on `--connections` connections.
    Batch,
    /// Pre-filled standard queue; consumers do ReceiveMessage(10) + DeleteMessageBatch.
    Roundtrip,
    /// FIFO SendMessage over each of `--fifo-groups` message groups.
    FifoSend,
    /// FIFO pre-fill + receive/delete over each of `--fifo-groups` message groups.
    FifoRoundtrip,
    /// Rate-limited SendMessage at 50% of the measured multi-connection send rate.
    HalfPeak,
    /// Receive latency at queue depth 10,000 (and 1,000,000 with `--deep`).
    Depth,
    /// `--connections` producers (SendMessage) and as many consumers (ReceiveMessage(10) +
    /// DeleteMessageBatch) on one queue at the same time; msgs/s counts deleted messages.
    ConcurrentRoundtrip,
}

#[derive(Debug, Parser)]
#[command(
    name = "load",
    about = "Load benchmark for a running cauda server (loopback only)"
)]
struct Args {
    /// Server endpoint; must be a loopback address.
    #[arg(
        long,
        env = "CAUDA_BENCH_ENDPOINT",
        default_value = "http://127.0.0.1:9324"
    )]
    endpoint: String,

    /// Wire protocol to speak.
    #[arg(long, value_enum, default_value = "json")]
    protocol: Protocol,

    /// Measured duration of each scenario, in seconds (pre-fill phases are bounded separately).
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,

    /// Connections (worker tasks) for the multi-connection scenarios.
    #[arg(long, default_value_t = 32)]
    connections: usize,

    /// Scenarios to run, comma-separated (default: all).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "send1,send,batch,roundtrip,fifo-send,fifo-roundtrip,half-peak,depth,concurrent-roundtrip"
    )]
    scenario: Vec<Scenario>,

    /// FIFO message-group counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,1000")]
    fifo_groups: Vec<usize>,

    /// Also measure receive latency at depth 1,000,000 (filling takes minutes).
    #[arg(long)]
    deep: bool,

    /// Message body size in bytes.
    #[arg(long, default_value_t = 256)]
    body_bytes: usize,

    /// Upper bound on requests per measured phase (a second bound next to the duration).
    #[arg(long, default_value_t = 5_000_000)]
    max_requests: u64,

    /// Upper bound on messages pre-filled for the round-trip scenarios.
    #[arg(long, default_value_t = 200_000)]
    prefill_max: u64,

    /// Peak send rate (msg/s) for half-peak; default: measured by the `send` scenario.
    #[arg(long)]
    peak_rate: Option<f64>,

    /// Pause before each scenario after the first, in seconds: every scenario deletes its
    /// queue, and the server frees a deleted queue's records in the background (after a FIFO
    /// round trip, ~350,000 records in ~11 s on a 2-core VM); without the pause the next
    /// scenario measures that cleanup too. 0 runs the scenarios back to back.
    #[arg(long, default_value_t = 15)]
    settle_secs: u64,

    /// A scenario stops early after this many errors.
    #[arg(long, default_value_t = 1_000)]
    max_errors: u64,

    /// Tokio worker threads for the load generator (default: number of CPUs).
    #[arg(long)]
    threads: Option<usize>,

    #[arg(long, default_value = "test")]
    access_key: String,

    #[arg(long, default_value = "test")]
    secret_key: String,

    #[arg(long, default_value = "us-east-1")]
    region: String,

    /// Measure the disk under DIR first (the server's data dir): synchronous 4 KiB writes,
    /// see `common/disk.rs`. With `--targets` it is measured right before and after send-1.
    #[arg(long, value_name = "DIR")]
    disk_probe_dir: Option<std::path::PathBuf>,

    /// Upper bound on the disk probe's writes per method (it also stops after ~2 s).
    #[arg(long, default_value_t = 4_000)]
    disk_probe_writes: u64,

    /// With `--targets`: a null server (`benches/null_server.rs`, canned replies, no work) to
    /// run send-1 against right after cauda's. One null round trip plus one `O_DIRECT` write
    /// of the disk probe is then this machine's ceiling for a strict one-connection send.
    #[arg(long, value_name = "URL")]
    null_endpoint: Option<String>,

    /// Run issue 16's durable-mode targets instead of `--scenario` (send on 1, 8 and 32
    /// connections, FIFO send on 8 connections over 10 groups, 8 producers + 8 consumers at
    /// once; `--connections` and `--fifo-groups` are ignored) and print each figure next to
    /// its target. Pass `--disk-probe-dir` for the 1-connection target.
    #[arg(long)]
    targets: bool,

    /// Passed by `cargo bench`; without it (e.g. under `cargo test --benches`) nothing runs.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.bench {
        println!(
            "load: benchmark binary; run it with `cargo bench --bench load -- [args]`. Skipping."
        );
        return ExitCode::SUCCESS;
    }
    let target = match Target::parse(&args.endpoint) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("load: refusing endpoint {:?}: {e}", args.endpoint);
            return ExitCode::from(2);
        }
    };
    if args.connections == 0 || args.duration_secs == 0 || args.body_bytes == 0 {
        eprintln!("load: --connections, --duration-secs and --body-bytes must be positive");
        return ExitCode::from(2);
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("load: cannot start tokio: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(run(args, target))
}

async fn run(args: Args, target: Target) -> ExitCode {
    let ctx = Arc::new(Ctx {
        target,
        signer: Signer {
            identity: Credentials::new(
                &args.access_key,
                &args.secret_key,
                None,
                None,
                "cauda-bench",
            )
            .into(),
            region: args.region.clone(),
        },
        protocol: args.protocol,
        body_bytes: args.body_bytes,
    });

    // Fail fast, with a clear message, when nothing listens there.
    if let Err(e) = Conn::connect(&ctx).await {
        eprintln!("load: cannot connect to {}: {e}", ctx.target.base);
        return ExitCode::from(1);
    }

    let dur = Duration::from_secs(args.duration_secs);
    let conns = args.connections;
    let mut scenarios = args.scenario.clone();
    scenarios.sort();
    scenarios.dedup();

    println!(
        "cauda load benchmark: endpoint {} protocol {} duration {}s/scenario connections {} body {} B",
        ctx.target.base,
        args.protocol.name(),
        args.duration_secs,
        conns,
        args.body_bytes
    );

    let mut reports: Vec<Report> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut peak_rate = args.peak_rate;

    let limits = Limits {
        dur,
        max_requests: args.max_requests,
        max_errors: args.max_errors,
    };

    let mut probes: Vec<(String, disk::DiskRate)> = Vec::new();
    if args.targets {
        scenarios.clear();
        run_targets(
            &ctx,
            &limits,
            &args,
            &mut reports,
            &mut failures,
            &mut probes,
        )
        .await;
    } else if let Some(dir) = &args.disk_probe_dir {
        match disk_probe(dir, args.disk_probe_writes).await {
            Ok(p) => probes.push(("before the scenarios".into(), p)),
            Err(e) => failures.push(format!("disk probe: {e}")),
        }
    }

    for sc in scenarios {
        let runs: Vec<Plan> = match sc {
            Scenario::Send1 => vec![Plan::Send {
                id: "send-1",
                conns: 1,
                batch: false,
                groups: None,
                rate: None,
            }],
            Scenario::Send => vec![Plan::Send {
                id: "send",
                conns,
                batch: false,
                groups: None,
                rate: None,
            }],
            Scenario::Batch => vec![Plan::Send {
                id: "batch-send",
                conns,
                batch: true,
                groups: None,
                rate: None,
            }],
            Scenario::Roundtrip => vec![Plan::Roundtrip {
                id: "roundtrip",
                conns,
                groups: None,
            }],
            Scenario::FifoSend => args
                .fifo_groups
                .iter()
                .map(|&g| Plan::Send {
                    id: "fifo-send",
                    conns,
                    batch: false,
                    groups: Some(g.max(1)),
                    rate: None,
                })
                .collect(),
            Scenario::FifoRoundtrip => args
                .fifo_groups
                .iter()
                .map(|&g| Plan::Roundtrip {
                    id: "fifo-roundtrip",
                    // With G groups at most G receivers can hold messages at once.
                    conns: conns.min(g.max(1)),
                    groups: Some(g.max(1)),
                })
                .collect(),
            Scenario::HalfPeak => {
                if peak_rate.is_none() {
                    println!("half-peak: no peak rate yet; measuring `send` first");
                    let plan = Plan::Send {
                        id: "send",
                        conns,
                        batch: false,
                        groups: None,
                        rate: None,
                    };
                    match execute(&ctx, &limits, &args, &plan).await {
                        Ok(r) => {
                            peak_rate = Some(r.msgs_per_s());
                            emit(&r);
                            reports.push(r);
                        }
                        Err(e) => failures.push(format!("send (for half-peak): {e}")),
                    }
                }
                match peak_rate {
                    Some(p) if p > 0.0 => vec![Plan::Send {
                        id: "half-peak",
                        conns,
                        batch: false,
                        groups: None,
                        rate: Some(p / 2.0),
                    }],
                    _ => {
                        failures.push("half-peak: no usable peak send rate".into());
                        vec![]
                    }
                }
            }
            Scenario::ConcurrentRoundtrip => vec![Plan::Concurrent {
                id: "concurrent-roundtrip",
                producers: conns,
                consumers: conns,
            }],
            Scenario::Depth => {
                let mut v = vec![Plan::Depth { depth: 10_000 }];
                if args.deep {
                    v.push(Plan::Depth { depth: 1_000_000 });
                }
                v
            }
        };
        for plan in runs {
            if !reports.is_empty() && args.settle_secs > 0 {
                println!("--- settling {} s ...", args.settle_secs);
                tokio::time::sleep(Duration::from_secs(args.settle_secs)).await;
            }
            println!("--- running {} ...", plan.label());
            match execute(&ctx, &limits, &args, &plan).await {
                Ok(r) => {
                    if r.id == "send" && args.peak_rate.is_none() && r.errors == 0 {
                        peak_rate = Some(r.msgs_per_s());
                    }
                    emit(&r);
                    reports.push(r);
                }
                Err(e) => {
                    eprintln!("!!! {} FAILED: {e}", plan.label());
                    failures.push(format!("{}: {e}", plan.label()));
                }
            }
        }
    }

    print_table(&reports, args.protocol);
    for (when, p) in &probes {
        print_probe(when, p);
    }
    if args.targets {
        print_targets(&reports, &probes);
    }

    let total_errors: u64 = reports.iter().map(|r| r.errors).sum();
    if !failures.is_empty() {
        println!("\n!!! {} scenario(s) could not run:", failures.len());
        for f in &failures {
            println!("!!!   {f}");
        }
    }
    if total_errors > 0 {
        println!("\n!!! {total_errors} request error(s) in total; see the samples above.");
    }
    if failures.is_empty() && total_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

// ---------------------------------------------------------------------------------------------
// Measurement plumbing
// ---------------------------------------------------------------------------------------------

struct Limits {
    dur: Duration,
    max_requests: u64,
    max_errors: u64,
}

/// State shared by the workers of one phase.
struct Phase {
    deadline: Instant,
    issued: AtomicU64,
    max_requests: u64,
    errors: AtomicU64,
    max_errors: u64,
    stop: AtomicBool,
    samples: Mutex<BTreeMap<String, u64>>,
    /// Messages done (sent / deleted), shared so consumers know when the queue is drained.
    done_msgs: AtomicU64,
}

impl Phase {
    fn new(dur: Duration, max_requests: u64, max_errors: u64) -> Arc<Phase> {
        Arc::new(Phase {
            deadline: Instant::now() + dur,
            issued: AtomicU64::new(0),
            max_requests,
            errors: AtomicU64::new(0),
            max_errors,
            stop: AtomicBool::new(false),
            samples: Mutex::new(BTreeMap::new()),
            done_msgs: AtomicU64::new(0),
        })
    }

    /// Claims the next request slot: its sequence number, or None when the phase is over.
    fn next(&self) -> Option<u64> {
        if self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
            return None;
        }
        let i = self.issued.fetch_add(1, Ordering::Relaxed);
        (i < self.max_requests).then_some(i)
    }

    fn error(&self, op: &str, e: &CallError) {
        let n = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.max_errors {
            self.stop.store(true, Ordering::Relaxed);
        }
        let key = format!("{op}: {e}");
        let mut s = self.samples.lock().expect("samples lock");
        if let Some(c) = s.get_mut(&key) {
            *c += 1;
        } else if s.len() < ERROR_SAMPLES {
            s.insert(key, 1);
        }
    }

    fn error_samples(&self) -> Vec<String> {
        let s = self.samples.lock().expect("samples lock");
        s.iter().map(|(k, c)| format!("{c}× {k}")).collect()
    }
}

fn new_hist() -> Histogram<u64> {
    // 1 µs .. 5 min, 3 significant digits.
    Histogram::new_with_bounds(1, 300_000_000, 3).expect("histogram bounds")
}

struct WorkerStats {
    /// Main latency histogram (µs).
    hist: Histogram<u64>,
    /// Secondary histogram (µs): receive-only / delete-only / schedule-relative, per scenario.
    aux: Histogram<u64>,
    aux2: Histogram<u64>,
    requests: u64,
    messages: u64,
    entry_errors: u64,
    empty_receives: u64,
}

impl WorkerStats {
    fn new() -> WorkerStats {
        WorkerStats {
            hist: new_hist(),
            aux: new_hist(),
            aux2: new_hist(),
            requests: 0,
            messages: 0,
            entry_errors: 0,
            empty_receives: 0,
        }
    }

    fn merge(&mut self, o: WorkerStats) {
        // Same bounds everywhere, so add() cannot fail.
        let _ = self.hist.add(&o.hist);
        let _ = self.aux.add(&o.aux);
        let _ = self.aux2.add(&o.aux2);
        self.requests += o.requests;
        self.messages += o.messages;
        self.entry_errors += o.entry_errors;
        self.empty_receives += o.empty_receives;
    }
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Sends `op` on the worker's connection, reconnecting once after a transport failure.
/// Errors are recorded in `phase`; `None` means the request failed.
async fn attempt(
    ctx: &Ctx,
    conn: &mut Option<Conn>,
    phase: &Phase,
    op: &Op<'_>,
) -> Option<(Bytes, Duration)> {
    let req = encode(ctx.protocol, op);
    if conn.is_none() {
        match Conn::connect(ctx).await {
            Ok(c) => *conn = Some(c),
            Err(e) => {
                phase.error(
                    op.action(),
                    &CallError::Transport(format!("reconnect: {e}")),
                );
                phase.stop.store(true, Ordering::Relaxed);
                return None;
            }
        }
    }
    let c = conn.as_mut().expect("connected above");
    match c.call(ctx, &req).await {
        Ok(r) => Some(r),
        Err(e) => {
            if matches!(e, CallError::Transport(_)) {
                *conn = None;
            }
            phase.error(op.action(), &e);
            None
        }
    }
}

struct Report {
    id: &'static str,
    label: String,
    protocol: Protocol,
    connections: usize,
    secs: f64,
    stats: WorkerStats,
    errors: u64,
    error_samples: Vec<String>,
    extra: Map<String, Value>,
}

impl Report {
    fn msgs_per_s(&self) -> f64 {
        if self.secs > 0.0 {
            self.stats.messages as f64 / self.secs
        } else {
            0.0
        }
    }

    fn json(&self) -> Value {
        let h = &self.stats.hist;
        let mut m = Map::new();
        m.insert("bench".into(), json!("cauda-load"));
        m.insert("scenario".into(), json!(self.id));
        m.insert("label".into(), json!(self.label));
        m.insert("protocol".into(), json!(self.protocol.name()));
        m.insert("connections".into(), json!(self.connections));
        m.insert("duration_s".into(), json!(round3(self.secs)));
        m.insert("requests".into(), json!(self.stats.requests));
        m.insert("messages".into(), json!(self.stats.messages));
        m.insert("msgs_per_s".into(), json!(round3(self.msgs_per_s())));
        m.insert(
            "req_per_s".into(),
            json!(round3(if self.secs > 0.0 {
                self.stats.requests as f64 / self.secs
            } else {
                0.0
            })),
        );
        m.insert("p50_us".into(), json!(q(h, 0.50)));
        m.insert("p99_us".into(), json!(q(h, 0.99)));
        m.insert(
            "max_us".into(),
            json!(if h.is_empty() { 0 } else { h.max() }),
        );
        m.insert("errors".into(), json!(self.errors));
        m.insert("entry_errors".into(), json!(self.stats.entry_errors));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        if !self.error_samples.is_empty() {
            m.insert("error_samples".into(), json!(self.error_samples));
        }
        Value::Object(m)
    }
}

fn q(h: &Histogram<u64>, quantile: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(quantile)
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn emit(r: &Report) {
    println!("{}", r.json());
    if r.errors > 0 || r.stats.entry_errors > 0 {
        let msg = format!(
            "!!! {}: {} request error(s), {} failed batch entr(ies)",
            r.label, r.errors, r.stats.entry_errors
        );
        println!("{msg}");
        eprintln!("{msg}");
        for s in &r.error_samples {
            println!("!!!     {s}");
            eprintln!("!!!     {s}");
        }
    }
}

fn print_table(reports: &[Report], protocol: Protocol) {
    println!();
    println!("cauda load benchmark — protocol {}", protocol.name());
    println!(
        "{:<38} {:>5} {:>8} {:>11} {:>10} {:>9} {:>9} {:>9} {:>7}",
        "scenario", "conns", "secs", "msgs/s", "req/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    println!("{}", "-".repeat(114));
    for r in reports {
        let h = &r.stats.hist;
        let reqs = if r.secs > 0.0 {
            r.stats.requests as f64 / r.secs
        } else {
            0.0
        };
        let errors = r.errors + r.stats.entry_errors;
        println!(
            "{:<38} {:>5} {:>8.2} {:>11.0} {:>10.0} {:>9.3} {:>9.3} {:>9.3} {:>7}{}",
            r.label,
            r.connections,
            r.secs,
            r.msgs_per_s(),
            reqs,
            q(h, 0.50) as f64 / 1000.0,
            q(h, 0.99) as f64 / 1000.0,
            if h.is_empty() {
                0.0
            } else {
                h.max() as f64 / 1000.0
            },
            errors,
            if errors > 0 { "  <-- ERRORS" } else { "" }
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

enum Plan {
    Send {
        id: &'static str,
        conns: usize,
        batch: bool,
        groups: Option<usize>,
        /// Total target rate in requests/s (open loop); None = as fast as possible.
        rate: Option<f64>,
    },
    Roundtrip {
        id: &'static str,
        conns: usize,
        groups: Option<usize>,
    },
    Depth {
        depth: u64,
    },
    /// Producers and consumers on one queue at the same time.
    Concurrent {
        id: &'static str,
        producers: usize,
        consumers: usize,
    },
}

impl Plan {
    fn label(&self) -> String {
        match self {
            Plan::Send {
                id,
                conns,
                batch,
                groups,
                rate,
            } => {
                let mut s = format!("{id} ({conns} conn");
                if *batch {
                    s.push_str(", 10/batch");
                }
                if let Some(g) = groups {
                    s.push_str(&format!(", {g} groups"));
                }
                if let Some(r) = rate {
                    s.push_str(&format!(", {r:.0}/s"));
                }
                s.push(')');
                s
            }
            Plan::Roundtrip { id, conns, groups } => match groups {
                Some(g) => format!("{id} ({conns} conn, {g} groups)"),
                None => format!("{id} ({conns} conn)"),
            },
            Plan::Depth { depth } => format!("receive at depth {depth} (1 conn)"),
            Plan::Concurrent {
                id,
                producers,
                consumers,
            } => format!("{id} ({producers} producers + {consumers} consumers)"),
        }
    }
}

async fn execute(
    ctx: &Arc<Ctx>,
    limits: &Limits,
    args: &Args,
    plan: &Plan,
) -> Result<Report, String> {
    match plan {
        Plan::Send {
            id,
            conns,
            batch,
            groups,
            rate,
        } => {
            let fifo = groups.is_some();
            let url = create_queue(ctx, id, fifo).await?;
            let phase = Phase::new(limits.dur, limits.max_requests, limits.max_errors);
            let spec = Arc::new(SendSpec {
                url: url.clone(),
                batch: *batch,
                groups: *groups,
                rate: *rate,
                conns: *conns,
                tag: "s",
            });
            let start = Instant::now();
            let stats = run_senders(ctx, &phase, &spec).await;
            let secs = start.elapsed().as_secs_f64();
            let mut extra = Map::new();
            if let Some(g) = groups {
                extra.insert("groups".into(), json!(g));
            }
            if let Some(r) = rate {
                extra.insert("target_req_per_s".into(), json!(round3(*r)));
                extra.insert("p99_sched_us".into(), json!(q(&stats.aux, 0.99)));
                extra.insert("p50_sched_us".into(), json!(q(&stats.aux, 0.50)));
            }
            let cleanup = delete_queue(ctx, &url).await.err();
            Ok(Report {
                id,
                label: plan.label(),
                protocol: ctx.protocol,
                connections: *conns,
                secs,
                stats,
                errors: phase.errors.load(Ordering::Relaxed) + u64::from(cleanup.is_some()),
                error_samples: with_cleanup(phase.error_samples(), cleanup),
                extra,
            })
        }
        Plan::Roundtrip { id, conns, groups } => {
            let fifo = groups.is_some();
            let url = create_queue(ctx, id, fifo).await?;
            // Pre-fill with batch sends, bounded by the scenario duration and --prefill-max.
            let fill = Phase::new(limits.dur, args.prefill_max.div_ceil(10), limits.max_errors);
            let spec = Arc::new(SendSpec {
                url: url.clone(),
                batch: true,
                groups: *groups,
                rate: None,
                conns: args.connections,
                tag: "p",
            });
            let fill_start = Instant::now();
            let fill_stats = run_senders(ctx, &fill, &spec).await;
            let fill_secs = fill_start.elapsed().as_secs_f64();
            let fill_errors = fill.errors.load(Ordering::Relaxed);
            let prefilled = fill_stats.messages;
            println!(
                "    pre-filled {prefilled} messages in {fill_secs:.2}s ({fill_errors} errors)"
            );

            let phase = Phase::new(limits.dur, limits.max_requests, limits.max_errors);
            let start = Instant::now();
            let stats = run_consumers(ctx, &phase, &url, *conns, prefilled, false).await;
            let secs = start.elapsed().as_secs_f64();
            let mut extra = Map::new();
            if let Some(g) = groups {
                extra.insert("groups".into(), json!(g));
            }
            extra.insert("prefilled".into(), json!(prefilled));
            extra.insert("prefill_s".into(), json!(round3(fill_secs)));
            extra.insert(
                "prefill_msgs_per_s".into(),
                json!(round3(prefilled as f64 / fill_secs.max(1e-9))),
            );
            extra.insert("receive_p50_us".into(), json!(q(&stats.aux, 0.50)));
            extra.insert("receive_p99_us".into(), json!(q(&stats.aux, 0.99)));
            extra.insert("delete_p50_us".into(), json!(q(&stats.aux2, 0.50)));
            extra.insert("delete_p99_us".into(), json!(q(&stats.aux2, 0.99)));
            extra.insert("empty_receives".into(), json!(stats.empty_receives));
            extra.insert("drained".into(), json!(stats.messages >= prefilled));
            let cleanup = delete_queue(ctx, &url).await.err();
            let mut samples = fill.error_samples();
            samples.extend(phase.error_samples());
            Ok(Report {
                id,
                label: plan.label(),
                protocol: ctx.protocol,
                connections: *conns,
                secs,
                stats,
                errors: fill_errors
                    + phase.errors.load(Ordering::Relaxed)
                    + u64::from(cleanup.is_some()),
                error_samples: with_cleanup(samples, cleanup),
                extra,
            })
        }
        Plan::Concurrent {
            id,
            producers,
            consumers,
        } => {
            let url = create_queue(ctx, id, false).await?;
            let phase = Phase::new(limits.dur, limits.max_requests, limits.max_errors);
            let spec = Arc::new(SendSpec {
                url: url.clone(),
                batch: false,
                groups: None,
                rate: None,
                conns: *producers,
                tag: "c",
            });
            let start = Instant::now();
            let (sent, mut stats) = tokio::join!(
                run_senders(ctx, &phase, &spec),
                run_consumers(ctx, &phase, &url, *consumers, u64::MAX, false)
            );
            let secs = start.elapsed().as_secs_f64();
            let backlog = get_depth(ctx, &url).await;
            let mut extra = Map::new();
            extra.insert("producers".into(), json!(producers));
            extra.insert("consumers".into(), json!(consumers));
            extra.insert("sent".into(), json!(sent.messages));
            extra.insert(
                "sent_per_s".into(),
                json!(round3(sent.messages as f64 / secs.max(1e-9))),
            );
            extra.insert("send_p50_us".into(), json!(q(&sent.hist, 0.50)));
            extra.insert("send_p99_us".into(), json!(q(&sent.hist, 0.99)));
            extra.insert("receive_p50_us".into(), json!(q(&stats.aux, 0.50)));
            extra.insert("receive_p99_us".into(), json!(q(&stats.aux, 0.99)));
            extra.insert("delete_p50_us".into(), json!(q(&stats.aux2, 0.50)));
            extra.insert("delete_p99_us".into(), json!(q(&stats.aux2, 0.99)));
            extra.insert("empty_receives".into(), json!(stats.empty_receives));
            if let Ok(d) = &backlog {
                extra.insert("backlog_at_end".into(), json!(d));
            }
            extra.insert(
                "msgs_are".into(),
                json!("deleted messages; latency: every request"),
            );
            println!(
                "    sent {} ({:.0}/s), deleted {}, backlog at the end {}",
                sent.messages,
                sent.messages as f64 / secs.max(1e-9),
                stats.messages,
                backlog
                    .as_ref()
                    .map_or_else(|e| format!("unknown ({e})"), ToString::to_string)
            );
            // Msgs = deleted ones; the latency histogram covers every request of both sides.
            let _ = stats.hist.add(&sent.hist);
            stats.requests += sent.requests;
            stats.entry_errors += sent.entry_errors;
            let cleanup = delete_queue(ctx, &url).await.err();
            Ok(Report {
                id,
                label: plan.label(),
                protocol: ctx.protocol,
                connections: producers + consumers,
                secs,
                stats,
                errors: phase.errors.load(Ordering::Relaxed) + u64::from(cleanup.is_some()),
                error_samples: with_cleanup(phase.error_samples(), cleanup),
                extra,
            })
        }
        Plan::Depth { depth } => {
            let url = create_queue(ctx, "depth", false).await?;
            // Filling is bounded by count (the depth) and by time: generous, but finite.
            let fill_time =
                Duration::from_secs((depth / 500).max(limits.dur.as_secs() * 6).clamp(60, 3_600));
            let fill = Phase::new(fill_time, depth.div_ceil(10), limits.max_errors);
            let spec = Arc::new(SendSpec {
                url: url.clone(),
                batch: true,
                groups: None,
                rate: None,
                conns: args.connections,
                tag: "f",
            });
            let fill_start = Instant::now();
            let fill_stats = run_senders(ctx, &fill, &spec).await;
            let fill_secs = fill_start.elapsed().as_secs_f64();
            let fill_errors = fill.errors.load(Ordering::Relaxed);
            let reported_depth = get_depth(ctx, &url).await;
            println!(
                "    filled {} messages in {fill_secs:.2}s ({fill_errors} errors); ApproximateNumberOfMessages = {}",
                fill_stats.messages,
                reported_depth.as_ref().map_or_else(|e| format!("error: {e}"), std::string::ToString::to_string)
            );

            let phase = Phase::new(limits.dur, limits.max_requests, limits.max_errors);
            let start = Instant::now();
            // One connection: receive (measured), delete, and send the same number back so the
            // depth stays where it was filled to.
            let stats = run_consumers(ctx, &phase, &url, 1, u64::MAX, true).await;
            let secs = start.elapsed().as_secs_f64();
            let mut extra = Map::new();
            extra.insert("depth".into(), json!(depth));
            extra.insert("filled".into(), json!(fill_stats.messages));
            extra.insert("fill_s".into(), json!(round3(fill_secs)));
            extra.insert(
                "fill_msgs_per_s".into(),
                json!(round3(fill_stats.messages as f64 / fill_secs.max(1e-9))),
            );
            if let Ok(d) = reported_depth {
                extra.insert("approximate_depth".into(), json!(d));
            }
            extra.insert("latency_is".into(), json!("ReceiveMessage only"));
            extra.insert("empty_receives".into(), json!(stats.empty_receives));
            let cleanup = delete_queue(ctx, &url).await.err();
            let mut samples = fill.error_samples();
            samples.extend(phase.error_samples());
            // Main histogram = receive latency for this scenario.
            let mut stats = stats;
            std::mem::swap(&mut stats.hist, &mut stats.aux);
            Ok(Report {
                id: "receive-depth",
                label: plan.label(),
                protocol: ctx.protocol,
                connections: 1,
                secs,
                stats,
                errors: fill_errors
                    + phase.errors.load(Ordering::Relaxed)
                    + u64::from(cleanup.is_some()),
                error_samples: with_cleanup(samples, cleanup),
                extra,
            })
        }
    }
}

fn queue_name(id: &str, fifo: bool) -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    let mut n = format!("bench-{id}-{}", &u[..12]);
    if fifo {
        n.push_str(".fifo");
    }
    n
}

async fn create_queue(ctx: &Ctx, id: &str, fifo: bool) -> Result<String, String> {
    let name = queue_name(id, fifo);
    let mut conn = Conn::connect(ctx).await?;
    let req = encode(ctx.protocol, &Op::CreateQueue { name: &name, fifo });
    let (body, _) = conn
        .call(ctx, &req)
        .await
        .map_err(|e| format!("CreateQueue {name}: {e}"))?;
    decode_queue_url(ctx.protocol, &body).map_err(|e| format!("CreateQueue {name}: {e}"))
}

/// Deletes a scenario's queue. A failure is reported as an error of that scenario.
async fn delete_queue(ctx: &Ctx, url: &str) -> Result<(), String> {
    let res = async {
        let mut conn = Conn::connect(ctx).await?;
        let req = encode(ctx.protocol, &Op::DeleteQueue { url });
        conn.call(ctx, &req).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(())
    }
    .await;
    if let Err(e) = &res {
        eprintln!("!!! DeleteQueue {url} failed: {e}");
    }
    res
}

fn with_cleanup(mut samples: Vec<String>, cleanup: Option<String>) -> Vec<String> {
    if let Some(e) = cleanup {
        samples.push(format!("1× DeleteQueue (cleanup): {e}"));
    }
    samples
}

async fn get_depth(ctx: &Ctx, url: &str) -> Result<u64, String> {
    let mut conn = Conn::connect(ctx).await?;
    let req = encode(ctx.protocol, &Op::GetDepth { url });
    let (body, _) = conn.call(ctx, &req).await.map_err(|e| e.to_string())?;
    decode_depth(ctx.protocol, &body).map_err(|e| e.to_string())
}

struct SendSpec {
    url: String,
    batch: bool,
    groups: Option<usize>,
    rate: Option<f64>,
    conns: usize,
    /// Prefix of message bodies, so pre-fill and measured messages differ.
    tag: &'static str,
}

async fn run_senders(ctx: &Arc<Ctx>, phase: &Arc<Phase>, spec: &Arc<SendSpec>) -> WorkerStats {
    let mut handles = Vec::with_capacity(spec.conns);
    for w in 0..spec.conns {
        let (ctx, phase, spec) = (ctx.clone(), phase.clone(), spec.clone());
        handles.push(tokio::spawn(async move {
            send_worker(&ctx, &phase, &spec, w).await
        }));
    }
    join_all(handles, phase).await
}

async fn join_all(
    handles: Vec<tokio::task::JoinHandle<WorkerStats>>,
    phase: &Phase,
) -> WorkerStats {
    let mut total = WorkerStats::new();
    for h in handles {
        match h.await {
            Ok(s) => total.merge(s),
            Err(e) => phase.error(
                "worker",
                &CallError::Transport(format!("worker task failed: {e}")),
            ),
        }
    }
    total
}

async fn send_worker(ctx: &Ctx, phase: &Phase, spec: &SendSpec, w: usize) -> WorkerStats {
    let mut stats = WorkerStats::new();
    let mut conn = match Conn::connect(ctx).await {
        Ok(c) => Some(c),
        Err(e) => {
            phase.error("connect", &CallError::Transport(e));
            return stats;
        }
    };
    // Open-loop schedule for rate-limited runs: each worker sends every `interval`, workers
    // staggered evenly; latency is also measured from the scheduled start (aux histogram), so a
    // server stall is not hidden by the generator waiting for it.
    let interval = spec
        .rate
        .map(|r| Duration::from_secs_f64(spec.conns as f64 / r.max(1e-3)));
    let start = tokio::time::Instant::now()
        + interval.map_or(Duration::ZERO, |i| i.mul_f64(w as f64 / spec.conns as f64));
    let mut k: u32 = 0;
    while let Some(seq) = phase.next() {
        let group = spec.groups.map(|g| format!("g{}", seq % g as u64));
        let scheduled = interval.map(|i| start + i * k);
        k = k.saturating_add(1);
        if let Some(s) = scheduled {
            tokio::time::sleep_until(s).await;
            if Instant::now() >= phase.deadline {
                break;
            }
        }
        let sent_at = tokio::time::Instant::now();
        let result;
        let n_msgs;
        if spec.batch {
            let entries: Vec<(String, Option<String>)> = (0..10u64)
                .map(|i| {
                    let g = spec
                        .groups
                        .map(|g| format!("g{}", (seq * 10 + i) % g as u64));
                    (make_body(ctx.body_bytes, spec.tag, seq * 10 + i), g)
                })
                .collect();
            n_msgs = entries.len() as u64;
            let op = Op::SendBatch {
                url: &spec.url,
                entries: &entries,
            };
            result = attempt(ctx, &mut conn, phase, &op).await;
            if let Some((body, _)) = &result {
                match decode_batch(ctx.protocol, body, "SendMessageBatchResultEntry") {
                    Ok((ok, failed)) => {
                        stats.messages += ok as u64;
                        if failed > 0 || ok as u64 != n_msgs {
                            stats.entry_errors += n_msgs - (ok as u64).min(n_msgs);
                            phase.error(
                                "SendMessageBatch",
                                &CallError::Decode(format!(
                                    "{ok} ok, {failed} failed: {}",
                                    snippet(body)
                                )),
                            );
                        }
                    }
                    Err(e) => phase.error("SendMessageBatch", &e),
                }
            }
        } else {
            let body = make_body(ctx.body_bytes, spec.tag, seq);
            n_msgs = 1;
            let op = Op::Send {
                url: &spec.url,
                body: &body,
                group: group.as_deref(),
            };
            result = attempt(ctx, &mut conn, phase, &op).await;
            if result.is_some() {
                stats.messages += n_msgs;
            }
        }
        stats.requests += 1;
        if let Some((_, lat)) = result {
            stats.hist.saturating_record(us(lat));
            if let Some(s) = scheduled {
                stats
                    .aux
                    .saturating_record(us(sent_at.max(s).duration_since(s) + lat));
            }
        }
    }
    phase.done_msgs.fetch_add(stats.messages, Ordering::Relaxed);
    stats
}

async fn run_consumers(
    ctx: &Arc<Ctx>,
    phase: &Arc<Phase>,
    url: &str,
    conns: usize,
    target_msgs: u64,
    refill: bool,
) -> WorkerStats {
    let url: Arc<str> = url.into();
    let mut handles = Vec::with_capacity(conns);
    for w in 0..conns {
        let (ctx, phase, url) = (ctx.clone(), phase.clone(), url.clone());
        handles.push(tokio::spawn(async move {
            consume_worker(&ctx, &phase, &url, target_msgs, refill, w).await
        }));
    }
    join_all(handles, phase).await
}

/// ReceiveMessage(10) + DeleteMessageBatch until `target_msgs` are deleted in total, the phase
/// ends, or the queue stays empty. `hist` gets every request, `aux` receives, `aux2` deletes.
/// With `refill`, each deleted batch is sent again so the queue depth stays constant.
async fn consume_worker(
    ctx: &Ctx,
    phase: &Phase,
    url: &str,
    target_msgs: u64,
    refill: bool,
    w: usize,
) -> WorkerStats {
    let mut stats = WorkerStats::new();
    let mut conn = match Conn::connect(ctx).await {
        Ok(c) => Some(c),
        Err(e) => {
            phase.error("connect", &CallError::Transport(e));
            return stats;
        }
    };
    let mut empty_streak = 0u32;
    let mut refill_seq = 0u64;
    while phase.next().is_some() {
        if phase.done_msgs.load(Ordering::Relaxed) >= target_msgs {
            break;
        }
        stats.requests += 1;
        let Some((body, lat)) = attempt(ctx, &mut conn, phase, &Op::Receive { url, max: 10 }).await
        else {
            continue;
        };
        stats.hist.saturating_record(us(lat));
        stats.aux.saturating_record(us(lat));
        let handles = match decode_receipt_handles(ctx.protocol, &body) {
            Ok(h) => h,
            Err(e) => {
                phase.error("ReceiveMessage", &e);
                continue;
            }
        };
        if handles.is_empty() {
            stats.empty_receives += 1;
            empty_streak += 1;
            if empty_streak >= MAX_EMPTY_STREAK {
                break;
            }
            // A FIFO group may be locked by another consumer; back off a little.
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        empty_streak = 0;
        if phase.next().is_none() && !refill {
            // Out of time: the received messages simply become visible again later.
            break;
        }
        stats.requests += 1;
        let op = Op::DeleteBatch {
            url,
            handles: &handles,
        };
        if let Some((body, lat)) = attempt(ctx, &mut conn, phase, &op).await {
            stats.hist.saturating_record(us(lat));
            stats.aux2.saturating_record(us(lat));
            match decode_batch(ctx.protocol, &body, "DeleteMessageBatchResultEntry") {
                Ok((ok, failed)) => {
                    stats.messages += ok as u64;
                    phase.done_msgs.fetch_add(ok as u64, Ordering::Relaxed);
                    if failed > 0 || ok != handles.len() {
                        stats.entry_errors += (handles.len() - ok.min(handles.len())) as u64;
                        phase.error(
                            "DeleteMessageBatch",
                            &CallError::Decode(format!(
                                "{ok} ok, {failed} failed: {}",
                                snippet(&body)
                            )),
                        );
                    }
                }
                Err(e) => phase.error("DeleteMessageBatch", &e),
            }
        }
        if refill {
            let entries: Vec<(String, Option<String>)> = (0..handles.len())
                .map(|_| {
                    refill_seq += 1;
                    (
                        make_body(ctx.body_bytes, &format!("r{w}"), refill_seq),
                        None,
                    )
                })
                .collect();
            stats.requests += 1;
            let op = Op::SendBatch {
                url,
                entries: &entries,
            };
            if let Some((body, lat)) = attempt(ctx, &mut conn, phase, &op).await {
                stats.hist.saturating_record(us(lat));
                match decode_batch(ctx.protocol, &body, "SendMessageBatchResultEntry") {
                    Ok((_, 0)) => {}
                    Ok((ok, failed)) => {
                        stats.entry_errors += failed as u64;
                        phase.error(
                            "SendMessageBatch",
                            &CallError::Decode(format!(
                                "{ok} ok, {failed} failed: {}",
                                snippet(&body)
                            )),
                        );
                    }
                    Err(e) => phase.error("SendMessageBatch", &e),
                }
            }
        }
    }
    stats
}

// ---------------------------------------------------------------------------------------------
// The disk probe and issue 16's durable-mode targets
// ---------------------------------------------------------------------------------------------

/// How long one disk probe runs at most.
const DISK_PROBE_TIME: Duration = Duration::from_secs(2);

async fn disk_probe(dir: &std::path::Path, max_writes: u64) -> Result<disk::DiskRate, String> {
    let dir = dir.to_path_buf();
    let shown = dir.display().to_string();
    let rate = tokio::task::spawn_blocking(move || disk::probe(&dir, max_writes, DISK_PROBE_TIME))
        .await
        .map_err(|e| format!("probe task: {e}"))?
        .map_err(|e| format!("in {shown}: {e}"))?;
    println!(
        "    disk probe in {shown}: {:.0} synchronous {} KiB writes/s ({})",
        rate.writes_per_sec(),
        disk::WRITE_BYTES / 1024,
        rate.best_method()
    );
    let methods: Vec<Value> = rate
        .methods
        .iter()
        .chain(rate.direct.iter())
        .map(|m| {
            json!({
                "method": m.method,
                "writes": m.writes,
                "secs": round3(m.secs),
                "writes_per_s": round3(m.per_sec()),
                "rounds_per_s": m.rounds.iter().map(|r| r.round()).collect::<Vec<_>>(),
            })
        })
        .collect();
    println!(
        "{}",
        json!({
            "bench": "cauda-load",
            "scenario": "disk-probe",
            "dir": shown,
            "write_bytes": disk::WRITE_BYTES,
            "writes_per_s": round3(rate.writes_per_sec()),
            "methods": methods,
        })
    );
    Ok(rate)
}

fn print_probe(when: &str, p: &disk::DiskRate) {
    let methods: Vec<String> = p
        .methods
        .iter()
        .chain(p.direct.iter())
        .map(|m| {
            let rounds: Vec<String> = m.rounds.iter().map(|r| format!("{r:.0}")).collect();
            format!(
                "{} {:.0}/s (rounds {})",
                m.method,
                m.per_sec(),
                rounds.join(", ")
            )
        })
        .collect();
    println!(
        "disk probe ({when}): {:.0} synchronous {} KiB writes/s; {}",
        p.writes_per_sec(),
        disk::WRITE_BYTES / 1024,
        methods.join("; ")
    );
}

/// The plans of `--targets`, in the order they run.
fn target_plans() -> Vec<Plan> {
    let send = |id, conns, groups| Plan::Send {
        id,
        conns,
        batch: false,
        groups,
        rate: None,
    };
    vec![
        send("send-1", 1, None),
        send("send", 8, None),
        send("send", 32, None),
        send("fifo-send", 8, Some(10)),
        Plan::Concurrent {
            id: "concurrent-roundtrip",
            producers: 8,
            consumers: 8,
        },
    ]
}

/// Runs the targets' scenarios; the disk probe right before and right after send-1.
async fn run_targets(
    ctx: &Arc<Ctx>,
    limits: &Limits,
    args: &Args,
    reports: &mut Vec<Report>,
    failures: &mut Vec<String>,
    probes: &mut Vec<(String, disk::DiskRate)>,
) {
    for plan in target_plans() {
        let first = matches!(plan, Plan::Send { conns: 1, .. });
        if !reports.is_empty() && args.settle_secs > 0 {
            println!("--- settling {} s ...", args.settle_secs);
            tokio::time::sleep(Duration::from_secs(args.settle_secs)).await;
        }
        if let (true, Some(dir)) = (first, &args.disk_probe_dir) {
            println!("--- disk probe before send-1 ...");
            match disk_probe(dir, args.disk_probe_writes).await {
                Ok(p) => probes.push(("before send-1".into(), p)),
                Err(e) => failures.push(format!("disk probe: {e}")),
            }
        }
        println!("--- running {} ...", plan.label());
        match execute(ctx, limits, args, &plan).await {
            Ok(r) => {
                emit(&r);
                reports.push(r);
            }
            Err(e) => {
                eprintln!("!!! {} FAILED: {e}", plan.label());
                failures.push(format!("{}: {e}", plan.label()));
            }
        }
        if let (true, Some(dir)) = (first, &args.disk_probe_dir) {
            println!("--- disk probe after send-1 ...");
            match disk_probe(dir, args.disk_probe_writes).await {
                Ok(p) => probes.push(("after send-1".into(), p)),
                Err(e) => failures.push(format!("disk probe: {e}")),
            }
        }
        if let (true, Some(null)) = (first, &args.null_endpoint) {
            match null_send1(ctx, limits, args, null).await {
                Ok(r) => {
                    emit(&r);
                    reports.push(r);
                }
                Err(e) => failures.push(format!("send-1 against the null server: {e}")),
            }
        }
    }
}

/// Send-1 against the null server at `endpoint`: the round trip of the client, the loopback
/// and hyper alone, with no server work.
async fn null_send1(
    ctx: &Arc<Ctx>,
    limits: &Limits,
    args: &Args,
    endpoint: &str,
) -> Result<Report, String> {
    let target = Target::parse(endpoint).map_err(|e| format!("endpoint {endpoint:?}: {e}"))?;
    let null = Arc::new(Ctx {
        target,
        signer: Signer {
            identity: ctx.signer.identity.clone(),
            region: ctx.signer.region.clone(),
        },
        protocol: ctx.protocol,
        body_bytes: ctx.body_bytes,
    });
    println!("--- running send-1 against the null server ...");
    let plan = Plan::Send {
        id: NULL_SEND1,
        conns: 1,
        batch: false,
        groups: None,
        rate: None,
    };
    let mut report = execute(&null, limits, args, &plan).await?;
    report.label = "send-1, null server (1 conn)".into();
    Ok(report)
}

/// The id of send-1 against the null server.
const NULL_SEND1: &str = "null-send-1";

/// The most a strict one-connection send can reach here: every request waits, in turn, for
/// a round trip that the null server answers at once (`null` per s) and one `O_DIRECT` write
/// (`direct` per s); a server that answers no faster than the null server cannot beat it.
fn print_send1_ceiling(null: f64, direct: f64, target: Option<f64>) {
    let ceiling = 1.0 / (1.0 / null + 1.0 / direct);
    let against = match target {
        Some(t) if ceiling < t => {
            format!("below the target of {t:.0}: not reachable on this machine")
        }
        Some(t) => format!("above the target of {t:.0}"),
        None => "no target without --disk-probe-dir".into(),
    };
    println!(
        "(send, 1 conn, this machine's ceiling: a null-server round trip ({:.1} µs, {null:.0}/s) plus one O_DIRECT write ({:.1} µs) = {ceiling:.0}/s, {against})",
        1e6 / null,
        1e6 / direct
    );
}

/// One target: what it is, the figure measured, and the bound it must reach.
struct TargetLine {
    what: String,
    measured: Option<f64>,
    target: Option<f64>,
    unit: &'static str,
}

/// Prints issue 16's durable-mode targets with the figures of this run: measured, target,
/// met or not. The 1-connection target is 90 % of the mean of the disk probes around send-1.
fn print_targets(reports: &[Report], probes: &[(String, disk::DiskRate)]) {
    let find = |id: &str, conns: usize, groups: Option<usize>| {
        reports
            .iter()
            .find(|r| {
                r.id == id
                    && r.connections == conns
                    && r.extra.get("groups").and_then(Value::as_u64) == groups.map(|g| g as u64)
                    && r.errors == 0
                    && r.stats.entry_errors == 0
            })
            .map(Report::msgs_per_s)
    };
    let disk = (!probes.is_empty())
        .then(|| probes.iter().map(|(_, p)| p.writes_per_sec()).sum::<f64>() / probes.len() as f64);
    let lines = [
        TargetLine {
            what: match disk {
                Some(d) => format!("send, 1 conn (≥ 90 % of the disk's {d:.0} writes/s)"),
                None => "send, 1 conn (≥ 90 % of the disk: no --disk-probe-dir)".into(),
            },
            measured: find("send-1", 1, None),
            target: disk.map(|d| 0.9 * d),
            unit: "msgs/s",
        },
        TargetLine {
            what: "send, 8 conns".into(),
            measured: find("send", 8, None),
            target: Some(25_000.0),
            unit: "msgs/s",
        },
        TargetLine {
            what: "send, 32 conns".into(),
            measured: find("send", 32, None),
            target: Some(35_000.0),
            unit: "msgs/s",
        },
        TargetLine {
            what: "FIFO send, 8 conns, 10 groups".into(),
            measured: find("fifo-send", 8, Some(10)),
            target: Some(25_000.0),
            unit: "msgs/s",
        },
        TargetLine {
            what: "round trip, 8 producers + 8 consumers".into(),
            measured: find("concurrent-roundtrip", 16, None),
            target: Some(18_000.0),
            unit: "msgs/s",
        },
    ];
    println!();
    println!("issue 16, durable strict mode targets (a figure with errors counts as not measured)");
    println!(
        "{:<58} {:>12} {:>12}  verdict",
        "target", "measured", "target"
    );
    println!("{}", "-".repeat(96));
    let mut met = 0;
    for l in &lines {
        let verdict = match (l.measured, l.target) {
            (Some(m), Some(t)) if m >= t => {
                met += 1;
                "met"
            }
            (Some(_), Some(_)) => "NOT met",
            _ => "not measured",
        };
        let show = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.0}"));
        println!(
            "{:<58} {:>12} {:>12}  {verdict} ({})",
            l.what,
            show(l.measured),
            show(l.target),
            l.unit
        );
    }
    println!("{met} of {} targets met", lines.len());
    let direct: Vec<f64> = probes
        .iter()
        .filter_map(|(_, p)| p.direct.as_ref().map(disk::MethodRate::per_sec))
        .collect();
    if let (false, Some(send1)) = (direct.is_empty(), lines[0].measured) {
        let mean = direct.iter().sum::<f64>() / direct.len() as f64;
        println!(
            "(send, 1 conn is {:.0} % of the disk's {mean:.0} O_DIRECT writes/s, which flush no drive cache, like cauda's own flush)",
            100.0 * send1 / mean
        );
        if let Some(null) = find(NULL_SEND1, 1, None) {
            print_send1_ceiling(null, mean, lines[0].target);
        }
    }
    println!(
        "{}",
        json!({
            "bench": "cauda-load",
            "scenario": "targets",
            "met": met,
            "of": lines.len(),
            "targets": lines.iter().map(|l| json!({
                "what": l.what,
                "measured": l.measured.map(round3),
                "target": l.target.map(round3),
            })).collect::<Vec<_>>(),
        })
    );
}
