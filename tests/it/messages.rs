//! Messages on standard queues (SQS-REFERENCE §5, §6, §9): send/receive/delete, MD5s, message
//! and system attributes, limits, batches, receipt handles, visibility, delays, counters, long
//! polling, purge, in-flight limits and fair queues. Both protocols wherever an SDK call exists.
//!
//! The helpers at the top are shared with the fifo, dlq, crash and concurrency modules.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName, MessageSystemAttributeNameForSends,
    MessageSystemAttributeValue, QueueAttributeName, SendMessageBatchRequestEntry,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::harness::{unique, Raw, TestServer};

// ----- shared helpers -----

/// `(query error code, HTTP status, message)` of an SDK error.
pub(crate) fn sdk_err<E: ProvideErrorMetadata + std::fmt::Debug>(
    e: SdkError<E, HttpResponse>,
) -> (String, u16, String) {
    let status = e.raw_response().map_or(0, |r| r.status().as_u16());
    let code = e.code().unwrap_or_default().to_string();
    let message = e.message().unwrap_or_default().to_string();
    if code.is_empty() {
        panic!("not a service error: {e:?}");
    }
    (code, status, message)
}

/// Asserts an SDK call failed with `code` and `status`; returns the message.
pub(crate) fn expect_sdk_err<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, SdkError<E, HttpResponse>>,
    code: &str,
    status: u16,
) -> String {
    let e = r.expect_err(&format!("expected {code}"));
    let (c, st, m) = sdk_err(e);
    assert_eq!((c.as_str(), st), (code, status), "message: {m}");
    m
}

/// Asserts a Query response is an error with `code` and `status`; returns the message.
pub(crate) fn expect_query_err(r: &Raw, code: &str, status: u16) -> String {
    assert_eq!(
        (r.query_code().as_deref(), r.status),
        (Some(code), status),
        "{}",
        r.body
    );
    r.xml("Message").unwrap_or_default()
}

pub(crate) fn expect_query_ok(r: &Raw) {
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The raw XML of every `<tag>…</tag>` block (not nested in itself), in order.
pub(crate) fn xml_blocks(body: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j + close.len()].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

/// `<Attribute><Name>…</Name><Value>…</Value></Attribute>` pairs of an XML fragment.
pub(crate) fn xml_attributes(fragment: &str) -> HashMap<String, String> {
    xml_blocks(fragment, "Attribute")
        .iter()
        .map(|b| {
            let names = crate::harness::xml_all(b, "Name");
            let values = crate::harness::xml_all(b, "Value");
            (names[0].clone(), values[0].clone())
        })
        .collect()
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub(crate) async fn create_queue(s: &TestServer, name: &str, attrs: &[(&str, &str)]) -> String {
    let mut req = s.sdk().create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(QueueAttributeName::from(*k), *v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"))
        .queue_url
        .unwrap()
}

pub(crate) async fn set_attrs(s: &TestServer, url: &str, attrs: &[(&str, &str)]) {
    let mut req = s.sdk().set_queue_attributes().queue_url(url);
    for (k, v) in attrs {
        req = req.attributes(QueueAttributeName::from(*k), *v);
    }
    req.send().await.expect("set attributes");
}

pub(crate) async fn queue_attrs(s: &TestServer, url: &str) -> HashMap<String, String> {
    s.sdk()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("get attributes")
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), v))
        .collect()
}

/// (ApproximateNumberOfMessages, …NotVisible, …Delayed).
pub(crate) async fn counts(s: &TestServer, url: &str) -> (u64, u64, u64) {
    let a = queue_attrs(s, url).await;
    let n = |k: &str| a[k].parse::<u64>().unwrap();
    (
        n("ApproximateNumberOfMessages"),
        n("ApproximateNumberOfMessagesNotVisible"),
        n("ApproximateNumberOfMessagesDelayed"),
    )
}

pub(crate) async fn queue_arn(s: &TestServer, url: &str) -> String {
    queue_attrs(s, url).await["QueueArn"].clone()
}

pub(crate) fn attr(data_type: &str, value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .unwrap()
}

pub(crate) fn bin_attr(data_type: &str, value: &[u8]) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .binary_value(Blob::new(value))
        .build()
        .unwrap()
}

pub(crate) async fn send(s: &TestServer, url: &str, body: &str) -> String {
    s.sdk()
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .expect("send")
        .message_id
        .unwrap()
}

/// ReceiveMessage with every system and message attribute.
pub(crate) async fn receive(
    s: &TestServer,
    url: &str,
    max: i32,
    wait: i32,
    visibility: Option<i32>,
) -> Vec<Message> {
    s.sdk()
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .wait_time_seconds(wait)
        .set_visibility_timeout(visibility)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
}

/// The system attributes of a received message, by name.
pub(crate) fn sys(m: &Message) -> HashMap<String, String> {
    m.attributes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), v))
        .collect()
}

pub(crate) async fn delete(s: &TestServer, url: &str, m: &Message) {
    s.sdk()
        .delete_message()
        .queue_url(url)
        .receipt_handle(m.receipt_handle().unwrap())
        .send()
        .await
        .expect("delete");
}

fn md5(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(bytes))
}

/// A Query SendMessage with `extra` parameters; returns the response.
async fn q_send(s: &TestServer, url: &str, body: &str, extra: &[(&str, &str)]) -> Raw {
    let mut p = vec![
        ("Action", "SendMessage"),
        ("QueueUrl", url),
        ("MessageBody", body),
    ];
    p.extend_from_slice(extra);
    s.query(&p).await
}

async fn q_receive(s: &TestServer, url: &str, extra: &[(&str, &str)]) -> Raw {
    let mut p = vec![("Action", "ReceiveMessage"), ("QueueUrl", url)];
    p.extend_from_slice(extra);
    let r = s.query(&p).await;
    expect_query_ok(&r);
    r
}

// ----- send / receive / delete -----

#[tokio::test]
async fn send_receive_delete_json() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("basic"), &[]).await;
    let sent = s
        .sdk()
        .send_message()
        .queue_url(&url)
        .message_body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body(),
        Some("5d41402abc4b2a76b9719d911017c592")
    );
    assert!(sent.md5_of_message_attributes().is_none());
    assert!(sent.sequence_number().is_none());
    let id = sent.message_id().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "MessageId {id}");

    let got = receive(&s, &url, 10, 0, None).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.message_id(), Some(id.as_str()));
    assert_eq!(m.body(), Some("hello"));
    assert_eq!(m.md5_of_body(), Some("5d41402abc4b2a76b9719d911017c592"));
    assert!(m.md5_of_message_attributes().is_none());
    assert!(m.message_attributes().is_none());
    assert_eq!(counts(&s, &url).await, (0, 1, 0));
    delete(&s, &url, m).await;
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    // An empty receive: no Messages member at all (`{}`).
    let raw = s
        .json("ReceiveMessage", &format!(r#"{{"QueueUrl":"{url}"}}"#))
        .await;
    assert_eq!(raw.status, 200, "{}", raw.body);
    assert_eq!(raw.json(), serde_json::json!({}));
    s.stop().await;
}

#[tokio::test]
async fn send_receive_delete_query() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("basicq"), &[]).await;
    let body = "<b>&amp; \"quoted\" ünïcødé 🦀</b>";
    let r = q_send(&s, &url, body, &[]).await;
    expect_query_ok(&r);
    assert!(r.body.contains("<SendMessageResponse"), "{}", r.body);
    assert_eq!(r.xml("MD5OfMessageBody"), Some(md5(body.as_bytes())));
    assert_eq!(r.xml("MD5OfMessageAttributes"), None);
    let id = r.xml("MessageId").unwrap();

    let r = q_receive(&s, &url, &[("MaxNumberOfMessages", "10")]).await;
    let msgs = xml_blocks(&r.body, "Message");
    assert_eq!(msgs.len(), 1, "{}", r.body);
    assert_eq!(r.xml("MessageId"), Some(id));
    assert_eq!(r.xml("Body").as_deref(), Some(body));
    assert_eq!(r.xml("MD5OfBody"), Some(md5(body.as_bytes())));
    // No attribute names asked: no attributes of either kind.
    assert!(r.xml("Attribute").is_none() && r.xml("MessageAttribute").is_none());
    let handle = r.xml("ReceiptHandle").unwrap();

    let d = s
        .query(&[
            ("Action", "DeleteMessage"),
            ("QueueUrl", &url),
            ("ReceiptHandle", &handle),
        ])
        .await;
    expect_query_ok(&d);
    assert!(d.body.contains("<DeleteMessageResponse"), "{}", d.body);
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    let r = q_receive(&s, &url, &[]).await;
    assert!(xml_blocks(&r.body, "Message").is_empty(), "{}", r.body);
    assert!(r.body.contains("ReceiveMessageResult"), "{}", r.body);
    s.stop().await;
}

