//! Start-up as an operator sees it: the server listens before the store is recovered and
//! answers 503 until it is ready; start-up errors name what failed and what to do.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::TestServer;

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The status of `GET /health`, or `None` while nothing listens.
async fn health(addr: SocketAddr) -> Option<u16> {
    tokio::net::TcpStream::connect(addr).await.ok()?;
    Some(
        TestServer::connect(addr)
            .send("GET", "/health", &[], "", false)
            .await
            .status,
    )
}

#[tokio::test]
async fn health_is_503_until_the_store_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    // Holding the store keeps the server at its open step (it retries the lock for ~2 s).
    let held = cauda::store::SledStore::open(dir.path()).unwrap();
    let addr = free_addr();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cauda"))
        .args(["--bind", &addr.to_string()])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut starting = None;
    while Instant::now() < deadline {
        if let Some(status) = health(addr).await {
            starting = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(starting, Some(503), "/health before the store is open");
    let sqs = TestServer::connect(addr)
        .send(
            "POST",
            "/",
            &[("content-type", "application/x-www-form-urlencoded")],
            "Action=ListQueues",
            false,
        )
        .await;
    assert_eq!(sqs.status, 503, "{}", sqs.body);
    assert_eq!(sqs.query_code().as_deref(), Some("ServiceUnavailable"));
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ready = false;
    while Instant::now() < deadline && !ready {
        ready = health(addr).await == Some(200);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "/health never turned 200 once the store was free");
}

/// Runs the binary to its exit; its stderr and whether it failed.
fn run_to_exit(args: &[&str]) -> (String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_cauda"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (text, !out.status.success())
}

#[test]
fn a_taken_port_is_named_and_creates_no_data_dir() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("never-created");
    let (log, failed) = run_to_exit(&["--bind", &addr, "--data-dir", data.to_str().unwrap()]);
    assert!(failed, "{log}");
    assert!(log.contains(&format!("cannot listen on {addr}")), "{log}");
    assert!(log.contains("--bind"), "{log}");
    assert!(
        !data.exists(),
        "the data dir was created although the bind failed"
    );
}

#[test]
fn a_data_dir_that_cannot_be_created_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let data = file.join("data");
    let addr = free_addr().to_string();
    let (log, failed) = run_to_exit(&["--bind", &addr, "--data-dir", data.to_str().unwrap()]);
    assert!(failed, "{log}");
    assert!(
        log.contains(&format!(
            "cannot create the data directory {}",
            data.display()
        )),
        "{log}"
    );
    assert!(log.contains("--data-dir"), "{log}");
}
