//! Health as every view shows it (`status`, the socket's `info` and `health`
//! replies, `/api/specialists`, the pages, `/metrics`): of a specialist's
//! provider, as the provider doctor found it ([`ProviderCheck`]), and of the
//! component it serves, as its `[health] url` answers ([`ComponentHealth`],
//! polled by [`component`]). Health is shown, never acted on: a specialist
//! whose component is down, or whose provider looks unreachable, keeps
//! answering (the chat itself then says what failed).

pub mod component;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use crate::config::ProviderKind;

/// A provider as one specialist sees it (its model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderStatus {
    Ok,
    /// Nothing answers at its url (or it answers with an error).
    Unreachable,
    /// It answers, but does not have the specialist's model.
    ModelMissing,
    /// Its `api_key_env` is not set, or the key was refused.
    NoKey,
}

impl ProviderStatus {
    pub const ALL: [ProviderStatus; 4] = [
        ProviderStatus::Ok,
        ProviderStatus::Unreachable,
        ProviderStatus::ModelMissing,
        ProviderStatus::NoKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderStatus::Ok => "ok",
            ProviderStatus::Unreachable => "unreachable",
            ProviderStatus::ModelMissing => "model_missing",
            ProviderStatus::NoKey => "no_key",
        }
    }

    /// As `status` prints it: `model missing`.
    pub fn label(self) -> String {
        self.as_str().replace('_', " ")
    }
}

/// How bad a provider problem is: a chat surely fails, or it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Fail,
}

/// One problem a provider check found, said once for `up`'s log and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub status: ProviderStatus,
    pub severity: Severity,
    /// What is wrong, naming the provider and its url.
    pub message: String,
    /// What to do about it (`ollama serve`, `ollama pull MODEL`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Problem {
    /// The problem and its fix in one line.
    pub fn line(&self) -> String {
        match &self.fix {
            Some(fix) => format!("{}; {fix}", self.message),
            None => self.message.clone(),
        }
    }
}

/// What one probe of a provider found: reachability, key, and which of the
/// models in use it lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderCheck {
    /// Its name (`ollama`, or a `[providers.*]` key).
    pub provider: String,
    pub kind: ProviderKind,
    /// Its base url, without userinfo.
    pub url: String,
    /// RFC 3339.
    pub checked_at: String,
    /// A problem for every model: no key, or nothing answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general: Option<Problem>,
    /// The models asked about.
    pub models: BTreeSet<String>,
    /// Whether the provider listed its models (Anthropic's are not asked for).
    #[serde(default)]
    pub listed: bool,
    /// Those of them the provider does not have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub missing: BTreeMap<String, Problem>,
}

impl ProviderCheck {
    /// Every problem found, the general one first.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.general.iter().chain(self.missing.values())
    }

    /// The provider as a specialist using `model` sees it. A model this
    /// check did not ask about counts as present until the next check.
    pub fn verdict(&self, model: &str) -> ProviderVerdict {
        let problem = self.general.as_ref().or_else(|| self.missing.get(model));
        ProviderVerdict {
            status: problem.map_or(ProviderStatus::Ok, |p| p.status),
            detail: problem.map(Problem::line),
            checked_at: self.checked_at.clone(),
        }
    }
}

/// The provider health of one specialist: `provider_health` in
/// `/api/specialists`, `info` and `status --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderVerdict {
    pub status: ProviderStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub checked_at: String,
}

/// How a component's health endpoint answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentStatus {
    /// Not probed yet.
    Unknown,
    /// A 2xx within `slow`.
    Up,
    /// A 2xx, but slower than `slow`.
    Slow,
    /// Anything else: an error status, no connection, no answer within `timeout`.
    Down,
}

impl ComponentStatus {
    pub const ALL: [ComponentStatus; 4] = [
        ComponentStatus::Unknown,
        ComponentStatus::Up,
        ComponentStatus::Slow,
        ComponentStatus::Down,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Unknown => "unknown",
            ComponentStatus::Up => "up",
            ComponentStatus::Slow => "slow",
            ComponentStatus::Down => "down",
        }
    }
}

/// The component's health as last probed: `component` in the socket's
/// `health` reply, `component_health` elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentHealth {
    /// The `[health] url`, without userinfo.
    pub url: String,
    pub status: ComponentStatus,
    /// RFC 3339; `None` before the first probe.
    pub checked_at: Option<String>,
    /// How long the probe took; `None` when it got no answer.
    pub latency_ms: Option<u64>,
    /// Why it is down (`HTTP 503`, `connection refused`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ComponentHealth {
    /// Before the first probe of `url`.
    pub fn unknown(url: &str) -> ComponentHealth {
        ComponentHealth {
            url: crate::net::url::shown(url),
            status: ComponentStatus::Unknown,
            checked_at: None,
            latency_ms: None,
            detail: None,
        }
    }
}

/// Where the monitor puts a component's latest health and every view reads
/// it; one per specialist with a `[health] url`, kept across reloads.
pub type ComponentCell = Arc<ArcSwap<ComponentHealth>>;