// ----- MD5 of message attributes (§5.3 vectors) -----

#[tokio::test]
async fn md5_of_message_attributes_matches_the_vectors() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("md5"), &[]).await;
    let trace_bytes = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01";
    let cases: Vec<(Vec<(&str, MessageAttributeValue)>, &str)> = vec![
        (
            vec![("MyAttribute", attr("String", "foobar"))],
            "adb59cd4678ea5a855436b949cd07ab6",
        ),
        (
            vec![("Foo", attr("String", "Bar"))],
            "ae7155c6026991b6d54b11589678bf9c",
        ),
        (
            vec![
                ("Hello", attr("String", "There")),
                ("General", attr("String", "Kenobi")),
            ],
            "fca026605781cb4126a1e9044df24232",
        ),
        (
            vec![
                ("Help.Me", attr("String", "Me")),
                ("Hello", attr("String", "There")),
                ("General", attr("String", "Kenobi")),
            ],
            "4c360f3fdafd970e05fae2f149d997f5",
        ),
        (
            vec![("timestamp", attr("Number", "1493147359900"))],
            "235c5c510d26fb653d073faed50ae77c",
        ),
        (
            vec![("attr1", bin_attr("Binary", trace_bytes))],
            "8cbe4db156db8a94db8b801b7addb984",
        ),
        (
            vec![
                ("n", attr("Number.int", "42")),
                ("b", bin_attr("Binary", &[0, 1, 2])),
                ("a", attr("String", "hello")),
            ],
            "8ede164999645b25afbafe8fd5817b1c",
        ),
    ];
    for (attrs, want) in &cases {
        let mut req = s.sdk().send_message().queue_url(&url).message_body("m");
        for (k, v) in attrs {
            req = req.message_attributes(*k, v.clone());
        }
        let out = req.send().await.unwrap();
        assert_eq!(
            out.md5_of_message_attributes(),
            Some(*want),
            "send {attrs:?}"
        );
        let got = receive(&s, &url, 1, 0, None).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].md5_of_message_attributes(), Some(*want), "receive");
        let returned = got[0].message_attributes().unwrap();
        assert_eq!(returned.len(), attrs.len());
        for (k, v) in attrs {
            assert_eq!(&returned[*k], v, "attribute {k} round trip");
        }
        delete(&s, &url, &got[0]).await;
        assert_eq!(counts(&s, &url).await, (0, 0, 0));
    }

    // The same vectors over the Query protocol (binary values travel base64-encoded).
    let bin = B64.encode([0u8, 1, 2]);
    let r = q_send(
        &s,
        &url,
        "m",
        &[
            ("MessageAttribute.1.Name", "a"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "hello"),
            ("MessageAttribute.2.Name", "b"),
            ("MessageAttribute.2.Value.DataType", "Binary"),
            ("MessageAttribute.2.Value.BinaryValue", &bin),
            ("MessageAttribute.3.Name", "n"),
            ("MessageAttribute.3.Value.DataType", "Number.int"),
            ("MessageAttribute.3.Value.StringValue", "42"),
        ],
    )
    .await;
    expect_query_ok(&r);
    assert_eq!(
        r.xml("MD5OfMessageAttributes").as_deref(),
        Some("8ede164999645b25afbafe8fd5817b1c")
    );
    let r = q_receive(&s, &url, &[("MessageAttributeName.1", "All")]).await;
    assert_eq!(
        r.xml("MD5OfMessageAttributes").as_deref(),
        Some("8ede164999645b25afbafe8fd5817b1c"),
        "{}",
        r.body
    );
    let blocks = xml_blocks(&r.body, "MessageAttribute");
    assert_eq!(blocks.len(), 3, "{}", r.body);
    let by_name: HashMap<String, String> = blocks
        .iter()
        .map(|b| (crate::harness::xml_all(b, "Name")[0].clone(), b.clone()))
        .collect();
    let b = &by_name["b"];
    assert_eq!(
        crate::harness::xml_all(b, "BinaryValue"),
        vec![bin.clone()],
        "{b}"
    );
    assert_eq!(crate::harness::xml_all(b, "DataType"), vec!["Binary"]);
    let n = &by_name["n"];
    assert_eq!(crate::harness::xml_all(n, "StringValue"), vec!["42"]);
    assert_eq!(crate::harness::xml_all(n, "DataType"), vec!["Number.int"]);
    assert_eq!(
        crate::harness::xml_all(&by_name["a"], "StringValue"),
        vec!["hello"]
    );
    s.stop().await;
}

