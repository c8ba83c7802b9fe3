//! The canonical request and string to sign, and the query and path encodings they use.

use std::borrow::Cow;

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use super::{
    AuthStyle, QueryPair, QueryPairs, RequestParts, SignedAuth, ALGORITHM, Q_SECURITY_TOKEN,
    Q_SIGNATURE, X_AMZ_SECURITY_TOKEN,
};

/// RFC 3986 unreserved characters stay; everything else is `%XX`.
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same for paths, keeping `/`.
const PATH_ENCODE: &AsciiSet = &QUERY_ENCODE.remove(b'/');

/// `AWS4-HMAC-SHA256 \n date \n scope \n hex(sha256(canonical request))`.
pub fn string_to_sign(auth: &SignedAuth<'_>, canonical_request: &[u8]) -> Vec<u8> {
    let c = &auth.credential;
    let mut out = Vec::with_capacity(160);
    for part in [
        ALGORITHM,
        "\n",
        &auth.amz_date,
        "\n",
        &c.date,
        "/",
        &c.region,
        "/",
        &c.service,
        "/",
        &c.terminator,
        "\n",
        HexDigest::of(canonical_request).as_str(),
    ] {
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// The canonical request over the client's signed headers. `redact` hides session tokens
/// (for error messages only).
pub(super) fn canonical_request(
    auth: &SignedAuth<'_>,
    request: &RequestParts<'_>,
    query: &[QueryPair<'_>],
    payload_hash: &str,
    redact: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(request.method.as_str().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(request.uri.path()).as_bytes());
    out.push(b'\n');
    let skip_signature = matches!(auth.style, AuthStyle::Presigned { .. });
    let pairs = query
        .iter()
        .filter(|(k, _)| !(skip_signature && k.as_ref() == Q_SIGNATURE));
    out.extend_from_slice(canonical_query(pairs, redact).as_bytes());
    out.push(b'\n');
    for name in &auth.signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        if redact && name == X_AMZ_SECURITY_TOKEN {
            out.extend_from_slice(b"** redacted **");
        } else {
            canonical_header_value(request, name, &mut out);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    for (i, name) in auth.signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// All values of one header, each trimmed with runs of spaces collapsed, joined by `,`.
/// A signed `host` missing from the headers (HTTP/2) is taken from the URI authority.
fn canonical_header_value(request: &RequestParts<'_>, name: &str, out: &mut Vec<u8>) {
    let mut any = false;
    for (i, value) in request.headers.get_all(name).iter().enumerate() {
        any = true;
        if i > 0 {
            out.push(b',');
        }
        let bytes = value.as_bytes();
        let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
        let end = bytes
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(start, |e| e + 1);
        let mut previous_space = false;
        for &b in &bytes[start..end] {
            if b == b' ' {
                if previous_space {
                    continue;
                }
                previous_space = true;
            } else {
                previous_space = false;
            }
            out.push(b);
        }
    }
    if !any && name == "host" {
        if let Some(authority) = request.uri.authority() {
            out.extend_from_slice(authority.as_str().as_bytes());
        }
    }
}

/// The canonical URI of a raw (still percent-encoded) path: empty → `/`, `.`/`..` and empty
/// segments removed (RFC 3986 §5.2.4, as aws-sigv4 does), then every byte outside the
/// unreserved set and `/` encoded, so an existing `%3A` becomes `%253A`.
pub fn canonical_uri(path: &str) -> String {
    let normalized = normalize_path(path);
    percent_encode(normalized.as_bytes(), PATH_ENCODE).to_string()
}

fn normalize_path(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        return Cow::Borrowed("/");
    }
    if path.starts_with('/') && !path.contains("//") && !path.contains('.') {
        return Cow::Borrowed(path);
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    let ends_with_slash = ["/", "/.", "/..", "/./", "/../"]
        .iter()
        .any(|s| path.ends_with(s));
    if ends_with_slash && !out.ends_with('/') {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Sorted `key=value` pairs (RFC 3986-encoded), joined by `&`.
pub(super) fn canonical_query<'a, 'b: 'a>(
    pairs: impl Iterator<Item = &'a QueryPair<'b>>,
    redact: bool,
) -> String {
    let mut encoded: Vec<(Cow<'a, str>, Cow<'a, str>)> = pairs
        .map(|(k, v)| {
            let value = if redact && k.as_ref() == Q_SECURITY_TOKEN {
                Cow::Borrowed("**redacted**")
            } else {
                Cow::from(percent_encode(v, QUERY_ENCODE))
            };
            (Cow::from(percent_encode(k, QUERY_ENCODE)), value)
        })
        .collect();
    encoded.sort_unstable();
    let capacity = encoded.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(capacity);
    for (i, (k, v)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// How a raw `+` in the query string is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PlusMode {
    /// As a space (`application/x-www-form-urlencoded`).
    Space,
    /// As a literal plus sign.
    Literal,
}

/// Splits a raw query string into percent-decoded pairs; empty pieces are skipped and a
/// piece without `=` is a key with an empty value.
pub(super) fn parse_query(raw: &str, plus: PlusMode) -> QueryPairs<'_> {
    fn decode(s: &str, plus: PlusMode) -> Cow<'_, [u8]> {
        if plus == PlusMode::Space && s.contains('+') {
            let spaced = s.replace('+', " ");
            Cow::Owned(percent_decode(spaced.as_bytes()).collect())
        } else {
            Cow::from(percent_decode(s.as_bytes()))
        }
    }
    raw.split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            (decode(k, plus), decode(v, plus))
        })
        .collect()
}

/// Lower-case hex SHA-256, on the stack.
pub(super) struct HexDigest([u8; 64]);

impl HexDigest {
    pub(super) fn of(bytes: &[u8]) -> Self {
        let mut out = [0u8; 64];
        hex::encode_to_slice(Sha256::digest(bytes), &mut out).expect("64 hex digits");
        HexDigest(out)
    }
    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex is ASCII")
    }
}
