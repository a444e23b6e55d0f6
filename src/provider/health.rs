//! Provider reachability for `health`, cached so a burst of health checks
//! (one per client, per specialist) costs the provider at most one probe per TTL.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::ProviderHealth;
use super::cause::root_cause;
use super::driver::Ctx;
use super::redact::scrub;
use super::secret::ApiKey;
use super::wire::{HealthProbe, short};

/// How long a probe result is reused.
pub const HEALTH_TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct HealthCache {
    /// Held across the probe, so concurrent callers wait for one probe instead of each sending one.
    slot: Mutex<Option<(Instant, ProviderHealth)>>,
}

impl HealthCache {
    pub async fn get(&self, ctx: &Arc<Ctx>) -> ProviderHealth {
        let mut slot = self.slot.lock().await;
        if let Some((at, h)) = slot.as_ref()
            && at.elapsed() < HEALTH_TTL
        {
            return h.clone();
        }
        let h = probe(ctx).await;
        *slot = Some((Instant::now(), h.clone()));
        h
    }
}

async fn probe(ctx: &Ctx) -> ProviderHealth {
    let cfg = &ctx.cfg;
    let health = |reachable: bool, detail: Option<String>| ProviderHealth {
        name: cfg.name.clone(),
        kind: cfg.kind.as_str().to_owned(),
        reachable,
        detail,
    };
    let key = match ApiKey::from_env(&cfg.name, cfg.api_key_env.as_deref()) {
        Ok(k) => k,
        Err(e) => return health(false, Some(e.to_string())),
    };
    let url = match ctx.wire.health_probe(cfg) {
        HealthProbe::KeyPresent => {
            return if key.is_some() {
                health(true, None)
            } else {
                health(false, Some("no api_key_env configured".into()))
            };
        }
        HealthProbe::Get(url) => url,
    };
    match answered(ctx, &url, key.as_ref()).await {
        Ok(_) => health(true, None),
        Err(e) => health(false, Some(e.to_string())),
    }
}

/// Why a GET of a provider's url gave no usable answer (key redacted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GetError {
    #[error("{0}")]
    Transport(String),
    #[error("GET {url} returned HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
}

/// The most of a GET's answer read: a model list of thousands of models
/// fits many times over; a server sending more is not one to trust.
pub const GET_CAP: usize = 8 << 20;

/// The body as text (lossily), read up to [`GET_CAP`].
async fn read_capped(resp: reqwest::Response) -> Result<String, String> {
    use crate::net::body::{self, BodyError};
    match body::read_capped(resp, GET_CAP).await {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(BodyError::TooLarge) => Err(format!("the answer is larger than {} MiB", GET_CAP >> 20)),
        Err(BodyError::Broke(e)) => Err(format!("the answer broke off: {}", root_cause(&e))),
    }
}

/// GET `url` with the provider's headers, bounded by its connect timeout
/// plus 5 s; the body of a 2xx answer, or why there is none.
pub async fn get(ctx: &Ctx, url: &str, key: Option<&ApiKey>) -> Result<String, GetError> {
    let (resp, shown) = answered(ctx, url, key).await?;
    let status = resp.status();
    read_capped(resp).await.map_err(|why| {
        let why = format!("GET {shown} returned HTTP {}: {why}", status.as_u16());
        GetError::Transport(scrub(key, &why))
    })
}

/// [`get`] up to a 2xx status, the body left unread (a reachability probe
/// needs no model list); a failure status reads the body for its message.
/// Also returns the url as shown.
async fn answered(
    ctx: &Ctx,
    url: &str,
    key: Option<&ApiKey>,
) -> Result<(reqwest::Response, String), GetError> {
    let cfg = &ctx.cfg;
    let redact = |text: String| scrub(key, &text);
    let headers = ctx
        .wire
        .headers(cfg, key)
        .map_err(|e| GetError::Transport(redact(e.to_string())))?;
    let bound = cfg.timeouts.connect + Duration::from_secs(5);
    let shown = crate::net::url::shown(url);
    let send = ctx.client.get(url).headers(headers).timeout(bound).send();
    let resp = match send.await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            let ms = bound.as_millis();
            return Err(GetError::Transport(format!(
                "GET {shown} timed out after {ms} ms"
            )));
        }
        Err(e) => {
            let why = redact(root_cause(&e));
            return Err(GetError::Transport(format!("cannot reach {shown}: {why}")));
        }
    };
    let status = resp.status();
    if status.is_success() {
        return Ok((resp, shown));
    }
    let body = read_capped(resp).await.map_err(|why| {
        let why = format!("GET {shown} returned HTTP {}: {why}", status.as_u16());
        GetError::Transport(redact(why))
    })?;
    Err(GetError::Status {
        url: shown,
        status: status.as_u16(),
        // Scrubbed before it is cut: a cut key no longer matches.
        body: short(&redact(body)),
    })
}