/// On receive the MD5 covers only the attributes returned (§5.3, §6 MessageAttributeNames).
#[tokio::test]
async fn receive_filters_message_attributes_and_their_md5() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("filter"), &[]).await;
    s.sdk()
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .message_attributes("Hello", attr("String", "There"))
        .message_attributes("General", attr("String", "Kenobi"))
        .message_attributes("Help.Me", attr("String", "Me"))
        .send()
        .await
        .unwrap();
    // (names asked, expected names returned, expected MD5)
    let cases: Vec<(Vec<&str>, Vec<&str>, Option<&str>)> = vec![
        (
            vec!["All"],
            vec!["General", "Hello", "Help.Me"],
            Some("4c360f3fdafd970e05fae2f149d997f5"),
        ),
        (
            vec![".*"],
            vec!["General", "Hello", "Help.Me"],
            Some("4c360f3fdafd970e05fae2f149d997f5"),
        ),
        (
            vec!["Hello"],
            vec!["Hello"],
            Some("a311262e065454b75da111d535b8dacd"),
        ),
        (
            vec!["Hel.*"],
            vec!["Hello", "Help.Me"],
            Some("83fee93c1bcd8b9a5a923ffacdc636c7"),
        ),
        (
            vec!["Hello", "General", "Nope"],
            vec!["General", "Hello"],
            Some("fca026605781cb4126a1e9044df24232"),
        ),
        // Unknown and illegal names are ignored without error.
        (vec!["Nope", "AWS.x", "..foo"], vec![], None),
        (vec![], vec![], None),
    ];
    for (names, want, md5) in &cases {
        let mut req = s
            .sdk()
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(0);
        for n in names {
            req = req.message_attribute_names(*n);
        }
        let out = req.send().await.unwrap();
        let m = &out.messages()[0];
        let mut got: Vec<String> = m
            .message_attributes()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default();
        got.sort();
        assert_eq!(got, *want, "names {names:?}");
        assert_eq!(m.md5_of_message_attributes(), *md5, "names {names:?}");

        // The same over Query.
        let mut p: Vec<(String, String)> = vec![("VisibilityTimeout".into(), "0".into())];
        for (i, n) in names.iter().enumerate() {
            p.push((format!("MessageAttributeName.{}", i + 1), n.to_string()));
        }
        let p: Vec<(&str, &str)> = p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let r = q_receive(&s, &url, &p).await;
        let blocks = xml_blocks(&r.body, "MessageAttribute");
        let mut got: Vec<String> = blocks
            .iter()
            .map(|b| crate::harness::xml_all(b, "Name")[0].clone())
            .collect();
        got.sort();
        assert_eq!(got, *want, "query names {names:?}");
        assert_eq!(
            r.xml("MD5OfMessageAttributes").as_deref(),
            *md5,
            "query names {names:?}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn message_attributes_round_trip_both_protocols() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("roundtrip"), &[]).await;
    let bytes: Vec<u8> = (0u8..=255).collect();
    s.sdk()
        .send_message()
        .queue_url(&url)
        .message_body("json")
        .message_attributes("s", attr("String", "ünïcødé & <xml>"))
        .message_attributes("n", attr("Number", "-12.50e3"))
        .message_attributes("f", attr("Number.float", "3.14"))
        .message_attributes("b", bin_attr("Binary", &bytes))
        .message_attributes("p", bin_attr("Binary.png", &[0x89, b'P', b'N', b'G']))
        .send()
        .await
        .unwrap();
    let m = receive(&s, &url, 1, 0, None).await.remove(0);
    let a = m.message_attributes().unwrap();
    assert_eq!(a.len(), 5);
    assert_eq!(a["s"], attr("String", "ünïcødé & <xml>"));
    assert_eq!(a["n"], attr("Number", "-12.50e3"));
    assert_eq!(a["f"], attr("Number.float", "3.14"));
    assert_eq!(a["b"], bin_attr("Binary", &bytes));
    assert_eq!(a["p"], bin_attr("Binary.png", &[0x89, b'P', b'N', b'G']));
    delete(&s, &url, &m).await;
    assert_eq!(counts(&s, &url).await, (0, 0, 0));

    // Sent over Query, read back over JSON (and the reverse for the first message above).
    let b64 = B64.encode(&bytes);
    let r = q_send(
        &s,
        &url,
        "query",
        &[
            ("MessageAttribute.1.Name", "s"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "ünïcødé & <xml>"),
            ("MessageAttribute.2.Name", "b"),
            ("MessageAttribute.2.Value.DataType", "Binary"),
            ("MessageAttribute.2.Value.BinaryValue", &b64),
            ("MessageAttribute.3.Name", "n"),
            ("MessageAttribute.3.Value.DataType", "Number"),
            ("MessageAttribute.3.Value.StringValue", "1614717034367"),
        ],
    )
    .await;
    expect_query_ok(&r);
    let m = receive(&s, &url, 1, 0, None).await.remove(0);
    assert_eq!(
        m.md5_of_message_attributes().map(str::to_string),
        r.xml("MD5OfMessageAttributes")
    );
    let a = m.message_attributes().unwrap();
    assert_eq!(a["s"], attr("String", "ünïcødé & <xml>"));
    assert_eq!(a["b"], bin_attr("Binary", &bytes));
    assert_eq!(a["n"], attr("Number", "1614717034367"));
    s.stop().await;
}

// ----- system attributes -----

#[tokio::test]
async fn system_attributes_json() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("sysattr"), &[]).await;
    let before = now_ms();
    send(&s, &url, "x").await;
    let after = now_ms();

    // No names asked: no Attributes member.
    let out = s
        .sdk()
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert!(out.messages()[0].attributes().is_none());

    let r1 = now_ms();
    let m = receive(&s, &url, 1, 0, Some(0)).await.remove(0);
    let a = sys(&m);
    let mut names: Vec<&str> = a.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ApproximateFirstReceiveTimestamp",
            "ApproximateReceiveCount",
            "SenderId",
            "SentTimestamp"
        ]
    );
    let sent: u64 = a["SentTimestamp"].parse().unwrap();
    assert!(
        (before..=after).contains(&sent),
        "SentTimestamp {sent} in ms, expected within [{before}, {after}]"
    );
    let first: u64 = a["ApproximateFirstReceiveTimestamp"].parse().unwrap();
    // The first receive was the one without attribute names, just before r1.
    assert!(
        first >= after && first <= r1 + 1000,
        "ApproximateFirstReceiveTimestamp {first} (ms) vs {after}..{r1}"
    );
    assert_eq!(a["ApproximateReceiveCount"], "2");
    assert!(!a["SenderId"].is_empty());

    // Counts keep increasing; the first-receive timestamp does not move.
    let m = receive(&s, &url, 1, 0, Some(0)).await.remove(0);
    let a = sys(&m);
    assert_eq!(a["ApproximateReceiveCount"], "3");
    assert_eq!(
        a["ApproximateFirstReceiveTimestamp"]
            .parse::<u64>()
            .unwrap(),
        first
    );

    // Only the names asked for.
    let out = s
        .sdk()
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .message_system_attribute_names(MessageSystemAttributeName::SequenceNumber)
        .send()
        .await
        .unwrap();
    let a = sys(&out.messages()[0]);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a["ApproximateReceiveCount"], "4");
    s.stop().await;
}

#[tokio::test]
async fn system_attributes_query() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("sysattrq"), &[]).await;
    let before = now_ms();
    expect_query_ok(&q_send(&s, &url, "x", &[]).await);
    let r = q_receive(
        &s,
        &url,
        &[("AttributeName.1", "All"), ("VisibilityTimeout", "0")],
    )
    .await;
    let a = xml_attributes(&r.body);
    assert_eq!(a.len(), 4, "{}", r.body);
    assert_eq!(a["ApproximateReceiveCount"], "1");
    let sent: u64 = a["SentTimestamp"].parse().unwrap();
    assert!(sent >= before && sent <= now_ms(), "{sent}");
    assert!(
        a["ApproximateFirstReceiveTimestamp"]
            .parse::<u64>()
            .unwrap()
            >= sent
    );
    assert!(!a["SenderId"].is_empty());
    let r = q_receive(
        &s,
        &url,
        &[
            ("AttributeName.1", "ApproximateReceiveCount"),
            ("AttributeName.2", "SentTimestamp"),
        ],
    )
    .await;
    let a = xml_attributes(&r.body);
    assert_eq!(a.len(), 2, "{}", r.body);
    assert_eq!(a["ApproximateReceiveCount"], "2");
    s.stop().await;
}

const TRACE: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const TRACE_MD5: &str = "5ae4d5d7636402d80f4eb6d213245a88";

#[tokio::test]
async fn aws_trace_header_from_system_attribute_and_http_header() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("trace"), &[]).await;

    // 1. MessageSystemAttributes over JSON (SDK).
    let out = s
        .sdk()
        .send_message()
        .queue_url(&url)
        .message_body("a")
        .message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(TRACE)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.md5_of_message_system_attributes(), Some(TRACE_MD5));
    // System attributes are not message attributes.
    assert!(out.md5_of_message_attributes().is_none());
    let m = receive(&s, &url, 1, 0, None).await.remove(0);
    assert_eq!(sys(&m)["AWSTraceHeader"], TRACE);
    assert!(m.message_attributes().is_none());
    delete(&s, &url, &m).await;
    assert_eq!(counts(&s, &url).await, (0, 0, 0));

    // 2. MessageSystemAttribute over Query.
    let r = q_send(
        &s,
        &url,
        "b",
        &[
            ("MessageSystemAttribute.1.Name", "AWSTraceHeader"),
            ("MessageSystemAttribute.1.Value.DataType", "String"),
            ("MessageSystemAttribute.1.Value.StringValue", TRACE),
        ],
    )
    .await;
    expect_query_ok(&r);
    assert_eq!(
        r.xml("MD5OfMessageSystemAttributes").as_deref(),
        Some(TRACE_MD5)
    );
    let r = q_receive(&s, &url, &[("AttributeName.1", "AWSTraceHeader")]).await;
    assert_eq!(
        xml_attributes(&r.body)["AWSTraceHeader"],
        TRACE,
        "{}",
        r.body
    );
    let h = r.xml("ReceiptHandle").unwrap();
    s.query(&[
        ("Action", "DeleteMessage"),
        ("QueueUrl", &url),
        ("ReceiptHandle", &h),
    ])
    .await;

    // 3. The X-Amzn-Trace-Id header, JSON protocol.
    let r = s
        .send(
            "POST",
            "/",
            &[
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", "AmazonSQS.SendMessage"),
                ("x-amzn-trace-id", TRACE),
            ],
            &serde_json::json!({"QueueUrl": url, "MessageBody": "c"}).to_string(),
            true,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = receive(&s, &url, 1, 0, None).await.remove(0);
    assert_eq!(m.body(), Some("c"));
    assert_eq!(
        sys(&m).get("AWSTraceHeader").map(String::as_str),
        Some(TRACE)
    );
    delete(&s, &url, &m).await;
    assert_eq!(counts(&s, &url).await, (0, 0, 0));

    // 4. The X-Amzn-Trace-Id header, Query protocol.
    let form = serde_urlencoded::to_string([
        ("Action", "SendMessage"),
        ("Version", "2012-11-05"),
        ("QueueUrl", url.as_str()),
        ("MessageBody", "d"),
    ])
    .unwrap();
    let r = s
        .send(
            "POST",
            "/",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-amzn-trace-id", TRACE),
            ],
            &form,
            true,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = receive(&s, &url, 1, 0, None).await.remove(0);
    assert_eq!(m.body(), Some("d"));
    assert_eq!(
        sys(&m).get("AWSTraceHeader").map(String::as_str),
        Some(TRACE)
    );

    // A message sent without either has no AWSTraceHeader.
    delete(&s, &url, &m).await;
    send(&s, &url, "e").await;
    let m = receive(&s, &url, 1, 0, None).await.remove(0);
    assert!(!sys(&m).contains_key("AWSTraceHeader"));
    s.stop().await;
}

