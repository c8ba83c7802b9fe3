//! SigV4 parsing, canonical request and signature checks, for header auth
//! (`Authorization: AWS4-HMAC-SHA256 …`) and presigned URLs (`X-Amz-*` query parameters).
//!
//! Follows "Create a signed AWS API request"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>) and
//! "Authenticating requests: using query parameters", checked against AWS's SigV4 test suite
//! and against what botocore, JS v3 and aws-sdk-rust actually sign (SQS-REFERENCE §9.1):
//!
//! - Canonical headers: exactly the client's `SignedHeaders`, values trimmed, runs of spaces
//!   collapsed, repeated headers joined with `,`.
//! - Canonical URI: the path as sent, dot segments and empty segments removed, then URI-encoded
//!   once more (`%` → `%25`), as every SDK does for non-S3 services.
//! - Canonical query: each parameter percent-decoded, then RFC 3986-encoded (only
//!   `A–Z a–z 0–9 - _ . ~` unescaped, upper-case hex) and sorted by key then value. A raw `+`
//!   is read as a space first (form semantics, as aws-sigv4 and Go's signer do); if that does
//!   not verify, it is read as a literal `+` (what JS v3's URL parser does).
//! - Payload hash: the signed `x-amz-content-sha256` value when present (checked against the
//!   body when it is a hash; `UNSIGNED-PAYLOAD` is taken as is), else SHA-256 of the body, also
//!   for presigned URLs (botocore does not use `UNSIGNED-PAYLOAD` for SQS).
//!
//! The HMAC chain is `aws_sigv4::sign::v4`'s. Nothing here logs or returns a secret; the
//! `SignatureDoesNotMatch` message carries the canonical request and string-to-sign, as AWS's
//! does, with any session token redacted.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method, Uri};
use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::{AuthError, SIGNATURE_DOES_NOT_MATCH_MESSAGE};
use crate::error::ErrorCode;

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last element of a credential scope.
pub const TERMINATOR: &str = "aws4_request";
/// Hex SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// Longest validity of a presigned URL (7 days), per AWS.
pub const MAX_EXPIRES_SECS: u64 = 604_800;

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

const Q_ALGORITHM: &[u8] = b"X-Amz-Algorithm";
const Q_CREDENTIAL: &[u8] = b"X-Amz-Credential";
const Q_DATE: &[u8] = b"X-Amz-Date";
const Q_EXPIRES: &[u8] = b"X-Amz-Expires";
const Q_SIGNED_HEADERS: &[u8] = b"X-Amz-SignedHeaders";
const Q_SIGNATURE: &[u8] = b"X-Amz-Signature";
const Q_SECURITY_TOKEN: &[u8] = b"X-Amz-Security-Token";

/// RFC 3986 unreserved characters stay; everything else is `%XX`.
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same for paths, keeping `/`.
const PATH_ENCODE: &AsciiSet = &QUERY_ENCODE.remove(b'/');

/// The parts of a request that signing covers.
#[derive(Clone, Copy, Debug)]
pub struct RequestParts<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// `AKID/yyyymmdd/region/service/aws4_request`, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    /// `yyyymmdd`.
    pub date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
}

impl Credential {
    /// `yyyymmdd/region/service/terminator`, as it appears in the string to sign.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

/// A parsed `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationHeader {
    pub credential: Credential,
    /// Lower-cased header names, in the client's order.
    pub signed_headers: Vec<String>,
    /// Lower-case hex, 64 characters.
    pub signature: String,
}

/// Where the signature travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization` header.
    Header,
    /// Presigned URL, valid for `expires` seconds after its `X-Amz-Date`.
    Presigned { expires: u64 },
}

/// Percent-decoded query pairs, borrowing from the URI where nothing needed decoding.
type QueryPairs<'a> = Vec<QueryPair<'a>>;
type QueryPair<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// Everything extracted from a signed request, before any check against a secret.
#[derive(Clone, Debug)]
pub struct SignedAuth<'a> {
    pub style: AuthStyle,
    pub credential: Credential,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// The request time in ISO 8601 basic format (`yyyymmddThhmmssZ`), as signed.
    pub amz_date: String,
    /// The request time, seconds since the Unix epoch.
    pub request_time: u64,
    /// The query string, percent-decoded with `+` read as a space.
    query: QueryPairs<'a>,
}

