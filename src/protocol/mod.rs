//! The two SQS wire protocols: AWS Query (form parameters in, XML out) and AWS JSON 1.0
//! (`X-Amz-Target`). Decoding turns a request into an action name and a JSON value that the
//! action's typed input deserializes from; encoding renders typed outputs and errors.
//!
//! Must not depend on the engine.

pub mod query;
pub mod xml;

use http::HeaderMap;

use crate::error::{SqsError, SqsResult};

pub const XML_NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Query,
    Json,
}

/// Picks the protocol from the headers alone, so that even a body or signature error is
/// answered in the client's own format.
pub fn detect(headers: &HeaderMap) -> Protocol {
    let json_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-amz-json")
        });
    if headers.contains_key("x-amz-target") || json_type {
        Protocol::Json
    } else {
        Protocol::Query
    }
}

/// A rendered response: status, content type, extra headers and body.
pub struct Encoded {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Renders a successful output (already turned into a JSON value by the action).
pub fn encode_output(
    protocol: Protocol,
    action: &str,
    output: &serde_json::Value,
    request_id: &str,
) -> Encoded {
    match protocol {
        Protocol::Json => Encoded {
            status: 200,
            content_type: JSON_CONTENT_TYPE,
            headers: Vec::new(),
            body: serde_json::to_vec(output).unwrap_or_else(|_| b"{}".to_vec()),
        },
        Protocol::Query => Encoded {
            status: 200,
            content_type: "text/xml",
            headers: Vec::new(),
            body: xml::response(action, output, request_id).into_bytes(),
        },
    }
}

/// Renders an error in the client's protocol, with `x-amzn-query-error` for JSON.
pub fn encode_error(protocol: Protocol, err: &SqsError, request_id: &str) -> Encoded {
    let code = err.code;
    let fault = match code.fault() {
        crate::error::Fault::Sender => "Sender",
        crate::error::Fault::Receiver => "Receiver",
    };
    match protocol {
        Protocol::Json => {
            let message = if code == crate::error::ErrorCode::QueueDoesNotExist {
                "The specified queue does not exist.".to_string()
            } else {
                err.message.clone()
            };
            let body = serde_json::json!({
                "__type": format!("com.amazonaws.sqs#{}", code.json_type()),
                "message": message,
            });
            Encoded {
                status: code.http_status(),
                content_type: JSON_CONTENT_TYPE,
                headers: vec![(
                    "x-amzn-query-error",
                    format!("{};{fault}", code.query_code()),
                )],
                body: serde_json::to_vec(&body).unwrap_or_default(),
            }
        }
        Protocol::Query => {
            let message = if code == crate::error::ErrorCode::QueueDoesNotExist {
                "The specified queue does not exist for this wsdl version.".to_string()
            } else {
                err.message.clone()
            };
            Encoded {
                status: code.http_status(),
                content_type: "text/xml",
                headers: Vec::new(),
                body: xml::error(fault, code.query_code(), &message, request_id).into_bytes(),
            }
        }
    }
}

/// Decodes a JSON 1.0 request: the operation from `X-Amz-Target`, the input from the body.
pub fn decode_json(headers: &HeaderMap, body: &[u8]) -> SqsResult<(String, serde_json::Value)> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            SqsError::new(
                crate::error::ErrorCode::MissingAction,
                "The request must contain the header X-Amz-Target.",
            )
        })?;
    let operation = target.strip_prefix("AmazonSQS.").ok_or_else(|| {
        SqsError::new(
            crate::error::ErrorCode::InvalidAction,
            format!("The action {target} is not valid for this endpoint."),
        )
    })?;
    let input: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            SqsError::new(
                crate::error::ErrorCode::InvalidParameterValue,
                format!("The request body is not valid JSON: {e}"),
            )
        })?
    };
    if !input.is_object() {
        return Err(SqsError::new(
            crate::error::ErrorCode::InvalidParameterValue,
            "The request body must be a JSON object.",
        ));
    }
    Ok((operation.to_string(), input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        let mut h = HeaderMap::new();
        assert_eq!(detect(&h), Protocol::Query);
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(detect(&h), Protocol::Query);
        h.insert(
            "content-type",
            "application/x-amz-json-1.0".parse().unwrap(),
        );
        assert_eq!(detect(&h), Protocol::Json);
        let mut t = HeaderMap::new();
        t.insert("x-amz-target", "AmazonSQS.ListQueues".parse().unwrap());
        assert_eq!(detect(&t), Protocol::Json);
    }

    #[test]
    fn json_errors_carry_both_codes() {
        let e = encode_error(Protocol::Json, &SqsError::queue_does_not_exist(), "rid");
        assert_eq!(e.status, 400);
        assert_eq!(
            e.headers[0],
            (
                "x-amzn-query-error",
                "AWS.SimpleQueueService.NonExistentQueue;Sender".to_string()
            )
        );
        let body: serde_json::Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(body["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
        assert_eq!(body["message"], "The specified queue does not exist.");
    }

    #[test]
    fn query_errors_are_error_responses() {
        let e = encode_error(Protocol::Query, &SqsError::queue_does_not_exist(), "rid");
        let body = String::from_utf8(e.body).unwrap();
        assert!(body.contains("<Type>Sender</Type>"));
        assert!(body.contains("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"));
        assert!(body.contains("does not exist for this wsdl version."));
        assert!(body.contains("<RequestId>rid</RequestId>"));
    }

    #[test]
    fn json_decoding() {
        let mut h = HeaderMap::new();
        h.insert("x-amz-target", "AmazonSQS.ListQueues".parse().unwrap());
        assert_eq!(decode_json(&h, b"").unwrap().0, "ListQueues");
        assert!(decode_json(&h, b"{\"a\": ").is_err());
        assert!(decode_json(&h, b"[1]").is_err());
        h.insert("x-amz-target", "Other.ListQueues".parse().unwrap());
        assert_eq!(
            decode_json(&h, b"{}").unwrap_err().code,
            crate::error::ErrorCode::InvalidAction
        );
    }
}
