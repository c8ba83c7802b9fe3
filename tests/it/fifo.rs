//! FIFO queues (SQS-REFERENCE §7, and the FIFO parts of §6): group ids, deduplication, delays,
//! sequence numbers, ordering, group locking, receive attempts and expired receipt handles.

use std::collections::{HashMap, HashSet};

use aws_sdk_sqs::operation::send_message::SendMessageOutput;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, SendMessageBatchRequestEntry};

use crate::harness::{unique, TestServer};
use crate::messages::{
    counts, create_queue, delete, expect_query_err, expect_query_ok, expect_sdk_err, queue_attrs,
    receive, set_attrs, sys, xml_attributes, xml_blocks,
};

async fn fifo_queue(s: &TestServer, prefix: &str, attrs: &[(&str, &str)]) -> String {
    let mut all = vec![("FifoQueue", "true")];
    all.extend_from_slice(attrs);
    create_queue(s, &format!("{}.fifo", unique(prefix)), &all).await
}

async fn fsend(
    s: &TestServer,
    url: &str,
    body: &str,
    group: &str,
    dedup: Option<&str>,
) -> SendMessageOutput {
    s.sdk()
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_group_id(group)
        .set_message_deduplication_id(dedup.map(str::to_string))
        .send()
        .await
        .unwrap_or_else(|e| panic!("fifo send {body}: {e:?}"))
}

fn bodies(msgs: &[Message]) -> Vec<String> {
    msgs.iter().map(|m| m.body().unwrap().to_string()).collect()
}

fn group_of(m: &Message) -> String {
    sys(m)["MessageGroupId"].clone()
}

#[tokio::test]
async fn message_group_id_is_required() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "needgroup", &[("ContentBasedDeduplication", "true")]).await;
    let m = expect_sdk_err(
        s.sdk()
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .send()
            .await,
        "MissingParameter",
        400,
    );
    assert_eq!(m, "The request must contain the parameter MessageGroupId.");
    expect_query_err(
        &s.query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "x"),
        ])
        .await,
        "MissingParameter",
        400,
    );

    // In a batch the whole request fails, with InvalidParameterValue.
    let m = expect_sdk_err(
        s.sdk()
            .send_message_batch()
            .queue_url(&url)
            .entries(
                SendMessageBatchRequestEntry::builder()
                    .id("a")
                    .message_body("a")
                    .message_group_id("g")
                    .build()
                    .unwrap(),
            )
            .entries(
                SendMessageBatchRequestEntry::builder()
                    .id("b")
                    .message_body("b")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    assert_eq!(m, "The request must contain the parameter MessageGroupId.");
    expect_query_err(
        &s.query(&[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", &url),
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "a"),
        ])
        .await,
        "InvalidParameterValue",
        400,
    );
    // Invalid group ids.
    for bad in ["", "group 123", &"g".repeat(129)] {
        let m = expect_sdk_err(
            s.sdk()
                .send_message()
                .queue_url(&url)
                .message_body("x")
                .message_group_id(bad)
                .send()
                .await,
            "InvalidParameterValue",
            400,
        );
        assert!(
            m.contains("MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length."),
            "{m}"
        );
    }
    // Punctuation and 128 characters are fine.
    fsend(&s, &url, "p", "a!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", None).await;
    fsend(&s, &url, "l", &"g".repeat(128), None).await;
    assert_eq!(counts(&s, &url).await, (2, 0, 0));
    s.stop().await;
}

