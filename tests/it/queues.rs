//! Queue management (SQS-REFERENCE §1.3, §2, §4, §9), through the Rust SDK (JSON protocol) and
//! the raw signed Query client (XML).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::types::QueueAttributeName as A;

use crate::harness::{assert_json_error, assert_query_error, sdk_failure, unique, Raw, TestServer};

const NON_EXISTENT: &str = "AWS.SimpleQueueService.NonExistentQueue";

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn create(s: &TestServer, name: &str) -> String {
    s.sdk()
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"))
        .queue_url
        .unwrap()
}

async fn create_fifo(s: &TestServer, name: &str) -> String {
    s.sdk()
        .create_queue()
        .queue_name(name)
        .attributes(A::FifoQueue, "true")
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"))
        .queue_url
        .unwrap()
}

/// GetQueueAttributes through the SDK, as a name → value map.
async fn sdk_attrs(s: &TestServer, url: &str, names: &[&str]) -> BTreeMap<String, String> {
    let mut req = s.sdk().get_queue_attributes().queue_url(url);
    for n in names {
        req = req.attribute_names(A::from(*n));
    }
    let out = req.send().await.expect("GetQueueAttributes");
    out.attributes()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// `<Name>`/`<Value>` pairs of a Query reply (attributes, or tags with `Key`).
fn pairs(r: &Raw, key: &str) -> BTreeMap<String, String> {
    let keys = r.xml_all(key);
    let values = r.xml_all("Value");
    assert_eq!(keys.len(), values.len(), "{}", r.body);
    keys.into_iter().zip(values).collect()
}

async fn query_attrs(s: &TestServer, url: &str, names: &[&str]) -> BTreeMap<String, String> {
    let keys: Vec<String> = (1..=names.len())
        .map(|i| format!("AttributeName.{i}"))
        .collect();
    let mut params = vec![("Action", "GetQueueAttributes"), ("QueueUrl", url)];
    for (k, n) in keys.iter().zip(names) {
        params.push((k.as_str(), n));
    }
    let r = s.query(&params).await;
    assert_eq!(r.status, 200, "{}", r.body);
    pairs(&r, "Name")
}

async fn sdk_tags(s: &TestServer, url: &str) -> BTreeMap<String, String> {
    let out = s
        .sdk()
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .expect("ListQueueTags");
    out.tags()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// CreateQueue

#[tokio::test]
async fn create_queue_returns_its_url_in_both_protocols() {
    let s = TestServer::start().await;
    let name = unique("cq");
    let url = create(&s, &name).await;
    assert_eq!(url, format!("http://{}/000000000000/{name}", s.addr));

    let name2 = unique("cq-query");
    let r = s
        .query(&[("Action", "CreateQueue"), ("QueueName", &name2)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<CreateQueueResponse"), "{}", r.body);
    assert!(r.body.contains("<CreateQueueResult>"), "{}", r.body);
    assert_eq!(r.xml("QueueUrl"), Some(s.queue_url(&name2)));
    // Both are real queues, visible to the other protocol.
    let got = s
        .sdk()
        .get_queue_url()
        .queue_name(&name2)
        .send()
        .await
        .unwrap();
    assert_eq!(got.queue_url(), Some(s.queue_url(&name2).as_str()));
    let r = s
        .query(&[("Action", "GetQueueUrl"), ("QueueName", &name)])
        .await;
    assert_eq!(r.xml("QueueUrl"), Some(url));
    s.stop().await;
}

#[tokio::test]
async fn create_queue_with_attributes_and_tags() {
    let s = TestServer::start().await;
    let name = unique("cq-attrs");
    let url = s
        .sdk()
        .create_queue()
        .queue_name(&name)
        .attributes(A::DelaySeconds, "5")
        .attributes(A::VisibilityTimeout, "45")
        .attributes(A::MessageRetentionPeriod, "3600")
        .attributes(A::MaximumMessageSize, "2048")
        .attributes(A::ReceiveMessageWaitTimeSeconds, "3")
        .tags("team", "core")
        .tags("env", "")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attrs = sdk_attrs(
        &s,
        &url,
        &[
            "DelaySeconds",
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "MaximumMessageSize",
            "ReceiveMessageWaitTimeSeconds",
        ],
    )
    .await;
    assert_eq!(
        attrs,
        map(&[
            ("DelaySeconds", "5"),
            ("VisibilityTimeout", "45"),
            ("MessageRetentionPeriod", "3600"),
            ("MaximumMessageSize", "2048"),
            ("ReceiveMessageWaitTimeSeconds", "3"),
        ])
    );
    assert_eq!(
        sdk_tags(&s, &url).await,
        map(&[("team", "core"), ("env", "")])
    );

    // The same through Query: Attribute.N.Name/Value and Tag.N.Key/Value.
    let qname = unique("cq-attrs-q");
    let r = s
        .query(&[
            ("Action", "CreateQueue"),
            ("QueueName", &qname),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "60"),
            ("Attribute.2.Name", "DelaySeconds"),
            ("Attribute.2.Value", "10"),
            ("Tag.1.Key", "owner"),
            ("Tag.1.Value", "me"),
            ("Tag.2.Key", "cost-center"),
            ("Tag.2.Value", "42"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let qurl = r.xml("QueueUrl").unwrap();
    let attrs = query_attrs(&s, &qurl, &["VisibilityTimeout", "DelaySeconds"]).await;
    assert_eq!(
        attrs,
        map(&[("VisibilityTimeout", "60"), ("DelaySeconds", "10")])
    );
    let r = s
        .query(&[("Action", "ListQueueTags"), ("QueueUrl", &qurl)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        pairs(&r, "Key"),
        map(&[("owner", "me"), ("cost-center", "42")])
    );
    s.stop().await;
}

#[tokio::test]
async fn fifo_queue_naming_rules() {
    let s = TestServer::start().await;
    let sdk = s.sdk();

    // A FIFO queue must end with `.fifo`, and the suffix counts toward the 80 characters.
    let name = format!("{}.fifo", unique("fifo"));
    let url = create_fifo(&s, &name).await;
    assert_eq!(url, s.queue_url(&name));
    let long_ok = format!("{}.fifo", "f".repeat(75));
    assert_eq!(long_ok.len(), 80);
    create_fifo(&s, &long_ok).await;
    let too_long = format!("{}.fifo", "f".repeat(76));
    let f = sdk_failure(
        sdk.create_queue()
            .queue_name(&too_long)
            .attributes(A::FifoQueue, "true")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (400, "InvalidParameterValue"));

    // FifoQueue=true without the suffix.
    let f = sdk_failure(
        sdk.create_queue()
            .queue_name(unique("nosuffix"))
            .attributes(A::FifoQueue, "true")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (400, "InvalidParameterValue"));

    // A standard queue named `*.fifo`.
    let f = sdk_failure(
        sdk.create_queue()
            .queue_name(format!("{}.fifo", unique("std")))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (400, "InvalidParameterValue"));

    // Query: same rules.
    let n = unique("q-nosuffix");
    let r = s
        .query(&[
            ("Action", "CreateQueue"),
            ("QueueName", &n),
            ("Attribute.1.Name", "FifoQueue"),
            ("Attribute.1.Value", "true"),
        ])
        .await;
    assert_query_error(&r, 400, "InvalidParameterValue");
    let n = format!("{}.fifo", unique("q-std"));
    let r = s
        .query(&[("Action", "CreateQueue"), ("QueueName", &n)])
        .await;
    assert_query_error(&r, 400, "InvalidParameterValue");
    let n = format!("{}.fifo", unique("q-fifo"));
    let r = s
        .query(&[
            ("Action", "CreateQueue"),
            ("QueueName", &n),
            ("Attribute.1.Name", "FifoQueue"),
            ("Attribute.1.Value", "true"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("QueueUrl"), Some(s.queue_url(&n)));
    // None of the refused names was created.
    let listed = sdk.list_queues().send().await.unwrap();
    assert_eq!(listed.queue_urls().len(), 3, "{:?}", listed.queue_urls());
    s.stop().await;
}

#[tokio::test]
async fn queue_name_rules() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let ok = format!("{}_-Az09", unique("n"));
    create(&s, &ok).await;
    let eighty = "a".repeat(80);
    create(&s, &eighty).await;
    for bad in [
        "a".repeat(81),
        "has space".into(),
        "dot.ted".into(),
        "sl/ash".into(),
    ] {
        let f = sdk_failure(
            sdk.create_queue()
                .queue_name(&bad)
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!(
            (f.status, f.code.as_str()),
            (400, "InvalidParameterValue"),
            "{bad}"
        );
    }
    // Names are case-sensitive: a different case is a different queue.
    let lower = unique("case");
    let upper = lower.to_uppercase();
    let u1 = create(&s, &lower).await;
    let u2 = create(&s, &upper).await;
    assert_ne!(u1, u2);
    s.stop().await;
}

#[tokio::test]
async fn fifo_only_attributes_on_a_standard_queue_at_creation() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    for (attr, value) in [
        ("FifoQueue", "false"),
        ("ContentBasedDeduplication", "true"),
    ] {
        let f = sdk_failure(
            sdk.create_queue()
                .queue_name(unique("std"))
                .attributes(A::from(attr), value)
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!((f.status, f.code.as_str()), (400, "InvalidAttributeName"));
        assert!(f.err.is_invalid_attribute_name());
        assert_eq!(f.message, format!("Unknown Attribute {attr}."));
    }
    for (attr, value) in [
        ("DeduplicationScope", "messageGroup"),
        ("FifoThroughputLimit", "perQueue"),
    ] {
        let f = sdk_failure(
            sdk.create_queue()
                .queue_name(unique("std"))
                .attributes(A::from(attr), value)
                .send()
                .await
                .unwrap_err(),
        );
        assert!(f.err.is_invalid_attribute_name(), "{attr}: {}", f.code);
        assert_eq!(f.status, 400);
        assert_eq!(
            f.message,
            format!("You can specify the {attr} only when FifoQueue is set to true.")
        );
    }
    let n = unique("q-std");
    let r = s
        .query(&[
            ("Action", "CreateQueue"),
            ("QueueName", &n),
            ("Attribute.1.Name", "FifoQueue"),
            ("Attribute.1.Value", "false"),
        ])
        .await;
    assert_query_error(&r, 400, "InvalidAttributeName");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("Unknown Attribute FifoQueue.")
    );
    assert!(sdk
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .is_empty());
    s.stop().await;
}

#[tokio::test]
async fn create_queue_is_idempotent_for_matching_attributes() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let name = unique("idem");
    let url = sdk
        .create_queue()
        .queue_name(&name)
        .attributes(A::DelaySeconds, "5")
        .attributes(A::VisibilityTimeout, "40")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    // No attributes: the existing URL, whatever the queue's settings.
    assert_eq!(create(&s, &name).await, url);
    // The same values, and a matching subset (including a default value left unchanged).
    let again = sdk
        .create_queue()
        .queue_name(&name)
        .attributes(A::DelaySeconds, "5")
        .attributes(A::VisibilityTimeout, "40")
        .send()
        .await
        .unwrap();
    assert_eq!(again.queue_url(), Some(url.as_str()));
    let subset = sdk
        .create_queue()
        .queue_name(&name)
        .attributes(A::DelaySeconds, "5")
        .attributes(A::MessageRetentionPeriod, "345600")
        .send()
        .await
        .unwrap();
    assert_eq!(subset.queue_url(), Some(url.as_str()));

    // A different value: QueueAlreadyExists (shape QueueNameExists), 400.
    let f = sdk_failure(
        sdk.create_queue()
            .queue_name(&name)
            .attributes(A::DelaySeconds, "6")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_name_exists(), "{}", f.code);
    assert_eq!((f.status, f.code.as_str()), (400, "QueueAlreadyExists"));
    let r = s
        .query(&[
            ("Action", "CreateQueue"),
            ("QueueName", &name),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "41"),
        ])
        .await;
    assert_query_error(&r, 400, "QueueAlreadyExists");
    let r = s
        .query(&[
            ("Action", "CreateQueue"),
            ("QueueName", &name),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "40"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("QueueUrl"), Some(url.clone()));
    // The refused calls changed nothing.
    assert_eq!(
        sdk_attrs(&s, &url, &["DelaySeconds", "VisibilityTimeout"]).await,
        map(&[("DelaySeconds", "5"), ("VisibilityTimeout", "40")])
    );
    assert_eq!(
        sdk.list_queues().send().await.unwrap().queue_urls().len(),
        1
    );
    s.stop().await;
}

#[tokio::test]
async fn create_queue_compares_against_the_current_values() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let name = unique("idem-set");
    let url = sdk
        .create_queue()
        .queue_name(&name)
        .attributes(A::VisibilityTimeout, "30")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sdk.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::VisibilityTimeout, "90")
        .send()
        .await
        .unwrap();
    let ok = sdk
        .create_queue()
        .queue_name(&name)
        .attributes(A::VisibilityTimeout, "90")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.queue_url(), Some(url.as_str()));
    let f = sdk_failure(
        sdk.create_queue()
            .queue_name(&name)
            .attributes(A::VisibilityTimeout, "30")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_name_exists());
    assert_eq!(f.status, 400);

    // FIFO: same rule for a FIFO attribute.
    let fname = format!("{}.fifo", unique("idem"));
    let furl = create_fifo(&s, &fname).await;
    let same = sdk
        .create_queue()
        .queue_name(&fname)
        .attributes(A::FifoQueue, "true")
        .attributes(A::ContentBasedDeduplication, "false")
        .send()
        .await
        .unwrap();
    assert_eq!(same.queue_url(), Some(furl.as_str()));
    let f = sdk_failure(
        sdk.create_queue()
            .queue_name(&fname)
            .attributes(A::FifoQueue, "true")
            .attributes(A::ContentBasedDeduplication, "true")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_name_exists());
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// GetQueueUrl, ListQueues, DeleteQueue

#[tokio::test]
async fn get_queue_url_with_owner_account() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let name = unique("gqu");
    let url = create(&s, &name).await;
    let got = sdk
        .get_queue_url()
        .queue_name(&name)
        .queue_owner_aws_account_id("000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(got.queue_url(), Some(url.as_str()));
    let r = s
        .query(&[
            ("Action", "GetQueueUrl"),
            ("QueueName", &name),
            ("QueueOwnerAWSAccountId", "000000000000"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<GetQueueUrlResult>"), "{}", r.body);
    assert_eq!(r.xml("QueueUrl"), Some(url));
    // The queue is not in another account.
    let f = sdk_failure(
        sdk.get_queue_url()
            .queue_name(&name)
            .queue_owner_aws_account_id("111111111111")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    s.stop().await;
}

#[tokio::test]
async fn get_queue_url_of_a_missing_queue() {
    let s = TestServer::start().await;
    let name = unique("missing");
    let f = sdk_failure(
        s.sdk()
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    assert_eq!((f.status, f.code.as_str()), (400, NON_EXISTENT));
    assert_eq!(f.message, "The specified queue does not exist.");
    let r = s
        .json("GetQueueUrl", &format!(r#"{{"QueueName":"{name}"}}"#))
        .await;
    assert_json_error(&r, 400, NON_EXISTENT, "QueueDoesNotExist");
    let r = s
        .query(&[("Action", "GetQueueUrl"), ("QueueName", &name)])
        .await;
    assert_query_error(&r, 400, NON_EXISTENT);
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("The specified queue does not exist for this wsdl version.")
    );
    s.stop().await;
}

#[tokio::test]
async fn list_queues_filters_by_prefix() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let a = unique("alpha");
    let b = unique("alphabet");
    let c = unique("beta");
    let urls: Vec<String> = [
        create(&s, &a).await,
        create(&s, &b).await,
        create(&s, &c).await,
    ]
    .into();

    let all: BTreeSet<String> = sdk
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .cloned()
        .collect();
    assert_eq!(all, urls.iter().cloned().collect());

    let alpha: BTreeSet<String> = sdk
        .list_queues()
        .queue_name_prefix("alpha")
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .cloned()
        .collect();
    assert_eq!(alpha, [urls[0].clone(), urls[1].clone()].into());

    // Case-sensitive prefix; no match → no URLs.
    let none = sdk
        .list_queues()
        .queue_name_prefix("ALPHA")
        .send()
        .await
        .unwrap();
    assert!(none.queue_urls().is_empty());
    assert!(none.next_token().is_none());

    let r = s
        .query(&[("Action", "ListQueues"), ("QueueNamePrefix", "beta")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<ListQueuesResult"), "{}", r.body);
    assert_eq!(r.xml_all("QueueUrl"), vec![urls[2].clone()]);
    assert!(r.xml("NextToken").is_none());
    let r = s
        .query(&[("Action", "ListQueues"), ("QueueNamePrefix", "zzz")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.xml_all("QueueUrl").is_empty(), "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn list_queues_pages_with_max_results() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let prefix = unique("page");
    let mut expected = BTreeSet::new();
    for i in 0..5 {
        expected.insert(create(&s, &format!("{prefix}-{i}")).await);
    }
    create(&s, &unique("other")).await;

    // Without MaxResults: everything, and never a NextToken.
    let out = sdk
        .list_queues()
        .queue_name_prefix(&prefix)
        .send()
        .await
        .unwrap();
    assert_eq!(out.queue_urls().len(), 5);
    assert!(out.next_token().is_none());

    // MaxResults 2: pages of 2, 2, 1; the last page has no token.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let out = sdk
            .list_queues()
            .queue_name_prefix(&prefix)
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages.push(out.queue_urls().len());
        seen.extend(out.queue_urls().iter().cloned());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(pages, vec![2, 2, 1]);
    assert_eq!(seen.len(), 5, "no URL twice: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);

    // MaxResults equal to the count: no more results remain, so no token.
    let out = sdk
        .list_queues()
        .queue_name_prefix(&prefix)
        .max_results(5)
        .send()
        .await
        .unwrap();
    assert_eq!(out.queue_urls().len(), 5);
    assert!(out.next_token().is_none());

    // Query: MaxResults / NextToken as plain parameters.
    let r = s
        .query(&[
            ("Action", "ListQueues"),
            ("QueueNamePrefix", &prefix),
            ("MaxResults", "3"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let first = r.xml_all("QueueUrl");
    assert_eq!(first.len(), 3);
    let token = r.xml("NextToken").expect("NextToken");
    let r = s
        .query(&[
            ("Action", "ListQueues"),
            ("QueueNamePrefix", &prefix),
            ("MaxResults", "3"),
            ("NextToken", &token),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let second = r.xml_all("QueueUrl");
    assert_eq!(second.len(), 2);
    assert!(r.xml("NextToken").is_none(), "{}", r.body);
    let all: BTreeSet<String> = first.into_iter().chain(second).collect();
    assert_eq!(all, expected);
    s.stop().await;
}

#[tokio::test]
async fn delete_queue_removes_it() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let name = unique("del");
    let url = create(&s, &name).await;
    let keep = create(&s, &unique("keep")).await;
    sdk.send_message()
        .queue_url(&url)
        .message_body("still here")
        .send()
        .await
        .unwrap();
    // Works whatever the queue holds.
    sdk.delete_queue().queue_url(&url).send().await.unwrap();
    let f = sdk_failure(
        sdk.get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    assert_eq!(
        sdk.list_queues().send().await.unwrap().queue_urls(),
        std::slice::from_ref(&keep)
    );
    let f = sdk_failure(sdk.delete_queue().queue_url(&url).send().await.unwrap_err());
    assert!(f.err.is_queue_does_not_exist());
    assert_eq!(f.status, 400);

    // Recreating the name (no cooldown configured) gives a fresh, empty queue.
    let url2 = create(&s, &name).await;
    assert_eq!(url2, url);
    let attrs = sdk_attrs(&s, &url2, &["ApproximateNumberOfMessages"]).await;
    assert_eq!(attrs["ApproximateNumberOfMessages"], "0");

    // Query DeleteQueue.
    let r = s
        .query(&[("Action", "DeleteQueue"), ("QueueUrl", &keep)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<DeleteQueueResponse"), "{}", r.body);
    assert!(r.xml("RequestId").is_some());
    let r = s
        .query(&[("Action", "DeleteQueue"), ("QueueUrl", &keep)])
        .await;
    assert_query_error(&r, 400, NON_EXISTENT);
    s.stop().await;
}

#[tokio::test]
async fn recreating_a_deleted_queue_within_the_cooldown() {
    let s = TestServer::start_with(&["--queue-deleted-cooldown-secs", "60"]).await;
    let sdk = s.sdk();
    let name = unique("cooldown");
    let url = create(&s, &name).await;
    sdk.delete_queue().queue_url(&url).send().await.unwrap();
    let f = sdk_failure(
        sdk.create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_deleted_recently(), "{}", f.code);
    assert_eq!(
        (f.status, f.code.as_str()),
        (400, "AWS.SimpleQueueService.QueueDeletedRecently")
    );
    let r = s
        .query(&[("Action", "CreateQueue"), ("QueueName", &name)])
        .await;
    assert_query_error(&r, 400, "AWS.SimpleQueueService.QueueDeletedRecently");
    // Other names are not blocked.
    create(&s, &unique("other")).await;
    s.stop().await;
}

#[tokio::test]
async fn operations_on_a_missing_queue() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let url = s.queue_url(&unique("ghost"));
    let f = sdk_failure(
        sdk.get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::All)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    let f = sdk_failure(
        sdk.set_queue_attributes()
            .queue_url(&url)
            .attributes(A::DelaySeconds, "1")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    let f = sdk_failure(
        sdk.tag_queue()
            .queue_url(&url)
            .tags("a", "b")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    let f = sdk_failure(
        sdk.untag_queue()
            .queue_url(&url)
            .tag_keys("a")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    let f = sdk_failure(
        sdk.list_queue_tags()
            .queue_url(&url)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    let f = sdk_failure(
        sdk.add_permission()
            .queue_url(&url)
            .label("L")
            .aws_account_ids("111111111111")
            .actions("SendMessage")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    let f = sdk_failure(
        sdk.remove_permission()
            .queue_url(&url)
            .label("L")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    assert_eq!(f.status, 400);

    for action in [
        "GetQueueAttributes",
        "ListQueueTags",
        "DeleteQueue",
        "PurgeQueue",
    ] {
        let r = s.query(&[("Action", action), ("QueueUrl", &url)]).await;
        assert_query_error(&r, 400, NON_EXISTENT);
    }
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// GetQueueAttributes

const STANDARD_ALL: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "DelaySeconds",
    "LastModifiedTimestamp",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "QueueArn",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
];
const FIFO_EXTRA: &[&str] = &[
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoQueue",
    "FifoThroughputLimit",
];

fn check_defaults(attrs: &BTreeMap<String, String>, name: &str, before: u64, after: u64) {
    for (k, v) in [
        ("ApproximateNumberOfMessages", "0"),
        ("ApproximateNumberOfMessagesDelayed", "0"),
        ("ApproximateNumberOfMessagesNotVisible", "0"),
        ("DelaySeconds", "0"),
        ("MaximumMessageSize", "1048576"),
        ("MessageRetentionPeriod", "345600"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
        ("SqsManagedSseEnabled", "true"),
        ("VisibilityTimeout", "30"),
    ] {
        assert_eq!(attrs.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(
        attrs["QueueArn"],
        format!("arn:aws:sqs:us-east-1:000000000000:{name}")
    );
    for k in ["CreatedTimestamp", "LastModifiedTimestamp"] {
        let t: u64 = attrs[k]
            .parse()
            .unwrap_or_else(|_| panic!("{k}: {}", attrs[k]));
        assert!(
            (before..=after).contains(&t),
            "{k} {t} is not epoch seconds in [{before}, {after}]"
        );
    }
}

#[tokio::test]
async fn get_queue_attributes_all_on_a_standard_queue() {
    let s = TestServer::start().await;
    let name = unique("all");
    let before = now_secs();
    let url = create(&s, &name).await;
    let after = now_secs();

    let attrs = sdk_attrs(&s, &url, &["All"]).await;
    let keys: BTreeSet<&str> = attrs.keys().map(String::as_str).collect();
    assert_eq!(keys, STANDARD_ALL.iter().copied().collect());
    check_defaults(&attrs, &name, before, after);

    let q = query_attrs(&s, &url, &["All"]).await;
    assert_eq!(q, attrs, "both protocols agree");
    s.stop().await;
}

#[tokio::test]
async fn get_queue_attributes_all_on_a_fifo_queue() {
    let s = TestServer::start().await;
    let name = format!("{}.fifo", unique("all"));
    let before = now_secs();
    let url = create_fifo(&s, &name).await;
    let after = now_secs();

    let attrs = sdk_attrs(&s, &url, &["All"]).await;
    let keys: BTreeSet<&str> = attrs.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = STANDARD_ALL.iter().chain(FIFO_EXTRA).copied().collect();
    assert_eq!(keys, expected);
    check_defaults(&attrs, &name, before, after);
    assert_eq!(attrs["FifoQueue"], "true");
    assert_eq!(attrs["ContentBasedDeduplication"], "false");
    assert_eq!(attrs["DeduplicationScope"], "queue");
    assert_eq!(attrs["FifoThroughputLimit"], "perQueue");
    assert_eq!(query_attrs(&s, &url, &["All"]).await, attrs);
    s.stop().await;
}

#[tokio::test]
async fn get_queue_attributes_selected_names() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let name = unique("sel");
    let url = create(&s, &name).await;

    let one = sdk_attrs(&s, &url, &["VisibilityTimeout"]).await;
    assert_eq!(one, map(&[("VisibilityTimeout", "30")]));
    let two = query_attrs(&s, &url, &["QueueArn", "DelaySeconds"]).await;
    assert_eq!(
        two,
        map(&[
            (
                "QueueArn",
                &format!("arn:aws:sqs:us-east-1:000000000000:{name}")
            ),
            ("DelaySeconds", "0"),
        ])
    );
    // Policy is not set, so asking for it returns nothing for it.
    let p = sdk_attrs(&s, &url, &["Policy", "MaximumMessageSize"]).await;
    assert_eq!(p, map(&[("MaximumMessageSize", "1048576")]));

    // No names → no attributes.
    let none = sdk
        .get_queue_attributes()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(none
        .attributes()
        .is_none_or(std::collections::HashMap::is_empty));
    let r = s
        .query(&[("Action", "GetQueueAttributes"), ("QueueUrl", &url)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.xml_all("Attribute").is_empty(), "{}", r.body);

    // Unknown name → InvalidAttributeName "Unknown Attribute Foobar."
    let f = sdk_failure(
        sdk.get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::from("Foobar"))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_invalid_attribute_name());
    assert_eq!((f.status, f.code.as_str()), (400, "InvalidAttributeName"));
    let r = s
        .query(&[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", &url),
            ("AttributeName.1", "Foobar"),
        ])
        .await;
    assert_query_error(&r, 400, "InvalidAttributeName");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("Unknown Attribute Foobar.")
    );
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// SetQueueAttributes

#[tokio::test]
async fn set_queue_attributes_updates_values_and_last_modified() {
    let (s, clock) = crate::clock::start(&[]).await;
    let sdk = s.sdk();
    let name = unique("set");
    let url = create(&s, &name).await;
    let before = sdk_attrs(&s, &url, &["CreatedTimestamp", "LastModifiedTimestamp"]).await;
    clock.advance_ms(1100);

    sdk.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::VisibilityTimeout, "120")
        .attributes(A::DelaySeconds, "900")
        .attributes(A::MaximumMessageSize, "1024")
        .attributes(A::MessageRetentionPeriod, "60")
        .attributes(A::ReceiveMessageWaitTimeSeconds, "20")
        .send()
        .await
        .unwrap();
    let after = sdk_attrs(&s, &url, &["All"]).await;
    assert_eq!(after["VisibilityTimeout"], "120");
    assert_eq!(after["DelaySeconds"], "900");
    assert_eq!(after["MaximumMessageSize"], "1024");
    assert_eq!(after["MessageRetentionPeriod"], "60");
    assert_eq!(after["ReceiveMessageWaitTimeSeconds"], "20");
    assert_eq!(after["CreatedTimestamp"], before["CreatedTimestamp"]);
    let lm0: u64 = before["LastModifiedTimestamp"].parse().unwrap();
    let lm1: u64 = after["LastModifiedTimestamp"].parse().unwrap();
    assert!(lm1 > lm0, "LastModifiedTimestamp {lm0} → {lm1}");

    // The other ends of the ranges, through Query.
    let r = s
        .query(&[
            ("Action", "SetQueueAttributes"),
            ("QueueUrl", &url),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "43200"),
            ("Attribute.2.Name", "DelaySeconds"),
            ("Attribute.2.Value", "0"),
            ("Attribute.3.Name", "MaximumMessageSize"),
            ("Attribute.3.Value", "1048576"),
            ("Attribute.4.Name", "MessageRetentionPeriod"),
            ("Attribute.4.Value", "1209600"),
            ("Attribute.5.Name", "ReceiveMessageWaitTimeSeconds"),
            ("Attribute.5.Value", "0"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<SetQueueAttributesResponse"), "{}", r.body);
    assert_eq!(
        query_attrs(
            &s,
            &url,
            &[
                "VisibilityTimeout",
                "DelaySeconds",
                "MaximumMessageSize",
                "MessageRetentionPeriod",
                "ReceiveMessageWaitTimeSeconds"
            ]
        )
        .await,
        map(&[
            ("VisibilityTimeout", "43200"),
            ("DelaySeconds", "0"),
            ("MaximumMessageSize", "1048576"),
            ("MessageRetentionPeriod", "1209600"),
            ("ReceiveMessageWaitTimeSeconds", "0"),
        ])
    );

    // Policy: set, read back, then "" removes it.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:{name}"}}]}}"#
    );
    sdk.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::Policy, &policy)
        .send()
        .await
        .unwrap();
    let got = sdk_attrs(&s, &url, &["Policy"]).await;
    let got: serde_json::Value = serde_json::from_str(&got["Policy"]).unwrap();
    assert_eq!(
        got,
        serde_json::from_str::<serde_json::Value>(&policy).unwrap()
    );
    sdk.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::Policy, "")
        .send()
        .await
        .unwrap();
    assert!(!sdk_attrs(&s, &url, &["All"]).await.contains_key("Policy"));
    s.stop().await;
}

#[tokio::test]
async fn set_queue_attributes_rejects_out_of_range_values() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let url = create(&s, &unique("range")).await;
    let cases = [
        ("DelaySeconds", "901"),
        ("DelaySeconds", "-1"),
        ("DelaySeconds", "abc"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", ""),
    ];
    for (attr, value) in cases {
        let f = sdk_failure(
            sdk.set_queue_attributes()
                .queue_url(&url)
                .attributes(A::from(attr), value)
                .send()
                .await
                .unwrap_err(),
        );
        assert!(
            f.err.is_invalid_attribute_value(),
            "{attr}={value}: {}",
            f.code
        );
        assert_eq!(f.status, 400, "{attr}={value}");
        let r = s
            .query(&[
                ("Action", "SetQueueAttributes"),
                ("QueueUrl", &url),
                ("Attribute.1.Name", attr),
                ("Attribute.1.Value", value),
            ])
            .await;
        assert_query_error(&r, 400, "InvalidAttributeValue");
        // Also at creation.
        let f = sdk_failure(
            sdk.create_queue()
                .queue_name(unique("range-c"))
                .attributes(A::from(attr), value)
                .send()
                .await
                .unwrap_err(),
        );
        assert!(f.err.is_invalid_attribute_value(), "create {attr}={value}");
    }
    // Nothing changed, and no queue was created by the refused CreateQueue calls.
    let attrs = sdk_attrs(&s, &url, &["All"]).await;
    check_defaults(&attrs, url.rsplit('/').next().unwrap(), 0, u64::MAX);
    assert_eq!(
        sdk.list_queues().send().await.unwrap().queue_urls().len(),
        1
    );
    s.stop().await;
}

#[tokio::test]
async fn set_queue_attributes_rejects_unknown_and_read_only_names() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let url = create(&s, &unique("names")).await;
    let f = sdk_failure(
        sdk.set_queue_attributes()
            .queue_url(&url)
            .attributes(A::from("Foo"), "1")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_invalid_attribute_name());
    assert_eq!((f.status, f.code.as_str()), (400, "InvalidAttributeName"));
    assert_eq!(f.message, "Unknown Attribute Foo.");
    let r = s
        .query(&[
            ("Action", "SetQueueAttributes"),
            ("QueueUrl", &url),
            ("Attribute.1.Name", "Foo"),
            ("Attribute.1.Value", "1"),
        ])
        .await;
    assert_query_error(&r, 400, "InvalidAttributeName");
    assert_eq!(r.xml("Message").as_deref(), Some("Unknown Attribute Foo."));

    for ro in [
        "QueueArn",
        "CreatedTimestamp",
        "LastModifiedTimestamp",
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ] {
        let f = sdk_failure(
            sdk.set_queue_attributes()
                .queue_url(&url)
                .attributes(A::from(ro), "5")
                .send()
                .await
                .unwrap_err(),
        );
        assert!(f.err.is_invalid_attribute_name(), "{ro}: {}", f.code);
        assert_eq!(f.status, 400);
    }
    let attrs = sdk_attrs(&s, &url, &["ApproximateNumberOfMessages", "QueueArn"]).await;
    assert_eq!(attrs["ApproximateNumberOfMessages"], "0");
    assert!(attrs["QueueArn"].starts_with("arn:aws:sqs:"));
    s.stop().await;
}

#[tokio::test]
async fn fifo_only_attributes_in_set_queue_attributes() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let std_url = create(&s, &unique("std")).await;
    for (attr, value) in [("FifoQueue", "true"), ("ContentBasedDeduplication", "true")] {
        let f = sdk_failure(
            sdk.set_queue_attributes()
                .queue_url(&std_url)
                .attributes(A::from(attr), value)
                .send()
                .await
                .unwrap_err(),
        );
        assert!(f.err.is_invalid_attribute_name(), "{attr}: {}", f.code);
        assert_eq!(f.message, format!("Unknown Attribute {attr}."));
    }
    let r = s
        .query(&[
            ("Action", "SetQueueAttributes"),
            ("QueueUrl", &std_url),
            ("Attribute.1.Name", "FifoQueue"),
            ("Attribute.1.Value", "true"),
        ])
        .await;
    assert_query_error(&r, 400, "InvalidAttributeName");
    assert!(!sdk_attrs(&s, &std_url, &["All"])
        .await
        .contains_key("FifoQueue"));

    let fifo_url = create_fifo(&s, &format!("{}.fifo", unique("f"))).await;
    // FifoQueue=true is accepted, false is refused; booleans are case-insensitive.
    sdk.set_queue_attributes()
        .queue_url(&fifo_url)
        .attributes(A::FifoQueue, "true")
        .attributes(A::ContentBasedDeduplication, "True")
        .attributes(A::DeduplicationScope, "messageGroup")
        .attributes(A::FifoThroughputLimit, "perMessageGroupId")
        .send()
        .await
        .unwrap();
    let attrs = sdk_attrs(&s, &fifo_url, &["All"]).await;
    assert_eq!(attrs["ContentBasedDeduplication"], "true");
    assert_eq!(attrs["DeduplicationScope"], "messageGroup");
    assert_eq!(attrs["FifoThroughputLimit"], "perMessageGroupId");
    let f = sdk_failure(
        sdk.set_queue_attributes()
            .queue_url(&fifo_url)
            .attributes(A::FifoQueue, "false")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_invalid_attribute_value(), "{}", f.code);
    assert_eq!(
        f.message,
        "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."
    );
    for (attr, value) in [
        ("DeduplicationScope", "group"),
        ("FifoThroughputLimit", "perX"),
    ] {
        let f = sdk_failure(
            sdk.set_queue_attributes()
                .queue_url(&fifo_url)
                .attributes(A::from(attr), value)
                .send()
                .await
                .unwrap_err(),
        );
        assert!(
            f.err.is_invalid_attribute_value(),
            "{attr}={value}: {}",
            f.code
        );
    }
    assert_eq!(
        sdk_attrs(&s, &fifo_url, &["FifoQueue"]).await["FifoQueue"],
        "true"
    );
    s.stop().await;
}

#[tokio::test]
async fn sse_attributes() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let url = create(&s, &unique("sse")).await;
    // Both kinds of SSE at once → InvalidAttributeName.
    let f = sdk_failure(
        sdk.set_queue_attributes()
            .queue_url(&url)
            .attributes(A::KmsMasterKeyId, "alias/aws/sqs")
            .attributes(A::SqsManagedSseEnabled, "true")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_invalid_attribute_name(), "{}", f.code);
    assert_eq!(f.status, 400);
    // A KMS key turns SqsManagedSseEnabled off and lists the reuse period.
    sdk.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::KmsMasterKeyId, "alias/aws/sqs")
        .send()
        .await
        .unwrap();
    let attrs = sdk_attrs(&s, &url, &["All"]).await;
    assert_eq!(attrs["KmsMasterKeyId"], "alias/aws/sqs");
    assert_eq!(attrs["SqsManagedSseEnabled"], "false");
    assert_eq!(attrs["KmsDataKeyReusePeriodSeconds"], "300");
    // "" removes the key from the listing.
    sdk.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::KmsMasterKeyId, "")
        .send()
        .await
        .unwrap();
    let attrs = sdk_attrs(&s, &url, &["All"]).await;
    assert!(!attrs.contains_key("KmsMasterKeyId"), "{attrs:?}");
    assert!(
        !attrs.contains_key("KmsDataKeyReusePeriodSeconds"),
        "{attrs:?}"
    );
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Tags

#[tokio::test]
async fn tag_untag_and_list_queue_tags() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let url = create(&s, &unique("tags")).await;
    // No tags → no Tags member.
    let out = sdk.list_queue_tags().queue_url(&url).send().await.unwrap();
    assert!(out.tags().is_none_or(std::collections::HashMap::is_empty));

    sdk.tag_queue()
        .queue_url(&url)
        .tags("a", "1")
        .tags("b", "2")
        .tags("Case", "x")
        .send()
        .await
        .unwrap();
    // A new value for a key overwrites it; an empty value is fine; keys are case-sensitive.
    sdk.tag_queue()
        .queue_url(&url)
        .tags("a", "one")
        .tags("empty", "")
        .tags("case", "y")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sdk_tags(&s, &url).await,
        map(&[
            ("a", "one"),
            ("b", "2"),
            ("Case", "x"),
            ("case", "y"),
            ("empty", "")
        ])
    );
    // Untag: absent keys are a no-op.
    sdk.untag_queue()
        .queue_url(&url)
        .tag_keys("b")
        .tag_keys("not-there")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sdk_tags(&s, &url).await,
        map(&[("a", "one"), ("Case", "x"), ("case", "y"), ("empty", "")])
    );

    // Query: Tag.N.Key/Value, TagKey.N, and the <Tag><Key><Value> reply.
    let r = s
        .query(&[
            ("Action", "TagQueue"),
            ("QueueUrl", &url),
            ("Tag.1.Key", "q"),
            ("Tag.1.Value", "query value"),
            ("Tag.2.Key", "a"),
            ("Tag.2.Value", "uno"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<TagQueueResponse"), "{}", r.body);
    let r = s
        .query(&[
            ("Action", "UntagQueue"),
            ("QueueUrl", &url),
            ("TagKey.1", "Case"),
            ("TagKey.2", "case"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s
        .query(&[("Action", "ListQueueTags"), ("QueueUrl", &url)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<ListQueueTagsResult"), "{}", r.body);
    assert_eq!(
        pairs(&r, "Key"),
        map(&[("a", "uno"), ("empty", ""), ("q", "query value")])
    );
    s.stop().await;
}

#[tokio::test]
async fn tag_keys_with_the_aws_prefix_are_rejected() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let url = create(&s, &unique("awstag")).await;
    let f = sdk_failure(
        sdk.tag_queue()
            .queue_url(&url)
            .tags("aws:reserved", "x")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (400, "InvalidParameterValue"));
    let r = s
        .query(&[
            ("Action", "TagQueue"),
            ("QueueUrl", &url),
            ("Tag.1.Key", "aws:x"),
            ("Tag.1.Value", "y"),
        ])
        .await;
    assert_query_error(&r, 400, "InvalidParameterValue");
    // Also at creation.
    let f = sdk_failure(
        sdk.create_queue()
            .queue_name(unique("awstag-c"))
            .tags("aws:k", "v")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (400, "InvalidParameterValue"));
    assert!(sdk_tags(&s, &url).await.is_empty());
    assert_eq!(
        sdk.list_queues().send().await.unwrap().queue_urls().len(),
        1
    );
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Add/RemovePermission

fn policy_of(attrs: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::from_str(attrs.get("Policy").expect("Policy attribute")).expect("Policy is JSON")
}

#[tokio::test]
async fn add_and_remove_permission_build_the_policy() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let name = unique("perm");
    let url = create(&s, &name).await;
    let arn = format!("arn:aws:sqs:us-east-1:000000000000:{name}");

    sdk.add_permission()
        .queue_url(&url)
        .label("one")
        .aws_account_ids("111111111111")
        .actions("SendMessage")
        .send()
        .await
        .unwrap();
    let policy = policy_of(&sdk_attrs(&s, &url, &["Policy"]).await);
    assert_eq!(
        policy,
        serde_json::json!({
            "Version": "2008-10-17",
            "Id": format!("{arn}/SQSDefaultPolicy"),
            "Statement": [{
                "Sid": "one",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "SQS:SendMessage",
                "Resource": arn,
            }]
        })
    );

    sdk.add_permission()
        .queue_url(&url)
        .label("two")
        .aws_account_ids("111111111111")
        .aws_account_ids("222222222222")
        .actions("ReceiveMessage")
        .actions("DeleteMessage")
        .send()
        .await
        .unwrap();
    let policy = policy_of(&sdk_attrs(&s, &url, &["All"]).await);
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[1],
        serde_json::json!({
            "Sid": "two",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"]},
            "Action": ["SQS:ReceiveMessage", "SQS:DeleteMessage"],
            "Resource": arn,
        })
    );

    // A duplicate label.
    let f = sdk_failure(
        sdk.add_permission()
            .queue_url(&url)
            .label("one")
            .aws_account_ids("333333333333")
            .actions("SendMessage")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (400, "InvalidParameterValue"));
    assert_eq!(
        f.message,
        "Value one for parameter Label is invalid. Reason: Already exists."
    );
    // An unknown label.
    let f = sdk_failure(
        sdk.remove_permission()
            .queue_url(&url)
            .label("nope")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((f.status, f.code.as_str()), (400, "InvalidParameterValue"));
    assert_eq!(
        f.message,
        "Value nope for parameter Label is invalid. Reason: can't find label."
    );

    sdk.remove_permission()
        .queue_url(&url)
        .label("one")
        .send()
        .await
        .unwrap();
    let policy = policy_of(&sdk_attrs(&s, &url, &["Policy"]).await);
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Sid"], "two");

    // Removing the last statement removes the Policy attribute.
    sdk.remove_permission()
        .queue_url(&url)
        .label("two")
        .send()
        .await
        .unwrap();
    let attrs = sdk_attrs(&s, &url, &["All"]).await;
    assert!(!attrs.contains_key("Policy"), "{attrs:?}");
    assert!(sdk_attrs(&s, &url, &["Policy"]).await.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn permissions_through_query() {
    let s = TestServer::start().await;
    let name = unique("perm-q");
    let url = create(&s, &name).await;
    let arn = format!("arn:aws:sqs:us-east-1:000000000000:{name}");
    let r = s
        .query(&[
            ("Action", "AddPermission"),
            ("QueueUrl", &url),
            ("Label", "q-label"),
            ("AWSAccountId.1", "444444444444"),
            ("ActionName.1", "SendMessage"),
            ("ActionName.2", "GetQueueUrl"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<AddPermissionResponse"), "{}", r.body);
    let policy = policy_of(&query_attrs(&s, &url, &["Policy"]).await);
    assert_eq!(policy["Version"], "2008-10-17");
    assert_eq!(policy["Id"], format!("{arn}/SQSDefaultPolicy"));
    assert_eq!(
        policy["Statement"],
        serde_json::json!([{
            "Sid": "q-label",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
            "Action": ["SQS:SendMessage", "SQS:GetQueueUrl"],
            "Resource": arn,
        }])
    );
    let r = s
        .query(&[
            ("Action", "AddPermission"),
            ("QueueUrl", &url),
            ("Label", "q-label"),
            ("AWSAccountId.1", "444444444444"),
            ("ActionName.1", "SendMessage"),
        ])
        .await;
    assert_query_error(&r, 400, "InvalidParameterValue");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("Value q-label for parameter Label is invalid. Reason: Already exists.")
    );
    let r = s
        .query(&[
            ("Action", "RemovePermission"),
            ("QueueUrl", &url),
            ("Label", "other"),
        ])
        .await;
    assert_query_error(&r, 400, "InvalidParameterValue");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("Value other for parameter Label is invalid. Reason: can't find label.")
    );
    let r = s
        .query(&[
            ("Action", "RemovePermission"),
            ("QueueUrl", &url),
            ("Label", "q-label"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<RemovePermissionResponse"), "{}", r.body);
    assert!(query_attrs(&s, &url, &["Policy"]).await.is_empty());
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Endpoints, paths, URLs, request ids

#[tokio::test]
async fn query_on_a_queue_path() {
    let s = TestServer::start().await;
    let name = unique("path");
    let url = create(&s, &name).await;
    let other = unique("path-other");
    let other_url = create(&s, &other).await;
    let path = format!("/000000000000/{name}");

    // No QueueUrl: the path names the queue.
    let r = s
        .query_at(
            &path,
            &[
                ("Action", "GetQueueAttributes"),
                ("AttributeName.1", "QueueArn"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        pairs(&r, "Name"),
        map(&[(
            "QueueArn",
            &format!("arn:aws:sqs:us-east-1:000000000000:{name}")
        )])
    );
    // GET with everything in the query string, without Version.
    let r = s
        .send(
            "GET",
            &format!("{path}?Action=GetQueueAttributes&AttributeName.1=All"),
            &[],
            "",
            true,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(pairs(&r, "Name").len(), STANDARD_ALL.len(), "{}", r.body);
    // SendMessage and GetQueueUrl work on the queue path.
    let r = s
        .query_at(
            &path,
            &[("Action", "SendMessage"), ("MessageBody", "via path")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.xml("MessageId").is_some(), "{}", r.body);
    let r = s
        .query_at(&path, &[("Action", "GetQueueUrl"), ("QueueName", &name)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("QueueUrl"), Some(url.clone()));
    // QueueUrl wins over the path.
    let r = s
        .query_at(
            &path,
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", &other_url),
                ("MessageBody", "to other"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = sdk_attrs(&s, &url, &["ApproximateNumberOfMessages"]).await;
    let b = sdk_attrs(&s, &other_url, &["ApproximateNumberOfMessages"]).await;
    assert_eq!(a["ApproximateNumberOfMessages"], "1");
    assert_eq!(b["ApproximateNumberOfMessages"], "1");

    // Account-level actions are not valid on a queue path.
    let r = s
        .query_at(&path, &[("Action", "CreateQueue"), ("QueueName", "x")])
        .await;
    assert_query_error(&r, 400, "InvalidAction");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("The action CreateQueue is not valid for this endpoint.")
    );
    let r = s.query_at(&path, &[("Action", "ListQueues")]).await;
    assert_query_error(&r, 400, "InvalidAction");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("The action ListQueues is not valid for this endpoint.")
    );
    let r = s.query_at(&path, &[("Action", "FooBar")]).await;
    assert_query_error(&r, 400, "InvalidAction");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("The action FooBar is not valid for this endpoint.")
    );
    // A GET on the queue URL with no parameters → 404 <UnknownOperationException/>.
    let r = s.send("GET", &path, &[], "", true).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(
        r.body.contains("<UnknownOperationException/>"),
        "{}",
        r.body
    );

    // DeleteQueue on the queue path.
    let r = s.query_at(&path, &[("Action", "DeleteQueue")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let f = sdk_failure(
        s.sdk()
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(f.err.is_queue_does_not_exist());
    s.stop().await;
}

#[tokio::test]
async fn json_posted_to_a_queue_path() {
    let s = TestServer::start().await;
    let name = unique("jpath");
    let url = create(&s, &name).await;
    let r = s
        .send(
            "POST",
            &format!("/000000000000/{name}"),
            &[
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", "AmazonSQS.SendMessage"),
            ],
            &serde_json::json!({"QueueUrl": url, "MessageBody": "json on a path"}).to_string(),
            true,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/x-amz-json-1.0")
    );
    assert_eq!(r.json()["MD5OfMessageBody"], md5_hex("json on a path"));
    let attrs = sdk_attrs(&s, &url, &["ApproximateNumberOfMessages"]).await;
    assert_eq!(attrs["ApproximateNumberOfMessages"], "1");
    s.stop().await;
}

fn md5_hex(s: &str) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(s.as_bytes()))
}

#[tokio::test]
async fn queue_url_host_option() {
    let s = TestServer::start_with(&["--queue-url-host", "sqs.example.test:4566"]).await;
    let sdk = s.sdk();
    let name = unique("host");
    let url = create(&s, &name).await;
    assert_eq!(
        url,
        format!("http://sqs.example.test:4566/000000000000/{name}")
    );
    let got = sdk.get_queue_url().queue_name(&name).send().await.unwrap();
    assert_eq!(got.queue_url(), Some(url.as_str()));
    assert_eq!(
        sdk.list_queues().send().await.unwrap().queue_urls(),
        std::slice::from_ref(&url)
    );
    let r = s
        .query(&[("Action", "GetQueueUrl"), ("QueueName", &name)])
        .await;
    assert_eq!(r.xml("QueueUrl"), Some(url.clone()));
    // The URL resolves by its path even though its host is not the server's.
    sdk.send_message()
        .queue_url(&url)
        .message_body("m")
        .send()
        .await
        .unwrap();
    let attrs = sdk_attrs(&s, &url, &["ApproximateNumberOfMessages"]).await;
    assert_eq!(attrs["ApproximateNumberOfMessages"], "1");
    s.stop().await;

    let s = TestServer::start_with(&["--queue-url-host", "https://queues.example.test"]).await;
    let name = unique("host");
    assert_eq!(
        create(&s, &name).await,
        format!("https://queues.example.test/000000000000/{name}")
    );
    s.stop().await;
}

#[tokio::test]
async fn request_id_on_every_response() {
    let s = TestServer::start().await;
    let name = unique("rid");
    let url = create(&s, &name).await;

    let ok = s
        .query(&[("Action", "GetQueueUrl"), ("QueueName", &name)])
        .await;
    let header = ok.header("x-amzn-requestid").expect("x-amzn-RequestId");
    assert!(!header.is_empty());
    assert_eq!(
        ok.xml("RequestId"),
        Some(header),
        "ResponseMetadata/RequestId"
    );
    let bad = s
        .query(&[("Action", "GetQueueUrl"), ("QueueName", "no-such")])
        .await;
    assert_eq!(bad.xml("RequestId"), bad.header("x-amzn-requestid"));
    assert!(bad.xml("RequestId").is_some());

    let responses = [
        s.json("ListQueues", "{}").await,
        s.json("GetQueueUrl", r#"{"QueueName":"no-such"}"#).await,
        s.send("GET", &format!("/000000000000/{name}"), &[], "", true)
            .await,
        s.send("POST", "/", &[], "Action=ListQueues", false).await,
        s.query(&[("Action", "DeleteQueue"), ("QueueUrl", &url)])
            .await,
    ];
    let mut ids = BTreeSet::new();
    for r in &responses {
        let id = r
            .header("x-amzn-requestid")
            .unwrap_or_else(|| panic!("no request id on {} {}", r.status, r.body));
        ids.insert(id);
    }
    assert_eq!(ids.len(), responses.len(), "request ids are unique");

    // The health endpoint answers 200.
    let r = s.send("GET", "/health", &[], "", false).await;
    assert_eq!(r.status, 200);
    s.stop().await;
}
