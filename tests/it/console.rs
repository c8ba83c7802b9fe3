//! The web console's server side: its files and settings, served unsigned; the admin API's
//! per-queue counters and dead-letter target (the console's rates and badges); and the delete
//! of a message by its id, durable like DeleteMessage.

use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use serde_json::Value;

use crate::harness::{unique, TestServer, ACCESS_KEY, SECRET_KEY};

async fn create(s: &TestServer, name: &str) -> String {
    s.sdk()
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn send(s: &TestServer, url: &str, body: &str) -> String {
    s.sdk()
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap()
}

/// The admin listing's entry for `name`.
async fn listed(s: &TestServer, name: &str) -> Value {
    let r = s.send("GET", "/_cauda/queues", &[], "", true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not listed: {}", r.body))
}

async fn peeked_ids(s: &TestServer, name: &str) -> Vec<String> {
    let r = s
        .send(
            "GET",
            &format!("/_cauda/queues/000000000000/{name}/messages"),
            &[],
            "",
            true,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect()
}

async fn counts(s: &TestServer, url: &str) -> (String, String) {
    let a = s
        .sdk()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let a = a.attributes().unwrap();
    (
        a[&QueueAttributeName::ApproximateNumberOfMessages].clone(),
        a[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible].clone(),
    )
}

#[tokio::test]
async fn the_console_is_served_from_the_binary_without_a_signature() {
    let s = TestServer::start_with(&[
        "--auth",
        "strict",
        "--credentials",
        &format!("{ACCESS_KEY}:{SECRET_KEY}"),
    ])
    .await;
    for (path, content_type, holds) in [
        ("/_cauda/console", "text/html", "/_cauda/console/app.js"),
        ("/_cauda/console/", "text/html", "/_cauda/console/app.js"),
        ("/_cauda/console/app.js", "text/javascript", "import"),
        (
            "/_cauda/console/style.css",
            "text/css",
            "prefers-color-scheme",
        ),
        (
            "/_cauda/console/vendor/aws4fetch.esm.mjs",
            "text/javascript",
            "@license MIT",
        ),
    ] {
        let r = s.send("GET", path, &[], "", false).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(
            r.header("content-type").unwrap().starts_with(content_type),
            "{path}: {:?}",
            r.header("content-type")
        );
        assert!(r.body.contains(holds), "{path}");
    }
    let settings = s
        .send("GET", "/_cauda/console/settings.json", &[], "", false)
        .await;
    assert_eq!(settings.status, 200);
    assert_eq!(settings.json()["signatures_checked"], true);
    assert_eq!(settings.json()["region"], "us-east-1");
    let missing = s
        .send("GET", "/_cauda/console/nope.js", &[], "", false)
        .await;
    assert_eq!(missing.status, 404);
    // The page is open; the data behind it is not.
    let unsigned = s
        .send(
            "DELETE",
            "/_cauda/queues/000000000000/q/messages/x",
            &[],
            "",
            false,
        )
        .await;
    assert_eq!(unsigned.status, 403, "{}", unsigned.body);
    let home = s.send("GET", "/", &[], "", false).await;
    assert!(home.body.contains("href=/_cauda/console"), "{}", home.body);
    s.stop().await;

    let open = TestServer::start().await;
    let settings = open
        .send("GET", "/_cauda/console/settings.json", &[], "", false)
        .await;
    assert_eq!(settings.json()["signatures_checked"], false);
    open.stop().await;
}

#[tokio::test]
async fn the_listing_counts_messages_sent_and_received_and_names_the_dead_letter_queue() {
    let s = TestServer::start().await;
    let dlq_name = unique("console-dlq");
    create(&s, &dlq_name).await;
    let name = unique("console-counted");
    let url = create(&s, &name).await;
    let dlq_arn = format!("arn:aws:sqs:us-east-1:000000000000:{dlq_name}");
    s.sdk()
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":3}}"#),
        )
        .send()
        .await
        .unwrap();
    let before = listed(&s, &name).await;
    assert_eq!(
        (&before["sent"], &before["received"]),
        (&0.into(), &0.into())
    );
    send(&s, &url, "one").await;
    s.sdk()
        .send_message_batch()
        .queue_url(&url)
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("a")
                .message_body("two")
                .build()
                .unwrap(),
        )
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("b")
                .message_body("three")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let got = s
        .sdk()
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(2)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 2);
    // Peeking is not receiving.
    assert_eq!(peeked_ids(&s, &name).await.len(), 3);
    let after = listed(&s, &name).await;
    assert_eq!((&after["sent"], &after["received"]), (&3.into(), &2.into()));
    assert_eq!(after["dead_letter_target_arn"], dlq_arn.as_str());
    assert_eq!(after["max_receive_count"], 3);
    let dlq_listed = listed(&s, &dlq_name).await;
    assert_eq!(dlq_listed["dead_letter_target_arn"], Value::Null);
    assert_eq!(dlq_listed["sent"], 0);
    s.stop().await;
}

