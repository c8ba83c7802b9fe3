//! The request pipeline: detect protocol → bounded body → authenticate → decode → dispatch →
//! encode. One log line per request. Errors at any step are answered in the client's protocol.

mod admin;
mod console;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};

use crate::api::{self, Action, Context};
use crate::auth::Verifier;
use crate::config::{is_region_name, Config};
use crate::engine::Engine;
use crate::error::{ErrorCode, SqsError, SqsResult};
use crate::limits::{self, Limit};
use crate::metrics::{self, Metrics};
use crate::protocol::{self, Input, Protocol};

/// What every request needs: the engine, the verifier, the configuration and the metrics.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub verifier: Verifier,
    pub config: Config,
    pub metrics: Metrics,
}

/// What the request's log line names, as far as decoding got.
#[derive(Default)]
struct Named {
    action: Option<Action>,
    queue: Option<String>,
}

/// Handles one HTTP request.
pub async fn handle<B>(state: Arc<AppState>, req: Request<B>) -> Response<Full<Bytes>>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    #[allow(
        clippy::disallowed_methods,
        reason = "the request's own latency, for its log line and metrics: wall time, not queue time"
    )]
    let started = Instant::now();
    match operator_route(&state, &req) {
        Some(Operator::Answer(response)) => return response,
        Some(Operator::Metrics) => return metrics_response(&state).await,
        Some(Operator::Admin(admin)) => {
            return admin::answer(&state, admin)
                .await
                .unwrap_or_else(|e| error_response(&req, &e))
        }
        None => {}
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let protocol = protocol::detect(req.headers());
    let mut named = Named::default();
    let result = run(&state, protocol, req, &request_id, &mut named).await;
    let (encoded, error) = match result {
        Ok(encoded) => (encoded, None),
        Err(e) => (protocol::encode_error(protocol, &e, &request_id), Some(e)),
    };
    let action = named.action.map_or("-", Action::name);
    let queue = named.queue.as_deref().unwrap_or("-");
    let elapsed = started.elapsed();
    state
        .metrics
        .observe_request(action, encoded.status, elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    match &error {
        Some(e) if e.code.http_status() >= 500 => {
            tracing::warn!(action, queue, status = encoded.status, latency_ms, error = %e, "request");
        }
        Some(e) => {
            tracing::info!(action, queue, status = encoded.status, latency_ms, error = %e, "request");
        }
        None => tracing::info!(
            action,
            queue,
            status = encoded.status,
            latency_ms,
            "request"
        ),
    }
    let mut response = response(encoded, &request_id);
    if error.is_some_and(|e| e.code == ErrorCode::RequestTimeout) {
        // The rest of a body that came too slowly is not waited for.
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// `X-Amzn-Trace-Id`, the default `AWSTraceHeader` of the messages a request sends.
static TRACE_ID: http::HeaderName = http::HeaderName::from_static("x-amzn-trace-id");

/// `x-amzn-RequestId`, the request id every SQS answer carries (HTTP/1 writes names as given).
static REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-amzn-requestid");

/// The HTTP response of an encoded answer. Its fixed parts (status, content type, the request
/// id's name) are built without parsing them from text.
fn response(encoded: protocol::Encoded, request_id: &str) -> Response<Full<Bytes>> {
    let build = || -> Result<Response<Full<Bytes>>, http::Error> {
        let mut r = Response::new(Full::new(Bytes::from(encoded.body)));
        *r.status_mut() = StatusCode::from_u16(encoded.status)?;
        let headers = r.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(encoded.content_type),
        );
        headers.insert(REQUEST_ID.clone(), http::HeaderValue::from_str(request_id)?);
        for (k, v) in encoded.headers {
            headers.append(
                http::HeaderName::from_bytes(k.as_bytes())?,
                http::HeaderValue::try_from(v)?,
            );
        }
        Ok(r)
    };
    build().unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

/// `error` answered in the protocol of `req`, outside the SQS pipeline.
fn error_response<B>(req: &Request<B>, error: &SqsError) -> Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let encoded = protocol::encode_error(protocol::detect(req.headers()), error, &request_id);
    response(encoded, &request_id)
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}

/// What a browser gets at `/`.
const HOME_PAGE: &str = "<!doctype html><meta charset=utf-8><title>cauda</title>\
<h1>cauda</h1><p>An SQS-compatible queue server: point an AWS SDK or the AWS CLI at this URL as \
its SQS endpoint. <a href=/health>/health</a> answers 200 when the server is up; \
<a href=/metrics>/metrics</a> has its Prometheus metrics; the <a href=/_cauda/console>web \
console</a> shows the queues and their messages; <code>cauda --help</code> and the README that \
comes with cauda tell the rest.</p>";

/// An operator route's answer: at once, or one to read from the engine first.
enum Operator {
    Answer(Response<Full<Bytes>>),
    /// `/metrics`, its signature (if asked for) verified.
    Metrics,
    /// `/_cauda/…`, authenticated.
    Admin(admin::AdminRequest),
}

/// The routes that answer without an SQS request, for people and probes: `GET`/`HEAD` of
/// `/health`, of `/metrics` (signed with a configured credential when `--metrics-auth` is
/// set), of the web console (`/_cauda/console`, unsigned), `GET` and `DELETE` of the admin API
/// under `/_cauda/` and, unsigned and without parameters, `GET` of `/` (a short page).
/// `None`: an SQS request.
fn operator_route<B>(state: &AppState, req: &Request<B>) -> Option<Operator> {
    let admin_delete =
        req.method() == Method::DELETE && req.uri().path().starts_with(admin::PREFIX);
    if req.method() != Method::GET && req.method() != Method::HEAD && !admin_delete {
        return None;
    }
    if let Some(page) = console::route(state, req) {
        return Some(Operator::Answer(page));
    }
    if req.uri().path().starts_with(admin::PREFIX) {
        return Some(match admin::authenticate(state, req) {
            Ok(admin) => Operator::Admin(admin),
            Err(e) => Operator::Answer(error_response(req, &e)),
        });
    }
    let answer = match req.uri().path() {
        "/health" => match state.engine.unavailable() {
            None => plain(StatusCode::OK, "ok"),
            Some(why) => plain(StatusCode::SERVICE_UNAVAILABLE, why),
        },
        "/metrics" => match metrics_refusal(state, req) {
            Some(refused) => refused,
            None => return Some(Operator::Metrics),
        },
        "/" if req.uri().query().is_none()
            && !req.headers().contains_key(http::header::AUTHORIZATION) =>
        {
            let mut r = plain(StatusCode::OK, HOME_PAGE);
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        _ => return None,
    };
    Some(Operator::Answer(answer))
}

/// The answer to any request while the server starts (store recovery, declared queues): 503,
/// `/health` included, and an SQS request gets `ServiceUnavailable` in its own protocol.
pub fn not_ready<B>(req: &Request<B>) -> Response<Full<Bytes>> {
    if req.uri().path() == "/health" {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "starting");
    }
    let error = SqsError::new(
        ErrorCode::ServiceUnavailable,
        "cauda is starting: the store is being recovered.",
    );
    error_response(req, &error)
}

/// Who calls a route for operators (`/_cauda/`, and `/metrics` with `--metrics-auth`):
/// nobody needs to sign unless signatures are checked (strict, or auto with credentials);
/// then the request must carry a valid signature of a configured credential.
pub(crate) fn operator_caller<B>(
    state: &AppState,
    req: &Request<B>,
) -> SqsResult<Option<crate::auth::Principal>> {
    if !state.verifier.checks_signatures() {
        return Ok(None);
    }
    let principal = state.verifier.verify(
        req.method(),
        req.uri(),
        req.headers(),
        &Bytes::new(),
        state.engine.clock.now_system(),
    )?;
    Ok(Some(principal))
}

/// The refusal of an unsigned `/metrics` when `--metrics-auth` asks for a signature.
fn metrics_refusal<B>(state: &AppState, req: &Request<B>) -> Option<Response<Full<Bytes>>> {
    if !state.config.metrics_auth {
        return None;
    }
    operator_caller(state, req)
        .err()
        .map(|e| error_response(req, &e))
}

async fn metrics_response(state: &AppState) -> Response<Full<Bytes>> {
    // No per-queue samples while the database does not answer: each would fail (and log so).
    let queues = match state.engine.unavailable() {
        None => metrics::queue_samples(&state.engine).await,
        Some(_) => Vec::new(),
    };
    let store = state.engine.store_stats();
    let mut r = Response::new(Full::new(Bytes::from(
        state.metrics.render(&queues, &store),
    )));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    r
}

/// Reads, authenticates, decodes and dispatches one request; `named` gets the action and the
/// queue once they are decoded.
async fn run<B>(
    state: &AppState,
    protocol: Protocol,
    req: Request<B>,
    request_id: &str,
    named: &mut Named,
) -> SqsResult<protocol::Encoded>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = req.into_parts();
    let body = read_body(state, body).await?;
    let (principal, scope_region) = state.verifier.verify_scoped(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        state.engine.clock.now_system(),
    )?;
    let scope_region =
        scope_region.or_else(|| crate::auth::sigv4::scope_region(&parts.uri, &parts.headers));
    let region = region_of(&state.config, scope_region, &parts.headers)?;
    let (action, input) = decode(protocol, &parts, body)?;
    named.action = Some(action);
    named.queue = input.queue_name();
    if let Some(why) = state.engine.unavailable() {
        return Err(SqsError::internal(format!(
            "Internal error: {why}; try again later."
        )));
    }
    let ctx = context(state, &parts, action, &principal, region);
    api::dispatch(action, &ctx, &input, protocol, request_id).await
}

/// The body, up to the configured size (`--max-body-bytes`), within the configured time
/// (`--body-read-timeout-secs`).
async fn read_body<B>(state: &AppState, body: B) -> SqsResult<Bytes>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let max = state.config.max_body_bytes;
    let too_large = || {
        limits::hit(
            Limit::BodySize,
            &format!("a request body over {max} bytes got RequestEntityTooLarge"),
        );
        SqsError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("The request body is larger than {max} bytes."),
        )
    };
    // A Content-Length over the limit is refused before any of the body is read.
    if body.size_hint().lower() > max as u64 {
        return Err(too_large());
    }
    let collect = Limited::new(body, max).collect();
    let collected = match state.config.body_read_timeout_secs {
        0 => collect.await,
        secs => match tokio::time::timeout(std::time::Duration::from_secs(secs), collect).await {
            Ok(collected) => collected,
            Err(_) => {
                limits::hit(
                    Limit::BodyReadTimeout,
                    "a client too slow to send a request body got RequestTimeout",
                );
                return Err(SqsError::new(
                    ErrorCode::RequestTimeout,
                    format!("The request body did not arrive within {secs} seconds."),
                ));
            }
        },
    };
    match collected {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        // Cut short or badly chunked by the client.
        Err(e) => Err(SqsError::new(
            ErrorCode::InvalidParameterValue,
            format!("The request body could not be read: {e}"),
        )),
    }
}

