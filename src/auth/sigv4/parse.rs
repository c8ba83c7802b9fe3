//! Reading the SigV4 material out of a request: the `Authorization` header or the presigned
//! `X-Amz-*` query parameters.

use std::borrow::Cow;

use http::{HeaderMap, Uri};

use super::canonical::{parse_query, PlusMode};
use super::date::{format_amz_date, parse_amz_date, parse_http_date};
use super::{
    echo, incomplete, AuthStyle, AuthorizationHeader, Credential, QueryPair, QueryPairs,
    RequestParts, SignedAuth, ALGORITHM, MAX_EXPIRES_SECS, Q_ALGORITHM, Q_CREDENTIAL, Q_DATE,
    Q_EXPIRES, Q_SIGNATURE, Q_SIGNED_HEADERS, TERMINATOR, X_AMZ_DATE,
};
use crate::auth::AuthError;
use crate::error::ErrorCode;

/// Parses an `Authorization` header value. Tolerant of spacing: the parts may be separated by
/// `,`, `, ` or whitespace, in any order; unknown parts are ignored. A missing or repeated
/// `Credential`, `SignedHeaders` or `Signature` → `IncompleteSignature`.
pub fn parse_authorization(value: &str) -> Result<AuthorizationHeader<'_>, AuthError> {
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
    // Tokens are separated by `,` and ASCII whitespace, in any mix: split on `,` first (a
    // memchr), then on whitespace within the pieces.
    for token in rest.split(',').flat_map(str::split_ascii_whitespace) {
        let Some((key, val)) = token
            .bytes()
            .position(|b| b == b'=')
            .map(|i| (&token[..i], &token[i + 1..]))
        else {
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
pub fn parse_credential(value: &str) -> Result<Credential<'_>, AuthError> {
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
        access_key: Cow::Borrowed(access_key),
        date: Cow::Borrowed(date),
        region: Cow::Borrowed(region),
        service: Cow::Borrowed(service),
        terminator: Cow::Borrowed(terminator),
    })
}

/// Parses `a;b;c` into lower-cased header names.
pub fn parse_signed_headers(value: &str) -> Result<Vec<Cow<'_, str>>, AuthError> {
    let is_tchar = |b: u8| {
        matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'!' | b'#' | b'$' | b'%' | b'&'
            | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
    };
    let malformed = || {
        incomplete(format!(
            "SignedHeaders must be a ';'-separated list of header names, got '{}'.",
            echo(value)
        ))
    };
    // Every name non-empty and of token characters; checked on the names themselves.
    value
        .split(';')
        .map(|name| {
            if name.is_empty() || !name.bytes().all(is_tchar) {
                return Err(malformed());
            }
            Ok(if name.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name)
            })
        })
        .collect()
}

/// A signature is 64 hex digits; returned lower-cased.
pub fn parse_signature(value: &str) -> Result<Cow<'_, str>, AuthError> {
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(incomplete(format!(
            "Signature must be 64 hexadecimal characters, got '{}'.",
            echo(value)
        )));
    }
    Ok(if value.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(value.to_ascii_lowercase())
    } else {
        Cow::Borrowed(value)
    })
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
/// carries no well-formed scope. SQS takes a request's region from here, never from its host.
pub fn scope_region(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let parsed = parse_authorization(value.to_str().ok()?).ok()?;
        return Some(parsed.credential.region.into_owned());
    }
    let query = uri.query().filter(|q| q.contains("X-Amz-Credential"))?;
    let pairs = parse_query(query, PlusMode::Space);
    let (_, credential) = pairs.iter().find(|(k, _)| k.as_ref() == Q_CREDENTIAL)?;
    let credential = parse_credential(std::str::from_utf8(credential).ok()?).ok()?;
    Some(credential.region.into_owned())
}

fn from_header<'a>(
    value: &'a str,
    headers: &'a HeaderMap,
    query: QueryPairs<'a>,
) -> Result<SignedAuth<'a>, AuthError> {
    let parsed = parse_authorization(value)?;
    let (amz_date, request_time) = if let Some(date) = headers.get(&X_AMZ_DATE) {
        let text = date.to_str().unwrap_or("");
        let time = parse_amz_date(text.trim()).ok_or_else(|| {
            incomplete(format!(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got '{}'.",
                echo(text)
            ))
        })?;
        (Cow::Borrowed(text.trim()), time)
    } else if let Some(date) = headers.get(http::header::DATE) {
        let text = date.to_str().unwrap_or("");
        let time = parse_http_date(text.trim()).ok_or_else(|| {
            incomplete(format!(
                "Date must be an HTTP date or ISO8601 \"yyyyMMdd'T'HHmmss'Z'\", got '{}'.",
                echo(text)
            ))
        })?;
        (Cow::Owned(format_amz_date(time)), time)
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

/// The one value of query parameter `name`, if present; repeated or not UTF-8 → error.
fn single_param<'q>(query: &'q [QueryPair<'_>], name: &[u8]) -> Result<Option<&'q str>, AuthError> {
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
}

/// `X-Amz-Expires`: 1 to [`MAX_EXPIRES_SECS`] seconds, in at most 7 plain digits.
fn parse_expires(expires: &str) -> Result<u64, AuthError> {
    Some(expires)
        .filter(|e| !e.is_empty() && e.len() <= 7 && e.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|e| e.parse::<u64>().ok())
        .filter(|e| (1..=MAX_EXPIRES_SECS).contains(e))
        .ok_or_else(|| {
            incomplete(format!(
                "X-Amz-Expires must be a number of seconds from 1 to {MAX_EXPIRES_SECS}, got '{}'.",
                echo(expires)
            ))
        })
}

fn from_query(query: QueryPairs<'_>) -> Result<SignedAuth<'_>, AuthError> {
    let get = |name| single_param(&query, name);
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
    let expires = parse_expires(expires)?;
    // Owned: they borrow from `query`, which the result takes.
    let credential = parse_credential(credential)?.into_owned();
    let signed_headers = parse_signed_headers(signed_headers)?
        .into_iter()
        .map(|h| Cow::Owned(h.into_owned()))
        .collect();
    let signature = Cow::Owned(parse_signature(signature)?.into_owned());
    let amz_date = Cow::Owned(date.to_string());
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
