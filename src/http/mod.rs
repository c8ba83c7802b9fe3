//! The request pipeline: detect protocol → bounded body → authenticate → decode → dispatch →
//! encode. One log line per request. Errors at any step are answered in the client's protocol.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};

use crate::api::{self, Action, Context};
use crate::auth::{AuthErrorKind, Verifier};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::{ErrorCode, SqsError, SqsResult};
use crate::protocol::{self, query, Input, Protocol};

/// What every request needs: the engine, the verifier and the configuration.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub verifier: Verifier,
    pub config: Config,
}

/// Query parameters that belong to presigned-URL authentication, not to the action.
fn is_auth_param(name: &str) -> bool {
    name.starts_with("X-Amz-")
        || name == "AWSAccessKeyId"
        || name == "Signature"
        || name == "SignatureMethod"
        || name == "SignatureVersion"
}

impl From<crate::auth::AuthError> for SqsError {
    fn from(e: crate::auth::AuthError) -> Self {
        let code = match e.kind {
            AuthErrorKind::MissingAuthenticationToken => ErrorCode::MissingAuthenticationToken,
            AuthErrorKind::IncompleteSignature => ErrorCode::IncompleteSignature,
            AuthErrorKind::InvalidClientTokenId => ErrorCode::InvalidClientTokenId,
            AuthErrorKind::SignatureDoesNotMatch => ErrorCode::SignatureDoesNotMatch,
            AuthErrorKind::RequestExpired => ErrorCode::RequestExpired,
            AuthErrorKind::AccessDenied => ErrorCode::AccessDenied,
        };
        SqsError::new(code, e.message)
    }
}

struct Outcome {
    action: Option<Action>,
    queue: Option<String>,
    result: SqsResult<protocol::Encoded>,
}

/// Handles one HTTP request.
pub async fn handle<B>(state: Arc<AppState>, req: Request<B>) -> Response<Full<Bytes>>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    if req.method() == Method::GET && req.uri().path() == "/health" {
        return plain(StatusCode::OK, "ok");
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let protocol = protocol::detect(req.headers());
    let Outcome {
        action,
        queue,
        result,
    } = run(&state, protocol, req, &request_id).await;
    let (encoded, error) = match result {
        Ok(encoded) => (encoded, None),
        Err(e) if e.code == ErrorCode::InvalidAddress && e.message.is_empty() => {
            // GET on a queue URL without parameters: AWS answers 404 with an empty element.
            let encoded = protocol::Encoded {
                status: 404,
                content_type: "text/xml",
                headers: Vec::new(),
                body: b"<UnknownOperationException/>".to_vec(),
            };
            (encoded, Some(e))
        }
        Err(e) => (protocol::encode_error(protocol, &e, &request_id), Some(e)),
    };
    let action = action.map_or("-", Action::name);
    let queue = queue.as_deref().unwrap_or("-");
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match &error {
        Some(e) if e.code.http_status() >= 500 => {
            tracing::warn!(action, queue, status = encoded.status, latency_ms, error = %e, "request")
        }
        Some(e) => {
            tracing::info!(action, queue, status = encoded.status, latency_ms, error = %e, "request")
        }
        None => tracing::info!(
            action,
            queue,
            status = encoded.status,
            latency_ms,
            "request"
        ),
    }
    let mut builder = Response::builder()
        .status(encoded.status)
        .header(http::header::CONTENT_TYPE, encoded.content_type)
        .header("x-amzn-RequestId", &request_id);
    for (k, v) in encoded.headers {
        builder = builder.header(k, v);
    }
    builder
        .body(Full::new(Bytes::from(encoded.body)))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}

