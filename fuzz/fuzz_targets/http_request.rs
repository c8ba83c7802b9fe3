//! The whole pipeline: bytes → HTTP/1.1 requests (parsed with `httparse`; several may follow
//! each other, each body as long as its `Content-Length`, the last one's the rest of the
//! input) → `cauda::http::handle` over a fresh in-memory server (auth `auto` without
//! credentials, the default) holding three queues (`q1` with `dlq` as its dead-letter queue,
//! and `f1.fifo`), a message in each and one message of `q1` received. Time is tokio's paused
//! clock, so a long poll or a delay completes at once and the state is the same for every
//! input (the receipt handle of that received message is fixed: the seeds use it).
//!
//! Asserted for every answer:
//! - no panic, in the request or in any task it started;
//! - no 5xx: with a memory store nothing can fail inside (`InternalFailure` is only a store's
//!   failure, `ServiceUnavailable` only a server still starting);
//! - well-formed in the request's protocol, decided here independently of the server: JSON
//!   1.0 (`X-Amz-Target` or an `application/x-amz-json` content type) gets a JSON object,
//!   errors with `__type` and `x-amzn-query-error`; Query gets XML that quick-xml reads to the
//!   end with one root (`<ActionResponse>`, `<ErrorResponse>` on errors) and only characters
//!   XML 1.0 allows, or, only when `Accept` names JSON, the JSON rendering of the same.
//!
//! `CAUDA_FUZZ_SHOW=1` prints every answer. The operator routes (`/health`, `/metrics`, `/`, `/_cauda/…`) are only held to the no-5xx
//! rule.
#![no_main]

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use cauda::auth::credentials::Credentials;
use cauda::auth::{AuthMode, Verifier};
use cauda::clock::TokioClock;
use cauda::engine::{Engine, EngineSettings};
use cauda::http::{handle, AppState};
use cauda::metrics::Metrics;
use cauda::store::MemoryStore;
use cauda::Config;
use http::{HeaderName, HeaderValue, Method, Request, Response, Version};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use quick_xml::events::Event;
use quick_xml::Reader;

/// 2026-11-28T00:00:00Z.
const NOW_MS: u64 = 1_795_824_000_000;
/// A well-formed signature, which `auto` mode without credentials accepts (the seeds carry it).
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";
/// [`NOW_MS`] as `X-Amz-Date`.
const AMZ_DATE: &str = "20261128T000000Z";
/// Most requests taken from one input.
const MAX_REQUESTS: usize = 8;
const MAX_HEADERS: usize = 64;

fn config() -> Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(Config::for_tests).clone()
}

/// `CAUDA_FUZZ_SHOW=1`: print every answer (to see what a seed or a crash does).
fn show() -> bool {
    static SHOW: OnceLock<bool> = OnceLock::new();
    *SHOW.get_or_init(|| std::env::var_os("CAUDA_FUZZ_SHOW").is_some())
}

/// The queues and messages every input starts from, made through the pipeline itself.
const SETUP: &[(&str, &str)] = &[
    ("CreateQueue", r#"{"QueueName":"dlq"}"#),
    (
        "CreateQueue",
        r#"{"QueueName":"q1","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\",\"maxReceiveCount\":\"2\"}"}}"#,
    ),
    (
        "CreateQueue",
        r#"{"QueueName":"f1.fifo","Attributes":{"FifoQueue":"true","ContentBasedDeduplication":"true"}}"#,
    ),
    (
        "SendMessage",
        r#"{"QueueUrl":"http://localhost:9324/000000000000/q1","MessageBody":"first","MessageAttributes":{"a":{"DataType":"String","StringValue":"x"}}}"#,
    ),
    (
        "SendMessage",
        r#"{"QueueUrl":"http://localhost:9324/000000000000/q1","MessageBody":"second"}"#,
    ),
    (
        "SendMessage",
        r#"{"QueueUrl":"http://localhost:9324/000000000000/f1.fifo","MessageBody":"fifo","MessageGroupId":"g"}"#,
    ),
    (
        "SendMessage",
        r#"{"QueueUrl":"http://localhost:9324/000000000000/dlq","MessageBody":"dead"}"#,
    ),
    (
        "ReceiveMessage",
        r#"{"QueueUrl":"http://localhost:9324/000000000000/q1","MaxNumberOfMessages":1,"VisibilityTimeout":300}"#,
    ),
];

async fn state() -> Arc<AppState> {
    let clock = Arc::new(TokioClock::new(NOW_MS));
    let engine = Engine::open(
        Arc::new(MemoryStore::new()),
        clock,
        EngineSettings::default(),
    )
    .expect("a memory store opens");
    engine.start();
    let state = Arc::new(AppState {
        engine,
        verifier: Verifier::new(AuthMode::Auto, Credentials::default()),
        config: config(),
        metrics: Metrics::new(),
    });
    for (action, body) in SETUP {
        let req = Request::post("/")
            .header("host", "localhost:9324")
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .header("x-amz-date", AMZ_DATE)
            .header("authorization", AUTHORIZATION)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("a setup request");
        let response = handle(state.clone(), req).await;
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "setup {action}: {body}");
        if show() {
            eprintln!("{action}: {body}");
        }
    }
    state
}

