//! XML rendering of Query-protocol responses. Outputs arrive as the value of the typed output
//! ([`super::value::to_value`], left-out members `null`); the SQS-specific element names
//! (flattened maps and lists) are applied here.

use std::borrow::Cow;

use serde_json::Value;

use super::XML_NAMESPACE;

/// A character XML 1.0 allows in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn escape(s: &str) -> String {
    // A character XML 1.0 does not allow (a control character, U+FFFE, U+FFFF), which only an
    // echoed input can hold, becomes U+FFFD: not even a character reference may name it, and
    // a client's parser refuses the whole document over it.
    let s: Cow<'_, str> = if s.chars().all(xml_char) {
        Cow::Borrowed(s)
    } else {
        s.chars()
            .map(|c| if xml_char(c) { c } else { '\u{FFFD}' })
            .collect()
    };
    // quick-xml escapes markup characters; a carriage return must be a character reference
    // too, or the client's XML parser normalises it away.
    quick_xml::escape::escape(s.as_ref()).replace('\r', "&#xD;")
}

/// Appends `s`, escaped. Text of printable ASCII without markup characters (a queue URL, an
/// id, a digest, most bodies) is appended as it is, without the checks and copies of
/// [`escape`], which gives the same text for it.
fn escape_into(out: &mut String, s: &str) {
    let plain = s.bytes().all(|b| {
        matches!(b, b' '..=b'~' | b'\t' | b'\n') && !matches!(b, b'<' | b'>' | b'&' | b'\'' | b'"')
    });
    if plain {
        out.push_str(s);
    } else {
        out.push_str(&escape(s));
    }
}

fn scalar_into(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => escape_into(out, s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Null => {}
        other => escape_into(out, &other.to_string()),
    }
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// `<name>` + the escaped scalar `v` + `</name>`.
fn scalar_element(out: &mut String, name: &str, v: &Value) {
    open(out, name);
    scalar_into(out, v);
    close(out, name);
}

/// `<name>` + the members of `v` (an object) or its escaped scalar + `</name>`.
fn value_element(out: &mut String, action: &str, name: &str, v: &Value) {
    open(out, name);
    match v {
        Value::Object(fields) => members(out, action, fields),
        other => scalar_into(out, other),
    }
    close(out, name);
}

/// Maps that SQS's XML flattens into repeated entries, by member: the entry element and its key
/// and value elements (`<Attribute><Name>k</Name><Value>v</Value></Attribute>`, …).
pub(super) fn flattened_map(member: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match member {
        "Attributes" => Some(("Attribute", "Name", "Value")),
        "Tags" => Some(("Tag", "Key", "Value")),
        "MessageAttributes" => Some(("MessageAttribute", "Name", "Value")),
        _ => None,
    }
}

/// Writes the members of an output object in SQS's XML shapes, straight into `out`. A `null`
/// member is one the output left out: no element.
fn members(out: &mut String, action: &str, obj: &serde_json::Map<String, Value>) {
    for (key, value) in obj {
        if value.is_null() {
            continue;
        }
        if let (Some((entry, key_name, value_name)), Value::Object(map)) =
            (flattened_map(key), value)
        {
            for (k, v) in map {
                open(out, entry);
                open(out, key_name);
                escape_into(out, k);
                close(out, key_name);
                value_element(out, action, value_name, v);
                close(out, entry);
            }
            continue;
        }
        match (key.as_str(), value) {
            ("QueueUrls" | "queueUrls", Value::Array(items)) => {
                for item in items {
                    scalar_element(out, "QueueUrl", item);
                }
            }
            (_, Value::Array(items)) => {
                let item_name: Cow<'_, str> = match key.as_str() {
                    "Messages" => "Message".into(),
                    "Successful" | "Results" => format!("{action}ResultEntry").into(),
                    "Failed" => "BatchResultErrorEntry".into(),
                    other => other.into(),
                };
                for item in items {
                    value_element(out, action, &item_name, item);
                }
            }
            (_, Value::Object(_)) => value_element(out, action, key, value),
            (_, v) => scalar_element(out, key, v),
        }
    }
}

