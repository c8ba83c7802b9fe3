//! Store faults through the real server: a failed store write or flush answers InternalFailure
//! (500) in the client's protocol while reads go on and the server recovers by itself; a real
//! full disk (a small tmpfs, where mounting is permitted); a damaged or newer data directory
//! refuses the start with what to do.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::harness::{sdk_failure, Raw, TestServer};
use cauda::store::{FaultyStore, MemoryStore, SledStore, Store, WriteBatch};

fn config(args: &[&str]) -> cauda::Config {
    let mut argv = vec!["cauda", "--bind", "127.0.0.1:0"];
    argv.extend(args);
    cauda::Config::parse_from(argv)
}

/// A server over `store`, and a client handle to it.
async fn serve(store: Arc<dyn Store>) -> (cauda::RunningServer, TestServer) {
    let server = cauda::server::start_with_store(config(&["--backend", "memory"]), store)
        .await
        .expect("server starts");
    let client = TestServer::connect(server.local_addr);
    (server, client)
}

/// Asserts a 500 InternalFailure in the Query protocol (a fault of the server: `Receiver`).
fn assert_query_internal(r: &Raw) {
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(
        r.query_code().as_deref(),
        Some("InternalFailure"),
        "{}",
        r.body
    );
    assert_eq!(r.xml("Type").as_deref(), Some("Receiver"), "{}", r.body);
}

/// Asserts a 500 InternalFailure in the JSON protocol.
fn assert_json_internal(r: &Raw) {
    assert_eq!(r.status, 500, "{}", r.body);
    let ty = r.json()["__type"].as_str().unwrap_or_default().to_string();
    assert!(ty.ends_with("InternalFailure"), "__type {ty}: {}", r.body);
    assert_eq!(
        r.header("x-amzn-query-error").as_deref(),
        Some("InternalFailure;Receiver"),
        "{}",
        r.body
    );
}

async fn visible_count(c: &TestServer, url: &str) -> String {
    let attrs = c
        .sdk()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("reads are served");
    attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_failed_write_answers_internal_failure_in_both_protocols_and_changes_nothing() {
    let store = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let (server, c) = serve(store.clone()).await;
    let sqs = c.sdk();
    let url = sqs
        .create_queue()
        .queue_name("faults")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.send_message()
        .queue_url(&url)
        .message_body("kept")
        .send()
        .await
        .unwrap();
    store.fail_every_write();

    let e = sdk_failure(
        sqs.send_message()
            .queue_url(&url)
            .message_body("lost")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((e.status, e.code.as_str()), (500, "InternalFailure"));
    let query = c
        .query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "lost"),
        ])
        .await;
    assert_query_internal(&query);
    let json = c
        .json(
            "CreateQueue",
            &serde_json::json!({ "QueueName": "never" }).to_string(),
        )
        .await;
    assert_json_internal(&json);
    let purge = c
        .query(&[("Action", "PurgeQueue"), ("QueueUrl", &url)])
        .await;
    assert_query_internal(&purge);

    // Reads go on, and show nothing of the failed requests.
    assert_eq!(visible_count(&c, &url).await, "1");
    let listed = sqs.list_queues().send().await.unwrap();
    assert_eq!(listed.queue_urls().len(), 1);
    assert!(store.failed_writes() >= 4);

    // Healed, the server needs no restart.
    store.heal();
    sqs.send_message()
        .queue_url(&url)
        .message_body("after")
        .send()
        .await
        .unwrap();
    assert_eq!(visible_count(&c, &url).await, "2");
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_flush_is_not_acknowledged() {
    // Strict durability (the default) on a store that says it is persistent: replies wait
    // for its flush.
    let store = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())).persistent());
    let (server, c) = serve(store.clone()).await;
    let sqs = c.sdk();
    let url = sqs
        .create_queue()
        .queue_name("unflushed")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    store.fail_flushes();
    let e = sdk_failure(
        sqs.send_message()
            .queue_url(&url)
            .message_body("not acknowledged")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((e.status, e.code.as_str()), (500, "InternalFailure"));
    let query = c
        .query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "not acknowledged either"),
        ])
        .await;
    assert_query_internal(&query);
    store.heal();
    sqs.send_message()
        .queue_url(&url)
        .message_body("acknowledged")
        .send()
        .await
        .unwrap();
    server.shutdown().await;
}

