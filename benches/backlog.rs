//! The backlog benchmark (issue 16): one standard queue filled to `--messages` 256-byte
//! messages on the default (durable, strict) sled store, and what that costs.
//!
//! It starts the `cauda` binary built with it on a free loopback port over a fresh data dir
//! under `--dir` (default: the system's temporary directory), and measures, in order:
//! 1. ReceiveMessage latency (p50 / p99 over `--samples` receives of one message, each then
//!    deleted and replaced by a new send, so the depth stays put) at depth 10,000;
//! 2. the fill to `--messages` (SendMessageBatch of 10 on `--connections` connections; every
//!    send acknowledged after its flush, as the server's default durability does), the
//!    server's RSS before and after (RSS delta / messages = memory per queued message), and
//!    the data dir's size;
//! 3. the receive latency at that depth;
//! 4. a restart (SIGTERM, or SIGKILL with `--crash`, start again): the time from the start to
//!    `GET /health` 200 (readiness: recovery done), RSS then, and the depth the queue reports;
//! 5. with `--drain-refill`: every message received and deleted, the queue filled again, and
//!    the data dir's size after `--settle-secs` (space reclaimed or not).
//!
//! Every phase is bounded in time; the server is stopped and the data dir removed at the end.
//!
//! ```sh
//! cargo bench --bench backlog -- --messages 1000000 --drain-refill
//! ```
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the benchmark's output is its report"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the benchmark measures and signs in real time"
)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use clap::Parser;

