//! The test harness: a real cauda server on 127.0.0.1:0, the Rust SDK pointed at it, and a
//! raw SigV4-signed HTTP client for the Query protocol and for what SDKs will not send.

#![allow(dead_code, reason = "each test module uses part of the harness")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sdk_sqs::config::{BehaviorVersion, Region};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub const ACCESS_KEY: &str = "AKIDTEST";
pub const SECRET_KEY: &str = "testsecret";

pub struct TestServer {
    pub server: Option<cauda::RunningServer>,
    pub addr: std::net::SocketAddr,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    /// The data directory of a server the switch put on sled, removed when the server goes.
    _data: Option<tempfile::TempDir>,
    http: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

/// A response as the wire carried it.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Raw {
    /// Texts of every `<tag>` element of an XML body.
    pub fn xml_all(&self, tag: &str) -> Vec<String> {
        xml_all(&self.body, tag)
    }
    pub fn xml(&self, tag: &str) -> Option<String> {
        self.xml_all(tag).into_iter().next()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// Query error code, from `<Error><Code>`.
    pub fn query_code(&self) -> Option<String> {
        self.xml("Code")
    }
}

/// Texts of every `<tag>` element (unescaped), in document order.
pub fn xml_all(body: &str, tag: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    let mut out = Vec::new();
    let mut depth_in: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.name().as_ref() == tag.as_bytes() => {
                depth_in = Some(String::new());
            }
            Ok(Event::Text(t)) => {
                if let Some(buf) = depth_in.as_mut() {
                    buf.push_str(
                        &t.unescape()
                            .map(std::borrow::Cow::into_owned)
                            .unwrap_or_default(),
                    );
                }
            }
            Ok(Event::End(e)) if e.name().as_ref() == tag.as_bytes() => {
                if let Some(buf) = depth_in.take() {
                    out.push(buf);
                }
            }
            Ok(Event::Empty(e)) if e.name().as_ref() == tag.as_bytes() => out.push(String::new()),
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

/// The switch: which backend a test server uses unless its test names one (`--data-dir`,
/// `--in-memory` or `--backend`). `CAUDA_TEST_BACKEND=memory` (the default), `sled` (a
/// fresh temporary data directory per server) or `postgres` (a fresh database per server on
/// the cluster `CAUDA_TEST_DATABASE_URL` names).
pub fn test_backend() -> String {
    std::env::var("CAUDA_TEST_BACKEND").unwrap_or_else(|_| "memory".into())
}

/// A test server's configuration: `args` on an ephemeral port, on the switch's backend; and
/// the temporary data directory to keep while the server runs.
async fn server_config(args: &[&str]) -> (cauda::Config, Option<tempfile::TempDir>) {
    let mut argv: Vec<String> = vec!["cauda".into(), "--bind".into(), "127.0.0.1:0".into()];
    let chosen = ["--data-dir", "--in-memory", "--backend"];
    let mut data = None;
    if !args.iter().any(|a| chosen.contains(a)) {
        match test_backend().as_str() {
            "memory" => argv.extend(["--backend".into(), "memory".into()]),
            "sled" => {
                let dir = tempfile::tempdir().expect("a temporary data directory");
                let path = dir.path().to_string_lossy().into_owned();
                argv.extend(["--backend".into(), "sled".into(), "--data-dir".into(), path]);
                data = Some(dir);
            }
            "postgres" => {
                let url = fresh_postgres_database().await;
                argv.extend([
                    "--backend".into(),
                    "postgres".into(),
                    "--database-url".into(),
                    url,
                ]);
            }
            other => panic!("CAUDA_TEST_BACKEND={other}: expected memory, sled or postgres"),
        }
    }
    argv.extend(args.iter().map(std::string::ToString::to_string));
    (cauda::Config::parse_from(argv), data)
}

/// A new empty database on the cluster `CAUDA_TEST_DATABASE_URL` names; its URL.
pub async fn fresh_postgres_database() -> String {
    let url = std::env::var("CAUDA_TEST_DATABASE_URL")
        .expect("CAUDA_TEST_DATABASE_URL names the test cluster (`.ci/postgres start`)");
    let admin: tokio_postgres::Config = url.parse().expect("CAUDA_TEST_DATABASE_URL parses");
    let (client, conn) = admin
        .connect(tokio_postgres::NoTls)
        .await
        .expect("the test cluster answers");
    let conn = tokio::spawn(conn);
    let name = format!("cauda_it_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");
    drop(client);
    let _ = conn.await;
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A queue name unique within this test run.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}-{}-{n}", std::process::id())
}

impl TestServer {
    /// A server in memory with default settings.
    pub async fn start() -> TestServer {
        Self::start_with(&[]).await
    }

