//! Verifier tests: AWS SigV4 test-suite known answers, per-SDK request fixtures, round trips
//! through `aws_sigv4::http_request::sign` (an independent signer), tampering, clocks and modes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use sha2::{Digest, Sha256};

use super::credentials::{Credentials, Secret};
use super::sigv4::parse_amz_date;
use super::*;

const AKID: &str = "AKIDCAUDAEXAMPLE0001";
const SECRET: &str = "cauda/Secret+Key0000000000000000000EXAMPLE";
const ACCOUNT: &str = "123456789012";
const OTHER_AKID: &str = "AKIDCAUDAEXAMPLE0002";
const OTHER_SECRET: &str = "another-secret-key";
const HOST: &str = "localhost:9324";
const SIGNED_AT: &str = "20240501T120000Z";

// ---- helpers -------------------------------------------------------------------------------

/// A request as the server's HTTP layer sees it: origin-form URI, raw headers and body.
#[derive(Clone, Debug)]
struct Req {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Req {
    fn set_header(&mut self, name: &str, value: &str) {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }

    fn authorization(&self) -> &str {
        self.header("authorization")
    }

    /// Rewrites the Authorization header with `f`.
    fn edit_authorization(&mut self, f: impl Fn(&str) -> String) {
        let new = f(self.authorization());
        self.set_header("authorization", &new);
    }

    fn set_uri(&mut self, uri: &str) {
        self.uri = uri.parse().unwrap();
    }

    fn uri_string(&self) -> String {
        self.uri.to_string()
    }
}

fn at(amz_date: &str) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(parse_amz_date(amz_date).unwrap())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How `aws_sigv4` should sign.
#[derive(Clone, Copy)]
struct Signer<'a> {
    access_key: &'a str,
    secret: &'a str,
    token: Option<&'a str>,
    region: &'a str,
    service: &'a str,
    time: SystemTime,
    /// `Some(expires)` → presigned URL.
    presign: Option<u64>,
}

impl Default for Signer<'_> {
    fn default() -> Self {
        Signer {
            access_key: AKID,
            secret: SECRET,
            token: None,
            region: "us-east-1",
            service: "sqs",
            time: at(SIGNED_AT),
            presign: None,
        }
    }
}