#[path = "common/client.rs"]
#[allow(
    dead_code,
    reason = "the load benchmark's operations are not all used here"
)]
mod client;
#[path = "common/server.rs"]
#[allow(dead_code, reason = "the soak starts the built binary with `start`")]
mod server;
use client::*;
use server::{rss_kib, Server};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "backlog",
    about = "Backlog benchmark for cauda (loopback only)"
)]
struct Args {
    /// Messages to queue.
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Connections for the fill and the drain.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    #[arg(long, default_value_t = 256)]
    body_bytes: usize,
    /// Receives measured at each depth.
    #[arg(long, default_value_t = 2_000)]
    samples: usize,
    /// Where the data dir is made (check its free space first: ~500 bytes per message).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also drain the queue and fill it again, then measure the data dir.
    #[arg(long)]
    drain_refill: bool,
    /// Restart after a SIGKILL (a crash: the store is not closed, so its open replays its
    /// logs) instead of a SIGTERM.
    #[arg(long)]
    crash: bool,
    /// Seconds to wait before measuring the data dir after the refill.
    #[arg(long, default_value_t = 20)]
    settle_secs: u64,
    /// Extra server flags, space-separated.
    #[arg(long, default_value = "")]
    server_args: String,
    /// Keep the work dir (data dir and server log) at the end and print its path, for
    /// `--restart-only`.
    #[arg(long)]
    keep_data: bool,
    /// Only restart the server, `--restarts` times, over the work dir a `--keep-data` run left
    /// (no fill, no receives), and report each restart. sled's own open is short then (it
    /// scans only its log since the previous open): this compares the journal replay and the
    /// engine's recovery.
    #[arg(long)]
    restart_only: Option<PathBuf>,
    /// Restarts with `--restart-only`.
    #[arg(long, default_value_t = 4)]
    restarts: usize,
    /// `cauda` binaries taking turns, one per restart (A B A B ...), comma-separated; default
    /// the one built with the benchmark. Without `--restart-only` the first runs everything.
    #[arg(long, value_delimiter = ',')]
    server_bins: Vec<PathBuf>,
    /// Passed by `cargo bench`; without it (e.g. under `cargo test --benches`) nothing runs.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.bench {
        println!("backlog: run with `cargo bench --bench backlog` (nothing to do)");
        return ExitCode::SUCCESS;
    }
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let ran = match &args.restart_only {
        Some(work) => rt.block_on(restart_only(&args, work)),
        None => rt.block_on(run(&args)),
    };
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("!!! backlog failed: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("cauda-backlog-")
        .tempdir_in(&parent)
        .map_err(|e| format!("temp dir in {}: {e}", parent.display()))?;
    let data = work.path().join("data");
    let log = work.path().join("server.log");
    let bin = server_bins(args)[0].clone();
    let mut server = Server::start_bin(&bin, &data, &log, &args.server_args)?;
    server.wait_ready(Duration::from_secs(60)).await?;
    let ctx = context(&server, args)?;
    let url = {
        let mut conn = Conn::connect(&ctx).await?;
        let name = format!("backlog-{}", std::process::id());
        let enc = encode(
            ctx.protocol,
            &Op::CreateQueue {
                name: &name,
                fifo: false,
            },
        );
        let (body, _) = conn.call(&ctx, &enc).await.map_err(|e| e.to_string())?;
        std::fs::write(work.path().join(QUEUE_NAME_FILE), &name).map_err(|e| e.to_string())?;
        decode_queue_url(ctx.protocol, &body).map_err(|e| e.to_string())?
    };
    let body = "x".repeat(args.body_bytes);
    let idle_kib = rss_kib(server.pid()).unwrap_or(0);
    let first = 10_000.min(args.messages);
    fill(&ctx, &url, &body, first, args.connections).await?;
    let (p50_small, p99_small) = receive_latency(&ctx, &url, &body, args.samples).await?;
    println!(
        "depth {first}: receive p50 {:.3} ms p99 {:.3} ms",
        ms(p50_small),
        ms(p99_small)
    );

    let started = Instant::now();
    let stalls = fill(&ctx, &url, &body, args.messages - first, args.connections).await?;
    let fill_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let full_kib = rss_kib(server.pid()).unwrap_or(0);
    let per_message = (full_kib.saturating_sub(idle_kib) * 1024) as f64 / args.messages as f64;
    let disk_full = dir_bytes(&data);
    println!(
        "filled {} messages in {fill_secs:.1} s ({:.0}/s); RSS idle {:.1} MiB, full {:.1} MiB: \
         {per_message:.0} bytes per queued message; data dir {:.1} MiB; {}",
        args.messages,
        args.messages as f64 / fill_secs,
        kib_mib(idle_kib),
        kib_mib(full_kib),
        mib(disk_full),
        stalls.describe()
    );
    let (p50_deep, p99_deep) = receive_latency(&ctx, &url, &body, args.samples).await?;
    println!(
        "depth {}: receive p50 {:.3} ms p99 {:.3} ms ({:.2}× the p99 at {first})",
        args.messages,
        ms(p50_deep),
        ms(p99_deep),
        p99_deep.as_secs_f64() / p99_small.as_secs_f64().max(1e-9)
    );

    let stopping = Instant::now();
    if args.crash {
        server.kill()?;
        println!("killed (SIGKILL)");
    } else {
        server.stop(Duration::from_secs(300)).await?;
        println!(
            "stopped (SIGTERM to exit) in {:.2} s",
            stopping.elapsed().as_secs_f64()
        );
    }
    let log_from = std::fs::metadata(&log).map_or(0, |m| m.len());
    let started = Instant::now();
    let mut server = Server::start_bin(&bin, &data, &log, &args.server_args)?;
    server.wait_ready(Duration::from_secs(600)).await?;
    let recovery = started.elapsed();
    let recovered_kib = rss_kib(server.pid()).unwrap_or(0);
    let split = RecoverySplit::from_log(&log, log_from);
    for line in &split.lines {
        println!("  server: {line}");
    }
    println!("  {}", split.describe());
    let ctx = context(&server, args)?;
    let depth = depth(&ctx, &url).await?;
    println!(
        "restart: ready after {:.2} s, RSS {:.1} MiB, ApproximateNumberOfMessages {depth}",
        recovery.as_secs_f64(),
        kib_mib(recovered_kib)
    );
    if depth != args.messages {
        return Err(format!(
            "{} messages queued, {depth} after the restart",
            args.messages
        ));
    }
    let (p50_restarted, p99_restarted) = receive_latency(&ctx, &url, &body, args.samples).await?;
    println!(
        "depth {} after the restart: receive p50 {:.3} ms p99 {:.3} ms ({:.2}× the p99 at {first})",
        args.messages,
        ms(p50_restarted),
        ms(p99_restarted),
        p99_restarted.as_secs_f64() / p99_small.as_secs_f64().max(1e-9)
    );
    // Recovery's temporary memory, once freed, leaves the resident set only as the allocator
    // purges it: the RSS again, after those receives and a pause.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let settled_kib = rss_kib(server.pid()).unwrap_or(0);
    println!(
        "RSS after the restart's receives and 5 s: {:.1} MiB ({:.0} bytes per queued message \
         above idle)",
        kib_mib(settled_kib),
        (settled_kib.saturating_sub(idle_kib) * 1024) as f64 / args.messages as f64
    );
    let mut refilled_disk = None;
    if args.drain_refill {
        let started = Instant::now();
        let drained = drain(&ctx, &url, args.connections).await?;
        println!(
            "drained {drained} in {:.1} s; data dir {:.1} MiB",
            started.elapsed().as_secs_f64(),
            mib(dir_bytes(&data))
        );
        fill(&ctx, &url, &body, args.messages, args.connections).await?;
        tokio::time::sleep(Duration::from_secs(args.settle_secs)).await;
        let bytes = dir_bytes(&data);
        println!(
            "refilled {}; after {} s the data dir is {:.1} MiB ({:.2}× its size after the first fill)",
            args.messages,
            args.settle_secs,
            mib(bytes),
            bytes as f64 / disk_full.max(1) as f64
        );
        refilled_disk = Some(bytes);
    }
    print_targets(
        args.messages,
        [full_kib, recovered_kib, settled_kib],
        recovery,
        p99_small,
        [p99_deep, p99_restarted],
        refilled_disk.map(|b| (b, disk_full)),
    );
    let line = serde_json::json!({
        "messages": args.messages,
        "body_bytes": args.body_bytes,
        "fill_msgs_per_s": args.messages as f64 / fill_secs,
        "fill_slowest_batch_ms": ms(stalls.slowest),
        "fill_batches_over_50ms": stalls.slow,
        "rss_idle_kib": idle_kib,
        "rss_full_kib": full_kib,
        "bytes_per_message": per_message,
        "disk_full_bytes": disk_full,
        "receive_p50_ms_small": ms(p50_small),
        "receive_p99_ms_small": ms(p99_small),
        "receive_p50_ms_deep": ms(p50_deep),
        "receive_p99_ms_deep": ms(p99_deep),
        "recovery_s": recovery.as_secs_f64(),
        "receive_p50_ms_restarted": ms(p50_restarted),
        "receive_p99_ms_restarted": ms(p99_restarted),
        "rss_recovered_kib": recovered_kib,
        "rss_recovered_settled_kib": settled_kib,
        "disk_refilled_bytes": refilled_disk,
    });
    println!("{line}");
    server.stop(Duration::from_secs(300)).await?;
    if args.keep_data {
        let kept = work.keep();
        println!(
            "kept the work dir {} (data dir and server log): rerun with --restart-only {}",
            kept.display(),
            kept.display()
        );
    }
    Ok(())
}

