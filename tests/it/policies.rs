//! Queue policies between accounts (SQS-REFERENCE §9 "Cross-account access"), with strict auth
//! and two credentials of two accounts: without a policy another account can do nothing to a
//! queue; AddPermission and Policy documents grant exactly what they say, never the owner-only
//! actions; an explicit Deny binds the owner too; the policy survives a restart.

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, QueueAttributeName,
    SendMessageBatchRequestEntry,
};

use crate::harness::{unique, TestServer};
use crate::messages::{expect_query_err, expect_sdk_err};

const A: &str = "111111111111";
const B: &str = "222222222222";

fn strict<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--auth",
        "strict",
        "--credentials",
        "AKA:SKA:111111111111",
        "--credentials",
        "AKB:SKB:222222222222",
    ];
    args.extend_from_slice(extra);
    args
}

/// The raw signed client, signing as account B (Query protocol checks).
fn query_as_b(s: &TestServer) -> TestServer {
    let mut raw = TestServer::connect(s.addr);
    raw.access_key = "AKB".into();
    raw.secret_key = "SKB".into();
    raw
}

async fn create(c: &aws_sdk_sqs::Client, name: &str) -> String {
    c.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn depth(c: &aws_sdk_sqs::Client, url: &str) -> (String, String) {
    let out = c
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let a = out.attributes().unwrap();
    (
        a[&QueueAttributeName::ApproximateNumberOfMessages].clone(),
        a[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible].clone(),
    )
}

fn denied(url: &str) -> String {
    format!("Access to the resource {url} is denied.")
}

/// Asserts an SDK call was refused with 403 AccessDenied naming `url`.
macro_rules! refused {
    ($call:expr, $url:expr) => {{
        let m = expect_sdk_err($call.send().await, "AccessDenied", 403);
        assert_eq!(m, denied($url));
    }};
}

#[tokio::test]
async fn without_a_policy_another_account_can_do_nothing() {
    let s = TestServer::start_with(&strict(&[])).await;
    let a = s.sdk_with("AKA", "SKA");
    let b = s.sdk_with("AKB", "SKB");
    let name = unique("owned");
    let url = create(&a, &name).await;
    let dlq_name = unique("owned-dlq");
    let dlq = create(&a, &dlq_name).await;
    let dlq_arn = format!("arn:aws:sqs:us-east-1:{A}:{dlq_name}");
    let policy = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5});
    a.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
        .send()
        .await
        .unwrap();
    a.tag_queue()
        .queue_url(&url)
        .tags("team", "a")
        .send()
        .await
        .unwrap();
    a.send_message()
        .queue_url(&url)
        .message_body("a1")
        .send()
        .await
        .unwrap();
    a.send_message()
        .queue_url(&url)
        .message_body("a2")
        .send()
        .await
        .unwrap();
    let held = a
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap()
        .messages()[0]
        .receipt_handle()
        .unwrap()
        .to_string();

    refused!(
        b.get_queue_url()
            .queue_name(&name)
            .queue_owner_aws_account_id(A),
        &url
    );
    refused!(b.send_message().queue_url(&url).message_body("b"), &url);
    refused!(
        b.send_message_batch().queue_url(&url).entries(
            SendMessageBatchRequestEntry::builder()
                .id("e")
                .message_body("b")
                .build()
                .unwrap()
        ),
        &url
    );
    refused!(b.receive_message().queue_url(&url), &url);
    refused!(
        b.delete_message().queue_url(&url).receipt_handle(&held),
        &url
    );
    refused!(
        b.delete_message_batch().queue_url(&url).entries(
            DeleteMessageBatchRequestEntry::builder()
                .id("e")
                .receipt_handle(&held)
                .build()
                .unwrap()
        ),
        &url
    );
    refused!(
        b.change_message_visibility()
            .queue_url(&url)
            .receipt_handle(&held)
            .visibility_timeout(0),
        &url
    );
    refused!(
        b.change_message_visibility_batch().queue_url(&url).entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("e")
                .receipt_handle(&held)
                .visibility_timeout(0)
                .build()
                .unwrap()
        ),
        &url
    );
    refused!(b.purge_queue().queue_url(&url), &url);
    refused!(
        b.get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All),
        &url
    );
    refused!(
        b.set_queue_attributes()
            .queue_url(&url)
            .attributes(QueueAttributeName::VisibilityTimeout, "5"),
        &url
    );
    refused!(b.tag_queue().queue_url(&url).tags("team", "b"), &url);
    refused!(b.untag_queue().queue_url(&url).tag_keys("team"), &url);
    refused!(b.list_queue_tags().queue_url(&url), &url);
    refused!(
        b.add_permission()
            .queue_url(&url)
            .label("mine")
            .aws_account_ids(B)
            .actions("SendMessage"),
        &url
    );
    refused!(b.remove_permission().queue_url(&url).label("mine"), &url);
    refused!(b.list_dead_letter_source_queues().queue_url(&dlq), &dlq);
    refused!(b.start_message_move_task().source_arn(&dlq_arn), &dlq);
    refused!(b.list_message_move_tasks().source_arn(&dlq_arn), &dlq);
    refused!(b.delete_queue().queue_url(&url), &url);

    // The same over Query, in its own envelope.
    let raw = query_as_b(&s);
    for params in [
        vec![("Action", "ReceiveMessage"), ("QueueUrl", url.as_str())],
        vec![("Action", "PurgeQueue"), ("QueueUrl", url.as_str())],
        vec![("Action", "DeleteQueue"), ("QueueUrl", url.as_str())],
        vec![
            ("Action", "SendMessage"),
            ("QueueUrl", url.as_str()),
            ("MessageBody", "b"),
        ],
    ] {
        let m = expect_query_err(&raw.query(&params).await, "AccessDenied", 403);
        assert_eq!(m, denied(&url));
    }

    // Nothing changed: the queue, its messages (one held by A), attributes and tags.
    assert_eq!(depth(&a, &url).await, ("1".to_string(), "1".to_string()));
    let out = a
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.attributes().unwrap()[&QueueAttributeName::VisibilityTimeout],
        "30"
    );
    let tags = a.list_queue_tags().queue_url(&url).send().await.unwrap();
    assert_eq!(tags.tags().unwrap()["team"], "a");
    a.delete_message()
        .queue_url(&url)
        .receipt_handle(&held)
        .send()
        .await
        .unwrap();
    assert_eq!(depth(&a, &url).await, ("1".to_string(), "0".to_string()));
    // The owner keeps full control.
    a.purge_queue().queue_url(&url).send().await.unwrap();
    a.delete_queue().queue_url(&url).send().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn policies_grant_exactly_what_they_say() {
    let s = TestServer::start_with(&strict(&[])).await;
    let a = s.sdk_with("AKA", "SKA");
    let b = s.sdk_with("AKB", "SKB");
    let name = unique("shared");
    let url = create(&a, &name).await;
    let arn = format!("arn:aws:sqs:us-east-1:{A}:{name}");

    // AddPermission(B, SendMessage): B may send (batch too), not receive.
    a.add_permission()
        .queue_url(&url)
        .label("b-sends")
        .aws_account_ids(B)
        .actions("SendMessage")
        .send()
        .await
        .unwrap();
    b.send_message()
        .queue_url(&url)
        .message_body("from b")
        .send()
        .await
        .unwrap();
    let out = b
        .send_message_batch()
        .queue_url(&url)
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("e")
                .message_body("from b, batched")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.successful().len(), 1);
    refused!(b.receive_message().queue_url(&url), &url);
    refused!(b.purge_queue().queue_url(&url), &url);
    assert_eq!(depth(&a, &url).await.0, "2");
    // Over Query too.
    let raw = query_as_b(&s);
    let r = raw
        .query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "from b over query"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // RemovePermission closes it again.
    a.remove_permission()
        .queue_url(&url)
        .label("b-sends")
        .send()
        .await
        .unwrap();
    refused!(b.send_message().queue_url(&url).message_body("no"), &url);

    // A wildcard Allow lets B receive and delete, but never the owner-only actions.
    let everyone = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": arn}],
    });
    a.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, everyone.to_string())
        .send()
        .await
        .unwrap();
    let got = b
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 3);
    for m in got.messages() {
        b.delete_message()
            .queue_url(&url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    assert_eq!(depth(&a, &url).await, ("0".to_string(), "0".to_string()));
    let found = b
        .get_queue_url()
        .queue_name(&name)
        .queue_owner_aws_account_id(A)
        .send()
        .await
        .unwrap();
    assert_eq!(found.queue_url(), Some(url.as_str()));
    refused!(b.delete_queue().queue_url(&url), &url);
    refused!(
        b.set_queue_attributes()
            .queue_url(&url)
            .attributes(QueueAttributeName::Policy, ""),
        &url
    );
    refused!(b.tag_queue().queue_url(&url).tags("k", "v"), &url);
    refused!(b.list_queue_tags().queue_url(&url), &url);

    // An explicit Deny binds the owner too, and only for what it names.
    let deny_owner = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": arn},
            {"Effect": "Deny", "Principal": {"AWS": A}, "Action": "SQS:ReceiveMessage", "Resource": arn},
        ],
    });
    a.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, deny_owner.to_string())
        .send()
        .await
        .unwrap();
    refused!(a.receive_message().queue_url(&url), &url);
    a.send_message()
        .queue_url(&url)
        .message_body("owner still sends")
        .send()
        .await
        .unwrap();
    assert_eq!(
        b.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .len(),
        1
    );
    // A Deny of everything binds the owner's calls too, except changing the policy: the owner
    // can always take it away.
    let deny_all = serde_json::json!({
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}],
    });
    a.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, deny_all.to_string())
        .send()
        .await
        .unwrap();
    refused!(a.send_message().queue_url(&url).message_body("no"), &url);
    refused!(a.delete_queue().queue_url(&url), &url);
    a.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, "")
        .send()
        .await
        .unwrap();
    refused!(b.receive_message().queue_url(&url), &url);
    a.send_message()
        .queue_url(&url)
        .message_body("open again")
        .send()
        .await
        .unwrap();
    s.stop().await;
}