#[tokio::test]
async fn explicit_deduplication_id_survives_delete() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "dedup", &[]).await;
    let first = fsend(&s, &url, "one", "g", Some("d1")).await;
    // A duplicate is accepted (200), not stored again.
    let dup = fsend(&s, &url, "one-again", "g", Some("d1")).await;
    assert!(dup.message_id().is_some());
    let r = s
        .query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "one-query"),
            ("MessageGroupId", "g"),
            ("MessageDeduplicationId", "d1"),
        ])
        .await;
    expect_query_ok(&r);
    assert!(r.xml("MessageId").is_some());
    assert_eq!(counts(&s, &url).await, (1, 0, 0));

    let got = receive(&s, &url, 10, 0, None).await;
    assert_eq!(bodies(&got), ["one"]);
    assert_eq!(got[0].message_id(), first.message_id());
    assert_eq!(sys(&got[0])["MessageDeduplicationId"], "d1");
    delete(&s, &url, &got[0]).await;

    // Still within the 5-minute window after the delete: not delivered again.
    fsend(&s, &url, "one", "g", Some("d1")).await;
    fsend(&s, &url, "one", "other-group", Some("d1")).await;
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    // A new id is a new message.
    fsend(&s, &url, "one", "g", Some("d2")).await;
    assert_eq!(bodies(&receive(&s, &url, 10, 0, None).await), ["one"]);

    // Invalid deduplication ids.
    for bad in ["", "dedup 1", &"d".repeat(129)] {
        let m = expect_sdk_err(
            s.sdk()
                .send_message()
                .queue_url(&url)
                .message_body("x")
                .message_group_id("g")
                .message_deduplication_id(bad)
                .send()
                .await,
            "InvalidParameterValue",
            400,
        );
        assert!(m.contains("MessageDeduplicationId"), "{m}");
    }
    s.stop().await;
}

#[tokio::test]
async fn content_based_deduplication() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "cbd", &[("ContentBasedDeduplication", "true")]).await;
    fsend(&s, &url, "same", "g", None).await;
    fsend(&s, &url, "same", "g", None).await;
    // Only the body counts, not the group (scope queue) or the attributes.
    s.sdk()
        .send_message()
        .queue_url(&url)
        .message_body("same")
        .message_group_id("g2")
        .message_attributes("a", crate::messages::attr("String", "v"))
        .send()
        .await
        .unwrap();
    fsend(&s, &url, "different", "g", None).await;
    // An explicit id overrides the content hash.
    fsend(&s, &url, "same", "g", Some("explicit")).await;
    assert_eq!(counts(&s, &url).await, (3, 0, 0));

    let mut seen = Vec::new();
    loop {
        let got = receive(&s, &url, 10, 0, None).await;
        if got.is_empty() {
            break;
        }
        for m in &got {
            seen.push(m.body().unwrap().to_string());
            let dedup = sys(m)["MessageDeduplicationId"].clone();
            if m.body() == Some("same") && dedup != "explicit" {
                // The content-based id is the SHA-256 of the body.
                use sha2::{Digest, Sha256};
                assert_eq!(dedup, hex::encode(Sha256::digest(b"same")));
            }
            delete(&s, &url, m).await;
        }
    }
    assert_eq!(seen, ["same", "different", "same"]);
    // Deduplicated even after the delete.
    fsend(&s, &url, "same", "g", None).await;
    fsend(&s, &url, "different", "g", None).await;
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn deduplication_scope_message_group() {
    let s = TestServer::start().await;
    let url = fifo_queue(
        &s,
        "dedup-group",
        &[
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ],
    )
    .await;
    let a = queue_attrs(&s, &url).await;
    assert_eq!(a["DeduplicationScope"], "messageGroup");
    assert_eq!(a["FifoThroughputLimit"], "perMessageGroupId");
    fsend(&s, &url, "g1-a", "g1", Some("d")).await;
    fsend(&s, &url, "g1-b", "g1", Some("d")).await; // duplicate within g1
    fsend(&s, &url, "g2-a", "g2", Some("d")).await; // same id, other group: delivered
    assert_eq!(counts(&s, &url).await, (2, 0, 0));
    let mut got = bodies(&receive(&s, &url, 10, 0, None).await);
    got.sort();
    assert_eq!(got, ["g1-a", "g2-a"]);

    // With the default scope (queue), the same id in another group is a duplicate.
    let url = fifo_queue(&s, "dedup-queue", &[]).await;
    assert_eq!(queue_attrs(&s, &url).await["DeduplicationScope"], "queue");
    fsend(&s, &url, "g1-a", "g1", Some("d")).await;
    fsend(&s, &url, "g2-a", "g2", Some("d")).await;
    assert_eq!(counts(&s, &url).await, (1, 0, 0));
    s.stop().await;
}