/// The file of a kept work dir naming its queue.
const QUEUE_NAME_FILE: &str = "queue-name";

/// The binaries to run: `--server-bins`, or the `cauda` built with the benchmark.
fn server_bins(args: &Args) -> Vec<PathBuf> {
    if args.server_bins.is_empty() {
        vec![PathBuf::from(env!("CARGO_BIN_EXE_cauda"))]
    } else {
        args.server_bins.clone()
    }
}

/// Where one restart's time went, from the server's `store opened` and `store recovered`
/// lines (logged with `CAUDA_BENCH_RUST_LOG="warn,cauda::store::sled_store=info,cauda::engine::recovery=info"`).
#[derive(Default)]
struct RecoverySplit {
    lines: Vec<String>,
    sled_open_ms: Option<f64>,
    replay_ms: Option<f64>,
    /// From the `store opened` line to the `store recovered` line: the engine's recovery.
    engine_ms: Option<f64>,
}

impl RecoverySplit {
    /// The split of the start whose log lines follow byte `from` of `log`.
    fn from_log(log: &Path, from: u64) -> RecoverySplit {
        let text = std::fs::read(log).unwrap_or_default();
        let text = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
        let mut split = RecoverySplit::default();
        let mut opened_at = None;
        for line in text.lines() {
            if line.contains("store opened") {
                split.sled_open_ms = field(line, "sled_open_ms");
                split.replay_ms = field(line, "replay_ms");
                opened_at = timestamp(line);
            } else if line.contains("store recovered") {
                split.engine_ms = opened_at
                    .zip(timestamp(line))
                    .map(|(a, b)| (b - a).as_seconds_f64() * 1000.0);
            } else {
                continue;
            }
            split.lines.push(line.to_string());
        }
        split
    }

