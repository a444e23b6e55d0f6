//! Providers: the path from a specialist to its model.
//!
//! One trait, three wire formats (`ollama`, `openai`, `anthropic`). A chat is
//! a stream of [`ChatEvent`]s: text chunks, then exactly one [`ChatEvent::Done`].
//! Dropping the stream cancels the upstream HTTP request, which is how a
//! client that disconnects stops the model working for nobody.
//!
//! Tool calling ([`tools`]) rides the same stream: a request may offer tools
//! and carry earlier tool rounds; the final [`Completion`] then lists the
//! calls the model made. One request is one round: whoever runs the tools
//! sends the next request, so retries, timeouts and redaction apply to every
//! round exactly as to a plain chat.

pub mod anthropic;
mod cause;
mod check;
mod driver;
mod health;
pub(crate) mod inline;
pub mod ollama;
pub mod openai;
mod redact;
pub mod retry;
mod secret;
pub mod sse;
pub mod tools;
mod wire;

#[cfg(test)]
mod body_tests;

use std::collections::BTreeSet;
use std::sync::{Arc, Once};

use arc_swap::ArcSwapOption;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::config::{Params, ProviderKind};
pub use crate::conversation::{Message, ProviderHealth, Role, Usage};
pub use cause::{reason, root_cause};
pub use health::GET_CAP;
pub use tools::{Tool, ToolCall, ToolResult, ToolTurn, Tools};

use crate::health::{Problem, ProviderCheck, ProviderStatus, Severity};

/// What a specialist asks of its provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    /// The rendered system prompt, shared with the spec (and its escaped
    /// JSON form with it), not copied per chat.
    pub system: crate::config::SystemPrompt,
    /// History, then the user's new message last.
    pub messages: Vec<Message>,
    pub params: Params,
    /// Ask the provider to stream. Non-streaming still yields one chunk then `Done`.
    pub stream: bool,
    /// Tools offered and the tool rounds so far (empty: a plain chat).
    pub tools: Tools,
}

/// The end of a chat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The whole answer text.
    pub content: String,
    /// The model that answered, as the provider named it.
    pub model: String,
    /// Token counts from the provider's usage fields; `None` when it sent none.
    pub usage: Option<Usage>,
    /// Provider-reported generation time in ms, when it says.
    pub provider_ms: Option<u64>,
    /// The tools the model called instead of (or after) answering; empty
    /// for a plain answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

/// One step of a chat.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    Chunk(String),
    Done(Completion),
}

/// Which timeout of a chat expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Connecting to the provider.
    Connect,
    /// Waiting for the first token (or the response headers).
    FirstToken,
    /// Waiting for the next token once streaming started.
    Stall,
    /// The whole chat.
    Total,
}

impl TimeoutPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::FirstToken => "first token",
            TimeoutPhase::Stall => "stall between tokens",
            TimeoutPhase::Total => "total",
        }
    }
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a chat failed. The socket edge ([`crate::specialist`]) maps each to
/// one protocol error code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// Could not reach the provider at all.
    #[error("provider {provider} unavailable at {url}: {reason}")]
    Unavailable {
        provider: String,
        url: String,
        reason: String,
    },
    /// The provider answered with an error status; `message` is its own words.
    #[error("provider {provider} returned HTTP {status}: {message}")]
    Http {
        provider: String,
        status: u16,
        message: String,
    },
    /// A timeout elapsed (`phase` is connect, first token or total).
    #[error("provider {provider} timed out ({phase} after {after_ms} ms)")]
    Timeout {
        provider: String,
        phase: TimeoutPhase,
        after_ms: u64,
    },
    /// The provider's answer did not follow its wire format.
    #[error("provider {provider} sent a malformed response: {reason}")]
    Malformed { provider: String, reason: String },
}

/// A model provider. Implementations hold one pooled HTTP client.
pub trait Provider: Send + Sync + 'static {
    /// Start a chat. Timeouts and retries-before-first-token are applied inside.
    fn chat(&self, req: ChatRequest) -> BoxStream<'static, Result<ChatEvent, ProviderError>>;
    /// Check reachability (cached by the implementation for a few seconds).
    fn health(&self) -> BoxFuture<'static, ProviderHealth>;
    /// The provider doctor: key, reachability and which of `models` it
    /// lacks. The result is kept for [`Provider::last_check`].
    fn check(&self, models: BTreeSet<String>) -> BoxFuture<'static, Arc<ProviderCheck>>;
    /// What the last [`Provider::check`] found, if one ran.
    fn last_check(&self) -> Option<Arc<ProviderCheck>>;
}

