//! The provider doctor's probe: is the key set, does the provider answer,
//! does it have the models in use. Run by `up` at start and every resync,
//! and by `cadre doctor`; what it finds is said once, here, for both.

use std::collections::{BTreeMap, BTreeSet};

use super::driver::Ctx;
use super::health::{GetError, get};
use super::secret::ApiKey;
use super::wire::{DecodeError, HealthProbe};
use crate::health::{Problem, ProviderCheck, ProviderStatus, Severity};

/// Check the provider behind `ctx` for `models`.
pub async fn check(ctx: &Ctx, models: BTreeSet<String>) -> ProviderCheck {
    let cfg = &ctx.cfg;
    let url = crate::net::url::shown(&cfg.base_url);
    let who = format!("provider {} ({}) at {url}", cfg.name, cfg.kind);
    let mut out = ProviderCheck {
        provider: cfg.name.clone(),
        kind: cfg.kind,
        url,
        checked_at: crate::registry::now_rfc3339(),
        general: None,
        models,
        listed: false,
        missing: BTreeMap::new(),
    };
    match list_models(ctx, &who).await {
        Err(p) => out.general = Some(p),
        Ok(None) => {}
        Ok(Some(listed)) => {
            out.listed = true;
            out.missing = missing(ctx, &who, &out.models, &listed);
        }
    }
    out
}

/// A problem every chat on the provider has.
fn fail(status: ProviderStatus, message: String, fix: String) -> Problem {
    Problem {
        status,
        severity: Severity::Fail,
        message,
        fix: Some(fix),
    }
}

/// The models the provider lists; `None` when its kind has no list cadre
/// asks for (Anthropic: only the key is checked).
async fn list_models(ctx: &Ctx, who: &str) -> Result<Option<Vec<String>>, Problem> {
    let cfg = &ctx.cfg;
    let Ok(key) = ApiKey::from_env(&cfg.name, cfg.api_key_env.as_deref()) else {
        let var = cfg.api_key_env.clone().unwrap_or_default();
        return Err(fail(
            ProviderStatus::NoKey,
            format!("{who}: environment variable {var} (api_key_env) is not set"),
            format!("export {var}=… in the environment `cadre up` runs in"),
        ));
    };
    let Some(list_url) = ctx.wire.models_url(cfg) else {
        if key.is_none() && matches!(ctx.wire.health_probe(cfg), HealthProbe::KeyPresent) {
            return Err(fail(
                ProviderStatus::NoKey,
                format!("{who}: no api_key_env is configured"),
                set_key_env(&cfg.name),
            ));
        }
        return Ok(None);
    };
    let body = get(ctx, &list_url, key.as_ref())
        .await
        .map_err(|e| get_problem(ctx, who, e))?;
    match ctx.wire.parse_models(&body) {
        Ok(listed) => Ok(Some(listed)),
        Err(DecodeError::Malformed(why) | DecodeError::Provider(why)) => Err(fail(
            ProviderStatus::Unreachable,
            format!("{who} does not answer as a {} server: {why}", cfg.kind),
            ctx.wire.unreachable_fix(cfg),
        )),
    }
}

fn set_key_env(provider: &str) -> String {
    format!(
        "set `api_key_env` of [providers.{provider}] in cadre.toml to the NAME of the variable holding the key"
    )
}

/// Why the model list could not be had: a refused key, or no answer.
fn get_problem(ctx: &Ctx, who: &str, e: GetError) -> Problem {
    let cfg = &ctx.cfg;
    match e {
        GetError::Status { status, .. } if status == 401 || status == 403 => match &cfg.api_key_env
        {
            Some(var) => fail(
                ProviderStatus::NoKey,
                format!("{who} refused the key in {var} (HTTP {status})"),
                format!("put a valid key in {var}"),
            ),
            None => fail(
                ProviderStatus::NoKey,
                format!("{who} wants a key (HTTP {status})"),
                set_key_env(&cfg.name),
            ),
        },
        e => fail(
            ProviderStatus::Unreachable,
            format!("{who} is unreachable: {e}"),
            ctx.wire.unreachable_fix(cfg),
        ),
    }
}

/// Each of `models` the provider's `listed` models lack, with its fix.
fn missing(
    ctx: &Ctx,
    who: &str,
    models: &BTreeSet<String>,
    listed: &[String],
) -> BTreeMap<String, Problem> {
    let unlisted = models.iter().filter(|m| !ctx.wire.lists(listed, m));
    unlisted
        .map(|model| {
            let (fix, severity) = ctx.wire.missing_model(&ctx.cfg, model);
            let message = match severity {
                Severity::Fail => format!("{who} does not have model `{model}`"),
                Severity::Warn => format!("{who} does not list model `{model}`"),
            };
            let p = Problem {
                status: ProviderStatus::ModelMissing,
                severity,
                message,
                fix: Some(fix),
            };
            (model.clone(), p)
        })
        .collect()
}
