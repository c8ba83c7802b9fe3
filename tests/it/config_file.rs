//! `--config cauda.toml` and `--queue`, through the real binary and the Rust SDK: declared
//! queues are there at start with their attributes, tags and dead-letter wiring; a second start
//! over the same data directory changes what the file changed and keeps messages; flags and
//! variables win over the file; every kind of bad file stops start-up with the file, the line
//! and the problem on stderr, before anything is created.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName as A;

use crate::crash::Proc;

const ACCOUNT: &str = "000000000000";

/// A temporary directory holding `cauda.toml` (with `text`), `data/` and the log.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(text: &str) -> Setup {
        let s = Setup {
            dir: tempfile::tempdir().unwrap(),
        };
        s.write(text);
        s
    }

    fn write(&self, text: &str) {
        std::fs::write(self.config(), text).unwrap();
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("cauda.toml")
    }

    fn config_str(&self) -> String {
        self.config().to_string_lossy().into_owned()
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("cauda.log")
    }

    /// The server over `data/` with `--config cauda.toml` and `extra` flags.
    async fn start(&self, extra: &[&str]) -> Proc {
        let (config, data) = (self.config_str(), self.data());
        let args = [
            &["--config", config.as_str(), "--data-dir", data.as_str()][..],
            extra,
        ]
        .concat();
        Proc::spawn(&args, &[("RUST_LOG", "info")], &self.log()).await
    }
}

/// Runs the binary with `args` (and `env`) expecting it to refuse to start: its exit status
/// (not success) and stderr. Panics if it is still running after 20 s.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cauda"))
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cauda");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "cauda started with {args:?}; stdout:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn url(sdk: &aws_sdk_sqs::Client, name: &str) -> String {
    sdk.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueUrl {name}: {e:?}"))
        .queue_url()
        .unwrap()
        .to_string()
}

async fn attributes(sdk: &aws_sdk_sqs::Client, url: &str) -> HashMap<A, String> {
    sdk.get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"))
        .attributes()
        .cloned()
        .unwrap_or_default()
}

async fn tags(sdk: &aws_sdk_sqs::Client, url: &str) -> HashMap<String, String> {
    sdk.list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .unwrap()
        .tags()
        .cloned()
        .unwrap_or_default()
}

async fn names(sdk: &aws_sdk_sqs::Client) -> Vec<String> {
    let mut names: Vec<String> = sdk
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn redrive(attrs: &HashMap<A, String>) -> serde_json::Value {
    serde_json::from_str(&attrs[&A::RedrivePolicy]).unwrap()
}

fn arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}")
}

const DECLARED: &str = r#"
[[queue]]
name = "orders.fifo"
attributes = { VisibilityTimeout = "60", ContentBasedDeduplication = true }
tags = { team = "payments", tier = 1 }
dead-letter = { queue = "orders-dlq.fifo", max-receive-count = 5 }

[[queue]]
name = "orders-dlq.fifo"
attributes = { MessageRetentionPeriod = 1209600 }

[[queue]]
name = "jobs"
attributes = { RedrivePolicy = '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs-dlq","maxReceiveCount":2}' }

[[queue]]
name = "jobs-dlq"

[[queue]]
name = "ping"
dead-letter = { queue = "pong", max-receive-count = 3 }

[[queue]]
name = "pong"
dead-letter = { queue = "ping", max-receive-count = 4 }
"#;

