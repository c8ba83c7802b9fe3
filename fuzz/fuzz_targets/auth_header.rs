//! Arbitrary bytes into the SigV4 parsers and the verifier: nothing may panic, and whatever
//! parses must hold the parser's invariants.
//!
//! `cargo +nightly fuzz run auth_header`
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use cauda::auth::credentials::Credentials;
use cauda::auth::{sigv4, AuthMode, Verifier};
use http::{HeaderMap, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;

/// 2024-05-01T12:00:00Z, the date the fixed headers below claim.
const NOW: u64 = 1_714_564_800;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // The parsers on their own.
    if let Ok(parsed) = sigv4::parse_authorization(&text) {
        assert_eq!(parsed.signature.len(), 64);
        assert!(!parsed.credential.access_key.is_empty());
        assert_eq!(parsed.credential.date.len(), 8);
        assert!(!parsed.signed_headers.is_empty());
    }
    if let Ok(credential) = sigv4::parse_credential(&text) {
        assert!(credential.scope().ends_with(credential.terminator.as_ref()));
    }
    let _ = sigv4::parse_signed_headers(&text);
    let _ = sigv4::parse_signature(&text);
    if let Some(t) = sigv4::parse_amz_date(&text) {
        assert_eq!(sigv4::parse_amz_date(&sigv4::format_amz_date(t)), Some(t));
    }
    let _ = sigv4::parse_http_date(&text);
    let _ = sigv4::canonical_uri(&text);

    // The whole verifier, with the bytes as the Authorization header and as the query string.
    let verifiers = [
        Verifier::new(
            AuthMode::Strict,
            Credentials::from_specs(["AKIDEXAMPLE:secret:123456789012"]).unwrap(),
        ),
        Verifier::new(AuthMode::Auto, Credentials::default()),
    ];
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("localhost:9324"));
    headers.insert("x-amz-date", HeaderValue::from_static("20240501T120000Z"));
    if let Ok(value) = HeaderValue::from_bytes(data) {
        headers.insert("authorization", value);
        let uri = Uri::from_static("/");
        for v in &verifiers {
            let _ = v.verify(&Method::POST, &uri, &headers, data, now);
        }
        headers.remove("authorization");
    }
    if let Ok(uri) = format!("/000000000000/q1?{text}").parse::<Uri>() {
        for v in &verifiers {
            let _ = v.verify(&Method::GET, &uri, &headers, b"", now);
        }
    }
});