/// Signs with the aws-sigv4 crate. `signed` headers are given to the signer (which adds
/// `x-amz-date`, the session token and the Authorization header); `unsigned` ones are added to
/// the request afterwards, as SDKs do with `user-agent` and friends.
fn sign_with(
    s: Signer<'_>,
    method: &str,
    host: &str,
    target: &str,
    signed: &[(&str, &str)],
    unsigned: &[(&str, &str)],
    body: &[u8],
) -> Req {
    let url = format!("http://{host}{target}");
    let identity: Identity = aws_credential_types::Credentials::new(
        s.access_key,
        s.secret,
        s.token.map(str::to_string),
        None,
        "cauda-tests",
    )
    .into();
    let mut settings = SigningSettings::default();
    if let Some(expires) = s.presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(s.region)
        .name(s.service)
        .time(s.time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let mut to_sign = vec![("host", host)];
    to_sign.extend_from_slice(signed);
    let signable = SignableRequest::new(
        method,
        url.clone(),
        to_sign.iter().copied(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();

    let mut builder = http::Request::builder().method(method).uri(&url);
    for (k, v) in to_sign.iter().chain(unsigned) {
        builder = builder.header(*k, *v);
    }
    let mut request = builder.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut request);
    let (parts, ()) = request.into_parts();
    Req {
        method: parts.method,
        uri: parts
            .uri
            .path_and_query()
            .unwrap()
            .as_str()
            .parse()
            .unwrap(),
        headers: parts.headers,
        body: body.to_vec(),
    }
}

fn credentials() -> Credentials {
    Credentials::from_specs([
        format!("{AKID}:{SECRET}:{ACCOUNT}"),
        format!("{OTHER_AKID}:{OTHER_SECRET}"),
    ])
    .unwrap()
}

fn strict() -> Verifier {
    Verifier::new(AuthMode::Strict, credentials())
}

fn auto_open() -> Verifier {
    Verifier::new(AuthMode::Auto, Credentials::default())
}

fn run(v: &Verifier, r: &Req, now: SystemTime) -> Result<Principal, AuthError> {
    v.verify(&r.method, &r.uri, &r.headers, &r.body, now)
}

fn ok_now(v: &Verifier, r: &Req) -> Principal {
    run(v, r, at(SIGNED_AT)).unwrap_or_else(|e| panic!("{e}\n{r:?}"))
}

fn err_now(v: &Verifier, r: &Req) -> AuthError {
    match run(v, r, at(SIGNED_AT)) {
        Ok(p) => panic!("accepted as {p:?}: {r:?}"),
        Err(e) => e,
    }
}

fn assert_code(v: &Verifier, r: &Req, code: ErrorCode) -> AuthError {
    let e = err_now(v, r);
    assert_eq!(e.code, code, "{e}");
    e
}

fn me() -> Principal {
    Principal {
        access_key: Some(AKID.to_string()),
        account_id: Some(ACCOUNT.to_string()),
    }
}

fn me_unverified() -> Principal {
    Principal {
        access_key: Some(AKID.to_string()),
        account_id: None,
    }
}

const JSON_BODY: &str =
    r#"{"QueueUrl": "http://localhost:9324/000000000000/q1", "MessageBody": "hello"}"#;

/// A botocore JSON SendMessage (the common case), signed by aws-sigv4.
fn json_send() -> Req {
    sign_with(
        Signer::default(),
        "POST",
        HOST,
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AmazonSQS.SendMessage"),
            ("x-amzn-query-mode", "true"),
        ],
        &[
            ("user-agent", "Boto3/1.38.0 md/Botocore#1.38.0"),
            ("content-length", "77"),
        ],
        JSON_BODY.as_bytes(),
    )
}

/// A botocore-style presigned Query GET.
fn presigned_get(expires: u64) -> Req {
    sign_with(
        Signer {
            presign: Some(expires),
            ..Signer::default()
        },
        "GET",
        HOST,
        "/?Action=ReceiveMessage&QueueUrl=http%3A%2F%2Flocalhost%3A9324%2F000000000000%2Fq1&Version=2012-11-05",
        &[],
        &[],
        b"",
    )
}

// ---- AWS SigV4 test suite: known answers ---------------------------------------------------

/// The AWS SigV4 test suite's credentials and clock (`aws-sig-v4-test-suite`, shipped with the
/// aws-sigv4 crate as `aws-signing-test-suite/v4`); it signs for service `service`.
fn suite_verifier() -> Verifier {
    let mut creds = Credentials::default();
    creds.insert(
        "AKIDEXAMPLE".into(),
        Secret {
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            account_id: None,
        },
    );
    let mut v = Verifier::new(AuthMode::Strict, creds);
    v.service = "service";
    v
}

fn suite_request(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Req {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    Req {
        method: method.parse().unwrap(),
        uri: target.parse().unwrap(),
        headers: map,
        body: body.as_bytes().to_vec(),
    }
}

fn suite_auth(signed_headers: &str, signature: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={signed_headers}, Signature={signature}")
}

const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

/// The header-signed cases of the suite: (name, method, target, extra headers, body,
/// signed headers, signature).
fn suite_header_cases() -> Vec<(&'static str, Req)> {
    let host = ("host", "example.amazonaws.com");
    let date = ("x-amz-date", "20150830T123600Z");
    let case = |method, target, extra: &[(&str, &str)], body, signed, sig| {
        let auth = suite_auth(signed, sig);
        let mut headers = vec![host, date];
        headers.extend_from_slice(extra);
        headers.push(("authorization", auth.as_str()));
        suite_request(method, target, &headers, body)
    };
    vec![
        (
            "get-vanilla",
            case("GET", "/", &[], "", "host;x-amz-date",
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ),
        (
            "get-vanilla-query-order-encoded",
            case("GET", "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1", &[], "", "host;x-amz-date",
                "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"),
        ),
        (
            "get-vanilla-query-unreserved",
            case("GET", "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                &[], "", "host;x-amz-date",
                "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
        ),
        (
            "get-vanilla-utf8-query",
            case("GET", "/?%E1%88%B4=bar", &[], "", "host;x-amz-date",
                "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        ),
        (
            "get-slashes-normalized",
            case("GET", "//example//", &[], "", "host;x-amz-date",
                "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
        ),
        (
            "get-header-value-trim",
            case("GET", "/", &[("my-header1", "value1"), ("my-header2", "\"a   b   c\"")], "",
                "host;my-header1;my-header2;x-amz-date",
                "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        ),
        (
            "post-vanilla-query",
            case("POST", "/?Param1=value1", &[], "", "host;x-amz-date",
                "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
        ),
        (
            "post-x-www-form-urlencoded",
            case("POST", "/",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("content-length", "13"),
                    ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
                ],
                "Param1=value1",
                "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
                "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"),
        ),
        (
            "post-sts-header-before",
            case("POST", "/", &[("x-amz-security-token", SUITE_TOKEN)], "",
                "host;x-amz-date;x-amz-security-token",
                "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
        ),
    ]
}

/// The presigned (query) cases of the suite.
fn suite_query_cases() -> Vec<(&'static str, Req)> {
    const AUTH: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600";
    let host = [("host", "example.amazonaws.com")];
    vec![
        (
            "get-vanilla (query)",
            suite_request("GET", &format!("/?{AUTH}&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"), &host, ""),
        ),
        (
            "get-vanilla-empty-query-key (query)",
            suite_request("GET", &format!("/?Param1=value1&{AUTH}&X-Amz-Signature=49096700cbbaa5753443850f40df10f904fc2fdb544dc9512203cc77c471a9de"), &host, ""),
        ),
        (
            "post-vanilla-query (query)",
            suite_request("POST", &format!("/?Param1=value1&{AUTH}&X-Amz-Signature=a9ef26247f293bffe40eeff86a0480ba8c14d31503b2e0c3399e3a16bf1a3682"), &host, ""),
        ),
        (
            "post-sts-header-before (query)",
            suite_request("POST", &format!("/?{AUTH}&X-Amz-Security-Token=AQoDYXdzEPT%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI%2FqkPpKPi%2FkMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d%2Bxo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz%2BscqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR%2FoLxBA%3D%3D&X-Amz-Signature=46c2e3c63c1dbe7d39f8ada16fe7f001c1f56c5791441565323677f96308871c"), &host, ""),
        ),
    ]
}

#[test]
fn aws_test_suite_known_answers_verify() {
    let v = suite_verifier();
    let now = at("20150830T123600Z");
    let expected = Principal {
        access_key: Some("AKIDEXAMPLE".into()),
        account_id: None,
    };
    for (name, req) in suite_header_cases().into_iter().chain(suite_query_cases()) {
        match run(&v, &req, now) {
            Ok(p) => assert_eq!(p, expected, "{name}"),
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn aws_test_suite_rejects_flipped_signatures_and_foreign_service() {
    let now = at("20150830T123600Z");
    for (name, req) in suite_header_cases().into_iter().chain(suite_query_cases()) {
        // Flip one hex digit of the signature.
        let mut bad = req.clone();
        if bad.headers.contains_key("authorization") {
            bad.edit_authorization(flip_last_hex);
        } else {
            let uri = flip_last_hex(&bad.uri_string());
            bad.set_uri(&uri);
        }
        let e = run(&suite_verifier(), &bad, now).unwrap_err();
        assert_eq!(e.code, ErrorCode::SignatureDoesNotMatch, "{name}: {e}");
        // The real verifier only takes scopes for `sqs`.
        let e = run(
            &Verifier::new(AuthMode::Strict, suite_verifier().credentials),
            &req,
            now,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::SignatureDoesNotMatch, "{name}: {e}");
        assert!(e.message.contains("correct service: 'sqs'"), "{name}: {e}");
    }
}

fn flip_last_hex(s: &str) -> String {
    let mut out = s.to_string();
    let last = out.pop().unwrap();
    out.push(if last == '0' { '1' } else { '0' });
    out
}

#[test]
fn signing_key_matches_aws_documentation_example() {
    // "Examples of how to derive a signing key for Signature Version 4" (AWS General Reference).
    let key = aws_sigv4::sign::v4::generate_signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        at("20150830T000000Z"),
        "us-east-1",
        "iam",
    );
    assert_eq!(
        hex::encode(key.as_ref()),
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    );
}

// ---- fixtures: requests captured from real SDKs --------------------------------------------

/// A request as a real SDK built and signed it, captured offline at `SIGNED_AT` with `AKID` /
/// `SECRET` (and `TOKEN` for temporary credentials): botocore 1.43.11 through a client (JSON)
/// and through `SigV4Auth` / `SigV4QueryAuth` (the Query-era signer, form POST and presigned
/// GET); `@aws-sdk/client-sqs` 3.1169.0 through a capturing request handler; `aws-sdk-sqs`
/// 1.119.0 through `capture_request`. The clock was frozen (`get_current_datetime`, `Date.now`,
/// `StaticTimeSource`); `Host` is the one their HTTP stacks add. Header order is as captured.
struct CapturedRequest {
    client: &'static str,
    /// The `SignedHeaders` list, which must be what §9.1 says this SDK signs.
    signed_headers: &'static str,
    method: &'static str,
    target: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
}

const TOKEN: &str = "FwoGZXIvYXdzEXAMPLE//session+token=";

const CAPTURED: &[CapturedRequest] = &[
    CapturedRequest {
        client: "botocore 1.43.11 JSON SendMessage",
        signed_headers: "content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode",
        method: "POST",
        target: "/",
        headers: &[
            ("Host", "localhost:9324"),
            ("X-Amz-Target", "AmazonSQS.SendMessage"),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-query-mode", "true"),
            ("User-Agent", "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v782 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,e,D,b,Z cfg/retry-mode#legacy"),
            ("X-Amz-Date", "20240501T120000Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDCAUDAEXAMPLE0001/20240501/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode, Signature=d0d5d5c643592ec3053dcab6c77340e12141594606f3024345e80c55524115a8"),
            ("amz-sdk-invocation-id", "ac056810-c99f-4b92-9941-390669b5d642"),
            ("amz-sdk-request", "attempt=1"),
            ("Content-Length", "77"),
        ],
        body: "{\"QueueUrl\": \"http://localhost:9324/000000000000/q1\", \"MessageBody\": \"hello\"}",
    },
    CapturedRequest {
        client: "botocore 1.43.11 JSON ListQueues, temporary credentials",
        signed_headers: "content-type;host;x-amz-date;x-amz-security-token;x-amz-target;x-amzn-query-mode",
        method: "POST",
        target: "/",
        headers: &[
            ("Host", "localhost:9324"),
            ("X-Amz-Target", "AmazonSQS.ListQueues"),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-query-mode", "true"),
            ("User-Agent", "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v782 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,e,D,b,Z cfg/retry-mode#legacy"),
            ("X-Amz-Date", "20240501T120000Z"),
            ("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLE//session+token="),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDCAUDAEXAMPLE0001/20240501/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target;x-amzn-query-mode, Signature=eb24ee63269c69584215bf6e236375ea26b17bde12132b8bdf1096d5f4991ef3"),
            ("amz-sdk-invocation-id", "e7cccb82-edb8-43a4-bd4b-87483d217429"),
            ("amz-sdk-request", "attempt=1"),
            ("Content-Length", "2"),
        ],
        body: "{}",
    },
    CapturedRequest {
        client: "botocore 1.43.11 SigV4Auth, Query SendMessage",
        signed_headers: "content-type;host;x-amz-date",
        method: "POST",
        target: "/",
        headers: &[
            ("Host", "localhost:9324"),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("User-Agent", "Boto3/1.34.0 md/Botocore#1.34.0"),
            ("X-Amz-Date", "20240501T120000Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDCAUDAEXAMPLE0001/20240501/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=59f05f1de35be951105c499cfc2d52253f4652a6d8fac43e9ee3baaab9412bbd"),
            ("Content-Length", "120"),
        ],
        body: "Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Flocalhost%3A9324%2F000000000000%2Fq1&MessageBody=hello+world",
    },
    CapturedRequest {
        client: "botocore 1.43.11 SigV4QueryAuth, presigned ReceiveMessage",
        signed_headers: "host",
        method: "GET",
        target: "/?Action=ReceiveMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Flocalhost%3A9324%2F000000000000%2Fq1&WaitTimeSeconds=0&MessageAttributeName.1=All&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDCAUDAEXAMPLE0001%2F20240501%2Fus-east-1%2Fsqs%2Faws4_request&X-Amz-Date=20240501T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=2b6c0e2d9ee12cf025be905b02b0588909c7eb21b91ba550f3b9ddbcc7152b8b",
        headers: &[
            ("Host", "localhost:9324"),
        ],
        body: "",
    },
    CapturedRequest {
        client: "botocore 1.43.11 SigV4QueryAuth, presigned SendMessage with token",
        signed_headers: "host",
        method: "GET",
        target: "/000000000000/q1?Action=SendMessage&MessageBody=hi%20there%20%2B%20~%20%2A%20%27%20%C3%A9&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDCAUDAEXAMPLE0001%2F20240501%2Fus-east-1%2Fsqs%2Faws4_request&X-Amz-Date=20240501T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE%2F%2Fsession%2Btoken%3D&X-Amz-Signature=d098c69d664dbbd78422242921442e14cf877f666375dba1bbf99b1be37b4bf8",
        headers: &[
            ("Host", "localhost:9324"),
        ],
        body: "",
    },
    CapturedRequest {
        client: "JS v3 3.1169.0 SendMessage",
        signed_headers: "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target;x-amz-user-agent;x-amzn-query-mode",
        method: "POST",
        target: "/",
        headers: &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AmazonSQS.SendMessage"),
            ("x-amzn-query-mode", "true"),
            ("content-length", "74"),
            ("x-amz-user-agent", "aws-sdk-js/3.1168.0"),
            ("user-agent", "aws-sdk-js/3.1168.0 ua/2.1 os/linux#6.18.44-fc-v782 lang/js md/nodejs#20.20.2 api/sqs#3.1168.0 m/N,E,e"),
            ("host", "localhost:9324"),
            ("amz-sdk-invocation-id", "6567b581-1947-45ed-949c-c62608f1a0af"),
            ("amz-sdk-request", "attempt=1; max=1"),
            ("x-amz-date", "20240501T120000Z"),
            ("x-amz-content-sha256", "d2a5781e45d4e01ffae3253df6165112feab78f0be7f096651f0450792697880"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDCAUDAEXAMPLE0001/20240501/us-east-1/sqs/aws4_request, SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target;x-amz-user-agent;x-amzn-query-mode, Signature=c5573ec873f3a30b0ce160ab2df1e35ca0906eeec97bc5847fc29a58919577f0"),
        ],
        body: "{\"QueueUrl\":\"http://localhost:9324/000000000000/q1\",\"MessageBody\":\"hello\"}",
    },
    CapturedRequest {
        client: "JS v3 3.1169.0 ReceiveMessage, temporary credentials",
        signed_headers: "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target;x-amz-user-agent;x-amzn-query-mode",
        method: "POST",
        target: "/",
        headers: &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AmazonSQS.ReceiveMessage"),
            ("x-amzn-query-mode", "true"),
            ("content-length", "97"),
            ("x-amz-user-agent", "aws-sdk-js/3.1168.0"),
            ("user-agent", "aws-sdk-js/3.1168.0 ua/2.1 os/linux#6.18.44-fc-v782 lang/js md/nodejs#20.20.2 api/sqs#3.1168.0 m/N,E,e"),
            ("host", "localhost:9324"),
            ("amz-sdk-invocation-id", "d46d8fc5-278a-4b1e-a924-3814389033c9"),
            ("amz-sdk-request", "attempt=1; max=1"),
            ("x-amz-date", "20240501T120000Z"),
            ("x-amz-security-token", "FwoGZXIvYXdzEXAMPLE//session+token="),
            ("x-amz-content-sha256", "a77f1d3ffb5ce4905bf85a32ac26bc8e6f15717c5f067819ec384af7df68d9da"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDCAUDAEXAMPLE0001/20240501/us-east-1/sqs/aws4_request, SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target;x-amz-user-agent;x-amzn-query-mode, Signature=c055743a39ebf969869fee155b046d8b4c2642ce3665293663e0044c0f26e163"),
        ],
        body: "{\"QueueUrl\":\"http://localhost:9324/000000000000/q1\",\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":0}",
    },
    CapturedRequest {
        client: "aws-sdk-rust (aws-sdk-sqs 1.119.0) SendMessage",
        signed_headers: "content-length;content-type;host;x-amz-date;x-amz-target;x-amz-user-agent;x-amzn-query-mode",
        method: "POST",
        target: "/",
        headers: &[
            ("Host", "localhost:9324"),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AmazonSQS.SendMessage"),
            ("x-amzn-query-mode", "true"),
            ("content-length", "74"),
            ("user-agent", "aws-sdk-rust/1.7.0 ua/2.1 api/sqs/1.119.0 os/linux lang/rust/1.95.0 m/E,N md/http#capture-request-handler"),
            ("x-amz-user-agent", "aws-sdk-rust/1.7.0 ua/2.1 api/sqs/1.119.0 os/linux lang/rust/1.95.0 m/E,N md/http#capture-request-handler"),
            ("x-amz-date", "20240501T120000Z"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDCAUDAEXAMPLE0001/20240501/us-east-1/sqs/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target;x-amz-user-agent;x-amzn-query-mode, Signature=05700839b11fe62a8f989344efa51ecdb0349af14f2de555d0b3354d58df3abc"),
            ("amz-sdk-request", "attempt=1; max=3"),
            ("amz-sdk-invocation-id", "73480a4a-27e2-4d79-b2ed-1ecf3d3571bb"),
        ],
        body: "{\"QueueUrl\":\"http://localhost:9324/000000000000/q1\",\"MessageBody\":\"hello\"}",
    },

];

fn captured(client_prefix: &str) -> Req {
    let c = CAPTURED
        .iter()
        .find(|c| c.client.starts_with(client_prefix))
        .unwrap();
    to_req(c)
}

fn to_req(c: &CapturedRequest) -> Req {
    let mut headers = HeaderMap::new();
    for (k, v) in c.headers {
        headers.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    Req {
        method: c.method.parse().unwrap(),
        uri: c.target.parse().unwrap(),
        headers,
        body: c.body.as_bytes().to_vec(),
    }
}

/// Signed headers and signature, from the header or the query.
fn signed_parts(r: &Req) -> (String, String) {
    if let Some(a) = r.headers.get("authorization") {
        let parsed = sigv4::parse_authorization(a.to_str().unwrap()).unwrap();
        (
            parsed.signed_headers.join(";"),
            parsed.signature.into_owned(),
        )
    } else {
        let q = r.uri.query().unwrap();
        let get = |name: &str| {
            q.split('&')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .unwrap()
                .to_string()
        };
        (get("X-Amz-SignedHeaders"), get("X-Amz-Signature"))
    }
}

#[test]
fn captured_sdk_requests_verify() {
    for c in CAPTURED {
        let req = to_req(c);
        assert_eq!(signed_parts(&req).0, c.signed_headers, "{}", c.client);
        for (name, v, expected) in [
            ("strict", strict(), me()),
            (
                "auto with credentials",
                Verifier::new(AuthMode::Auto, credentials()),
                me(),
            ),
            ("auto without credentials", auto_open(), me_unverified()),
        ] {
            match run(&v, &req, at("20240501T120500Z")) {
                Ok(p) => assert_eq!(p, expected, "{} ({name})", c.client),
                Err(e) => panic!("{} ({name}): {e}", c.client),
            }
        }
        // Any change to the body or to a signed header breaks it.
        let mut tampered = req.clone();
        tampered.body.extend_from_slice(b" ");
        if tampered.headers.contains_key("authorization") {
            assert_code(&strict(), &tampered, ErrorCode::SignatureDoesNotMatch);
        }
        let mut tampered = req.clone();
        tampered.set_header("host", "localhost:9325");
        assert_code(&strict(), &tampered, ErrorCode::SignatureDoesNotMatch);
    }
}

#[test]
fn aws_sigv4_signs_the_captured_requests_identically() {
    // The Rust signer, given the same signed header values, reproduces every captured
    // signature: the SDKs and aws-sigv4 agree on canonicalisation for these requests.
    for c in CAPTURED {
        let req = to_req(c);
        let (signed_headers, signature) = signed_parts(&req);
        let names: Vec<&str> = signed_headers.split(';').collect();
        let values: Vec<(String, String)> = names
            .iter()
            .filter(|n| !["host", "x-amz-date", "x-amz-security-token"].contains(n))
            .map(|n| (n.to_string(), req.header(n).to_string()))
            .collect();
        let values: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let presign = req.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|p| p.strip_prefix("X-Amz-Expires="))
                .map(|e| e.parse().unwrap())
        });
        let token = (req.headers.contains_key("x-amz-security-token")
            || c.target.contains("X-Amz-Security-Token"))
        .then_some(TOKEN);
        // For presigned URLs, sign the operation parameters only.
        let target = match presign {
            Some(_) => {
                let (path, query) = c.target.split_once('?').unwrap();
                let ops: Vec<&str> = query
                    .split('&')
                    .filter(|p| !p.starts_with("X-Amz-"))
                    .collect();
                format!("{path}?{}", ops.join("&"))
            }
            None => c.target.to_string(),
        };
        let resigned = sign_with(
            Signer {
                token,
                presign,
                ..Signer::default()
            },
            c.method,
            req.header("host"),
            &target,
            &values,
            &[],
            c.body.as_bytes(),
        );
        assert_eq!(
            signed_parts(&resigned),
            (signed_headers, signature),
            "{}",
            c.client
        );
    }
}

// ---- round trips ---------------------------------------------------------------------------

#[test]
fn round_trips_header_and_presigned() {
    let v = strict();
    let cases: Vec<(&str, Req)> = vec![
        ("json send", json_send()),
        (
            "form post on queue path",
            sign_with(
                Signer::default(),
                "POST",
                HOST,
                "/123456789012/q1",
                &[("content-type", "application/x-www-form-urlencoded")],
                &[],
                b"Action=SendMessage&MessageBody=a%20b%2Bc",
            ),
        ),
        (
            "get with query, default port host",
            sign_with(
                Signer::default(),
                "GET",
                "sqs.eu-west-1.amazonaws.com",
                "/?Action=ListQueues&QueueNamePrefix=a%2Fb&Version=2012-11-05",
                &[],
                &[],
                b"",
            ),
        ),
        (
            "other region",
            sign_with(
                Signer {
                    region: "ap-southeast-2",
                    ..Signer::default()
                },
                "POST",
                HOST,
                "/",
                &[("content-type", "application/x-amz-json-1.0")],
                &[],
                b"{}",
            ),
        ),
        ("presigned get", presigned_get(3600)),
        (
            "presigned on queue path, max expiry",
            sign_with(
                Signer {
                    presign: Some(604_800),
                    ..Signer::default()
                },
                "GET",
                "127.0.0.1:4566",
                "/000000000000/q1.fifo?Action=GetQueueAttributes&AttributeName.1=All",
                &[],
                &[],
                b"",
            ),
        ),
        (
            "empty path and query key without value",
            sign_with(
                Signer::default(),
                "GET",
                HOST,
                "/?Action=ListQueues&flag",
                &[],
                &[],
                b"",
            ),
        ),
    ];
    for (name, req) in cases {
        match run(&v, &req, at(SIGNED_AT)) {
            Ok(p) => assert_eq!(p, me(), "{name}"),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    // The other key maps to the default account.
    let other = sign_with(
        Signer {
            access_key: OTHER_AKID,
            secret: OTHER_SECRET,
            ..Signer::default()
        },
        "POST",
        HOST,
        "/",
        &[],
        &[],
        b"{}",
    );
    assert_eq!(
        ok_now(&v, &other),
        Principal {
            access_key: Some(OTHER_AKID.into()),
            account_id: None
        }
    );
}

#[test]
fn plus_in_raw_query_is_accepted_either_way() {
    // aws-sigv4 (like Go) reads `+` as a space and signs %20.
    let spaced = sign_with(
        Signer::default(),
        "GET",
        HOST,
        "/?Action=SendMessage&MessageBody=a+b",
        &[],
        &[],
        b"",
    );
    ok_now(&strict(), &spaced);
    // A signer that reads `+` literally (JS v3's URL parser) signs %2B but may send `+`.
    let mut literal = sign_with(
        Signer::default(),
        "GET",
        HOST,
        "/?Action=SendMessage&MessageBody=a%2Bb",
        &[],
        &[],
        b"",
    );
    literal.set_uri("/?Action=SendMessage&MessageBody=a+b");
    ok_now(&strict(), &literal);
    // Same for presigned URLs.
    let mut presigned = sign_with(
        Signer {
            presign: Some(60),
            ..Signer::default()
        },
        "GET",
        HOST,
        "/?Action=SendMessage&MessageBody=a%2Bb",
        &[],
        &[],
        b"",
    );
    let uri = presigned.uri_string().replace("a%2Bb", "a+b");
    presigned.set_uri(&uri);
    ok_now(&strict(), &presigned);
    // But `+` is not a wildcard.
    let mut other = spaced.clone();
    other.set_uri("/?Action=SendMessage&MessageBody=a-b");
    assert_code(&strict(), &other, ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn unsigned_headers_may_change() {
    let mut r = json_send();
    r.set_header("user-agent", "something-else/2.0");
    r.set_header("x-forwarded-for", "10.0.0.1");
    ok_now(&strict(), &r);
}

#[test]
fn header_values_are_canonicalised() {
    // Extra spaces inside and around a signed value still verify (trim + collapse).
    let r = sign_with(
        Signer::default(),
        "POST",
        HOST,
        "/",
        &[
            ("x-custom", "a b c"),
            ("content-type", "application/x-amz-json-1.0"),
        ],
        &[],
        b"{}",
    );
    let mut spaced = r.clone();
    spaced.set_header("x-custom", "  a   b  c ");
    ok_now(&strict(), &spaced);
    // Repeated headers are joined with ','.
    let r = sign_with(
        Signer::default(),
        "POST",
        HOST,
        "/",
        &[("x-multi", "one"), ("x-multi", "two")],
        &[],
        b"{}",
    );
    assert_eq!(r.headers.get_all("x-multi").iter().count(), 2);
    ok_now(&strict(), &r);
}

// ---- tampering -----------------------------------------------------------------------------

#[test]
fn tampering_is_rejected() {
    let v = strict();
    let base = json_send();
    let mut cases: Vec<(&str, Req)> = Vec::new();

    let mut r = base.clone();
    r.body = JSON_BODY.replace("hello", "hellO").into_bytes();
    cases.push(("body", r));

    let mut r = base.clone();
    r.body.push(b' ');
    cases.push(("body appended", r));

    let mut r = base.clone();
    r.set_header("x-amz-target", "AmazonSQS.DeleteQueue");
    cases.push(("signed header value", r));

    let mut r = base.clone();
    r.set_header("host", "localhost:9325");
    cases.push(("host", r));

    let mut r = base.clone();
    r.headers.remove("x-amzn-query-mode");
    cases.push(("signed header removed", r));

    let mut r = base.clone();
    r.set_uri("/123456789012/q1");
    cases.push(("path", r));

    let mut r = base.clone();
    r.method = Method::PUT;
    cases.push(("method", r));

    let mut r = base.clone();
    r.set_uri("/?Action=DeleteQueue");
    cases.push(("query added", r));

    let mut r = base.clone();
    r.set_header("x-amz-date", "20240501T120001Z");
    cases.push(("date within the same day", r));

    let mut r = base.clone();
    r.edit_authorization(|a| a.replace("/us-east-1/", "/eu-west-1/"));
    cases.push(("region in scope", r));

    let mut r = base.clone();
    r.edit_authorization(|a| a.replace(AKID, OTHER_AKID));
    cases.push(("another known key", r));

    let mut r = base.clone();
    r.edit_authorization(|a| a.replace("x-amz-target;", ""));
    cases.push(("signed headers list shortened", r));

    let mut r = base.clone();
    r.edit_authorization(flip_last_hex);
    cases.push(("signature", r));

    cases.push((
        "wrong secret",
        sign_with(
            Signer {
                secret: "not-the-secret",
                ..Signer::default()
            },
            "POST",
            HOST,
            "/",
            &[],
            &[],
            b"{}",
        ),
    ));

    let get = sign_with(
        Signer::default(),
        "GET",
        HOST,
        "/?Action=GetQueueUrl&QueueName=q1",
        &[],
        &[],
        b"",
    );
    let mut r = get.clone();
    r.set_uri("/?Action=GetQueueUrl&QueueName=q2");
    cases.push(("query value", r));
    let mut r = get.clone();
    r.set_uri("/?Action=GetQueueUrl&QueueName=q1&QueueOwnerAWSAccountId=111111111111");
    cases.push(("query param added", r));

    let pre = presigned_get(3600);
    let mut r = pre.clone();
    let uri = r.uri_string().replace("ReceiveMessage", "DeleteQueue");
    r.set_uri(&uri);
    cases.push(("presigned query", r));
    let mut r = pre.clone();
    let uri = r
        .uri_string()
        .replace("X-Amz-Expires=3600", "X-Amz-Expires=7200");
    r.set_uri(&uri);
    cases.push(("presigned expiry extended", r));
    let mut r = pre.clone();
    r.set_uri(&format!("/000000000000/q1?{}", pre.uri.query().unwrap()));
    cases.push(("presigned path", r));
    let mut r = pre.clone();
    r.set_header("host", "evil.example:9324");
    cases.push(("presigned host", r));

    for (name, req) in cases {
        let e = err_now(&v, &req);
        assert_eq!(e.code, ErrorCode::SignatureDoesNotMatch, "{name}: {e}");
    }
}

#[test]
fn scope_tampering_is_rejected() {
    let v = strict();
    let base = json_send();

    // Date moved to another day: the scope no longer matches.
    let mut r = base.clone();
    r.set_header("x-amz-date", "20240502T000500Z");
    let e = run(&v, &r, at("20240502T000500Z")).unwrap_err();
    assert_eq!(e.code, ErrorCode::SignatureDoesNotMatch, "{e}");
    assert!(e.message.contains("'20240501' != '20240502'"), "{e}");

    // Service renamed in the scope.
    let mut r = base.clone();
    r.edit_authorization(|a| a.replace("/sqs/", "/sns/"));
    let e = assert_code(&v, &r, ErrorCode::SignatureDoesNotMatch);
    assert!(e.message.contains("correct service"), "{e}");

    // Signed for another service altogether; also refused when signatures are not checked.
    let sns = sign_with(
        Signer {
            service: "sns",
            ..Signer::default()
        },
        "POST",
        HOST,
        "/",
        &[],
        &[],
        b"{}",
    );
    assert_code(&v, &sns, ErrorCode::SignatureDoesNotMatch);
    assert_code(&auto_open(), &sns, ErrorCode::SignatureDoesNotMatch);

    // Wrong terminator.
    let mut r = base.clone();
    r.edit_authorization(|a| a.replace("/aws4_request", "/aws5_request"));
    let e = assert_code(&v, &r, ErrorCode::SignatureDoesNotMatch);
    assert!(e.message.contains("terminator"), "{e}");
}

#[test]
fn body_hash_header_must_match_body() {
    let js = captured("JS v3 3.1169.0 SendMessage");
    ok_now(&strict(), &js);
    let mut r = js.clone();
    r.body = String::from_utf8(js.body.clone())
        .unwrap()
        .replace("hello", "HELLO")
        .into_bytes();
    for v in [strict(), auto_open()] {
        let e = assert_code(&v, &r, ErrorCode::SignatureDoesNotMatch);
        assert!(e.message.contains("x-amz-content-sha256"), "{e}");
    }
    // A hash in upper case is still compared with the body.
    let mut upper = js.clone();
    let sent = upper.header("x-amz-content-sha256").to_ascii_uppercase();
    upper.set_header("x-amz-content-sha256", &sent);
    ok_now(&auto_open(), &upper);
    r.set_header("x-amz-content-sha256", &sent);
    assert_code(&auto_open(), &r, ErrorCode::SignatureDoesNotMatch);
    // Consistent header and body, both changed: the signature still catches it.
    r.set_header("x-amz-content-sha256", &sha256_hex(&r.body));
    assert_code(&strict(), &r, ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn unsigned_payload_is_honoured_when_signed() {
    let r = sign_with(
        Signer::default(),
        "POST",
        HOST,
        "/",
        &[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")],
        &[],
        b"ignored",
    );
    // aws-sigv4 hashed the body, but the header says UNSIGNED-PAYLOAD: that must not verify…
    assert_code(&strict(), &r, ErrorCode::SignatureDoesNotMatch);
    // …whereas a client that really signed UNSIGNED-PAYLOAD does.
    let identity: Identity =
        aws_credential_types::Credentials::new(AKID, SECRET, None, None, "t").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sqs")
        .time(at(SIGNED_AT))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [("host", HOST), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")];
    let signable = SignableRequest::new(
        "POST",
        format!("http://{HOST}/"),
        headers.iter().copied(),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = Req {
        method: Method::POST,
        uri: "/".parse().unwrap(),
        headers: HeaderMap::new(),
        body: b"any body at all".to_vec(),
    };
    for (k, v) in headers.iter().copied().chain(instructions.headers()) {
        req.set_header(k, v);
    }
    ok_now(&strict(), &req);
}

#[test]
fn failure_message_helps_without_leaking_secrets() {
    let token_req = captured("botocore 1.43.11 JSON ListQueues");
    let mut r = token_req.clone();
    r.body = b"{ }".to_vec();
    let e = assert_code(&strict(), &r, ErrorCode::SignatureDoesNotMatch);
    assert!(
        e.message.starts_with(SIGNATURE_DOES_NOT_MATCH_MESSAGE),
        "{e}"
    );
    assert!(e
        .message
        .contains("The Canonical String for this request should have been"));
    assert!(e.message.contains("x-amz-target:AmazonSQS.ListQueues"));
    assert!(e
        .message
        .contains("AWS4-HMAC-SHA256\n20240501T120000Z\n20240501/us-east-1/sqs/aws4_request\n"));
    assert!(!e.message.contains(SECRET));
    assert!(!e.message.contains(TOKEN), "{e}");
    // Presigned: the token in the query is redacted too.
    let mut p = captured("botocore 1.43.11 SigV4QueryAuth, presigned SendMessage");
    let uri = p.uri_string().replace("hi%20there", "hi%20where");
    p.set_uri(&uri);
    let e = assert_code(&strict(), &p, ErrorCode::SignatureDoesNotMatch);
    assert!(!e.message.contains("session"), "{e}");
    assert!(
        e.message.contains("X-Amz-Security-Token=**redacted**"),
        "{e}"
    );
}

// ---- clocks --------------------------------------------------------------------------------

#[test]
fn clock_skew() {
    let r = json_send();
    let t = parse_amz_date(SIGNED_AT).unwrap();
    let now = |offset: i64| UNIX_EPOCH + Duration::from_secs(t.checked_add_signed(offset).unwrap());
    for v in [strict(), auto_open()] {
        for ok in [-14 * 60, -15 * 60, 0, 14 * 60, 15 * 60] {
            run(&v, &r, now(ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let e = run(&v, &r, now(16 * 60)).unwrap_err();
        assert_eq!(e.code, ErrorCode::RequestExpired);
        assert!(e.message.contains("Signature expired: 20240501T120000Z is now earlier than 20240501T120100Z (20240501T121600Z - 15 min.)"), "{e}");
        let e = run(&v, &r, now(-16 * 60)).unwrap_err();
        assert_eq!(e.code, ErrorCode::RequestExpired);
        assert!(e.message.contains("not yet current"), "{e}");
        let e = run(&v, &r, now(86_400 * 365)).unwrap_err();
        assert_eq!(e.code, ErrorCode::RequestExpired);
    }
}

#[test]
fn presigned_expiry() {
    let r = presigned_get(60);
    let t = parse_amz_date(SIGNED_AT).unwrap();
    let now = |offset: i64| UNIX_EPOCH + Duration::from_secs(t.checked_add_signed(offset).unwrap());
    for v in [strict(), auto_open()] {
        run(&v, &r, now(0)).unwrap();
        run(&v, &r, now(60)).unwrap();
        run(&v, &r, now(-14 * 60)).unwrap();
        let e = run(&v, &r, now(61)).unwrap_err();
        assert_eq!(e.code, ErrorCode::RequestExpired, "{e}");
        let e = run(&v, &r, now(-16 * 60)).unwrap_err();
        assert_eq!(e.code, ErrorCode::RequestExpired, "{e}");
    }
    // A week-long URL is still good after six days (header skew does not apply).
    let week = sign_with(
        Signer {
            presign: Some(604_800),
            ..Signer::default()
        },
        "GET",
        HOST,
        "/?Action=ListQueues",
        &[],
        &[],
        b"",
    );
    run(&strict(), &week, now(6 * 86_400)).unwrap();
    // Out-of-range X-Amz-Expires is malformed.
    for bad in ["0", "604801", "-1", "", "1e3", "99999999999999999999"] {
        let mut r = presigned_get(60);
        let uri = r
            .uri_string()
            .replace("X-Amz-Expires=60", &format!("X-Amz-Expires={bad}"));
        r.set_uri(&uri);
        let e = assert_code(&auto_open(), &r, ErrorCode::IncompleteSignature);
        assert!(e.message.contains("X-Amz-Expires"), "{bad}: {e}");
    }
}

#[test]
fn date_header_fallback() {
    // No X-Amz-Date: the Date header dates the request (IMF-fixdate or ISO 8601 basic).
    let base = json_send();
    for date in ["Wed, 01 May 2024 12:00:00 GMT", "20240501T120000Z"] {
        let mut r = base.clone();
        r.headers.remove("x-amz-date");
        r.set_header("date", date);
        ok_now(&auto_open(), &r);
        let e = run(&auto_open(), &r, at("20240501T130000Z")).unwrap_err();
        assert_eq!(e.code, ErrorCode::RequestExpired);
        // x-amz-date was signed and is gone now.
        assert_code(&strict(), &r, ErrorCode::SignatureDoesNotMatch);
    }
    let mut r = base.clone();
    r.headers.remove("x-amz-date");
    let e = assert_code(&auto_open(), &r, ErrorCode::IncompleteSignature);
    assert!(e.message.contains("'X-Amz-Date' or a 'Date' header"), "{e}");
    r.set_header("date", "yesterday");
    assert_code(&auto_open(), &r, ErrorCode::IncompleteSignature);
    let mut r = base.clone();
    r.set_header("x-amz-date", "2024-05-01T12:00:00Z");
    assert_code(&auto_open(), &r, ErrorCode::IncompleteSignature);
}

#[test]
fn date_header_fallback_verifies_a_hand_computed_signature() {
    // Signed over `date;host` with the canonical request written out by hand, so this does not
    // depend on our canonicaliser: the string to sign carries the ISO 8601 form of the Date.
    let body = br#"{"QueueName":"q1"}"#;
    let date = "Wed, 01 May 2024 12:00:00 GMT";
    let creq = format!(
        "POST\n/\n\ndate:{date}\nhost:{HOST}\n\ndate;host\n{}",
        sha256_hex(body)
    );
    let sts = format!(
        "AWS4-HMAC-SHA256\n20240501T120000Z\n20240501/us-east-1/sqs/aws4_request\n{}",
        sha256_hex(creq.as_bytes())
    );
    let key = aws_sigv4::sign::v4::generate_signing_key(SECRET, at(SIGNED_AT), "us-east-1", "sqs");
    let signature = aws_sigv4::sign::v4::calculate_signature(key, sts.as_bytes());
    let mut r = unsigned_request();
    r.headers.clear();
    r.body = body.to_vec();
    r.set_header("host", HOST);
    r.set_header("date", date);
    r.set_header(
        "authorization",
        &format!("AWS4-HMAC-SHA256 Credential={AKID}/20240501/us-east-1/sqs/aws4_request, SignedHeaders=date;host, Signature={signature}"),
    );
    assert_eq!(ok_now(&strict(), &r), me());
    r.set_header("date", "Wed, 01 May 2024 12:00:01 GMT");
    assert_code(&strict(), &r, ErrorCode::SignatureDoesNotMatch);
}

// ---- missing / malformed auth --------------------------------------------------------------

fn unsigned_request() -> Req {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static(HOST));
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    Req {
        method: Method::POST,
        uri: "/".parse().unwrap(),
        headers,
        body: b"{}".to_vec(),
    }
}

#[test]
fn missing_auth() {
    for v in [
        strict(),
        auto_open(),
        Verifier::new(AuthMode::Auto, credentials()),
    ] {
        let e = assert_code(
            &v,
            &unsigned_request(),
            ErrorCode::MissingAuthenticationToken,
        );
        assert_eq!(e.code.http_status(), 403);
        // Query parameters that are not auth parameters do not count.
        let mut r = unsigned_request();
        r.set_uri("/?Action=ListQueues&X-Amz-Date=20240501T120000Z");
        assert_code(&v, &r, ErrorCode::MissingAuthenticationToken);
    }
}

#[test]
fn malformed_header_auth_is_incomplete() {
    let base = json_send();
    let auth = base.authorization().to_string();
    let (cred, rest) = auth.split_once(", ").unwrap();
    let (sh, sig) = rest.split_once(", ").unwrap();
    let variants = [
        format!("{cred}, {sh}"),
        format!("{cred}, {sig}"),
        format!("AWS4-HMAC-SHA256 {sh}, {sig}"),
        "AWS4-HMAC-SHA256".to_string(),
        "Bearer abc".to_string(),
        auth.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
        auth.replace("/20240501/", "/2024-05-01/"),
        auth.replace("SignedHeaders=", "SignedHeaders=;"),
        format!("{auth}x"),
        format!("{auth}, Signature=00"),
    ];
    for v in [strict(), auto_open()] {
        for value in &variants {
            let mut r = base.clone();
            r.set_header("authorization", value);
            let e = assert_code(&v, &r, ErrorCode::IncompleteSignature);
            assert_eq!(e.code.http_status(), 400);
        }
        // Two Authorization headers.
        let mut r = base.clone();
        r.headers
            .append("authorization", HeaderValue::from_str(&auth).unwrap());
        assert_code(&v, &r, ErrorCode::IncompleteSignature);
        // Non-ASCII header value.
        let mut r = base.clone();
        r.headers.insert(
            "authorization",
            HeaderValue::from_bytes(b"AWS4-HMAC-SHA256 \xff").unwrap(),
        );
        assert_code(&v, &r, ErrorCode::IncompleteSignature);
        // Both mechanisms at once.
        let mut r = base.clone();
        r.set_uri(&presigned_get(60).uri_string());
        assert_code(&v, &r, ErrorCode::IncompleteSignature);
    }
}

#[test]
fn host_must_be_signed() {
    let mut r = json_send();
    r.edit_authorization(|a| {
        a.replace(
            "SignedHeaders=content-type;host;",
            "SignedHeaders=content-type;",
        )
    });
    for v in [strict(), auto_open()] {
        let e = assert_code(&v, &r, ErrorCode::SignatureDoesNotMatch);
        assert!(e.message.contains("'Host'"), "{e}");
    }
}

#[test]
fn malformed_presigned_is_incomplete() {
    let base = presigned_get(60);
    let uri = base.uri_string();
    let query = base.uri.query().unwrap();
    let params: Vec<&str> = query.split('&').collect();
    for drop in [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ] {
        let kept: Vec<&str> = params
            .iter()
            .copied()
            .filter(|p| !p.starts_with(&format!("{drop}=")))
            .collect();
        let mut r = base.clone();
        r.set_uri(&format!("/?{}", kept.join("&")));
        for v in [strict(), auto_open()] {
            let e = assert_code(&v, &r, ErrorCode::IncompleteSignature);
            assert!(e.message.contains("must include"), "{drop}: {e}");
        }
    }
    let edits = [
        (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Algorithm=AWS4-HMAC-SHA1",
        ),
        ("X-Amz-Date=20240501T120000Z", "X-Amz-Date=20240501"),
        ("%2Fsqs%2Faws4_request", "%2Fsqs"),
        ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders="),
    ];
    for (from, to) in edits {
        assert!(uri.contains(from), "{uri} lacks {from}");
        let mut r = base.clone();
        r.set_uri(&uri.replace(from, to));
        assert_code(&auto_open(), &r, ErrorCode::IncompleteSignature);
    }
    // A repeated auth parameter.
    let mut r = base.clone();
    r.set_uri(&format!("{uri}&X-Amz-Date=20240501T120000Z"));
    assert_code(&auto_open(), &r, ErrorCode::IncompleteSignature);
    // A truncated signature.
    let mut r = base.clone();
    r.set_uri(&uri[..uri.len() - 1]);
    assert_code(&auto_open(), &r, ErrorCode::IncompleteSignature);
}

// ---- modes ---------------------------------------------------------------------------------

#[test]
fn strict_unknown_key() {
    let r = sign_with(
        Signer {
            access_key: "AKIDNOBODYKNOWS",
            ..Signer::default()
        },
        "POST",
        HOST,
        "/",
        &[],
        &[],
        b"{}",
    );
    for v in [
        strict(),
        Verifier::new(AuthMode::Auto, credentials()),
        Verifier::new(AuthMode::Strict, Credentials::default()),
    ] {
        let e = assert_code(&v, &r, ErrorCode::InvalidClientTokenId);
        assert_eq!(
            e.message,
            "The security token included in the request is invalid."
        );
        assert_eq!(e.code.http_status(), 403);
    }
    // A presigned URL for an unknown key, too.
    let p = sign_with(
        Signer {
            access_key: "AKIDNOBODYKNOWS",
            presign: Some(60),
            ..Signer::default()
        },
        "GET",
        HOST,
        "/?Action=ListQueues",
        &[],
        &[],
        b"",
    );
    assert_code(&strict(), &p, ErrorCode::InvalidClientTokenId);
}

#[test]
fn auto_without_credentials_accepts_any_well_formed_signature() {
    let v = auto_open();
    assert!(!v.checks_signatures());
    let mut r = json_send();
    r.edit_authorization(|a| {
        let (head, _) = a.rsplit_once("Signature=").unwrap();
        format!("{head}Signature={}", "ab".repeat(32))
    });
    assert_eq!(ok_now(&v, &r), me_unverified());
    r.body = b"anything".to_vec();
    assert_eq!(ok_now(&v, &r), me_unverified());
    // Any key names the caller.
    r.edit_authorization(|a| a.replace(AKID, "test"));
    assert_eq!(
        ok_now(&v, &r),
        Principal {
            access_key: Some("test".into()),
            account_id: None
        }
    );
    // Presigned with a made-up signature.
    let mut p = presigned_get(60);
    let uri = flip_last_hex(&p.uri_string());
    p.set_uri(&uri);
    assert_eq!(ok_now(&v, &p), me_unverified());
    assert_code(&strict(), &p, ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn off_accepts_anything() {
    let v = Verifier::new(AuthMode::Off, credentials());
    assert!(!v.checks_signatures());
    assert_eq!(v.mode(), AuthMode::Off);
    let mut garbage = unsigned_request();
    assert_eq!(ok_now(&v, &garbage), Principal::anonymous());
    garbage.set_header("authorization", "total nonsense");
    garbage.set_uri("/?X-Amz-Signature=zz");
    assert_eq!(ok_now(&v, &garbage), Principal::anonymous());
    let mut stale = json_send();
    stale.edit_authorization(flip_last_hex);
    assert_eq!(
        run(&v, &stale, at("20300101T000000Z")).unwrap(),
        Principal::anonymous()
    );
}

#[test]
fn auth_error_codes_have_their_wire_codes_and_statuses() {
    use ErrorCode::*;
    let table = [
        (
            MissingAuthenticationToken,
            "MissingAuthenticationToken",
            403,
        ),
        (IncompleteSignature, "IncompleteSignature", 400),
        (InvalidClientTokenId, "InvalidClientTokenId", 403),
        (SignatureDoesNotMatch, "SignatureDoesNotMatch", 403),
        (RequestExpired, "RequestExpired", 400),
        (AccessDenied, "AccessDenied", 403),
    ];
    for (code, query_code, status) in table {
        assert_eq!(code.query_code(), query_code);
        assert_eq!(code.http_status(), status);
        let e = SqsError::from(AuthError::new(code, "m"));
        assert_eq!((e.code, e.message.as_str()), (code, "m"));
    }
    let e = AuthError::new(RequestExpired, "late");
    assert_eq!(e.to_string(), "RequestExpired: late");
}

#[test]
fn auth_mode_parses_from_the_command_line() {
    use clap::ValueEnum;
    assert_eq!(AuthMode::from_str("off", false).unwrap(), AuthMode::Off);
    assert_eq!(AuthMode::from_str("auto", false).unwrap(), AuthMode::Auto);
    assert_eq!(
        AuthMode::from_str("strict", false).unwrap(),
        AuthMode::Strict
    );
}

#[test]
fn verifier_debug_hides_secrets() {
    let shown = format!("{:?}", strict());
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains(OTHER_SECRET), "{shown}");
    assert!(shown.contains(AKID));
}

#[test]
fn remembered_signing_keys_change_no_answer() {
    let v = strict();
    let send = |s: Signer<'_>| {
        sign_with(
            s,
            "POST",
            HOST,
            "/",
            &[
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", "AmazonSQS.SendMessage"),
            ],
            &[],
            JSON_BODY.as_bytes(),
        )
    };
    // The same key and scope twice: the second verification uses the remembered key.
    assert_eq!(ok_now(&v, &send(Signer::default())), me());
    assert_eq!(ok_now(&v, &send(Signer::default())), me());
    // A wrong secret for the same key and scope is still refused.
    let wrong = send(Signer {
        secret: "not-the-secret",
        ..Signer::default()
    });
    assert_eq!(err_now(&v, &wrong).code, ErrorCode::SignatureDoesNotMatch);
    // Another region derives another key: signed for it, it verifies.
    assert_eq!(
        ok_now(
            &v,
            &send(Signer {
                region: "eu-west-1",
                ..Signer::default()
            })
        ),
        me()
    );
    // The other credential is not confused with the first.
    let other = send(Signer {
        access_key: OTHER_AKID,
        secret: OTHER_SECRET,
        ..Signer::default()
    });
    assert!(ok_now(&v, &other).access_key.as_deref() == Some(OTHER_AKID));
    let swapped = send(Signer {
        access_key: OTHER_AKID,
        secret: SECRET,
        ..Signer::default()
    });
    assert_eq!(err_now(&v, &swapped).code, ErrorCode::SignatureDoesNotMatch);
}

/// The region `verify_scoped` hands the request pipeline is the one `scope_region` reads, for
/// a header-signed and a presigned request, in strict and in open auto mode; none when off.
#[test]
fn verify_scoped_returns_the_scope_region() {
    for r in [json_send(), presigned_get(300)] {
        let expected = sigv4::scope_region(&r.uri, &r.headers);
        assert!(expected.is_some(), "{r:?}");
        for v in [strict(), auto_open()] {
            let (_, region) = v
                .verify_scoped(&r.method, &r.uri, &r.headers, &r.body, at(SIGNED_AT))
                .unwrap_or_else(|e| panic!("{e}\n{r:?}"));
            assert_eq!(region, expected);
        }
        let off = Verifier::new(AuthMode::Off, Credentials::default());
        let (_, region) = off
            .verify_scoped(&r.method, &r.uri, &r.headers, &r.body, at(SIGNED_AT))
            .unwrap();
        assert_eq!(region, None);
    }
}
