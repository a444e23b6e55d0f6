//! The provider doctor's probe: is the key set, does the provider answer,
//! does it have the models in use. Run by `up` at start and every resync,
//! and by `cadre doctor`; what it finds is said once, here, for both.

use std::collections::{BTreeMap, BTreeSet};

use super::driver::Ctx;
use super::health::{GetError, get};
use super::secret::ApiKey;
use crate::health::{Problem, ProviderCheck, ProviderStatus, Severity};

/// Check the provider behind `ctx` for `models`.
pub async fn check(ctx: &Ctx, models: BTreeSet<String>) -> ProviderCheck {
    let cfg = &ctx.cfg;
    let url = crate::net::url::shown(&cfg.base_url);
    let who = format!("provider {} ({}) at {url}", cfg.name, cfg.kind);
    let mut out = ProviderCheck {
        provider: cfg.name.clone(),
        kind: cfg.kind,
        url: url.clone(),
        checked_at: crate::registry::now_rfc3339(),
        general: None,
        models,
        listed: false,
        missing: BTreeMap::new(),
    };
    let problem = |status, message: String, fix: Option<String>| Problem {
        status,
        severity: Severity::Fail,
        message,
        fix,
    };
    let key = match ApiKey::from_env(&cfg.name, cfg.api_key_env.as_deref()) {
        Ok(k) => k,
        Err(_) => {
            let var = cfg.api_key_env.clone().unwrap_or_default();
            out.general = Some(problem(
                ProviderStatus::NoKey,
                format!("{who}: environment variable {var} (api_key_env) is not set"),
                Some(format!(
                    "export {var}=… in the environment `cadre up` runs in"
                )),
            ));
            return out;
        }
    };
    let Some(list_url) = ctx.wire.models_url(cfg) else {
        if key.is_none()
            && matches!(
                ctx.wire.health_probe(cfg),
                super::wire::HealthProbe::KeyPresent
            )
        {
            out.general = Some(problem(
                ProviderStatus::NoKey,
                format!("{who}: no api_key_env is configured"),
                Some(format!(
                    "set `api_key_env` of [providers.{}] in cadre.toml to the NAME of the variable holding the key",
                    cfg.name
                )),
            ));
        }
        return out;
    };
    let body = match get(ctx, &list_url, key.as_ref()).await {
        Ok(b) => b,
        Err(GetError::Status { status, .. }) if status == 401 || status == 403 => {
            let (message, fix) = match &cfg.api_key_env {
                Some(var) => (
                    format!("{who} refused the key in {var} (HTTP {status})"),
                    format!("put a valid key in {var}"),
                ),
                None => (
                    format!("{who} wants a key (HTTP {status})"),
                    format!(
                        "set `api_key_env` of [providers.{}] in cadre.toml to the NAME of the variable holding it",
                        cfg.name
                    ),
                ),
            };
            out.general = Some(problem(ProviderStatus::NoKey, message, Some(fix)));
            return out;
        }
        Err(e) => {
            out.general = Some(problem(
                ProviderStatus::Unreachable,
                format!("{who} is unreachable: {e}"),
                Some(ctx.wire.unreachable_fix(cfg)),
            ));
            return out;
        }
    };
    let listed = match ctx.wire.parse_models(&body) {
        Ok(l) => l,
        Err(e) => {
            let why = match e {
                super::wire::DecodeError::Malformed(m) | super::wire::DecodeError::Provider(m) => m,
            };
            out.general = Some(problem(
                ProviderStatus::Unreachable,
                format!("{who} does not answer as a {} server: {why}", cfg.kind),
                Some(ctx.wire.unreachable_fix(cfg)),
            ));
            return out;
        }
    };
    out.listed = true;
    for model in &out.models {
        if ctx.wire.lists(&listed, model) {
            continue;
        }
        let (fix, severity) = ctx.wire.missing_model(cfg, model);
        let message = match severity {
            Severity::Fail => format!("{who} does not have model `{model}`"),
            Severity::Warn => format!("{who} does not list model `{model}`"),
        };
        out.missing.insert(
            model.clone(),
            Problem {
                status: ProviderStatus::ModelMissing,
                severity,
                message,
                fix: Some(fix),
            },
        );
    }
    out
}