#[tokio::test]
async fn a_message_is_deleted_by_its_id_in_any_state() {
    let s = TestServer::start().await;
    let name = unique("console-delete");
    let url = create(&s, &name).await;
    let taken = send(&s, &url, "taken").await;
    let waiting = send(&s, &url, "waiting").await;
    let got = s
        .sdk()
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(300)
        .send()
        .await
        .unwrap();
    let handle = got.messages()[0].receipt_handle().unwrap().to_string();
    assert_eq!(got.messages()[0].message_id(), Some(taken.as_str()));
    assert_eq!(counts(&s, &url).await, ("1".into(), "1".into()));

    let path = |id: &str| format!("/_cauda/queues/000000000000/{name}/messages/{id}");
    let r = s.send("DELETE", &path(&taken), &[], "", true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["deleted"], taken.as_str());
    assert_eq!(peeked_ids(&s, &name).await, std::slice::from_ref(&waiting));
    assert_eq!(counts(&s, &url).await, ("1".into(), "0".into()));
    // Gone: a second delete finds nothing, the old receipt handle deletes nothing more.
    let again = s.send("DELETE", &path(&taken), &[], "", true).await;
    assert_eq!(again.status, 404, "{}", again.body);
    s.sdk()
        .delete_message()
        .queue_url(&url)
        .receipt_handle(handle)
        .send()
        .await
        .unwrap();

    let r = s.send("DELETE", &path(&waiting), &[], "", true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(counts(&s, &url).await, ("0".into(), "0".into()));
    let none = s
        .sdk()
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(none.messages().is_empty(), "{none:?}");

    let missing_queue = s
        .send(
            "DELETE",
            "/_cauda/queues/000000000000/no-such-queue/messages/x",
            &[],
            "",
            true,
        )
        .await;
    assert_eq!(missing_queue.status, 400, "{}", missing_queue.body);
    let not_a_route = s
        .send(
            "DELETE",
            &format!("/_cauda/queues/000000000000/{name}/messages"),
            &[],
            "",
            true,
        )
        .await;
    assert_eq!(not_a_route.status, 404, "{}", not_a_route.body);
    s.stop().await;
}

#[tokio::test]
async fn a_deleted_message_stays_deleted_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let s = TestServer::start_with(&["--data-dir", data]).await;
    let name = unique("console-durable");
    let url = create(&s, &name).await;
    let gone = send(&s, &url, "gone").await;
    let kept = send(&s, &url, "kept").await;
    let r = s
        .send(
            "DELETE",
            &format!("/_cauda/queues/000000000000/{name}/messages/{gone}"),
            &[],
            "",
            true,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop().await;

    let s = TestServer::start_with(&["--data-dir", data]).await;
    assert_eq!(peeked_ids(&s, &name).await, [kept]);
    assert_eq!(counts(&s, &url).await, ("1".into(), "0".into()));
    s.stop().await;
}

#[tokio::test]
async fn another_account_cannot_delete_by_id() {
    let s = TestServer::start_with(&[
        "--auth",
        "strict",
        "--credentials",
        &format!("{ACCESS_KEY}:{SECRET_KEY}"),
        "--credentials",
        "OTHERKEY:othersecret:111111111111",
    ])
    .await;
    let name = unique("console-own");
    let url = create(&s, &name).await;
    let id = send(&s, &url, "mine").await;
    let path = format!("/_cauda/queues/000000000000/{name}/messages/{id}");
    let refused = s
        .send_as("DELETE", &path, &[], "", Some(("OTHERKEY", "othersecret")))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(peeked_ids(&s, &name).await, [id]);
    let own = s.send("DELETE", &path, &[], "", true).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(peeked_ids(&s, &name).await.is_empty());
    s.stop().await;
}
