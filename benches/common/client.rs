//! The load generators' client (`load` and `soak`): a loopback target, SigV4 signing, one
//! keep-alive HTTP/1.1 connection per worker, and the SQS operations they use, encoded and
//! decoded in both wire protocols (AWS JSON 1.0 and AWS Query).
//!
//! Included by each bench binary with `#[path = "common/client.rs"] mod client;`; a binary that
//! does not use every item allows `dead_code` on the module.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use clap::ValueEnum;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use quick_xml::events::Event;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// Per-request timeout; a request that takes longer counts as an error and the connection is
/// re-established.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Protocol {
    Json,
    Query,
}

impl Protocol {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::Query => "query",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Target, signing, connections
// ---------------------------------------------------------------------------------------------

pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    /// `host[:port]` as sent in the Host header and signed.
    pub(crate) authority: String,
    /// `http://authority`
    pub(crate) base: String,
}

impl Target {
    /// Accepts only `http://` URLs whose host is a loopback address or `localhost`.
    pub(crate) fn parse(endpoint: &str) -> Result<Target, String> {
        let uri: http::Uri = endpoint.parse().map_err(|e| format!("not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err("only http:// endpoints are supported".into());
        }
        let host = uri.host().ok_or("no host")?;
        let port = uri.port_u16().unwrap_or(80);
        let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| format!("host {host:?} is not an IP literal or localhost"))?
        };
        if !ip.is_loopback() {
            return Err(format!(
                "{ip} is not a loopback address; this benchmark only targets loopback"
            ));
        }
        let authority = uri.authority().ok_or("no authority")?.as_str().to_string();
        if authority.contains('@') {
            return Err("user info in the endpoint is not supported".into());
        }
        Ok(Target {
            addr: SocketAddr::new(ip, port),
            base: format!("http://{authority}"),
            authority,
        })
    }
}

pub(crate) struct Signer {
    pub(crate) identity: Identity,
    pub(crate) region: String,
}

pub(crate) struct Ctx {
    pub(crate) target: Target,
    pub(crate) signer: Signer,
    pub(crate) protocol: Protocol,
    pub(crate) body_bytes: usize,
}

/// One keep-alive HTTP/1.1 connection.
pub(crate) struct Conn {
    pub(crate) sender: SendRequest<Full<Bytes>>,
}

#[derive(Debug)]
pub(crate) enum CallError {
    /// Connection-level failure or timeout; the connection must be replaced.
    Transport(String),
    /// The server answered with a non-200 status.
    Status(u16, String),
    /// A 200 whose body could not be understood.
    Decode(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Transport(e) => write!(f, "transport: {e}"),
            CallError::Status(s, b) => write!(f, "HTTP {s}: {b}"),
            CallError::Decode(e) => write!(f, "bad response: {e}"),
        }
    }
}

impl Conn {
    pub(crate) async fn connect(ctx: &Ctx) -> Result<Conn, String> {
        let stream =
            tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(ctx.target.addr))
                .await
                .map_err(|_| "connect timed out".to_string())?
                .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            // Errors surface on the next send_request; nothing to do here.
            let _ = conn.await;
        });
        Ok(Conn { sender })
    }

    /// Signs and sends one request; returns the response body of a 200 and the latency
    /// (request written → full response body read; signing is excluded).
    pub(crate) async fn call(
        &mut self,
        ctx: &Ctx,
        req: &Encoded,
    ) -> Result<(Bytes, Duration), CallError> {
        let mut builder = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("host", &ctx.target.authority)
            .header("content-type", req.content_type);
        if let Some(t) = &req.amz_target {
            builder = builder.header("x-amz-target", t.as_str());
        }
        let mut request = builder
            .body(Full::new(req.body.clone()))
            .map_err(|e| CallError::Transport(e.to_string()))?;
        sign_request(ctx, &mut request, &req.body).map_err(CallError::Transport)?;

        let fut = async {
            self.sender
                .ready()
                .await
                .map_err(|e| CallError::Transport(e.to_string()))?;
            let start = Instant::now();
            let resp = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| CallError::Transport(e.to_string()))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| CallError::Transport(e.to_string()))?
                .to_bytes();
            Ok::<_, CallError>((status, body, start.elapsed()))
        };
        let (status, body, elapsed) =
            tokio::time::timeout(REQUEST_TIMEOUT, fut)
                .await
                .map_err(|_| {
                    CallError::Transport(format!("no response within {REQUEST_TIMEOUT:?}"))
                })??;
        if status != 200 {
            return Err(CallError::Status(status, snippet(&body)));
        }
        Ok((body, elapsed))
    }
}

