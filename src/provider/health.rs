//! Provider reachability for `health`, cached so a burst of health checks
//! (one per client, per specialist) costs the provider at most one probe per TTL.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::ProviderHealth;
use super::driver::{Ctx, reason};
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
    let headers = match ctx.wire.headers(cfg, key.as_ref()) {
        Ok(h) => h,
        Err(e) => return health(false, Some(e.to_string())),
    };
    let bound = cfg.timeouts.connect + Duration::from_secs(5);
    let detail = match ctx
        .client
        .get(&url)
        .headers(headers)
        .timeout(bound)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => return health(true, None),
        Ok(r) => {
            let status = r.status().as_u16();
            let body = scrub(key.as_ref(), &r.text().await.unwrap_or_default());
            format!("GET {url} returned HTTP {status}: {}", short(&body))
        }
        Err(e) if e.is_timeout() => format!("GET {url} timed out after {} ms", bound.as_millis()),
        Err(e) => format!("cannot reach {url}: {}", reason(&e)),
    };
    health(false, Some(scrub(key.as_ref(), &detail)))
}
