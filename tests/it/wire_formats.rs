//! Response shapes on the wire (SQS-REFERENCE §1.3–§1.5): JSON batch outputs without empty
//! lists, and Query requests answered in AWS's JSON rendering when they send
//! `Accept: application/json`.

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    SendMessageBatchRequestEntry,
};
use serde_json::{json, Value};

use crate::harness::{unique, Raw, TestServer};

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

async fn create(s: &TestServer, prefix: &str) -> String {
    s.sdk()
        .create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url")
}

fn md5_hex(text: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(text.as_bytes()))
}

/// Receipt handles of `n` messages sent to a new queue and received (hidden for a minute), and
/// that queue's URL.
async fn received_handles(s: &TestServer, n: usize) -> (String, Vec<String>) {
    let sdk = s.sdk();
    let url = create(s, "wire-handles").await;
    let url = url.as_str();
    for i in 0..n {
        sdk.send_message()
            .queue_url(url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .expect("send");
    }
    let mut handles = Vec::new();
    for _ in 0..10 {
        if handles.len() >= n {
            break;
        }
        let got = sdk
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .send()
            .await
            .expect("receive");
        handles.extend(
            got.messages()
                .iter()
                .filter_map(|m| m.receipt_handle.clone()),
        );
    }
    assert_eq!(handles.len(), n, "received all");
    (url.to_string(), handles)
}

/// The members of a JSON batch reply; asserts it is a 200 JSON-protocol reply.
fn batch_members(r: &Raw) -> (Option<Value>, Option<Value>) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/x-amz-json-1.0")
    );
    let body = r.json();
    let obj = body.as_object().expect("a JSON object");
    (obj.get("Successful").cloned(), obj.get("Failed").cloned())
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("an array")
        .iter()
        .filter_map(|e| e["Id"].as_str())
        .collect()
}

fn codes(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("an array")
        .iter()
        .filter_map(|e| e["Code"].as_str())
        .collect()
}

#[tokio::test]
async fn json_batches_leave_out_an_empty_failed_or_successful() {
    let s = TestServer::start().await;
    let url = create(&s, "wire-batch").await;
    let q = json!(url);

    // SendMessageBatch: all succeed, then all fail (invalid characters, per entry).
    let r = s
        .json(
            "SendMessageBatch",
            &json!({"QueueUrl": q, "Entries": [
                {"Id": "a", "MessageBody": "x"}, {"Id": "b", "MessageBody": "y"}]})
            .to_string(),
        )
        .await;
    let (ok, failed) = batch_members(&r);
    assert_eq!(failed, None, "no Failed member: {}", r.body);
    assert_eq!(ids(&ok.expect("Successful")), ["a", "b"]);
    let r = s
        .json(
            "SendMessageBatch",
            &json!({"QueueUrl": q, "Entries": [
                {"Id": "c", "MessageBody": "bad\u{0}"}, {"Id": "d", "MessageBody": "\u{1}"}]})
            .to_string(),
        )
        .await;
    let (ok, failed) = batch_members(&r);
    assert_eq!(ok, None, "no Successful member: {}", r.body);
    let failed = failed.expect("Failed");
    assert_eq!(ids(&failed), ["c", "d"]);
    assert_eq!(
        codes(&failed),
        ["InvalidMessageContents", "InvalidMessageContents"]
    );

    // ChangeMessageVisibilityBatch and DeleteMessageBatch: real handles, then malformed ones.
    let (url, handles) = received_handles(&s, 2).await;
    let q = json!(url);
    let visibility = |entries: Value| json!({"QueueUrl": q, "Entries": entries}).to_string();
    let r = s
        .json(
            "ChangeMessageVisibilityBatch",
            &visibility(json!([
                {"Id": "v1", "ReceiptHandle": handles[0], "VisibilityTimeout": 60},
                {"Id": "v2", "ReceiptHandle": handles[1], "VisibilityTimeout": 60}])),
        )
        .await;
    let (ok, failed) = batch_members(&r);
    assert_eq!(failed, None, "no Failed member: {}", r.body);
    assert_eq!(ids(&ok.expect("Successful")), ["v1", "v2"]);
    let r = s
        .json(
            "ChangeMessageVisibilityBatch",
            &visibility(json!([
                {"Id": "v3", "ReceiptHandle": "garbage", "VisibilityTimeout": 0}])),
        )
        .await;
    let (ok, failed) = batch_members(&r);
    assert_eq!(ok, None, "no Successful member: {}", r.body);
    assert_eq!(codes(&failed.expect("Failed")), ["ReceiptHandleIsInvalid"]);

    let r = s
        .json(
            "DeleteMessageBatch",
            &json!({"QueueUrl": q, "Entries": [
                {"Id": "d1", "ReceiptHandle": handles[0]},
                {"Id": "d2", "ReceiptHandle": handles[1]}]})
            .to_string(),
        )
        .await;
    let (ok, failed) = batch_members(&r);
    assert_eq!(failed, None, "no Failed member: {}", r.body);
    assert_eq!(ids(&ok.expect("Successful")), ["d1", "d2"]);
    let r = s
        .json(
            "DeleteMessageBatch",
            &json!({"QueueUrl": q, "Entries": [
                {"Id": "d3", "ReceiptHandle": "garbage"}, {"Id": "d4", "ReceiptHandle": "junk"}]})
            .to_string(),
        )
        .await;
    let (ok, failed) = batch_members(&r);
    assert_eq!(ok, None, "no Successful member: {}", r.body);
    let failed = failed.expect("Failed");
    assert_eq!(ids(&failed), ["d3", "d4"]);
    assert_eq!(
        codes(&failed),
        ["ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid"]
    );
    s.stop().await;
}