#[tokio::test]
async fn high_throughput_attributes() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    // perMessageGroupId with DeduplicationScope=queue is rejected, at create and set.
    let name = format!("{}.fifo", unique("ht-bad"));
    let e = sdk
        .create_queue()
        .queue_name(&name)
        .attributes("FifoQueue".into(), "true")
        .attributes("FifoThroughputLimit".into(), "perMessageGroupId")
        .attributes("DeduplicationScope".into(), "queue")
        .send()
        .await;
    expect_sdk_err(e, "InvalidAttributeValue", 400);
    let r = s
        .query(&[
            ("Action", "CreateQueue"),
            ("QueueName", &name),
            ("Attribute.1.Name", "FifoQueue"),
            ("Attribute.1.Value", "true"),
            ("Attribute.2.Name", "FifoThroughputLimit"),
            ("Attribute.2.Value", "perMessageGroupId"),
        ])
        .await;
    expect_query_err(&r, "InvalidAttributeValue", 400);

    let url = fifo_queue(&s, "ht", &[]).await;
    let e = sdk
        .set_queue_attributes()
        .queue_url(&url)
        .attributes("FifoThroughputLimit".into(), "perMessageGroupId")
        .send()
        .await;
    expect_sdk_err(e, "InvalidAttributeValue", 400);
    assert_eq!(
        queue_attrs(&s, &url).await["FifoThroughputLimit"],
        "perQueue"
    );
    set_attrs(
        &s,
        &url,
        &[
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ],
    )
    .await;
    let a = queue_attrs(&s, &url).await;
    assert_eq!(a["DeduplicationScope"], "messageGroup");
    assert_eq!(a["FifoThroughputLimit"], "perMessageGroupId");
    // The queue works as usual.
    fsend(&s, &url, "x", "g", Some("d")).await;
    assert_eq!(bodies(&receive(&s, &url, 10, 0, None).await), ["x"]);
    s.stop().await;
}

