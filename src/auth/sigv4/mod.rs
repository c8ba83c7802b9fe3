//! SigV4 parsing, canonical request and signature checks, for header auth
//! (`Authorization: AWS4-HMAC-SHA256 …`) and presigned URLs (`X-Amz-*` query parameters).
//!
//! Follows "Create a signed AWS API request"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>) and
//! "Authenticating requests: using query parameters", checked against AWS's SigV4 test suite
//! and against what botocore, JS v3 and aws-sdk-rust actually sign (the fixtures in `auth/tests.rs`):
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

mod canonical;
mod check;
mod date;
mod parse;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use http::{HeaderMap, Method, Uri};

use super::AuthError;
use crate::error::ErrorCode;

pub use canonical::{canonical_uri, string_to_sign};
pub use check::{
    check_scope, check_signature, check_time, payload_hash, signed_content_hash, signing_key,
};
pub use date::{format_amz_date, parse_amz_date, parse_http_date};
pub use parse::{
    extract, parse_authorization, parse_credential, parse_signature, parse_signed_headers,
    scope_region,
};

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last element of a credential scope.
pub const TERMINATOR: &str = "aws4_request";
/// Longest validity of a presigned URL (7 days), per AWS.
pub const MAX_EXPIRES_SECS: u64 = 604_800;

/// Header names looked up in every signed request, as `HeaderName`s (no parse per lookup).
static X_AMZ_DATE: http::HeaderName = http::HeaderName::from_static("x-amz-date");
static X_AMZ_CONTENT_SHA256_HEADER: http::HeaderName =
    http::HeaderName::from_static(X_AMZ_CONTENT_SHA256);
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

const Q_ALGORITHM: &[u8] = b"X-Amz-Algorithm";
const Q_CREDENTIAL: &[u8] = b"X-Amz-Credential";
const Q_DATE: &[u8] = b"X-Amz-Date";
const Q_EXPIRES: &[u8] = b"X-Amz-Expires";
const Q_SIGNED_HEADERS: &[u8] = b"X-Amz-SignedHeaders";
const Q_SIGNATURE: &[u8] = b"X-Amz-Signature";
const Q_SECURITY_TOKEN: &[u8] = b"X-Amz-Security-Token";

/// The parts of a request that signing covers.
#[derive(Clone, Copy, Debug)]
pub struct RequestParts<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// `AKID/yyyymmdd/region/service/aws4_request`, split; borrowed from the `Authorization`
/// header (owned when read from a percent-decoded query parameter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential<'a> {
    pub access_key: Cow<'a, str>,
    /// `yyyymmdd`.
    pub date: Cow<'a, str>,
    pub region: Cow<'a, str>,
    pub service: Cow<'a, str>,
    pub terminator: Cow<'a, str>,
}

impl Credential<'_> {
    /// `yyyymmdd/region/service/terminator`, as it appears in the string to sign.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }

    /// The same credential, owning its parts.
    pub fn into_owned(self) -> Credential<'static> {
        Credential {
            access_key: Cow::Owned(self.access_key.into_owned()),
            date: Cow::Owned(self.date.into_owned()),
            region: Cow::Owned(self.region.into_owned()),
            service: Cow::Owned(self.service.into_owned()),
            terminator: Cow::Owned(self.terminator.into_owned()),
        }
    }
}

/// A parsed `Authorization: AWS4-HMAC-SHA256 …` header, borrowing from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationHeader<'a> {
    pub credential: Credential<'a>,
    /// Lower-cased header names, in the client's order.
    pub signed_headers: Vec<Cow<'a, str>>,
    /// Lower-case hex, 64 characters.
    pub signature: Cow<'a, str>,
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
    pub credential: Credential<'a>,
    pub signed_headers: Vec<Cow<'a, str>>,
    pub signature: Cow<'a, str>,
    /// The request time in ISO 8601 basic format (`yyyymmddThhmmssZ`), as signed.
    pub amz_date: Cow<'a, str>,
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