fn send_entry(id: &str, body: &str) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(body)
        .build()
        .expect("entry")
}

/// The Rust SDK fills a left-out list with an empty one, so these check that the replies still
/// parse and carry the right entries; the raw replies are checked above.
#[tokio::test]
async fn sdk_batches_with_lists_left_out() {
    let s = TestServer::start().await;
    let sdk = s.sdk();
    let url = create(&s, "wire-sdk").await;

    let sent = sdk
        .send_message_batch()
        .queue_url(&url)
        .entries(send_entry("a", "x"))
        .entries(send_entry("b", "y"))
        .send()
        .await
        .expect("all-success send batch");
    assert!(sent.failed().is_empty());
    assert_eq!(sent.successful().len(), 2);
    let bad = sdk
        .send_message_batch()
        .queue_url(&url)
        .entries(send_entry("c", "bad\u{0}"))
        .send()
        .await
        .expect("all-failed send batch");
    assert!(bad.successful().is_empty());
    assert_eq!(bad.failed()[0].code(), "InvalidMessageContents");
    assert!(bad.failed()[0].sender_fault());

    let (url, handles) = received_handles(&s, 2).await;
    let vis = |id: &str, handle: &str| {
        ChangeMessageVisibilityBatchRequestEntry::builder()
            .id(id)
            .receipt_handle(handle)
            .visibility_timeout(60)
            .build()
            .expect("entry")
    };
    let changed = sdk
        .change_message_visibility_batch()
        .queue_url(&url)
        .entries(vis("v1", &handles[0]))
        .entries(vis("v2", &handles[1]))
        .send()
        .await
        .expect("all-success visibility batch");
    assert!(changed.failed().is_empty());
    assert_eq!(changed.successful().len(), 2);
    let unchanged = sdk
        .change_message_visibility_batch()
        .queue_url(&url)
        .entries(vis("v3", "garbage"))
        .send()
        .await
        .expect("all-failed visibility batch");
    assert!(unchanged.successful().is_empty());
    assert_eq!(unchanged.failed()[0].code(), "ReceiptHandleIsInvalid");

    let del = |id: &str, handle: &str| {
        DeleteMessageBatchRequestEntry::builder()
            .id(id)
            .receipt_handle(handle)
            .build()
            .expect("entry")
    };
    let deleted = sdk
        .delete_message_batch()
        .queue_url(&url)
        .entries(del("d1", &handles[0]))
        .entries(del("d2", &handles[1]))
        .send()
        .await
        .expect("all-success delete batch");
    assert!(deleted.failed().is_empty());
    assert_eq!(deleted.successful().len(), 2);
    let kept = sdk
        .delete_message_batch()
        .queue_url(&url)
        .entries(del("d3", "garbage"))
        .send()
        .await
        .expect("all-failed delete batch");
    assert!(kept.successful().is_empty());
    assert_eq!(kept.failed()[0].code(), "ReceiptHandleIsInvalid");
    s.stop().await;
}

// ---------------------------------------------------------------- Query + Accept: application/json

/// A signed Query POST to `path` with these parameters and this `Accept` (none if empty).
async fn query_accepting(s: &TestServer, path: &str, params: &[(&str, &str)], accept: &str) -> Raw {
    let mut all = params.to_vec();
    all.push(("Version", "2012-11-05"));
    let body = serde_urlencoded::to_string(&all).expect("form");
    let mut headers = vec![("content-type", FORM)];
    if !accept.is_empty() {
        headers.push(("accept", accept));
    }
    s.send("POST", path, &headers, &body, true).await
}

