//! The checks on extracted SigV4 material: scope, clock, payload hash and signature.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::canonical::{canonical_request, parse_query, string_to_sign, HexDigest, PlusMode};
use super::date::format_amz_date;
use super::{
    echo, mismatch, AuthStyle, RequestParts, SignedAuth, TERMINATOR, X_AMZ_CONTENT_SHA256,
    X_AMZ_CONTENT_SHA256_HEADER,
};
use crate::auth::{AuthError, SIGNATURE_DOES_NOT_MATCH_MESSAGE};
use crate::error::ErrorCode;

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
    if !auth.amz_date.starts_with(&*c.date) {
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
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
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
    let Some(value) = request.headers.get(&X_AMZ_CONTENT_SHA256_HEADER) else {
        return Ok(None);
    };
    let value = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
    let mut sent = [0u8; 32];
    let is_hash = hex::decode_to_slice(&value, &mut sent).is_ok();
    if is_hash && sent[..] != Sha256::digest(request.body)[..] {
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