// ----- limits -----

#[tokio::test]
async fn maximum_message_size_is_enforced() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("maxsize"), &[("MaximumMessageSize", "1024")]).await;
    let ok = "a".repeat(1024);
    let big = "a".repeat(1025);
    let out = s
        .sdk()
        .send_message()
        .queue_url(&url)
        .message_body(&ok)
        .send()
        .await;
    assert!(out.is_ok(), "1024 bytes accepted: {out:?}");
    let msg = expect_sdk_err(
        s.sdk()
            .send_message()
            .queue_url(&url)
            .message_body(&big)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    assert!(
        msg.contains("Message must be shorter than 1024 bytes"),
        "{msg}"
    );
    // Multi-byte characters count in UTF-8 bytes: 513 × 'é' = 1026 bytes.
    expect_sdk_err(
        s.sdk()
            .send_message()
            .queue_url(&url)
            .message_body("é".repeat(513))
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    // Message attributes count toward the size: 1000-byte body + "k" + "String" + 20 bytes.
    expect_sdk_err(
        s.sdk()
            .send_message()
            .queue_url(&url)
            .message_body("a".repeat(1000))
            .message_attributes("k", attr("String", &"v".repeat(20)))
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    expect_query_ok(&q_send(&s, &url, &ok, &[]).await);
    expect_query_err(
        &q_send(&s, &url, &big, &[]).await,
        "InvalidParameterValue",
        400,
    );
    // Only the accepted messages are in the queue.
    assert_eq!(counts(&s, &url).await, (2, 0, 0));
    s.stop().await;
}

#[tokio::test]
async fn message_validation_errors() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("validate"), &[]).await;
    let sdk = s.sdk();

    // More than 10 message attributes.
    let mut req = sdk.send_message().queue_url(&url).message_body("x");
    for i in 0..11 {
        req = req.message_attributes(format!("a{i}"), attr("String", "v"));
    }
    expect_sdk_err(req.send().await, "InvalidParameterValue", 400);
    let mut req = sdk.send_message().queue_url(&url).message_body("x");
    for i in 0..10 {
        req = req.message_attributes(format!("a{i}"), attr("String", "v"));
    }
    assert!(req.send().await.is_ok(), "10 attributes are allowed");

    // Invalid characters in the body.
    for bad in ["a\u{0}b", "\u{8}", "x\u{13}", "\u{FFFF}"] {
        expect_sdk_err(
            sdk.send_message()
                .queue_url(&url)
                .message_body(bad)
                .send()
                .await,
            "InvalidMessageContents",
            400,
        );
        expect_query_err(
            &q_send(&s, &url, bad, &[]).await,
            "InvalidMessageContents",
            400,
        );
    }
    // Tab, newline, CR and astral characters are fine.
    assert!(sdk
        .send_message()
        .queue_url(&url)
        .message_body("\t\n\r \u{E000} \u{10FFFF} 🦀")
        .send()
        .await
        .is_ok());

    // Empty body.
    expect_sdk_err(
        sdk.send_message()
            .queue_url(&url)
            .message_body("")
            .send()
            .await,
        "MissingParameter",
        400,
    );
    let r = s
        .json(
            "SendMessage",
            &serde_json::json!({"QueueUrl": url, "MessageBody": ""}).to_string(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.header("x-amzn-query-error").as_deref(),
        Some("MissingParameter;Sender")
    );
    let m = expect_query_err(&q_send(&s, &url, "", &[]).await, "MissingParameter", 400);
    assert_eq!(m, "The request must contain the parameter MessageBody.");
    expect_query_err(
        &s.query(&[("Action", "SendMessage"), ("QueueUrl", &url)])
            .await,
        "MissingParameter",
        400,
    );

    // Bad attributes: reserved prefix, empty value, unknown type.
    for (name, value) in [
        ("AWS.x", attr("String", "v")),
        (".lead", attr("String", "v")),
        ("ok", attr("String", "")),
        ("ok", attr("Text", "v")),
        ("n", attr("Number", "abc")),
    ] {
        expect_sdk_err(
            sdk.send_message()
                .queue_url(&url)
                .message_body("x")
                .message_attributes(name, value.clone())
                .send()
                .await,
            "InvalidParameterValue",
            400,
        );
    }
    expect_query_err(
        &q_send(
            &s,
            &url,
            "x",
            &[
                ("MessageAttribute.1.Name", "a"),
                ("MessageAttribute.1.Value.DataType", "String"),
                ("MessageAttribute.1.Value.StringValue", "bad\u{1}"),
            ],
        )
        .await,
        "InvalidParameterValue",
        400,
    );

    // DelaySeconds out of range.
    let m = expect_sdk_err(
        sdk.send_message()
            .queue_url(&url)
            .message_body("x")
            .delay_seconds(901)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    assert!(m.contains("DelaySeconds must be >= 0 and <= 900"), "{m}");
    expect_query_err(
        &q_send(&s, &url, "x", &[("DelaySeconds", "-1")]).await,
        "InvalidParameterValue",
        400,
    );
    // Exactly the two good sends are stored.
    assert_eq!(counts(&s, &url).await, (2, 0, 0));
    s.stop().await;
}

// ----- batches -----

fn entry(id: &str, body: &str) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(body)
        .build()
        .unwrap()
}

#[tokio::test]
async fn send_batch_partial_failures_json() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("batch"), &[("MaximumMessageSize", "1024")]).await;
    let out = s
        .sdk()
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("ok1", "one"))
        .entries(entry("bad_chars", "x\u{0}"))
        .entries(entry("too-big", &"a".repeat(1025)))
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("ok2")
                .message_body("two")
                .message_attributes("Foo", attr("String", "Bar"))
                .delay_seconds(0)
                .build()
                .unwrap(),
        )
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("baddelay")
                .message_body("x")
                .delay_seconds(1000)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let ok: HashMap<&str, _> = out.successful().iter().map(|e| (e.id(), e)).collect();
    assert_eq!(ok.len(), 2, "{out:?}");
    assert_eq!(ok["ok1"].md5_of_message_body(), md5(b"one"));
    assert!(ok["ok1"].md5_of_message_attributes().is_none());
    assert_eq!(
        ok["ok2"].md5_of_message_attributes(),
        Some("ae7155c6026991b6d54b11589678bf9c")
    );
    let failed: HashMap<&str, _> = out.failed().iter().map(|e| (e.id(), e)).collect();
    assert_eq!(failed.len(), 3, "{out:?}");
    assert_eq!(failed["bad_chars"].code(), "InvalidMessageContents");
    assert!(failed["bad_chars"].sender_fault());
    assert_eq!(failed["too-big"].code(), "InvalidParameterValue");
    assert!(failed["too-big"]
        .message()
        .unwrap_or_default()
        .contains("Message must be shorter than 1024 bytes"));
    assert_eq!(failed["baddelay"].code(), "InvalidParameterValue");
    assert_eq!(counts(&s, &url).await, (2, 0, 0));
    let mut bodies: Vec<String> = receive(&s, &url, 10, 0, None)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_string())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["one", "two"]);
    s.stop().await;
}

