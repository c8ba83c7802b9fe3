//! Request authentication: AWS Signature Version 4 verification for SQS.
//!
//! Contract: [`Verifier::verify`] is a pure function of the request head, the raw body, the
//! configured credentials and the time passed in. It answers who is calling ([`Principal`]) or
//! why the request is refused ([`AuthError`], whose [`ErrorCode`] is a row of the one error
//! table). It never reads the clock, does no I/O and never logs secrets.
//!
//! Of cauda it uses only [`crate::error`] (besides `http`, the signing crates and `clap` for
//! [`AuthMode`]); the HTTP layer calls it and renders the error in the client's protocol.
//!
//! Modes:
//! - [`AuthMode::Off`]: every request is accepted as the anonymous caller, without looking.
//! - [`AuthMode::Strict`]: the access key must be known and the signature must match.
//! - [`AuthMode::Auto`]: strict when credentials are configured; otherwise any *well-formed*
//!   SigV4 request is accepted (there is no secret to check the signature against) and its
//!   access key names the caller. Missing or malformed auth, clock skew and expired presigned
//!   URLs are still rejected.
//!
//! The AWS behaviour followed: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html>,
//! and the error codes of <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html>.

pub mod credentials;
pub mod sigv4;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::error::{ErrorCode, SqsError};

/// How strictly requests are authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Accept every request, signed or not.
    Off,
    /// Strict when credentials are configured; otherwise accept any well-formed signature.
    Auto,
    /// Require a known access key and a matching signature.
    Strict,
}

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The access key id the request was signed with (`None` when auth is off).
    pub access_key: Option<String>,
    /// The caller's account; `None` means the server's default account.
    pub account_id: Option<String>,
}

impl Principal {
    /// The caller when authentication is off.
    pub fn anonymous() -> Self {
        Principal {
            access_key: None,
            account_id: None,
        }
    }
}

/// AWS's text for `SignatureDoesNotMatch`, as SQS answers it.
pub const SIGNATURE_DOES_NOT_MATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// AWS's text for `InvalidClientTokenId`.
pub const INVALID_CLIENT_TOKEN_ID_MESSAGE: &str =
    "The security token included in the request is invalid.";

/// A refused request: its code (status and fault come from the one table in
/// [`crate::error`]) and a message for the client.
#[derive(Debug)]
pub struct AuthError {
    pub code: ErrorCode,
    pub message: String,
}

impl AuthError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AuthError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.query_code(), self.message)
    }
}

impl std::error::Error for AuthError {}

impl From<AuthError> for SqsError {
    fn from(e: AuthError) -> Self {
        SqsError::new(e.code, e.message)
    }
}

/// The signing name of SQS; the only service accepted in a credential scope.
const SERVICE: &str = "sqs";

/// AWS's allowed clock skew for SigV4.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Signing keys already derived, by access key and credential scope. A key serves a whole day
/// and deriving it costs four of the five HMACs of a verification, so this memo makes `verify`
/// cheaper without changing its answers.
#[derive(Clone, Default)]
struct SigningKeys(Arc<Mutex<HashMap<String, Vec<ScopedKey>>>>);

/// A derived signing key and the scope (date, region, service) it was derived for.
struct ScopedKey {
    date: String,
    region: String,
    service: String,
    key: Arc<[u8]>,
}

impl SigningKeys {
    const MAX_ENTRIES: usize = 1024;

    fn get_or_derive(&self, auth: &sigv4::SignedAuth<'_>, secret: &str) -> Arc<[u8]> {
        let c = &auth.credential;
        let mut keys = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let found = keys.get(c.access_key.as_ref()).and_then(|scoped| {
            scoped
                .iter()
                .find(|k| k.date == c.date && k.region == c.region && k.service == c.service)
        });
        if let Some(k) = found {
            return k.key.clone();
        }
        if keys.len() >= Self::MAX_ENTRIES {
            keys.clear();
        }
        let key: Arc<[u8]> = sigv4::signing_key(auth, secret).into();
        let scoped = keys.entry(c.access_key.to_string()).or_default();
        // A key's old scopes (yesterday's date) are dropped once a few have gathered.
        if scoped.len() >= 8 {
            scoped.clear();
        }
        scoped.push(ScopedKey {
            date: c.date.to_string(),
            region: c.region.to_string(),
            service: c.service.to_string(),
            key: key.clone(),
        });
        key
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKeys(..)")
    }
}

/// Checks SigV4 signatures on incoming requests.
#[derive(Clone, Debug)]
pub struct Verifier {
    mode: AuthMode,
    credentials: credentials::Credentials,
    signing_keys: SigningKeys,
    max_skew: Duration,
    /// The service the credential scope must name. Always `sqs`, except in the known-answer
    /// tests that replay AWS's generic test suite (signed for `service`).
    service: &'static str,
}

impl Verifier {
    pub fn new(mode: AuthMode, credentials: credentials::Credentials) -> Self {
        Verifier {
            mode,
            credentials,
            signing_keys: SigningKeys::default(),
            max_skew: MAX_SKEW,
            service: SERVICE,
        }
    }

    /// The configured mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Whether signatures are actually checked (strict, or auto with credentials configured).
    pub fn checks_signatures(&self) -> bool {
        match self.mode {
            AuthMode::Off => false,
            AuthMode::Strict => true,
            AuthMode::Auto => !self.credentials.is_empty(),
        }
    }

    /// Pure: request head + raw body + now → who is calling.
    pub fn verify(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Principal, AuthError> {
        self.verify_scoped(method, uri, headers, body, now)
            .map(|(principal, _)| principal)
    }

    /// [`Verifier::verify`], with the region of the credential scope it read (`None` when
    /// auth is off), so that the request pipeline does not parse the signature a second time
    /// for it; it is the region [`sigv4::scope_region`] reads.
    pub fn verify_scoped(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(Principal, Option<String>), AuthError> {
        if self.mode == AuthMode::Off {
            return Ok((Principal::anonymous(), None));
        }
        let request = sigv4::RequestParts {
            method,
            uri,
            headers,
            body,
        };
        let auth = sigv4::extract(&request)?;
        sigv4::check_scope(&auth, self.service)?;
        sigv4::check_time(&auth, now, self.max_skew)?;
        if !self.checks_signatures() {
            // Auto mode without credentials: no secret to check against, the key names the caller.
            // A body that does not match its own signed hash is still caught.
            sigv4::signed_content_hash(&auth, &request)?;
            let principal = Principal {
                access_key: Some(auth.credential.access_key.into_owned()),
                account_id: None,
            };
            return Ok((principal, Some(auth.credential.region.into_owned())));
        }
        let payload_hash = sigv4::payload_hash(&auth, &request)?;
        let Some(secret) = self.credentials.get(&auth.credential.access_key) else {
            return Err(AuthError::new(
                ErrorCode::InvalidClientTokenId,
                INVALID_CLIENT_TOKEN_ID_MESSAGE,
            ));
        };
        let signing_key = self
            .signing_keys
            .get_or_derive(&auth, &secret.secret_access_key);
        sigv4::check_signature(&auth, &request, &payload_hash, &signing_key)?;
        let principal = Principal {
            access_key: Some(auth.credential.access_key.into_owned()),
            account_id: secret.account_id.clone(),
        };
        Ok((principal, Some(auth.credential.region.into_owned())))
    }
}