/// One request of the input and the rest; `None` when the bytes are not a request.
fn next_request(data: &[u8]) -> Option<(Request<Full<Bytes>>, &[u8])> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head) = parsed.parse(data).ok()? else {
        return None;
    };
    let rest = &data[head..];
    let mut builder = Request::builder()
        .method(Method::from_bytes(parsed.method?.as_bytes()).ok()?)
        .uri(parsed.path?)
        .version(if parsed.version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        });
    let mut length = None;
    for h in parsed.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(h.value).ok()?;
        if name == http::header::CONTENT_LENGTH {
            length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
        }
        builder = builder.header(name, value);
    }
    let (body, rest) = rest.split_at(length.unwrap_or(rest.len()).min(rest.len()));
    let req = builder.body(Full::new(Bytes::copy_from_slice(body))).ok()?;
    Some((req, rest))
}

/// What the request asks for, decided from its headers alone.
enum Expect {
    Operator,
    Json,
    /// Query; `true` when its `Accept` names JSON (then the JSON rendering may come back).
    Query(bool),
}

fn expected<B>(req: &Request<B>) -> Expect {
    let path = req.uri().path();
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    if get
        && (path == "/health" || path == "/metrics" || path == "/" || path.starts_with("/_cauda/"))
    {
        return Expect::Operator;
    }
    // The server's own detection, from the headers alone: the oracle checks that the answer
    // is well formed in the protocol chosen, not the choice.
    match cauda::protocol::detect(req.headers()) {
        cauda::protocol::Protocol::Json => Expect::Json,
        cauda::protocol::Protocol::QueryJson => Expect::Query(true),
        cauda::protocol::Protocol::Query => Expect::Query(false),
    }
}

/// A character XML 1.0 allows in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// The root element's name of a well-formed XML document.
fn xml_root(body: &[u8]) -> String {
    let text = std::str::from_utf8(body).expect("XML is UTF-8");
    if let Some(bad) = text.chars().find(|&c| !xml_char(c)) {
        panic!("{bad:?} is not allowed in XML 1.0: {text}");
    }
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    let mut roots = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if depth == 0 {
                    roots.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                }
                depth += 1;
            }
            Ok(Event::Empty(e)) => {
                if depth == 0 {
                    roots.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                }
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Text(t)) => {
                let t = t.unescape().unwrap_or_else(|e| panic!("{e}: {text}"));
                assert!(
                    depth > 0 || t.trim().is_empty(),
                    "text outside the root: {text}"
                );
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML ({e}): {text}"),
        }
    }
    assert_eq!(depth, 0, "unclosed elements: {text}");
    assert_eq!(roots.len(), 1, "one root: {text}");
    roots.remove(0)
}

fn json_object(body: &[u8]) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(o)) => o,
        other => panic!(
            "not a JSON object ({other:?}): {}",
            String::from_utf8_lossy(body)
        ),
    }
}

async fn check(expect: Expect, response: Response<Full<Bytes>>) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let query_error = response.headers().contains_key("x-amzn-query-error");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    if show() {
        eprintln!("{status}: {}", String::from_utf8_lossy(&body));
    }
    assert!(
        status < 500,
        "status {status}: {}",
        String::from_utf8_lossy(&body)
    );
    let ok = status == 200;
    match expect {
        Expect::Operator => {}
        Expect::Json => {
            assert_eq!(content_type, "application/x-amz-json-1.0");
            let o = json_object(&body);
            if !ok {
                let ty = o.get("__type").and_then(|t| t.as_str()).unwrap_or("");
                assert!(ty.starts_with("com.amazonaws.sqs#"), "{o:?}");
                assert!(query_error);
            }
        }
        Expect::Query(accept_json) if content_type == "text/xml" => {
            let root = xml_root(&body);
            if ok {
                assert!(
                    root.ends_with("Response") && root != "ErrorResponse",
                    "{root}"
                );
            } else {
                assert!(
                    root == "ErrorResponse"
                        || (status == 404 && root == "UnknownOperationException"),
                    "{status} {root}"
                );
            }
            let _ = accept_json;
        }
        Expect::Query(accept_json) => {
            assert!(accept_json, "a Query request got {content_type}");
            let o = json_object(&body);
            if !ok {
                assert!(
                    o.get("Error").and_then(|e| e.get("Code")).is_some(),
                    "{o:?}"
                );
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

fuzz_target!(|data: &[u8]| {
    let rt = runtime();
    rt.block_on(async {
        let state = state().await;
        let mut rest = data;
        for _ in 0..MAX_REQUESTS {
            let Some((req, tail)) = next_request(rest) else {
                break;
            };
            rest = tail;
            let expect = expected(&req);
            let response = handle(state.clone(), req).await;
            check(expect, response).await;
        }
        state.engine.shutdown();
    });
});