fn incomplete(message: impl Into<String>) -> AuthError {
    AuthError::new(ErrorCode::IncompleteSignature, message)
}

fn mismatch(message: impl Into<String>) -> AuthError {
    AuthError::new(ErrorCode::SignatureDoesNotMatch, message)
}

/// Quotes client input in an error message, bounded so a huge header cannot bloat the reply.
fn echo(value: &str) -> Cow<'_, str> {
    const MAX: usize = 256;
    if value.len() <= MAX {
        return Cow::Borrowed(value);
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}...", &value[..end]))
}

/// Parses an `Authorization` header value. Tolerant of spacing: the parts may be separated by
/// `,`, `, ` or whitespace, in any order; unknown parts are ignored. A missing or repeated
/// `Credential`, `SignedHeaders` or `Signature` → `IncompleteSignature`.
pub fn parse_authorization(value: &str) -> Result<AuthorizationHeader, AuthError> {
    let trimmed = value.trim();
    let (algorithm, rest) = match trimmed.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => trimmed.split_at(i),
        None => (trimmed, ""),
    };
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'; only '{ALGORITHM}' is supported. Authorization={}",
            echo(algorithm),
            echo(trimmed)
        )));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for token in rest
        .split([',', ' ', '\t', '\n', '\r', '\x0c'])
        .filter(|t| !t.is_empty())
    {
        let Some((key, val)) = token.split_once('=') else {
            return Err(incomplete(format!(
                "Invalid key=value pair (missing equal-sign) in Authorization header: '{}'. Authorization={}",
                echo(token),
                echo(trimmed)
            )));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(val).is_some() {
            return Err(incomplete(format!(
                "Authorization header has more than one '{key}' parameter. Authorization={}",
                echo(trimmed)
            )));
        }
    }
    let mut missing = String::new();
    for (name, part) in [
        ("Credential", &credential),
        ("Signature", &signature),
        ("SignedHeaders", &signed_headers),
    ] {
        if part.is_none() {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => Ok(AuthorizationHeader {
            credential: parse_credential(credential)?,
            signed_headers: parse_signed_headers(signed_headers)?,
            signature: parse_signature(signature)?,
        }),
        _ => Err(incomplete(format!(
            "{missing}Authorization={}",
            echo(trimmed)
        ))),
    }
}

/// Parses `AKID/yyyymmdd/region/service/terminator`. Structure only: the service, terminator
/// and date are compared with what they must be by the verifier (→ `SignatureDoesNotMatch`).
pub fn parse_credential(value: &str) -> Result<Credential, AuthError> {
    let bad = || {
        incomplete(format!(
            "Credential should be scoped as '<access key>/<yyyymmdd>/<region>/sqs/{TERMINATOR}', got '{}'.",
            echo(value)
        ))
    };
    // The access key is the first element; everything else has no '/' by construction.
    let mut parts = value.rsplitn(5, '/');
    let terminator = parts.next().ok_or_else(bad)?;
    let service = parts.next().ok_or_else(bad)?;
    let region = parts.next().ok_or_else(bad)?;
    let date = parts.next().ok_or_else(bad)?;
    let access_key = parts.next().ok_or_else(bad)?;
    if [access_key, region, service, terminator]
        .iter()
        .any(|p| p.is_empty())
    {
        return Err(bad());
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(format!(
            "Credential scope date must be yyyymmdd, got '{}'.",
            echo(date)
        )));
    }
    Ok(Credential {
        access_key: access_key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        terminator: terminator.to_string(),
    })
}

/// Parses `a;b;c` into lower-cased header names.
pub fn parse_signed_headers(value: &str) -> Result<Vec<String>, AuthError> {
    let is_tchar = |b: u8| {
        matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'!' | b'#' | b'$' | b'%' | b'&'
            | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
    };
    if value
        .split(';')
        .any(|n| n.is_empty() || !n.bytes().all(is_tchar))
    {
        return Err(incomplete(format!(
            "SignedHeaders must be a ';'-separated list of header names, got '{}'.",
            echo(value)
        )));
    }
    Ok(value.split(';').map(str::to_ascii_lowercase).collect())
}

/// A signature is 64 hex digits; returned lower-cased.
pub fn parse_signature(value: &str) -> Result<String, AuthError> {
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(incomplete(format!(
            "Signature must be 64 hexadecimal characters, got '{}'.",
            echo(value)
        )));
    }
    Ok(value.to_ascii_lowercase())
}

