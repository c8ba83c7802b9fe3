//! `Verifier::verify` per request: a typical header-signed JSON SendMessage and a presigned
//! Query GET, signed once up front with the aws-sigv4 crate at a fixed time.
//!
//! Run: `cargo bench --bench sigv4 -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_smithy_runtime_api::client::identity::Identity;
use cauda::auth::credentials::Credentials;
use cauda::auth::{AuthMode, Verifier};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const AKID: &str = "AKIDCAUDAEXAMPLE0001";
const SECRET: &str = "cauda/Secret+Key0000000000000000000EXAMPLE";
const HOST: &str = "localhost:9324";
/// 2024-05-01T12:00:00Z
const SIGNED_AT: u64 = 1_714_564_800;

struct Request {
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

fn signed(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    presign: Option<u64>,
) -> Request {
    let url = format!("http://{HOST}{target}");
    let identity: Identity =
        aws_credential_types::Credentials::new(AKID, SECRET, None, None, "bench").into();
    let mut settings = SigningSettings::default();
    if let Some(expires) = presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sqs")
        .time(UNIX_EPOCH + Duration::from_secs(SIGNED_AT))
        .settings(settings)
        .build()
        .expect("signing params")
        .into();
    let mut all = vec![("host", HOST)];
    all.extend_from_slice(headers);
    let signable = SignableRequest::new(
        method,
        url.clone(),
        all.iter().copied(),
        SignableBody::Bytes(body),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let mut builder = http::Request::builder().method(method).uri(&url);
    for (k, v) in &all {
        builder = builder.header(*k, *v);
    }
    builder = builder.header("user-agent", "bench/1.0");
    let mut request = builder.body(()).expect("request");
    instructions.apply_to_request_http1x(&mut request);
    let (parts, ()) = request.into_parts();
    Request {
        method: parts.method,
        uri: parts
            .uri
            .path_and_query()
            .expect("path")
            .as_str()
            .parse()
            .expect("uri"),
        headers: parts.headers,
        body: body.to_vec(),
    }
}

fn bench_verify(c: &mut Criterion) {
    let body = br#"{"QueueUrl":"http://localhost:9324/000000000000/orders","MessageBody":"{\"orderId\":12345,\"items\":[{\"sku\":\"A-1\",\"qty\":2}],\"note\":\"leave at the door\"}","DelaySeconds":0}"#;
    let len = body.len().to_string();
    let json = signed(
        "POST",
        "/",
        &[
            ("content-length", &len),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AmazonSQS.SendMessage"),
            ("x-amz-user-agent", "aws-sdk-rust/1.7.0 api/sqs/1.119.0"),
            ("x-amzn-query-mode", "true"),
        ],
        body,
        None,
    );
    let presigned = signed(
        "GET",
        "/?Action=ReceiveMessage&MaxNumberOfMessages=10&QueueUrl=http%3A%2F%2Flocalhost%3A9324%2F000000000000%2Forders&Version=2012-11-05",
        &[],
        b"",
        Some(3600),
    );
    let strict = Verifier::new(
        AuthMode::Strict,
        Credentials::from_specs([format!("{AKID}:{SECRET}:000000000000")]).expect("creds"),
    );
    let auto = Verifier::new(AuthMode::Auto, Credentials::default());
    let now: SystemTime = UNIX_EPOCH + Duration::from_secs(SIGNED_AT + 5);
    for (verifier, r) in [(&strict, &json), (&strict, &presigned), (&auto, &json)] {
        verifier
            .verify(&r.method, &r.uri, &r.headers, &r.body, now)
            .expect("fixture verifies");
    }

    let mut group = c.benchmark_group("sigv4_verify");
    group.throughput(Throughput::Elements(1));
    let cases = [
        ("json_send_message_header_auth", &strict, &json),
        ("presigned_get", &strict, &presigned),
        ("json_send_message_auto_no_credentials", &auto, &json),
    ];
    for (name, verifier, r) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                verifier.verify(
                    black_box(&r.method),
                    black_box(&r.uri),
                    black_box(&r.headers),
                    black_box(&r.body),
                    now,
                )
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
