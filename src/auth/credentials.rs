//! The credential store: access key id → secret access key and the caller's account.
//!
//! Configured from specs `ACCESS:SECRET[:ACCOUNT]` (the account is 12 digits). Secrets never
//! appear in `Debug` output.

use std::collections::HashMap;
use std::fmt;

/// The secret half of a credential, and the account the key belongs to.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub secret_access_key: String,
    /// `None` → the server's default account.
    pub account_id: Option<String>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("secret_access_key", &"** redacted **")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// Known access keys.
#[derive(Clone, Default)]
pub struct Credentials {
    keys: HashMap<String, Secret>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.keys.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        f.debug_map().entries(keys).finish()
    }
}

impl Credentials {
    /// Parses `ACCESS:SECRET[:ACCOUNT]`. The access key must not be empty nor contain `/`
    /// (it is the first field of the `/`-separated credential scope) or whitespace; the
    /// secret must not be empty; the account, when given, is exactly 12 digits.
    pub fn parse_spec(spec: &str) -> Result<(String, Secret), String> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (access, secret, account) = match parts.as_slice() {
            [access, secret] => (*access, *secret, None),
            [access, secret, account] => (*access, *secret, Some(*account)),
            _ => {
                return Err(
                    "credential must look like ACCESS_KEY:SECRET_KEY or ACCESS_KEY:SECRET_KEY:ACCOUNT_ID"
                        .to_string(),
                )
            }
        };
        if access.is_empty() {
            return Err("credential has an empty access key".to_string());
        }
        if access
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "access key {access:?} must not contain '/', whitespace or control characters"
            ));
        }
        if secret.is_empty() {
            return Err(format!(
                "credential for access key {access:?} has an empty secret"
            ));
        }
        if let Some(account) = account {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "account id for access key {access:?} must be 12 digits, got {account:?}"
                ));
            }
        }
        Ok((
            access.to_string(),
            Secret {
                secret_access_key: secret.to_string(),
                account_id: account.map(str::to_string),
            },
        ))
    }

    /// Adds or replaces a key.
    pub fn insert(&mut self, access_key: String, secret: Secret) {
        self.keys.insert(access_key, secret);
    }

    /// Builds the store from specs; a malformed spec or a repeated access key is an error.
    pub fn from_specs<I: IntoIterator<Item = S>, S: AsRef<str>>(specs: I) -> Result<Self, String> {
        let mut credentials = Credentials::default();
        for spec in specs {
            let (access, secret) = Self::parse_spec(spec.as_ref())?;
            if credentials.keys.contains_key(&access) {
                return Err(format!("access key {access:?} is configured twice"));
            }
            credentials.insert(access, secret);
        }
        Ok(credentials)
    }

    pub fn get(&self, access_key: &str) -> Option<&Secret> {
        self.keys.get(access_key)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_spec_without_account() {
        let (access, secret) = Credentials::parse_spec("AKID:s3cr/t+x").unwrap();
        assert_eq!(access, "AKID");
        assert_eq!(secret.secret_access_key, "s3cr/t+x");
        assert_eq!(secret.account_id, None);
    }

    #[test]
    fn parse_spec_with_account() {
        let (access, secret) = Credentials::parse_spec("AKID:secret:123456789012").unwrap();
        assert_eq!(access, "AKID");
        assert_eq!(secret.secret_access_key, "secret");
        assert_eq!(secret.account_id.as_deref(), Some("123456789012"));
    }

    #[test]
    fn parse_spec_rejects_malformed() {
        for bad in [
            "",
            "AKID",
            ":secret",
            "AKID:",
            "AKID:secret:12345",
            "AKID:secret:12345678901a",
            "AKID:secret:1234567890123",
            "AKID:secret:123456789012:extra",
            "AK/ID:secret",
            "AK ID:secret",
        ] {
            assert!(Credentials::parse_spec(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn from_specs_and_lookup() {
        let creds = Credentials::from_specs(["a:sa", "b:sb:000000000000"]).unwrap();
        assert_eq!(creds.len(), 2);
        assert!(!creds.is_empty());
        assert_eq!(creds.get("a").unwrap().secret_access_key, "sa");
        assert_eq!(
            creds.get("b").unwrap().account_id.as_deref(),
            Some("000000000000")
        );
        assert!(creds.get("c").is_none());
        assert!(Credentials::from_specs(["a:x", "a:y"]).is_err());
        assert!(Credentials::from_specs(Vec::<String>::new())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn debug_never_prints_secrets() {
        let creds = Credentials::from_specs(["AKID:VERYSECRETVALUE:123456789012"]).unwrap();
        let shown = format!("{creds:?} {:?}", creds.get("AKID").unwrap());
        assert!(!shown.contains("VERYSECRETVALUE"), "{shown}");
        assert!(shown.contains("AKID"));
        assert!(shown.contains("123456789012"));
    }
}