#[tokio::test]
async fn send_batch_partial_failures_query() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("batchq"), &[]).await;
    let r = s
        .query(&[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", &url),
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "hello"),
            ("SendMessageBatchRequestEntry.2.Id", "b"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "bad\u{FFFE}"),
            ("SendMessageBatchRequestEntry.3.Id", "c"),
            ("SendMessageBatchRequestEntry.3.MessageBody", "test"),
            (
                "SendMessageBatchRequestEntry.3.MessageAttribute.1.Name",
                "Foo",
            ),
            (
                "SendMessageBatchRequestEntry.3.MessageAttribute.1.Value.DataType",
                "String",
            ),
            (
                "SendMessageBatchRequestEntry.3.MessageAttribute.1.Value.StringValue",
                "Bar",
            ),
        ])
        .await;
    expect_query_ok(&r);
    let ok = xml_blocks(&r.body, "SendMessageBatchResultEntry");
    assert_eq!(ok.len(), 2, "{}", r.body);
    let c = ok.iter().find(|b| b.contains("<Id>c</Id>")).unwrap();
    assert_eq!(
        crate::harness::xml_all(c, "MD5OfMessageBody"),
        vec!["098f6bcd4621d373cade4e832627b4f6"]
    );
    assert_eq!(
        crate::harness::xml_all(c, "MD5OfMessageAttributes"),
        vec!["ae7155c6026991b6d54b11589678bf9c"]
    );
    let a = ok.iter().find(|b| b.contains("<Id>a</Id>")).unwrap();
    assert_eq!(
        crate::harness::xml_all(a, "MD5OfMessageBody"),
        vec!["5d41402abc4b2a76b9719d911017c592"]
    );
    let failed = xml_blocks(&r.body, "BatchResultErrorEntry");
    assert_eq!(failed.len(), 1, "{}", r.body);
    assert_eq!(crate::harness::xml_all(&failed[0], "Id"), vec!["b"]);
    assert_eq!(
        crate::harness::xml_all(&failed[0], "Code"),
        vec!["InvalidMessageContents"]
    );
    assert_eq!(
        crate::harness::xml_all(&failed[0], "SenderFault"),
        vec!["true"]
    );
    assert_eq!(counts(&s, &url).await, (2, 0, 0));
    s.stop().await;
}

#[tokio::test]
async fn send_batch_whole_request_errors() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("batcherr"), &[]).await;
    let sdk = s.sdk();

    // EmptyBatchRequest
    let r = s
        .json(
            "SendMessageBatch",
            &serde_json::json!({"QueueUrl": url, "Entries": []}).to_string(),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.header("x-amzn-query-error").as_deref(),
        Some("AWS.SimpleQueueService.EmptyBatchRequest;Sender")
    );
    let e = sdk
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_empty_batch_request(),
        "{e:?}"
    );
    expect_query_err(
        &s.query(&[("Action", "SendMessageBatch"), ("QueueUrl", &url)])
            .await,
        "AWS.SimpleQueueService.EmptyBatchRequest",
        400,
    );

    // TooManyEntriesInBatchRequest
    let mut req = sdk.send_message_batch().queue_url(&url);
    for i in 0..11 {
        req = req.entries(entry(&format!("e{i}"), "x"));
    }
    let m = expect_sdk_err(
        req.send().await,
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
    );
    assert_eq!(
        m,
        "Maximum number of entries per request are 10. You have sent 11."
    );
    let mut p: Vec<(String, String)> = vec![
        ("Action".into(), "SendMessageBatch".into()),
        ("QueueUrl".into(), url.clone()),
    ];
    for i in 1..=11 {
        p.push((
            format!("SendMessageBatchRequestEntry.{i}.Id"),
            format!("e{i}"),
        ));
        p.push((
            format!("SendMessageBatchRequestEntry.{i}.MessageBody"),
            "x".into(),
        ));
    }
    let pr: Vec<(&str, &str)> = p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    expect_query_err(
        &s.query(&pr).await,
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
    );

    // BatchEntryIdsNotDistinct
    let e = sdk
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("same", "a"))
        .entries(entry("same", "b"))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_batch_entry_ids_not_distinct(),
        "{e:?}"
    );
    expect_query_err(
        &s.query(&[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", &url),
            ("SendMessageBatchRequestEntry.1.Id", "same"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "a"),
            ("SendMessageBatchRequestEntry.2.Id", "same"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "b"),
        ])
        .await,
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        400,
    );

    // InvalidBatchEntryId: bad character, too long.
    for bad in ["invalid:id".to_string(), "x".repeat(81)] {
        let m = expect_sdk_err(
            sdk.send_message_batch()
                .queue_url(&url)
                .entries(entry("good", "a"))
                .entries(entry(&bad, "b"))
                .send()
                .await,
            "AWS.SimpleQueueService.InvalidBatchEntryId",
            400,
        );
        assert!(
            m.contains("alphanumeric characters, hyphens and underscores"),
            "{m}"
        );
    }
    let ok = sdk
        .send_message_batch()
        .queue_url(&url)
        .entries(entry(&"x".repeat(80), "80 chars is fine"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.successful().len(), 1, "{ok:?}");
    assert!(ok.failed().is_empty(), "{ok:?}");
    expect_query_err(
        &s.query(&[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", &url),
            ("SendMessageBatchRequestEntry.1.Id", "bad id"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "a"),
        ])
        .await,
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        400,
    );

    // BatchRequestTooLong: two entries of 600,000 bytes each (each fine on its own).
    let half = "a".repeat(600_000);
    let m = expect_sdk_err(
        sdk.send_message_batch()
            .queue_url(&url)
            .entries(entry("a", &half))
            .entries(entry("b", &half))
            .send()
            .await,
        "AWS.SimpleQueueService.BatchRequestTooLong",
        400,
    );
    assert!(m.contains("1048576"), "{m}");
    expect_query_err(
        &s.query(&[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", &url),
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.MessageBody", &half),
            ("SendMessageBatchRequestEntry.2.Id", "b"),
            ("SendMessageBatchRequestEntry.2.MessageBody", &half),
        ])
        .await,
        "AWS.SimpleQueueService.BatchRequestTooLong",
        400,
    );
    // Nothing from a rejected request was stored; only the 80-character-id entry.
    assert_eq!(counts(&s, &url).await, (1, 0, 0));
    s.stop().await;
}

// ----- delete, receipt handles -----

#[tokio::test]
async fn delete_is_idempotent_and_garbage_handles_are_invalid() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("delete"), &[]).await;
    send(&s, &url, "x").await;
    let m = receive(&s, &url, 1, 0, None).await.remove(0);
    for _ in 0..3 {
        delete(&s, &url, &m).await;
    }
    let r = s
        .query(&[
            ("Action", "DeleteMessage"),
            ("QueueUrl", &url),
            ("ReceiptHandle", m.receipt_handle().unwrap()),
        ])
        .await;
    expect_query_ok(&r);
    assert_eq!(counts(&s, &url).await, (0, 0, 0));

    let e = s
        .sdk()
        .delete_message()
        .queue_url(&url)
        .receipt_handle("garbage")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_receipt_handle_is_invalid(),
        "{e:?}"
    );
    let (code, status, msg) = sdk_err(e);
    assert_eq!((code.as_str(), status), ("ReceiptHandleIsInvalid", 404));
    assert_eq!(
        msg,
        "The input receipt handle \"garbage\" is not a valid receipt handle."
    );
    expect_query_err(
        &s.query(&[
            ("Action", "DeleteMessage"),
            ("QueueUrl", &url),
            ("ReceiptHandle", "garbage"),
        ])
        .await,
        "ReceiptHandleIsInvalid",
        404,
    );
    expect_sdk_err(
        s.sdk()
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle("garbage")
            .visibility_timeout(10)
            .send()
            .await,
        "ReceiptHandleIsInvalid",
        404,
    );
    expect_query_err(
        &s.query(&[
            ("Action", "ChangeMessageVisibility"),
            ("QueueUrl", &url),
            ("ReceiptHandle", "garbage"),
            ("VisibilityTimeout", "10"),
        ])
        .await,
        "ReceiptHandleIsInvalid",
        404,
    );

    // A handle of another queue is not valid for this one.
    let other = create_queue(&s, &unique("delete-other"), &[]).await;
    send(&s, &other, "y").await;
    let m = receive(&s, &other, 1, 0, None).await.remove(0);
    expect_sdk_err(
        s.sdk()
            .delete_message()
            .queue_url(&url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await,
        "ReceiptHandleIsInvalid",
        404,
    );
    assert_eq!(counts(&s, &other).await, (0, 1, 0));
    s.stop().await;
}