#[tokio::test]
async fn declared_queues_are_there_at_start_with_attributes_tags_and_dead_letters() {
    let s = Setup::new(DECLARED);
    let p = s.start(&[]).await;
    let sdk = p.client().sdk();
    assert_eq!(
        names(&sdk).await,
        [
            "jobs",
            "jobs-dlq",
            "orders-dlq.fifo",
            "orders.fifo",
            "ping",
            "pong"
        ]
    );

    let orders = url(&sdk, "orders.fifo").await;
    let a = attributes(&sdk, &orders).await;
    assert_eq!(a[&A::FifoQueue], "true");
    assert_eq!(a[&A::VisibilityTimeout], "60");
    assert_eq!(a[&A::ContentBasedDeduplication], "true");
    let policy = redrive(&a);
    assert_eq!(policy["deadLetterTargetArn"], arn("orders-dlq.fifo"));
    assert_eq!(policy["maxReceiveCount"], 5);
    let t = tags(&sdk, &orders).await;
    assert_eq!(t.get("team").map(String::as_str), Some("payments"));
    assert_eq!(t.get("tier").map(String::as_str), Some("1"));

    let dlq = url(&sdk, "orders-dlq.fifo").await;
    let a = attributes(&sdk, &dlq).await;
    assert_eq!(a[&A::MessageRetentionPeriod], "1209600");
    let sources = sdk
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap();
    assert_eq!(sources.queue_urls(), [orders.as_str()]);

    let jobs = url(&sdk, "jobs").await;
    let policy = redrive(&attributes(&sdk, &jobs).await);
    assert_eq!(policy["deadLetterTargetArn"], arn("jobs-dlq"));
    assert_eq!(policy["maxReceiveCount"], 2);

    // Two queues that are each other's dead-letter queue.
    let ping = redrive(&attributes(&sdk, &url(&sdk, "ping").await).await);
    let pong = redrive(&attributes(&sdk, &url(&sdk, "pong").await).await);
    assert_eq!(ping["deadLetterTargetArn"], arn("pong"));
    assert_eq!(pong["deadLetterTargetArn"], arn("ping"));

    // The dead-letter wiring works: a message received twice moves to jobs-dlq.
    sdk.send_message()
        .queue_url(&jobs)
        .message_body("poison")
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let got = sdk
            .receive_message()
            .queue_url(&jobs)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        assert_eq!(got.messages().len(), 1);
    }
    let past = sdk
        .receive_message()
        .queue_url(&jobs)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(past.messages().is_empty());
    let dead_now = sdk
        .receive_message()
        .queue_url(url(&sdk, "jobs-dlq").await)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap()
        .messages()
        .to_vec();
    assert_eq!(dead_now.len(), 1);
    assert_eq!(dead_now[0].body(), Some("poison"));
    p.stop_gracefully().await;
}

#[tokio::test]
async fn a_second_start_is_idempotent_keeps_messages_and_applies_changes() {
    let first = "[[queue]]\nname = \"work\"\nattributes = { VisibilityTimeout = 30 }\ntags = { owner = \"a\" }\n\n[[queue]]\nname = \"work.fifo\"\n";
    let s = Setup::new(first);
    let p = s.start(&[]).await;
    let sdk = p.client().sdk();
    let work = url(&sdk, "work").await;
    sdk.send_message()
        .queue_url(&work)
        .message_body("kept")
        .send()
        .await
        .unwrap();
    // A queue created by a client is not the file's business: it stays.
    sdk.create_queue().queue_name("extra").send().await.unwrap();
    let modified = attributes(&sdk, &work).await[&A::LastModifiedTimestamp].clone();
    p.stop_gracefully().await;

    // The same file again, a second later: nothing changes, not even LastModifiedTimestamp.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let p = s.start(&[]).await;
    let sdk = p.client().sdk();
    assert_eq!(names(&sdk).await, ["extra", "work", "work.fifo"]);
    let a = attributes(&sdk, &work).await;
    assert_eq!(a[&A::VisibilityTimeout], "30");
    assert_eq!(a[&A::LastModifiedTimestamp], modified);
    p.stop_gracefully().await;

    // A changed attribute and a new tag are applied; the message and the old tag are kept.
    s.write(
        &first
            .replace("30", "45")
            .replace("owner = \"a\"", "team = \"b\""),
    );
    let p = s.start(&[]).await;
    let sdk = p.client().sdk();
    assert_eq!(names(&sdk).await, ["extra", "work", "work.fifo"]);
    let a = attributes(&sdk, &work).await;
    assert_eq!(a[&A::VisibilityTimeout], "45");
    assert_eq!(a[&A::ApproximateNumberOfMessages], "1");
    let t = tags(&sdk, &work).await;
    assert_eq!(t.get("owner").map(String::as_str), Some("a"));
    assert_eq!(t.get("team").map(String::as_str), Some("b"));
    let got = sdk
        .receive_message()
        .queue_url(&work)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1);
    assert_eq!(got.messages()[0].body(), Some("kept"));
    p.stop_gracefully().await;

    let log = std::fs::read_to_string(s.log()).unwrap();
    let applied: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("declared queues applied"))
        .map(|l| l.rsplit_once("applied ").unwrap().1)
        .collect();
    assert_eq!(
        applied,
        [
            "created=2 updated=0",
            "created=0 updated=0",
            "created=0 updated=1"
        ]
    );
}