#[tokio::test]
async fn a_policy_that_is_not_a_policy_document_is_refused() {
    let s = TestServer::start_with(&strict(&[])).await;
    let a = s.sdk_with("AKA", "SKA");
    let url = create(&a, &unique("badpolicy")).await;
    for bad in [
        "not json",
        r#"{"Version":"2012-10-17"}"#,
        r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"sqs:*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Action":"sqs:*"}]}"#,
    ] {
        let m = expect_sdk_err(
            a.set_queue_attributes()
                .queue_url(&url)
                .attributes(QueueAttributeName::Policy, bad)
                .send()
                .await,
            "InvalidAttributeValue",
            400,
        );
        assert_eq!(m, "Invalid value for the parameter Policy.", "{bad}");
    }
    let out = a
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    assert!(!out
        .attributes()
        .unwrap()
        .contains_key(&QueueAttributeName::Policy));
    s.stop().await;
}

#[tokio::test]
async fn a_grant_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let s = TestServer::start_with(&strict(&["--data-dir", data])).await;
    let a = s.sdk_with("AKA", "SKA");
    let name = unique("kept");
    let url = create(&a, &name).await;
    a.add_permission()
        .queue_url(&url)
        .label("b-sends")
        .aws_account_ids(B)
        .actions("SendMessage")
        .send()
        .await
        .unwrap();
    s.stop().await;

    let s = TestServer::start_with(&strict(&["--data-dir", data])).await;
    let url = format!("{}/{A}/{name}", s.endpoint);
    let b = s.sdk_with("AKB", "SKB");
    b.send_message()
        .queue_url(&url)
        .message_body("after the restart")
        .send()
        .await
        .unwrap();
    refused!(b.receive_message().queue_url(&url), &url);
    s.stop().await;
}

