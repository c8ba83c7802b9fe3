//! The postgres backend (issue 15, phase 1) driven by the Rust SDK: queues, send, receive,
//! change visibility and delete of standard queues, on one node and on two nodes over one
//! database. Each test has a database of its own on the cluster `CAUDA_TEST_DATABASE_URL`
//! names (`.ci/postgres start` prints one); without it every test here says it is skipped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, QueueAttributeName};
use tokio_postgres::NoTls;

use crate::harness::{unique, TestServer};
use crate::messages::expect_sdk_err;

const VAR: &str = "CAUDA_TEST_DATABASE_URL";

/// A fresh database's URL, or `None` after saying why the test is skipped.
async fn fresh_database(test: &str) -> Option<String> {
    if std::env::var(VAR).is_err() {
        eprintln!(
            "SKIPPED postgres::{test}: {VAR} is unset (run `.ci/postgres start` and export the \
             URL it prints to test the postgres backend)"
        );
        return None;
    }
    Some(crate::harness::fresh_postgres_database().await)
}

async fn start(url: &str) -> TestServer {
    TestServer::start_with(&["--backend", "postgres", "--database-url", url]).await
}

async fn counts(sdk: &aws_sdk_sqs::Client, url: &str) -> (String, String) {
    let attrs = sdk
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    (
        attrs[&QueueAttributeName::ApproximateNumberOfMessages].clone(),
        attrs[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible].clone(),
    )
}

#[tokio::test]
async fn a_standard_queue_sends_receives_and_deletes() {
    let Some(db) = fresh_database("a_standard_queue_sends_receives_and_deletes").await else {
        return;
    };
    let s = start(&db).await;
    let sdk = s.sdk();
    let name = unique("pg");
    let url = sdk
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    assert_eq!(
        sdk.get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap(),
        url
    );
    let listed = sdk
        .list_queues()
        .queue_name_prefix("pg")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.queue_urls(), std::slice::from_ref(&url));

    let sent = sdk
        .send_message()
        .queue_url(&url)
        .message_body("hello postgres")
        .send()
        .await
        .unwrap();
    for i in 0..3 {
        sdk.send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(counts(&sdk, &url).await, ("4".into(), "0".into()));

    let got = sdk
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let msgs = got.messages();
    assert_eq!(msgs.len(), 4, "every visible message in one receive");
    let first = msgs
        .iter()
        .find(|m| m.message_id() == sent.message_id())
        .expect("the first message is delivered");
    assert_eq!(first.body(), Some("hello postgres"));
    assert_eq!(first.md5_of_body(), sent.md5_of_message_body());
    assert_eq!(counts(&sdk, &url).await, ("0".into(), "4".into()));

    // In flight: nothing more to receive.
    let again = sdk.receive_message().queue_url(&url).send().await.unwrap();
    assert!(again.messages().is_empty());

    // Visibility 0 makes one visible again; its old handle stays good for a standard queue.
    let handle = first.receipt_handle().unwrap();
    sdk.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(handle)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let back = sdk.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(back.messages().len(), 1);
    assert_eq!(back.messages()[0].message_id(), sent.message_id());
    let attrs = sdk.receive_message().queue_url(&url).send().await.unwrap();
    assert!(attrs.messages().is_empty());

    // A handle of another queue is refused; a malformed one too.
    expect_sdk_err(
        sdk.delete_message()
            .queue_url(&url)
            .receipt_handle("not-a-handle")
            .send()
            .await,
        "ReceiptHandleIsInvalid",
        404,
    );
    sdk.delete_message()
        .queue_url(&url)
        .receipt_handle(back.messages()[0].receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    let entries: Vec<_> = msgs
        .iter()
        .filter(|m| m.message_id() != sent.message_id())
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap()
        })
        .collect();
    let deleted = sdk
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.successful().len(), 3);
    assert!(deleted.failed().is_empty());
    assert_eq!(counts(&sdk, &url).await, ("0".into(), "0".into()));

    sdk.delete_queue().queue_url(&url).send().await.unwrap();
    expect_sdk_err(
        sdk.get_queue_url().queue_name(&name).send().await,
        "AWS.SimpleQueueService.NonExistentQueue",
        400,
    );
    s.stop().await;
}

