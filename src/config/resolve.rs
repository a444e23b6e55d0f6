//! Merging a specialist file with `cadre.toml`: which provider it really
//! talks to (built-in or `[providers.NAME]`), with which timeouts, and which
//! params once `[defaults.params]` is merged under its own.

use super::spec::{ResolvedProvider, ResolvedTimeouts};
use super::types::{Params, ProjectFile, ProviderKind, Timeouts};

/// Names that resolve without any cadre.toml: one per [`ProviderKind`].
pub const BUILTIN_PROVIDERS: [&str; 3] = [
    ProviderKind::ALL[0].as_str(),
    ProviderKind::ALL[1].as_str(),
    ProviderKind::ALL[2].as_str(),
];

/// Retries before the first token when a provider does not say.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// Where each wire format lives when no `base_url` is given.
pub fn default_base_url(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Ollama => "http://127.0.0.1:11434",
        ProviderKind::Openai => "https://api.openai.com/v1",
        ProviderKind::Anthropic => "https://api.anthropic.com",
    }
}

/// The key variable the vendors' own SDKs read; built-ins use it by default.
fn builtin_key_env(kind: ProviderKind) -> Option<String> {
    match kind {
        ProviderKind::Ollama => None,
        ProviderKind::Openai => Some("OPENAI_API_KEY".into()),
        ProviderKind::Anthropic => Some("ANTHROPIC_API_KEY".into()),
    }
}

fn merge_timeouts(base: ResolvedTimeouts, over: &Timeouts) -> ResolvedTimeouts {
    ResolvedTimeouts {
        connect: over.connect.unwrap_or(base.connect),
        first_token: over.first_token.unwrap_or(base.first_token),
        total: over.total.unwrap_or(base.total),
    }
}

/// All provider names a specialist may use in this project.
pub fn provider_names(project: &ProjectFile) -> Vec<&str> {
    let mut v: Vec<&str> = BUILTIN_PROVIDERS.to_vec();
    v.extend(project.providers.keys().map(String::as_str));
    v.sort_unstable();
    v.dedup();
    v
}

/// Resolve `name` (a `[providers.*]` entry wins over a built-in of the same
/// name), then lay the specialist's own `[timeouts]` over the provider's.
pub fn provider(
    name: &str,
    project: &ProjectFile,
    own: Option<&Timeouts>,
) -> Option<ResolvedProvider> {
    let mut p = if let Some(cfg) = project.providers.get(name) {
        ResolvedProvider {
            name: name.to_owned(),
            kind: cfg.kind,
            base_url: cfg
                .base_url
                .clone()
                .unwrap_or_else(|| default_base_url(cfg.kind).to_owned()),
            api_key_env: cfg.api_key_env.clone(),
            timeouts: merge_timeouts(ResolvedTimeouts::default(), &cfg.timeouts),
            max_retries: cfg.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            keep_alive: cfg.keep_alive.clone(),
        }
    } else {
        let kind = ProviderKind::from_name(name)?;
        ResolvedProvider {
            name: name.to_owned(),
            kind,
            base_url: default_base_url(kind).to_owned(),
            api_key_env: builtin_key_env(kind),
            timeouts: ResolvedTimeouts::default(),
            max_retries: DEFAULT_MAX_RETRIES,
            keep_alive: None,
        }
    };
    p.base_url = p.base_url.trim_end_matches('/').to_owned();
    if let Some(t) = own {
        p.timeouts = merge_timeouts(p.timeouts, t);
    }
    Some(p)
}

/// The file's params over `[defaults.params]`; `extra` merges key by key.
pub fn params(defaults: &Params, own: &Params) -> Params {
    let mut extra = defaults.extra.clone();
    extra.extend(own.extra.clone());
    Params {
        temperature: own.temperature.or(defaults.temperature),
        top_p: own.top_p.or(defaults.top_p),
        max_tokens: own.max_tokens.or(defaults.max_tokens),
        stop: own.stop.clone().or_else(|| defaults.stop.clone()),
        extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn builtins_and_entries() {
        let project: ProjectFile = toml::from_str(
            "[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:8080/v1/\"\nmax_retries = 5\n[providers.local.timeouts]\nconnect = \"1s\"\n",
        )
        .unwrap();
        let o = provider("ollama", &project, None).unwrap();
        assert_eq!(
            (o.base_url.as_str(), o.max_retries),
            ("http://127.0.0.1:11434", 2)
        );
        assert_eq!(
            provider("anthropic", &project, None).unwrap().base_url,
            "https://api.anthropic.com"
        );
        let own = Timeouts {
            total: Some(Duration::from_secs(9)),
            ..Timeouts::default()
        };
        let l = provider("local", &project, Some(&own)).unwrap();
        assert_eq!(l.base_url, "http://127.0.0.1:8080/v1");
        assert_eq!(l.max_retries, 5);
        assert_eq!(l.timeouts.connect, Duration::from_secs(1));
        assert_eq!(l.timeouts.total, Duration::from_secs(9));
        assert_eq!(
            l.timeouts.first_token,
            ResolvedTimeouts::default().first_token
        );
        assert!(provider("nope", &project, None).is_none());
    }

    #[test]
    fn params_merge() {
        let d = Params {
            temperature: Some(0.5),
            max_tokens: Some(10),
            ..Params::default()
        };
        let own = Params {
            temperature: Some(0.1),
            ..Params::default()
        };
        let m = params(&d, &own);
        assert_eq!((m.temperature, m.max_tokens), (Some(0.1), Some(10)));
    }
}
