//! The operators' API under `/_cauda/`, answered in JSON: `GET /_cauda/queues` (the caller's
//! account and region, every queue with `?all=true`), with counts and the messages sent and
//! received since the server started (the console's rates);
//! `GET /_cauda/queues/{account}/{name}/messages?state=&limit=&after=`, a peek that changes no
//! message; and `DELETE /_cauda/queues/{account}/{name}/messages/{message-id}`, a message
//! deleted by its id (SQS has no action for these three). Signed like an SQS request whenever
//! signatures are checked.

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{operator_caller, request_region, url_base, AppState};
use crate::engine::peek::{PeekRequest, PeekedMessage, Phase, PEEK_LIMIT};
use crate::engine::{Engine, Queue};
use crate::error::{ErrorCode, SqsError, SqsResult};

/// The reserved path prefix.
pub const PREFIX: &str = "/_cauda/";

/// An admin request, authenticated: what to answer once the engine is read.
pub struct AdminRequest {
    method: http::Method,
    path: String,
    query: String,
    account: String,
    region: String,
    url_base: String,
    /// Signatures are checked: a caller sees its own account's queues only, as in SQS
    /// (another account's messages are not for it to read, whatever the queue's policy).
    own_account_only: bool,
}

/// Authenticates `req` as [`operator_caller`] does.
pub fn authenticate<B>(state: &AppState, req: &Request<B>) -> SqsResult<AdminRequest> {
    let caller = operator_caller(state, req)?;
    Ok(AdminRequest {
        method: req.method().clone(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or_default().to_string(),
        account: caller
            .and_then(|p| p.account_id)
            .unwrap_or_else(|| state.config.account_id.clone()),
        region: request_region(&state.config, req.uri(), req.headers())?,
        url_base: url_base(&state.config, req.headers()),
        own_account_only: state.verifier.checks_signatures(),
    })
}

#[derive(Default, Deserialize)]
struct Params {
    all: Option<String>,
    state: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// The JSON answer to an authenticated admin request.
pub async fn answer(state: &AppState, req: AdminRequest) -> SqsResult<Response<Full<Bytes>>> {
    let params: Params = serde_urlencoded::from_str(&req.query)
        .map_err(|e| SqsError::new(ErrorCode::InvalidParameterValue, e.to_string()))?;
    let rest = req.path.strip_prefix(PREFIX).unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').collect();
    let deleting = req.method == http::Method::DELETE;
    let body = match (deleting, segments.as_slice()) {
        (false, ["queues"]) => list_queues(state, &req, &params).await?,
        (false, ["queues", account, name, "messages"]) => {
            let q = own_queue(state, &req, account, name)?;
            peek(&state.engine, &q, &params).await?
        }
        (true, ["queues", account, name, "messages", message_id]) => {
            let q = own_queue(state, &req, account, name)?;
            let message_id = percent_decoded(message_id);
            if !state.engine.delete_message_by_id(&q, &message_id).await? {
                return Ok(not_found(&format!(
                    "queue {name} has no message {message_id}"
                )));
            }
            json!({ "deleted": message_id })
        }
        _ => return Ok(not_found("no such admin route")),
    };
    Ok(with_json_type(Response::new(Full::new(Bytes::from(
        body.to_string(),
    )))))
}

/// The queue `account`/`name` in the request's region, if the caller may see its messages.
fn own_queue(
    state: &AppState,
    req: &AdminRequest,
    account: &str,
    name: &str,
) -> SqsResult<std::sync::Arc<Queue>> {
    if req.own_account_only && account != req.account {
        return Err(SqsError::new(
            ErrorCode::AccessDenied,
            format!("Access to the messages of account {account} is denied."),
        ));
    }
    Ok(state.engine.queue(account, &req.region, name)?)
}

/// A path segment, percent-decoded (a message id is a UUID, but a client may encode it).
fn percent_decoded(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn not_found(error: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(
        json!({ "error": error }).to_string(),
    )));
    *r.status_mut() = StatusCode::NOT_FOUND;
    with_json_type(r)
}

fn with_json_type(mut r: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

async fn list_queues(state: &AppState, req: &AdminRequest, params: &Params) -> SqsResult<Value> {
    let all = flag(params.all.as_deref(), "all")?;
    let queues = if all {
        let mut queues = state.engine.all_queues();
        if req.own_account_only {
            queues.retain(|q| q.account == req.account);
        }
        queues
    } else {
        state.engine.list_queues(&req.account, &req.region, "")
    };
    let mut listed = Vec::with_capacity(queues.len());
    for q in queues {
        let Ok(stats) = state.engine.queue_stats(&q).await else {
            continue;
        };
        let redrive = state
            .engine
            .record_of(&q, |r| r.attributes.redrive_policy.clone());
        listed.push(json!({
            "account": q.account,
            "region": q.region,
            "name": q.name,
            "url": crate::api::queue_url(&req.url_base, state.config.queue_url_regional, &q),
            "arn": q.arn,
            "fifo": q.fifo,
            "visible": stats.counts.visible,
            "inflight": stats.counts.in_flight,
            "delayed": stats.counts.delayed,
            "oldest_sent_at": stats.oldest_sent_at,
            "sent": q.messages_sent(),
            "received": q.messages_received(),
            "dead_letter_target_arn": redrive.as_ref().map(|p| &p.dead_letter_target_arn),
            "max_receive_count": redrive.as_ref().map(|p| p.max_receive_count),
        }));
    }
    Ok(json!({ "queues": listed }))
}

fn flag(value: Option<&str>, name: &str) -> SqsResult<bool> {
    match value {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(SqsError::invalid_parameter(name, v, "true or false")),
    }
}

async fn peek(engine: &Engine, q: &Queue, params: &Params) -> SqsResult<Value> {
    let phase = match params.state.as_deref() {
        None | Some("all") => None,
        Some("visible") => Some(Phase::Visible),
        Some("inflight") => Some(Phase::InFlight),
        Some("delayed") => Some(Phase::Delayed),
        Some(v) => {
            return Err(SqsError::invalid_parameter(
                "state",
                v,
                "visible, inflight, delayed or all",
            ))
        }
    };
    let number = |name: &str, value: Option<&str>| -> SqsResult<Option<u64>> {
        value
            .map(|v| {
                v.parse()
                    .map_err(|_| SqsError::invalid_parameter(name, v, "a whole number"))
            })
            .transpose()
    };
    let limit = number("limit", params.limit.as_deref())?.unwrap_or(100);
    let req = PeekRequest {
        phase,
        after: number("after", params.after.as_deref())?,
        limit: usize::try_from(limit).unwrap_or(PEEK_LIMIT),
    };
    let peeked = engine.peek(q, req).await?;
    // Sequence numbers exceed 2^53, beyond what a JSON number keeps exact in JavaScript (and
    // jq): they travel as decimal strings.
    let next_after = peeked.last().map(|m| m.seq.to_string());
    let messages: Vec<Value> = peeked.iter().map(message_json).collect();
    Ok(json!({ "messages": messages, "next_after": next_after }))
}

fn message_json(m: &PeekedMessage) -> Value {
    let r = &m.record;
    let attributes: serde_json::Map<String, Value> = r
        .attributes
        .iter()
        .map(|(name, v)| {
            let mut value = json!({ "DataType": v.data_type });
            if let Some(s) = &v.string_value {
                value["StringValue"] = json!(s);
            }
            if let Some(b) = &v.binary_value {
                value["BinaryValue"] = json!(base64::engine::general_purpose::STANDARD.encode(b));
            }
            (name.clone(), value)
        })
        .collect();
    let phase = match m.phase {
        Phase::Visible => "visible",
        Phase::InFlight => "inflight",
        Phase::Delayed => "delayed",
    };
    json!({
        "seq": m.seq.to_string(),
        "message_id": r.message_id,
        "body": r.body,
        "message_attributes": attributes,
        "attributes": {
            "SenderId": r.sender_id,
            "SentTimestamp": r.sent_at,
            "ApproximateReceiveCount": m.state.receive_count,
            "ApproximateFirstReceiveTimestamp": m.state.first_receive_at,
            "MessageGroupId": r.group_id,
            "MessageDeduplicationId": r.dedup_id,
            "AWSTraceHeader": r.trace_header,
            "DeadLetterQueueSourceArn": r.dlq_source_arn,
        },
        "receive_count": m.state.receive_count,
        "sent_at": r.sent_at,
        "first_receive_at": m.state.first_receive_at,
        "visible_at": m.state.visible_at,
        "state": phase,
    })
}