#[tokio::test]
async fn queues_and_messages_outlive_a_node_and_are_shared_by_two() {
    let Some(db) = fresh_database("queues_and_messages_outlive_a_node_and_are_shared_by_two").await
    else {
        return;
    };
    let a = start(&db).await;
    let name = unique("pg-shared");
    let url_a = a
        .sdk()
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for i in 0..20 {
        a.sdk()
            .send_message()
            .queue_url(&url_a)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    // Node B opens over the same database after the queue exists: it serves it too.
    let b = start(&db).await;
    let url_b = b.queue_url(&name);
    let (sa, sb) = (a.sdk(), b.sdk());
    let mut seen = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < 20 && tokio::time::Instant::now() < deadline {
        let (ra, rb) = tokio::join!(
            sa.receive_message()
                .queue_url(&url_a)
                .max_number_of_messages(3)
                .send(),
            sb.receive_message()
                .queue_url(&url_b)
                .max_number_of_messages(3)
                .send(),
        );
        for m in ra.unwrap().messages().iter().chain(rb.unwrap().messages()) {
            assert!(
                seen.insert(m.body().unwrap().to_string()),
                "{:?} delivered twice while in flight",
                m.body()
            );
        }
    }
    assert_eq!(
        seen.len(),
        20,
        "every message received once, across both nodes"
    );
    assert_eq!(counts(&sb, &url_b).await, ("0".into(), "20".into()));
    a.stop().await;
    b.stop().await;

    // A restarted node finds the queue and its messages in the database.
    let c = start(&db).await;
    assert_eq!(
        counts(&c.sdk(), &c.queue_url(&name)).await,
        ("0".into(), "20".into())
    );
    c.stop().await;
}

/// The error of a start over `--database-url url`.
async fn failed_start(url: &str) -> String {
    cauda::start(<cauda::Config as clap::Parser>::parse_from([
        "cauda",
        "--bind",
        "127.0.0.1:0",
        "--backend",
        "postgres",
        "--database-url",
        url,
    ]))
    .await
    .err()
    .expect("the start fails")
    .to_string()
}

#[tokio::test]
async fn a_bad_database_url_or_refused_credentials_stop_the_start_with_a_clear_error() {
    let text = failed_start("postgres://nobody@127.0.0.1:notaport/none").await;
    assert!(
        text.contains("--backend postgres: the database URL does not parse"),
        "{text}"
    );
    let Ok(cluster) = std::env::var(VAR) else {
        eprintln!("SKIPPED the refused-credentials half: {VAR} is unset");
        return;
    };
    // A role the cluster does not know: the server answers, and refuses (an operator's error,
    // not a database that is down).
    let config: tokio_postgres::Config = cluster.parse().unwrap();
    let port = config.get_ports()[0];
    let text = failed_start(&format!(
        "postgres://cauda_no_such_role@127.0.0.1:{port}/postgres"
    ))
    .await;
    assert!(
        text.contains("--backend postgres: cannot connect to the database")
            && text.contains("cauda_no_such_role"),
        "{text}"
    );
}

#[tokio::test]
async fn fifo_groups_deliver_in_order_across_two_nodes_with_deduplication() {
    let Some(db) =
        fresh_database("fifo_groups_deliver_in_order_across_two_nodes_with_deduplication").await
    else {
        return;
    };
    let a = start(&db).await;
    let name = format!("{}.fifo", unique("pg-fifo"));
    let url = a
        .sdk()
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let sa = a.sdk();
    let send = |group: String, i: usize| {
        let sdk = sa.clone();
        let url = url.clone();
        async move {
            sdk.send_message()
                .queue_url(&url)
                .message_group_id(&group)
                .message_deduplication_id(format!("{group}-{i}"))
                .message_body(format!("{group}:{i}"))
                .send()
                .await
                .unwrap()
        }
    };
    let first = send("g0".into(), 0).await;
    for g in 1..3 {
        send(format!("g{g}"), 0).await;
    }
    for i in 1..10 {
        for g in 0..3 {
            send(format!("g{g}"), i).await;
        }
    }
    // A resend of g0's first deduplication id is the first message again, not a new one.
    let again = send("g0".into(), 0).await;
    assert_eq!(again.message_id(), first.message_id());
    assert_eq!(again.sequence_number(), first.sequence_number());
    assert_eq!(counts(&sa, &url).await, ("30".into(), "0".into()));

    // While g0's head is in flight, nothing behind it in g0 is delivered.
    let head = sa
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(1)
        .send()
        .await
        .unwrap();
    assert_eq!(head.messages()[0].body(), Some("g0:0"));
    sa.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(head.messages()[0].receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();

    // Consumers on both nodes: each group's messages arrive in order, each once.
    let b = start(&db).await;
    let (sb, url_b) = (b.sdk(), b.queue_url(&name));
    let mut next = [0usize; 3];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while next.iter().sum::<usize>() < 30 && tokio::time::Instant::now() < deadline {
        let (ra, rb) = tokio::join!(
            sa.receive_message()
                .queue_url(&url)
                .max_number_of_messages(4)
                .send(),
            sb.receive_message()
                .queue_url(&url_b)
                .max_number_of_messages(4)
                .send(),
        );
        for (sdk, u, got) in [(&sa, &url, ra.unwrap()), (&sb, &url_b, rb.unwrap())] {
            for m in got.messages() {
                let (g, i) = m.body().unwrap().split_once(':').unwrap();
                let g: usize = g[1..].parse().unwrap();
                assert_eq!(
                    i.parse::<usize>().unwrap(),
                    next[g],
                    "group g{g} out of order"
                );
                next[g] += 1;
                sdk.delete_message()
                    .queue_url(u)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    assert_eq!(
        next,
        [10, 10, 10],
        "every message delivered once, in its group's order"
    );
    // The first receive's handle of g0:0 is stale now (received again since): refused.
    expect_sdk_err(
        sa.change_message_visibility()
            .queue_url(&url)
            .receipt_handle(head.messages()[0].receipt_handle().unwrap())
            .visibility_timeout(10)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_long_poll_on_one_node_wakes_at_a_send_on_the_other() {
    let Some(db) = fresh_database("a_long_poll_on_one_node_wakes_at_a_send_on_the_other").await
    else {
        return;
    };
    let (a, b) = (start(&db).await, start(&db).await);
    let name = unique("pg-wake");
    let url_a = a
        .sdk()
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let (sa, sb, url_b) = (a.sdk(), b.sdk(), b.queue_url(&name));
    wait_for_queue(&sb, &name, true).await;
    let waiting = tokio::spawn(async move {
        let got = sb
            .receive_message()
            .queue_url(&url_b)
            .wait_time_seconds(20)
            .send()
            .await
            .unwrap();
        (std::time::Instant::now(), got)
    });
    // Let the receive reach its wait first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = sa
        .send_message()
        .queue_url(&url_a)
        .message_body("wake up")
        .send()
        .await
        .unwrap();
    let acked = std::time::Instant::now();
    let (woke, got) = waiting.await.unwrap();
    assert_eq!(got.messages().len(), 1);
    assert_eq!(got.messages()[0].message_id(), sent.message_id());
    let latency = woke.saturating_duration_since(acked);
    eprintln!(
        "postgres: a long poll on node B woke {latency:?} after node A acknowledged the send"
    );
    // The fallback poll comes 2 s after the receive's last claim (at least 1.5 s after the
    // send): within 1 s, only the notification can have woken it.
    assert!(latency < Duration::from_secs(1), "woke after {latency:?}");
    a.stop().await;
    b.stop().await;
}

/// Waits (up to 20 s) until `sdk`'s node knows queue `name` (`exists`) or no longer does;
/// how long it took.
async fn wait_for_queue(sdk: &aws_sdk_sqs::Client, name: &str, exists: bool) -> Duration {
    let start = std::time::Instant::now();
    while sdk.get_queue_url().queue_name(name).send().await.is_ok() != exists {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "queue {name} exists={exists} never seen"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn a_queue_created_changed_or_deleted_on_one_node_is_so_on_the_other() {
    let Some(db) =
        fresh_database("a_queue_created_changed_or_deleted_on_one_node_is_so_on_the_other").await
    else {
        return;
    };
    let (a, b) = (start(&db).await, start(&db).await);
    let (sa, sb) = (a.sdk(), b.sdk());
    let name = unique("pg-registry");
    let url_a = sa
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let created = wait_for_queue(&sb, &name, true).await;
    let url_b = b.queue_url(&name);
    sa.set_queue_attributes()
        .queue_url(&url_a)
        .attributes(QueueAttributeName::VisibilityTimeout, "77")
        .send()
        .await
        .unwrap();
    let start_change = std::time::Instant::now();
    loop {
        let attrs = sb
            .get_queue_attributes()
            .queue_url(&url_b)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .unwrap();
        if attrs.attributes().unwrap()[&QueueAttributeName::VisibilityTimeout] == "77" {
            break;
        }
        assert!(
            start_change.elapsed() < Duration::from_secs(20),
            "the change never reached B"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let changed = start_change.elapsed();
    // A change made on B to the record A changed keeps A's change (the stored record is the
    // one edited, not B's copy).
    sb.tag_queue()
        .queue_url(&url_b)
        .tags("team", "b")
        .send()
        .await
        .unwrap();
    let attrs = sa
        .get_queue_attributes()
        .queue_url(&url_a)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs.attributes().unwrap()[&QueueAttributeName::VisibilityTimeout],
        "77"
    );
    sa.delete_queue().queue_url(&url_a).send().await.unwrap();
    let deleted = wait_for_queue(&sb, &name, false).await;
    eprintln!(
        "postgres: node B saw node A's CreateQueue after {created:?}, SetQueueAttributes after \
         {changed:?}, DeleteQueue after {deleted:?}"
    );
    a.stop().await;
    b.stop().await;
}

/// Ends every session of database `url`'s database but the caller's: the database seen as
/// lost by each node, which must reconnect.
async fn terminate_sessions(url: &str) -> u64 {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let name = config.get_dbname().unwrap().to_string();
    let admin: tokio_postgres::Config = std::env::var(VAR).unwrap().parse().unwrap();
    let (client, conn) = admin.connect(NoTls).await.unwrap();
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .await
        .unwrap();
    rows.len() as u64
}

#[tokio::test]
async fn nodes_recover_without_restart_when_their_database_sessions_are_lost() {
    let Some(db) =
        fresh_database("nodes_recover_without_restart_when_their_database_sessions_are_lost").await
    else {
        return;
    };
    let (a, b) = (start(&db).await, start(&db).await);
    let name = unique("pg-lost");
    let url_a = a
        .sdk()
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let (sa, sb, url_b) = (a.sdk(), b.sdk(), b.queue_url(&name));
    wait_for_queue(&sb, &name, true).await;
    sa.send_message()
        .queue_url(&url_a)
        .message_body("before")
        .send()
        .await
        .unwrap();
    let ended = terminate_sessions(&db).await;
    assert!(
        ended >= 4,
        "both nodes' pooled and LISTEN sessions ended ({ended})"
    );

    // Raw requests (no SDK retries): each is answered 200 or 500 InternalFailure, and the
    // node is back within a few.
    let body = format!(r#"{{"QueueUrl":"{url_a}","MessageBody":"after"}}"#);
    let mut statuses = Vec::new();
    loop {
        let r = a.json("SendMessage", &body).await;
        statuses.push(r.status);
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 500, "{}", r.body);
        assert!(r.body.contains("InternalFailure"), "{}", r.body);
        assert!(statuses.len() < 20, "node A never recovered: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("postgres: after the sessions ended, node A answered SendMessage with {statuses:?}");
    let got = sb
        .receive_message()
        .queue_url(&url_b)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let mut bodies: Vec<_> = got.messages().iter().filter_map(|m| m.body()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["after", "before"], "nothing acknowledged was lost");

    // B's LISTEN connection is back (it reconnects after 1 s): a send on A wakes B's poll.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let waiting = tokio::spawn(async move {
        let got = sb
            .receive_message()
            .queue_url(&url_b)
            .wait_time_seconds(20)
            .send()
            .await
            .unwrap();
        (std::time::Instant::now(), got.messages().len())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    sa.send_message()
        .queue_url(&url_a)
        .message_body("wake")
        .send()
        .await
        .unwrap();
    let acked = std::time::Instant::now();
    let (woke, n) = waiting.await.unwrap();
    assert_eq!(n, 1);
    let latency = woke.saturating_duration_since(acked);
    assert!(latency < Duration::from_secs(1), "woke after {latency:?}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue() {
    let Some(db) =
        fresh_database("a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue")
            .await
    else {
        return;
    };
    let s = start(&db).await;
    let sdk = s.sdk();
    let dlq_url = sdk
        .create_queue()
        .queue_name(unique("pg-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = sdk
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let url = sdk
        .create_queue()
        .queue_name(unique("pg-src"))
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}"#),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let sent = sdk
        .send_message()
        .queue_url(&url)
        .message_body("poison")
        .send()
        .await
        .unwrap();
    for n in 1..=2 {
        let got = sdk
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        assert_eq!(got.messages().len(), 1, "receive {n}");
        assert_eq!(got.messages()[0].message_id(), sent.message_id());
    }
    // The third receive finds it received twice: it moves instead of being delivered.
    let third = sdk.receive_message().queue_url(&url).send().await.unwrap();
    assert!(third.messages().is_empty());
    assert_eq!(counts(&sdk, &url).await, ("0".into(), "0".into()));
    assert_eq!(counts(&sdk, &dlq_url).await, ("1".into(), "0".into()));
    let moved = sdk
        .receive_message()
        .queue_url(&dlq_url)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let m = &moved.messages()[0];
    assert_eq!(m.message_id(), sent.message_id(), "the same message");
    assert_eq!(m.body(), Some("poison"));
    let attrs = m.attributes().unwrap();
    assert_eq!(
        attrs[&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount],
        "3",
        "its receive count goes on"
    );
    assert!(
        attrs[&aws_sdk_sqs::types::MessageSystemAttributeName::DeadLetterQueueSourceArn]
            .ends_with(url.rsplit('/').next().unwrap()),
        "{attrs:?}"
    );
    s.stop().await;
}

/// Ends the LISTEN sessions on database `url`'s database once both nodes listen: the nodes
/// hear nothing of each other until they reconnect (a second later); how many ended.
async fn end_listeners(url: &str) -> u64 {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let name = config.get_dbname().unwrap().to_string();
    let admin: tokio_postgres::Config = std::env::var(VAR).unwrap().parse().unwrap();
    let (client, conn) = admin.connect(NoTls).await.unwrap();
    tokio::spawn(conn);
    let listening = "datname = $1 AND query LIKE 'LISTEN%'";
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM pg_stat_activity WHERE {listening}"),
                &[&name],
            )
            .await
            .unwrap()
            .get(0);
        if n >= 2 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = client
        .query(
            &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {listening}"),
            &[&name],
        )
        .await
        .unwrap();
    rows.len() as u64
}

/// The path of a queue URL (`/account/name`): the same queue on any node.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest[rest.find('/').unwrap_or(rest.len())..].to_string()
}

#[tokio::test]
async fn a_queue_created_on_one_node_is_usable_on_the_other_at_once() {
    let Some(db) =
        fresh_database("a_queue_created_on_one_node_is_usable_on_the_other_at_once").await
    else {
        return;
    };
    let (a, b) = (start(&db).await, start(&db).await);
    let (sa, sb) = (a.sdk(), b.sdk());
    for round in 0..3 {
        // Without its LISTEN connection, node B can know of A's new queues only by reading
        // the queues table when its registry misses.
        let ended = end_listeners(&db).await;
        assert!(
            ended >= 2,
            "round {round}: both nodes' LISTEN sessions ({ended})"
        );
        let (named, used) = (unique("pg-at-once"), unique("pg-at-once"));
        let mut urls = Vec::new();
        for name in [&named, &used] {
            urls.push(
                sa.create_queue()
                    .queue_name(name)
                    .send()
                    .await
                    .unwrap()
                    .queue_url
                    .unwrap(),
            );
        }
        let got = sb
            .get_queue_url()
            .queue_name(&named)
            .send()
            .await
            .expect("GetQueueUrl on B right after CreateQueue on A");
        assert_eq!(path_of(got.queue_url().unwrap()), path_of(&urls[0]));
        // An action taking a QueueUrl, in the Query protocol (no GetQueueUrl first).
        let sent = b
            .query_at(
                &path_of(&urls[1]),
                &[("Action", "SendMessage"), ("MessageBody", "from B")],
            )
            .await;
        assert_eq!(sent.status, 200, "SendMessage on B: {}", sent.body);
        let received = sa
            .receive_message()
            .queue_url(&urls[1])
            .send()
            .await
            .unwrap();
        assert_eq!(received.messages().len(), 1);
        assert_eq!(received.messages()[0].body(), Some("from B"));
        // A RedrivePolicy on B naming a queue just created on A.
        let dlq = unique("pg-at-once-dlq");
        sa.create_queue().queue_name(&dlq).send().await.unwrap();
        let policy = format!(
            r#"{{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:{dlq}","maxReceiveCount":"3"}}"#
        );
        sb.create_queue()
            .queue_name(unique("pg-at-once-src"))
            .attributes(QueueAttributeName::RedrivePolicy, policy)
            .send()
            .await
            .expect("CreateQueue on B naming A's new queue as dead-letter queue");
    }
    // A queue no node has is still no queue.
    expect_sdk_err(
        sb.get_queue_url()
            .queue_name(unique("pg-never"))
            .send()
            .await,
        "AWS.SimpleQueueService.NonExistentQueue",
        400,
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn concurrent_create_queue_on_two_nodes_answers_as_for_an_existing_name() {
    let Some(db) =
        fresh_database("concurrent_create_queue_on_two_nodes_answers_as_for_an_existing_name")
            .await
    else {
        return;
    };
    let (a, b) = (start(&db).await, start(&db).await);
    let (sa, sb) = (a.sdk(), b.sdk());
    let create = |sdk: &aws_sdk_sqs::Client, name: &str, timeout: &str| {
        sdk.create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::VisibilityTimeout, timeout)
            .send()
    };
    for _ in 0..10 {
        // The same attributes: both get the one queue.
        let name = unique("pg-race");
        let (ra, rb) = tokio::join!(create(&sa, &name, "30"), create(&sb, &name, "30"));
        let (ua, ub) = (
            ra.unwrap().queue_url.unwrap(),
            rb.unwrap().queue_url.unwrap(),
        );
        assert_eq!(path_of(&ua), path_of(&ub));
        // Other attributes: one creates the queue, the other is refused as for an existing
        // name.
        let name = unique("pg-race");
        let (ra, rb) = tokio::join!(create(&sa, &name, "30"), create(&sb, &name, "31"));
        let (won, lost) = match (ra, rb) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            (ra, rb) => panic!("one CreateQueue wins: {ra:?} / {rb:?}"),
        };
        assert!(won.queue_url().unwrap().ends_with(&name));
        expect_sdk_err::<(), _>(Err(lost), "QueueAlreadyExists", 400);
    }
    let listed = sa
        .list_queues()
        .queue_name_prefix("pg-race")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.queue_urls().len(), 20, "one queue per name");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_queue_deleted_and_purge_cooldowns_hold_across_nodes() {
    let Some(db) = fresh_database("the_queue_deleted_and_purge_cooldowns_hold_across_nodes").await
    else {
        return;
    };
    let args = [
        "--backend",
        "postgres",
        "--database-url",
        &db,
        "--queue-deleted-cooldown-secs",
        "60",
    ];
    let (a, b) = (
        TestServer::start_with(&args).await,
        TestServer::start_with(&args).await,
    );
    let (sa, sb) = (a.sdk(), b.sdk());
    let name = unique("pg-cooldown");
    let url = sa
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sa.send_message()
        .queue_url(&url)
        .message_body("m")
        .send()
        .await
        .unwrap();
    sa.purge_queue().queue_url(&url).send().await.unwrap();
    expect_sdk_err(
        sb.purge_queue().queue_url(b.queue_url(&name)).send().await,
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        403,
    );
    // B has not heard of A's DeleteQueue (no LISTEN connection for a second): its DeleteQueue
    // finds no queue to delete, its CreateQueue the name deleted recently.
    end_listeners(&db).await;
    sa.delete_queue().queue_url(&url).send().await.unwrap();
    expect_sdk_err(
        sb.delete_queue().queue_url(b.queue_url(&name)).send().await,
        "AWS.SimpleQueueService.NonExistentQueue",
        400,
    );
    expect_sdk_err(
        sb.create_queue().queue_name(&name).send().await,
        "AWS.SimpleQueueService.QueueDeletedRecently",
        400,
    );
    expect_sdk_err(
        sa.create_queue().queue_name(&name).send().await,
        "AWS.SimpleQueueService.QueueDeletedRecently",
        400,
    );
    a.stop().await;
    b.stop().await;
}

/// Tests that stop and start their database make a cluster of their own under the directory
/// this names (with `.ci/postgres`, as root or as the postgres user): the cluster every other
/// test uses stays up.
const PG_DIR_VAR: &str = "CAUDA_TEST_PG_DIR";

/// A throwaway cluster of one test's own; stopped and removed when dropped.
struct OwnCluster {
    dir: PathBuf,
    url: String,
}

fn ci_postgres(args: &[&str]) -> String {
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/postgres"))
        .args(args)
        .output()
        .expect(".ci/postgres runs");
    assert!(
        out.status.success(),
        ".ci/postgres {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl OwnCluster {
    fn start(test: &str) -> Option<OwnCluster> {
        Self::start_with(test, &[])
    }

    /// [`OwnCluster::start`] with more arguments of `.ci/postgres start` (`--tls`).
    fn start_with(test: &str, args: &[&str]) -> Option<OwnCluster> {
        let Ok(base) = std::env::var(PG_DIR_VAR) else {
            eprintln!(
                "SKIPPED postgres::{test}: {PG_DIR_VAR} is unset (a directory where this test \
                 may start and stop a cluster of its own with .ci/postgres)"
            );
            return None;
        };
        let dir = PathBuf::from(base).join(unique(test));
        let mut start = vec!["start", dir.to_str().unwrap()];
        start.extend_from_slice(args);
        let url = ci_postgres(&start);
        Some(OwnCluster { dir, url })
    }

    /// The database down: its server stopped.
    fn pause(&self) {
        ci_postgres(&["pause", self.dir.to_str().unwrap()]);
    }

    /// The database back, at the same address.
    fn resume(&self) {
        ci_postgres(&["resume", self.dir.to_str().unwrap()]);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/postgres"))
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

/// A cauda process over `--database-url`; killed when dropped.
struct Node {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Node {
    /// Starts the binary and waits until it listens (not until it is ready).
    async fn spawn(url: &str) -> Node {
        Self::spawn_with(url, &[]).await
    }

    /// [`Node::spawn`] with more flags.
    async fn spawn_with(url: &str, args: &[&str]) -> Node {
        let logdir = tempfile::tempdir().unwrap();
        let log = logdir.path().join("cauda.log");
        let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_cauda"))
            .args(["--bind", &addr.to_string(), "--backend", "postgres"])
            .args(["--database-url", url])
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawn cauda");
        let mut node = Node {
            child,
            addr,
            log,
            _logdir: logdir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!("cauda exited ({status}):\n{}", node.log_text());
            }
            assert!(Instant::now() < deadline, "cauda never listened");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    fn client(&self) -> TestServer {
        TestServer::connect(self.addr)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /health`: status and body.
    async fn health(&self) -> (u16, String) {
        let r = self.client().send("GET", "/health", &[], "", false).await;
        (r.status, r.body)
    }

    /// Waits (up to `bound`) until `/health` answers `status`; how long it took.
    async fn wait_health(&self, status: u16, bound: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let (got, body) = self.health().await;
            if got == status {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < bound,
                "/health answered {got} {body} for {bound:?}, not {status}; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Asserts that an SQS request is answered 500 InternalFailure in both protocols.
    async fn assert_internal_failure(&self, queue_url: Option<&str>) {
        let c = self.client();
        let (json, query) = match queue_url {
            Some(url) => (
                c.json(
                    "SendMessage",
                    &format!(r#"{{"QueueUrl":"{url}","MessageBody":"meanwhile"}}"#),
                )
                .await,
                c.query_at(
                    &path_of(url),
                    &[("Action", "SendMessage"), ("MessageBody", "meanwhile")],
                )
                .await,
            ),
            None => (
                c.json("ListQueues", "{}").await,
                c.query(&[("Action", "ListQueues")]).await,
            ),
        };
        assert_eq!(json.status, 500, "{}", json.body);
        let ty = json.json()["__type"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(ty.ends_with("InternalFailure"), "{}", json.body);
        assert_eq!(query.status, 500, "{}", query.body);
        assert_eq!(
            query.query_code().as_deref(),
            Some("InternalFailure"),
            "{}",
            query.body
        );
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_node_whose_database_is_down_at_start_serves_once_it_is_up() {
    let Some(cluster) = OwnCluster::start("pg-down-at-start") else {
        return;
    };
    cluster.pause();
    let node = Node::spawn(&cluster.url).await;
    let (status, body) = node.health().await;
    assert_eq!(status, 503, "/health while the database is down: {body}");
    node.assert_internal_failure(None).await;
    node.assert_internal_failure(Some(&node.client().queue_url("q")))
        .await;
    let log = node.log_text();
    assert!(
        log.contains("the database does not answer") && log.contains("Connection refused"),
        "{log}"
    );

    cluster.resume();
    let took = node.wait_health(200, Duration::from_secs(30)).await;
    eprintln!("postgres: ready {took:?} after the database came up");
    round_trip(&node, "after-start").await;
    assert!(
        node.log_text().contains("postgres backend opened"),
        "{}",
        node.log_text()
    );
}

#[tokio::test]
async fn a_node_that_loses_its_database_answers_internal_failure_until_it_is_back() {
    let Some(cluster) = OwnCluster::start("pg-lost") else {
        return;
    };
    let node = Node::spawn(&cluster.url).await;
    node.wait_health(200, Duration::from_secs(30)).await;
    let sdk = node.client().sdk();
    let url = sdk
        .create_queue()
        .queue_name("lost")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sdk.send_message()
        .queue_url(&url)
        .message_body("before")
        .send()
        .await
        .unwrap();

    cluster.pause();
    // A request that needs the database fails at once; the node is marked not ready by it (when
    // it finds no connection) or by the next check (every 2 s); from then on every request,
    // even one the registry could answer, fails.
    node.assert_internal_failure(Some(&url)).await;
    let took = node.wait_health(503, Duration::from_secs(15)).await;
    eprintln!("postgres: /health 503 {took:?} after the database stopped");
    node.assert_internal_failure(None).await;
    let log = node.log_text();
    assert!(log.contains("the database is unreachable"), "{log}");

    cluster.resume();
    let took = node.wait_health(200, Duration::from_secs(30)).await;
    eprintln!("postgres: /health 200 {took:?} after the database came back");
    assert!(
        node.log_text().contains("the database answers again"),
        "{}",
        node.log_text()
    );
    sdk.send_message()
        .queue_url(&url)
        .message_body("after")
        .send()
        .await
        .unwrap();
    let got = sdk
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let mut bodies: Vec<_> = got.messages().iter().filter_map(|m| m.body()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["after", "before"], "nothing acknowledged was lost");
}

#[tokio::test]
async fn a_move_task_is_taken_over_by_a_node_whose_database_was_down_at_start() {
    let Some(cluster) = OwnCluster::start("pg-task-down") else {
        return;
    };
    let lease = ["--move-task-lease-secs", "2"];
    let mut first = Node::spawn_with(&cluster.url, &lease).await;
    first.wait_health(200, Duration::from_secs(30)).await;
    let sdk = first.client().sdk();
    let mut urls = Vec::new();
    for name in ["dlq", "src", "dest"] {
        let mut create = sdk.create_queue().queue_name(name);
        if name == "src" {
            create = create.attributes(
                QueueAttributeName::RedrivePolicy,
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"1"}"#,
            );
        }
        urls.push(create.send().await.unwrap().queue_url.unwrap());
    }
    for i in 0..4 {
        sdk.send_message()
            .queue_url(&urls[0])
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    let dlq_arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
    sdk.start_message_move_task()
        .source_arn(dlq_arn)
        .destination_arn("arn:aws:sqs:us-east-1:000000000000:dest")
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .unwrap();
    // The node running it dies, and the database goes down; a node starts meanwhile.
    let _ = first.child.kill();
    let _ = first.child.wait();
    cluster.pause();
    let second = Node::spawn_with(&cluster.url, &lease).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.resume();
    second.wait_health(200, Duration::from_secs(30)).await;
    // Once it serves (its registry loaded), it takes the task over and completes it.
    let sdk = second.client().sdk();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let listed = sdk
            .list_message_move_tasks()
            .source_arn(dlq_arn)
            .send()
            .await
            .unwrap();
        let status = listed.results()[0].status().unwrap_or_default().to_string();
        if status != "RUNNING" || Instant::now() > deadline {
            break (status, listed);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        status.0,
        "COMPLETED",
        "{:?}; log:\n{}",
        status.1,
        second.log_text()
    );
    let attrs = sdk
        .get_queue_attributes()
        .queue_url(second.client().queue_url("dest"))
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages],
        "4"
    );
}

/// A round trip through `node`: a queue, a send, a receive of that message.
async fn round_trip(node: &Node, queue: &str) {
    let sdk = node.client().sdk();
    let url = sdk
        .create_queue()
        .queue_name(queue)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sdk.send_message()
        .queue_url(&url)
        .message_body(queue)
        .send()
        .await
        .unwrap();
    let got = sdk.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(got.messages()[0].body(), Some(queue));
}

/// TLS to the database, on a cluster that takes TLS connections only (`.ci/postgres start
/// --tls`, a certificate for 127.0.0.1 signed by a throwaway CA): `sslmode=require` connects
/// encrypted without verifying the server, as libpq does; with the CA's certificate as
/// `--database-ca-file` the server is verified and the node serves; with a certificate that
/// did not sign the server's the node never opens: not ready, the cause in its log.
#[tokio::test]
async fn a_node_connects_over_tls_and_verifies_the_server_with_a_ca_file() {
    let Some(cluster) = OwnCluster::start_with("pg-tls", &["--tls"]) else {
        return;
    };
    let require = format!("{}?sslmode=require", cluster.url);
    let node = Node::spawn(&require).await;
    node.wait_health(200, Duration::from_secs(30)).await;
    round_trip(&node, "tls-encrypted").await;
    drop(node);

    let ca = cluster.dir.join("ca.crt");
    let node = Node::spawn_with(&require, &["--database-ca-file", ca.to_str().unwrap()]).await;
    node.wait_health(200, Duration::from_secs(30)).await;
    round_trip(&node, "tls-verified").await;
    drop(node);

    let other = tempfile::tempdir().unwrap();
    let other_ca = other.path().join("other.pem");
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(other.path().join("other.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let node = Node::spawn_with(
        &require,
        &["--database-ca-file", other_ca.to_str().unwrap()],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, body) = node.health().await;
    assert_eq!(status, 503, "/health with an untrusted server: {body}");
    let log = node.log_text();
    assert!(log.contains("certificate"), "{log}");
}
