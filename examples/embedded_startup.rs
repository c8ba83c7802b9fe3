//! How long an embedded cauda takes from `EmbeddedServer::start()` to its first answered request
//! (`GET /health` → 200), over 50 starts; prints p50, p90 and max. A measurement, not a test:
//!
//! ```text
//! cargo run --release --example embedded_startup
//! ```

#![allow(
    clippy::print_stdout,
    reason = "the example's output is its measurement"
)]

use std::time::{Duration, Instant};

use cauda::embed::EmbeddedServer;

const STARTS: usize = 50;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut times: Vec<Duration> = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        #[allow(
            clippy::disallowed_methods,
            reason = "this program measures wall-clock time"
        )]
        let started = Instant::now();
        let server = EmbeddedServer::start().await?;
        cauda::healthcheck::check(&format!("{}/health", server.endpoint())).await?;
        times.push(started.elapsed());
        server.stop().await;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "embedded start to first answered request, {STARTS} starts: p50 {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        ms(times[STARTS / 2]),
        ms(times[STARTS * 9 / 10]),
        ms(times[STARTS - 1]),
    );
    Ok(())
}
