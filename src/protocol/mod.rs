//! The two SQS wire protocols: AWS Query (form parameters in, XML out) and AWS JSON 1.0
//! (`X-Amz-Target`). Decoding turns a request into an action name and an [`Input`] that the
//! action's typed input deserializes from; encoding renders typed outputs and errors.
//!
//! Must not depend on the engine.

pub mod query;
pub mod query_json;
pub mod value;
pub mod xml;

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use self::query::QueryInput;
use crate::error::{ErrorCode, SqsError, SqsResult};

pub const XML_NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// `X-Amz-Target`, the JSON protocol's action header (a `HeaderName`: no parse per lookup).
static X_AMZ_TARGET: http::HeaderName = http::HeaderName::from_static("x-amz-target");
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Query,
    /// AWS Query whose `Accept` asks for JSON: decoded as Query, answered with AWS's JSON
    /// rendering of the XML response ([`query_json`]).
    QueryJson,
    Json,
}

/// Picks the protocol from the headers alone, so that even a body or signature error is
/// answered in the client's own format. `Accept` only matters for Query requests.
pub fn detect(headers: &HeaderMap) -> Protocol {
    let json_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            const JSON_TYPE: &str = "application/x-amz-json";
            v.trim_start()
                .get(..JSON_TYPE.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(JSON_TYPE))
        });
    if headers.contains_key(&X_AMZ_TARGET) || json_type {
        Protocol::Json
    } else if query_json::wants_json(headers) {
        Protocol::QueryJson
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

/// Renders a successful output: JSON and XML straight from the typed output; the Query JSON
/// rendering from a value of it ([`value::to_value`]). `None` is an action that answers with
/// no result: `{}` in JSON, no `<XResult>` in the Query renderings.
pub fn encode_output<T: Serialize>(
    protocol: Protocol,
    action: &str,
    output: Option<&T>,
    request_id: &str,
) -> SqsResult<Encoded> {
    let internal = |e: serde_json::Error| SqsError::internal(e.to_string());
    let query_value = |output: Option<&T>| output.map(value::to_value).transpose();
    Ok(match protocol {
        Protocol::Json => Encoded {
            status: 200,
            content_type: JSON_CONTENT_TYPE,
            headers: Vec::new(),
            body: match output {
                Some(output) => serde_json::to_vec(output).map_err(internal)?,
                None => b"{}".to_vec(),
            },
        },
        Protocol::Query => Encoded {
            status: 200,
            content_type: "text/xml",
            headers: Vec::new(),
            body: xml::response(action, output, request_id)
                .map_err(internal)?
                .into_bytes(),
        },
        Protocol::QueryJson => {
            let value = query_value(output).map_err(internal)?;
            Encoded {
                status: 200,
                content_type: query_json::CONTENT_TYPE,
                headers: Vec::new(),
                body: serde_json::to_vec(&query_json::response(action, value.as_ref(), request_id))
                    .map_err(internal)?,
            }
        }
    })
}

/// A decoded request: the operation it names and its input.
#[derive(Debug)]
pub struct Decoded {
    pub operation: String,
    pub input: Input,
    /// A Query request whose path names a queue: the actions that name none are refused there.
    pub on_queue_path: bool,
}

/// A decoded request input: a JSON 1.0 body, kept as bytes and deserialized straight into the
/// action's input type, or the Query parameters, deserialized straight into it too, read as
/// the same JSON would be by the input's Query members ([`QueryInput`]).
#[derive(Debug)]
pub enum Input {
    /// The body, and the queue it names (found while checking the body is one JSON object).
    Json {
        body: Bytes,
        queue: Option<String>,
    },
    Query(Vec<(String, String)>),
}

impl Input {
    /// Deserializes the action's typed input; a wrong member type → `InvalidParameterValue`.
    pub fn decode<T: DeserializeOwned + QueryInput>(&self) -> SqsResult<T> {
        let invalid = |e: serde_json::Error| {
            SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("The request has an invalid parameter: {e}"),
            )
        };
        match self {
            Input::Json { body, .. } => serde_json::from_slice(body).map_err(invalid),
            Input::Query(params) => query::decode(params, T::FIELDS),
        }
    }

    /// The queue the request names (the last segment of `QueueUrl`, or `QueueName`), for logs.
    pub fn queue_name(&self) -> Option<String> {
        match self {
            Input::Json { queue, .. } => queue.clone(),
            Input::Query(params) => {
                let text = |k: &str| params.iter().rev().find(|(n, _)| n == k).map(|(_, v)| &**v);
                queue_of(text("QueueUrl"), text("QueueName"))
            }
        }
    }
}