/// Pulls the SigV4 material out of a request: the `Authorization` header or the presigned
/// query parameters (not both).
pub fn extract<'a>(request: &RequestParts<'a>) -> Result<SignedAuth<'a>, AuthError> {
    let query = parse_query(request.uri.query().unwrap_or(""), PlusMode::Space);
    let query_auth = query
        .iter()
        .any(|(k, _)| [Q_ALGORITHM, Q_CREDENTIAL, Q_SIGNATURE].contains(&k.as_ref()));
    let mut authorization = request.headers.get_all(http::header::AUTHORIZATION).iter();
    match (authorization.next(), authorization.next(), query_auth) {
        (None, _, false) => Err(AuthError::new(
            ErrorCode::MissingAuthenticationToken,
            "Request is missing Authentication Token",
        )),
        (Some(_), _, true) => Err(incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.",
        )),
        (Some(_), Some(_), false) => Err(incomplete(
            "The request has more than one Authorization header.",
        )),
        (Some(value), None, false) => {
            let value = value
                .to_str()
                .map_err(|_| incomplete("The Authorization header is not valid ASCII."))?;
            from_header(value, request.headers, query)
        }
        (None, _, true) => from_query(query),
    }
}

/// The region of the request's credential scope (`Authorization` header, else the presigned
/// `X-Amz-Credential` parameter), read without checking anything else: `None` when the request
/// carries no well-formed scope. SQS takes a request's region from here, never from its host
/// (SQS-REFERENCE §9.1).
pub fn scope_region(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let parsed = parse_authorization(value.to_str().ok()?).ok()?;
        return Some(parsed.credential.region);
    }
    let query = uri.query().filter(|q| q.contains("X-Amz-Credential"))?;
    let pairs = parse_query(query, PlusMode::Space);
    let (_, credential) = pairs.iter().find(|(k, _)| k.as_ref() == Q_CREDENTIAL)?;
    let credential = parse_credential(std::str::from_utf8(credential).ok()?).ok()?;
    Some(credential.region)
}

fn from_header<'a>(
    value: &str,
    headers: &HeaderMap,
    query: QueryPairs<'a>,
) -> Result<SignedAuth<'a>, AuthError> {
    let parsed = parse_authorization(value)?;
    let (amz_date, request_time) = if let Some(date) = headers.get(X_AMZ_DATE) {
        let text = date.to_str().unwrap_or("");
        let time = parse_amz_date(text.trim()).ok_or_else(|| {
            incomplete(format!(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got '{}'.",
                echo(text)
            ))
        })?;
        (text.trim().to_string(), time)
    } else if let Some(date) = headers.get(http::header::DATE) {
        let text = date.to_str().unwrap_or("");
        let time = parse_http_date(text.trim()).ok_or_else(|| {
            incomplete(format!(
                "Date must be an HTTP date or ISO8601 \"yyyyMMdd'T'HHmmss'Z'\", got '{}'.",
                echo(text)
            ))
        })?;
        (format_amz_date(time), time)
    } else {
        return Err(incomplete(format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={}",
            echo(value.trim())
        )));
    };
    Ok(SignedAuth {
        style: AuthStyle::Header,
        credential: parsed.credential,
        signed_headers: parsed.signed_headers,
        signature: parsed.signature,
        amz_date,
        request_time,
        query,
    })
}

