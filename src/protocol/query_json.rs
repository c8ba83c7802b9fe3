//! The JSON that AWS sends instead of XML when a Query request carries `Accept: application/json`
//! (legacy; <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-xml.html>). It is rendered from the same output value as the XML
//! ([`super::value::to_value`]), following what was recorded on AWS:
//!
//! - `{"<Action>Response": {"<Action>Result": {…}, "ResponseMetadata": {"RequestId": …}}}`; an
//!   action without output has no `<Action>Result`, as in the XML.
//! - Members keep their model names, not the XML element names: a repeated element becomes one
//!   array under its member's name (`Attributes`, not `Attribute`). Recorded for
//!   GetQueueAttributes: `{"GetQueueAttributesResult":{"Attributes":[{"Name":…,"Value":…}]}}`
//!   (localstack/localstack `tests/aws/services/sqs/test_sqs.py`,
//!   `test_get_queue_attributes_json_format`, validated against AWS).
//! - ReceiveMessage's list is `messages` and ListQueues' is `queueUrls`, lower-case, as in AWS's
//!   own model (recorded: `{"ListQueuesResult":{"NextExclusiveStartQueueName":null,
//!   "NextToken":null,"queueUrls":[]}}` in localstack/localstack#3715;
//!   `{"ReceiveMessageResult":{"messages":[{"Attributes":null,"Body":…,"MD5OfBody":…,
//!   "MD5OfMessageAttributes":null,"MessageAttributes":null,"MessageId":…,"ReceiptHandle":…}]}}`
//!   and `{"messages":null}` when empty in aws-samples/serverless-patterns (API Gateway → SQS);
//!   a message's `Attributes` as an object in the JustSaying README).
//! - A member the output leaves out is `null`, as in those recordings; ListQueues' `queueUrls`
//!   is `[]` when there are none (recorded). The internal `NextExclusiveStartQueueName` is not
//!   sent.
//! - The queue-attribute and tag maps of a result become arrays of `{Name, Value}` /
//!   `{Key, Value}` entries (their XML entries); recorded for GetQueueAttributes, the same rule
//!   for ListQueueTags is not. Maps inside a message stay objects (recorded for a message's
//!   `Attributes`; `MessageAttributes` follows them, not recorded).
//! - Errors drop the `ErrorResponse` root: `{"Error":{"Code":…,"Detail":null,"Message":…,
//!   "Type":"Sender"},"RequestId":…}` (recorded: `doc["Error"]["Code"]` and
//!   `doc["Error"]["Message"]` with HTTP 400, `test_get_list_queues_fails_json_format`; `Type`,
//!   `Detail` and `RequestId` are the rest of the XML envelope, not recorded).
//!
//! Batch results keep `Successful` and `Failed` (not recorded), `null` when empty.

use http::HeaderMap;
use serde_json::{Map, Value};

use super::xml::flattened_map;

pub const CONTENT_TYPE: &str = "application/json";

/// Whether a Query request asks for the JSON rendering: its `Accept` lists `application/json`
/// with a non-zero quality, preferred to XML (`text/xml`, `application/xml`), or listed before it
/// at the same quality. `*/*` alone keeps XML.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let mut json: Option<(f32, usize)> = None;
    let mut xml: Option<(f32, usize)> = None;
    let ranges = headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for (i, range) in ranges.enumerate() {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let quality = parts
            .find_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| v.trim().parse::<f32>().ok().filter(|q| q.is_finite()))
            })
            .map_or(1.0, |q| q.unwrap_or(0.0));
        let slot = if media.eq_ignore_ascii_case("application/json") {
            &mut json
        } else if media.eq_ignore_ascii_case("text/xml")
            || media.eq_ignore_ascii_case("application/xml")
        {
            &mut xml
        } else {
            continue;
        };
        if slot.is_none_or(|(best, _)| quality > best) {
            *slot = Some((quality, i));
        }
    }
    match (json, xml) {
        (Some((q, _)), _) if q <= 0.0 => false,
        (Some(_), None) => true,
        (Some((qj, ij)), Some((qx, ix))) => qj > qx || (qj >= qx && ij < ix),
        (None, _) => false,
    }
}