#[tokio::test]
async fn batch_delete_and_change_visibility_report_bad_handles_per_entry() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("batchdel"), &[]).await;
    for b in ["a", "b", "c"] {
        send(&s, &url, b).await;
    }
    let msgs = receive(&s, &url, 10, 0, None).await;
    assert_eq!(msgs.len(), 3);
    let h = |i: usize| msgs[i].receipt_handle().unwrap().to_string();

    let out = s
        .sdk()
        .change_message_visibility_batch()
        .queue_url(&url)
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("good")
                .receipt_handle(h(0))
                .visibility_timeout(0)
                .build()
                .unwrap(),
        )
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("bad")
                .receipt_handle("garbage")
                .visibility_timeout(0)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.successful().len(), 1);
    assert_eq!(out.successful()[0].id(), "good");
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].id(), "bad");
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");
    assert!(out.failed()[0].sender_fault());
    assert_eq!(counts(&s, &url).await, (1, 2, 0));

    let out = s
        .sdk()
        .delete_message_batch()
        .queue_url(&url)
        .entries(
            DeleteMessageBatchRequestEntry::builder()
                .id("d1")
                .receipt_handle(h(1))
                .build()
                .unwrap(),
        )
        .entries(
            DeleteMessageBatchRequestEntry::builder()
                .id("d2")
                .receipt_handle("garbage")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.successful().len(), 1);
    assert_eq!(out.successful()[0].id(), "d1");
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");
    assert_eq!(
        out.failed()[0].message(),
        Some("The input receipt handle \"garbage\" is not a valid receipt handle.")
    );
    assert!(out.failed()[0].sender_fault());
    assert_eq!(counts(&s, &url).await, (1, 1, 0));

    // Query: HTTP 200 with a BatchResultErrorEntry.
    let h2 = h(2);
    let r = s
        .query(&[
            ("Action", "DeleteMessageBatch"),
            ("QueueUrl", &url),
            ("DeleteMessageBatchRequestEntry.1.Id", "ok"),
            ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", &h2),
            ("DeleteMessageBatchRequestEntry.2.Id", "ko"),
            ("DeleteMessageBatchRequestEntry.2.ReceiptHandle", "garbage"),
        ])
        .await;
    expect_query_ok(&r);
    let ok = xml_blocks(&r.body, "DeleteMessageBatchResultEntry");
    assert_eq!(ok.len(), 1, "{}", r.body);
    assert!(ok[0].contains("<Id>ok</Id>"));
    let failed = xml_blocks(&r.body, "BatchResultErrorEntry");
    assert_eq!(failed.len(), 1, "{}", r.body);
    assert_eq!(
        crate::harness::xml_all(&failed[0], "Code"),
        vec!["ReceiptHandleIsInvalid"]
    );
    assert_eq!(
        crate::harness::xml_all(&failed[0], "SenderFault"),
        vec!["true"]
    );
    let r = s
        .query(&[
            ("Action", "ChangeMessageVisibilityBatch"),
            ("QueueUrl", &url),
            ("ChangeMessageVisibilityBatchRequestEntry.1.Id", "ko"),
            (
                "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle",
                "garbage",
            ),
            (
                "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout",
                "5",
            ),
        ])
        .await;
    expect_query_ok(&r);
    let failed = xml_blocks(&r.body, "BatchResultErrorEntry");
    assert_eq!(failed.len(), 1, "{}", r.body);
    assert_eq!(
        crate::harness::xml_all(&failed[0], "Code"),
        vec!["ReceiptHandleIsInvalid"]
    );
    assert_eq!(counts(&s, &url).await, (1, 0, 0));

    // Batch whole-request checks apply to deletes too.
    let e = s
        .sdk()
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_empty_batch_request());
    s.stop().await;
}

#[tokio::test]
async fn receipt_handles_differ_between_receives() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("handles"), &[]).await;
    send(&s, &url, "x").await;
    let mut handles = Vec::new();
    for _ in 0..3 {
        let m = receive(&s, &url, 1, 0, Some(0)).await.remove(0);
        handles.push(m.receipt_handle().unwrap().to_string());
    }
    assert_ne!(handles[0], handles[1]);
    assert_ne!(handles[1], handles[2]);
    assert_ne!(handles[0], handles[2]);
    assert!(handles.iter().all(|h| h.len() <= 1024));
    // On a standard queue an older handle still deletes the message.
    s.sdk()
        .delete_message()
        .queue_url(&url)
        .receipt_handle(&handles[0])
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    s.stop().await;
}

// ----- visibility -----

#[tokio::test]
async fn visibility_timeout_expiry_and_changes() {
    let (s, clock) = crate::clock::start(&[]).await;
    let url = create_queue(&s, &unique("visibility"), &[("VisibilityTimeout", "1")]).await;
    let id = send(&s, &url, "x").await;

    // Queue default (1 s): hidden, then back.
    let m = receive(&s, &url, 1, 0, None).await.remove(0);
    assert_eq!(m.message_id(), Some(id.as_str()));
    assert!(receive(&s, &url, 1, 0, None).await.is_empty());
    assert_eq!(counts(&s, &url).await, (0, 1, 0));
    clock.advance_ms(1200);
    assert_eq!(counts(&s, &url).await, (1, 0, 0));
    let m = receive(&s, &url, 1, 0, Some(30)).await.remove(0);
    assert_eq!(sys(&m)["ApproximateReceiveCount"], "2");

    // The per-receive override (30 s) holds beyond the queue default.
    clock.advance_ms(1200);
    assert!(receive(&s, &url, 1, 0, None).await.is_empty());

    // ChangeMessageVisibility 0: visible at once.
    s.sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(m.receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let m = receive(&s, &url, 1, 0, Some(30)).await.remove(0);
    assert_eq!(sys(&m)["ApproximateReceiveCount"], "3");

    // Over Query: extend to 60 s, then back to 0.
    let h = m.receipt_handle().unwrap().to_string();
    let r = s
        .query(&[
            ("Action", "ChangeMessageVisibility"),
            ("QueueUrl", &url),
            ("ReceiptHandle", &h),
            ("VisibilityTimeout", "60"),
        ])
        .await;
    expect_query_ok(&r);
    assert!(
        r.body.contains("<ChangeMessageVisibilityResponse"),
        "{}",
        r.body
    );
    assert!(receive(&s, &url, 1, 0, None).await.is_empty());

    // Out of range, and more than 12 h counted from the receive.
    expect_sdk_err(
        s.sdk()
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(&h)
            .visibility_timeout(43_201)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    clock.advance_ms(50);
    expect_sdk_err(
        s.sdk()
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(&h)
            .visibility_timeout(43_200)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    expect_query_err(
        &s.query(&[
            ("Action", "ChangeMessageVisibility"),
            ("QueueUrl", &url),
            ("ReceiptHandle", &h),
            ("VisibilityTimeout", "43200"),
        ])
        .await,
        "InvalidParameterValue",
        400,
    );
    // 12 h minus a minute is still within the limit.
    s.sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&h)
        .visibility_timeout(43_140)
        .send()
        .await
        .unwrap();

    // After delete: InvalidParameterValue.
    s.sdk()
        .delete_message()
        .queue_url(&url)
        .receipt_handle(&h)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    let msg = expect_sdk_err(
        s.sdk()
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(&h)
            .visibility_timeout(10)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    assert!(
        msg.contains("Message does not exist or is not available for visibility timeout change"),
        "{msg}"
    );
    expect_query_err(
        &s.query(&[
            ("Action", "ChangeMessageVisibility"),
            ("QueueUrl", &url),
            ("ReceiptHandle", &h),
            ("VisibilityTimeout", "10"),
        ])
        .await,
        "InvalidParameterValue",
        400,
    );
    s.stop().await;
}

// ----- delays and counters -----

/// Standard queues deliver oldest sent first (best effort): a message whose visibility
/// timeout lapsed goes back to its place, ahead of a message sent while it was in flight.
/// Recorded on AWS: send t1, receive it (VT 3), 1.5 s later send t2, 3 s later receive one → t1.
#[tokio::test]
async fn standard_queue_delivers_the_oldest_sent_first() {
    let (s, clock) = crate::clock::start(&[]).await;
    let url = create_queue(&s, &unique("oldest"), &[]).await;
    send(&s, &url, "t1").await;
    let first = receive(&s, &url, 1, 0, Some(1)).await;
    assert_eq!(first[0].body(), Some("t1"));
    send(&s, &url, "t2").await;
    clock.advance_ms(1200);
    let again = receive(&s, &url, 1, 0, None).await;
    assert_eq!(again[0].body(), Some("t1"));
    assert_eq!(sys(&again[0])["ApproximateReceiveCount"], "2");

    // Over Query: t1 released by ChangeMessageVisibility 0 comes before t2 and t3.
    let url = create_queue(&s, &unique("oldest-q"), &[]).await;
    q_send(&s, &url, "t1", &[]).await;
    let r = q_receive(&s, &url, &[("VisibilityTimeout", "30")]).await;
    let handle = r.xml("ReceiptHandle").expect("t1 received");
    q_send(&s, &url, "t2", &[]).await;
    q_send(&s, &url, "t3", &[]).await;
    let r = s
        .query(&[
            ("Action", "ChangeMessageVisibility"),
            ("QueueUrl", &url),
            ("ReceiptHandle", &handle),
            ("VisibilityTimeout", "0"),
        ])
        .await;
    expect_query_ok(&r);
    let r = q_receive(&s, &url, &[("MaxNumberOfMessages", "10")]).await;
    assert_eq!(r.xml_all("Body"), ["t1", "t2", "t3"]);
    s.stop().await;
}

#[tokio::test]
async fn delay_seconds_per_queue_and_per_message() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("delay"), &[("DelaySeconds", "1")]).await;
    send(&s, &url, "queue-delay").await;
    assert_eq!(counts(&s, &url).await, (0, 0, 1));
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    // An explicit per-message 0 overrides the queue's delay.
    s.sdk()
        .send_message()
        .queue_url(&url)
        .message_body("no-delay")
        .delay_seconds(0)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&s, &url).await, (1, 0, 1));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(counts(&s, &url).await, (2, 0, 0));
    let mut bodies: Vec<String> = receive(&s, &url, 10, 0, None)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_string())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["no-delay", "queue-delay"]);

    // Per message on a queue without delay, over both protocols.
    let url = create_queue(&s, &unique("delay-msg"), &[]).await;
    s.sdk()
        .send_message()
        .queue_url(&url)
        .message_body("m1")
        .delay_seconds(1)
        .send()
        .await
        .unwrap();
    expect_query_ok(&q_send(&s, &url, "m2", &[("DelaySeconds", "1")]).await);
    s.sdk()
        .send_message_batch()
        .queue_url(&url)
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("b")
                .message_body("m3")
                .delay_seconds(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&s, &url).await, (0, 0, 3));
    assert!(receive(&s, &url, 10, 0, None).await.is_empty());
    // A long poll returns when the delay ends.
    let t = Instant::now();
    let got = receive(&s, &url, 10, 5, None).await;
    assert!(!got.is_empty());
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (v, nv, d) = counts(&s, &url).await;
    assert_eq!((v + nv, d), (3, 0));
    assert_eq!(nv, got.len() as u64, "the received messages are in flight");
    s.stop().await;
}

