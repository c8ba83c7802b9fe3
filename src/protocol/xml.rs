//! XML rendering of Query-protocol responses. Outputs arrive as the JSON value of the typed
//! output; the SQS-specific element names (flattened maps and lists) are applied here.

use serde_json::Value;

use super::XML_NAMESPACE;

fn escape(s: &str) -> String {
    // quick-xml escapes markup characters; a carriage return must be a character reference
    // too, or the client's XML parser normalises it away.
    quick_xml::escape::escape(s).replace('\r', "&#xD;")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => escape(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

fn element(out: &mut String, name: &str, inner: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(inner);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Writes the members of an output object in SQS's XML shapes.
fn members(out: &mut String, action: &str, obj: &serde_json::Map<String, Value>) {
    for (key, value) in obj {
        match (key.as_str(), value) {
            ("QueueUrls" | "queueUrls", Value::Array(items)) => {
                for item in items {
                    element(out, "QueueUrl", &scalar(item));
                }
            }
            ("Attributes", Value::Object(map)) => {
                for (k, v) in map {
                    element(
                        out,
                        "Attribute",
                        &format!("<Name>{}</Name><Value>{}</Value>", escape(k), scalar(v)),
                    );
                }
            }
            ("Tags", Value::Object(map)) => {
                for (k, v) in map {
                    element(
                        out,
                        "Tag",
                        &format!("<Key>{}</Key><Value>{}</Value>", escape(k), scalar(v)),
                    );
                }
            }
            ("MessageAttributes", Value::Object(map)) => {
                for (k, v) in map {
                    let mut inner = String::new();
                    if let Value::Object(fields) = v {
                        members(&mut inner, action, fields);
                    }
                    element(
                        out,
                        "MessageAttribute",
                        &format!("<Name>{}</Name><Value>{inner}</Value>", escape(k)),
                    );
                }
            }
            (_, Value::Array(items)) => {
                let item_name = match key.as_str() {
                    "Messages" => "Message".to_string(),
                    "Successful" => format!("{action}ResultEntry"),
                    "Failed" => "BatchResultErrorEntry".to_string(),
                    "Results" => format!("{action}ResultEntry"),
                    other => other.to_string(),
                };
                for item in items {
                    let mut inner = String::new();
                    match item {
                        Value::Object(fields) => members(&mut inner, action, fields),
                        other => inner.push_str(&scalar(other)),
                    }
                    element(out, &item_name, &inner);
                }
            }
            (_, Value::Object(fields)) => {
                let mut inner = String::new();
                members(&mut inner, action, fields);
                element(out, key, &inner);
            }
            (_, v) => element(out, key, &scalar(v)),
        }
    }
}

/// `<XResponse><XResult>…</XResult><ResponseMetadata>…</ResponseMetadata></XResponse>`; actions
/// without output get no `<XResult>`.
pub fn response(action: &str, output: &Value, request_id: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\"?>");
    out.push_str(&format!("<{action}Response xmlns=\"{XML_NAMESPACE}\">"));
    if !has_no_output(action) {
        let mut inner = String::new();
        if let Value::Object(obj) = output {
            members(&mut inner, action, obj);
        }
        if inner.is_empty() {
            out.push_str(&format!("<{action}Result/>"));
        } else {
            element(&mut out, &format!("{action}Result"), &inner);
        }
    }
    out.push_str(&format!(
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>",
        escape(request_id)
    ));
    out.push_str(&format!("</{action}Response>"));
    out
}

/// Operations whose Query response has no `<XResult>` element.
fn has_no_output(action: &str) -> bool {
    matches!(
        action,
        "AddPermission"
            | "ChangeMessageVisibility"
            | "DeleteMessage"
            | "DeleteQueue"
            | "PurgeQueue"
            | "RemovePermission"
            | "SetQueueAttributes"
            | "TagQueue"
            | "UntagQueue"
    )
}

pub fn error(fault: &str, code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{XML_NAMESPACE}\"><Error><Type>{fault}</Type><Code>{}</Code><Message>{}</Message><Detail/></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(code),
        escape(message),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_and_lists() {
        let x = response(
            "GetQueueAttributes",
            &json!({"Attributes": {"VisibilityTimeout": "30"}}),
            "r",
        );
        assert!(x.contains("<GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute></GetQueueAttributesResult>"));
        let x = response("ListQueues", &json!({"QueueUrls": ["a", "b"]}), "r");
        assert!(x.contains(
            "<ListQueuesResult><QueueUrl>a</QueueUrl><QueueUrl>b</QueueUrl></ListQueuesResult>"
        ));
        let x = response("ReceiveMessage", &json!({}), "r");
        assert!(x.contains("<ReceiveMessageResult/>"));
        let x = response("DeleteQueue", &json!({}), "r");
        assert!(!x.contains("Result"));
        assert!(x.starts_with("<?xml version=\"1.0\"?><DeleteQueueResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">"));
    }

    #[test]
    fn messages_and_batches() {
        let x = response(
            "ReceiveMessage",
            &json!({"Messages": [{"Body": "a<b\r", "MessageAttributes": {"n": {"DataType": "String", "StringValue": "v"}}}]}),
            "r",
        );
        assert!(x.contains("<Message><Body>a&lt;b&#xD;</Body><MessageAttribute><Name>n</Name><Value><DataType>String</DataType><StringValue>v</StringValue></Value></MessageAttribute></Message>"));
        let x = response(
            "DeleteMessageBatch",
            &json!({"Successful": [{"Id": "1"}], "Failed": [{"Id": "2", "SenderFault": true}]}),
            "r",
        );
        assert!(
            x.contains("<DeleteMessageBatchResultEntry><Id>1</Id></DeleteMessageBatchResultEntry>")
        );
        assert!(x.contains("<BatchResultErrorEntry><Id>2</Id><SenderFault>true</SenderFault></BatchResultErrorEntry>"));
    }
}