/// The last path segment of a queue URL, else the queue name.
fn queue_of(url: Option<&str>, name: Option<&str>) -> Option<String> {
    let s = url.or(name)?;
    Some(s.rsplit('/').next().unwrap_or(s).to_string())
}

/// A JSON object body, read for the members that name a queue; every other member is skipped
/// unparsed, and any JSON type is accepted for these two (the action's input checks types).
#[derive(Deserialize)]
struct QueueRef<'a> {
    #[serde(rename = "QueueUrl", borrow, default)]
    queue_url: Option<MaybeText<'a>>,
    #[serde(rename = "QueueName", borrow, default)]
    queue_name: Option<MaybeText<'a>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeText<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Other(serde::de::IgnoredAny),
}

impl MaybeText<'_> {
    fn text(&self) -> Option<&str> {
        match self {
            MaybeText::Text(t) => Some(t),
            MaybeText::Other(_) => None,
        }
    }
}

/// Renders an error in the client's protocol, with `x-amzn-query-error` for JSON. The Query JSON
/// rendering has the XML's status and headers.
pub fn encode_error(protocol: Protocol, err: &SqsError, request_id: &str) -> Encoded {
    let code = err.code;
    if code == ErrorCode::InvalidAddress && err.message.is_empty() {
        // A GET on a queue URL without parameters ([`decode_query`]): AWS answers 404 with an
        // empty element.
        return Encoded {
            status: 404,
            content_type: "text/xml",
            headers: Vec::new(),
            body: b"<UnknownOperationException/>".to_vec(),
        };
    }
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
        Protocol::Query | Protocol::QueryJson => {
            let message = if code == crate::error::ErrorCode::QueueDoesNotExist {
                "The specified queue does not exist for this wsdl version.".to_string()
            } else {
                err.message.clone()
            };
            let (content_type, body) = if protocol == Protocol::QueryJson {
                let body = query_json::error(fault, code.query_code(), &message, request_id);
                (
                    query_json::CONTENT_TYPE,
                    serde_json::to_vec(&body).unwrap_or_default(),
                )
            } else {
                let body = xml::error(fault, code.query_code(), &message, request_id);
                ("text/xml", body.into_bytes())
            };
            Encoded {
                status: code.http_status(),
                content_type,
                headers: Vec::new(),
                body,
            }
        }
    }
}

/// Decodes a JSON 1.0 request: the operation from `X-Amz-Target`; the body must be one JSON
/// object (checked here, without building it; an empty body is `{}`).
pub fn decode_json(headers: &HeaderMap, body: Bytes) -> SqsResult<Decoded> {
    let target = headers
        .get(&X_AMZ_TARGET)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            SqsError::new(
                ErrorCode::MissingAction,
                "The request must contain the header X-Amz-Target.",
            )
        })?;
    let operation = target.strip_prefix("AmazonSQS.").ok_or_else(|| {
        SqsError::new(
            ErrorCode::InvalidAction,
            format!("The action {target} is not valid for this endpoint."),
        )
    })?;
    let Some(first) = body.iter().find(|b| !b.is_ascii_whitespace()) else {
        let body = Bytes::from_static(b"{}");
        return Ok(Decoded::json(operation, body, None));
    };
    let not_json = |e: serde_json::Error| {
        SqsError::new(
            ErrorCode::InvalidParameterValue,
            format!("The request body is not valid JSON: {e}"),
        )
    };
    if *first != b'{' {
        serde_json::from_slice::<serde::de::IgnoredAny>(&body).map_err(not_json)?;
        return Err(SqsError::new(
            ErrorCode::InvalidParameterValue,
            "The request body must be a JSON object.",
        ));
    }
    let r = serde_json::from_slice::<QueueRef>(&body).map_err(not_json)?;
    let queue = queue_of(
        r.queue_url.as_ref().and_then(MaybeText::text),
        r.queue_name.as_ref().and_then(MaybeText::text),
    );
    Ok(Decoded::json(operation, body, queue))
}

