//! Query-protocol decoding: the first line is the request target (path and query string), the
//! rest the form body; the method is GET when the input starts with `G`. Decoding must not
//! panic; what decodes must name an action, and deserialize into a structure with every Query
//! shape (lists, maps, nested structures) without panicking, through the request's input and
//! straight from the parsed form.
#![no_main]

use cauda::fuzzing::Input as EveryShape;
use cauda::protocol::query::{decode, parse_params, QueryInput};
use cauda::protocol::{decode_query, Input};
use http::{Method, Uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (target, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let method = if data.first() == Some(&b'G') {
        Method::GET
    } else {
        Method::POST
    };
    let uri = Uri::try_from(target).unwrap_or_else(|_| Uri::from_static("/"));
    if let Ok(decoded) = decode_query(&method, &uri, body) {
        let Input::Query(params) = &decoded.input else {
            panic!("a Query request decoded to JSON input");
        };
        assert!(params
            .iter()
            .any(|(k, v)| k == "Action" && *v == decoded.operation));
        let _ = decoded.input.queue_name();
        let _ = decoded.input.decode::<EveryShape>();
    }
    if let Ok(params) = parse_params(body) {
        let _ = decode::<EveryShape>(&params, EveryShape::FIELDS);
    }
});
