//! The benches' server process (`soak` and `backlog`): the `cauda` binary built with them on a
//! free loopback port over a data dir, its readiness, SIGTERM and exit (or SIGKILL), its RSS.
//!
//! Included with `#[path = "common/server.rs"] mod server;`.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server child process; SIGKILLed if still running when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    pub(crate) fn start(data_dir: &Path, log: &Path, extra: &str) -> Result<Server, String> {
        Self::start_bin(Path::new(env!("CARGO_BIN_EXE_cauda")), data_dir, log, extra)
    }

    /// [`Server::start`] with another `cauda` binary (a before/after comparison).
    pub(crate) fn start_bin(
        bin: &Path,
        data_dir: &Path,
        log: &Path,
        extra: &str,
    ) -> Result<Server, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let logfile = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .args(["--bind", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .args(extra.split_whitespace())
            .env(
                "RUST_LOG",
                std::env::var("CAUDA_BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::from(logfile.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(logfile))
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        Ok(Server { child, port })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `GET /health` answers 200.
    pub(crate) async fn wait_ready(&mut self, bound: Duration) -> Result<(), String> {
        let end = Instant::now() + bound;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(format!("the server exited at start: {st}"));
            }
            if health(self.port) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(format!("no /health 200 within {bound:?}"))
    }

    /// SIGKILL (a crash: nothing is flushed or closed), and waits for the exit.
    pub(crate) fn kill(mut self) -> Result<(), String> {
        self.child.kill().map_err(|e| e.to_string())?;
        self.child.wait().map(drop).map_err(|e| e.to_string())
    }

    /// SIGTERM, then waits up to `bound` for exit status 0.
    pub(crate) async fn stop(mut self, bound: Duration) -> Result<(), String> {
        let pid = self.pid().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        if !matches!(sent, Ok(s) if s.success()) {
            return Err(format!("kill -TERM {pid}: {sent:?}"));
        }
        let end = Instant::now() + bound;
        loop {
            match self.child.try_wait() {
                Ok(Some(st)) if st.success() => return Ok(()),
                Ok(Some(st)) => return Err(format!("the server exited with {st} after SIGTERM")),
                Ok(None) if Instant::now() < end => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(None) => return Err(format!("no exit within {bound:?} of SIGTERM")),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One blocking `GET /health` (at start-up only).
fn health(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && &buf == b"HTTP/1.1 200"
}

/// VmRSS of `pid` in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