#[tokio::test]
async fn approximate_counters_are_exact() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("counters"), &[]).await;
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    for i in 0..5 {
        send(&s, &url, &format!("m{i}")).await;
    }
    s.sdk()
        .send_message()
        .queue_url(&url)
        .message_body("late")
        .delay_seconds(60)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&s, &url).await, (5, 0, 1));
    let got = receive(&s, &url, 2, 0, None).await;
    assert_eq!(got.len(), 2);
    assert_eq!(counts(&s, &url).await, (3, 2, 1));
    delete(&s, &url, &got[0]).await;
    assert_eq!(counts(&s, &url).await, (3, 1, 1));
    s.sdk()
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(got[1].receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&s, &url).await, (4, 0, 1));
    // Query GetQueueAttributes reports the same.
    let r = s
        .query(&[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", &url),
            ("AttributeName.1", "ApproximateNumberOfMessages"),
            ("AttributeName.2", "ApproximateNumberOfMessagesNotVisible"),
            ("AttributeName.3", "ApproximateNumberOfMessagesDelayed"),
        ])
        .await;
    expect_query_ok(&r);
    let a = xml_attributes(&r.body);
    assert_eq!(a["ApproximateNumberOfMessages"], "4");
    assert_eq!(a["ApproximateNumberOfMessagesNotVisible"], "0");
    assert_eq!(a["ApproximateNumberOfMessagesDelayed"], "1");
    s.stop().await;
}

// ----- long polling -----

#[tokio::test]
async fn long_poll_on_an_empty_queue_waits() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("lp-empty"), &[]).await;
    let t = Instant::now();
    let got = receive(&s, &url, 1, 2, None).await;
    let el = t.elapsed();
    assert!(got.is_empty());
    assert!(
        el >= Duration::from_millis(1900) && el < Duration::from_millis(3500),
        "{el:?}"
    );
    // Over Query too.
    let t = Instant::now();
    let r = q_receive(&s, &url, &[("WaitTimeSeconds", "2")]).await;
    let el = t.elapsed();
    assert!(xml_blocks(&r.body, "Message").is_empty());
    assert!(
        el >= Duration::from_millis(1900) && el < Duration::from_millis(3500),
        "{el:?}"
    );
    // WaitTimeSeconds=0 is a short poll even with a queue default.
    set_attrs(&s, &url, &[("ReceiveMessageWaitTimeSeconds", "2")]).await;
    let t = Instant::now();
    assert!(receive(&s, &url, 1, 0, None).await.is_empty());
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    s.stop().await;
}

#[tokio::test]
async fn queue_receive_wait_time_is_the_default() {
    let s = TestServer::start().await;
    let url = create_queue(
        &s,
        &unique("lp-default"),
        &[("ReceiveMessageWaitTimeSeconds", "2")],
    )
    .await;
    let t = Instant::now();
    let out = s
        .sdk()
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    let el = t.elapsed();
    assert!(out.messages().is_empty());
    assert!(
        el >= Duration::from_millis(1900) && el < Duration::from_millis(3500),
        "{el:?}"
    );
    let t = Instant::now();
    let r = q_receive(&s, &url, &[]).await;
    assert!(xml_blocks(&r.body, "Message").is_empty());
    assert!(
        t.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        t.elapsed()
    );
    s.stop().await;
}

#[tokio::test]
async fn long_poll_returns_promptly_when_a_message_arrives() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("lp-wake"), &[]).await;
    let sdk = s.sdk();
    let u = url.clone();
    let waiter = tokio::spawn(async move {
        let out = sdk
            .receive_message()
            .queue_url(&u)
            .wait_time_seconds(10)
            .send()
            .await
            .unwrap();
        (Instant::now(), out.messages().to_vec())
    });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        !waiter.is_finished(),
        "the long poll returned before a send"
    );
    send(&s, &url, "wake").await;
    let sent_at = Instant::now();
    let (returned_at, msgs) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("long poll returned")
        .unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].body(), Some("wake"));
    let lag = returned_at.saturating_duration_since(sent_at);
    // 200 ms target plus 500 ms slack for loaded CI machines.
    assert!(
        lag < Duration::from_millis(700),
        "returned {lag:?} after the send"
    );

    // The same for a Query long poll woken by a Query send.
    let s2 = std::sync::Arc::new(s);
    let s3 = s2.clone();
    let u = url.clone();
    let waiter = tokio::spawn(async move {
        let r = s3
            .query(&[
                ("Action", "ReceiveMessage"),
                ("QueueUrl", &u),
                ("WaitTimeSeconds", "10"),
            ])
            .await;
        (Instant::now(), r)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiter.is_finished());
    expect_query_ok(&q_send(&s2, &url, "wake2", &[]).await);
    let sent_at = Instant::now();
    let (returned_at, r) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("long poll returned")
        .unwrap();
    assert_eq!(r.xml("Body").as_deref(), Some("wake2"), "{}", r.body);
    let lag = returned_at.saturating_duration_since(sent_at);
    assert!(
        lag < Duration::from_millis(700),
        "returned {lag:?} after the send"
    );
    if let Ok(s) = std::sync::Arc::try_unwrap(s2) {
        s.stop().await;
    }
}