/// The response of `action` for `output` (the value from [`super::value::to_value`]; `None`
/// for an action without output).
pub fn response(action: &str, output: Option<&Value>, request_id: &str) -> Value {
    let mut body = Map::new();
    if let Some(output) = output {
        body.insert(format!("{action}Result"), result(output));
    }
    body.insert("ResponseMetadata".into(), request_metadata(request_id));
    let mut root = Map::new();
    root.insert(format!("{action}Response"), Value::Object(body));
    Value::Object(root)
}

fn request_metadata(request_id: &str) -> Value {
    let mut m = Map::new();
    m.insert("RequestId".into(), Value::String(request_id.to_string()));
    Value::Object(m)
}

/// The members of a result, renamed and reshaped as described in the module comment.
fn result(output: &Value) -> Value {
    let Value::Object(members) = output else {
        return output.clone();
    };
    let mut out = Map::new();
    for (name, value) in members {
        let name = match name.as_str() {
            "Messages" => "messages",
            "QueueUrls" => "queueUrls",
            other => other,
        };
        let value = match (flattened_map(name), value) {
            (Some((_, key_name, value_name)), Value::Object(map)) => Value::Array(
                map.iter()
                    .map(|(k, v)| {
                        let mut entry = Map::new();
                        entry.insert(key_name.into(), Value::String(k.clone()));
                        entry.insert(value_name.into(), v.clone());
                        Value::Object(entry)
                    })
                    .collect(),
            ),
            (_, Value::Null) if name == "queueUrls" => Value::Array(Vec::new()),
            (_, v) => v.clone(),
        };
        out.insert(name.to_string(), value);
    }
    Value::Object(out)
}