#[tokio::test]
async fn missing_deduplication_id_without_content_based_dedup() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "nodedup", &[]).await;
    let want = "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly";
    let m = expect_sdk_err(
        s.sdk()
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .message_group_id("g")
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    assert_eq!(m, want);
    let m = expect_query_err(
        &s.query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "x"),
            ("MessageGroupId", "g"),
        ])
        .await,
        "InvalidParameterValue",
        400,
    );
    assert_eq!(m, want);
    // In a batch, one entry without it fails the whole call [AWS-rec], like a missing
    // MessageGroupId: HTTP 400, nothing enqueued, no per-entry results.
    let m = expect_sdk_err(
        s.sdk()
            .send_message_batch()
            .queue_url(&url)
            .entries(
                SendMessageBatchRequestEntry::builder()
                    .id("ok")
                    .message_body("ok")
                    .message_group_id("g")
                    .message_deduplication_id("d")
                    .build()
                    .unwrap(),
            )
            .entries(
                SendMessageBatchRequestEntry::builder()
                    .id("nodedup")
                    .message_body("x")
                    .message_group_id("g")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    assert_eq!(m, want);
    let batch = [
        ("Action", "SendMessageBatch"),
        ("QueueUrl", url.as_str()),
        ("SendMessageBatchRequestEntry.1.Id", "ok"),
        ("SendMessageBatchRequestEntry.1.MessageBody", "ok"),
        ("SendMessageBatchRequestEntry.1.MessageGroupId", "g"),
        ("SendMessageBatchRequestEntry.1.MessageDeduplicationId", "d"),
        ("SendMessageBatchRequestEntry.2.Id", "nodedup"),
        ("SendMessageBatchRequestEntry.2.MessageBody", "x"),
        ("SendMessageBatchRequestEntry.2.MessageGroupId", "g"),
    ];
    let m = expect_query_err(&s.query(&batch).await, "InvalidParameterValue", 400);
    assert_eq!(m, want);
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    // With ContentBasedDeduplication the same batch is accepted whole.
    set_attrs(&s, &url, &[("ContentBasedDeduplication", "true")]).await;
    let r = s.query(&batch).await;
    expect_query_ok(&r);
    assert_eq!(
        r.xml_all("SendMessageBatchResultEntry").len(),
        2,
        "{}",
        r.body
    );
    assert_eq!(counts(&s, &url).await, (2, 0, 0));
    s.stop().await;
}

#[tokio::test]
async fn deduplication_scope_stays_as_created() {
    let s = TestServer::start().await;
    // Created with scope queue, switched to messageGroup: still deduplicated queue-wide.
    let url = fifo_queue(&s, "scope-q", &[]).await;
    set_attrs(
        &s,
        &url,
        &[
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ],
    )
    .await;
    let a = queue_attrs(&s, &url).await;
    assert_eq!(a["DeduplicationScope"], "messageGroup");
    assert_eq!(a["FifoThroughputLimit"], "perMessageGroupId");
    fsend(&s, &url, "g4-x", "4", Some("X")).await;
    fsend(&s, &url, "g5-x", "5", Some("X")).await;
    assert_eq!(bodies(&receive(&s, &url, 10, 0, None).await), ["g4-x"]);

    // Created with messageGroup, switched to queue: still deduplicated per group (Query).
    let url = fifo_queue(
        &s,
        "scope-g",
        &[
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ],
    )
    .await;
    let r = s
        .query(&[
            ("Action", "SetQueueAttributes"),
            ("QueueUrl", &url),
            ("Attribute.1.Name", "FifoThroughputLimit"),
            ("Attribute.1.Value", "perQueue"),
            ("Attribute.2.Name", "DeduplicationScope"),
            ("Attribute.2.Value", "queue"),
        ])
        .await;
    expect_query_ok(&r);
    assert_eq!(queue_attrs(&s, &url).await["DeduplicationScope"], "queue");
    for (body, group) in [("g4-x", "4"), ("g5-x", "5")] {
        let r = s
            .query(&[
                ("Action", "SendMessage"),
                ("QueueUrl", &url),
                ("MessageBody", body),
                ("MessageGroupId", group),
                ("MessageDeduplicationId", "X"),
            ])
            .await;
        expect_query_ok(&r);
    }
    let mut got = bodies(&receive(&s, &url, 10, 0, None).await);
    got.sort();
    assert_eq!(got, ["g4-x", "g5-x"]);
    s.stop().await;
}

#[tokio::test]
async fn purge_clears_the_deduplication_cache() {
    let s = TestServer::start_with(&["--purge-cooldown-secs", "0"]).await;
    let url = fifo_queue(&s, "purge-dedup", &[]).await;
    fsend(&s, &url, "first", "g", Some("d")).await;
    s.sdk().purge_queue().queue_url(&url).send().await.unwrap();
    fsend(&s, &url, "second", "g", Some("d")).await;
    assert_eq!(bodies(&receive(&s, &url, 10, 0, None).await), ["second"]);
    // Over Query, and within one window: the id is taken again after the send, free after
    // the next purge.
    let send = |body: &'static str| {
        let url = url.clone();
        let s = &s;
        async move {
            let r = s
                .query(&[
                    ("Action", "SendMessage"),
                    ("QueueUrl", &url),
                    ("MessageBody", body),
                    ("MessageGroupId", "g"),
                    ("MessageDeduplicationId", "d"),
                ])
                .await;
            expect_query_ok(&r);
        }
    };
    send("duplicate").await;
    assert_eq!(counts(&s, &url).await, (0, 1, 0));
    let r = s
        .query(&[("Action", "PurgeQueue"), ("QueueUrl", &url)])
        .await;
    expect_query_ok(&r);
    send("third").await;
    assert_eq!(bodies(&receive(&s, &url, 10, 0, None).await), ["third"]);
    s.stop().await;
}