impl Decoded {
    fn json(operation: &str, body: Bytes, queue: Option<String>) -> Self {
        Decoded {
            operation: operation.to_string(),
            input: Input::Json { body, queue },
            on_queue_path: false,
        }
    }
}

/// Decodes a Query request: its parameters from the query string (less the presigned-URL
/// ones) then the form body. On a queue URL's path, the path is the `QueueUrl` unless one is
/// given; a GET there without parameters is `InvalidAddress` with no message (AWS's 404).
pub fn decode_query(method: &Method, uri: &Uri, body: &[u8]) -> SqsResult<Decoded> {
    let mut params = match uri.query() {
        Some(q) => query::parse_params(q.as_bytes())?,
        None => Vec::new(),
    };
    params.retain(|(k, _)| !query::is_auth_param(k));
    if !body.is_empty() {
        params.extend(query::parse_params(body)?);
    }
    let path = uri.path();
    let on_queue_path = path != "/" && queue_path(path).is_some();
    let Some(operation) = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
    else {
        if method == Method::GET && params.is_empty() && on_queue_path {
            return Err(SqsError::new(ErrorCode::InvalidAddress, ""));
        }
        return Err(SqsError::new(
            ErrorCode::MissingAction,
            "The request must contain the parameter Action.",
        ));
    };
    if on_queue_path && !params.iter().any(|(k, _)| k == "QueueUrl") {
        params.push(("QueueUrl".to_string(), path.to_string()));
    }
    Ok(Decoded {
        operation,
        input: Input::Query(params),
        on_queue_path,
    })
}