pub(crate) fn sign_request(
    ctx: &Ctx,
    request: &mut http::Request<Full<Bytes>>,
    body: &[u8],
) -> Result<(), String> {
    let url = format!("{}{}", ctx.target.base, request.uri().path());
    let instructions = {
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
            .collect();
        let params = v4::SigningParams::builder()
            .identity(&ctx.signer.identity)
            .region(&ctx.signer.region)
            .name("sqs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let signable =
            SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(body))
                .map_err(|e| e.to_string())?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        instructions
    };
    instructions.apply_to_request_http1x(request);
    Ok(())
}

pub(crate) fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    if s.len() > 400 {
        let mut end = 400;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Requests and responses, in both protocols
// ---------------------------------------------------------------------------------------------

/// One SQS operation, protocol-independent.
pub(crate) enum Op<'a> {
    CreateQueue {
        name: &'a str,
        fifo: bool,
    },
    DeleteQueue {
        url: &'a str,
    },
    GetDepth {
        url: &'a str,
    },
    Send {
        url: &'a str,
        body: &'a str,
        group: Option<&'a str>,
    },
    SendBatch {
        url: &'a str,
        entries: &'a [(String, Option<String>)],
    },
    Receive {
        url: &'a str,
        max: u32,
    },
    DeleteBatch {
        url: &'a str,
        handles: &'a [String],
    },
    /// ReceiveMessage with a wait and a visibility timeout (the soak); decode with
    /// [`decode_messages`].
    ReceiveMessages {
        url: &'a str,
        max: u32,
        wait: u32,
        visibility: u32,
    },
    Delete {
        url: &'a str,
        handle: &'a str,
    },
    ChangeVisibility {
        url: &'a str,
        handle: &'a str,
        timeout: u32,
    },
}

impl Op<'_> {
    pub(crate) fn action(&self) -> &'static str {
        match self {
            Op::CreateQueue { .. } => "CreateQueue",
            Op::DeleteQueue { .. } => "DeleteQueue",
            Op::GetDepth { .. } => "GetQueueAttributes",
            Op::Send { .. } => "SendMessage",
            Op::SendBatch { .. } => "SendMessageBatch",
            Op::Receive { .. } => "ReceiveMessage",
            Op::DeleteBatch { .. } => "DeleteMessageBatch",
            Op::ReceiveMessages { .. } => "ReceiveMessage",
            Op::Delete { .. } => "DeleteMessage",
            Op::ChangeVisibility { .. } => "ChangeMessageVisibility",
        }
    }
}

/// A request body ready to sign and send.
pub(crate) struct Encoded {
    pub(crate) body: Bytes,
    pub(crate) content_type: &'static str,
    pub(crate) amz_target: Option<String>,
}