async fn query_json(s: &TestServer, params: &[(&str, &str)]) -> Raw {
    query_accepting(s, "/", params, "application/json").await
}

/// Asserts a 200 Query JSON reply for `action` and returns its `<Action>Result` (or `None`).
fn json_result(r: &Raw, action: &str) -> Option<Value> {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json"),
        "{}",
        r.body
    );
    let body: Value = serde_json::from_str(&r.body).expect("a JSON body");
    let root = body.as_object().expect("an object");
    assert_eq!(root.len(), 1, "one root member: {}", r.body);
    let response = &root[&format!("{action}Response")];
    let request_id = response["ResponseMetadata"]["RequestId"]
        .as_str()
        .expect("ResponseMetadata.RequestId");
    assert_eq!(Some(request_id.to_string()), r.header("x-amzn-requestid"));
    response.get(format!("{action}Result")).cloned()
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or("/".to_string(), |i| rest[i..].to_string())
}

#[tokio::test]
async fn query_get_queue_attributes_as_json() {
    let s = TestServer::start().await;
    let url = create(&s, "wire-attrs").await;
    let name = url.rsplit('/').next().expect("name").to_string();

    let r = query_json(
        &s,
        &[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", &url),
            ("AttributeName.1", "All"),
        ],
    )
    .await;
    let result = json_result(&r, "GetQueueAttributes").expect("a result");
    let attrs = result["Attributes"].as_array().expect("Attributes array");
    let value = |n: &str| {
        attrs
            .iter()
            .find(|a| a["Name"] == n)
            .and_then(|a| a["Value"].as_str())
            .map(str::to_string)
    };
    assert_eq!(
        value("QueueArn"),
        Some(format!("arn:aws:sqs:us-east-1:000000000000:{name}"))
    );
    assert_eq!(value("VisibilityTimeout").as_deref(), Some("30"));
    assert!(attrs
        .iter()
        .all(|a| a.as_object().map(serde_json::Map::len) == Some(2)));

    // The same as a GET on the queue URL (AWS's recorded case).
    let qs = serde_urlencoded::to_string([
        ("Action", "GetQueueAttributes"),
        ("AttributeName.1", "QueueArn"),
    ])
    .expect("query string");
    let r = s
        .send(
            "GET",
            &format!("{}?{qs}", path_of(&url)),
            &[("accept", "application/json")],
            "",
            true,
        )
        .await;
    let result = json_result(&r, "GetQueueAttributes").expect("a result");
    assert_eq!(
        result["Attributes"],
        json!([{"Name": "QueueArn", "Value": format!("arn:aws:sqs:us-east-1:000000000000:{name}")}])
    );
    s.stop().await;
}