async fn run<B>(state: &AppState, protocol: Protocol, req: Request<B>, request_id: &str) -> Outcome
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut outcome = Outcome {
        action: None,
        queue: None,
        result: Err(SqsError::internal("Internal error.")),
    };
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, state.config.max_body_bytes)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            outcome.result = Err(SqsError::new(
                ErrorCode::RequestEntityTooLarge,
                format!(
                    "The request body could not be read or is larger than {} bytes: {e}",
                    state.config.max_body_bytes
                ),
            ));
            return outcome;
        }
    };
    let principal = match state.verifier.verify(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        state.engine.clock.now_system(),
    ) {
        Ok(p) => p,
        Err(e) => {
            outcome.result = Err(e.into());
            return outcome;
        }
    };
    let decoded = match protocol {
        Protocol::Json => decode_json(&parts.headers, body),
        Protocol::Query | Protocol::QueryJson => decode_query(&parts, &body),
    };
    let (action, input) = match decoded {
        Ok(d) => d,
        Err(e) => {
            outcome.result = Err(e);
            return outcome;
        }
    };
    outcome.action = Some(action);
    outcome.queue = input.queue_name();
    let account = principal
        .account_id
        .clone()
        .unwrap_or_else(|| state.config.account_id.clone());
    let ctx = Context {
        engine: state.engine.clone(),
        sender_id: principal
            .access_key
            .clone()
            .unwrap_or_else(|| account.clone()),
        account,
        url_base: url_base(&state.config, &parts.headers),
        trace_header: parts
            .headers
            .get("x-amzn-trace-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    outcome.result = api::dispatch(action, &ctx, &input, protocol, request_id).await;
    outcome
}

fn decode_json(headers: &http::HeaderMap, body: Bytes) -> SqsResult<(Action, Input)> {
    let (operation, input) = protocol::decode_json(headers, body)?;
    let action = Action::from_name(&operation).ok_or_else(|| {
        SqsError::new(
            ErrorCode::InvalidAction,
            format!("The action {operation} is not valid for this endpoint."),
        )
    })?;
    Ok((action, input))
}

fn decode_query(parts: &http::request::Parts, body: &[u8]) -> SqsResult<(Action, Input)> {
    let mut params = match parts.uri.query() {
        Some(q) => query::parse_params(q.as_bytes())?,
        None => Vec::new(),
    };
    params.retain(|(k, _)| !is_auth_param(k));
    if !body.is_empty() {
        params.extend(query::parse_params(body)?);
    }
    let path = parts.uri.path();
    let path_queue = (path != "/").then(|| api::queue_path(path)).flatten();
    let Some(action_name) = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
    else {
        if parts.method == Method::GET && params.is_empty() && path_queue.is_some() {
            return Err(SqsError::new(ErrorCode::InvalidAddress, ""));
        }
        return Err(SqsError::new(
            ErrorCode::MissingAction,
            "The request must contain the parameter Action.",
        ));
    };
    let action = Action::from_name(&action_name)
        .filter(|a| path_queue.is_none() || !api::is_account_level(*a))
        .ok_or_else(|| {
            SqsError::new(
                ErrorCode::InvalidAction,
                format!("The action {action_name} is not valid for this endpoint."),
            )
        })?;
    if path_queue.is_some() && !params.iter().any(|(k, _)| k == "QueueUrl") {
        params.push(("QueueUrl".to_string(), path.to_string()));
    }
    let input = query::to_json(&params, action.query_fields())?;
    Ok((action, Input::Value(input)))
}

/// `scheme://host[:port]` for queue URLs, per the configured host strategy.
fn url_base(config: &Config, headers: &http::HeaderMap) -> String {
    let (scheme, host) = match &config.queue_url_host {
        Some(h) => match h.split_once("://") {
            Some((scheme, host)) => (scheme.to_string(), host.trim_end_matches('/').to_string()),
            None => ("http".to_string(), h.trim_end_matches('/').to_string()),
        },
        None => {
            let host = headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| config.bind.to_string());
            ("http".to_string(), host)
        }
    };
    if config.queue_url_regional {
        format!("{scheme}://sqs.{}.{host}", config.region)
    } else {
        format!("{scheme}://{host}")
    }
}