    fn describe(&self) -> String {
        let ms = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{:.2}", v / 1000.0));
        format!(
            "split: sled open {} s, journal replay {} s, engine recovery {} s",
            ms(self.sled_open_ms),
            ms(self.replay_ms),
            ms(self.engine_ms)
        )
    }
}

/// The number after `name=` in a log line.
fn field(line: &str, name: &str) -> Option<f64> {
    let at = line.find(&format!(" {name}="))? + name.len() + 2;
    line[at..].split_whitespace().next()?.parse().ok()
}

/// The RFC 3339 time a log line starts with.
fn timestamp(line: &str) -> Option<time::OffsetDateTime> {
    let first = line.split_whitespace().next()?;
    time::OffsetDateTime::parse(first, &time::format_description::well_known::Rfc3339).ok()
}

/// `--restart-only`: restarts over a kept work dir, binaries taking turns, each restart
/// reported, then the median and range per binary.
async fn restart_only(args: &Args, work: &Path) -> Result<(), String> {
    let data = work.join("data");
    let log = work.join("restarts.log");
    let name = std::fs::read_to_string(work.join(QUEUE_NAME_FILE))
        .map_err(|e| format!("{} is not a kept work dir: {e}", work.display()))?;
    let bins = server_bins(args);
    // Per binary: ready s, sled open, replay, engine, RSS at ready and 5 s later (MiB).
    let mut figures: Vec<Vec<[f64; 6]>> = vec![Vec::new(); bins.len()];
    for i in 0..args.restarts {
        let which = i % bins.len();
        let bin = &bins[which];
        let log_from = std::fs::metadata(&log).map_or(0, |m| m.len());
        let started = Instant::now();
        let mut server = Server::start_bin(bin, &data, &log, &args.server_args)?;
        server.wait_ready(Duration::from_secs(600)).await?;
        let ready = started.elapsed().as_secs_f64();
        let ready_kib = rss_kib(server.pid()).unwrap_or(0);
        let split = RecoverySplit::from_log(&log, log_from);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let settled_kib = rss_kib(server.pid()).unwrap_or(0);
        let ctx = context(&server, args)?;
        let url = {
            let mut conn = Conn::connect(&ctx).await?;
            let op = Op::CreateQueue {
                name: &name,
                fifo: false,
            };
            let (body, _) = call(&ctx, &mut conn, &op).await?;
            decode_queue_url(ctx.protocol, &body).map_err(|e| e.to_string())?
        };
        let depth = depth(&ctx, &url).await?;
        let stopping = Instant::now();
        server.stop(Duration::from_secs(300)).await?;
        println!(
            "restart {} ({}): ready after {ready:.2} s ({}), RSS {:.1} MiB at ready, {:.1} MiB \
             5 s later; ApproximateNumberOfMessages {depth}; stopped in {:.2} s",
            i + 1,
            bin_label(which, bin),
            split.describe(),
            kib_mib(ready_kib),
            kib_mib(settled_kib),
            stopping.elapsed().as_secs_f64()
        );
        let nan = |v: Option<f64>| v.map_or(f64::NAN, |v| v / 1000.0);
        figures[which].push([
            ready,
            nan(split.sled_open_ms),
            nan(split.replay_ms),
            nan(split.engine_ms),
            kib_mib(ready_kib),
            kib_mib(settled_kib),
        ]);
    }
    let names = [
        "ready s",
        "sled open s",
        "replay s",
        "engine s",
        "RSS at ready MiB",
        "RSS 5 s later MiB",
    ];
    for (which, runs) in figures.iter().enumerate() {
        println!(
            "{} over {} restarts, median (min-max):",
            bin_label(which, &bins[which]),
            runs.len()
        );
        for (col, name) in names.iter().enumerate() {
            let mut v: Vec<f64> = runs.iter().map(|r| r[col]).collect();
            v.sort_by(f64::total_cmp);
            if let (Some(lo), Some(hi)) = (v.first(), v.last()) {
                println!("  {name}: {:.2} ({lo:.2}-{hi:.2})", v[v.len() / 2]);
            }
        }
    }
    Ok(())
}

/// "A (path)", "B (path)", ... for the binaries taking turns.
fn bin_label(which: usize, bin: &Path) -> String {
    let letter = char::from(b'A' + (which % 26) as u8);
    format!("{letter} {}", bin.display())
}