#[tokio::test]
async fn per_message_delay_is_rejected_except_zero() {
    let (s, clock) = crate::clock::start(&[]).await;
    let url = fifo_queue(&s, "fifo-delay", &[("ContentBasedDeduplication", "true")]).await;
    let m = expect_sdk_err(
        s.sdk()
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .message_group_id("g")
            .delay_seconds(2)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    assert_eq!(
        m,
        "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
    );
    expect_query_err(
        &s.query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "x"),
            ("MessageGroupId", "g"),
            ("DelaySeconds", "2"),
        ])
        .await,
        "InvalidParameterValue",
        400,
    );
    s.sdk()
        .send_message()
        .queue_url(&url)
        .message_body("zero")
        .message_group_id("g")
        .delay_seconds(0)
        .send()
        .await
        .unwrap();
    let r = s
        .query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "zero-q"),
            ("MessageGroupId", "g"),
            ("DelaySeconds", "0"),
        ])
        .await;
    expect_query_ok(&r);
    assert_eq!(counts(&s, &url).await, (2, 0, 0));

    // The queue's delay still applies to a message sent with DelaySeconds=0.
    set_attrs(&s, &url, &[("DelaySeconds", "1")]).await;
    s.sdk()
        .send_message()
        .queue_url(&url)
        .message_body("queue-delayed")
        .message_group_id("g9")
        .delay_seconds(0)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&s, &url).await, (2, 0, 1), "the queue delay applies");
    clock.advance_ms(1300);
    assert_eq!(counts(&s, &url).await, (3, 0, 0));
    s.stop().await;
}

#[tokio::test]
async fn sequence_numbers_increase() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "seq", &[("ContentBasedDeduplication", "true")]).await;
    let mut sent: Vec<(String, u128)> = Vec::new();
    for i in 0..5 {
        let out = fsend(&s, &url, &format!("m{i}"), "g", None).await;
        let seq = out
            .sequence_number()
            .expect("SequenceNumber on a FIFO send");
        assert!(seq.bytes().all(|b| b.is_ascii_digit()), "{seq}");
        sent.push((out.message_id().unwrap().to_string(), seq.parse().unwrap()));
    }
    // Over Query and in batches too.
    let r = s
        .query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "mq"),
            ("MessageGroupId", "g"),
        ])
        .await;
    expect_query_ok(&r);
    sent.push((
        r.xml("MessageId").unwrap(),
        r.xml("SequenceNumber").unwrap().parse().unwrap(),
    ));
    let out = s
        .sdk()
        .send_message_batch()
        .queue_url(&url)
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("b1")
                .message_body("mb1")
                .message_group_id("g")
                .build()
                .unwrap(),
        )
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("b2")
                .message_body("mb2")
                .message_group_id("g")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for e in out.successful() {
        sent.push((
            e.message_id().to_string(),
            e.sequence_number().unwrap().parse().unwrap(),
        ));
    }
    assert_eq!(sent.len(), 8);
    for w in sent.windows(2) {
        assert!(w[0].1 < w[1].1, "sequence numbers increase: {sent:?}");
    }
    // The receive attribute is the same number.
    let by_id: HashMap<String, u128> = sent.iter().cloned().collect();
    let got = receive(&s, &url, 10, 0, None).await;
    assert_eq!(got.len(), 8);
    for m in &got {
        let seq: u128 = sys(m)["SequenceNumber"].parse().unwrap();
        assert_eq!(seq, by_id[m.message_id().unwrap()]);
    }
    s.stop().await;
}

#[tokio::test]
async fn strict_order_within_each_group() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "order", &[("ContentBasedDeduplication", "true")]).await;
    let groups = ["a", "b", "c"];
    for i in 0..30 {
        let g = groups[i % 3];
        fsend(&s, &url, &format!("{g}-{i:02}"), g, None).await;
    }
    let mut per_group: HashMap<String, Vec<String>> = HashMap::new();
    loop {
        let got = receive(&s, &url, 4, 0, None).await;
        if got.is_empty() {
            break;
        }
        for m in &got {
            per_group
                .entry(group_of(m))
                .or_default()
                .push(m.body().unwrap().to_string());
        }
        for m in &got {
            delete(&s, &url, m).await;
        }
    }
    for (gi, g) in groups.iter().enumerate() {
        let want: Vec<String> = (0..30)
            .filter(|i| i % 3 == gi)
            .map(|i| format!("{g}-{i:02}"))
            .collect();
        assert_eq!(per_group[*g], want, "group {g}");
    }
    s.stop().await;
}

