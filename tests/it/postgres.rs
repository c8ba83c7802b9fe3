//! The postgres backend (issue 15, phase 1) driven by the Rust SDK: queues, send, receive,
//! change visibility and delete of standard queues, on one node and on two nodes over one
//! database. Each test has a database of its own on the cluster `CAUDA_TEST_DATABASE_URL`
//! names (`.ci/postgres start` prints one); without it every test here says it is skipped.

use std::time::Duration;

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

#[tokio::test]
async fn a_bad_database_url_stops_the_start_with_a_clear_error() {
    let e = cauda::start(<cauda::Config as clap::Parser>::parse_from([
        "cauda",
        "--bind",
        "127.0.0.1:0",
        "--backend",
        "postgres",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
    ]))
    .await
    .err()
    .expect("no database at port 1");
    let text = e.to_string();
    assert!(
        text.contains("--backend postgres: cannot connect to the database"),
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