fn from_query(query: QueryPairs<'_>) -> Result<SignedAuth<'_>, AuthError> {
    let get = |name: &[u8]| -> Result<Option<&str>, AuthError> {
        let mut values = query
            .iter()
            .filter(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v);
        let first = values.next();
        if values.next().is_some() {
            return Err(incomplete(format!(
                "Query parameter '{}' appears more than once.",
                String::from_utf8_lossy(name)
            )));
        }
        first
            .map(|v| {
                std::str::from_utf8(v).map_err(|_| {
                    incomplete(format!(
                        "Query parameter '{}' is not valid UTF-8.",
                        String::from_utf8_lossy(name)
                    ))
                })
            })
            .transpose()
    };
    let (
        Some(algorithm),
        Some(credential),
        Some(signature),
        Some(date),
        Some(signed_headers),
        Some(expires),
    ) = (
        get(Q_ALGORITHM)?,
        get(Q_CREDENTIAL)?,
        get(Q_SIGNATURE)?,
        get(Q_DATE)?,
        get(Q_SIGNED_HEADERS)?,
        get(Q_EXPIRES)?,
    )
    else {
        return Err(incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. Re-examine the query-string parameters.",
        ));
    };
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\", got '{}'.",
            echo(algorithm)
        )));
    }
    let request_time = parse_amz_date(date).ok_or_else(|| {
        incomplete(format!(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got '{}'.",
            echo(date)
        ))
    })?;
    let expires = Some(expires)
        .filter(|e| !e.is_empty() && e.len() <= 7 && e.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|e| e.parse::<u64>().ok())
        .filter(|e| (1..=MAX_EXPIRES_SECS).contains(e))
        .ok_or_else(|| {
            incomplete(format!(
                "X-Amz-Expires must be a number of seconds from 1 to {MAX_EXPIRES_SECS}, got '{}'.",
                echo(expires)
            ))
        })?;
    let credential = parse_credential(credential)?;
    let signed_headers = parse_signed_headers(signed_headers)?;
    let signature = parse_signature(signature)?;
    let amz_date = date.to_string();
    Ok(SignedAuth {
        style: AuthStyle::Presigned { expires },
        credential,
        signed_headers,
        signature,
        amz_date,
        request_time,
        query,
    })
}