#[tokio::test]
async fn group_is_locked_while_a_message_is_in_flight() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "lock", &[("ContentBasedDeduplication", "true")]).await;
    fsend(&s, &url, "g1-1", "g1", None).await;
    fsend(&s, &url, "g1-2", "g1", None).await;
    fsend(&s, &url, "g2-1", "g2", None).await;
    fsend(&s, &url, "g2-2", "g2", None).await;

    let first = receive(&s, &url, 1, 0, None).await;
    assert_eq!(first.len(), 1);
    let held = group_of(&first[0]);
    assert!(first[0].body().unwrap().ends_with("-1"));
    // The next receive gets only the other group.
    let second = receive(&s, &url, 10, 0, None).await;
    let other = if held == "g1" { "g2" } else { "g1" };
    assert_eq!(
        bodies(&second),
        [format!("{other}-1"), format!("{other}-2")]
    );
    // Both groups are held now.
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    assert_eq!(counts(&s, &url).await, (1, 3, 0));

    // Deleting the head unlocks the group; its next message follows.
    delete(&s, &url, &first[0]).await;
    let third = receive(&s, &url, 10, 0, None).await;
    assert_eq!(bodies(&third), [format!("{held}-2")]);

    // Query receive agrees: nothing while both groups are held.
    let r = s
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("MaxNumberOfMessages", "10"),
        ])
        .await;
    expect_query_ok(&r);
    assert!(xml_blocks(&r.body, "Message").is_empty(), "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn one_receive_returns_several_messages_of_a_group_in_order() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "batchrecv", &[("ContentBasedDeduplication", "true")]).await;
    for i in 0..7 {
        fsend(&s, &url, &format!("m{i}"), "only", None).await;
    }
    let got = receive(&s, &url, 5, 0, None).await;
    assert_eq!(bodies(&got), ["m0", "m1", "m2", "m3", "m4"]);
    // The rest of the group is locked behind the in-flight ones.
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    for m in &got {
        delete(&s, &url, m).await;
    }
    // Over Query: the remaining two, in order.
    let r = s
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("MaxNumberOfMessages", "10"),
            ("AttributeName.1", "All"),
        ])
        .await;
    expect_query_ok(&r);
    assert_eq!(r.xml_all("Body"), ["m5", "m6"]);
    let msgs = xml_blocks(&r.body, "Message");
    let a = xml_attributes(&msgs[0]);
    assert_eq!(a["MessageGroupId"], "only");
    assert!(a.contains_key("SequenceNumber") && a.contains_key("MessageDeduplicationId"));
    s.stop().await;
}

/// "SQS returns as many messages with the same message group ID as possible" (AWS knowledge
/// center, sqs-fifo-messages-not-returned): one receive fills up from one group before it
/// takes the next, so that other consumers can take the other groups.
#[tokio::test]
async fn a_receive_takes_as_many_messages_of_one_group_as_it_can() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "fill", &[("ContentBasedDeduplication", "true")]).await;
    for i in 0..4 {
        fsend(&s, &url, &format!("a{i}"), "a", None).await;
        fsend(&s, &url, &format!("b{i}"), "b", None).await;
    }
    fsend(&s, &url, "c0", "c", None).await;
    let first = receive(&s, &url, 3, 0, None).await;
    assert_eq!(bodies(&first), ["a0", "a1", "a2"]);
    // Group a is held behind a0..a2: the next receive takes group b whole, then c.
    let second = receive(&s, &url, 10, 0, None).await;
    assert_eq!(bodies(&second), ["b0", "b1", "b2", "b3", "c0"]);
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    for m in &first {
        delete(&s, &url, m).await;
    }
    assert_eq!(bodies(&receive(&s, &url, 10, 0, None).await), ["a3"]);
    s.stop().await;
}

