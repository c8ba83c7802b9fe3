//! Hostile input against the real server, over raw TCP (`crate::wire`): truncated, oversized
//! and oddly framed requests, invalid UTF-8 in every field, overlong heads, 10,000 attributes,
//! deep nesting, duplicate and conflicting parameters, huge indexes, out-of-range numbers in
//! every numeric field (both protocols), odd queue URLs, slowloris, pipelining, HTTP/1.0,
//! chunked bodies, `Expect: 100-continue`, requests cut short. Every case states what it
//! must get: a 4xx in the client's envelope (or, for what is not a parsed request, from
//! hyper), a closed connection, or, for odd but valid framing, its answer. Never a 5xx, never
//! a hang (each case is bounded); the server answers a normal request after every case.
//! `tests/it/bad_input.rs` has the plain validation errors; these go beyond them.

use std::time::Duration;

use crate::harness::{unique, TestServer};
use crate::wire::{self, exchange_with, query_request, request, Exchange};

/// The bound on one case: a hang fails the case instead of the suite.
const CASE_TIMEOUT: Duration = Duration::from_secs(20);

/// What a case must get.
#[derive(Clone, Debug)]
enum Expect {
    /// One response: this status, the JSON protocol's error envelope, this (Query) code.
    Json(u16, &'static str),
    /// One response: this status, the Query protocol's `<ErrorResponse>`, this code.
    Query(u16, &'static str),
    /// One response of this status, whatever its body (hyper's own refusals, 431 …).
    Status(u16),
    /// These statuses in this order (pipelined requests), 200s included.
    Statuses(Vec<u16>),
    /// One 200 whose body contains this text.
    OkWith(String),
    /// `100 Continue`, then one response of this status.
    ContinueThen(u16),
    /// One 200 of a batch whose one entry failed with this code (entry-level validation).
    BatchFailed(&'static str),
    /// Closed without any response.
    Closed,
    /// The client goes away itself (nothing to read back); the server must just survive.
    Gone,
}

struct Case {
    name: String,
    parts: Vec<Vec<u8>>,
    pause: Duration,
    /// Shut our side's writing down after the last part (a body cut short, half-closed).
    half_close: bool,
    expect: Expect,
}

fn case(name: impl Into<String>, bytes: Vec<u8>, expect: Expect) -> Case {
    Case {
        name: name.into(),
        parts: vec![bytes],
        pause: Duration::ZERO,
        half_close: false,
        expect,
    }
}

fn slow(name: &str, parts: Vec<Vec<u8>>, pause_ms: u64, expect: Expect) -> Case {
    Case {
        name: name.into(),
        parts,
        pause: Duration::from_millis(pause_ms),
        half_close: false,
        expect,
    }
}

/// The JSON `__type` shape of a Query code.
fn shape(code: &str) -> &str {
    match code {
        "AWS.SimpleQueueService.NonExistentQueue" => "QueueDoesNotExist",
        "QueueAlreadyExists" => "QueueNameExists",
        "InvalidParameterValue" => "InvalidParameterValueException",
        "MissingParameter" => "MissingRequiredParameterException",
        "AccessDenied" => "AccessDeniedException",
        other => other
            .strip_prefix("AWS.SimpleQueueService.")
            .unwrap_or(other),
    }
}

/// A signed JSON-protocol request of `operation` with a raw body.
fn json(operation: &str, body: impl AsRef<[u8]>) -> Vec<u8> {
    let target = format!("X-Amz-Target: AmazonSQS.{operation}");
    request(
        "POST",
        b"/",
        &[
            b"Content-Type: application/x-amz-json-1.0",
            target.as_bytes(),
        ],
        body.as_ref(),
        true,
    )
}

/// A signed Query POST to `/` of a raw form body.
fn query(body: impl AsRef<[u8]>) -> Vec<u8> {
    query_request(b"/", body.as_ref())
}

/// What is wrong with what a case got; `None` when it is what the case expects.
fn problem(case: &Case, got: &Exchange) -> Option<String> {
    if got.timed_out {
        return Some("no answer and no close in time (a hang)".into());
    }
    if let Some(r) = got.responses.iter().find(|r| r.status >= 500) {
        return Some(format!("a 5xx: {} {}", r.status, r.text()));
    }
    let first = got.responses.first();
    let describe = || {
        first.map_or_else(
            || format!("no response (closed: {})", got.closed),
            |r| {
                let body: String = r.text().chars().take(200).collect();
                format!("{} {body}", r.status)
            },
        )
    };
    let ok = match &case.expect {
        Expect::Json(status, code) => first.is_some_and(|r| {
            let ty = r.json()["__type"].as_str().unwrap_or_default().to_string();
            r.status == *status
                && ty == format!("com.amazonaws.sqs#{}", shape(code))
                && r.header("x-amzn-query-error") == Some(format!("{code};Sender"))
                && r.header("content-type").as_deref() == Some("application/x-amz-json-1.0")
                && r.header("x-amzn-requestid").is_some()
        }),
        Expect::Query(status, code) => first.is_some_and(|r| {
            r.status == *status
                && r.text().contains("<ErrorResponse")
                && r.xml("Code").as_deref() == Some(*code)
                && r.xml("RequestId").is_some_and(|id| !id.is_empty())
        }),
        Expect::Status(status) => first.is_some_and(|r| r.status == *status),
        Expect::Statuses(statuses) => got.statuses() == *statuses,
        Expect::OkWith(text) => first.is_some_and(|r| r.status == 200 && r.text().contains(text)),
        Expect::BatchFailed(code) => first.is_some_and(|r| {
            let json = r.json();
            r.status == 200
                && (json["Failed"][0]["Code"].as_str() == Some(*code)
                    || (r.text().contains("<BatchResultErrorEntry>")
                        && r.xml("Code").as_deref() == Some(*code)))
        }),
        Expect::ContinueThen(status) => got.informational == [100] && got.statuses() == [*status],
        Expect::Closed => got.closed && got.responses.is_empty(),
        Expect::Gone => true,
    };
    (!ok).then(|| format!("expected {:?}, got {}", case.expect, describe()))
}

async fn run_case(s: &TestServer, case: &Case) -> Option<String> {
    let want = match &case.expect {
        Expect::Statuses(v) => v.len(),
        _ => 1,
    };
    let got = exchange_with(
        s.addr,
        case.parts.clone(),
        case.pause,
        case.half_close,
        want,
        CASE_TIMEOUT,
    )
    .await;
    problem(case, &got).map(|p| format!("{}: {p}", case.name))
}

async fn assert_serving(s: &TestServer, after: &str) {
    let r = s.query(&[("Action", "ListQueues")]).await;
    assert_eq!(r.status, 200, "no normal answer after {after}: {}", r.body);
}

/// Everything a case table needs to name: queues, a receipt handle, ARNs.
struct Fixture {
    url: String,
    path: String,
    name: String,
    furl: String,
    dlq_arn: String,
    handle: String,
}

async fn fixture(s: &TestServer) -> Fixture {
    let sdk = s.sdk();
    let name = unique("hostile");
    let url = sdk
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let fname = format!("{}.fifo", unique("hostile"));
    let furl = sdk
        .create_queue()
        .queue_name(&fname)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq = unique("hostile-dlq");
    sdk.create_queue().queue_name(&dlq).send().await.unwrap();
    let dlq_arn = format!("arn:aws:sqs:us-east-1:000000000000:{dlq}");
    sdk.send_message()
        .queue_url(&url)
        .message_body("handle")
        .send()
        .await
        .unwrap();
    let received = sdk
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(3600)
        .send()
        .await
        .unwrap();
    let handle = received.messages()[0].receipt_handle().unwrap().to_string();
    Fixture {
        path: format!("/000000000000/{name}"),
        url,
        name,
        furl,
        dlq_arn,
        handle,
    }
}

/// `k=v` pairs as a form body, each value percent-encoded (keys as given).
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The numeric members of every action: (action, Query parameters naming the member `{}`,
/// JSON body naming it `{}`). Each is tried with every bad number below.
fn numeric_fields(f: &Fixture) -> Vec<(&'static str, String, String)> {
    let (url, handle) = (&f.url, &f.handle);
    let qurl = enc(url);
    let qhandle = enc(handle);
    vec![
        (
            "SendMessage",
            format!("Action=SendMessage&QueueUrl={qurl}&MessageBody=x&DelaySeconds={{}}"),
            format!(r#"{{"QueueUrl":"{url}","MessageBody":"x","DelaySeconds":{{}}}}"#),
        ),
        (
            "ReceiveMessage",
            format!("Action=ReceiveMessage&QueueUrl={qurl}&MaxNumberOfMessages={{}}"),
            format!(r#"{{"QueueUrl":"{url}","MaxNumberOfMessages":{{}}}}"#),
        ),
        (
            "ReceiveMessage",
            format!("Action=ReceiveMessage&QueueUrl={qurl}&VisibilityTimeout={{}}"),
            format!(r#"{{"QueueUrl":"{url}","VisibilityTimeout":{{}}}}"#),
        ),
        (
            "ReceiveMessage",
            format!("Action=ReceiveMessage&QueueUrl={qurl}&WaitTimeSeconds={{}}"),
            format!(r#"{{"QueueUrl":"{url}","WaitTimeSeconds":{{}}}}"#),
        ),
        (
            "ChangeMessageVisibility",
            format!("Action=ChangeMessageVisibility&QueueUrl={qurl}&ReceiptHandle={qhandle}&VisibilityTimeout={{}}"),
            format!(r#"{{"QueueUrl":"{url}","ReceiptHandle":"{handle}","VisibilityTimeout":{{}}}}"#),
        ),
        (
            "ListQueues",
            "Action=ListQueues&MaxResults={}".to_string(),
            r#"{"MaxResults":{}}"#.to_string(),
        ),
        (
            "ListDeadLetterSourceQueues",
            format!("Action=ListDeadLetterSourceQueues&QueueUrl={qurl}&MaxResults={{}}"),
            format!(r#"{{"QueueUrl":"{url}","MaxResults":{{}}}}"#),
        ),
        (
            "ListMessageMoveTasks",
            format!("Action=ListMessageMoveTasks&SourceArn={}&MaxResults={{}}", enc(&f.dlq_arn)),
            format!(r#"{{"SourceArn":"{}","MaxResults":{{}}}}"#, f.dlq_arn),
        ),
        (
            "StartMessageMoveTask",
            format!("Action=StartMessageMoveTask&SourceArn={}&MaxNumberOfMessagesPerSecond={{}}", enc(&f.dlq_arn)),
            format!(r#"{{"SourceArn":"{}","MaxNumberOfMessagesPerSecond":{{}}}}"#, f.dlq_arn),
        ),
        (
            "SendMessageBatch",
            format!("Action=SendMessageBatch&QueueUrl={qurl}&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.1.DelaySeconds={{}}"),
            format!(r#"{{"QueueUrl":"{url}","Entries":[{{"Id":"a","MessageBody":"x","DelaySeconds":{{}}}}]}}"#),
        ),
        (
            "ChangeMessageVisibilityBatch",
            format!("Action=ChangeMessageVisibilityBatch&QueueUrl={qurl}&ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle={qhandle}&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout={{}}"),
            format!(r#"{{"QueueUrl":"{url}","Entries":[{{"Id":"a","ReceiptHandle":"{handle}","VisibilityTimeout":{{}}}}]}}"#),
        ),
    ]
}

/// Numbers no numeric member takes, as Query text.
const BAD_QUERY_NUMBERS: &[&str] = &[
    "-2147483649",
    "-9223372036854775809",
    "4294967296",
    "9223372036854775808",
    "99999999999999999999999999999",
    "1.5",
    "1e3",
    "0x1F",
    "%20",
];

/// Numbers no numeric member takes, as JSON.
const BAD_JSON_NUMBERS: &[&str] = &[
    "-2147483649",
    "-9223372036854775809",
    "4294967296",
    "9223372036854775808",
    "1e400",
    "1.5",
];

fn numeric_cases(f: &Fixture) -> Vec<Case> {
    let mut cases = Vec::new();
    for (action, q, j) in numeric_fields(f) {
        let member = q
            .rsplit('&')
            .next()
            .unwrap()
            .split('=')
            .next()
            .unwrap()
            .to_string();
        // A batch entry's number that is an integer is refused for that entry alone.
        let batch = action.ends_with("Batch");
        let integer = |n: &str| n.parse::<i64>().is_ok();
        for n in BAD_QUERY_NUMBERS {
            cases.push(case(
                format!("query {action} {member}={n}"),
                query(q.replace("{}", n)),
                if batch && integer(n) {
                    Expect::BatchFailed("InvalidParameterValue")
                } else {
                    Expect::Query(400, "InvalidParameterValue")
                },
            ));
        }
        for n in BAD_JSON_NUMBERS {
            cases.push(case(
                format!("json {action} {member}: {n}"),
                json(action, j.replace("{}", n)),
                if batch && integer(n) {
                    Expect::BatchFailed("InvalidParameterValue")
                } else {
                    Expect::Json(400, "InvalidParameterValue")
                },
            ));
        }
    }
    // Numeric queue attributes are strings on the wire.
    for attribute in [
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "MaximumMessageSize",
        "ReceiveMessageWaitTimeSeconds",
        "KmsDataKeyReusePeriodSeconds",
    ] {
        for n in [
            "-2147483649",
            "4294967296",
            "99999999999999999999999999999",
            "1.5",
        ] {
            cases.push(case(
                format!("query SetQueueAttributes {attribute}={n}"),
                query(form(&[
                    ("Action", "SetQueueAttributes"),
                    ("QueueUrl", &f.url),
                    ("Attribute.1.Name", attribute),
                    ("Attribute.1.Value", n),
                ])),
                Expect::Query(400, "InvalidAttributeValue"),
            ));
            cases.push(case(
                format!("json SetQueueAttributes {attribute}: {n}"),
                json(
                    "SetQueueAttributes",
                    format!(
                        r#"{{"QueueUrl":"{}","Attributes":{{"{attribute}":"{n}"}}}}"#,
                        f.url
                    ),
                ),
                Expect::Json(400, "InvalidAttributeValue"),
            ));
        }
    }
    for count in ["-1", "0", "4294967296", "1e400", "\"x\"", "1.5"] {
        let policy = format!(
            r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":{count}}}"#,
            f.dlq_arn
        );
        cases.push(case(
            format!("query RedrivePolicy maxReceiveCount {count}"),
            query(form(&[
                ("Action", "SetQueueAttributes"),
                ("QueueUrl", &f.url),
                ("Attribute.1.Name", "RedrivePolicy"),
                ("Attribute.1.Value", &policy),
            ])),
            Expect::Query(400, "InvalidParameterValue"),
        ));
        cases.push(case(
            format!("json RedrivePolicy maxReceiveCount {count}"),
            json(
                "SetQueueAttributes",
                serde_json::json!({"QueueUrl": f.url, "Attributes": {"RedrivePolicy": policy}})
                    .to_string(),
            ),
            Expect::Json(400, "InvalidParameterValue"),
        ));
    }
    for n in [
        "1e999999999",
        &"9".repeat(400),
        "--1",
        "1..2",
        "0x10",
        "NaN",
    ] {
        cases.push(case(
            format!(
                "query Number attribute {}",
                n.chars().take(20).collect::<String>()
            ),
            query(form(&[
                ("Action", "SendMessage"),
                ("QueueUrl", &f.url),
                ("MessageBody", "x"),
                ("MessageAttribute.1.Name", "n"),
                ("MessageAttribute.1.Value.DataType", "Number"),
                ("MessageAttribute.1.Value.StringValue", n),
            ])),
            Expect::Query(400, "InvalidParameterValue"),
        ));
        cases.push(case(
            format!(
                "json Number attribute {}",
                n.chars().take(20).collect::<String>()
            ),
            json(
                "SendMessage",
                serde_json::json!({"QueueUrl": f.url, "MessageBody": "x", "MessageAttributes":
                    {"n": {"DataType": "Number", "StringValue": n}}})
                .to_string(),
            ),
            Expect::Json(400, "InvalidParameterValue"),
        ));
    }
    cases
}

/// Every text member of every action, as Query parameters around the member `{}`.
fn text_fields(f: &Fixture) -> Vec<(&'static str, String)> {
    let u = enc(&f.url);
    let fu = enc(&f.furl);
    let h = enc(&f.handle);
    let arn = enc(&f.dlq_arn);
    vec![
        ("Action", "Action={}".into()),
        ("Version", "Action=ListQueues&Version={}".into()),
        ("QueueName", "Action=CreateQueue&QueueName={}".into()),
        ("Attribute name", format!("Action=SetQueueAttributes&QueueUrl={u}&Attribute.1.Name={{}}&Attribute.1.Value=1")),
        ("Attribute value", format!("Action=SetQueueAttributes&QueueUrl={u}&Attribute.1.Name=Policy&Attribute.1.Value={{}}")),
        ("Tag key", format!("Action=TagQueue&QueueUrl={u}&Tag.1.Key={{}}&Tag.1.Value=v")),
        ("Tag value", format!("Action=TagQueue&QueueUrl={u}&Tag.1.Key=k&Tag.1.Value={{}}")),
        ("TagKey", format!("Action=UntagQueue&QueueUrl={u}&TagKey.1={{}}")),
        ("GetQueueUrl QueueName", "Action=GetQueueUrl&QueueName={}".into()),
        ("QueueOwnerAWSAccountId", format!("Action=GetQueueUrl&QueueName={}&QueueOwnerAWSAccountId={{}}", f.name)),
        ("QueueUrl", "Action=GetQueueAttributes&QueueUrl={}".into()),
        ("MessageBody", format!("Action=SendMessage&QueueUrl={u}&MessageBody={{}}")),
        ("MessageAttribute name", format!("Action=SendMessage&QueueUrl={u}&MessageBody=x&MessageAttribute.1.Name={{}}&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v")),
        ("MessageAttribute DataType", format!("Action=SendMessage&QueueUrl={u}&MessageBody=x&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType={{}}&MessageAttribute.1.Value.StringValue=v")),
        ("MessageAttribute StringValue", format!("Action=SendMessage&QueueUrl={u}&MessageBody=x&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue={{}}")),
        ("AWSTraceHeader", format!("Action=SendMessage&QueueUrl={u}&MessageBody=x&MessageSystemAttribute.1.Name=AWSTraceHeader&MessageSystemAttribute.1.Value.DataType=String&MessageSystemAttribute.1.Value.StringValue={{}}")),
        ("MessageGroupId", format!("Action=SendMessage&QueueUrl={fu}&MessageBody=x&MessageDeduplicationId=d&MessageGroupId={{}}")),
        ("MessageDeduplicationId", format!("Action=SendMessage&QueueUrl={fu}&MessageBody=x&MessageGroupId=g&MessageDeduplicationId={{}}")),
        ("AttributeName", format!("Action=ReceiveMessage&QueueUrl={u}&AttributeName.1={{}}")),
        ("MessageAttributeName", format!("Action=ReceiveMessage&QueueUrl={u}&MessageAttributeName.1={{}}")),
        ("ReceiveRequestAttemptId", format!("Action=ReceiveMessage&QueueUrl={fu}&ReceiveRequestAttemptId={{}}")),
        ("ReceiptHandle", format!("Action=DeleteMessage&QueueUrl={u}&ReceiptHandle={{}}")),
        ("Label", format!("Action=AddPermission&QueueUrl={u}&Label={{}}&AWSAccountId.1=111111111111&ActionName.1=SendMessage")),
        ("AWSAccountId", format!("Action=AddPermission&QueueUrl={u}&Label=l&AWSAccountId.1={{}}&ActionName.1=SendMessage")),
        ("ActionName", format!("Action=AddPermission&QueueUrl={u}&Label=l&AWSAccountId.1=111111111111&ActionName.1={{}}")),
        ("RemovePermission Label", format!("Action=RemovePermission&QueueUrl={u}&Label={{}}")),
        ("QueueNamePrefix", "Action=ListQueues&QueueNamePrefix={}".into()),
        ("NextToken", "Action=ListQueues&MaxResults=1&NextToken={}".into()),
        ("batch entry Id", format!("Action=SendMessageBatch&QueueUrl={u}&SendMessageBatchRequestEntry.1.Id={{}}&SendMessageBatchRequestEntry.1.MessageBody=x")),
        ("batch ReceiptHandle", format!("Action=DeleteMessageBatch&QueueUrl={u}&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle={{}}")),
        ("visibility ReceiptHandle", format!("Action=ChangeMessageVisibility&QueueUrl={u}&ReceiptHandle={{}}&VisibilityTimeout=5&x={h}")),
        ("SourceArn", "Action=StartMessageMoveTask&SourceArn={}".into()),
        ("DestinationArn", format!("Action=StartMessageMoveTask&SourceArn={arn}&DestinationArn={{}}")),
        ("TaskHandle", "Action=CancelMessageMoveTask&TaskHandle={}".into()),
    ]
}

/// Invalid UTF-8 (percent-encoded and raw) in every Query text member, and in the matching
/// JSON members (raw bytes, and lone surrogate escapes).
fn utf8_cases(f: &Fixture) -> Vec<Case> {
    let mut cases = Vec::new();
    for (field, q) in text_fields(f) {
        cases.push(case(
            format!("query %FF in {field}"),
            query(q.replace("{}", "a%FF%FEb")),
            Expect::Query(404, "MalformedQueryString"),
        ));
        let raw = q.as_bytes().to_vec();
        let at = q.find("{}").unwrap();
        let bytes = [&raw[..at], b"a\xff\xc0b", &raw[at + 2..]].concat();
        cases.push(case(
            format!("query raw 0xFF in {field}"),
            query(bytes),
            Expect::Query(404, "MalformedQueryString"),
        ));
    }
    let u = &f.url;
    let json_fields: Vec<(&str, String)> = vec![
        ("CreateQueue", r#"{"QueueName":"{}"}"#.into()),
        (
            "CreateQueue",
            r#"{"QueueName":"q","Attributes":{"{}":"1"}}"#.into(),
        ),
        (
            "CreateQueue",
            r#"{"QueueName":"q","Attributes":{"VisibilityTimeout":"{}"}}"#.into(),
        ),
        (
            "CreateQueue",
            r#"{"QueueName":"q","tags":{"{}":"v"}}"#.into(),
        ),
        ("GetQueueUrl", r#"{"QueueName":"{}"}"#.into()),
        ("GetQueueAttributes", r#"{"QueueUrl":"{}"}"#.into()),
        (
            "SendMessage",
            format!(r#"{{"QueueUrl":"{u}","MessageBody":"{{}}"}}"#),
        ),
        (
            "SendMessage",
            format!(
                r#"{{"QueueUrl":"{u}","MessageBody":"x","MessageAttributes":{{"{{}}":{{"DataType":"String","StringValue":"v"}}}}}}"#
            ),
        ),
        (
            "SendMessage",
            format!(
                r#"{{"QueueUrl":"{u}","MessageBody":"x","MessageAttributes":{{"a":{{"DataType":"{{}}","StringValue":"v"}}}}}}"#
            ),
        ),
        (
            "SendMessage",
            format!(
                r#"{{"QueueUrl":"{u}","MessageBody":"x","MessageAttributes":{{"a":{{"DataType":"String","StringValue":"{{}}"}}}}}}"#
            ),
        ),
        (
            "SendMessage",
            format!(
                r#"{{"QueueUrl":"{}","MessageBody":"x","MessageGroupId":"{{}}","MessageDeduplicationId":"d"}}"#,
                f.furl
            ),
        ),
        (
            "ReceiveMessage",
            format!(r#"{{"QueueUrl":"{u}","MessageAttributeNames":["{{}}"]}}"#),
        ),
        (
            "DeleteMessage",
            format!(r#"{{"QueueUrl":"{u}","ReceiptHandle":"{{}}"}}"#),
        ),
        (
            "AddPermission",
            format!(
                r#"{{"QueueUrl":"{u}","Label":"{{}}","AWSAccountIds":["111111111111"],"Actions":["SendMessage"]}}"#
            ),
        ),
        (
            "TagQueue",
            format!(r#"{{"QueueUrl":"{u}","Tags":{{"k":"{{}}"}}}}"#),
        ),
        ("ListQueues", r#"{"QueueNamePrefix":"{}"}"#.into()),
        (
            "SendMessageBatch",
            format!(r#"{{"QueueUrl":"{u}","Entries":[{{"Id":"{{}}","MessageBody":"x"}}]}}"#),
        ),
        ("StartMessageMoveTask", r#"{"SourceArn":"{}"}"#.into()),
        ("CancelMessageMoveTask", r#"{"TaskHandle":"{}"}"#.into()),
    ];
    for (i, (op, body)) in json_fields.iter().enumerate() {
        let at = body.find("{}").unwrap();
        let raw = [
            &body.as_bytes()[..at],
            b"a\xff\xfeb",
            &body.as_bytes()[at + 2..],
        ]
        .concat();
        cases.push(case(
            format!("json raw 0xFF in {op} member {i}"),
            json(op, raw),
            Expect::Json(400, "InvalidParameterValue"),
        ));
        cases.push(case(
            format!("json lone surrogate in {op} member {i}"),
            json(op, body.replace("{}", "a\\ud800b")),
            Expect::Json(400, "InvalidParameterValue"),
        ));
    }
    cases
}

fn header_cases() -> Vec<Case> {
    let list = b"Action=ListQueues";
    let form_ct: &[u8] = b"Content-Type: application/x-www-form-urlencoded";
    let with = |headers: &[&[u8]]| {
        let mut all = vec![form_ct];
        all.extend_from_slice(headers);
        request("POST", b"/", &all, list, true)
    };
    let big = format!("X-Big: {}", "b".repeat(70 * 1024));
    let under = format!("X-Big: {}", "b".repeat(60 * 1024));
    let many: Vec<String> = (0..101).map(|i| format!("X-H{i}: v")).collect();
    let many: Vec<&[u8]> = many.iter().map(String::as_bytes).collect();
    let thousand: Vec<String> = (0..1000).map(|i| format!("X-H{i}: v")).collect();
    let thousand: Vec<&[u8]> = thousand.iter().map(String::as_bytes).collect();
    let long_target = format!("/?Action=ListQueues&X={}", "x".repeat(70 * 1024));
    vec![
        case("a 70 KiB header", with(&[big.as_bytes()]), Expect::Status(431)),
        case("a 60 KiB header (under the limit)", with(&[under.as_bytes()]), Expect::Statuses(vec![200])),
        case("101 headers", request("POST", b"/", &many, list, true), Expect::Status(431)),
        case("1000 headers", request("POST", b"/", &thousand, list, true), Expect::Status(431)),
        case("a 70 KiB request line", request("GET", long_target.as_bytes(), &[], b"", true), Expect::Status(431)),
        case("invalid UTF-8 in X-Amz-Target", request("POST", b"/", &[b"Content-Type: application/x-amz-json-1.0", b"X-Amz-Target: AmazonSQS.\xff\xfe"], b"{}", true), Expect::Json(400, "MissingAction")),
        case("invalid UTF-8 in Content-Type", with(&[b"Content-Type: \xff\xfe"]), Expect::Statuses(vec![200])),
        case("invalid UTF-8 in Authorization", request("POST", b"/", &[form_ct, b"Authorization: AWS4-HMAC-SHA256 Credential=\xff/x"], list, false), Expect::Query(400, "IncompleteSignature")),
        case("invalid UTF-8 in X-Amz-Date", request("POST", b"/", &[form_ct, b"X-Amz-Date: \xff\xfe", b"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00"], list, false), Expect::Query(400, "IncompleteSignature")),
        case("invalid UTF-8 in Host", request("POST", b"/", &[form_ct, b"Host: \xff\xfe"], list, true), Expect::Statuses(vec![200])),
        case("invalid UTF-8 in X-Amzn-Trace-Id", with(&[b"X-Amzn-Trace-Id: \xff\xfe"]), Expect::Statuses(vec![200])),
        case("invalid UTF-8 in Accept", with(&[b"Accept: \xff\xfe"]), Expect::Statuses(vec![200])),
        case("a header name with 0xFF", with(&[b"X-\xff: v"]), Expect::Status(400)),
        case("a header without a colon", with(&[b"NoColonHere"]), Expect::Status(400)),
        case("an obs-folded header", with(&[b"X-Fold: a\r\n  b"]), Expect::Status(400)),
        case("a NUL in a header value", with(&[b"X-Nul: a\x00b"]), Expect::Status(400)),
        case("a malformed Authorization", request("POST", b"/", &[form_ct, b"Authorization: AWS4-HMAC-SHA256 garbage"], list, false), Expect::Query(400, "IncompleteSignature")),
        case("an X-Amz-Date in the far future", request("POST", b"/", &[form_ct, b"X-Amz-Date: 99991231T235959Z", b"Authorization: AWS4-HMAC-SHA256 Credential=AKID/99991231/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000"], list, false), Expect::Query(400, "RequestExpired")),
        case("two different X-Amz-Target headers", request("POST", b"/", &[b"Content-Type: application/x-amz-json-1.0", b"X-Amz-Target: AmazonSQS.ListQueues", b"X-Amz-Target: AmazonSQS.DeleteQueue"], b"{}", true), Expect::Statuses(vec![200])),
    ]
}

fn framing_cases(f: &Fixture) -> Vec<Case> {
    let list_json = br#"{}"#;
    fn json_head<'a>(extra: &[&'a [u8]]) -> Vec<&'a [u8]> {
        let mut h: Vec<&[u8]> = vec![
            b"Content-Type: application/x-amz-json-1.0",
            b"X-Amz-Target: AmazonSQS.ListQueues",
        ];
        h.extend_from_slice(extra);
        h
    }
    let chunked = |chunks: &[u8]| {
        request(
            "POST",
            b"/",
            &json_head(&[b"Transfer-Encoding: chunked"]),
            chunks,
            true,
        )
    };
    let list = query(b"Action=ListQueues");
    let health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    let mut http10 = query(b"Action=ListQueues");
    replace_version(&mut http10, b"HTTP/1.0");
    let mut http10_ka = request(
        "POST",
        b"/",
        &[
            b"Content-Type: application/x-www-form-urlencoded",
            b"Connection: keep-alive",
        ],
        b"Action=ListQueues",
        true,
    );
    replace_version(&mut http10_ka, b"HTTP/1.0");
    let mut http12 = query(b"Action=ListQueues");
    replace_version(&mut http12, b"HTTP/1.2");
    let mut http2 = query(b"Action=ListQueues");
    replace_version(&mut http2, b"HTTP/2.0");
    let big_chunks = {
        let chunk = format!("{:x}\r\n{}\r\n", 1 << 20, "a".repeat(1 << 20));
        format!("{}0\r\n\r\n", chunk.repeat(5))
    };
    let receive_1s = format!(
        "Action=ReceiveMessage&QueueUrl={}&WaitTimeSeconds=1",
        enc(&f.url)
    );
    vec![
        case("chunked JSON body in three chunks", chunked(b"1\r\n{\r\n1\r\n \r\n1\r\n}\r\n0\r\n\r\n"), Expect::Statuses(vec![200])),
        case("chunked with chunk extensions", chunked(b"2;ext=1;x=\"y\"\r\n{}\r\n0\r\n\r\n"), Expect::Statuses(vec![200])),
        case("chunked with trailers", chunked(b"2\r\n{}\r\n0\r\nX-Trailer: t\r\n\r\n"), Expect::Statuses(vec![200])),
        case("chunked with an invalid size", chunked(b"zz\r\n{}\r\n0\r\n\r\n"), Expect::Json(400, "InvalidParameterValue")),
        case("chunked with an overflowing size", chunked(b"fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"), Expect::Json(400, "InvalidParameterValue")),
        case("chunked over the body limit", chunked(big_chunks.as_bytes()), Expect::Json(413, "RequestEntityTooLarge")),
        case("Content-Length and chunked together", request("POST", b"/", &json_head(&[b"Content-Length: 2", b"Transfer-Encoding: chunked"]), b"2\r\n{}\r\n0\r\n\r\n", true), Expect::Statuses(vec![200])),
        case("Transfer-Encoding gzip, chunked", request("POST", b"/", &json_head(&[b"Transfer-Encoding: gzip, chunked"]), b"2\r\n{}\r\n0\r\n\r\n", true), Expect::Statuses(vec![200])),
        case("Transfer-Encoding identity", request("POST", b"/", &json_head(&[b"Transfer-Encoding: identity"]), list_json, true), Expect::Status(400)),
        case("Content-Length -1", request("POST", b"/", &json_head(&[b"Content-Length: -1"]), list_json, true), Expect::Status(400)),
        case("Content-Length abc", request("POST", b"/", &json_head(&[b"Content-Length: abc"]), list_json, true), Expect::Status(400)),
        case("Content-Length overflowing u64", request("POST", b"/", &json_head(&[b"Content-Length: 99999999999999999999999"]), list_json, true), Expect::Status(400)),
        case("Content-Length +2", request("POST", b"/", &json_head(&[b"Content-Length: +2"]), list_json, true), Expect::Status(400)),
        case("two different Content-Lengths", request("POST", b"/", &json_head(&[b"Content-Length: 2", b"Content-Length: 3"]), list_json, true), Expect::Status(400)),
        case("Content-Length over the limit, no body sent", request("POST", b"/", &json_head(&[b"Content-Length: 999999999"]), b"", true), Expect::Json(413, "RequestEntityTooLarge")),
        case("Expect: 100-continue", request("POST", b"/", &json_head(&[b"Expect: 100-continue"]), list_json, true), Expect::ContinueThen(200)),
        slow("Expect: 100-continue, body after a pause", split_body(request("POST", b"/", &json_head(&[b"Expect: 100-continue"]), list_json, true), 2), 300, Expect::ContinueThen(200)),
        case("Expect: 100-continue over the body limit", request("POST", b"/", &json_head(&[b"Expect: 100-continue", b"Content-Length: 999999999"]), b"", true), Expect::Json(413, "RequestEntityTooLarge")),
        case("Expect: something else", request("POST", b"/", &json_head(&[b"Expect: 200-ok"]), list_json, true), Expect::Statuses(vec![200])),
        case("HTTP/1.0 request", http10, Expect::Statuses(vec![200])),
        case("HTTP/1.0 keep-alive, two requests", [http10_ka.clone(), http10_ka].concat(), Expect::Statuses(vec![200, 200])),
        case("HTTP/1.0 without Host", b"POST / HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 17\r\n\r\nAction=ListQueues".to_vec(), Expect::Query(403, "MissingAuthenticationToken")),
        case("HTTP/0.9 request line", b"GET /\r\n\r\n".to_vec(), Expect::Status(400)),
        case("HTTP/1.2 request", http12, Expect::Status(400)),
        case("HTTP/2.0 in an HTTP/1 request line", http2, Expect::Status(400)),
        case("an HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), Expect::Closed),
        case("a TLS ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), Expect::Status(400)),
        case("leading empty lines", [b"\r\n\r\n".to_vec(), list.clone()].concat(), Expect::Statuses(vec![200])),
        // hyper skips empty lines before a head, then the header-read timeout closes.
        case("only empty lines", b"\r\n\r\n\r\n\r\n".to_vec(), Expect::Closed),
        case("a NUL in the request line", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), Expect::Status(400)),
        case("a method with a space", b"GE T / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), Expect::Status(400)),
        case("a lower-case method", request("post", b"/", &[b"Content-Type: application/x-www-form-urlencoded"], b"Action=ListQueues", true), Expect::OkWith("<ListQueuesResponse".into())),
        case("an unknown method", request("FOO", b"/", &[b"Content-Type: application/x-www-form-urlencoded"], b"Action=ListQueues", true), Expect::OkWith("<ListQueuesResponse".into())),
        case("OPTIONS", request("OPTIONS", b"/", &[], b"", true), Expect::Query(400, "MissingAction")),
        case("CONNECT", request("CONNECT", b"127.0.0.1:443", &[], b"", true), Expect::Status(400)),
        case("an Upgrade: websocket header", request("POST", b"/", &[b"Content-Type: application/x-www-form-urlencoded", b"Connection: Upgrade", b"Upgrade: websocket"], b"Action=ListQueues", true), Expect::Statuses(vec![200])),
        case("three pipelined requests", [list.clone(), list.clone(), list.clone()].concat(), Expect::Statuses(vec![200; 3])),
        case("fifty pipelined requests", list.repeat(50), Expect::Statuses(vec![200; 50])),
        case("pipelined: health, SQS, health", [health.clone(), list.clone(), health].concat(), Expect::Statuses(vec![200; 3])),
        case("pipelined: a 1 s long poll, then a request", [query(receive_1s.as_bytes()), list.clone()].concat(), Expect::Statuses(vec![200, 200])),
        case("pipelined: a request, then garbage", [list.clone(), b"GARBAGE\r\n\r\n".to_vec()].concat(), Expect::Statuses(vec![200, 400])),
        case("pipelined: a 431, then a request", [request("POST", b"/", &[format!("X-Big: {}", "b".repeat(70 * 1024)).as_bytes()], b"", true), list].concat(), Expect::Statuses(vec![431])),
    ]
}

/// The request split after its head: head, then the body in `pieces` parts.
fn split_body(bytes: Vec<u8>, pieces: usize) -> Vec<Vec<u8>> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (head, body) = bytes.split_at(end);
    let mut parts = vec![head.to_vec()];
    let size = body.len().div_ceil(pieces).max(1);
    parts.extend(body.chunks(size).map(<[u8]>::to_vec));
    parts
}

fn replace_version(bytes: &mut Vec<u8>, version: &[u8]) {
    let at = bytes.windows(8).position(|w| w == b"HTTP/1.1").unwrap();
    bytes.splice(at..at + 8, version.iter().copied());
}

fn body_cases(f: &Fixture) -> Vec<Case> {
    let u = enc(&f.url);
    let mut truncated = query(b"Action=SendMessage&MessageBody=x");
    let cl = truncated
        .windows(18)
        .position(|w| w == b"Content-Length: 32")
        .unwrap();
    truncated.splice(cl..cl + 18, b"Content-Length: 99".iter().copied());
    let mut cut = truncated.clone();
    cut.truncate(cut.len() - 5);
    let many_attrs = |n: usize| {
        let mut p = vec![format!("Action=SendMessage&QueueUrl={u}&MessageBody=x")];
        for i in 1..=n {
            p.push(format!("MessageAttribute.{i}.Name=a{i}&MessageAttribute.{i}.Value.DataType=String&MessageAttribute.{i}.Value.StringValue=v"));
        }
        p.join("&")
    };
    let json_attrs: serde_json::Map<String, serde_json::Value> = (0..10_000)
        .map(|i| {
            (
                format!("a{i}"),
                serde_json::json!({"DataType": "String", "StringValue": "v"}),
            )
        })
        .collect();
    let queue_attrs: serde_json::Map<String, serde_json::Value> = (0..10_000)
        .map(|i| (format!("A{i}"), serde_json::json!("1")))
        .collect();
    let tags_q: String = (1..=10_000)
        .map(|i| format!("&Tag.{i}.Key=k{i}&Tag.{i}.Value=v"))
        .collect();
    let entries_q: String = (1..=10_000)
        .map(|i| format!("&SendMessageBatchRequestEntry.{i}.Id=e{i}&SendMessageBatchRequestEntry.{i}.MessageBody=x"))
        .collect();
    let entries_j: Vec<serde_json::Value> = (0..10_000)
        .map(|i| serde_json::json!({"Id": format!("e{i}"), "MessageBody": "x"}))
        .collect();
    let attr_names_q: String = (1..=10_000)
        .map(|i| format!("&AttributeName.{i}=All"))
        .collect();
    let deep_array = "[".repeat(100_000);
    let deep_member = format!(
        r#"{{"QueueName":{}1{}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    let deep_unknown = format!(r#"{{"X":{}1{}}}"#, "{\"a\":".repeat(200), "}".repeat(200));
    let deeper_unknown = format!(
        r#"{{"X":{}1{}}}"#,
        "{\"a\":".repeat(100_000),
        "}".repeat(100_000)
    );
    let deep_policy = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let deep_key = format!("Action=ListQueues&{}=1", "a.".repeat(100_000));
    let deep_known = format!(
        "Action=SendMessage&QueueUrl={u}&MessageBody=x&MessageAttribute.1{}=v",
        ".Value".repeat(10_000)
    );
    vec![
        Case { name: "Query body cut short, half-closed".into(), parts: vec![cut.clone()], pause: Duration::ZERO, half_close: true, expect: Expect::Query(400, "InvalidParameterValue") },
        Case { name: "Query body cut short, then gone".into(), parts: vec![cut.clone()], pause: Duration::ZERO, half_close: true, expect: Expect::Gone },
        Case { name: "head cut short, half-closed".into(), parts: vec![cut[..40].to_vec()], pause: Duration::ZERO, half_close: true, expect: Expect::Closed },
        case("JSON cut in a string", json("CreateQueue", br#"{"QueueName": "ab"#), Expect::Json(400, "InvalidParameterValue")),
        case("JSON cut after a key", json("CreateQueue", br#"{"QueueName""#), Expect::Json(400, "InvalidParameterValue")),
        case("JSON of one brace", json("CreateQueue", b"{"), Expect::Json(400, "InvalidParameterValue")),
        case("JSON with trailing garbage", json("ListQueues", b"{} x"), Expect::Json(400, "InvalidParameterValue")),
        case("JSON of NUL bytes", json("ListQueues", [0u8; 64]), Expect::Json(400, "InvalidParameterValue")),
        case("JSON with a form body", json("ListQueues", b"Action=ListQueues"), Expect::Json(400, "InvalidParameterValue")),
        case("a form body sent as JSON content type, no target", request("POST", b"/", &[b"Content-Type: application/x-amz-json-1.0"], b"Action=ListQueues", true), Expect::Json(400, "MissingAction")),
        case("a JSON body sent as a form", query(br#"{"QueueName":"x"}"#), Expect::Query(400, "MissingAction")),
        case("an empty form body", query(b""), Expect::Query(400, "MissingAction")),
        case("a form of separators", query(b"&&&&=&=&==&"), Expect::Query(400, "MissingAction")),
        case("a form of 100,000 separators", query("&".repeat(100_000)), Expect::Query(400, "MissingAction")),
        case("a form ending in %", query(b"Action=ListQueues&QueueNamePrefix=x%"), Expect::Statuses(vec![200])),
        case("an Action of 1 MiB", query(format!("Action={}", "A".repeat(1 << 20))), Expect::Query(400, "InvalidAction")),
        case("a body of 5 MiB", query(format!("Action=ListQueues&X={}", "x".repeat(5 << 20))), Expect::Query(413, "RequestEntityTooLarge")),
        case("query: 10,000 message attributes", query(many_attrs(10_000)), Expect::Query(400, "InvalidParameterValue")),
        case("json: 10,000 message attributes", json("SendMessage", serde_json::json!({"QueueUrl": f.url, "MessageBody": "x", "MessageAttributes": json_attrs}).to_string()), Expect::Json(400, "InvalidParameterValue")),
        case("query: 10,000 queue attributes", query(format!("Action=CreateQueue&QueueName=many{}", (1..=10_000).map(|i| format!("&Attribute.{i}.Name=A{i}&Attribute.{i}.Value=1")).collect::<String>())), Expect::Query(400, "InvalidAttributeName")),
        case("json: 10,000 queue attributes", json("CreateQueue", serde_json::json!({"QueueName": "many", "Attributes": queue_attrs}).to_string()), Expect::Json(400, "InvalidAttributeName")),
        case("query: 10,000 tags", query(format!("Action=TagQueue&QueueUrl={u}{tags_q}")), Expect::Query(400, "InvalidParameterValue")),
        case("query: 10,000 batch entries", query(format!("Action=SendMessageBatch&QueueUrl={u}{entries_q}")), Expect::Query(400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")),
        case("json: 10,000 batch entries", json("SendMessageBatch", serde_json::json!({"QueueUrl": f.url, "Entries": entries_j}).to_string()), Expect::Json(400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")),
        case("query: 10,000 attribute names", query(format!("Action=GetQueueAttributes&QueueUrl={u}{attr_names_q}")), Expect::OkWith("GetQueueAttributesResult".into())),
        case("json: 100,000 nested arrays", json("ListQueues", &deep_array), Expect::Json(400, "InvalidParameterValue")),
        case("json: a member 1000 arrays deep", json("CreateQueue", &deep_member), Expect::Json(400, "InvalidParameterValue")),
        case("json: an unknown member 200 objects deep", json("ListQueues", &deep_unknown), Expect::Statuses(vec![200])),
        case("json: an unknown member 100,000 objects deep", json("ListQueues", &deeper_unknown), Expect::Statuses(vec![200])),
        case("json: a Policy 10,000 objects deep", json("SetQueueAttributes", serde_json::json!({"QueueUrl": f.url, "Attributes": {"Policy": deep_policy}}).to_string()), Expect::Json(400, "InvalidAttributeValue")),
        case("json: a RedrivePolicy 10,000 objects deep", json("SetQueueAttributes", serde_json::json!({"QueueUrl": f.url, "Attributes": {"RedrivePolicy": deep_policy}}).to_string()), Expect::Json(400, "InvalidParameterValue")),
        case("query: a key 100,000 parts deep", query(&deep_key), Expect::Query(400, "InvalidParameterValue")),
        case("query: a member key 10,000 parts deep", query(&deep_known), Expect::Query(400, "InvalidParameterValue")),
    ]
}

fn duplicate_cases(f: &Fixture) -> Vec<Case> {
    let u = enc(&f.url);
    let a = unique("dup-a");
    let b = unique("dup-b");
    let other = unique("other");
    vec![
        case("query: Action twice", query(b"Action=ListQueues&Action=CreateQueue"), Expect::OkWith("<ListQueuesResponse".into())),
        case("query: QueueName twice, the last wins", query(format!("Action=CreateQueue&QueueName={a}&QueueName={b}")), Expect::OkWith(format!("/{b}</QueueUrl>"))),
        case("query: Action in the URL and in the body", request("POST", b"/?Action=ListQueues", &[b"Content-Type: application/x-www-form-urlencoded"], b"Action=CreateQueue&QueueName=x", true), Expect::OkWith("<ListQueuesResponse".into())),
        case("query: a queue path and another QueueUrl", query_request(f.path.as_bytes(), format!("Action=GetQueueAttributes&QueueUrl={}", enc(&format!("http://127.0.0.1/000000000000/{other}"))).as_bytes()), Expect::Query(400, "AWS.SimpleQueueService.NonExistentQueue")),
        case("query: Attribute.1 twice, conflicting", query(format!("Action=SetQueueAttributes&QueueUrl={u}&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=10&Attribute.1.Value=99999999")), Expect::Query(400, "InvalidAttributeValue")),
        case("query: one attribute under two indexes, conflicting", query(format!("Action=CreateQueue&QueueName={}&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=10&Attribute.2.Name=VisibilityTimeout&Attribute.2.Value=99999999", f.name)), Expect::Query(400, "InvalidAttributeValue")),
        case("query: FifoQueue true and false", query("Action=CreateQueue&QueueName=x.fifo&Attribute.1.Name=FifoQueue&Attribute.1.Value=true&Attribute.2.Name=FifoQueue&Attribute.2.Value=false"), Expect::Query(400, "InvalidAttributeValue")),
        case("json: QueueName twice", json("CreateQueue", format!(r#"{{"QueueName":"{a}","QueueName":"{b}"}}"#)), Expect::Json(400, "InvalidParameterValue")),
        case("json: an attribute twice", json("SetQueueAttributes", format!(r#"{{"QueueUrl":"{}","Attributes":{{"VisibilityTimeout":"10","VisibilityTimeout":"20"}}}}"#, f.url)), Expect::Statuses(vec![200])),
        case("json: an Action member beside the target", json("ListQueues", br#"{"Action":"DeleteQueue"}"#), Expect::Statuses(vec![200])),
        case("query: the same batch entry under two indexes", query(format!("Action=SendMessageBatch&QueueUrl={u}&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.2.Id=a&SendMessageBatchRequestEntry.2.MessageBody=y")), Expect::Query(400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")),
        case("query: Attribute.999999999 is read", query(format!("Action=SetQueueAttributes&QueueUrl={u}&Attribute.999999999.Name=VisibilityTimeout&Attribute.999999999.Value=99999999")), Expect::Query(400, "InvalidAttributeValue")),
        case("query: Attribute.4294967296 is no index", query(format!("Action=SetQueueAttributes&QueueUrl={u}&Attribute.4294967296.Name=VisibilityTimeout&Attribute.4294967296.Value=99999999")), Expect::Query(400, "MissingParameter")),
        case("query: Attribute.-1 is no index", query(format!("Action=SetQueueAttributes&QueueUrl={u}&Attribute.-1.Name=VisibilityTimeout&Attribute.-1.Value=99999999")), Expect::Query(400, "MissingParameter")),
        case("query: MessageAttribute.999999999 is read", query(format!("Action=SendMessage&QueueUrl={u}&MessageBody=x&MessageAttribute.999999999.Name=a&MessageAttribute.999999999.Value.DataType=Bogus&MessageAttribute.999999999.Value.StringValue=v")), Expect::Query(400, "InvalidParameterValue")),
        case("query: entries only at an overflowing index", query(format!("Action=SendMessageBatch&QueueUrl={u}&SendMessageBatchRequestEntry.99999999999999999999.Id=a&SendMessageBatchRequestEntry.99999999999999999999.MessageBody=x")), Expect::Query(400, "AWS.SimpleQueueService.EmptyBatchRequest")),
        case("query: entries at indexes 1 and 999999999", query(format!("Action=DeleteMessageBatch&QueueUrl={u}&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=x&DeleteMessageBatchRequestEntry.999999999.Id=a&DeleteMessageBatchRequestEntry.999999999.ReceiptHandle=y")), Expect::Query(400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")),
        case("query: AttributeName.4294967295", query(format!("Action=GetQueueAttributes&QueueUrl={u}&AttributeName.4294967295=Bogus")), Expect::Query(400, "InvalidAttributeName")),
    ]
}

fn url_cases(f: &Fixture) -> Vec<Case> {
    let q = &f.name;
    let action = b"Action=GetQueueAttributes";
    let at = |path: &str| query_request(path.as_bytes(), action);
    let missing = "AWS.SimpleQueueService.NonExistentQueue";
    let long = format!("/000000000000/{}", "a".repeat(2000));
    let mut cases = vec![
        case(
            "path: /../ traversal",
            at(&format!("/000000000000/../000000000000/{q}")),
            Expect::Query(400, "MissingParameter"),
        ),
        case(
            "path: %2e%2e traversal",
            at(&format!("/000000000000/%2e%2e/{q}")),
            Expect::Query(400, "MissingParameter"),
        ),
        case(
            "path: encoded slashes to /etc/passwd",
            at("/..%2f..%2fetc%2fpasswd"),
            Expect::Query(400, missing),
        ),
        case(
            "path: a NUL after the name",
            at(&format!("/000000000000/{q}%00")),
            Expect::Query(400, missing),
        ),
        case(
            "path: extra segments",
            at(&format!("/000000000000/{q}/extra/segments")),
            Expect::Query(400, "MissingParameter"),
        ),
        case(
            "path: doubled slashes name the queue",
            at(&format!("//000000000000//{q}")),
            Expect::OkWith("GetQueueAttributesResult".into()),
        ),
        case(
            "path: a 2000-character name",
            at(&long),
            Expect::Query(400, missing),
        ),
        case(
            "path: %FF as the name",
            at("/000000000000/%FF"),
            Expect::Query(400, missing),
        ),
        case("path: a bare %", at("/%"), Expect::Query(400, missing)),
        case(
            "path: %zz",
            at("/000000000000/%zz"),
            Expect::Query(400, missing),
        ),
        case(
            "path: ;params",
            at(&format!("/000000000000/{q};jsessionid=1")),
            Expect::Query(400, missing),
        ),
        case(
            "path: a fragment is not the name",
            at(&format!("/000000000000/{q}#frag")),
            Expect::OkWith("GetQueueAttributesResult".into()),
        ),
        case(
            "path: raw UTF-8",
            at("/000000000000/\u{e9}t\u{e9}"),
            Expect::Status(400),
        ),
        case("path: asterisk form", at("*"), Expect::Query(400, missing)),
        case(
            "path: absolute form of another host",
            at(&format!("http://evil.example/000000000000/{q}")),
            Expect::OkWith("GetQueueAttributesResult".into()),
        ),
        case(
            "path: a 20-digit account",
            at(&format!("/00000000000000000000/{q}")),
            Expect::Query(400, missing),
        ),
        case(
            "path: a name with a dot",
            at("/000000000000/a.b.c"),
            Expect::Query(400, missing),
        ),
    ];
    let long_url = format!("http://127.0.0.1/000000000000/{}", "a".repeat(10_000));
    // (what, QueueUrl, the code; `None`: the URL names the queue, and it is answered).
    let urls: Vec<(&str, String, Option<Refusal>)> = vec![
        (
            "file URL",
            "file:///etc/passwd".into(),
            Some((400, missing)),
        ),
        (
            "traversal URL",
            "http://x/../../etc/passwd".into(),
            Some((404, "InvalidAddress")),
        ),
        ("empty URL", String::new(), Some((404, "InvalidAddress"))),
        (
            "scheme only",
            "http://".into(),
            Some((404, "InvalidAddress")),
        ),
        ("no scheme", "://".into(), Some((404, "InvalidAddress"))),
        (
            "unclosed IPv6 host",
            "http://[::1/000000000000/q".into(),
            Some((400, missing)),
        ),
        (
            "javascript URL",
            "javascript:alert(1)".into(),
            Some((400, missing)),
        ),
        ("10,000-character name", long_url, Some((400, missing))),
        (
            "URL with a fragment",
            format!("http://h/000000000000/{q}#frag"),
            None,
        ),
        (
            "URL with a query",
            format!("http://h/000000000000/{q}?x=y"),
            None,
        ),
        (
            "URL with %2F",
            format!("http://h/000000000000/{q}%2Fr"),
            Some((400, missing)),
        ),
        (
            "URL with a NUL",
            "http://h/000000000000/q\u{0}".into(),
            Some((400, missing)),
        ),
        (
            "relative URL with ..",
            format!("/000000000000/{q}/../x"),
            Some((404, "InvalidAddress")),
        ),
        (
            "URL of another account",
            format!("http://h/111111111111/{q}"),
            Some((400, missing)),
        ),
        (
            "URL with user info",
            format!("http://user:pass@h/000000000000/{q}"),
            None,
        ),
    ];
    for (name, url, error) in urls {
        cases.push(case(
            format!("query QueueUrl: {name}"),
            query(form(&[
                ("Action", "GetQueueAttributes"),
                ("QueueUrl", &url),
            ])),
            error.map_or_else(
                || Expect::OkWith("GetQueueAttributesResult".into()),
                |(status, code)| Expect::Query(status, code),
            ),
        ));
        cases.push(case(
            format!("json QueueUrl: {name}"),
            json(
                "GetQueueAttributes",
                serde_json::json!({"QueueUrl": url}).to_string(),
            ),
            error.map_or(Expect::Statuses(vec![200]), |(status, code)| {
                Expect::Json(status, code)
            }),
        ));
    }
    cases
}

/// Presigned URLs (query-string authentication) with hostile parameters, unsigned otherwise.
fn presigned_cases() -> Vec<Case> {
    let (date, stamp) = crate::wire::amz_now();
    let credential = format!("AKIDTEST%2F{date}%2Fus-east-1%2Fsqs%2Faws4_request");
    let zeros = "0".repeat(64);
    let good = [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_string()),
        ("X-Amz-Credential", credential.clone()),
        ("X-Amz-Date", stamp.clone()),
        ("X-Amz-Expires", "300".to_string()),
        ("X-Amz-SignedHeaders", "host".to_string()),
        ("X-Amz-Signature", zeros.clone()),
    ];
    let url = |replace: &[(&str, &str)]| {
        let mut parts = vec!["Action=ListQueues".to_string()];
        for (k, v) in &good {
            let v = replace
                .iter()
                .find(|(rk, _)| rk == k)
                .map_or(v.as_str(), |(_, rv)| *rv);
            if v != "<absent>" {
                parts.push(format!("{k}={v}"));
            }
        }
        for (k, v) in replace {
            if !good.iter().any(|(gk, _)| gk == k) {
                parts.push(format!("{k}={v}"));
            }
        }
        request(
            "GET",
            format!("/?{}", parts.join("&")).as_bytes(),
            &[],
            b"",
            false,
        )
    };
    let many_headers = vec!["x"; 10_000].join("%3B");
    let long_sig = "0".repeat(10_000);
    let slashes = format!("AKIDTEST{}", "%2F".repeat(1000));
    let signature = "X-Amz-Signature";
    let mut both = url(&[]);
    let at = both.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let header = wire::auth_headers();
    both.splice(at..at, header.bytes());
    let c = |name: &str, bytes: Vec<u8>, expect: Expect| {
        case(format!("presigned: {name}"), bytes, expect)
    };
    let incomplete = Expect::Query(400, "IncompleteSignature");
    vec![
        c(
            "well formed (auto mode takes any signature)",
            url(&[]),
            Expect::OkWith("<ListQueuesResponse".into()),
        ),
        c(
            "credential of %FF",
            url(&[("X-Amz-Credential", "%FF%FE")]),
            incomplete.clone(),
        ),
        c(
            "credential without a scope",
            url(&[("X-Amz-Credential", "AKIDTEST")]),
            incomplete.clone(),
        ),
        c(
            "credential of 1000 slashes",
            url(&[("X-Amz-Credential", &slashes)]),
            incomplete.clone(),
        ),
        c(
            "date of garbage",
            url(&[("X-Amz-Date", "garbage")]),
            incomplete.clone(),
        ),
        c(
            "date in year 99999",
            url(&[("X-Amz-Date", "99999101T000000Z")]),
            incomplete.clone(),
        ),
        c(
            "expires -1",
            url(&[("X-Amz-Expires", "-1")]),
            incomplete.clone(),
        ),
        c(
            "expires 0",
            url(&[("X-Amz-Expires", "0")]),
            incomplete.clone(),
        ),
        c(
            "expires overflowing u64",
            url(&[("X-Amz-Expires", "99999999999999999999")]),
            incomplete.clone(),
        ),
        c(
            "expires of a week and a second",
            url(&[("X-Amz-Expires", "604801")]),
            incomplete.clone(),
        ),
        c(
            "expires of letters",
            url(&[("X-Amz-Expires", "abc")]),
            incomplete.clone(),
        ),
        c(
            "no expires",
            url(&[("X-Amz-Expires", "<absent>")]),
            incomplete.clone(),
        ),
        c(
            "empty signed headers",
            url(&[("X-Amz-SignedHeaders", "")]),
            incomplete.clone(),
        ),
        c(
            "10,000 signed headers",
            url(&[("X-Amz-SignedHeaders", &many_headers)]),
            Expect::Query(403, "SignatureDoesNotMatch"),
        ),
        c(
            "a signature of 10,000 characters",
            url(&[(signature, &long_sig)]),
            incomplete.clone(),
        ),
        c(
            "a signature not in hex",
            url(&[(signature, "zz")]),
            incomplete.clone(),
        ),
        c(
            "another algorithm",
            url(&[("X-Amz-Algorithm", "AWS4-HMAC-SHA1")]),
            incomplete.clone(),
        ),
        c(
            "the credential twice",
            url(&[(
                "X-Amz-Credential",
                &format!(
                    "{credential}&X-Amz-Credential=OTHER%2F{date}%2Fus-east-1%2Fsqs%2Faws4_request"
                ),
            )]),
            incomplete.clone(),
        ),
        c("and an Authorization header", both, incomplete),
    ]
}

/// The operator routes (`/_cauda/`, `/metrics`, `/health`, `/`) with hostile paths and
/// parameters; the default mode without credentials leaves them open.
fn operator_cases(f: &Fixture) -> Vec<Case> {
    let get = |target: &str| request("GET", target.as_bytes(), &[], b"", false);
    let messages = format!("/_cauda/queues/000000000000/{}/messages", f.name);
    let c = |name: &str, target: &str, expect: Expect| {
        case(format!("operator: {name}"), get(target), expect)
    };
    let invalid = Expect::Query(400, "InvalidParameterValue");
    vec![
        c(
            "peek limit -1",
            &format!("{messages}?limit=-1"),
            invalid.clone(),
        ),
        c(
            "peek limit 0",
            &format!("{messages}?limit=0"),
            Expect::OkWith("\"messages\"".into()),
        ),
        c(
            "peek limit overflowing u64",
            &format!("{messages}?limit=99999999999999999999"),
            invalid.clone(),
        ),
        c(
            "peek after of letters",
            &format!("{messages}?after=abc"),
            invalid.clone(),
        ),
        c(
            "peek after -1",
            &format!("{messages}?after=-1"),
            invalid.clone(),
        ),
        c(
            "peek state of %FF",
            &format!("{messages}?state=%FF"),
            invalid.clone(),
        ),
        c(
            "peek a parameter twice",
            &format!("{messages}?limit=1&limit=2"),
            invalid.clone(),
        ),
        c(
            "peek a missing queue",
            "/_cauda/queues/000000000000/no-such-queue/messages",
            Expect::Query(400, "AWS.SimpleQueueService.NonExistentQueue"),
        ),
        c(
            "peek traversal",
            "/_cauda/queues/../../etc/passwd/messages",
            Expect::Status(404),
        ),
        c(
            "peek a 10,000-character name",
            &format!(
                "/_cauda/queues/000000000000/{}/messages",
                "a".repeat(10_000)
            ),
            Expect::Query(400, "AWS.SimpleQueueService.NonExistentQueue"),
        ),
        c(
            "an unknown admin path",
            "/_cauda/nothing/here",
            Expect::Status(404),
        ),
        c("the admin prefix alone", "/_cauda/", Expect::Status(404)),
        c("queues ?all of %FF", "/_cauda/queues?all=%FF", invalid),
        c(
            "metrics with a query of %FF",
            "/metrics?x=%FF",
            Expect::Statuses(vec![200]),
        ),
        c(
            "health with a query",
            "/health?x=%FF",
            Expect::Statuses(vec![200]),
        ),
        c(
            "the home page with a query",
            "/?x=%FF",
            Expect::Query(403, "MissingAuthenticationToken"),
        ),
    ]
}

/// Encodings and sizes of members: compressed bodies, escapes, long values, many names.
fn encoding_cases(f: &Fixture) -> Vec<Case> {
    let u = enc(&f.url);
    let gzip_json = request(
        "POST",
        b"/",
        &[
            b"Content-Type: application/x-amz-json-1.0",
            b"X-Amz-Target: AmazonSQS.ListQueues",
            b"Content-Encoding: gzip",
        ],
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\xae\x05\x00\x43\xbf\xa6\xa3\x02\x00\x00\x00",
        true,
    );
    let escapes = "\\ud83d\\ude00".repeat(100_000);
    let names_q: String = (1..=10_000)
        .map(|i| format!("&MessageAttributeName.{i}=n{i}"))
        .collect();
    let names_j: Vec<String> = (0..10_000).map(|i| format!("n{i}")).collect();
    let c = |name: &str, bytes: Vec<u8>, expect: Expect| {
        case(format!("encoding: {name}"), bytes, expect)
    };
    vec![
        c(
            "a gzip body",
            gzip_json,
            Expect::Json(400, "InvalidParameterValue"),
        ),
        c(
            "a JSON body with a UTF-8 BOM",
            json("ListQueues", b"\xef\xbb\xbf{}"),
            Expect::Json(400, "InvalidParameterValue"),
        ),
        c(
            "a form body with a UTF-8 BOM",
            query(b"\xef\xbb\xbfAction=ListQueues"),
            Expect::Query(400, "MissingAction"),
        ),
        c(
            "100,000 emoji escapes in a body",
            json(
                "SendMessage",
                format!(r#"{{"QueueUrl":"{}","MessageBody":"{escapes}"}}"#, f.url),
            ),
            Expect::Statuses(vec![200]),
        ),
        c(
            "a 1 MiB + 1 body",
            query(format!(
                "Action=SendMessage&QueueUrl={u}&MessageBody={}",
                "b".repeat((1 << 20) + 1)
            )),
            Expect::Query(400, "InvalidParameterValue"),
        ),
        c(
            "query: 10,000 message attribute names",
            query(format!("Action=ReceiveMessage&QueueUrl={u}{names_q}")),
            Expect::OkWith("ReceiveMessageResult".into()),
        ),
        c(
            "json: 10,000 message attribute names",
            json(
                "ReceiveMessage",
                serde_json::json!({"QueueUrl": f.url, "MessageAttributeNames": names_j})
                    .to_string(),
            ),
            Expect::Statuses(vec![200]),
        ),
        c(
            "json: a member of the wrong type in every place",
            json(
                "SendMessage",
                serde_json::json!({"QueueUrl": [f.url], "MessageBody": {"a": 1}}).to_string(),
            ),
            Expect::Json(400, "InvalidParameterValue"),
        ),
        c(
            "json: null members",
            json(
                "SendMessage",
                serde_json::json!({"QueueUrl": f.url, "MessageBody": null}).to_string(),
            ),
            Expect::Json(400, "MissingParameter"),
        ),
        c(
            "json: a 1 MB member name",
            json(
                "ListQueues",
                format!(r#"{{"{}":1}}"#, "k".repeat(1_000_000)),
            ),
            Expect::Statuses(vec![200]),
        ),
    ]
}

/// A status and a Query code.
type Refusal = (u16, &'static str);

/// Slow clients, run concurrently: the server has `--header-read-timeout-secs 2` and
/// `--body-read-timeout-secs 2`.
fn slow_cases() -> Vec<Case> {
    let head: Vec<Vec<u8>> = b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n"
        .chunks(2)
        .map(<[u8]>::to_vec)
        .collect();
    let list = query(b"Action=ListQueues");
    let body_head = request(
        "POST",
        b"/",
        &[
            b"Content-Type: application/x-www-form-urlencoded",
            b"Content-Length: 17",
        ],
        b"",
        true,
    );
    let mut trickled = vec![body_head];
    trickled.extend(b"Action=ListQueues".chunks(1).map(<[u8]>::to_vec));
    vec![
        slow(
            "slowloris: a head 2 bytes every 500 ms",
            head,
            500,
            Expect::Closed,
        ),
        slow(
            "slowloris: connect and say nothing",
            vec![Vec::new()],
            0,
            Expect::Closed,
        ),
        slow(
            "slowloris: a body 1 byte every 300 ms",
            trickled,
            300,
            Expect::Query(408, "RequestTimeout"),
        ),
        slow(
            "a head in 4 parts within the timeout",
            split_at_most(&list, 4),
            200,
            Expect::Statuses(vec![200]),
        ),
    ]
}

fn split_at_most(bytes: &[u8], parts: usize) -> Vec<Vec<u8>> {
    bytes
        .chunks(bytes.len().div_ceil(parts))
        .map(<[u8]>::to_vec)
        .collect()
}

/// Every case but the slow ones.
fn all_cases(f: &Fixture) -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(header_cases());
    cases.extend(framing_cases(f));
    cases.extend(body_cases(f));
    cases.extend(duplicate_cases(f));
    cases.extend(url_cases(f));
    cases.extend(utf8_cases(f));
    cases.extend(numeric_cases(f));
    cases.extend(presigned_cases());
    cases.extend(operator_cases(f));
    cases.extend(encoding_cases(f));
    cases
}

fn trace(case: &Case) {
    if std::env::var_os("HOSTILE_TRACE").is_some() {
        eprintln!("case: {}", case.name);
    }
}

#[tokio::test]
async fn hostile_input_gets_a_4xx_or_a_close_never_a_5xx_or_a_hang() {
    let s = TestServer::start_with(&[
        "--header-read-timeout-secs",
        "2",
        "--body-read-timeout-secs",
        "2",
    ])
    .await;
    let f = fixture(&s).await;
    let cases = all_cases(&f);
    let slow = slow_cases();
    let total = cases.len() + slow.len();
    let mut failures = Vec::new();
    for case in &cases {
        trace(case);
        if let Some(p) = run_case(&s, case).await {
            failures.push(p);
        }
        assert_serving(&s, &case.name).await;
    }
    let s = std::sync::Arc::new(s);
    let mut running = tokio::task::JoinSet::new();
    for case in slow {
        let s = s.clone();
        running.spawn(async move { run_case(&s, &case).await });
    }
    while let Some(done) = running.join_next().await {
        if let Some(p) = done.unwrap() {
            failures.push(p);
        }
    }
    assert_serving(&s, "the slow clients").await;
    eprintln!("hostile input: {total} cases, {} failed", failures.len());
    assert!(total >= 150, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The same input against a server that checks signatures: the SigV4 verifier (canonical
/// request, query and path encoding), which the default mode without credentials skips, reads
/// every case. The cases carry a well-formed but wrong signature, so nothing may succeed:
/// every answer is a 4xx (or a close), never a 2xx, a 5xx or a hang.
#[tokio::test]
async fn hostile_input_with_signatures_checked_never_succeeds_nor_fails_the_server() {
    let credentials = format!(
        "{}:{}",
        crate::harness::ACCESS_KEY,
        crate::harness::SECRET_KEY
    );
    let s = TestServer::start_with(&[
        "--credentials",
        &credentials,
        "--header-read-timeout-secs",
        "2",
        "--body-read-timeout-secs",
        "2",
    ])
    .await;
    let f = fixture(&s).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in all_cases(&f) {
        // Operator routes answer without a signature.
        if case
            .parts
            .iter()
            .any(|p| p.windows(7).any(|w| w == b"/health" || w == b"/metric"))
        {
            continue;
        }
        trace(&case);
        checked += 1;
        let got = exchange_with(
            s.addr,
            case.parts.clone(),
            case.pause,
            case.half_close,
            1,
            CASE_TIMEOUT,
        )
        .await;
        let bad = got.timed_out
            || got
                .responses
                .iter()
                .any(|r| r.status < 400 || r.status >= 500);
        if bad {
            let first = got.responses.first().map(|r| {
                format!(
                    "{} {}",
                    r.status,
                    r.text().chars().take(200).collect::<String>()
                )
            });
            failures.push(format!(
                "{}: {first:?} (timed out: {})",
                case.name, got.timed_out
            ));
        }
        assert_serving(&s, &case.name).await;
    }
    eprintln!(
        "hostile input, signatures checked: {checked} cases, {} failed",
        failures.len()
    );
    assert!(checked >= 150, "only {checked} cases");
    assert!(
        failures.is_empty(),
        "{} of {checked} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
