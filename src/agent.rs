//! What the A2A and MCP servers need from the daemon: a roster of agents, each
//! with what its card shows, and a chat with any of them.
//!
//! An agent is a specialist or a team (DESIGN §12): each has its
//! [`AgentInfo`] and a chat stream, and the protocol servers serve both the
//! same way: they only ever see this trait. A team's chat is one run of the
//! team; its answer is the synthesis (or every member's final answer by
//! name), and what the rounds do meanwhile is [`ChatEvent::Progress`].
//! The daemon's implementation ([`crate::http`]'s) takes the same path as
//! `POST /api/specialists/NAME/chat` and `POST /api/teams/NAME`, so
//! counters, timeouts, drain and cancellation are the socket chat's own.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::Serialize;

use crate::protocol::ErrorCode;
use crate::provider::Message;

/// Which agent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgentId {
    Specialist(String),
    /// A team of teams.d.
    Team(String),
}

impl AgentId {
    /// The agent's name (unique within its kind).
    pub fn name(&self) -> &str {
        match self {
            AgentId::Specialist(n) | AgentId::Team(n) => n,
        }
    }

    /// Its path below `/a2a/`.
    pub fn a2a_path(&self) -> String {
        match self {
            AgentId::Specialist(n) => format!("/a2a/{n}"),
            AgentId::Team(n) => format!("/a2a/team/{n}"),
        }
    }

    pub fn is_team(&self) -> bool {
        matches!(self, AgentId::Team(_))
    }
}

/// What an agent's card and the MCP roster show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentInfo {
    #[serde(skip)]
    pub id: AgentId,
    pub name: String,
    pub title: String,
    pub description: String,
    pub role: String,
    pub expertise: Vec<String>,
    pub focus: Vec<String>,
    pub model: String,
    /// `ready`, `config_error`, … (the registry's spelling).
    pub state: String,
    /// Hash of the spec: the card's `version`.
    pub generation: String,
    /// Whether a chat can be served now.
    pub serving: bool,
    /// The rendered system prompt (`cadre render NAME`); empty for a team.
    #[serde(skip)]
    pub system_prompt: crate::config::SystemPrompt,
    /// A team's members (empty for a specialist).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// One chat turn: the new message and the earlier ones, oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Turn {
    pub content: String,
    pub history: Vec<Message>,
}

/// What a chat produces, in order: chunks (and, for a team, progress),
/// then exactly one `Done` or `Failed`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    Chunk(String),
    /// What a team's run is doing (a round began, a member answered or was
    /// silent): shown while it runs, not part of the answer.
    Progress(String),
    Done {
        content: String,
        model: String,
    },
    Failed {
        code: ErrorCode,
        message: String,
    },
}

/// Why a chat could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    #[error("no agent named {0:?}")]
    NotFound(String),
    /// Known but not serving now (starting, stopped, failed…).
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the daemon is shutting down")]
    ShuttingDown,
}

/// A chat in progress; dropping it cancels the provider request.
pub type ChatStream = BoxStream<'static, ChatEvent>;

/// The daemon as the protocol servers see it.
pub trait Backend: Send + Sync + 'static {
    /// Every specialist, sorted by name.
    fn agents(&self) -> BoxFuture<'_, Result<Vec<AgentInfo>, AgentError>>;
    /// Every team, sorted by name (none by default).
    fn teams(&self) -> BoxFuture<'_, Result<Vec<AgentInfo>, AgentError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// One agent, or [`AgentError::NotFound`]. The default searches the
    /// roster; a backend that can look one up without building the others'
    /// entries (each carries a whole system prompt) should.
    fn agent(&self, id: &AgentId) -> BoxFuture<'_, Result<AgentInfo, AgentError>> {
        let id = id.clone();
        Box::pin(async move {
            let all = if id.is_team() {
                self.teams().await?
            } else {
                self.agents().await?
            };
            all.into_iter()
                .find(|a| a.id == id)
                .ok_or_else(|| AgentError::NotFound(id.name().to_owned()))
        })
    }
    /// Start a chat with `id`.
    fn chat(&self, id: &AgentId, turn: Turn) -> BoxFuture<'_, Result<ChatStream, AgentError>>;
}

/// One agent of the roster, or [`AgentError::NotFound`].
pub async fn find(backend: &dyn Backend, id: &AgentId) -> Result<AgentInfo, AgentError> {
    backend.agent(id).await
}