/// An error: the XML `<ErrorResponse>`'s content.
pub fn error(fault: &str, code: &str, message: &str, request_id: &str) -> Value {
    let mut error = Map::new();
    error.insert("Code".into(), Value::String(code.to_string()));
    error.insert("Detail".into(), Value::Null);
    error.insert("Message".into(), Value::String(message.to_string()));
    error.insert("Type".into(), Value::String(fault.to_string()));
    let mut root = Map::new();
    root.insert("Error".into(), Value::Object(error));
    root.insert("RequestId".into(), Value::String(request_id.to_string()));
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::json;

    use super::*;
    use crate::protocol::value::to_value;

    fn accept(values: &[&str]) -> bool {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(http::header::ACCEPT, v.parse().unwrap());
        }
        wants_json(&h)
    }

    #[test]
    fn accept_negotiation() {
        assert!(!accept(&[]));
        assert!(accept(&["application/json"]));
        assert!(accept(&["Application/JSON; charset=utf-8"]));
        assert!(accept(&["application/json, text/plain, */*"]));
        assert!(accept(&["text/plain", "application/json"]));
        assert!(accept(&["text/xml;q=0.5, application/json"]));
        assert!(accept(&["application/json, text/xml"]));
        assert!(!accept(&["text/xml, application/json"]));
        assert!(!accept(&["*/*"]));
        assert!(!accept(&["text/xml"]));
        assert!(!accept(&["application/xml"]));
        assert!(!accept(&["application/x-amz-json-1.0"]));
        assert!(!accept(&["application/json;q=0"]));
        assert!(!accept(&["application/json;q=abc"]));
        assert!(!accept(&["application/json;q=0.4, text/xml;q=0.5"]));
        assert!(!accept(&["application/json;q=NaN"]));
    }

    // Output shapes as the actions' typed outputs declare them.

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Sent {
        message_id: String,
        #[serde(rename = "MD5OfMessageBody")]
        md5_of_message_body: String,
        #[serde(
            rename = "MD5OfMessageAttributes",
            skip_serializing_if = "Option::is_none"
        )]
        md5_of_message_attributes: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sequence_number: Option<String>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct AttributeValue {
        #[serde(skip_serializing_if = "Option::is_none")]
        string_value: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        binary_value: Option<String>,
        data_type: Option<String>,
    }

    #[derive(Serialize)]
    struct Message {
        #[serde(rename = "MessageId")]
        message_id: String,
        #[serde(rename = "Body")]
        body: String,
        #[serde(rename = "Attributes", skip_serializing_if = "BTreeMap::is_empty")]
        attributes: BTreeMap<String, String>,
        #[serde(
            rename = "MD5OfMessageAttributes",
            skip_serializing_if = "Option::is_none"
        )]
        md5_of_message_attributes: Option<String>,
        #[serde(
            rename = "MessageAttributes",
            skip_serializing_if = "BTreeMap::is_empty"
        )]
        message_attributes: BTreeMap<String, AttributeValue>,
    }

    #[derive(Serialize)]
    struct Received {
        #[serde(rename = "Messages", skip_serializing_if = "Vec::is_empty")]
        messages: Vec<Message>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Listed {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        queue_urls: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_token: Option<String>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Attributes {
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        attributes: BTreeMap<String, String>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Tags {
        tags: BTreeMap<String, String>,
    }

    #[derive(Serialize)]
    struct Batch {
        #[serde(rename = "Successful", skip_serializing_if = "Vec::is_empty")]
        successful: Vec<BTreeMap<&'static str, &'static str>>,
        #[serde(rename = "Failed", skip_serializing_if = "Vec::is_empty")]
        failed: Vec<BTreeMap<&'static str, Value>>,
    }

    #[derive(Serialize)]
    struct Empty {}

    fn render<T: Serialize>(action: &str, output: &T) -> Value {
        let value = to_value(output).unwrap();
        let body = serde_json::to_vec(&response(action, Some(&value), "rid")).expect("renders");
        serde_json::from_slice(&body).expect("valid JSON")
    }

    #[test]
    fn scalar_result_with_left_out_members_as_null() {
        let sent = Sent {
            message_id: "m-1".into(),
            md5_of_message_body: "5d41402abc4b2a76b9719d911017c592".into(),
            md5_of_message_attributes: None,
            sequence_number: None,
        };
        assert_eq!(
            render("SendMessage", &sent),
            json!({"SendMessageResponse": {
                "SendMessageResult": {
                    "MD5OfMessageAttributes": null,
                    "MD5OfMessageBody": "5d41402abc4b2a76b9719d911017c592",
                    "MessageId": "m-1",
                    "SequenceNumber": null,
                },
                "ResponseMetadata": {"RequestId": "rid"},
            }})
        );
    }

    #[test]
    fn repeated_elements_are_arrays_under_the_member_name() {
        let attrs = Attributes {
            attributes: BTreeMap::from([
                (
                    "QueueArn".to_string(),
                    "arn:aws:sqs:us-east-1:1:q".to_string(),
                ),
                ("VisibilityTimeout".to_string(), "30".to_string()),
            ]),
        };
        assert_eq!(
            render("GetQueueAttributes", &attrs)["GetQueueAttributesResponse"]
                ["GetQueueAttributesResult"],
            json!({"Attributes": [
                {"Name": "QueueArn", "Value": "arn:aws:sqs:us-east-1:1:q"},
                {"Name": "VisibilityTimeout", "Value": "30"},
            ]})
        );
        let listed = Listed {
            queue_urls: vec!["http://h/1/a".into(), "http://h/1/b".into()],
            next_token: Some("t".into()),
        };
        assert_eq!(
            render("ListQueues", &listed)["ListQueuesResponse"]["ListQueuesResult"],
            json!({"NextToken": "t", "queueUrls": ["http://h/1/a", "http://h/1/b"]})
        );
        let tags = Tags {
            tags: BTreeMap::from([("team".to_string(), "a".to_string())]),
        };
        assert_eq!(
            render("ListQueueTags", &tags)["ListQueueTagsResponse"]["ListQueueTagsResult"],
            json!({"Tags": [{"Key": "team", "Value": "a"}]})
        );
        let batch = Batch {
            successful: vec![BTreeMap::from([("Id", "a")]), BTreeMap::from([("Id", "b")])],
            failed: Vec::new(),
        };
        assert_eq!(
            render("DeleteMessageBatch", &batch)["DeleteMessageBatchResponse"]
                ["DeleteMessageBatchResult"],
            json!({"Failed": null, "Successful": [{"Id": "a"}, {"Id": "b"}]})
        );
    }

    #[test]
    fn nested_message_with_attributes() {
        let received = Received {
            messages: vec![Message {
                message_id: "m".into(),
                body: "b".into(),
                attributes: BTreeMap::from([("SentTimestamp".to_string(), "1".to_string())]),
                md5_of_message_attributes: Some("x".into()),
                message_attributes: BTreeMap::from([
                    (
                        "s".to_string(),
                        AttributeValue {
                            string_value: Some("v".into()),
                            binary_value: None,
                            data_type: Some("String".into()),
                        },
                    ),
                    (
                        "b".to_string(),
                        AttributeValue {
                            string_value: None,
                            binary_value: Some("AAEC".into()),
                            data_type: Some("Binary".into()),
                        },
                    ),
                ]),
            }],
        };
        let v = render("ReceiveMessage", &received);
        assert_eq!(
            v["ReceiveMessageResponse"]["ReceiveMessageResult"],
            json!({"messages": [{
                "Attributes": {"SentTimestamp": "1"},
                "Body": "b",
                "MD5OfMessageAttributes": "x",
                "MessageAttributes": {
                    "b": {"BinaryValue": "AAEC", "DataType": "Binary", "StringValue": null},
                    "s": {"BinaryValue": null, "DataType": "String", "StringValue": "v"},
                },
                "MessageId": "m",
            }]})
        );
        assert_eq!(
            v["ReceiveMessageResponse"]["ResponseMetadata"],
            json!({"RequestId": "rid"})
        );
        let bare = Received {
            messages: vec![Message {
                message_id: "m".into(),
                body: "b".into(),
                attributes: BTreeMap::new(),
                md5_of_message_attributes: None,
                message_attributes: BTreeMap::new(),
            }],
        };
        let m = &render("ReceiveMessage", &bare)["ReceiveMessageResponse"]["ReceiveMessageResult"]
            ["messages"][0];
        assert_eq!(m["Attributes"], json!(null));
        assert_eq!(m["MessageAttributes"], json!(null));
        assert_eq!(m["MD5OfMessageAttributes"], json!(null));
    }

    #[test]
    fn empty_results() {
        assert_eq!(
            render("ReceiveMessage", &Received { messages: vec![] }),
            json!({"ReceiveMessageResponse": {
                "ReceiveMessageResult": {"messages": null},
                "ResponseMetadata": {"RequestId": "rid"},
            }})
        );
        assert_eq!(
            render(
                "ListQueues",
                &Listed {
                    queue_urls: vec![],
                    next_token: None
                }
            )["ListQueuesResponse"]["ListQueuesResult"],
            json!({"NextToken": null, "queueUrls": []})
        );
        assert_eq!(
            render(
                "GetQueueAttributes",
                &Attributes {
                    attributes: BTreeMap::new()
                }
            )["GetQueueAttributesResponse"]["GetQueueAttributesResult"],
            json!({"Attributes": null})
        );
        assert_eq!(
            response("DeleteQueue", None, "rid"),
            json!({"DeleteQueueResponse": {"ResponseMetadata": {"RequestId": "rid"}}})
        );
        assert_eq!(
            render("CreateQueue", &Empty {})["CreateQueueResponse"]["CreateQueueResult"],
            json!({})
        );
    }

    #[test]
    fn errors_drop_the_error_response_root() {
        let body = serde_json::to_string(&error(
            "Sender",
            "InvalidAction",
            "The action ListQueues is not valid for this endpoint.",
            "rid",
        ))
        .unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            json!({
                "Error": {
                    "Code": "InvalidAction",
                    "Detail": null,
                    "Message": "The action ListQueues is not valid for this endpoint.",
                    "Type": "Sender",
                },
                "RequestId": "rid",
            })
        );
    }

    #[test]
    fn bodies_needing_escapes_round_trip() {
        let body = "quote \" backslash \\ <tag attr='x'>&amp; \r\n\t\u{1} nul\u{0} é 😀 \u{2028}";
        let received = Received {
            messages: vec![Message {
                message_id: "m".into(),
                body: body.into(),
                attributes: BTreeMap::new(),
                md5_of_message_attributes: None,
                message_attributes: BTreeMap::from([(
                    "k\"<&".to_string(),
                    AttributeValue {
                        string_value: Some(body.into()),
                        binary_value: None,
                        data_type: Some("String".into()),
                    },
                )]),
            }],
        };
        let bytes = serde_json::to_vec(&response(
            "ReceiveMessage",
            Some(&to_value(&received).unwrap()),
            "r\"id",
        ))
        .unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(!text.contains("&#xD;") && !text.contains("&lt;"), "{text}");
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let m = &v["ReceiveMessageResponse"]["ReceiveMessageResult"]["messages"][0];
        assert_eq!(m["Body"], json!(body));
        assert_eq!(m["MessageAttributes"]["k\"<&"]["StringValue"], json!(body));
        assert_eq!(
            v["ReceiveMessageResponse"]["ResponseMetadata"]["RequestId"],
            json!("r\"id")
        );
    }
}