#[tokio::test]
async fn order_is_kept_after_visibility_reset() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "reset", &[("ContentBasedDeduplication", "true")]).await;
    for i in 0..4 {
        fsend(&s, &url, &format!("m{i}"), "g", None).await;
    }
    let got = receive(&s, &url, 3, 0, None).await;
    assert_eq!(bodies(&got), ["m0", "m1", "m2"]);
    // Make them visible again, last one first.
    for m in got.iter().rev() {
        s.sdk()
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(m.receipt_handle().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    let again = receive(&s, &url, 10, 0, None).await;
    assert_eq!(bodies(&again), ["m0", "m1", "m2", "m3"]);
    for m in &again {
        let expect = if m.body() == Some("m3") { "1" } else { "2" };
        assert_eq!(sys(m)["ApproximateReceiveCount"], expect);
    }
    // Resetting only the head while the others stay in flight: the head comes back first,
    // then nothing else of the group until the rest is released too.
    s.sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(again[0].receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    // The head is delivered again although later messages of its group are in flight, and
    // nothing after the first in-flight one.
    let head = receive(&s, &url, 10, 0, None).await;
    assert_eq!(bodies(&head), ["m0"]);
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    s.stop().await;
}

/// The recording of AWS's "FIFO delivery logic": m1, m2 in group A and n1 in group B; receive
/// 2 → m1, m2; ChangeMessageVisibility(m1, 0); receive 3 → n1 and m1.
#[tokio::test]
async fn a_released_message_is_delivered_while_a_later_one_is_in_flight() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "release", &[("ContentBasedDeduplication", "true")]).await;
    fsend(&s, &url, "m1", "A", None).await;
    fsend(&s, &url, "m2", "A", None).await;
    fsend(&s, &url, "n1", "B", None).await;
    let got = receive(&s, &url, 2, 0, None).await;
    assert_eq!(bodies(&got), ["m1", "m2"]);
    s.sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(got[0].receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let again = receive(&s, &url, 3, 0, None).await;
    let mut got_bodies = bodies(&again);
    got_bodies.sort();
    assert_eq!(got_bodies, ["m1", "n1"]);
    assert_eq!(
        sys(again.iter().find(|m| m.body() == Some("m1")).unwrap())["ApproximateReceiveCount"],
        "2"
    );

    // The same over Query, on a fresh queue.
    let url = fifo_queue(&s, "release-q", &[("ContentBasedDeduplication", "true")]).await;
    for (body, group) in [("m1", "A"), ("m2", "A"), ("n1", "B")] {
        fsend(&s, &url, body, group, None).await;
    }
    let r = s
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("MaxNumberOfMessages", "2"),
        ])
        .await;
    expect_query_ok(&r);
    assert_eq!(r.xml_all("Body"), ["m1", "m2"]);
    let m1_handle = r.xml_all("ReceiptHandle")[0].clone();
    let r = s
        .query(&[
            ("Action", "ChangeMessageVisibility"),
            ("QueueUrl", &url),
            ("ReceiptHandle", &m1_handle),
            ("VisibilityTimeout", "0"),
        ])
        .await;
    expect_query_ok(&r);
    let r = s
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("MaxNumberOfMessages", "3"),
        ])
        .await;
    expect_query_ok(&r);
    let mut b = r.xml_all("Body");
    b.sort();
    assert_eq!(b, ["m1", "n1"]);
    s.stop().await;
}

/// Three messages of one group received with VisibilityTimeout 1; message `p` extended to
/// 4 s; 2.5 s later a receive returns the messages before `p` and nothing after it.
#[tokio::test]
async fn a_group_delivers_up_to_its_first_in_flight_message() {
    let (s, clock) = crate::clock::start(&[]).await;
    for p in 0..3 {
        let url = fifo_queue(&s, "upto", &[("ContentBasedDeduplication", "true")]).await;
        for i in 0..3 {
            fsend(&s, &url, &format!("m{i}"), "g", None).await;
        }
        let got = receive(&s, &url, 10, 0, Some(1)).await;
        assert_eq!(bodies(&got), ["m0", "m1", "m2"]);
        s.sdk()
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(got[p].receipt_handle().unwrap())
            .visibility_timeout(4)
            .send()
            .await
            .unwrap();
        clock.advance_ms(2500);
        let again = receive(&s, &url, 10, 0, None).await;
        let want: Vec<String> = (0..p).map(|i| format!("m{i}")).collect();
        assert_eq!(bodies(&again), want, "p = {p}");
    }
    s.stop().await;
}

