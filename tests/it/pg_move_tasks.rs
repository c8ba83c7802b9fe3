//! Message move tasks over the postgres backend with two real server processes over one
//! database: a task started on node A is listed on node B, and after A is SIGKILLed it
//! completes on B once A's lease has expired, each message in the destination exactly once;
//! a cancel on node B stops the task running on node A; a node stopped gracefully gives its
//! lease up, so the other takes the task over before the lease would expire. Each test has a database of its own
//! on the cluster `CAUDA_TEST_DATABASE_URL` names; without it each test says it is skipped.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::crash::{dirs, Dirs, Proc};
use crate::harness::{unique, TestServer};
use crate::messages::{counts, create_queue, queue_arn, receive, set_attrs};
use crate::process::move_tasks;

const VAR: &str = "CAUDA_TEST_DATABASE_URL";
/// Messages in the dead-letter queue, moved at [`RATE`] a second: about 5 s of work.
const N: usize = 50;
const RATE: i32 = 10;
/// Node A's lease of the task (seconds): short, so that B takes over soon after the kill.
const LEASE_SECS: &str = "2";

/// A fresh database's URL, or `None` after saying why the test is skipped.
async fn fresh_database(test: &str) -> Option<String> {
    if std::env::var(VAR).is_err() {
        eprintln!(
            "SKIPPED pg_move_tasks::{test}: {VAR} is unset (run `.ci/postgres start` and export \
             the URL it prints to test the postgres backend)"
        );
        return None;
    }
    Some(crate::harness::fresh_postgres_database().await)
}

/// A cauda process on `db`, its log in `d`, with a [`LEASE_SECS`] lease.
async fn node(db: &str, d: &Dirs) -> Proc {
    node_with_lease(db, d, LEASE_SECS).await
}

/// A cauda process on `db`, its log in `d`, leasing tasks for `lease_secs`.
async fn node_with_lease(db: &str, d: &Dirs, lease_secs: &str) -> Proc {
    let args = [
        "--backend",
        "postgres",
        "--database-url",
        db,
        "--move-task-lease-secs",
        lease_secs,
    ];
    Proc::spawn(&args, &[], &d.log).await
}

/// The URL of queue `name` on node `s` (a queue another node created is found at once: a
/// lookup that misses reads the database).
async fn url_on(s: &TestServer, name: &str) -> String {
    s.sdk()
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .expect("the queue, found through the database")
        .queue_url
        .unwrap()
}

/// Queues made on node `a`: a source redriving to a dead-letter queue holding [`N`] messages,
/// and a destination. Returns the DLQ's and destination's names, their ARNs, and the bodies.
struct Setup {
    dlq: String,
    dest: String,
    dlq_arn: String,
    dest_arn: String,
    bodies: Vec<String>,
}

async fn setup(a: &TestServer) -> Setup {
    let (src, dlq, dest) = (unique("pgmt-src"), unique("pgmt-dlq"), unique("pgmt-dest"));
    let src_url = create_queue(a, &src, &[]).await;
    let dlq_url = create_queue(a, &dlq, &[]).await;
    let dest_url = create_queue(a, &dest, &[]).await;
    let (dlq_arn, dest_arn) = (queue_arn(a, &dlq_url).await, queue_arn(a, &dest_url).await);
    set_attrs(
        a,
        &src_url,
        &[(
            "RedrivePolicy",
            &format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}"#),
        )],
    )
    .await;
    let bodies: Vec<String> = (0..N).map(|i| format!("pg-moved-{i}")).collect();
    let items: Vec<(String, Option<String>)> = bodies.iter().map(|b| (b.clone(), None)).collect();
    crate::concurrency::send_batches(&a.sdk(), &dlq_url, &items).await;
    assert_eq!(counts(a, &dlq_url).await, (N as u64, 0, 0));
    Setup {
        dlq,
        dest,
        dlq_arn,
        dest_arn,
        bodies,
    }
}

/// Starts the slow task on node `a`; returns its handle.
async fn start_task(a: &TestServer, st: &Setup) -> String {
    a.sdk()
        .start_message_move_task()
        .source_arn(&st.dlq_arn)
        .destination_arn(&st.dest_arn)
        .max_number_of_messages_per_second(RATE)
        .send()
        .await
        .expect("start move task")
        .task_handle
        .unwrap()
}

