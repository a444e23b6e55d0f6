//! Token authentication: etcd's user/password exchanged for a token once,
//! sent as `Authorization` on every call, renewed when etcd says it is no
//! longer valid (a member restart forgets simple tokens). The password is
//! read from the environment at client build time and leaves the process
//! only in the body of `/v3/auth/authenticate`.

use super::EtcdError;
use super::client::{Attempt, EtcdClient, classify, describe, error_status, read_body};
use super::wire;

impl EtcdClient {
    /// The auth token, authenticating on endpoint `idx` when there is none.
    pub(crate) async fn token(&self, idx: usize) -> Result<Option<String>, Attempt> {
        let Some(creds) = &self.inner.creds else {
            return Ok(None);
        };
        if let Some(t) = self.lock_token().clone() {
            return Ok(Some(t));
        }
        let ep = self.endpoint_name(idx);
        let req = wire::AuthenticateRequest {
            name: &creds.user,
            password: creds.password.expose(),
        };
        let resp = self
            .inner
            .http
            .post(format!("{ep}/v3/auth/authenticate"))
            .json(&req)
            .timeout(self.inner.timeout)
            .send()
            .await
            .map_err(|e| Attempt::Next(format!("{ep}: {}", describe(&e))))?;
        if !resp.status().is_success() {
            let st = error_status(resp).await;
            // "authentication failed, invalid user ID or password"; anything
            // else (auth not enabled, no leader) is etcd's own message.
            if st.text().contains("authentication failed") {
                return Err(Attempt::Stop(EtcdError::AuthFailed {
                    user: creds.user.clone(),
                }));
            }
            return Err(classify(&ep, "authenticate", &st));
        }
        let bytes = read_body(resp)
            .await
            .map_err(|e| Attempt::Next(format!("{ep}: {e}")))?;
        let token = serde_json::from_slice::<wire::AuthenticateResponse>(&bytes)
            .map(|r| r.token)
            .unwrap_or_default();
        if token.is_empty() {
            return Err(Attempt::Stop(EtcdError::BadReply {
                endpoint: ep,
                call: "authenticate",
                detail: "no token in the reply".into(),
            }));
        }
        *self.lock_token() = Some(token.clone());
        Ok(Some(token))
    }

    fn lock_token(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.inner.token.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn clear_token(&self) {
        *self.lock_token() = None;
    }
}
