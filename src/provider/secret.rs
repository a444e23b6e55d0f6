//! API keys: read from the named environment variable at use, never stored,
//! never printed. Every error text leaving a provider passes through
//! [`super::redact::scrub`], so even a provider echoing the key back is caught.

use reqwest::header::HeaderValue;

use super::ProviderError;
use super::redact::scrub;

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

    /// The key itself, for the scrubber only.
    pub(super) fn expose(&self) -> &str {
        &self.0
    }

    #[cfg(test)]
    pub(super) fn for_test(key: &str) -> ApiKey {
        ApiKey(key.to_string())
    }

    /// Scrub every text field of an error: the key when there is one, URL
    /// userinfo always.
    pub fn redact_error(key: Option<&ApiKey>, err: ProviderError) -> ProviderError {
        let s = |t: &str| scrub(key, t);
        match err {
            ProviderError::Unavailable {
                provider,
                url,
                reason,
            } => ProviderError::Unavailable {
                provider,
                url: s(&url),
                reason: s(&reason),
            },
            ProviderError::Http {
                provider,
                status,
                message,
            } => ProviderError::Http {
                provider,
                status,
                message: s(&message),
            },
            ProviderError::Malformed { provider, reason } => ProviderError::Malformed {
                provider,
                reason: s(&reason),
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
        assert_eq!(
            scrub(Some(&k), "bad key sk-marker-123!"),
            "bad key [redacted]!"
        );
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