#[tokio::test]
async fn receive_parameter_ranges() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("recv-range"), &[]).await;
    let sdk = s.sdk();
    for n in [0, 11] {
        let m = expect_sdk_err(
            sdk.receive_message()
                .queue_url(&url)
                .max_number_of_messages(n)
                .send()
                .await,
            "InvalidParameterValue",
            400,
        );
        assert_eq!(
            m,
            format!("Value {n} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")
        );
    }
    for w in [-1, 21] {
        let m = expect_sdk_err(
            sdk.receive_message()
                .queue_url(&url)
                .wait_time_seconds(w)
                .send()
                .await,
            "InvalidParameterValue",
            400,
        );
        assert_eq!(
            m,
            format!("Value {w} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")
        );
    }
    expect_sdk_err(
        sdk.receive_message()
            .queue_url(&url)
            .visibility_timeout(43_201)
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    expect_query_err(
        &s.query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("MaxNumberOfMessages", "11"),
        ])
        .await,
        "InvalidParameterValue",
        400,
    );
    expect_query_err(
        &s.query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("WaitTimeSeconds", "21"),
        ])
        .await,
        "InvalidParameterValue",
        400,
    );
    // The limits themselves are fine.
    send(&s, &url, "x").await;
    let out = sdk
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .wait_time_seconds(20)
        .visibility_timeout(43_200)
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 1);
    s.stop().await;
}

// ----- purge -----

#[tokio::test]
async fn purge_removes_visible_and_in_flight_then_cools_down() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("purge"), &[]).await;
    for i in 0..4 {
        send(&s, &url, &format!("m{i}")).await;
    }
    let inflight = receive(&s, &url, 2, 0, None).await;
    assert_eq!(inflight.len(), 2);
    s.sdk()
        .send_message()
        .queue_url(&url)
        .message_body("delayed")
        .delay_seconds(30)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&s, &url).await, (2, 2, 1));
    s.sdk().purge_queue().queue_url(&url).send().await.unwrap();
    assert_eq!(counts(&s, &url).await, (0, 0, 0));
    assert!(receive(&s, &url, 10, 0, Some(0)).await.is_empty());

    let e = s
        .sdk()
        .purge_queue()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_purge_queue_in_progress(),
        "{e:?}"
    );
    let name = url.rsplit('/').next().unwrap().to_string();
    let (code, status, msg) = sdk_err(e);
    assert_eq!(
        (code.as_str(), status),
        ("AWS.SimpleQueueService.PurgeQueueInProgress", 403)
    );
    assert_eq!(
        msg,
        format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds.")
    );
    expect_query_err(
        &s.query(&[("Action", "PurgeQueue"), ("QueueUrl", &url)])
            .await,
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        403,
    );

    // New messages after a purge are kept; a purge over Query on another queue works.
    send(&s, &url, "after").await;
    assert_eq!(counts(&s, &url).await, (1, 0, 0));
    let url2 = create_queue(&s, &unique("purge-q"), &[]).await;
    send(&s, &url2, "x").await;
    let r = s
        .query(&[("Action", "PurgeQueue"), ("QueueUrl", &url2)])
        .await;
    expect_query_ok(&r);
    assert!(r.body.contains("<PurgeQueueResponse"), "{}", r.body);
    assert_eq!(counts(&s, &url2).await, (0, 0, 0));
    s.stop().await;
}

// Retention: MessageRetentionPeriod cannot go below 60 s, so showing that lowering it expires
// older messages needs a message older than 60 s: too slow for this suite, so not tested here.

// ----- in-flight limit -----

#[tokio::test]
async fn over_limit_on_short_poll_and_empty_on_long_poll() {
    let s = TestServer::start_with(&["--max-inflight", "5"]).await;
    let url = create_queue(&s, &unique("overlimit"), &[]).await;
    for i in 0..8 {
        send(&s, &url, &format!("m{i}")).await;
    }
    let got = receive(&s, &url, 5, 0, None).await;
    assert_eq!(got.len(), 5);
    assert_eq!(counts(&s, &url).await, (3, 5, 0));
    let e = s
        .sdk()
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_over_limit(), "{e:?}");
    let (code, status, _) = sdk_err(e);
    assert_eq!((code.as_str(), status), ("OverLimit", 403));
    expect_query_err(
        &s.query(&[("Action", "ReceiveMessage"), ("QueueUrl", &url)])
            .await,
        "OverLimit",
        403,
    );
    // Long poll: no error, nothing delivered.
    let t = Instant::now();
    assert!(receive(&s, &url, 1, 1, None).await.is_empty());
    assert!(t.elapsed() >= Duration::from_millis(900));
    let r = q_receive(&s, &url, &[("WaitTimeSeconds", "1")]).await;
    assert!(xml_blocks(&r.body, "Message").is_empty(), "{}", r.body);
    // Deleting one frees a slot: short polls work again (the limit is approximate, so how
    // many one receive may take past it is not asserted, only that the counts agree).
    delete(&s, &url, &got[0]).await;
    assert_eq!(counts(&s, &url).await, (3, 4, 0));
    let more = receive(&s, &url, 10, 0, None).await;
    let k = more.len() as u64;
    assert!((1..=3).contains(&k), "{k} received");
    assert_eq!(counts(&s, &url).await, (3 - k, 4 + k, 0));
    s.stop().await;
}

// ----- fair queues -----

#[tokio::test]
async fn message_group_id_on_a_standard_queue() {
    let s = TestServer::start().await;
    let url = create_queue(&s, &unique("fair"), &[]).await;
    let out = s
        .sdk()
        .send_message()
        .queue_url(&url)
        .message_body("a")
        .message_group_id("tenant-1")
        .send()
        .await
        .unwrap();
    assert!(out.sequence_number().is_none());
    expect_query_ok(&q_send(&s, &url, "b", &[("MessageGroupId", "tenant-1")]).await);
    // No group locking on a standard queue: both messages of the group come at once.
    let got = receive(&s, &url, 10, 0, None).await;
    assert_eq!(got.len(), 2);
    for m in &got {
        let a = sys(m);
        assert_eq!(a["MessageGroupId"], "tenant-1");
        assert!(!a.contains_key("SequenceNumber"));
        assert!(!a.contains_key("MessageDeduplicationId"));
    }
    let r = q_receive(
        &s,
        &url,
        &[
            ("AttributeName.1", "MessageGroupId"),
            ("VisibilityTimeout", "0"),
        ],
    )
    .await;
    assert!(xml_blocks(&r.body, "Message").is_empty());

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
        assert!(m.contains("MessageGroupId"), "{m}");
        expect_query_err(
            &q_send(&s, &url, "x", &[("MessageGroupId", bad)]).await,
            "InvalidParameterValue",
            400,
        );
    }
    // MessageDeduplicationId is not valid for a standard queue.
    expect_sdk_err(
        s.sdk()
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .message_deduplication_id("d1")
            .send()
            .await,
        "InvalidParameterValue",
        400,
    );
    expect_query_err(
        &q_send(&s, &url, "x", &[("MessageDeduplicationId", "d1")]).await,
        "InvalidParameterValue",
        400,
    );
    assert_eq!(counts(&s, &url).await, (0, 2, 0));
    s.stop().await;
}

/// The bodies of `n` messages sent to a new queue of a server started with `--shuffle-seed
/// seed`, in the order ten-message receives deliver them.
async fn shuffled_order(seed: &str, n: usize) -> Vec<String> {
    let s = TestServer::start_with(&["--shuffle-seed", seed]).await;
    let sqs = s.sdk();
    let url = sqs
        .create_queue()
        .queue_name("shuffled")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for i in 0..n {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    let mut order = Vec::new();
    while order.len() < n {
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .send()
            .await
            .unwrap();
        assert!(!got.messages().is_empty(), "{order:?}");
        order.extend(got.messages().iter().map(|m| m.body().unwrap().to_string()));
    }
    s.stop().await;
    order
}

#[tokio::test]
async fn a_shuffle_seed_gives_a_reproducible_delivery_order() {
    let first = shuffled_order("7", 50).await;
    let oldest_first: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    assert_ne!(first, oldest_first);
    let mut sorted = first.clone();
    sorted.sort_by_key(|b| b[1..].parse::<u32>().unwrap());
    assert_eq!(sorted, oldest_first, "every message once");
    assert_eq!(
        shuffled_order("7", 50).await,
        first,
        "same seed, same order"
    );
    assert_ne!(
        shuffled_order("8", 50).await,
        first,
        "another seed, another order"
    );
}

#[tokio::test]
async fn a_shuffle_seed_leaves_fifo_order_alone() {
    let s = TestServer::start_with(&["--shuffle-seed", "7"]).await;
    let sqs = s.sdk();
    let url = sqs
        .create_queue()
        .queue_name("ordered.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let sent: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    for body in &sent {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .message_group_id("g")
            .send()
            .await
            .unwrap();
    }
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, sent);
    s.stop().await;
}