    /// A server with extra command-line flags (e.g. `["--auth", "strict"]`).
    pub async fn start_with(args: &[&str]) -> TestServer {
        let (config, data) = server_config(args).await;
        let server = cauda::start(config).await.expect("server starts");
        let addr = server.local_addr;
        TestServer {
            server: Some(server),
            addr,
            endpoint: format!("http://{addr}"),
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            _data: data,
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    /// The Rust SDK (JSON protocol), signing with the harness keys.
    pub fn sdk(&self) -> aws_sdk_sqs::Client {
        self.sdk_with(&self.access_key, &self.secret_key)
    }

    pub fn sdk_with(&self, access_key: &str, secret_key: &str) -> aws_sdk_sqs::Client {
        self.sdk_signing(access_key, secret_key, "us-east-1")
    }

    /// The Rust SDK signing for `region` with the harness keys.
    pub fn sdk_in(&self, region: &str) -> aws_sdk_sqs::Client {
        self.sdk_signing(&self.access_key, &self.secret_key, region)
    }

    fn sdk_signing(&self, access_key: &str, secret_key: &str, region: &str) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                access_key, secret_key, None, None, "tests",
            ))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/000000000000/{name}", self.endpoint)
    }

    /// Sends a request as given, signed with the harness keys unless `sign` is false.
    pub async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &str,
        signed: bool,
    ) -> Raw {
        self.send_as(
            method,
            path_and_query,
            headers,
            body,
            signed.then_some((self.access_key.as_str(), self.secret_key.as_str())),
        )
        .await
    }

    pub async fn send_as(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &str,
        keys: Option<(&str, &str)>,
    ) -> Raw {
        let uri = format!("{}{path_and_query}", self.endpoint);
        let mut req = http::Request::builder().method(method).uri(&uri);
        req = req.header("host", self.addr.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(body.to_string()).expect("request");
        if let Some((ak, sk)) = keys {
            sign_request(&mut req, ak, sk, "us-east-1", SystemTime::now());
        }
        let (parts, body) = req.into_parts();
        let req = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let resp = self.http.request(req).await.expect("server answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        Raw {
            status,
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        }
    }

    /// A signed Query-protocol POST to `/` with the given parameters (Action included).
    pub async fn query(&self, params: &[(&str, &str)]) -> Raw {
        self.query_at("/", params).await
    }

    /// A signed Query-protocol POST to `path` (e.g. a queue path).
    pub async fn query_at(&self, path: &str, params: &[(&str, &str)]) -> Raw {
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if !all.iter().any(|(k, _)| *k == "Version") {
            all.push(("Version", "2012-11-05"));
        }
        let body = serde_urlencoded::to_string(&all).expect("form");
        self.send(
            "POST",
            path,
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            &body,
            true,
        )
        .await
    }

    /// A signed JSON-protocol request with a raw body.
    pub async fn json(&self, operation: &str, body: &str) -> Raw {
        let target = format!("AmazonSQS.{operation}");
        self.send(
            "POST",
            "/",
            &[
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", &target),
            ],
            body,
            true,
        )
        .await
    }
}

