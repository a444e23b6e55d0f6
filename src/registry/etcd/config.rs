//! Settings of the etcd backend, shaped as the `[registry]` table of
//! cadre.toml will carry them (issue 17): endpoints, prefix, lease TTL,
//! timeouts, TLS and auth. Secrets are never values here: the password and a
//! private key held in the environment are the NAMES of variables, read when
//! the client connects.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::EtcdError;

/// `[registry]` with `backend = "etcd"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EtcdSettings {
    /// Client URLs of the cluster's members (`http://` or `https://`); any
    /// one that answers will do, the others are tried when it fails.
    pub endpoints: Vec<String>,
    /// Key prefix of every cadre key; ends with `/`.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// TTL of the daemon's lease: a daemon that stops refreshing it (crash,
    /// partition) loses its entries this long after its last refresh.
    #[serde(default = "default_lease_ttl", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub lease_ttl: Duration,
    /// Bound on one request to one endpoint before the next is tried.
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub request_timeout: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSettings>,
}

/// TLS towards `https://` endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file of the CA(s) that signed the members' certificates; when set,
    /// only these are trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for clusters with `--client-cert-auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`, from a file (keep it 0600)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// …or the NAME of an environment variable holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
}

/// etcd's user/password authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub user: String,
    /// NAME of the environment variable holding the password.
    pub password_env: String,
}

pub const DEFAULT_PREFIX: &str = "/cadre/";
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// etcd refuses shorter leases (it raises them to 1.5 election timeouts).
pub const MIN_LEASE_TTL: Duration = Duration::from_secs(2);

fn default_prefix() -> String {
    DEFAULT_PREFIX.into()
}

fn default_lease_ttl() -> Duration {
    DEFAULT_LEASE_TTL
}

fn default_request_timeout() -> Duration {
    DEFAULT_REQUEST_TIMEOUT
}

impl EtcdSettings {
    /// Settings for `endpoints` with every default.
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> EtcdSettings {
        EtcdSettings {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            prefix: default_prefix(),
            lease_ttl: DEFAULT_LEASE_TTL,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            tls: None,
            auth: None,
        }
    }

    /// The endpoints as URLs, checked: a scheme of http or https, a host,
    /// no path, no query, and no credentials in the URL (they would end up
    /// in error messages and logs; use `[registry.auth]`).
    pub fn endpoint_urls(&self) -> Result<Vec<reqwest::Url>, EtcdError> {
        if self.endpoints.is_empty() {
            return Err(EtcdError::Config("no etcd endpoints given".into()));
        }
        self.endpoints.iter().map(|e| parse_endpoint(e)).collect()
    }

    /// Everything that can be checked without the network.
    pub fn validate(&self) -> Result<(), EtcdError> {
        self.endpoint_urls()?;
        if !self.prefix.starts_with('/') || !self.prefix.ends_with('/') {
            return Err(EtcdError::Config(format!(
                "prefix `{}` must start and end with `/`",
                self.prefix
            )));
        }
        if self.lease_ttl < MIN_LEASE_TTL {
            return Err(EtcdError::Config(format!(
                "lease_ttl {:?} is below etcd's minimum of {:?}",
                self.lease_ttl, MIN_LEASE_TTL
            )));
        }
        if self.request_timeout.is_zero() {
            return Err(EtcdError::Config("request_timeout must be above 0".into()));
        }
        if let Some(tls) = &self.tls
            && tls.key_file.is_some()
            && tls.key_env.is_some()
        {
            return Err(EtcdError::Config(
                "tls: set key_file or key_env, not both".into(),
            ));
        }
        Ok(())
    }
}

fn parse_endpoint(raw: &str) -> Result<reqwest::Url, EtcdError> {
    // Never echo what follows `@`: it may be a password.
    let shown = match raw.rsplit_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => raw.to_string(),
    };
    let bad = |reason: &str| EtcdError::Config(format!("endpoint `{shown}`: {reason}"));
    let url = reqwest::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("scheme must be http or https"));
    }
    if url.host_str().is_none() {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials do not belong in the URL; use [registry.auth] with password_env",
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("give only scheme, host and port"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let s: EtcdSettings = toml::from_str(r#"endpoints = ["http://127.0.0.1:2379"]"#).unwrap();
        assert_eq!(s.prefix, "/cadre/");
        assert_eq!(s.lease_ttl, Duration::from_secs(10));
        s.validate().unwrap();
        let s: EtcdSettings =
            toml::from_str("endpoints = [\"http://a:1\"]\nlease_ttl = \"1s\"").unwrap();
        assert!(s.validate().unwrap_err().to_string().contains("minimum"));
        assert!(toml::from_str::<EtcdSettings>("endpoints = []\nttl = 3").is_err());
    }

    #[test]
    fn endpoint_credentials_are_refused_without_echoing_them() {
        let s = EtcdSettings::new(["http://root:hunter2@127.0.0.1:2379"]);
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("credentials"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        for bad in ["ftp://a:1", "http://a:1/v3", "127.0.0.1:2379"] {
            assert!(EtcdSettings::new([bad]).validate().is_err(), "{bad}");
        }
    }
}