/// Scope rules that hold whether or not the signature can be checked: the scope names
/// `service` and `aws4_request`, its date is the request's date, and `host` is signed.
pub fn check_scope(auth: &SignedAuth<'_>, service: &str) -> Result<(), AuthError> {
    let c = &auth.credential;
    if c.terminator != TERMINATOR {
        return Err(mismatch(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'.",
            echo(&c.terminator)
        )));
    }
    if c.service != service {
        return Err(mismatch(format!(
            "Credential should be scoped to correct service: '{service}'."
        )));
    }
    if !auth.amz_date.starts_with(c.date.as_str()) {
        return Err(mismatch(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            c.date,
            &auth.amz_date[..8],
            auth.amz_date
        )));
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(mismatch(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(())
}

/// Clock checks: a header-signed request must be within `max_skew` of `now` either way; a
/// presigned URL is valid from `max_skew` before its date until `X-Amz-Expires` after it.
pub fn check_time(
    auth: &SignedAuth<'_>,
    now: SystemTime,
    max_skew: Duration,
) -> Result<(), AuthError> {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let skew = max_skew.as_secs();
    let minutes = skew / 60;
    let t = auth.request_time;
    if t > now.saturating_add(skew) {
        return Err(AuthError::new(
            ErrorCode::RequestExpired,
            format!(
                "Signature not yet current: {} is still later than {} ({} + {minutes} min.)",
                auth.amz_date,
                format_amz_date(now.saturating_add(skew)),
                format_amz_date(now)
            ),
        ));
    }
    match auth.style {
        AuthStyle::Header if t.saturating_add(skew) < now => Err(AuthError::new(
            ErrorCode::RequestExpired,
            format!(
                "Signature expired: {} is now earlier than {} ({} - {minutes} min.)",
                auth.amz_date,
                format_amz_date(now.saturating_sub(skew)),
                format_amz_date(now)
            ),
        )),
        AuthStyle::Presigned { expires } if t.saturating_add(expires) < now => Err(AuthError::new(
            ErrorCode::RequestExpired,
            format!(
                "Request has expired: signed at {}, valid for {expires} seconds, now {}.",
                auth.amz_date,
                format_amz_date(now)
            ),
        )),
        _ => Ok(()),
    }
}

/// The payload hash to sign with: the signed `x-amz-content-sha256` (see
/// [`signed_content_hash`]), else SHA-256 of the body.
pub fn payload_hash(
    auth: &SignedAuth<'_>,
    request: &RequestParts<'_>,
) -> Result<String, AuthError> {
    match signed_content_hash(auth, request)? {
        Some(value) => Ok(value),
        None => Ok(HexDigest::of(request.body).as_str().to_string()),
    }
}

/// A signed `x-amz-content-sha256`, used as sent (JS v3 sends one; it may be
/// `UNSIGNED-PAYLOAD`); when it is a hash it must be the body's, otherwise the body could be
/// swapped under a valid signature. `None` when the request signs no such header.
pub fn signed_content_hash(
    auth: &SignedAuth<'_>,
    request: &RequestParts<'_>,
) -> Result<Option<String>, AuthError> {
    if !auth
        .signed_headers
        .iter()
        .any(|h| h == X_AMZ_CONTENT_SHA256)
    {
        return Ok(None);
    }
    let Some(value) = request.headers.get(X_AMZ_CONTENT_SHA256) else {
        return Ok(None);
    };
    let value = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
    let is_hash = value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hash && !value.eq_ignore_ascii_case(HexDigest::of(request.body).as_str()) {
        return Err(mismatch(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    Ok(Some(value))
}

/// The SigV4 signing key of `secret` for the request's credential scope (date, region, service).
pub fn signing_key(auth: &SignedAuth<'_>, secret: &str) -> Vec<u8> {
    let c = &auth.credential;
    let time = UNIX_EPOCH + Duration::from_secs(auth.request_time);
    aws_sigv4::sign::v4::generate_signing_key(secret, time, &c.region, &c.service)
        .as_ref()
        .to_vec()
}

/// Recomputes the signature with the scope's `signing_key` and compares it in constant time.
pub fn check_signature(
    auth: &SignedAuth<'_>,
    request: &RequestParts<'_>,
    payload_hash: &str,
    signing_key: &[u8],
) -> Result<(), AuthError> {
    let matches = |creq: &[u8]| {
        let sts = string_to_sign(auth, creq);
        let expected = aws_sigv4::sign::v4::calculate_signature(signing_key, &sts);
        bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes()))
    };

    let creq = canonical_request(auth, request, &auth.query, payload_hash, false);
    if matches(&creq) {
        return Ok(());
    }
    let raw_query = request.uri.query().unwrap_or("");
    if raw_query.contains('+') {
        let literal = parse_query(raw_query, PlusMode::Literal);
        if matches(&canonical_request(
            auth,
            request,
            &literal,
            payload_hash,
            false,
        )) {
            return Ok(());
        }
    }
    let shown = canonical_request(auth, request, &auth.query, payload_hash, true);
    Err(mismatch(format!(
        "{SIGNATURE_DOES_NOT_MATCH_MESSAGE}\n\nThe Canonical String for this request should have been\n'{}'\n\nThe String-to-Sign should have been\n'{}'\n",
        String::from_utf8_lossy(&shown),
        String::from_utf8_lossy(&string_to_sign(auth, &creq))
    )))
}

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
fn canonical_request(
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
fn canonical_query<'a, 'b: 'a>(
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
enum PlusMode {
    /// As a space (`application/x-www-form-urlencoded`).
    Space,
    /// As a literal plus sign.
    Literal,
}

/// Splits a raw query string into percent-decoded pairs; empty pieces are skipped and a
/// piece without `=` is a key with an empty value.
fn parse_query(raw: &str, plus: PlusMode) -> QueryPairs<'_> {
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
struct HexDigest([u8; 64]);

impl HexDigest {
    fn of(bytes: &[u8]) -> Self {
        let mut out = [0u8; 64];
        hex::encode_to_slice(Sha256::digest(bytes), &mut out).expect("64 hex digits");
        HexDigest(out)
    }
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex is ASCII")
    }
}

// ---- dates ---------------------------------------------------------------------------------

/// ISO 8601 basic, as SigV4 signs it: `yyyymmddThhmmssZ`.
const AMZ_DATE: &[BorrowedFormatItem<'_>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
/// IMF-fixdate after its `Weekday, ` (which is not checked): `06 Nov 1994 08:49:37 GMT`.
const IMF_FIXDATE: &[BorrowedFormatItem<'_>] =
    format_description!("[day] [month repr:short] [year] [hour]:[minute]:[second] GMT");

/// Parses `s` with `format` as a UTC time from 1970 to 9999 into seconds since the Unix epoch.
/// `time` reads a signed year (`+2015`); neither format has one, so a sign is refused first.
fn parse_utc(s: &str, format: &[BorrowedFormatItem<'_>]) -> Option<u64> {
    if s.contains(['+', '-']) {
        return None;
    }
    let t = PrimitiveDateTime::parse(s, format).ok()?.assume_utc();
    u64::try_from(t.unix_timestamp()).ok()
}

/// Parses ISO 8601 basic `yyyymmddThhmmssZ` into seconds since the Unix epoch.
pub fn parse_amz_date(s: &str) -> Option<u64> {
    parse_utc(s, AMZ_DATE)
}

/// Parses a `Date` header: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) or ISO 8601 basic.
pub fn parse_http_date(s: &str) -> Option<u64> {
    if let Some(t) = parse_amz_date(s) {
        return Some(t);
    }
    let (_weekday, rest) = s.split_once(", ")?;
    parse_utc(rest, IMF_FIXDATE)
}

/// Seconds since the Unix epoch → `yyyymmddThhmmssZ`; past year 9999, the last second of 9999.
pub fn format_amz_date(secs: u64) -> String {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(PrimitiveDateTime::MAX.assume_utc());
    // Formatting a UTC time with this description cannot fail.
    t.format(AMZ_DATE).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn header(cred: &str, signed: &str, sig: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed}, Signature={sig}")
    }

    #[test]
    fn parses_standard_header() {
        let h = header(
            "AKID/20150830/us-east-1/sqs/aws4_request",
            "content-type;host;x-amz-date",
            SIG,
        );
        let parsed = parse_authorization(&h).unwrap();
        assert_eq!(parsed.credential.access_key, "AKID");
        assert_eq!(parsed.credential.date, "20150830");
        assert_eq!(parsed.credential.region, "us-east-1");
        assert_eq!(parsed.credential.service, "sqs");
        assert_eq!(parsed.credential.terminator, "aws4_request");
        assert_eq!(
            parsed.credential.scope(),
            "20150830/us-east-1/sqs/aws4_request"
        );
        assert_eq!(
            parsed.signed_headers,
            ["content-type", "host", "x-amz-date"]
        );
        assert_eq!(parsed.signature, SIG);
    }

    #[test]
    fn scope_region_from_header_or_presigned_query() {
        let region = |uri: &str, authorization: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(a) = authorization {
                headers.insert(http::header::AUTHORIZATION, a.parse().unwrap());
            }
            scope_region(&uri.parse().unwrap(), &headers)
        };
        let signed = header(
            "AKID/20261128/eu-west-1/sqs/aws4_request",
            "content-type;host;x-amz-date",
            SIG,
        );
        assert_eq!(region("/", Some(&signed)).as_deref(), Some("eu-west-1"));
        let presigned = "/?Action=ListQueues&X-Amz-Algorithm=AWS4-HMAC-SHA256\
            &X-Amz-Credential=AKID%2F20261128%2Fap-southeast-2%2Fsqs%2Faws4_request\
            &X-Amz-Date=20261128T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host\
            &X-Amz-Signature=00";
        assert_eq!(region(presigned, None).as_deref(), Some("ap-southeast-2"));
        // The header wins over the query; nothing well-formed → no region.
        assert_eq!(
            region(presigned, Some(&signed)).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region("/?Action=ListQueues", None), None);
        assert_eq!(region("/", Some("total nonsense")), None);
        assert_eq!(
            region("/?X-Amz-Credential=AKID%2Fsqs%2Faws4_request", None),
            None
        );
    }

    #[test]
    fn tolerates_spacing_order_and_case_of_hex() {
        let forms = [
            format!("AWS4-HMAC-SHA256 Credential=A/20150830/r/sqs/aws4_request,SignedHeaders=host,Signature={SIG}"),
            format!("  AWS4-HMAC-SHA256   Credential=A/20150830/r/sqs/aws4_request ,  SignedHeaders=host ,Signature={SIG}  "),
            format!("AWS4-HMAC-SHA256 Signature={SIG}, Credential=A/20150830/r/sqs/aws4_request, SignedHeaders=host"),
            format!("AWS4-HMAC-SHA256 Credential=A/20150830/r/sqs/aws4_request SignedHeaders=host Signature={}", SIG.to_uppercase()),
            format!("AWS4-HMAC-SHA256\tCredential=A/20150830/r/sqs/aws4_request,\tSignedHeaders=host, Signature={SIG}, Extra=ignored"),
        ];
        for form in forms {
            let parsed = parse_authorization(&form).unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!(parsed.credential.access_key, "A");
            assert_eq!(parsed.signed_headers, ["host"]);
            assert_eq!(parsed.signature, SIG);
        }
    }

    #[test]
    fn each_missing_part_is_incomplete() {
        let cred = "Credential=A/20150830/r/sqs/aws4_request";
        let sh = "SignedHeaders=host";
        let sig = format!("Signature={SIG}");
        let cases = [
            (format!("AWS4-HMAC-SHA256 {sh}, {sig}"), "'Credential'"),
            (format!("AWS4-HMAC-SHA256 {cred}, {sig}"), "'SignedHeaders'"),
            (format!("AWS4-HMAC-SHA256 {cred}, {sh}"), "'Signature'"),
            ("AWS4-HMAC-SHA256".to_string(), "'Credential'"),
            ("".to_string(), "algorithm"),
            (format!("AWS4-HMAC-SHA1 {cred}, {sh}, {sig}"), "algorithm"),
            (
                format!("AWS4-HMAC-SHA256 {cred}, {sh}, {sig}, {sig}"),
                "more than one",
            ),
            (
                format!("AWS4-HMAC-SHA256 {cred}, {sh}, Signature"),
                "equal-sign",
            ),
            (
                format!("AWS4-HMAC-SHA256 {cred}, {sh}, Signature=abc"),
                "64 hex",
            ),
            (
                format!("AWS4-HMAC-SHA256 {cred}, {sh}, Signature={}", &SIG[1..]),
                "64 hex",
            ),
            (
                format!("AWS4-HMAC-SHA256 {cred}, {sh}, Signature={}z", &SIG[1..]),
                "64 hex",
            ),
            (
                format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=, {sig}"),
                "SignedHeaders",
            ),
            (
                format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;;x, {sig}"),
                "SignedHeaders",
            ),
            (
                format!("AWS4-HMAC-SHA256 Credential=A/20150830/r/sqs, {sh}, {sig}"),
                "scoped",
            ),
            (
                format!("AWS4-HMAC-SHA256 Credential=/20150830/r/sqs/aws4_request, {sh}, {sig}"),
                "scoped",
            ),
            (
                format!("AWS4-HMAC-SHA256 Credential=A/2015083/r/sqs/aws4_request, {sh}, {sig}"),
                "yyyymmdd",
            ),
            (
                format!("AWS4-HMAC-SHA256 Credential=A/20150830//sqs/aws4_request, {sh}, {sig}"),
                "scoped",
            ),
            (
                format!("AWS4-HMAC-SHA256 Credential=, {sh}, {sig}"),
                "scoped",
            ),
        ];
        for (value, expect) in cases {
            let err = parse_authorization(&value).expect_err(&value);
            assert_eq!(err.code, ErrorCode::IncompleteSignature, "{value}");
            assert!(
                err.message.contains(expect),
                "{value}: {} lacks {expect}",
                err.message
            );
        }
    }

    #[test]
    fn missing_parts_are_all_named() {
        let err = parse_authorization("AWS4-HMAC-SHA256 Foo=bar").unwrap_err();
        for part in ["'Credential'", "'Signature'", "'SignedHeaders'"] {
            assert!(err.message.contains(part), "{}", err.message);
        }
    }

    #[test]
    fn credential_keeps_slashes_in_access_key_field() {
        let c = parse_credential("A/B/20150830/eu-west-1/sqs/aws4_request").unwrap();
        assert_eq!(c.access_key, "A/B");
        assert_eq!(c.region, "eu-west-1");
    }

    #[test]
    fn amz_dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
        for bad in [
            "20150830T123600",
            "20150830 123600Z",
            "2015083OT123600Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20230229T000000Z",
            "20150830T246000Z",
            "19691231T235959Z",
            "+0150830T123600Z",
            "+20150830T123600Z",
            "20150830T123660Z",
            "",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        for secs in [0, 951_782_400, 1_440_938_160, 1_709_251_199, 4_102_444_800] {
            assert_eq!(parse_amz_date(&format_amz_date(secs)), Some(secs));
        }
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_http_date("20150830T123600Z"), Some(1_440_938_160));
        for bad in [
            "Sun, 30 Aug 2015 12:36:00 UTC",
            "Sun, 30 Foo 2015 12:36:00 GMT",
            "Sun, 30 Aug 2015 12:36 GMT",
            "30 Aug 2015 12:36:00 GMT",
            "Sun, 31 Sep 2015 12:36:00 GMT",
            "Sun, 30 Aug +2015 12:36:00 GMT",
            "Sun, 30 aug 2015 12:36:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_uris() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/000000000000/q1"), "/000000000000/q1");
        assert_eq!(
            canonical_uri("/000000000000/q1.fifo"),
            "/000000000000/q1.fifo"
        );
        assert_eq!(canonical_uri("//example//"), "/example/");
        assert_eq!(canonical_uri("/a/./b/../c"), "/a/c");
        assert_eq!(canonical_uri("/a/.."), "/");
        // Already-encoded paths are encoded once more (AWS test suite "double-url-encode").
        assert_eq!(
            canonical_uri("/2015-03-31/functions/arn%3Aaws%3Alambda/invocations"),
            "/2015-03-31/functions/arn%253Aaws%253Alambda/invocations"
        );
        assert_eq!(
            canonical_uri("/test/@connections/JBDvjfGEIAMCERw%3D"),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
    }

    #[test]
    fn canonical_queries() {
        let q = |raw: &str, plus| {
            let pairs = parse_query(raw, plus);
            canonical_query(pairs.iter(), false)
        };
        assert_eq!(q("", PlusMode::Space), "");
        assert_eq!(
            q(
                "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
                PlusMode::Space
            ),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(q("b=2&a=1&a=0", PlusMode::Space), "a=0&a=1&b=2");
        assert_eq!(q("flag&&x=", PlusMode::Space), "flag=&x=");
        assert_eq!(q("m=a%20b", PlusMode::Space), "m=a%20b");
        assert_eq!(q("m=a+b", PlusMode::Space), "m=a%20b");
        assert_eq!(q("m=a+b", PlusMode::Literal), "m=a%2Bb");
        assert_eq!(q("m=a%2Bb", PlusMode::Space), "m=a%2Bb");
        assert_eq!(q("m=%7e%2a%2F", PlusMode::Space), "m=~%2A%2F");
        assert_eq!(q("m=a*b'c", PlusMode::Space), "m=a%2Ab%27c");
        // Invalid UTF-8 escapes survive byte for byte.
        assert_eq!(q("m=%FF", PlusMode::Space), "m=%FF");
    }

    /// A small deterministic generator (SplitMix64) so the randomized test is reproducible.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn randomized_garbage_never_panics() {
        let seeds = [
            header(
                "AKID/20150830/us-east-1/sqs/aws4_request",
                "content-type;host;x-amz-date",
                SIG,
            ),
            "AKID/20150830/us-east-1/sqs/aws4_request".to_string(),
            "Sun, 30 Aug 2015 12:36:00 GMT".to_string(),
            "20150830T123600Z".to_string(),
        ];
        let alphabet: Vec<char> = "AWS4-HMAC-SHA256 Credential=SignedHeaders=Signature=/,;= \t0123456789abcdefé\u{0}\u{ffff}ሴ%+"
            .chars()
            .collect();
        let mut rng = Rng(0x00C0_FFEE);
        for _ in 0..20_000 {
            let mut chars: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
            for _ in 0..=rng.below(6) {
                match rng.below(5) {
                    0 if !chars.is_empty() => {
                        let i = rng.below(chars.len());
                        chars.remove(i);
                    }
                    1 => {
                        let i = rng.below(chars.len() + 1);
                        chars.insert(i, alphabet[rng.below(alphabet.len())]);
                    }
                    2 if !chars.is_empty() => {
                        let i = rng.below(chars.len());
                        chars[i] = alphabet[rng.below(alphabet.len())];
                    }
                    3 if !chars.is_empty() => {
                        let i = rng.below(chars.len());
                        chars.truncate(i);
                    }
                    _ => {
                        let i = rng.below(chars.len() + 1);
                        let dup: Vec<char> = chars[..i].to_vec();
                        chars.extend(dup);
                    }
                }
            }
            let s: String = chars.into_iter().collect();
            let _ = parse_authorization(&s);
            let _ = parse_credential(&s);
            let _ = parse_signed_headers(&s);
            let _ = parse_amz_date(&s);
            let _ = parse_http_date(&s);
            let _ = canonical_uri(&s);
            let _ = parse_query(&s, PlusMode::Space);
            // Anything accepted must round-trip its invariants.
            if let Ok(parsed) = parse_authorization(&s) {
                assert_eq!(parsed.signature.len(), 64);
                assert!(!parsed.credential.access_key.is_empty());
                assert!(!parsed.signed_headers.is_empty());
            }
        }
    }

    #[test]
    fn echo_is_bounded_and_char_safe() {
        let long = "ሴ".repeat(1000);
        let shown = echo(&long);
        assert!(shown.len() < 300);
        assert!(shown.ends_with("..."));
    }
}