/// Waits until node `s` lists the one task of `source_arn` RUNNING with at least `moved`
/// messages moved; returns the number listed.
async fn wait_running(s: &TestServer, source_arn: &str, moved: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = move_tasks(s, source_arn).await;
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].status(), Some("RUNNING"), "{t:?}");
        assert!(
            t[0].task_handle().is_some(),
            "a running task shows its handle"
        );
        if t[0].approximate_number_of_messages_moved() >= moved {
            return t[0].approximate_number_of_messages_moved();
        }
        assert!(Instant::now() < deadline, "the task does not move: {t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Receives (and deletes) every message of `url` on `s`: (MessageId, body) pairs.
async fn drain_all(s: &TestServer, url: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = receive(s, url, 10, 0, Some(600)).await;
        if got.is_empty() {
            return out;
        }
        for m in &got {
            out.push((
                m.message_id().unwrap().to_string(),
                m.body().unwrap().to_string(),
            ));
            crate::messages::delete(s, url, m).await;
        }
        assert!(Instant::now() < deadline, "draining {url} is too slow");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_of_a_killed_node_completes_on_the_other_exactly_once() {
    let test = "a_task_of_a_killed_node_completes_on_the_other_exactly_once";
    let Some(db) = fresh_database(test).await else {
        return;
    };
    let started = Instant::now();
    let (da, db_dirs) = (dirs(), dirs());
    let mut node_a = node(&db, &da).await;
    let node_b = node(&db, &db_dirs).await;
    let (a, b) = (node_a.client(), node_b.client());
    let st = setup(&a).await;
    let dlq_on_b = url_on(&b, &st.dlq).await;
    let dest_on_b = url_on(&b, &st.dest).await;

    start_task(&a, &st).await;
    // Node B sees the task that node A runs.
    let t = move_tasks(&b, &st.dlq_arn).await;
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0].status(), Some("RUNNING"));
    assert_eq!(
        t[0].approximate_number_of_messages_to_move(),
        Some(N as i64)
    );
    let before_kill = wait_running(&b, &st.dlq_arn, 10).await;
    node_a.kill();
    let killed_at = Instant::now();
    assert!(
        before_kill < N as i64,
        "the task ended before the kill: {before_kill}"
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let t = move_tasks(&b, &st.dlq_arn).await;
        assert_eq!(t.len(), 1, "{t:?}");
        if t[0].status() != Some("RUNNING") {
            break t[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the task is not completed on node B: {:?}",
            t[0]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let completed_after = killed_at.elapsed();
    assert_eq!(done.status(), Some("COMPLETED"), "{done:?}");
    assert_eq!(done.approximate_number_of_messages_moved(), N as i64);
    assert_eq!(
        done.approximate_number_of_messages_to_move(),
        Some(N as i64)
    );
    assert!(done.failure_reason().is_none(), "{done:?}");
    let log_b = std::fs::read_to_string(&db_dirs.log).unwrap_or_default();
    assert!(
        log_b.contains("resuming message move task"),
        "node B took the task over; its log:\n{log_b}"
    );

    assert_eq!(counts(&b, &dlq_on_b).await, (0, 0, 0), "left in the DLQ");
    assert_eq!(counts(&b, &dest_on_b).await, (N as u64, 0, 0));
    let got = drain_all(&b, &dest_on_b).await;
    assert_eq!(got.len(), N, "messages in the destination");
    let ids: HashSet<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), N, "each MessageId once");
    let mut bodies: Vec<String> = got.into_iter().map(|(_, b)| b).collect();
    bodies.sort();
    let mut want = st.bodies.clone();
    want.sort();
    assert_eq!(bodies, want, "each message exactly once");
    eprintln!(
        "pg move task takeover: {before_kill} of {N} moved on node A before its SIGKILL; \
         completed on node B {completed_after:?} after it ({:?} in all)",
        started.elapsed()
    );
    node_b.stop_gracefully().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_on_one_node_stops_the_task_running_on_the_other() {
    let test = "a_cancel_on_one_node_stops_the_task_running_on_the_other";
    let Some(db) = fresh_database(test).await else {
        return;
    };
    let (da, db_dirs) = (dirs(), dirs());
    let node_a = node(&db, &da).await;
    let node_b = node(&db, &db_dirs).await;
    let (a, b) = (node_a.client(), node_b.client());
    let st = setup(&a).await;
    let dlq_on_b = url_on(&b, &st.dlq).await;
    let dest_on_b = url_on(&b, &st.dest).await;

    let handle = start_task(&a, &st).await;
    wait_running(&b, &st.dlq_arn, 3).await;
    let out = b
        .sdk()
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .expect("cancel on node B");
    let at_cancel = out.approximate_number_of_messages_moved();
    assert!(
        (3..N as i64).contains(&at_cancel),
        "moved {at_cancel} at the cancel"
    );
    // Both nodes list it CANCELLED, without a handle.
    for s in [&a, &b] {
        let t = move_tasks(s, &st.dlq_arn).await;
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].status(), Some("CANCELLED"), "{t:?}");
        assert!(t[0].task_handle().is_none());
    }
    // Node A's runner sees the cancel at its next move: nothing moves any more. At 10 a
    // second, 2 s would have moved about 20 more.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = move_tasks(&b, &st.dlq_arn).await.remove(0);
    assert_eq!(t.status(), Some("CANCELLED"));
    assert_eq!(
        t.approximate_number_of_messages_moved(),
        at_cancel,
        "progress after the cancel"
    );
    let (in_dlq, _, _) = counts(&b, &dlq_on_b).await;
    let (in_dest, _, _) = counts(&b, &dest_on_b).await;
    assert_eq!(in_dest as i64, at_cancel, "moved after the cancel");
    assert_eq!(in_dlq + in_dest, N as u64, "every message in one queue");
    let log_a = std::fs::read_to_string(&da.log).unwrap_or_default();
    assert!(
        !log_a.contains("ERROR"),
        "node A's log has errors:\n{log_a}"
    );
    // A new task may start on node B now; it is listed first on node A.
    let h2 = start_task(&b, &st).await;
    let t = move_tasks(&a, &st.dlq_arn).await;
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(t[0].task_handle(), Some(h2.as_str()));
    b.sdk()
        .cancel_message_move_task()
        .task_handle(&h2)
        .send()
        .await
        .expect("cancel the second task");
    node_a.stop_gracefully().await;
    node_b.stop_gracefully().await;
}