/// The action and its input, decoded by the request's protocol. On a queue URL's path, the
/// actions that name no queue are not valid.
fn decode(
    protocol: Protocol,
    parts: &http::request::Parts,
    body: Bytes,
) -> SqsResult<(Action, Input)> {
    let decoded = match protocol {
        Protocol::Json => protocol::decode_json(&parts.headers, body)?,
        Protocol::Query | Protocol::QueryJson => {
            protocol::decode_query(&parts.method, &parts.uri, &body)?
        }
    };
    let operation = decoded.operation;
    let action = Action::from_name(&operation)
        .filter(|a| !decoded.on_queue_path || !api::is_account_level(*a))
        .ok_or_else(|| {
            SqsError::new(
                ErrorCode::InvalidAction,
                format!("The action {operation} is not valid for this endpoint."),
            )
        })?;
    Ok((action, decoded.input))
}

/// What the action knows of its caller and of how it was reached.
fn context(
    state: &AppState,
    parts: &http::request::Parts,
    action: Action,
    principal: &crate::auth::Principal,
    region: String,
) -> Context {
    let account = principal
        .account_id
        .clone()
        .unwrap_or_else(|| state.config.account_id.clone());
    Context {
        engine: state.engine.clone(),
        action,
        enforce_policies: state.verifier.checks_signatures(),
        sender_id: principal
            .access_key
            .clone()
            .unwrap_or_else(|| account.clone()),
        account,
        region,
        url_base: url_base(&state.config, &parts.headers),
        regional_urls: state.config.queue_url_regional,
        auto_create: state.config.auto_create,
        trace_header: parts
            .headers
            .get(&TRACE_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// The region a request addresses: its credential scope's (signed or not, in every auth mode);
/// for an unsigned request, the region its `Host` names (`sqs.<region>.…`) when queue URLs are
/// regional; else the configured one. A scope naming no valid region is refused, as AWS does.
fn request_region(
    config: &Config,
    uri: &http::Uri,
    headers: &http::HeaderMap,
) -> SqsResult<String> {
    region_of(
        config,
        crate::auth::sigv4::scope_region(uri, headers),
        headers,
    )
}

/// [`request_region`], given the region of the request's credential scope.
fn region_of(
    config: &Config,
    scope_region: Option<String>,
    headers: &http::HeaderMap,
) -> SqsResult<String> {
    if let Some(region) = scope_region {
        if !is_region_name(&region) {
            return Err(SqsError::new(
                ErrorCode::SignatureDoesNotMatch,
                format!(
                    "Credential should be scoped to a valid region, not '{}'.",
                    region.escape_default()
                ),
            ));
        }
        return Ok(region);
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok());
    Ok(host
        .filter(|_| config.queue_url_regional)
        .and_then(host_region)
        .unwrap_or_else(|| config.region.clone()))
}

/// The region of a regional host `sqs.<region>.<rest>` (`rest` may carry a port).
fn host_region(host: &str) -> Option<String> {
    // Most hosts are not regional: answered before the lower-cased copy.
    if !host
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("sqs."))
    {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let (region, rest) = host.strip_prefix("sqs.")?.split_once('.')?;
    (!rest.is_empty() && is_region_name(region)).then(|| region.to_string())
}

/// `scheme://host[:port]` for queue URLs, per the configured host strategy. With regional
/// URLs the request's host loses its own `sqs.<region>.` (the client followed such a URL), so
/// [`Context::queue_url`] can put the queue's region there.
fn url_base(config: &Config, headers: &http::HeaderMap) -> String {
    let (scheme, host): (&str, std::borrow::Cow<'_, str>) = match &config.queue_url_host {
        Some(h) => match h.split_once("://") {
            Some((scheme, host)) => (scheme, host.trim_end_matches('/').into()),
            None => ("http", h.trim_end_matches('/').into()),
        },
        None => {
            let host = headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .filter(|h| !h.is_empty())
                .map_or_else(
                    || config.bind.to_string().into(),
                    |h| match host_region(h) {
                        Some(region) if config.queue_url_regional => {
                            h["sqs.".len() + region.len() + 1..].into()
                        }
                        _ => h.into(),
                    },
                );
            ("http", host)
        }
    };
    let mut base = String::with_capacity(scheme.len() + 3 + host.len());
    base.push_str(scheme);
    base.push_str("://");
    base.push_str(&host);
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(regional: bool) -> Config {
        let mut c = Config::parse_from(["cauda", "--region", "ap-south-1"]);
        c.queue_url_regional = regional;
        c
    }

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                )
            })
            .collect()
    }

    const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=AKID/20261128/eu-west-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    #[test]
    fn regional_hosts() {
        assert_eq!(
            host_region("sqs.eu-west-1.localhost:9324").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            host_region("SQS.US-EAST-2.example.com").as_deref(),
            Some("us-east-2")
        );
        assert_eq!(
            host_region("sqs.us-east-1.amazonaws.com").as_deref(),
            Some("us-east-1")
        );
        for plain in [
            "localhost:9324",
            "127.0.0.1:9324",
            "sqs.localhost:9324",
            "sqs.eu-west-1.",
            "sqs..localhost",
            "sqs.eu_west_1.localhost",
            "queue.amazonaws.com",
        ] {
            assert_eq!(host_region(plain), None, "{plain}");
        }
    }

    #[test]
    fn the_scope_names_the_region_then_a_regional_host_then_the_configuration() {
        let uri: http::Uri = "/".parse().unwrap();
        let regional_host = ("host", "sqs.us-west-2.localhost:9324");
        let region = |regional: bool, h: &[(&str, &str)]| {
            request_region(&config(regional), &uri, &headers(h)).unwrap()
        };
        // Signed: the scope, whatever the host says.
        assert_eq!(
            region(true, &[("authorization", SIGNED), regional_host]),
            "eu-west-1"
        );
        assert_eq!(region(false, &[("authorization", SIGNED)]), "eu-west-1");
        // Unsigned: the host, only with regional URLs.
        assert_eq!(region(true, &[regional_host]), "us-west-2");
        assert_eq!(region(false, &[regional_host]), "ap-south-1");
        assert_eq!(region(true, &[("host", "localhost:9324")]), "ap-south-1");
        assert_eq!(region(true, &[]), "ap-south-1");
        // Presigned.
        let presigned: http::Uri =
            "/?X-Amz-Credential=AKID%2F20261128%2Fca-central-1%2Fsqs%2Faws4_request"
                .parse()
                .unwrap();
        assert_eq!(
            request_region(&config(true), &presigned, &headers(&[regional_host])).unwrap(),
            "ca-central-1"
        );
        // A scope naming no region is refused.
        let bad = SIGNED.replace("eu-west-1", "EU:WEST");
        let err =
            request_region(&config(false), &uri, &headers(&[("authorization", &bad)])).unwrap_err();
        assert_eq!(err.code, ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn regional_urls_drop_the_region_the_request_host_carried() {
        let h = headers(&[("host", "sqs.eu-west-1.localhost:9324")]);
        assert_eq!(url_base(&config(true), &h), "http://localhost:9324");
        assert_eq!(
            url_base(&config(false), &h),
            "http://sqs.eu-west-1.localhost:9324"
        );
        let h = headers(&[("host", "localhost:9324")]);
        assert_eq!(url_base(&config(true), &h), "http://localhost:9324");
    }
}
