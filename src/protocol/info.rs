//! What the `info` and `health` replies tell about a specialist: the views
//! `status`, the API and the pages are built from.

use serde::{Deserialize, Serialize};

use crate::config::ChatLimits;
use crate::health::{ComponentHealth, ProviderVerdict};
use crate::usage::UsageReport;

/// `healthy` when the provider answers, else `degraded` (the socket itself still works).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Degraded,
}

/// What `info` tells about a specialist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    pub component: String,
    pub title: String,
    pub description: String,
    /// The provider's name (`ollama`, or a `[providers.*]` key).
    pub provider: String,
    pub model: String,
    pub port: u16,
    pub generation: String,
    /// Chats received.
    #[serde(default)]
    pub requests: u64,
    /// `ping`, `health` and `info` requests, counted apart from chats.
    #[serde(default)]
    pub pings: u64,
    #[serde(default)]
    pub healths: u64,
    #[serde(default)]
    pub infos: u64,
    #[serde(default)]
    pub errors: u64,
    #[serde(default)]
    pub in_flight: u64,
    #[serde(default)]
    pub last_latency_ms: Option<u64>,
    /// Git provenance of the specialist's files, when they are in a work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Tokens used, since start, per provider and today.
    #[serde(default)]
    pub usage: UsageReport,
    /// Its `[limits]` (over `[defaults.limits]`).
    #[serde(default)]
    pub limits: ChatLimits,
    /// Its provider as the provider doctor last found it (`null` before the first check).
    #[serde(default)]
    pub provider_health: Option<ProviderVerdict>,
    /// Its component's health; `null` without a `[health] url`.
    #[serde(default)]
    pub component_health: Option<ComponentHealth>,
}