/// Issue 16's backlog targets next to this run's figures. The RSS and recovery targets are
/// for 10,000,000 messages (recovery also for 1,000,000): a smaller run says what its rate
/// per message would come to at 10,000,000, which is an extrapolation, not a measurement.
fn print_targets(
    messages: u64,
    // Full, at readiness after the restart, settled after it.
    rss: [u64; 3],
    recovery: Duration,
    p99_small: Duration,
    p99_deep: [Duration; 2],
    disk: Option<(u64, u64)>,
) {
    const TEN_M: f64 = 10_000_000.0;
    let gb = |kib: u64| kib as f64 * 1024.0 / 1e9;
    let at_ten_m = |kib: u64| gb(kib) / messages as f64 * TEN_M;
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("targets (issue 16, backlog):");
    for (when, kib) in [
        "full",
        "at readiness after the restart",
        "settled after the restart",
    ]
    .into_iter()
    .zip(rss)
    {
        let rss = gb(kib);
        if messages >= 10_000_000 {
            println!(
                "  RSS at 10,000,000 < 3 GB ({when}): {rss:.2} GB: {}",
                verdict(rss < 3.0)
            );
        } else {
            println!(
                "  RSS at 10,000,000 < 3 GB ({when}): not measured; {rss:.2} GB at {messages}, \
                 {:.2} GB at this rate per message (extrapolated)",
                at_ten_m(kib)
            );
        }
    }
    let secs = recovery.as_secs_f64();
    match messages {
        1_000_000 => println!(
            "  recovery at 1,000,000 < 1.5 s: {secs:.2} s: {}",
            verdict(secs < 1.5)
        ),
        10_000_000 => println!(
            "  recovery at 10,000,000 < 10 s: {secs:.2} s: {}",
            verdict(secs < 10.0)
        ),
        _ => println!(
            "  recovery < 1.5 s at 1,000,000, < 10 s at 10,000,000: {secs:.2} s at {messages} \
             ({:.2} s at 10,000,000 if linear, extrapolated)",
            secs / messages as f64 * TEN_M
        ),
    }
    for (when, p99) in ["before the restart", "after the restart"]
        .iter()
        .zip(p99_deep)
    {
        let ratio = p99.as_secs_f64() / p99_small.as_secs_f64().max(1e-9);
        println!(
            "  receive p99 at depth within 2x of at 10,000 ({when}): {ratio:.2}x: {}",
            verdict(ratio <= 2.0)
        );
    }
    if let Some((refilled, first)) = disk {
        let ratio = refilled as f64 / first.max(1) as f64;
        println!(
            "  disk after drain and refill < 2x the live data (the data dir after the first \
             fill): {ratio:.2}x: {}",
            verdict(ratio < 2.0)
        );
    }
}

/// A client of `server` (each start has its own port).
fn context(server: &Server, args: &Args) -> Result<Arc<Ctx>, String> {
    Ok(Arc::new(Ctx {
        target: Target::parse(&format!("http://127.0.0.1:{}", server.port))?,
        signer: Signer {
            identity: Credentials::new("bench", "bench-secret", None, None, "cauda-backlog").into(),
            region: "us-east-1".into(),
        },
        protocol: Protocol::Json,
        body_bytes: args.body_bytes,
    }))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn kib_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn call(ctx: &Ctx, conn: &mut Conn, op: &Op<'_>) -> Result<(bytes::Bytes, Duration), String> {
    conn.call(ctx, &encode(ctx.protocol, op))
        .await
        .map_err(|e| format!("{}: {e}", op.action()))
}

/// Sends `count` messages in batches of 10 on `conns` connections.
async fn fill(
    ctx: &Arc<Ctx>,
    url: &str,
    body: &str,
    count: u64,
    conns: usize,
) -> Result<FillStalls, String> {
    let batches = Arc::new(AtomicU64::new(count.div_ceil(10)));
    let left = Arc::new(AtomicU64::new(count));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (ctx, url, body) = (ctx.clone(), url.to_string(), body.to_string());
        let (batches, left) = (batches.clone(), left.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(&ctx).await?;
            let deadline = Instant::now() + Duration::from_secs(3_600);
            let mut stalls = FillStalls::default();
            while batches
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
                .is_ok()
            {
                if Instant::now() > deadline {
                    return Err("the fill took over an hour".to_string());
                }
                let n = left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                        Some(l.saturating_sub(10))
                    })
                    .map_or(0, |l| l.min(10));
                let entries: Vec<(String, Option<String>)> =
                    (0..n).map(|_| (body.clone(), None)).collect();
                let sent = Instant::now();
                let (resp, _) = call(
                    &ctx,
                    &mut conn,
                    &Op::SendBatch {
                        url: &url,
                        entries: &entries,
                    },
                )
                .await?;
                stalls.count(sent.elapsed());
                let (ok, failed) = decode_batch(ctx.protocol, &resp, "SendMessageBatchResultEntry")
                    .map_err(|e| e.to_string())?;
                if failed > 0 || ok as u64 != n {
                    return Err(format!("SendMessageBatch: {ok} ok, {failed} failed"));
                }
            }
            Ok::<_, String>(stalls)
        }));
    }
    let mut stalls = FillStalls::default();
    for t in tasks {
        stalls.add(t.await.map_err(|e| e.to_string())??);
    }
    Ok(stalls)
}