/// A tmpfs mounted on a temporary directory, unmounted on drop; `None` where mounting is not
/// permitted (the test then says it skipped).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.dir.path().join("ballast")).unwrap();
        let chunk = vec![1u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.path().join("ballast")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            // Lazily: sled may close its files a moment after the server stopped.
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A real full disk under a running server: sends answer InternalFailure, reads go on, and
/// once space is freed sends succeed again without a restart; every acknowledged message is
/// there after a restart.
#[tokio::test]
async fn a_full_disk_fails_writes_until_space_is_freed() {
    let Some(disk) = SmallDisk::mount("40m") else {
        return;
    };
    let data = disk.dir.path().join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let args = ["--backend", "sled", "--data-dir", &data_arg];
    let server = cauda::start(config(&args)).await.expect("server starts");
    let c = TestServer::connect(server.local_addr);
    let sqs = c.sdk();
    let url = sqs
        .create_queue()
        .queue_name("disk")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let send = |body: String| {
        let sqs = sqs.clone();
        let url = url.clone();
        async move {
            sqs.send_message()
                .queue_url(url)
                .message_body(body)
                .send()
                .await
        }
    };
    send("before".into()).await.unwrap();
    disk.fill();
    let mut acknowledged = 1;
    let e = sdk_failure(send("full".into()).await.unwrap_err());
    assert_eq!((e.status, e.code.as_str()), (500, "InternalFailure"));
    // Reads go on.
    assert!(!visible_count(&c, &url).await.is_empty());

    disk.free();
    let started = Instant::now();
    loop {
        match send("after".into()).await {
            Ok(_) => break,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "sends still fail after space was freed: {e:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    acknowledged += 1;
    server.shutdown().await;

    let server = cauda::start(config(&args)).await.expect("server restarts");
    let c = TestServer::connect(server.local_addr);
    let count: usize = visible_count(&c, &url).await.parse().unwrap();
    // Nothing acknowledged is lost. The failed send was not acknowledged: each of the SDK's
    // 3 attempts may or may not have been kept (it reached memory; its flush failed).
    assert!(
        (acknowledged..=acknowledged + 3).contains(&count),
        "{count} messages after the restart, {acknowledged} acknowledged"
    );
    server.shutdown().await;
}

/// A damaged journal and a newer format refuse the start, saying what to do.
#[tokio::test]
async fn a_damaged_or_newer_data_directory_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().into_owned();
    let args = ["--backend", "sled", "--data-dir", &data];
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut b = WriteBatch::new();
        b.put(b"qx".to_vec(), b"value".to_vec());
        store.apply(b).unwrap();
        store.flush().unwrap();
    }
    {
        let db = sled::open(dir.path()).unwrap();
        let journal = db.open_tree("journal").unwrap();
        let (k, v) = journal.last().unwrap().unwrap();
        journal.insert(k, &v[..v.len() - 3]).unwrap();
        db.flush().unwrap();
    }
    let refused = cauda::start(config(&args)).await.err().expect("started");
    let message = refused.to_string();
    assert!(
        message.contains("is damaged") && message.contains("restore a backup"),
        "{message}"
    );

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().into_owned();
    let args = ["--backend", "sled", "--data-dir", &data];
    drop(SledStore::open(dir.path()).unwrap());
    {
        let db = sled::open(dir.path()).unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert("format", &99u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let refused = cauda::start(config(&args)).await.err().expect("started");
    let message = refused.to_string();
    assert!(
        message.contains("format version 99") && message.contains("newer cauda"),
        "{message}"
    );
}