#[tokio::test]
async fn query_send_and_receive_as_json() {
    let s = TestServer::start().await;
    let url = create(&s, "wire-msgs").await;
    let body = "quote \" backslash \\ <b>&amp; é 😀\r\nline";

    let r = query_json(
        &s,
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", body),
        ],
    )
    .await;
    let sent = json_result(&r, "SendMessage").expect("a result");
    let message_id = sent["MessageId"].as_str().expect("MessageId").to_string();
    assert_eq!(sent["MD5OfMessageBody"], json!(md5_hex(body)));
    assert_eq!(sent["MD5OfMessageAttributes"], Value::Null);
    assert_eq!(sent["SequenceNumber"], Value::Null);

    let r = query_json(
        &s,
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "with attributes"),
            ("MessageAttribute.1.Name", "s"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "v<&>"),
            ("MessageAttribute.2.Name", "b"),
            ("MessageAttribute.2.Value.DataType", "Binary"),
            ("MessageAttribute.2.Value.BinaryValue", "AAEC"),
        ],
    )
    .await;
    let sent2 = json_result(&r, "SendMessage").expect("a result");
    assert!(sent2["MD5OfMessageAttributes"].is_string(), "{}", r.body);

    let mut messages = Vec::new();
    for _ in 0..10 {
        if messages.len() >= 2 {
            break;
        }
        let r = query_json(
            &s,
            &[
                ("Action", "ReceiveMessage"),
                ("QueueUrl", &url),
                ("MaxNumberOfMessages", "10"),
                ("AttributeName.1", "All"),
                ("MessageAttributeName.1", "All"),
            ],
        )
        .await;
        let result = json_result(&r, "ReceiveMessage").expect("a result");
        assert!(result.get("Messages").is_none(), "{}", r.body);
        if let Some(list) = result["messages"].as_array() {
            messages.extend(list.iter().cloned());
        }
    }
    assert_eq!(messages.len(), 2);
    let plain = messages
        .iter()
        .find(|m| m["MessageId"] == json!(message_id))
        .expect("the first message");
    assert_eq!(plain["Body"], json!(body), "the body round-trips");
    assert_eq!(plain["MD5OfBody"], sent["MD5OfMessageBody"]);
    assert!(plain["ReceiptHandle"].is_string());
    assert!(plain["Attributes"]["SentTimestamp"].is_string());
    assert_eq!(plain["Attributes"]["ApproximateReceiveCount"], json!("1"));
    assert_eq!(plain["MessageAttributes"], Value::Null);
    assert_eq!(plain["MD5OfMessageAttributes"], Value::Null);

    let with = messages
        .iter()
        .find(|m| m["Body"] == json!("with attributes"))
        .expect("the second message");
    assert_eq!(
        with["MD5OfMessageAttributes"],
        sent2["MD5OfMessageAttributes"]
    );
    let attrs = &with["MessageAttributes"];
    assert_eq!(attrs["s"]["DataType"], json!("String"));
    assert_eq!(attrs["s"]["StringValue"], json!("v<&>"));
    assert_eq!(attrs["s"]["BinaryValue"], Value::Null);
    assert_eq!(attrs["b"]["DataType"], json!("Binary"));
    assert_eq!(attrs["b"]["BinaryValue"], json!("AAEC"));

    // Nothing left to receive: `messages` is null.
    let r = query_json(
        &s,
        &[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("VisibilityTimeout", "0"),
        ],
    )
    .await;
    assert_eq!(
        json_result(&r, "ReceiveMessage"),
        Some(json!({"messages": null}))
    );

    // An action without output: only ResponseMetadata.
    let handle = plain["ReceiptHandle"].as_str().expect("handle");
    let r = query_json(
        &s,
        &[
            ("Action", "DeleteMessage"),
            ("QueueUrl", &url),
            ("ReceiptHandle", handle),
        ],
    )
    .await;
    assert_eq!(json_result(&r, "DeleteMessage"), None, "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn query_lists_and_batches_as_json() {
    let s = TestServer::start().await;
    let prefix = unique("wire-list");
    let url = s
        .sdk()
        .create_queue()
        .queue_name(&prefix)
        .send()
        .await
        .expect("create")
        .queue_url
        .expect("url");

    let r = query_json(
        &s,
        &[("Action", "ListQueues"), ("QueueNamePrefix", &prefix)],
    )
    .await;
    assert_eq!(
        json_result(&r, "ListQueues"),
        Some(json!({"NextToken": null, "queueUrls": [url]}))
    );
    let r = query_json(
        &s,
        &[
            ("Action", "ListQueues"),
            ("QueueNamePrefix", "wire-none-such"),
        ],
    )
    .await;
    assert_eq!(
        json_result(&r, "ListQueues"),
        Some(json!({"NextToken": null, "queueUrls": []}))
    );

    let r = query_json(
        &s,
        &[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", &url),
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "x"),
            ("SendMessageBatchRequestEntry.2.Id", "b"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "bad\u{0}"),
        ],
    )
    .await;
    let result = json_result(&r, "SendMessageBatch").expect("a result");
    let ok = result["Successful"].as_array().expect("Successful array");
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["Id"], json!("a"));
    assert_eq!(ok[0]["MD5OfMessageAttributes"], Value::Null);
    assert!(ok[0]["MessageId"].is_string());
    assert_eq!(
        result["Failed"],
        json!([{"Code": "InvalidMessageContents", "Id": "b", "Message": result["Failed"][0]["Message"], "SenderFault": true}])
    );
    let r = query_json(
        &s,
        &[
            ("Action", "DeleteMessageBatch"),
            ("QueueUrl", &url),
            ("DeleteMessageBatchRequestEntry.1.Id", "d"),
            ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", "garbage"),
        ],
    )
    .await;
    let result = json_result(&r, "DeleteMessageBatch").expect("a result");
    assert_eq!(result["Successful"], Value::Null);
    assert_eq!(result["Failed"][0]["Code"], json!("ReceiptHandleIsInvalid"));

    let r = query_json(
        &s,
        &[
            ("Action", "TagQueue"),
            ("QueueUrl", &url),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "a"),
        ],
    )
    .await;
    assert_eq!(json_result(&r, "TagQueue"), None);
    let r = query_json(&s, &[("Action", "ListQueueTags"), ("QueueUrl", &url)]).await;
    assert_eq!(
        json_result(&r, "ListQueueTags"),
        Some(json!({"Tags": [{"Key": "team", "Value": "a"}]}))
    );
    s.stop().await;
}