/// A node stopped gracefully (SIGTERM) gives its lease up: the other node takes the task over
/// at its next look for tasks (every third of the lease, 10 s here), not once the 30 s lease
/// has expired (20–30 s after the last renewal, plus that look).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_gracefully_gives_its_task_up_before_the_lease_expires() {
    let test = "a_node_stopped_gracefully_gives_its_task_up_before_the_lease_expires";
    let Some(db) = fresh_database(test).await else {
        return;
    };
    let (da, db_dirs) = (dirs(), dirs());
    let node_a = node_with_lease(&db, &da, "30").await;
    let node_b = node_with_lease(&db, &db_dirs, "30").await;
    let (a, b) = (node_a.client(), node_b.client());
    let st = setup(&a).await;
    let dest_on_b = url_on(&b, &st.dest).await;
    start_task(&a, &st).await;
    wait_running(&b, &st.dlq_arn, 5).await;
    node_a.stop_gracefully().await;
    let stopped_at = Instant::now();
    let at_stop = move_tasks(&b, &st.dlq_arn).await[0].approximate_number_of_messages_moved();
    assert!(at_stop < N as i64, "the task ended before the stop");
    // Moving again on node B well before the lease could have expired.
    loop {
        let t = move_tasks(&b, &st.dlq_arn).await.remove(0);
        if t.approximate_number_of_messages_moved() > at_stop || t.status() != Some("RUNNING") {
            break;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(18),
            "node B has not taken the task over 18 s after node A stopped: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let taken_over_after = stopped_at.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let t = move_tasks(&b, &st.dlq_arn).await.remove(0);
        if t.status() != Some("RUNNING") {
            break t;
        }
        assert!(Instant::now() < deadline, "not completed on node B: {t:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done.status(), Some("COMPLETED"), "{done:?}");
    let got = drain_all(&b, &dest_on_b).await;
    let mut bodies: Vec<String> = got.into_iter().map(|(_, b)| b).collect();
    bodies.sort();
    let mut want = st.bodies.clone();
    want.sort();
    assert_eq!(bodies, want, "each message exactly once");
    eprintln!("pg move task: node B moving again {taken_over_after:?} after node A's SIGTERM");
    node_b.stop_gracefully().await;
}