/// A RedrivePolicy names only a dead-letter queue of the same account (and region), whatever
/// the other account's queue policy allows; a move task's destination likewise.
#[tokio::test]
async fn dead_letter_queues_stay_within_one_account() {
    let s = TestServer::start_with(&strict(&[])).await;
    let a = s.sdk_with("AKA", "SKA");
    let b = s.sdk_with("AKB", "SKB");
    let b_name = unique("b-dlq");
    let b_url = create(&b, &b_name).await;
    let b_arn = format!("arn:aws:sqs:us-east-1:{B}:{b_name}");
    let open = serde_json::json!({
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": b_arn}],
    });
    b.set_queue_attributes()
        .queue_url(&b_url)
        .attributes(QueueAttributeName::Policy, open.to_string())
        .send()
        .await
        .unwrap();
    let src = create(&a, &unique("a-src")).await;
    let m = expect_sdk_err(
        a.set_queue_attributes()
            .queue_url(&src)
            .attributes(
                QueueAttributeName::RedrivePolicy,
                serde_json::json!({"deadLetterTargetArn": b_arn, "maxReceiveCount": 1}).to_string(),
            )
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    assert!(
        m.ends_with("Reason: Dead letter target does not exist."),
        "{m}"
    );

    // A's own DLQ works; a move task from it to B's queue is refused as a missing destination.
    let dlq_name = unique("a-dlq");
    let dlq = create(&a, &dlq_name).await;
    let dlq_arn = format!("arn:aws:sqs:us-east-1:{A}:{dlq_name}");
    a.set_queue_attributes()
        .queue_url(&src)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}).to_string(),
        )
        .send()
        .await
        .unwrap();
    let m = expect_sdk_err(
        a.start_message_move_task()
            .source_arn(&dlq_arn)
            .destination_arn(&b_arn)
            .send()
            .await,
        "ResourceNotFoundException",
        404,
    );
    assert!(m.contains("DestinationArn"), "{m}");
    assert_eq!(depth(&a, &dlq).await.0, "0");
    s.stop().await;
}