/// Signs `req` in place with SigV4 header auth (service `sqs`).
pub fn sign_request(
    req: &mut http::Request<String>,
    access_key: &str,
    secret_key: &str,
    region: &str,
    time: SystemTime,
) {
    let identity = Credentials::new(access_key, secret_key, None, None, "tests").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sqs")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let uri = req.uri().to_string();
    let signable = SignableRequest::new(
        req.method().as_str(),
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(req.body().as_bytes()),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    instructions.apply_to_request_http1x(req);
}

impl TestServer {
    /// A client-side handle for a server that is already running elsewhere (e.g. a child
    /// process started by a test). `stop()` on it does nothing.
    pub fn connect(addr: std::net::SocketAddr) -> TestServer {
        TestServer {
            server: None,
            addr,
            endpoint: format!("http://{addr}"),
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            _data: None,
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

/// What a failed Rust-SDK call carried: the HTTP status, `code()` (the Rust SDK takes it from
/// `x-amzn-query-error`), the message and the typed service error.
pub struct SdkFailure<E> {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub err: E,
}

pub fn sdk_failure<E>(e: aws_sdk_sqs::error::SdkError<E>) -> SdkFailure<E>
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata
        + aws_smithy_runtime_api::client::result::CreateUnhandledError
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let status = e.raw_response().map_or(0, |r| r.status().as_u16());
    let err = e.into_service_error();
    SdkFailure {
        status,
        code: err.code().unwrap_or_default().to_string(),
        message: err.message().unwrap_or_default().to_string(),
        err,
    }
}

/// Asserts a Query-protocol error: status, `<ErrorResponse><Error><Type>Sender`, `<Code>`,
/// a `<RequestId>` and the `x-amzn-RequestId` header.
pub fn assert_query_error(r: &Raw, status: u16, code: &str) {
    assert_eq!(r.status, status, "status for {code}: {}", r.body);
    assert!(
        r.body.contains("<ErrorResponse"),
        "not an ErrorResponse: {}",
        r.body
    );
    assert_eq!(r.xml("Type").as_deref(), Some("Sender"), "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some(code), "{}", r.body);
    assert!(r.xml("Message").is_some(), "no Message: {}", r.body);
    assert!(
        r.xml("RequestId").is_some_and(|s| !s.is_empty()),
        "{}",
        r.body
    );
    assert!(
        r.header("x-amzn-requestid").is_some(),
        "no x-amzn-RequestId"
    );
}

/// Asserts a JSON-protocol error: status, `__type` `…#<shape>`, a `message`, and
/// `x-amzn-query-error: <code>;Sender`.
pub fn assert_json_error(r: &Raw, status: u16, code: &str, shape: &str) {
    assert_eq!(r.status, status, "status for {code}: {}", r.body);
    let body = r.json();
    let ty = body["__type"].as_str().unwrap_or_default();
    assert_eq!(ty.rsplit('#').next(), Some(shape), "__type: {}", r.body);
    assert!(
        body["message"].is_string() || body["Message"].is_string(),
        "no message: {}",
        r.body
    );
    assert_eq!(
        r.header("x-amzn-query-error").as_deref(),
        Some(format!("{code};Sender").as_str()),
        "{}",
        r.body
    );
    assert!(
        r.header("x-amzn-requestid").is_some(),
        "no x-amzn-RequestId"
    );
}

impl TestServer {
    /// A server in memory (plus `args`) whose engine reads `clock` instead of the system
    /// clock; returns the server and the clock handle, to move time without sleeping.
    ///
    /// The server verifies SigV4 dates against this clock while the harness's clients sign
    /// with real time: a test that moves the clock more than 15 minutes needs `--auth off`.
    pub async fn start_with_clock<C: cauda::clock::Clock>(
        args: &[&str],
        clock: std::sync::Arc<C>,
    ) -> (TestServer, std::sync::Arc<C>) {
        let (config, data) = server_config(args).await;
        let server = cauda::start_with_clock(config, clock.clone())
            .await
            .expect("server starts");
        let addr = server.local_addr;
        let s = TestServer {
            server: Some(server),
            addr,
            endpoint: format!("http://{addr}"),
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            _data: data,
            http: Client::builder(TokioExecutor::new()).build_http(),
        };
        (s, clock)
    }
}