/// `<XResponse><XResult>…</XResult><ResponseMetadata>…</ResponseMetadata></XResponse>`; an
/// action without output (`None`) gets no `<XResult>`.
pub fn response(action: &str, output: Option<&Value>, request_id: &str) -> String {
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\"?><");
    out.push_str(action);
    out.push_str("Response xmlns=\"");
    out.push_str(XML_NAMESPACE);
    out.push_str("\">");
    if let Some(output) = output {
        let result_at = out.len();
        out.push('<');
        out.push_str(action);
        out.push_str("Result>");
        let members_at = out.len();
        if let Value::Object(obj) = output {
            members(&mut out, action, obj);
        }
        if out.len() == members_at {
            out.truncate(result_at);
            out.push('<');
            out.push_str(action);
            out.push_str("Result/>");
        } else {
            out.push_str("</");
            out.push_str(action);
            out.push_str("Result>");
        }
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape_into(&mut out, request_id);
    out.push_str("</RequestId></ResponseMetadata></");
    out.push_str(action);
    out.push_str("Response>");
    out
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
            Some(&json!({"Attributes": {"VisibilityTimeout": "30"}})),
            "r",
        );
        assert!(x.contains("<GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute></GetQueueAttributesResult>"));
        let x = response("ListQueues", Some(&json!({"QueueUrls": ["a", "b"]})), "r");
        assert!(x.contains(
            "<ListQueuesResult><QueueUrl>a</QueueUrl><QueueUrl>b</QueueUrl></ListQueuesResult>"
        ));
        let x = response("ReceiveMessage", Some(&json!({})), "r");
        assert!(x.contains("<ReceiveMessageResult/>"));
        let x = response("DeleteQueue", None, "r");
        assert!(!x.contains("Result"));
        assert!(x.starts_with("<?xml version=\"1.0\"?><DeleteQueueResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">"));
    }

    #[test]
    fn messages_and_batches() {
        let x = response(
            "ReceiveMessage",
            Some(
                &json!({"Messages": [{"Body": "a<b\r", "MessageAttributes": {"n": {"DataType": "String", "StringValue": "v"}}}]}),
            ),
            "r",
        );
        assert!(x.contains("<Message><Body>a&lt;b&#xD;</Body><MessageAttribute><Name>n</Name><Value><DataType>String</DataType><StringValue>v</StringValue></Value></MessageAttribute></Message>"));
        let x = response(
            "DeleteMessageBatch",
            Some(
                &json!({"Successful": [{"Id": "1"}], "Failed": [{"Id": "2", "SenderFault": true}]}),
            ),
            "r",
        );
        assert!(
            x.contains("<DeleteMessageBatchResultEntry><Id>1</Id></DeleteMessageBatchResultEntry>")
        );
        assert!(x.contains("<BatchResultErrorEntry><Id>2</Id><SenderFault>true</SenderFault></BatchResultErrorEntry>"));
    }

    #[test]
    fn null_members_are_left_out() {
        let x = response(
            "SendMessageBatch",
            Some(&json!({"Successful": [{"Id": "1", "SequenceNumber": null}], "Failed": null})),
            "r",
        );
        assert!(x.contains("<SendMessageBatchResult><SendMessageBatchResultEntry><Id>1</Id></SendMessageBatchResultEntry></SendMessageBatchResult>"));
        let x = response("ReceiveMessage", Some(&json!({"Messages": null})), "r");
        assert!(x.contains("<ReceiveMessageResult/>"));
        let x = response(
            "ListQueueTags",
            Some(&json!({"Tags": {"a": "1"}, "NextToken": null})),
            "r",
        );
        assert!(x.contains(
            "<ListQueueTagsResult><Tag><Key>a</Key><Value>1</Value></Tag></ListQueueTagsResult>"
        ));
    }

    /// The fast path of [`escape_into`] writes what [`escape`] would.
    #[test]
    fn escaping_into_a_document_matches_escape() {
        for s in [
            "",
            "http://127.0.0.1:9324/000000000000/q",
            "plain text ~ with spaces\tand\nlines",
            "a<b>c&d'e\"f",
            "cr\r",
            "nul\0 and \u{1}",
            "\u{e9}t\u{e9} \u{10000} \u{FFFE}",
            "\u{7f}",
        ] {
            let mut out = String::from("<x>");
            escape_into(&mut out, s);
            assert_eq!(out, format!("<x>{}", escape(s)), "{s:?}");
        }
    }

    /// An action name or parameter echoed in an error may hold any character; the document
    /// must stay XML 1.0 (found by the http_request fuzz target: NULs in an action name).
    #[test]
    fn characters_xml_does_not_allow_are_replaced() {
        let doc = error(
            "Sender",
            "InvalidAction",
            "The action Set\0Queue\u{1}\u{FFFE} is not valid\r\n\t\u{10000}",
            "id",
        );
        assert!(doc.contains("Set\u{FFFD}Queue\u{FFFD}\u{FFFD} is not valid&#xD;\n\t\u{10000}"));
        assert!(doc.chars().all(xml_char));
        let mut reader = quick_xml::Reader::from_str(&doc);
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Text(t) => drop(t.unescape().unwrap()),
                _ => {}
            }
        }
    }
}