/// `(account, name)` from a queue URL or a request path.
pub fn queue_path(url: &str) -> Option<(Option<&str>, &str)> {
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find('/').map_or("", |j| &rest[j..])
        }
        None => url,
    };
    let end = path
        .bytes()
        .position(|b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    let path = &path[..end];
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, _) => Some((None, name)),
        (Some(account), Some(name), None) => Some((Some(account), name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::query::query_input;

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
        // `Accept` picks the Query rendering only; JSON-protocol requests are unaffected.
        t.insert("accept", "application/json".parse().unwrap());
        assert_eq!(detect(&t), Protocol::Json);
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        h.insert("accept", "application/json".parse().unwrap());
        assert_eq!(detect(&h), Protocol::QueryJson);
        h.insert("accept", "*/*".parse().unwrap());
        assert_eq!(detect(&h), Protocol::Query);
    }

    #[derive(Serialize)]
    struct Sent {
        #[serde(rename = "MessageId")]
        message_id: &'static str,
        #[serde(rename = "SequenceNumber", skip_serializing_if = "Option::is_none")]
        sequence_number: Option<&'static str>,
    }

    #[test]
    fn query_outputs_render_one_value_as_xml_or_json() {
        let sent = Sent {
            message_id: "m<1>",
            sequence_number: None,
        };
        let x = encode_output(Protocol::Query, "SendMessage", Some(&sent), "rid").unwrap();
        assert_eq!(x.content_type, "text/xml");
        let body = String::from_utf8(x.body).unwrap();
        assert!(body
            .contains("<SendMessageResult><MessageId>m&lt;1&gt;</MessageId></SendMessageResult>"));
        let j = encode_output(Protocol::QueryJson, "SendMessage", Some(&sent), "rid").unwrap();
        assert_eq!((j.status, j.content_type), (200, "application/json"));
        assert!(j.headers.is_empty());
        let body: serde_json::Value = serde_json::from_slice(&j.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"SendMessageResponse": {
                "SendMessageResult": {"MessageId": "m<1>", "SequenceNumber": null},
                "ResponseMetadata": {"RequestId": "rid"},
            }})
        );
    }

    #[test]
    fn query_json_errors_keep_the_xml_status_and_headers() {
        let x = encode_error(Protocol::Query, &SqsError::queue_does_not_exist(), "rid");
        let j = encode_error(
            Protocol::QueryJson,
            &SqsError::queue_does_not_exist(),
            "rid",
        );
        assert_eq!((j.status, j.content_type), (x.status, "application/json"));
        assert_eq!(j.headers, x.headers);
        let body: serde_json::Value = serde_json::from_slice(&j.body).unwrap();
        assert_eq!(
            body["Error"]["Code"],
            "AWS.SimpleQueueService.NonExistentQueue"
        );
        assert_eq!(body["Error"]["Type"], "Sender");
        assert_eq!(
            body["Error"]["Message"],
            "The specified queue does not exist for this wsdl version."
        );
        assert_eq!(body["RequestId"], "rid");
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

    query_input! {
        struct Named {
            queue_name: Option<String> = "QueueName",
        }
    }

    #[test]
    fn query_decoding() {
        let decode = |method: Method, uri: &str, body: &[u8]| {
            decode_query(&method, &uri.parse().unwrap(), body)
        };
        let d = decode(
            Method::POST,
            "/?X-Amz-Signature=s&AWSAccessKeyId=k&QueueName=a",
            b"Action=GetQueueUrl&QueueName=q",
        )
        .unwrap();
        assert_eq!(
            (d.operation.as_str(), d.on_queue_path),
            ("GetQueueUrl", false)
        );
        let Input::Query(params) = &d.input else {
            panic!("a Query input")
        };
        assert_eq!(params.len(), 3);
        assert_eq!(d.input.queue_name().as_deref(), Some("q"));
        assert_eq!(
            d.input.decode::<Named>().unwrap().queue_name.as_deref(),
            Some("q")
        );
        let d = decode(Method::GET, "/000000000000/q1?Action=PurgeQueue", b"").unwrap();
        assert!(d.on_queue_path);
        assert_eq!(d.input.queue_name().as_deref(), Some("q1"));
        let e = decode(Method::GET, "/000000000000/q1", b"").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidAddress, "")
        );
        let e = decode(Method::POST, "/", b"QueueName=q").unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingAction);
    }

    #[test]
    fn queue_paths() {
        assert_eq!(
            queue_path("http://localhost:9324/000000000000/q1"),
            Some((Some("000000000000"), "q1"))
        );
        assert_eq!(
            queue_path("https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo"),
            Some((Some("123456789012"), "q.fifo"))
        );
        assert_eq!(
            queue_path("/000000000000/q1"),
            Some((Some("000000000000"), "q1"))
        );
        assert_eq!(queue_path("q1"), Some((None, "q1")));
        assert_eq!(queue_path("http://localhost:9324/"), None);
        assert_eq!(queue_path("http://h/a/b/c"), None);
    }

    #[test]
    fn json_decoding() {
        let mut h = HeaderMap::new();
        h.insert("x-amz-target", "AmazonSQS.ListQueues".parse().unwrap());
        let decode = |body: &'static [u8]| decode_json(&h, Bytes::from_static(body));
        assert_eq!(decode(b"").unwrap().operation, "ListQueues");
        assert!(decode(b"{\"a\": ").is_err());
        assert!(decode(b"[1]").is_err());
        assert!(decode(b"{} x").is_err());
        let input = decode(b" {\"QueueUrl\": \"http://h/1/q\", \"X\": [1, {}]}")
            .unwrap()
            .input;
        assert_eq!(input.queue_name().as_deref(), Some("q"));
        // A wrong member type is the action input's to report; here it just names no queue.
        let input = decode(b"{\"QueueUrl\": 5, \"QueueName\": \"n\"}")
            .unwrap()
            .input;
        assert_eq!(input.queue_name().as_deref(), Some("n"));
        assert!(input.decode::<Named>().is_ok());
        assert!(decode(b"{\"QueueUrl\": 5,").is_err());
        h.insert("x-amz-target", "Other.ListQueues".parse().unwrap());
        assert_eq!(
            decode_json(&h, Bytes::from_static(b"{}")).unwrap_err().code,
            crate::error::ErrorCode::InvalidAction
        );
    }
}
