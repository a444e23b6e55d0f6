//! Building the HTTP client from the settings: TLS roots and client
//! identity, and reading the secrets the settings name (at connect time,
//! from the environment, never stored in the settings).

use std::fmt;
use std::sync::Once;
use std::time::Duration;

use super::EtcdError;
use super::config::{EtcdSettings, TlsSettings};

/// A secret string whose `Debug` shows nothing of it.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Read the variable `var` (named by `field`); unset or empty is an error.
pub(crate) fn secret_from_env(var: &str, field: &'static str) -> Result<Secret, EtcdError> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Secret(v)),
        _ => Err(EtcdError::SecretEnv {
            var: var.to_string(),
            field,
        }),
    }
}

/// User and password, read from the environment when the client is built.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub user: String,
    pub password: Secret,
}

pub(crate) fn credentials(s: &EtcdSettings) -> Result<Option<Credentials>, EtcdError> {
    let Some(auth) = &s.auth else {
        return Ok(None);
    };
    Ok(Some(Credentials {
        user: auth.user.clone(),
        password: secret_from_env(&auth.password_env, "auth.password_env")?,
    }))
}

/// The pooled HTTP client every call shares. No overall timeout: unary
/// calls set theirs per request, and a watch is meant to stay open.
pub(crate) fn http_client(s: &EtcdSettings) -> Result<reqwest::Client, EtcdError> {
    static TLS: Once = Once::new();
    TLS.call_once(|| {
        crate::provider::install_tls();
    });
    let mut b = reqwest::Client::builder()
        .connect_timeout(s.request_timeout.min(Duration::from_secs(2)))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .user_agent(concat!("cadre/", env!("CARGO_PKG_VERSION")));
    if let Some(tls) = &s.tls {
        b = with_tls(b, tls)?;
    }
    b.build().map_err(|e| EtcdError::Client(e.to_string()))
}

fn with_tls(
    mut b: reqwest::ClientBuilder,
    tls: &TlsSettings,
) -> Result<reqwest::ClientBuilder, EtcdError> {
    if let Some(path) = &tls.ca_file {
        let pem = read(path, "ca_file")?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| EtcdError::Tls {
            what: "ca_file",
            path: path.clone(),
            reason: e.to_string(),
        })?;
        b = b.tls_certs_only(certs);
    }
    let key = match (&tls.key_file, &tls.key_env) {
        (Some(path), _) => Some(read(path, "key_file")?),
        (None, Some(var)) => Some(
            secret_from_env(var, "tls.key_env")?
                .expose()
                .as_bytes()
                .to_vec(),
        ),
        (None, None) => None,
    };
    match (&tls.cert_file, key) {
        (Some(path), Some(key)) => {
            let mut pem = read(path, "cert_file")?;
            pem.push(b'\n');
            pem.extend_from_slice(&key);
            // reqwest's message names the PEM problem, never its bytes.
            let id = reqwest::Identity::from_pem(&pem).map_err(|e| EtcdError::Tls {
                what: "cert_file/key",
                path: path.clone(),
                reason: e.to_string(),
            })?;
            b = b.identity(id);
        }
        (None, None) => {}
        _ => {
            return Err(EtcdError::Config(
                "tls: a client certificate needs both cert_file and a key (key_file or key_env)"
                    .into(),
            ));
        }
    }
    Ok(b)
}

fn read(path: &std::path::Path, what: &'static str) -> Result<Vec<u8>, EtcdError> {
    std::fs::read(path).map_err(|e| EtcdError::Tls {
        what,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = Secret("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
        let c = Credentials {
            user: "root".into(),
            password: s,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn a_missing_secret_names_the_variable_and_the_field() {
        let e = secret_from_env("CADRE_TEST_SURELY_UNSET_VAR", "auth.password_env").unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable CADRE_TEST_SURELY_UNSET_VAR (named by auth.password_env) is not set or empty"
        );
    }
}