#[tokio::test]
async fn flags_and_variables_win_over_the_file() {
    // Proc passes --bind, which wins over the file's bind; --account-id wins over the file's;
    // CAUDA_REGION wins over the file's region; in-memory and data-dir come from the file.
    let s = Setup::new("");
    let file_data = s.dir.path().join("file-data");
    s.write(&format!(
        "bind = \"127.0.0.1:1\"\naccount-id = \"111111111111\"\nregion = \"eu-west-1\"\n\
         in-memory = true\ndata-dir = {:?}\n\n[[queue]]\nname = \"here\"\n",
        file_data.to_string_lossy()
    ));
    let config = s.config_str();
    let p = Proc::spawn(
        &["--config", &config, "--account-id", "222222222222"],
        &[("CAUDA_REGION", "ap-south-1")],
        &s.log(),
    )
    .await;
    let c = p.client();
    let sdk = c.sdk_in("ap-south-1");
    let here = url(&sdk, "here").await;
    assert_eq!(here, format!("{}/222222222222/here", c.endpoint));
    assert_eq!(
        attributes(&sdk, &here).await[&A::QueueArn],
        "arn:aws:sqs:ap-south-1:222222222222:here"
    );
    p.stop_gracefully().await;
    assert!(!file_data.exists(), "in-memory = true from the file");

    // CAUDA_IN_MEMORY=0 wins over the file's in-memory = true: the file's data-dir is used.
    let p = Proc::spawn(
        &["--config", &config],
        &[("CAUDA_IN_MEMORY", "0")],
        &s.log(),
    )
    .await;
    p.stop_gracefully().await;
    assert!(
        file_data.exists(),
        "the store was opened in the file's data-dir"
    );
}

