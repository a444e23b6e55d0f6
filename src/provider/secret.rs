//! API keys: read from the named environment variable at use, never stored,
//! never printed. Every error text leaving a provider passes through
//! [`ApiKey::redact`], so even a provider echoing the key back is caught.

use reqwest::header::HeaderValue;

use super::ProviderError;

/// A key read from the environment. `Debug` never shows it.
#[derive(Clone)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl ApiKey {
    /// Read the key named by `api_key_env`. `Ok(None)` when no variable is
    /// configured; an error (naming the variable, not a value) when it is
    /// configured but unset or empty.
    pub fn from_env(provider: &str, var: Option<&str>) -> Result<Option<ApiKey>, ProviderError> {
        let Some(var) = var else { return Ok(None) };
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(ApiKey(v.trim().to_string()))),
            _ => Err(ProviderError::Unavailable {
                provider: provider.to_string(),
                url: String::new(),
                reason: format!("environment variable {var} (api_key_env) is not set"),
            }),
        }
    }

    /// A header value marked sensitive, so reqwest/hyper never log or print it.
    pub fn header(&self, prefix: &str) -> Option<HeaderValue> {
        let mut v = HeaderValue::from_str(&format!("{prefix}{}", self.0)).ok()?;
        v.set_sensitive(true);
        Some(v)
    }

    /// Remove the key from a text that might quote it.
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, "[redacted]")
        }
    }

    /// Redact every text field of an error.
    pub fn redact_error(key: Option<&ApiKey>, err: ProviderError) -> ProviderError {
        let Some(k) = key else { return err };
        match err {
            ProviderError::Unavailable {
                provider,
                url,
                reason,
            } => ProviderError::Unavailable {
                provider,
                url: k.redact(&url),
                reason: k.redact(&reason),
            },
            ProviderError::Http {
                provider,
                status,
                message,
            } => ProviderError::Http {
                provider,
                status,
                message: k.redact(&message),
            },
            ProviderError::Malformed { provider, reason } => ProviderError::Malformed {
                provider,
                reason: k.redact(&reason),
            },
            e @ ProviderError::Timeout { .. } => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_redact_hide_the_key() {
        let k = ApiKey("sk-marker-123".into());
        assert!(!format!("{k:?}").contains("marker"));
        assert_eq!(k.redact("bad key sk-marker-123!"), "bad key [redacted]!");
        assert!(k.header("Bearer ").unwrap().is_sensitive());
        let e = ProviderError::Http {
            provider: "p".into(),
            status: 401,
            message: "key sk-marker-123".into(),
        };
        assert!(
            !ApiKey::redact_error(Some(&k), e)
                .to_string()
                .contains("sk-marker")
        );
    }
}