/// The slowest SendMessageBatch calls of a fill: a pause of the server (a table growing under
/// a queue's lock, a flush held up) shows here, not in the fill's rate.
#[derive(Default)]
struct FillStalls {
    slowest: Duration,
    /// Calls that took over [`FillStalls::SLOW`].
    slow: u64,
}

impl FillStalls {
    const SLOW: Duration = Duration::from_millis(50);

    fn count(&mut self, took: Duration) {
        self.slowest = self.slowest.max(took);
        self.slow += u64::from(took > Self::SLOW);
    }

    fn add(&mut self, other: FillStalls) {
        self.slowest = self.slowest.max(other.slowest);
        self.slow += other.slow;
    }

    fn describe(&self) -> String {
        format!(
            "slowest SendMessageBatch {:.1} ms, {} over {} ms",
            ms(self.slowest),
            self.slow,
            Self::SLOW.as_millis()
        )
    }
}

/// ReceiveMessage latency (p50, p99) over `samples` receives of one message, each deleted
/// and replaced by a new send.
async fn receive_latency(
    ctx: &Ctx,
    url: &str,
    body: &str,
    samples: usize,
) -> Result<(Duration, Duration), String> {
    let mut conn = Conn::connect(ctx).await?;
    let mut times = Vec::with_capacity(samples);
    let deadline = Instant::now() + Duration::from_secs(600);
    while times.len() < samples && Instant::now() < deadline {
        let (resp, took) = call(ctx, &mut conn, &Op::Receive { url, max: 1 }).await?;
        times.push(took);
        let handles = decode_receipt_handles(ctx.protocol, &resp).map_err(|e| e.to_string())?;
        if handles.is_empty() {
            return Err("an empty receive from a full queue".into());
        }
        call(
            ctx,
            &mut conn,
            &Op::DeleteBatch {
                url,
                handles: &handles,
            },
        )
        .await?;
        call(
            ctx,
            &mut conn,
            &Op::Send {
                url,
                body,
                group: None,
            },
        )
        .await?;
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Ok((at(0.50), at(0.99)))
}

/// Receives (10 at a time) and deletes until the queue answers empty; the count drained.
async fn drain(ctx: &Arc<Ctx>, url: &str, conns: usize) -> Result<u64, String> {
    let drained = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (ctx, url, drained) = (ctx.clone(), url.to_string(), drained.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(&ctx).await?;
            let deadline = Instant::now() + Duration::from_secs(3_600);
            let mut empty = 0;
            while empty < 3 && Instant::now() < deadline {
                let (resp, _) = call(&ctx, &mut conn, &Op::Receive { url: &url, max: 10 }).await?;
                let handles =
                    decode_receipt_handles(ctx.protocol, &resp).map_err(|e| e.to_string())?;
                if handles.is_empty() {
                    empty += 1;
                    continue;
                }
                empty = 0;
                call(
                    &ctx,
                    &mut conn,
                    &Op::DeleteBatch {
                        url: &url,
                        handles: &handles,
                    },
                )
                .await?;
                drained.fetch_add(handles.len() as u64, Ordering::Relaxed);
            }
            Ok::<_, String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(drained.load(Ordering::Relaxed))
}

async fn depth(ctx: &Ctx, url: &str) -> Result<u64, String> {
    let mut conn = Conn::connect(ctx).await?;
    let (body, _) = call(ctx, &mut conn, &Op::GetDepth { url }).await?;
    decode_depth(ctx.protocol, &body).map_err(|e| e.to_string())
}

/// The bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