/// Asserts a Query JSON error: status, `{"Error": {"Code", "Message", "Type"}, "RequestId"}`,
/// the XML path's headers (`x-amzn-RequestId`, no `x-amzn-query-error`).
fn assert_json_query_error(r: &Raw, status: u16, code: &str) -> Value {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.header("x-amzn-query-error"), None);
    let body: Value = serde_json::from_str(&r.body).expect("a JSON body");
    assert_eq!(body["Error"]["Code"], json!(code), "{}", r.body);
    assert_eq!(body["Error"]["Type"], json!("Sender"), "{}", r.body);
    assert!(body["Error"]["Message"].is_string(), "{}", r.body);
    assert_eq!(
        body["RequestId"].as_str().map(str::to_string),
        r.header("x-amzn-requestid")
    );
    body
}

#[tokio::test]
async fn query_errors_as_json() {
    let s = TestServer::start().await;
    let url = create(&s, "wire-err").await;
    let path = path_of(&url);

    // Recorded on AWS: ListQueues on a queue URL, Accept: application/json.
    let r = query_accepting(&s, &path, &[("Action", "ListQueues")], "application/json").await;
    let body = assert_json_query_error(&r, 400, "InvalidAction");
    assert_eq!(
        body["Error"]["Message"],
        json!("The action ListQueues is not valid for this endpoint.")
    );

    let missing = format!("{url}-missing");
    let r = query_json(
        &s,
        &[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", &missing),
            ("AttributeName.1", "All"),
        ],
    )
    .await;
    let body = assert_json_query_error(&r, 400, "AWS.SimpleQueueService.NonExistentQueue");
    assert_eq!(
        body["Error"]["Message"],
        json!("The specified queue does not exist for this wsdl version.")
    );

    let r = query_json(&s, &[("Action", "SendMessage"), ("QueueUrl", &url)]).await;
    assert_json_query_error(&r, 400, "MissingParameter");

    // Failing before dispatch: not signed.
    let r = s
        .send(
            "POST",
            "/",
            &[("content-type", FORM), ("accept", "application/json")],
            "Action=ListQueues&Version=2012-11-05",
            false,
        )
        .await;
    assert_json_query_error(&r, 403, "MissingAuthenticationToken");

    // A GET on a queue URL without parameters stays XML (recorded on AWS).
    let r = s
        .send("GET", &path, &[("accept", "application/json")], "", true)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body, "<UnknownOperationException/>");
    s.stop().await;
}

#[tokio::test]
async fn xml_unless_json_is_asked_for() {
    let s = TestServer::start().await;
    let url = create(&s, "wire-xml").await;
    let params = [
        ("Action", "GetQueueAttributes"),
        ("QueueUrl", url.as_str()),
        ("AttributeName.1", "VisibilityTimeout"),
    ];
    for accept in [
        "",
        "*/*",
        "text/xml",
        "application/xml",
        "text/xml, application/json",
        "application/json;q=0",
    ] {
        let r = query_accepting(&s, "/", &params, accept).await;
        assert_eq!(r.status, 200, "{accept}: {}", r.body);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/xml"),
            "{accept}"
        );
        assert!(
            r.body.starts_with("<?xml version=\"1.0\"?><GetQueueAttributesResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute></GetQueueAttributesResult><ResponseMetadata><RequestId>"),
            "{accept}: {}",
            r.body
        );
    }
    let r = query_accepting(&s, "/", &[("Action", "FooBar")], "text/xml").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("<Code>InvalidAction</Code>"), "{}", r.body);
    // axios and other HTTP clients send this by default: JSON first.
    let r = query_accepting(&s, "/", &params, "application/json, text/plain, */*").await;
    assert!(json_result(&r, "GetQueueAttributes").is_some());

    // JSON-protocol requests are unaffected by Accept.
    let r = s
        .send(
            "POST",
            "/",
            &[
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", "AmazonSQS.GetQueueAttributes"),
                ("accept", "application/json"),
            ],
            &json!({"QueueUrl": url, "AttributeNames": ["VisibilityTimeout"]}).to_string(),
            true,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/x-amz-json-1.0")
    );
    assert_eq!(r.json(), json!({"Attributes": {"VisibilityTimeout": "30"}}));
    s.stop().await;
}
