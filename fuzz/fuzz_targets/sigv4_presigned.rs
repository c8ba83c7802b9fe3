//! Presigned-URL (query-string) SigV4 parsing and verification. The input's lines fill the
//! `X-Amz-*` parameters of an otherwise well-formed presigned URL (algorithm, credential, date,
//! expires, signed headers, signature, security token, then free-form extra parameters), so
//! the fuzzer works on the values rather than on URL syntax; an input starting with `?` is
//! the raw query string instead. Nothing may panic; a request that passes the strict verifier
//! must carry the configured access key, and the region read from its scope must be the one
//! the verifier accepted.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use cauda::auth::credentials::Credentials;
use cauda::auth::sigv4::{self, RequestParts};
use cauda::auth::{AuthMode, Verifier};
use http::{HeaderMap, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

/// 2024-05-01T12:00:00Z, the date the default parameters claim.
const NOW: u64 = 1_714_564_800;

const PARAMS: [(&str, &str); 7] = [
    ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
    (
        "X-Amz-Credential",
        "AKIDEXAMPLE/20240501/us-east-1/sqs/aws4_request",
    ),
    ("X-Amz-Date", "20240501T120000Z"),
    ("X-Amz-Expires", "300"),
    ("X-Amz-SignedHeaders", "host"),
    (
        "X-Amz-Signature",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ),
    ("X-Amz-Security-Token", ""),
];

fn query(text: &str) -> String {
    if let Some(raw) = text.strip_prefix('?') {
        return raw.to_string();
    }
    let mut lines = text.split('\n');
    let mut pairs = Vec::new();
    for (name, default) in PARAMS {
        let value = lines.next().unwrap_or(default);
        // A line `-` leaves the parameter out.
        if value != "-" && !(name == "X-Amz-Security-Token" && value.is_empty()) {
            pairs.push(format!(
                "{name}={}",
                utf8_percent_encode(value, NON_ALPHANUMERIC)
            ));
        }
    }
    pairs.extend(lines.map(str::to_string));
    pairs.push("Action=ListQueues".to_string());
    pairs.join("&")
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(uri) = format!("/000000000000/q1?{}", query(&text)).parse::<Uri>() else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("localhost:9324"));
    let method = Method::GET;
    let parts = RequestParts {
        method: &method,
        uri: &uri,
        headers: &headers,
        body: b"",
    };
    let extracted = sigv4::extract(&parts);
    let region = sigv4::scope_region(&uri, &headers);
    if let Ok(auth) = &extracted {
        assert_eq!(auth.signature.len(), 64);
        assert_eq!(region.as_deref(), Some(auth.credential.region.as_ref()));
    }
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let strict = Verifier::new(
        AuthMode::Strict,
        Credentials::from_specs(["AKIDEXAMPLE:secret:123456789012"]).unwrap(),
    );
    if let Ok(principal) = strict.verify(&method, &uri, &headers, b"", now) {
        assert_eq!(principal.access_key.as_deref(), Some("AKIDEXAMPLE"));
        assert!(extracted.is_ok());
    }
    let auto = Verifier::new(AuthMode::Auto, Credentials::default());
    let _ = auto.verify(&method, &uri, &headers, b"", now);
});