/// Install the process's TLS provider once; every HTTP client needs it first.
pub fn install_tls() {
    static TLS: Once = Once::new();
    TLS.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Build the provider a resolved config describes (one pooled client inside).
/// The supervisor keeps one per distinct [`ResolvedProvider`], so specialists
/// sharing a provider share its connection pool. Timeouts, retries and the
/// key's variable name come from `cfg`; the key itself is read at each use.
pub fn build(cfg: &crate::config::ResolvedProvider) -> Arc<dyn Provider> {
    install_tls();
    let wire: Arc<dyn wire::Wire> = match cfg.kind {
        ProviderKind::Ollama => Arc::new(ollama::Ollama),
        ProviderKind::Openai => Arc::new(openai::OpenAi),
        ProviderKind::Anthropic => Arc::new(anthropic::Anthropic),
    };
    let client = reqwest::Client::builder()
        .connect_timeout(cfg.timeouts.connect)
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .user_agent(concat!("cadre/", env!("CARGO_PKG_VERSION")))
        .build();
    match client {
        Ok(client) => Arc::new(HttpProvider {
            ctx: Arc::new(driver::Ctx::new(cfg.clone(), client, wire)),
            health: Arc::new(health::HealthCache::default()),
            checked: Arc::default(),
        }),
        Err(e) => Arc::new(Broken {
            name: cfg.name.clone(),
            kind: cfg.kind,
            reason: format!("cannot build HTTP client: {e}"),
        }),
    }
}

/// A provider over HTTP; the wire format is the only part that differs.
struct HttpProvider {
    ctx: Arc<driver::Ctx>,
    health: Arc<health::HealthCache>,
    checked: Arc<ArcSwapOption<ProviderCheck>>,
}

impl Provider for HttpProvider {
    fn chat(&self, req: ChatRequest) -> BoxStream<'static, Result<ChatEvent, ProviderError>> {
        driver::chat(self.ctx.clone(), req)
    }

    fn health(&self) -> BoxFuture<'static, ProviderHealth> {
        let (ctx, cache) = (self.ctx.clone(), self.health.clone());
        Box::pin(async move { cache.get(&ctx).await })
    }

    fn check(&self, models: BTreeSet<String>) -> BoxFuture<'static, Arc<ProviderCheck>> {
        let (ctx, checked) = (self.ctx.clone(), self.checked.clone());
        Box::pin(async move {
            let found = Arc::new(check::check(&ctx, models).await);
            checked.store(Some(found.clone()));
            found
        })
    }

    fn last_check(&self) -> Option<Arc<ProviderCheck>> {
        self.checked.load_full()
    }
}

/// Stands in when the HTTP client cannot be built, so the failure shows up as
/// an honest error on each chat instead of a panic at startup.
struct Broken {
    name: String,
    kind: ProviderKind,
    reason: String,
}

impl Provider for Broken {
    fn chat(&self, _req: ChatRequest) -> BoxStream<'static, Result<ChatEvent, ProviderError>> {
        let err = ProviderError::Unavailable {
            provider: self.name.clone(),
            url: String::new(),
            reason: self.reason.clone(),
        };
        Box::pin(futures::stream::once(async move { Err(err) }))
    }

    fn health(&self) -> BoxFuture<'static, ProviderHealth> {
        let h = ProviderHealth {
            name: self.name.clone(),
            kind: self.kind.as_str().to_owned(),
            reachable: false,
            detail: Some(self.reason.clone()),
        };
        Box::pin(async move { h })
    }

    fn check(&self, models: BTreeSet<String>) -> BoxFuture<'static, Arc<ProviderCheck>> {
        let found = Arc::new(ProviderCheck {
            provider: self.name.clone(),
            kind: self.kind,
            url: String::new(),
            checked_at: crate::registry::now_rfc3339(),
            general: Some(Problem {
                status: ProviderStatus::Unreachable,
                severity: Severity::Fail,
                message: format!("provider {} cannot be used: {}", self.name, self.reason),
                fix: None,
            }),
            models,
            listed: false,
            missing: Default::default(),
        });
        Box::pin(async move { found })
    }

    fn last_check(&self) -> Option<Arc<ProviderCheck>> {
        None
    }
}
