//! JSON 1.0 decoding: the first line is the `X-Amz-Target` header value, the rest the body.
//! Decoding must not panic; a body it accepts must be blank or one JSON object (its invalid
//! UTF-8, if any, replaced), and decoding into a structure with every member kind (lists,
//! maps, nested structures) must not panic.
#![no_main]

use bytes::Bytes;
use cauda::fuzzing::Input as EveryShape;
use cauda::protocol::decode_json;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (target, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(target) {
        headers.insert("x-amz-target", value);
    }
    let body = Bytes::copy_from_slice(body);
    if let Ok(decoded) = decode_json(&headers, body.clone()) {
        assert!(!decoded.operation.is_empty() || target == b"AmazonSQS.");
        if body.iter().any(|b| !b.is_ascii_whitespace()) {
            // serde_json skips the members nobody reads without checking their UTF-8, so bad
            // bytes there pass (as they do on their way to the action's input); the structure
            // around them must be one JSON object.
            // Nor does it read the numbers it skips, so an exponent too large for an f64 passes
            // too: valid JSON, which serde_json's own value type cannot hold.
            let text = String::from_utf8_lossy(&body);
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(value) => assert!(value.is_object(), "an accepted body is an object"),
                Err(e) => {
                    assert!(e.to_string().starts_with("number out of range"), "{e}");
                    assert!(text.trim_start().starts_with('{'));
                }
            }
        }
        let _ = decoded.input.queue_name();
        let _ = decoded.input.decode::<EveryShape>();
    }
});
