//! The resolved, validated form of a specialist: defaults merged, provider
//! resolved, prompt rendered. Everything downstream (plan, supervisor,
//! specialist, registry) works on this type and never re-reads files.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::name::SpecialistName;
use super::types::{Health, Params, Personality, ProviderKind};

/// A provider as a specialist will use it: built-in or `[providers.NAME]`, with defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedProvider {
    /// The name the specialist used (`ollama`, or a `[providers.*]` key).
    pub name: String,
    pub kind: ProviderKind,
    /// Base url with defaults applied and no trailing slash.
    pub base_url: String,
    /// Name of the environment variable holding the key; the key itself is read at use.
    pub api_key_env: Option<String>,
    pub timeouts: ResolvedTimeouts,
    pub max_retries: u32,
    pub keep_alive: Option<String>,
}

/// Timeouts with every default filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResolvedTimeouts {
    pub connect: Duration,
    pub first_token: Duration,
    pub total: Duration,
}

impl Default for ResolvedTimeouts {
    fn default() -> Self {
        ResolvedTimeouts {
            connect: Duration::from_secs(5),
            first_token: Duration::from_secs(120),
            total: Duration::from_secs(600),
        }
    }
}

/// One specialist, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: SpecialistName,
    /// The file it came from (for diagnostics and provenance).
    pub file: PathBuf,
    pub component: String,
    pub title: String,
    pub description: String,
    pub model: String,
    pub provider: ResolvedProvider,
    /// Host to bind (from `[listen] host`).
    pub host: String,
    /// Pinned port, or `None` to allocate from the range.
    pub port: Option<u16>,
    pub template: String,
    pub enabled: bool,
    pub personality: Personality,
    /// Params with `[defaults.params]` merged under the file's own.
    pub params: Params,
    pub health: Option<Health>,
    /// The rendered system prompt, exactly as the provider receives it.
    pub system_prompt: String,
    /// Hash of everything that affects behaviour (hex); changes iff a reload is needed.
    pub generation: String,
}
