//! Malformed and invalid requests, table-driven, across both protocols (SQS-REFERENCE §1, §2,
//! §3, §4, §5, §6, §9, §11). Every row must get a 4xx in the client's own error envelope, and
//! the server must keep serving afterwards.

use serde_json::json;

use crate::harness::{unique, Raw, TestServer};

/// The request of one row. Every request is signed with the harness keys.
enum Req {
    /// Query POST to `/` with these form parameters (`Version` is added).
    Query(Vec<(String, String)>),
    /// Query POST to a queue path.
    QueryAt(String, Vec<(String, String)>),
    /// JSON POST to `/` with `X-Amz-Target: AmazonSQS.<op>` and this raw body.
    Json(&'static str, String),
    /// Anything else: method, path, headers, body, and whether the reply should be JSON.
    Raw(
        &'static str,
        String,
        Vec<(&'static str, String)>,
        String,
        bool,
    ),
}

struct Row {
    name: String,
    req: Req,
    status: u16,
    /// The Query `<Code>` / the code in `x-amzn-query-error`.
    code: &'static str,
}

/// The JSON `__type` shape of a Query code (SQS-REFERENCE §3).
fn shape(code: &str) -> &str {
    match code {
        "AWS.SimpleQueueService.NonExistentQueue" => "QueueDoesNotExist",
        "QueueAlreadyExists" => "QueueNameExists",
        "InvalidParameterValue" => "InvalidParameterValueException",
        "MissingParameter" => "MissingRequiredParameterException",
        other => other
            .strip_prefix("AWS.SimpleQueueService.")
            .unwrap_or(other),
    }
}

fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn q(name: &str, params: &[(&str, &str)], status: u16, code: &'static str) -> Row {
    Row {
        name: format!("query: {name}"),
        req: Req::Query(owned(params)),
        status,
        code,
    }
}

fn qv(name: &str, params: Vec<(String, String)>, status: u16, code: &'static str) -> Row {
    Row {
        name: format!("query: {name}"),
        req: Req::Query(params),
        status,
        code,
    }
}

fn j(name: &str, op: &'static str, body: impl ToString, status: u16, code: &'static str) -> Row {
    Row {
        name: format!("json: {name}"),
        req: Req::Json(op, body.to_string()),
        status,
        code,
    }
}

/// Query parameters of a batch with `n` entries (`Prefix.N.Id`, plus `extra(i)` members).
fn batch(
    base: &[(&str, &str)],
    prefix: &str,
    n: usize,
    extra: impl Fn(usize) -> Vec<(&'static str, String)>,
) -> Vec<(String, String)> {
    let mut p = owned(base);
    for i in 1..=n {
        p.push((format!("{prefix}.{i}.Id"), format!("id{i}")));
        for (k, v) in extra(i) {
            p.push((format!("{prefix}.{i}.{k}"), v));
        }
    }
    p
}

/// Checks one reply; returns what is wrong with it.
fn check(row: &Row, json_reply: bool, r: &Raw) -> Result<(), String> {
    let mut problems = Vec::new();
    if r.status >= 500 {
        problems.push(format!("5xx ({})", r.status));
    }
    if r.status != row.status {
        problems.push(format!("status {} (want {})", r.status, row.status));
    }
    if r.header("x-amzn-requestid").is_none() {
        problems.push("no x-amzn-RequestId".into());
    }
    if json_reply {
        let body = r.json();
        let ty = body["__type"].as_str().unwrap_or_default();
        if !ty.starts_with("com.amazonaws.sqs#") || ty.rsplit('#').next() != Some(shape(row.code)) {
            problems.push(format!("__type {ty:?} (want …#{})", shape(row.code)));
        }
        if !body["message"].is_string() {
            problems.push("no message".into());
        }
        let want = format!("{};Sender", row.code);
        if r.header("x-amzn-query-error").as_deref() != Some(want.as_str()) {
            problems.push(format!(
                "x-amzn-query-error {:?} (want {want})",
                r.header("x-amzn-query-error")
            ));
        }
        if r.header("content-type").as_deref() != Some("application/x-amz-json-1.0") {
            problems.push(format!("content-type {:?}", r.header("content-type")));
        }
    } else {
        if !r.body.contains("<ErrorResponse") {
            problems.push("not an <ErrorResponse>".into());
        }
        if r.xml("Type").as_deref() != Some("Sender") {
            problems.push(format!("Type {:?}", r.xml("Type")));
        }
        if r.xml("Code").as_deref() != Some(row.code) {
            problems.push(format!("Code {:?} (want {})", r.xml("Code"), row.code));
        }
        if r.xml("Message").is_none() {
            problems.push("no Message".into());
        }
        if r.xml("RequestId").is_none_or(|s| s.is_empty()) {
            problems.push("no RequestId".into());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let body: String = r.body.chars().take(300).collect();
        Err(format!(
            "{}: {} — body: {body}",
            row.name,
            problems.join("; ")
        ))
    }
}

async fn run(s: &TestServer, row: &Row) -> (bool, Raw) {
    match &row.req {
        Req::Query(params) | Req::QueryAt(_, params) => {
            let path = match &row.req {
                Req::QueryAt(p, _) => p.as_str(),
                _ => "/",
            };
            let p: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            (false, s.query_at(path, &p).await)
        }
        Req::Json(op, body) => (true, s.json(op, body).await),
        Req::Raw(method, path, headers, body, json_reply) => {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (*json_reply, s.send(method, path, &h, body, true).await)
        }
    }
}

const MAX_BODY: usize = 2_000_000;

#[tokio::test]
async fn malformed_requests_get_4xx_in_the_right_envelope() {
    let limit = MAX_BODY.to_string();
    let s = TestServer::start_with(&["--max-body-bytes", &limit]).await;
    let sdk = s.sdk();
    let qname = unique("bad");
    let url = s.queue_url(&qname);
    sdk.create_queue().queue_name(&qname).send().await.unwrap();
    let fname = format!("{}.fifo", unique("bad"));
    let furl = s.queue_url(&fname);
    sdk.create_queue()
        .queue_name(&fname)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap();
    let sname = unique("small");
    let surl = s.queue_url(&sname);
    sdk.create_queue()
        .queue_name(&sname)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::MaximumMessageSize,
            "1024",
        )
        .send()
        .await
        .unwrap();
    sdk.add_permission()
        .queue_url(&url)
        .label("existing")
        .aws_account_ids("111111111111")
        .actions("SendMessage")
        .send()
        .await
        .unwrap();
    let ghost = s.queue_url(&unique("ghost"));
    let qpath = format!("/000000000000/{qname}");
    let long_name = "n".repeat(81);
    let id81 = "i".repeat(81);
    let big = "a".repeat(600_000);
    let huge = "x".repeat(MAX_BODY + 200_000);
    let form = (
        "content-type",
        "application/x-www-form-urlencoded".to_string(),
    );
    let json_ct = ("content-type", "application/x-amz-json-1.0".to_string());
    let u = url.as_str();
    let f = furl.as_str();

    let rows = vec![
        // --- Query: envelope, action and form problems ---
        Row {
            name: "query: no Action".into(),
            req: Req::Raw(
                "POST",
                "/".into(),
                vec![form.clone()],
                "Version=2012-11-05".into(),
                false,
            ),
            status: 400,
            code: "MissingAction",
        },
        q(
            "unknown Action",
            &[("Action", "FooBar")],
            400,
            "InvalidAction",
        ),
        q(
            "lower-case action name",
            &[("Action", "listqueues")],
            400,
            "InvalidAction",
        ),
        Row {
            name: "query: CreateQueue on a queue path".into(),
            req: Req::QueryAt(
                qpath.clone(),
                owned(&[("Action", "CreateQueue"), ("QueueName", "x")]),
            ),
            status: 400,
            code: "InvalidAction",
        },
        Row {
            name: "query: ListQueues on a queue path".into(),
            req: Req::QueryAt(qpath.clone(), owned(&[("Action", "ListQueues")])),
            status: 400,
            code: "InvalidAction",
        },
        q(
            "CreateQueue without QueueName",
            &[("Action", "CreateQueue")],
            400,
            "MissingParameter",
        ),
        q(
            "queue name of 81 characters",
            &[("Action", "CreateQueue"), ("QueueName", &long_name)],
            400,
            "InvalidParameterValue",
        ),
        q(
            "queue name with bad characters",
            &[("Action", "CreateQueue"), ("QueueName", "bad name!")],
            400,
            "InvalidParameterValue",
        ),
        q(
            "FifoQueue=true without .fifo",
            &[
                ("Action", "CreateQueue"),
                ("QueueName", "nofifo"),
                ("Attribute.1.Name", "FifoQueue"),
                ("Attribute.1.Value", "true"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "unknown attribute at creation",
            &[
                ("Action", "CreateQueue"),
                ("QueueName", "x1"),
                ("Attribute.1.Name", "Foo"),
                ("Attribute.1.Value", "1"),
            ],
            400,
            "InvalidAttributeName",
        ),
        q(
            "VisibilityTimeout 43201 at creation",
            &[
                ("Action", "CreateQueue"),
                ("QueueName", "x2"),
                ("Attribute.1.Name", "VisibilityTimeout"),
                ("Attribute.1.Value", "43201"),
            ],
            400,
            "InvalidAttributeValue",
        ),
        q(
            "non-numeric DelaySeconds attribute",
            &[
                ("Action", "CreateQueue"),
                ("QueueName", "x3"),
                ("Attribute.1.Name", "DelaySeconds"),
                ("Attribute.1.Value", "abc"),
            ],
            400,
            "InvalidAttributeValue",
        ),
        q(
            "GetQueueUrl of a missing queue",
            &[("Action", "GetQueueUrl"), ("QueueName", "no-such-queue")],
            400,
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        q(
            "SendMessage to a missing queue",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", &ghost),
                ("MessageBody", "x"),
            ],
            400,
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        q(
            "DeleteQueue without QueueUrl",
            &[("Action", "DeleteQueue")],
            400,
            "MissingParameter",
        ),
        q(
            "unknown attribute name in GetQueueAttributes",
            &[
                ("Action", "GetQueueAttributes"),
                ("QueueUrl", u),
                ("AttributeName.1", "Foobar"),
            ],
            400,
            "InvalidAttributeName",
        ),
        q(
            "MessageRetentionPeriod 59",
            &[
                ("Action", "SetQueueAttributes"),
                ("QueueUrl", u),
                ("Attribute.1.Name", "MessageRetentionPeriod"),
                ("Attribute.1.Value", "59"),
            ],
            400,
            "InvalidAttributeValue",
        ),
        q(
            "setting read-only QueueArn",
            &[
                ("Action", "SetQueueAttributes"),
                ("QueueUrl", u),
                ("Attribute.1.Name", "QueueArn"),
                ("Attribute.1.Value", "arn"),
            ],
            400,
            "InvalidAttributeName",
        ),
        q(
            "SendMessage without MessageBody",
            &[("Action", "SendMessage"), ("QueueUrl", u)],
            400,
            "MissingParameter",
        ),
        q(
            "SendMessage with empty MessageBody",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", u),
                ("MessageBody", ""),
            ],
            400,
            "MissingParameter",
        ),
        q(
            "DelaySeconds 901",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", u),
                ("MessageBody", "x"),
                ("DelaySeconds", "901"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "DelaySeconds not an integer",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", u),
                ("MessageBody", "x"),
                ("DelaySeconds", "soon"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "body with U+FFFF",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", u),
                ("MessageBody", "bad \u{FFFF} char"),
            ],
            400,
            "InvalidMessageContents",
        ),
        q(
            "body over MaximumMessageSize",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", &surl),
                ("MessageBody", &"b".repeat(1025)),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "FIFO send without MessageGroupId",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", f),
                ("MessageBody", "x"),
                ("MessageDeduplicationId", "d1"),
            ],
            400,
            "MissingParameter",
        ),
        q(
            "FIFO send with DelaySeconds 2",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", f),
                ("MessageBody", "x"),
                ("MessageGroupId", "g"),
                ("MessageDeduplicationId", "d2"),
                ("DelaySeconds", "2"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "MessageGroupId with a space",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", f),
                ("MessageBody", "x"),
                ("MessageGroupId", "group 123"),
                ("MessageDeduplicationId", "d3"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "FIFO send without dedup id or content-based dedup",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", f),
                ("MessageBody", "x"),
                ("MessageGroupId", "g"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "message attribute with empty value",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", u),
                ("MessageBody", "x"),
                ("MessageAttribute.1.Name", "a"),
                ("MessageAttribute.1.Value.DataType", "String"),
                ("MessageAttribute.1.Value.StringValue", ""),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "message attribute with unknown DataType",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", u),
                ("MessageBody", "x"),
                ("MessageAttribute.1.Name", "a"),
                ("MessageAttribute.1.Value.DataType", "Strung"),
                ("MessageAttribute.1.Value.StringValue", "v"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "message attribute name with reserved prefix",
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", u),
                ("MessageBody", "x"),
                ("MessageAttribute.1.Name", "AWS.reserved"),
                ("MessageAttribute.1.Value.DataType", "String"),
                ("MessageAttribute.1.Value.StringValue", "v"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "MaxNumberOfMessages 11",
            &[
                ("Action", "ReceiveMessage"),
                ("QueueUrl", u),
                ("MaxNumberOfMessages", "11"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "MaxNumberOfMessages 0",
            &[
                ("Action", "ReceiveMessage"),
                ("QueueUrl", u),
                ("MaxNumberOfMessages", "0"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "WaitTimeSeconds 21",
            &[
                ("Action", "ReceiveMessage"),
                ("QueueUrl", u),
                ("WaitTimeSeconds", "21"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "WaitTimeSeconds -1",
            &[
                ("Action", "ReceiveMessage"),
                ("QueueUrl", u),
                ("WaitTimeSeconds", "-1"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "receive VisibilityTimeout -1",
            &[
                ("Action", "ReceiveMessage"),
                ("QueueUrl", u),
                ("VisibilityTimeout", "-1"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "DeleteMessage with a garbage handle",
            &[
                ("Action", "DeleteMessage"),
                ("QueueUrl", u),
                ("ReceiptHandle", "garbage"),
            ],
            404,
            "ReceiptHandleIsInvalid",
        ),
        q(
            "ChangeMessageVisibility with a garbage handle",
            &[
                ("Action", "ChangeMessageVisibility"),
                ("QueueUrl", u),
                ("ReceiptHandle", "garbage"),
                ("VisibilityTimeout", "10"),
            ],
            404,
            "ReceiptHandleIsInvalid",
        ),
        q(
            "SendMessageBatch without entries",
            &[("Action", "SendMessageBatch"), ("QueueUrl", u)],
            400,
            "AWS.SimpleQueueService.EmptyBatchRequest",
        ),
        qv(
            "SendMessageBatch with 11 entries",
            batch(
                &[("Action", "SendMessageBatch"), ("QueueUrl", u)],
                "SendMessageBatchRequestEntry",
                11,
                |_| vec![("MessageBody", "m".into())],
            ),
            400,
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ),
        q(
            "batch entry id with a colon",
            &[
                ("Action", "SendMessageBatch"),
                ("QueueUrl", u),
                ("SendMessageBatchRequestEntry.1.Id", "invalid:id"),
                ("SendMessageBatchRequestEntry.1.MessageBody", "m"),
            ],
            400,
            "AWS.SimpleQueueService.InvalidBatchEntryId",
        ),
        q(
            "batch entry id of 81 characters",
            &[
                ("Action", "SendMessageBatch"),
                ("QueueUrl", u),
                ("SendMessageBatchRequestEntry.1.Id", &id81),
                ("SendMessageBatchRequestEntry.1.MessageBody", "m"),
            ],
            400,
            "AWS.SimpleQueueService.InvalidBatchEntryId",
        ),
        q(
            "empty batch entry id",
            &[
                ("Action", "SendMessageBatch"),
                ("QueueUrl", u),
                ("SendMessageBatchRequestEntry.1.Id", ""),
                ("SendMessageBatchRequestEntry.1.MessageBody", "m"),
            ],
            400,
            "AWS.SimpleQueueService.InvalidBatchEntryId",
        ),
        q(
            "duplicate batch entry ids",
            &[
                ("Action", "SendMessageBatch"),
                ("QueueUrl", u),
                ("SendMessageBatchRequestEntry.1.Id", "same"),
                ("SendMessageBatchRequestEntry.1.MessageBody", "m"),
                ("SendMessageBatchRequestEntry.2.Id", "same"),
                ("SendMessageBatchRequestEntry.2.MessageBody", "m"),
            ],
            400,
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        ),
        q(
            "batch over 1 MiB in total",
            &[
                ("Action", "SendMessageBatch"),
                ("QueueUrl", u),
                ("SendMessageBatchRequestEntry.1.Id", "a"),
                ("SendMessageBatchRequestEntry.1.MessageBody", &big),
                ("SendMessageBatchRequestEntry.2.Id", "b"),
                ("SendMessageBatchRequestEntry.2.MessageBody", &big),
            ],
            400,
            "AWS.SimpleQueueService.BatchRequestTooLong",
        ),
        q(
            "DeleteMessageBatch without entries",
            &[("Action", "DeleteMessageBatch"), ("QueueUrl", u)],
            400,
            "AWS.SimpleQueueService.EmptyBatchRequest",
        ),
        qv(
            "ChangeMessageVisibilityBatch with 11 entries",
            batch(
                &[("Action", "ChangeMessageVisibilityBatch"), ("QueueUrl", u)],
                "ChangeMessageVisibilityBatchRequestEntry",
                11,
                |_| {
                    vec![
                        ("ReceiptHandle", "garbage".into()),
                        ("VisibilityTimeout", "5".into()),
                    ]
                },
            ),
            400,
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ),
        q(
            "tag key with the aws: prefix",
            &[
                ("Action", "TagQueue"),
                ("QueueUrl", u),
                ("Tag.1.Key", "aws:x"),
                ("Tag.1.Value", "v"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "AddPermission with an existing label",
            &[
                ("Action", "AddPermission"),
                ("QueueUrl", u),
                ("Label", "existing"),
                ("AWSAccountId.1", "111111111111"),
                ("ActionName.1", "SendMessage"),
            ],
            400,
            "InvalidParameterValue",
        ),
        q(
            "RemovePermission of an unknown label",
            &[
                ("Action", "RemovePermission"),
                ("QueueUrl", u),
                ("Label", "unknown"),
            ],
            400,
            "InvalidParameterValue",
        ),
        Row {
            name: "query: body over the configured limit".into(),
            req: Req::Raw(
                "POST",
                "/".into(),
                vec![form.clone()],
                format!("Action=SendMessage&QueueUrl={u}&MessageBody={huge}"),
                false,
            ),
            status: 413,
            code: "RequestEntityTooLarge",
        },
        // --- JSON ---
        j("unknown operation", "FooBar", "{}", 400, "InvalidAction"),
        Row {
            name: "json: X-Amz-Target of another service".into(),
            req: Req::Raw(
                "POST",
                "/".into(),
                vec![
                    json_ct.clone(),
                    ("x-amz-target", "DynamoDB_20120810.ListTables".into()),
                ],
                "{}".into(),
                true,
            ),
            status: 400,
            code: "InvalidAction",
        },
        Row {
            name: "json: no X-Amz-Target".into(),
            req: Req::Raw("POST", "/".into(), vec![json_ct.clone()], "{}".into(), true),
            status: 400,
            code: "MissingAction",
        },
        j(
            "malformed JSON",
            "CreateQueue",
            r#"{"QueueName": "#,
            400,
            "InvalidParameterValue",
        ),
        j(
            "JSON array body",
            "ListQueues",
            "[1, 2]",
            400,
            "InvalidParameterValue",
        ),
        j(
            "JSON string body",
            "ListQueues",
            r#""hello""#,
            400,
            "InvalidParameterValue",
        ),
        j(
            "QueueName is a number",
            "CreateQueue",
            json!({"QueueName": 5}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "Attributes is an array",
            "CreateQueue",
            json!({"QueueName": "x4", "Attributes": ["a"]}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "MaxNumberOfMessages is a word",
            "ReceiveMessage",
            json!({"QueueUrl": u, "MaxNumberOfMessages": "ten"}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "Entries is an object",
            "SendMessageBatch",
            json!({"QueueUrl": u, "Entries": {"Id": "a"}}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "CreateQueue without QueueName",
            "CreateQueue",
            "{}",
            400,
            "MissingParameter",
        ),
        j(
            "unknown attribute at creation",
            "CreateQueue",
            json!({"QueueName": "x5", "Attributes": {"Foo": "1"}}),
            400,
            "InvalidAttributeName",
        ),
        j(
            "queue name of 81 characters",
            "CreateQueue",
            json!({"QueueName": long_name}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "standard queue name with a dot",
            "CreateQueue",
            json!({"QueueName": "bad.name"}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "GetQueueUrl of a missing queue",
            "GetQueueUrl",
            json!({"QueueName": "no-such-queue"}),
            400,
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        j(
            "VisibilityTimeout 43201",
            "SetQueueAttributes",
            json!({"QueueUrl": u, "Attributes": {"VisibilityTimeout": "43201"}}),
            400,
            "InvalidAttributeValue",
        ),
        j(
            "FifoQueue on a standard queue",
            "SetQueueAttributes",
            json!({"QueueUrl": u, "Attributes": {"FifoQueue": "true"}}),
            400,
            "InvalidAttributeName",
        ),
        j(
            "body with U+0000",
            "SendMessage",
            json!({"QueueUrl": u, "MessageBody": "nul \u{0000} here"}),
            400,
            "InvalidMessageContents",
        ),
        j(
            "empty body",
            "SendMessage",
            json!({"QueueUrl": u, "MessageBody": ""}),
            400,
            "MissingParameter",
        ),
        j(
            "DelaySeconds -1",
            "SendMessage",
            json!({"QueueUrl": u, "MessageBody": "x", "DelaySeconds": -1}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "11 message attributes",
            "SendMessage",
            json!({
                "QueueUrl": u,
                "MessageBody": "x",
                "MessageAttributes": (0..11)
                    .map(|i| (format!("a{i}"), json!({"DataType": "String", "StringValue": "v"})))
                    .collect::<serde_json::Map<_, _>>(),
            }),
            400,
            "InvalidParameterValue",
        ),
        j(
            "MessageDeduplicationId of 129 characters",
            "SendMessage",
            json!({"QueueUrl": f, "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d".repeat(129)}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "MaxNumberOfMessages 11",
            "ReceiveMessage",
            json!({"QueueUrl": u, "MaxNumberOfMessages": 11}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "WaitTimeSeconds 21",
            "ReceiveMessage",
            json!({"QueueUrl": u, "WaitTimeSeconds": 21}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "receive VisibilityTimeout -1",
            "ReceiveMessage",
            json!({"QueueUrl": u, "VisibilityTimeout": -1}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "receive VisibilityTimeout 43201",
            "ReceiveMessage",
            json!({"QueueUrl": u, "VisibilityTimeout": 43201}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "ListQueues MaxResults 0",
            "ListQueues",
            json!({"MaxResults": 0}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "SendMessageBatch with no entries",
            "SendMessageBatch",
            json!({"QueueUrl": u, "Entries": []}),
            400,
            "AWS.SimpleQueueService.EmptyBatchRequest",
        ),
        j(
            "SendMessageBatch with 11 entries",
            "SendMessageBatch",
            json!({"QueueUrl": u, "Entries": (0..11).map(|i| json!({"Id": format!("e{i}"), "MessageBody": "m"})).collect::<Vec<_>>()}),
            400,
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ),
        j(
            "DeleteMessageBatch id with a space",
            "DeleteMessageBatch",
            json!({"QueueUrl": u, "Entries": [{"Id": "a b", "ReceiptHandle": "garbage"}]}),
            400,
            "AWS.SimpleQueueService.InvalidBatchEntryId",
        ),
        j(
            "ChangeMessageVisibilityBatch duplicate ids",
            "ChangeMessageVisibilityBatch",
            json!({"QueueUrl": u, "Entries": [
                {"Id": "x", "ReceiptHandle": "garbage", "VisibilityTimeout": 1},
                {"Id": "x", "ReceiptHandle": "garbage", "VisibilityTimeout": 1}
            ]}),
            400,
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        ),
        j(
            "DeleteMessage with a garbage handle",
            "DeleteMessage",
            json!({"QueueUrl": u, "ReceiptHandle": "garbage"}),
            404,
            "ReceiptHandleIsInvalid",
        ),
        j(
            "tag key with the aws: prefix",
            "TagQueue",
            json!({"QueueUrl": u, "Tags": {"aws:k": "v"}}),
            400,
            "InvalidParameterValue",
        ),
        j(
            "QueueUrl that is not a queue URL",
            "GetQueueAttributes",
            json!({"QueueUrl": "http://127.0.0.1/a/b/c", "AttributeNames": ["All"]}),
            404,
            "InvalidAddress",
        ),
        j(
            "DeleteQueue of a missing queue",
            "DeleteQueue",
            json!({"QueueUrl": ghost}),
            400,
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        Row {
            name: "json: body over the configured limit".into(),
            req: Req::Raw(
                "POST",
                "/".into(),
                vec![
                    json_ct.clone(),
                    ("x-amz-target", "AmazonSQS.SendMessage".into()),
                ],
                json!({"QueueUrl": u, "MessageBody": huge}).to_string(),
                true,
            ),
            status: 413,
            code: "RequestEntityTooLarge",
        },
    ];
    assert_eq!(rows.len(), 87, "rows in the table");

    let mut failures = Vec::new();
    for row in &rows {
        let (json_reply, r) = run(&s, row).await;
        if let Err(e) = check(row, json_reply, &r) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );

    // Nothing was created, enqueued or changed by the refused requests.
    let listed = sdk.list_queues().send().await.unwrap();
    let mut urls = listed.queue_urls().to_vec();
    urls.sort();
    let mut want = vec![url.clone(), furl.clone(), surl.clone()];
    want.sort();
    assert_eq!(urls, want);
    for queue in [&url, &furl, &surl] {
        let attrs = sdk
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = attrs.attributes().unwrap();
        let get = |n: &str| {
            attrs
                .get(&aws_sdk_sqs::types::QueueAttributeName::from(n))
                .cloned()
        };
        assert_eq!(get("ApproximateNumberOfMessages").as_deref(), Some("0"));
        assert_eq!(get("VisibilityTimeout").as_deref(), Some("30"));
        assert_eq!(get("MessageRetentionPeriod").as_deref(), Some("345600"));
    }
    let tags = sdk.list_queue_tags().queue_url(&url).send().await.unwrap();
    assert!(tags.tags().is_none_or(std::collections::HashMap::is_empty));

    // The server still serves, in both protocols.
    let after = unique("after");
    let created = sdk
        .create_queue()
        .queue_name(&after)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    assert_eq!(created, s.queue_url(&after));
    let after_q = unique("after-q");
    let r = s
        .query(&[("Action", "CreateQueue"), ("QueueName", &after_q)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("QueueUrl"), Some(s.queue_url(&after_q)));
    s.stop().await;
}

/// Unsigned or oddly framed requests that never reach an action: still a 4xx in the client's
/// envelope, never a 5xx.
#[tokio::test]
async fn requests_that_fail_before_dispatch() {
    let s = TestServer::start().await;
    // Unsigned, in auto mode: MissingAuthenticationToken, 403.
    let r = s
        .send(
            "POST",
            "/",
            &[("content-type", "application/x-www-form-urlencoded")],
            "Action=ListQueues&Version=2012-11-05",
            false,
        )
        .await;
    crate::harness::assert_query_error(&r, 403, "MissingAuthenticationToken");
    let r = s
        .send(
            "POST",
            "/",
            &[
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", "AmazonSQS.ListQueues"),
            ],
            "{}",
            false,
        )
        .await;
    crate::harness::assert_json_error(
        &r,
        403,
        "MissingAuthenticationToken",
        "MissingAuthenticationToken",
    );
    // A signed GET with Action in the query string but an unknown action.
    let r = s
        .send("GET", "/?Action=Nope&Version=2012-11-05", &[], "", true)
        .await;
    crate::harness::assert_query_error(&r, 400, "InvalidAction");
    // A signed GET to / with no parameters at all.
    let r = s.send("GET", "/", &[], "", true).await;
    assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
    // Still serving.
    let r = s.query(&[("Action", "ListQueues")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop().await;
}