pub(crate) fn encode(protocol: Protocol, op: &Op<'_>) -> Encoded {
    match protocol {
        Protocol::Json => {
            let v = match op {
                Op::CreateQueue { name, fifo } => {
                    if *fifo {
                        json!({"QueueName": name, "Attributes": {"FifoQueue": "true", "ContentBasedDeduplication": "true"}})
                    } else {
                        json!({ "QueueName": name })
                    }
                }
                Op::DeleteQueue { url } => json!({ "QueueUrl": url }),
                Op::GetDepth { url } => {
                    json!({"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]})
                }
                // The hot operations serialize typed, borrowed structs: the load generator
                // shares the CPUs with the server, so it should spend as little as it can.
                Op::Send { url, body, group } => {
                    return json_encoded(
                        op,
                        &SendBody {
                            queue_url: url,
                            message_body: body,
                            message_group_id: *group,
                        },
                    );
                }
                Op::SendBatch { url, entries } => {
                    let entries: Vec<SendEntryBody> = entries
                        .iter()
                        .enumerate()
                        .map(|(i, (body, group))| SendEntryBody {
                            id: BATCH_IDS[i % BATCH_IDS.len()],
                            message_body: body,
                            message_group_id: group.as_deref(),
                        })
                        .collect();
                    return json_encoded(
                        op,
                        &BatchBody {
                            queue_url: url,
                            entries,
                        },
                    );
                }
                Op::Receive { url, max } => {
                    return json_encoded(
                        op,
                        &ReceiveBody {
                            queue_url: url,
                            max_number_of_messages: *max,
                            wait_time_seconds: 0,
                        },
                    );
                }
                Op::ReceiveMessages {
                    url,
                    max,
                    wait,
                    visibility,
                } => json!({
                    "QueueUrl": url,
                    "MaxNumberOfMessages": max,
                    "WaitTimeSeconds": wait,
                    "VisibilityTimeout": visibility,
                }),
                Op::Delete { url, handle } => json!({"QueueUrl": url, "ReceiptHandle": handle}),
                Op::ChangeVisibility {
                    url,
                    handle,
                    timeout,
                } => json!({
                    "QueueUrl": url,
                    "ReceiptHandle": handle,
                    "VisibilityTimeout": timeout,
                }),
                Op::DeleteBatch { url, handles } => {
                    let entries: Vec<DeleteEntryBody> = handles
                        .iter()
                        .enumerate()
                        .map(|(i, h)| DeleteEntryBody {
                            id: BATCH_IDS[i % BATCH_IDS.len()],
                            receipt_handle: h,
                        })
                        .collect();
                    return json_encoded(
                        op,
                        &BatchBody {
                            queue_url: url,
                            entries,
                        },
                    );
                }
            };
            Encoded {
                body: Bytes::from(v.to_string()),
                content_type: "application/x-amz-json-1.0",
                amz_target: Some(format!("AmazonSQS.{}", op.action())),
            }
        }
        Protocol::Query => {
            let mut p: Vec<(String, String)> = vec![
                ("Action".into(), op.action().into()),
                ("Version".into(), "2012-11-05".into()),
            ];
            match op {
                Op::CreateQueue { name, fifo } => {
                    p.push(("QueueName".into(), (*name).into()));
                    if *fifo {
                        p.push(("Attribute.1.Name".into(), "FifoQueue".into()));
                        p.push(("Attribute.1.Value".into(), "true".into()));
                        p.push((
                            "Attribute.2.Name".into(),
                            "ContentBasedDeduplication".into(),
                        ));
                        p.push(("Attribute.2.Value".into(), "true".into()));
                    }
                }
                Op::DeleteQueue { url } => p.push(("QueueUrl".into(), (*url).into())),
                Op::GetDepth { url } => {
                    p.push(("QueueUrl".into(), (*url).into()));
                    p.push((
                        "AttributeName.1".into(),
                        "ApproximateNumberOfMessages".into(),
                    ));
                }
                Op::Send { url, body, group } => {
                    p.push(("QueueUrl".into(), (*url).into()));
                    p.push(("MessageBody".into(), (*body).into()));
                    if let Some(g) = group {
                        p.push(("MessageGroupId".into(), (*g).into()));
                    }
                }
                Op::SendBatch { url, entries } => {
                    p.push(("QueueUrl".into(), (*url).into()));
                    for (i, (body, group)) in entries.iter().enumerate() {
                        let n = i + 1;
                        p.push((
                            format!("SendMessageBatchRequestEntry.{n}.Id"),
                            format!("m{i}"),
                        ));
                        p.push((
                            format!("SendMessageBatchRequestEntry.{n}.MessageBody"),
                            body.clone(),
                        ));
                        if let Some(g) = group {
                            p.push((
                                format!("SendMessageBatchRequestEntry.{n}.MessageGroupId"),
                                g.clone(),
                            ));
                        }
                    }
                }
                Op::Receive { url, max } => {
                    p.push(("QueueUrl".into(), (*url).into()));
                    p.push(("MaxNumberOfMessages".into(), max.to_string()));
                    p.push(("WaitTimeSeconds".into(), "0".into()));
                }
                Op::ReceiveMessages {
                    url,
                    max,
                    wait,
                    visibility,
                } => {
                    p.push(("QueueUrl".into(), (*url).into()));
                    p.push(("MaxNumberOfMessages".into(), max.to_string()));
                    p.push(("WaitTimeSeconds".into(), wait.to_string()));
                    p.push(("VisibilityTimeout".into(), visibility.to_string()));
                }
                Op::Delete { url, handle } => {
                    p.push(("QueueUrl".into(), (*url).into()));
                    p.push(("ReceiptHandle".into(), (*handle).into()));
                }
                Op::ChangeVisibility {
                    url,
                    handle,
                    timeout,
                } => {
                    p.push(("QueueUrl".into(), (*url).into()));
                    p.push(("ReceiptHandle".into(), (*handle).into()));
                    p.push(("VisibilityTimeout".into(), timeout.to_string()));
                }
                Op::DeleteBatch { url, handles } => {
                    p.push(("QueueUrl".into(), (*url).into()));
                    for (i, h) in handles.iter().enumerate() {
                        let n = i + 1;
                        p.push((
                            format!("DeleteMessageBatchRequestEntry.{n}.Id"),
                            format!("d{i}"),
                        ));
                        p.push((
                            format!("DeleteMessageBatchRequestEntry.{n}.ReceiptHandle"),
                            h.clone(),
                        ));
                    }
                }
            }
            Encoded {
                body: Bytes::from(
                    serde_urlencoded::to_string(&p).expect("form encoding of strings"),
                ),
                content_type: "application/x-www-form-urlencoded; charset=utf-8",
                amz_target: None,
            }
        }
    }
}

/// Texts of every `<tag>` element (local name), in document order.
pub(crate) fn xml_texts(body: &[u8], tag: &str) -> Result<Vec<String>, String> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let tag = tag.as_bytes();
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    loop {
        match reader.read_event().map_err(|e| format!("XML: {e}"))? {
            Event::Start(e) if e.local_name().as_ref() == tag => cur = Some(String::new()),
            Event::Empty(e) if e.local_name().as_ref() == tag => out.push(String::new()),
            Event::Text(t) => {
                if let Some(c) = cur.as_mut() {
                    c.push_str(&t.unescape().map_err(|e| format!("XML text: {e}"))?);
                }
            }
            Event::CData(t) => {
                if let Some(c) = cur.as_mut() {
                    c.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(e) if e.local_name().as_ref() == tag => {
                if let Some(c) = cur.take() {
                    out.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

pub(crate) fn parse_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, CallError> {
    serde_json::from_slice(body)
        .map_err(|e| CallError::Decode(format!("JSON: {e}: {}", snippet(body))))
}

/// Entry ids of a batch (distinct within one batch of at most 10).
pub(crate) const BATCH_IDS: [&str; 10] =
    ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"];

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendBody<'a> {
    pub(crate) queue_url: &'a str,
    pub(crate) message_body: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message_group_id: Option<&'a str>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendEntryBody<'a> {
    pub(crate) id: &'a str,
    pub(crate) message_body: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message_group_id: Option<&'a str>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeleteEntryBody<'a> {
    pub(crate) id: &'a str,
    pub(crate) receipt_handle: &'a str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BatchBody<'a, E> {
    pub(crate) queue_url: &'a str,
    pub(crate) entries: Vec<E>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ReceiveBody<'a> {
    pub(crate) queue_url: &'a str,
    pub(crate) max_number_of_messages: u32,
    pub(crate) wait_time_seconds: u32,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ReceiveResponse {
    #[serde(default)]
    pub(crate) messages: Vec<ReceivedHandle>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ReceivedHandle {
    pub(crate) receipt_handle: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BatchResponse {
    #[serde(default)]
    pub(crate) successful: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    pub(crate) failed: Vec<serde::de::IgnoredAny>,
}

pub(crate) fn json_encoded<T: serde::Serialize>(op: &Op<'_>, body: &T) -> Encoded {
    Encoded {
        body: Bytes::from(serde_json::to_vec(body).expect("request bodies serialize")),
        content_type: "application/x-amz-json-1.0",
        amz_target: Some(format!("AmazonSQS.{}", op.action())),
    }
}

pub(crate) fn decode_queue_url(protocol: Protocol, body: &[u8]) -> Result<String, CallError> {
    let url = match protocol {
        Protocol::Json => parse_json::<Value>(body)?
            .get("QueueUrl")
            .and_then(Value::as_str)
            .map(str::to_string),
        Protocol::Query => xml_texts(body, "QueueUrl")
            .map_err(CallError::Decode)?
            .into_iter()
            .next(),
    };
    url.filter(|u| !u.is_empty())
        .ok_or_else(|| CallError::Decode(format!("no QueueUrl in {}", snippet(body))))
}

pub(crate) fn decode_receipt_handles(
    protocol: Protocol,
    body: &[u8],
) -> Result<Vec<String>, CallError> {
    match protocol {
        Protocol::Json => Ok(parse_json::<ReceiveResponse>(body)?
            .messages
            .into_iter()
            .map(|m| m.receipt_handle)
            .collect()),
        Protocol::Query => xml_texts(body, "ReceiptHandle").map_err(CallError::Decode),
    }
}

/// (successful entries, failed entries) of a batch response.
pub(crate) fn decode_batch(
    protocol: Protocol,
    body: &[u8],
    ok_tag: &str,
) -> Result<(usize, usize), CallError> {
    match protocol {
        Protocol::Json => {
            let r: BatchResponse = parse_json(body)?;
            Ok((r.successful.len(), r.failed.len()))
        }
        Protocol::Query => {
            let ok = xml_texts(body, ok_tag).map_err(CallError::Decode)?.len();
            let failed = xml_texts(body, "BatchResultErrorEntry")
                .map_err(CallError::Decode)?
                .len();
            Ok((ok, failed))
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessagesResponse {
    #[serde(default)]
    messages: Vec<BodyAndHandle>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BodyAndHandle {
    body: String,
    receipt_handle: String,
}

/// (body, receipt handle) of each received message.
pub(crate) fn decode_messages(
    protocol: Protocol,
    body: &[u8],
) -> Result<Vec<(String, String)>, CallError> {
    match protocol {
        Protocol::Json => Ok(parse_json::<MessagesResponse>(body)?
            .messages
            .into_iter()
            .map(|m| (m.body, m.receipt_handle))
            .collect()),
        Protocol::Query => {
            let bodies = xml_texts(body, "Body").map_err(CallError::Decode)?;
            let handles = xml_texts(body, "ReceiptHandle").map_err(CallError::Decode)?;
            if bodies.len() != handles.len() {
                return Err(CallError::Decode(format!(
                    "{} bodies and {} receipt handles in {}",
                    bodies.len(),
                    handles.len(),
                    snippet(body)
                )));
            }
            Ok(bodies.into_iter().zip(handles).collect())
        }
    }
}

pub(crate) fn decode_depth(protocol: Protocol, body: &[u8]) -> Result<u64, CallError> {
    let raw = match protocol {
        Protocol::Json => parse_json::<Value>(body)?
            .get("Attributes")
            .and_then(|a| a.get("ApproximateNumberOfMessages"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Protocol::Query => {
            let names = xml_texts(body, "Name").map_err(CallError::Decode)?;
            let values = xml_texts(body, "Value").map_err(CallError::Decode)?;
            names
                .into_iter()
                .zip(values)
                .find(|(n, _)| n == "ApproximateNumberOfMessages")
                .map(|(_, v)| v)
        }
    };
    raw.and_then(|s| s.parse().ok()).ok_or_else(|| {
        CallError::Decode(format!(
            "no ApproximateNumberOfMessages in {}",
            snippet(body)
        ))
    })
}

/// A unique body of `size` bytes (longer only if `size` is smaller than the unique prefix), so
/// FIFO content-based deduplication never drops a message.
pub(crate) fn make_body(size: usize, tag: &str, seq: u64) -> String {
    let mut s = format!("{tag}-{seq}-");
    let pad = size.saturating_sub(s.len());
    s.push_str(&"x".repeat(pad));
    s
}