#[tokio::test]
async fn queue_flags_and_the_environment_declare_queues() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cauda.log");
    let p = Proc::spawn(
        &[
            "--in-memory",
            "--queue",
            "jobs",
            "--queue",
            "jobs.fifo:ContentBasedDeduplication=true,VisibilityTimeout=60",
        ],
        &[],
        &log,
    )
    .await;
    let sdk = p.client().sdk();
    assert_eq!(names(&sdk).await, ["jobs", "jobs.fifo"]);
    let a = attributes(&sdk, &url(&sdk, "jobs.fifo").await).await;
    assert_eq!(a[&A::FifoQueue], "true");
    assert_eq!(a[&A::ContentBasedDeduplication], "true");
    assert_eq!(a[&A::VisibilityTimeout], "60");
    p.stop_gracefully().await;

    let p = Proc::spawn(
        &["--in-memory"],
        &[("CAUDA_QUEUES", "a\n  b:DelaySeconds=5 c.fifo")],
        &log,
    )
    .await;
    let sdk = p.client().sdk();
    assert_eq!(names(&sdk).await, ["a", "b", "c.fifo"]);
    let a = attributes(&sdk, &url(&sdk, "b").await).await;
    assert_eq!(a[&A::DelaySeconds], "5");
    p.stop_gracefully().await;

    let err = refused(
        &["--in-memory", "--queue", "x.fifo:VisibilityTimeout=99999"],
        &[],
    );
    assert!(
        err.contains(
            "--queue x.fifo:VisibilityTimeout=99999: queue \"x.fifo\": VisibilityTimeout = \"99999\": "
        ),
        "{err}"
    );
    let err = refused(&["--in-memory"], &[("CAUDA_QUEUES", "ok bad:Nope")]);
    assert!(
        err.contains("CAUDA_QUEUES (bad:Nope): \"Nope\" is not Attribute=value"),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_file_stops_start_up_with_the_file_line_and_problem() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "[[queue]]\nname = \"a\"\nvisibility = 3\n",
            3,
            "unknown field `visibility`",
        ),
        ("\ncolour = true\n", 2, "unknown key \"colour\""),
        (
            "bind = \"nonsense\"\n",
            1,
            "bind = \"nonsense\": expected IP:PORT",
        ),
        ("durability = \"eventually\"\n", 1, "expected one of strict, relaxed"),
        ("[[queue]]\nname = \"a\"\nattributes = { VisibilityTimeout = \"99999\" }\n",
            3,
            "queue \"a\": VisibilityTimeout = \"99999\": InvalidAttributeValue",
        ),
        (
            "[[queue]]\nname = \"a\"\nattributes = { NoSuchThing = \"1\" }\n",
            3,
            "queue \"a\": NoSuchThing = \"1\": InvalidAttributeName",
        ),
        (
            "[[queue]]\nname = \"a\"\ndead-letter = { queue = \"nowhere\", max-receive-count = 3 }\n",
            3,
            "queue \"a\": its dead-letter queue \"nowhere\" is not declared",
        ),
        (
            "[[queue]]\nname = \"a\"\nattributes = { RedrivePolicy = '{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:gone\",\"maxReceiveCount\":3}' }\n",
            3,
            "queue \"a\": RedrivePolicy names arn:aws:sqs:us-east-1:000000000000:gone, which is not a declared queue",
        ),
        (
            "[[queue]]\nname = \"a.fifo\"\nattributes = { FifoQueue = \"false\" }\n",
            3,
            "queue \"a.fifo\": FifoQueue = \"false\", but the name ends in .fifo",
        ),
        (
            "[[queue]]\nname = \"a.fifo\"\ndead-letter = { queue = \"dlq\", max-receive-count = 3 }\n[[queue]]\nname = \"dlq\"\n",
            3,
            "queue \"a.fifo\" is a FIFO queue, but its dead-letter queue \"dlq\" is a standard queue",
        ),
        (
            "[[queue]]\nname = \"a\"\n\n[[queue]]\nname = \"a\"\n",
            5,
            "queue \"a\" is declared twice",
        ),
        (
            "[[queue]]\nname = \"a\"\ndead-letter = { queue = \"a\", max-receive-count = 0 }\n",
            3,
            "queue \"a\": dead-letter: InvalidParameterValue",
        ),
        ("[[queue]\nname = \"a\"\n", 1, ""),
    ];
    for (text, line, problem) in cases {
        let s = Setup::new(text);
        let config = s.config_str();
        let data = s.data();
        let err = refused(&["--config", &config, "--data-dir", &data], &[]);
        let at = format!("cauda: {config}:{line}: ");
        assert!(err.starts_with(&at), "{text}\nexpected {at}…; got: {err}");
        assert!(
            err.contains(problem),
            "{text}\nexpected {problem}; got: {err}"
        );
    }

    // A missing file is named.
    let err = refused(&["--config", "/nonexistent/cauda.toml", "--in-memory"], &[]);
    assert!(err.starts_with("cauda: /nonexistent/cauda.toml: "), "{err}");
    // --config wins over CAUDA_CONFIG.
    let err = refused(
        &["--config", "/nonexistent/cauda.toml", "--in-memory"],
        &[("CAUDA_CONFIG", "/elsewhere.toml")],
    );
    assert!(err.contains("/nonexistent/cauda.toml"), "{err}");
}

#[tokio::test]
async fn a_refused_file_creates_nothing() {
    // The first queue is fine, the second is not: neither is created.
    let s = Setup::new(
        "[[queue]]\nname = \"fine\"\n\n[[queue]]\nname = \"broken\"\nattributes = { DelaySeconds = 901 }\n",
    );
    let (config, data) = (s.config_str(), s.data());
    let err = refused(&["--config", &config, "--data-dir", &data], &[]);
    assert!(
        err.contains(&format!("{config}:6: queue \"broken\": DelaySeconds")),
        "{err}"
    );
    let p = Proc::spawn(&["--data-dir", &data], &[], &s.log()).await;
    assert!(names(&p.client().sdk()).await.is_empty());
    p.stop_gracefully().await;
}
