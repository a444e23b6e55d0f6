//! The on-disk configuration types. They are the single source of truth for
//! parsing (serde), validation (`deny_unknown_fields`) and the JSON Schemas
//! editors use (schemars), so a field documented here is documented everywhere.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::health::Health;
pub use super::limits::ChatLimits;

/// One specialist, declared by `specialists.d/NAME.toml`; the file stem is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecialistFile {
    /// The platform component this specialist speaks for (e.g. "numa").
    pub component: String,
    /// A short human title, shown in `status`, the web UI and to the rest of the team.
    pub title: String,
    /// One or two sentences saying what this specialist is for.
    #[serde(default)]
    pub description: String,
    /// Model name as the provider knows it (e.g. "llama3.3:70b"); defaults to `[defaults] model` of cadre.toml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Provider name: a built-in (`ollama`, `openai`, `anthropic`) or a `[providers.NAME]` of cadre.toml; defaults to `[defaults] provider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// TCP port to listen on; allocated from `[ports] range` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Template file in `templates/` that renders the system prompt; defaults to `specialist.md.j2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// `false` keeps the file but stops the specialist.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Who the specialist is: the template turns this into the system prompt.
    #[serde(default)]
    pub personality: Personality,
    /// Sampling parameters passed to the provider; unset fields fall back to `[defaults.params]`.
    #[serde(default)]
    pub params: Params,
    /// The component this specialist watches over; no url means no health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Per-specialist overrides of the provider's timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    /// What this specialist may spend (over `[defaults.limits]` of cadre.toml).
    #[serde(default, skip_serializing_if = "ChatLimits::is_unlimited")]
    pub limits: ChatLimits,
    /// Colleagues its model may ask (the `ask_colleague` tool) before it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consult: Option<super::consult::Consult>,
}

fn yes() -> bool {
    true
}

/// The personality a template renders into a system prompt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Personality {
    /// The specialist's role in one phrase (e.g. "memory keeper").
    #[serde(default)]
    pub role: String,
    /// What it knows best.
    #[serde(default)]
    pub expertise: Vec<String>,
    /// What it pays attention to when answering.
    #[serde(default)]
    pub focus: Vec<String>,
    /// How it speaks (tone, length, format).
    #[serde(default)]
    pub style: String,
    /// Free text appended to the system prompt: the specialist's own voice.
    #[serde(default)]
    pub prompt: String,
    /// Free-form values available to templates as `specialist.personality.vars.*`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: BTreeMap<String, toml::Value>,
}

/// Sampling parameters; every field is optional and passed through to the provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Sampling temperature (0 = deterministic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling probability mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Upper bound on generated tokens (Ollama: `num_predict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sequences that end generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// Provider-specific options passed through verbatim (Ollama `options`, OpenAI/Anthropic body fields).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub extra: BTreeMap<String, toml::Value>,
}

/// Timeouts of a provider request, in humantime form ("2s", "500ms", "5m").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Time allowed to open the TCP/TLS connection to the provider.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub connect: Option<Duration>,
    /// Time allowed from sending the request to the first token.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub first_token: Option<Duration>,
    /// Time allowed for the whole answer.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub total: Option<Duration>,
}

/// `cadre.toml`: project-wide settings next to `specialists.d/`. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// Values a specialist file falls back to.
    #[serde(default)]
    pub defaults: Defaults,
    /// Named providers; a specialist's `provider` may name one of these or a built-in.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Where allocated ports come from.
    #[serde(default)]
    pub ports: Ports,
    /// Where specialists listen.
    #[serde(default)]
    pub listen: Listen,
    /// The HTTP server of `cadre up` (web chat, API, OpenAI-compatible routes, metrics).
    #[serde(default)]
    pub http: Http,
    /// Limits that protect the daemon from abusive clients.
    #[serde(default)]
    pub limits: Limits,
}

/// Project-wide defaults for specialist fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Provider used by specialists that name none.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// Model used by specialists that name none.
    #[serde(default = "default_model")]
    pub model: String,
    /// Parameters merged under each specialist's `[params]`.
    #[serde(default)]
    pub params: Params,
    /// Default template for specialists that name none.
    #[serde(default = "default_template")]
    pub template: String,
    /// Limits of every specialist that sets none of its own (field by field).
    #[serde(default, skip_serializing_if = "ChatLimits::is_unlimited")]
    pub limits: ChatLimits,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            provider: default_provider(),
            model: default_model(),
            params: Params::default(),
            template: default_template(),
            limits: ChatLimits::default(),
        }
    }
}

fn default_provider() -> String {
    "ollama".into()
}
fn default_model() -> String {
    "llama3.3:70b".into()
}
fn default_template() -> String {
    "specialist.md.j2".into()
}

/// Which wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Ollama's native `/api/chat` (NDJSON streaming).
    Ollama,
    /// OpenAI-compatible `/chat/completions` (SSE): llama.cpp, vLLM, LM Studio, Ollama's /v1, OpenAI.
    Openai,
    /// Anthropic's `/v1/messages` (SSE).
    Anthropic,
}

impl ProviderKind {
    /// Every kind; each is also a built-in provider of the same name.
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::Ollama,
        ProviderKind::Openai,
        ProviderKind::Anthropic,
    ];

    /// The name in `kind = "…"`, in `health` replies, and of the built-in provider.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Ollama => "ollama",
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }

    /// The kind spelt `name`, if any.
    pub fn from_name(name: &str) -> Option<ProviderKind> {
        ProviderKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named provider in `[providers.NAME]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Wire format.
    pub kind: ProviderKind,
    /// Base url; OpenAI-compatible urls include `/v1`. Defaults per kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// NAME of the environment variable holding the API key (never the key itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Request timeouts; specialists may override them.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Retries before the first token on connect errors, 429 and 5xx (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Ollama only: how long the model stays loaded after a request (e.g. "5m").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<String>,
}

/// `[ports]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ports {
    /// Inclusive range `[first, last]` that pinned ports must fall in and allocated ports come from.
    #[serde(default = "default_range")]
    pub range: [u16; 2],
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            range: default_range(),
        }
    }
}

fn default_range() -> [u16; 2] {
    [45000, 50000]
}

/// `[listen]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// Address specialists bind; loopback unless you mean it.
    #[serde(default = "default_host")]
    pub host: String,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            host: default_host(),
        }
    }
}

fn default_host() -> String {
    "127.0.0.1".into()
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// Address of the web UI and HTTP API.
    #[serde(default = "default_http_listen")]
    pub listen: String,
    /// NAME of the environment variable holding a bearer token; required for a non-loopback `listen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            listen: default_http_listen(),
            token_env: None,
        }
    }
}

fn default_http_listen() -> String {
    "127.0.0.1:44999".into()
}

/// `[limits]`: protection against idle, slow and abusive clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Maximum open connections per specialist; further connections wait to be accepted.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// A connection that sends no complete line for this long is closed.
    #[serde(default = "default_idle", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub idle_timeout: Duration,
    /// How long a stopping specialist waits for in-flight chats.
    #[serde(default = "default_drain", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: default_max_connections(),
            idle_timeout: default_idle(),
            drain_timeout: default_drain(),
        }
    }
}

fn default_max_connections() -> usize {
    1024
}
fn default_idle() -> Duration {
    Duration::from_secs(300)
}
fn default_drain() -> Duration {
    Duration::from_secs(10)
}