#[tokio::test]
async fn receive_request_attempt_id_replays_the_same_messages() {
    let s = TestServer::start().await;
    let url = fifo_queue(&s, "attempt", &[("ContentBasedDeduplication", "true")]).await;
    for i in 0..3 {
        fsend(&s, &url, &format!("m{i}"), "g", None).await;
    }
    fsend(&s, &url, "other", "h", None).await;
    let recv = |attempt: &'static str| {
        let sdk = s.sdk();
        let url = url.clone();
        async move {
            sdk.receive_message()
                .queue_url(url)
                .max_number_of_messages(3)
                .receive_request_attempt_id(attempt)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default()
        }
    };
    let bodies = |ms: &[Message]| -> Vec<String> {
        ms.iter().map(|m| m.body().unwrap().to_string()).collect()
    };
    // Group g first: its three messages fill the receive.
    let first = recv("attempt-1").await;
    assert_eq!(bodies(&first), ["m0", "m1", "m2"]);
    let retry = recv("attempt-1").await;
    assert_eq!(
        bodies(&retry),
        ["m0", "m1", "m2"],
        "a replay returns them again"
    );
    let ids = |ms: &[Message]| -> Vec<(String, String)> {
        ms.iter()
            .map(|m| {
                (
                    m.message_id().unwrap().to_string(),
                    m.receipt_handle().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        ids(&retry),
        ids(&first),
        "same messages, same receipt handles"
    );
    // A new attempt id gets what is left (not the in-flight messages).
    let first_ids: HashSet<String> = first
        .iter()
        .map(|m| m.message_id().unwrap().to_string())
        .collect();
    let next = recv("attempt-2").await;
    assert_eq!(bodies(&next), ["other"]);
    assert!(next
        .iter()
        .all(|m| !first_ids.contains(m.message_id().unwrap())));
    // The replayed handles work.
    for m in &retry {
        delete(&s, &url, m).await;
    }
    for m in &next {
        delete(&s, &url, m).await;
    }

    // All four are deleted; then two more, over Query.
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    fsend(&s, &url, "q1", "g", None).await;
    fsend(&s, &url, "q2", "g", None).await;
    let params = [
        ("Action", "ReceiveMessage"),
        ("QueueUrl", url.as_str()),
        ("MaxNumberOfMessages", "10"),
        ("ReceiveRequestAttemptId", "query-attempt"),
    ];
    let a = s.query(&params).await;
    expect_query_ok(&a);
    assert_eq!(a.xml_all("Body"), ["q1", "q2"]);
    let b = s.query(&params).await;
    expect_query_ok(&b);
    assert_eq!(b.xml_all("MessageId"), a.xml_all("MessageId"));
    assert_eq!(b.xml_all("ReceiptHandle"), a.xml_all("ReceiptHandle"));
    s.stop().await;
}

#[tokio::test]
async fn delete_with_an_expired_handle_fails() {
    let (s, clock) = crate::clock::start(&[]).await;
    let url = fifo_queue(&s, "expired", &[("ContentBasedDeduplication", "true")]).await;
    fsend(&s, &url, "x", "g", None).await;
    let m = receive(&s, &url, 1, 0, Some(1)).await.remove(0);
    clock.advance_ms(1200);
    let h = m.receipt_handle().unwrap();
    let msg = expect_sdk_err(
        s.sdk()
            .delete_message()
            .queue_url(&url)
            .receipt_handle(h)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    assert_eq!(
        msg,
        format!("Value {h} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.")
    );
    expect_query_err(
        &s.query(&[
            ("Action", "DeleteMessage"),
            ("QueueUrl", &url),
            ("ReceiptHandle", h),
        ])
        .await,
        "InvalidParameterValue",
        400,
    );
    // The message is still there and comes back; its new handle deletes it.
    let again = receive(&s, &url, 1, 0, None).await.remove(0);
    assert_eq!(again.message_id(), m.message_id());
    assert_eq!(sys(&again)["ApproximateReceiveCount"], "2");
    // The old handle is stale even though the message is in flight again.
    expect_sdk_err(
        s.sdk()
            .delete_message()
            .queue_url(&url)
            .receipt_handle(h)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    // Within an extended timeout the handle works.
    s.sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(again.receipt_handle().unwrap())
        .visibility_timeout(60)
        .send()
        .await
        .unwrap();
    delete(&s, &url, &again).await;
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    s.stop().await;
}
