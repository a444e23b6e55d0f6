//! The daemon as an [`agent::Backend`]: the roster from the supervisor, and
//! each chat the way `POST /api/specialists/NAME/chat` goes ([`super::reach`]:
//! this daemon's own on the in-process chat path, so A2A and MCP chats share
//! its counters, drain and cancellation; a replica elsewhere over its socket).
//! A team's chat is one run of the team ([`crate::team::Runner`], as
//! `POST /api/teams/NAME`).

use axum::http::StatusCode;
use futures::FutureExt;
use futures::StreamExt;
use futures::future::BoxFuture;

use super::AppState;
use super::error::{ApiCode, ApiError};
use super::{reach, target};
use crate::agent::{AgentError, AgentId, AgentInfo, Backend, ChatEvent, ChatStream, Turn};
use crate::protocol::{ChatBody, ErrorCode, Reply, ReplyBody};
use crate::supervisor::{LiveView, TeamView};
use crate::team::TeamError;

pub(crate) struct Daemon {
    pub(crate) state: AppState,
}

fn info(l: &LiveView) -> AgentInfo {
    let s = &l.spec;
    AgentInfo {
        id: AgentId::Specialist(l.view.name.to_string()),
        name: l.view.name.to_string(),
        title: s.title.clone(),
        description: s.description.clone(),
        role: s.personality.role.clone(),
        expertise: s.personality.expertise.clone(),
        focus: s.personality.focus.clone(),
        model: s.model.clone(),
        state: l.view.state.as_str().to_owned(),
        generation: s.generation.clone(),
        serving: target::serves(l),
        system_prompt: s.system_prompt.clone(),
        members: Vec::new(),
    }
}

fn team_info(v: &TeamView) -> AgentInfo {
    let t = &v.spec;
    let members: Vec<String> = t.members.iter().map(ToString::to_string).collect();
    let role = match &t.moderator {
        Some(m) => format!("a team ({}), moderated by {m}", t.mode.as_str()),
        None => format!("a team ({})", t.mode.as_str()),
    };
    AgentInfo {
        id: AgentId::Team(t.name.to_string()),
        name: t.name.to_string(),
        title: t.title.clone(),
        description: t.description.clone(),
        role,
        expertise: Vec::new(),
        focus: Vec::new(),
        model: format!("team/{}", t.name),
        state: v.state.as_str().to_owned(),
        generation: t.generation.clone(),
        serving: true,
        system_prompt: Default::default(),
        members,
    }
}

fn team_error(e: TeamError) -> AgentError {
    match e {
        TeamError::NotFound(n) => AgentError::NotFound(n),
        TeamError::EmptyQuestion => AgentError::Invalid(e.to_string()),
        TeamError::Supervisor(_) => AgentError::ShuttingDown,
    }
}

fn agent_error(e: ApiError) -> AgentError {
    match e.status {
        StatusCode::NOT_FOUND => AgentError::NotFound(e.message),
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => AgentError::Invalid(e.message),
        _ if e.code == ApiCode::Protocol(ErrorCode::ShuttingDown) => AgentError::ShuttingDown,
        _ => AgentError::Unavailable(e.message),
    }
}

fn event(reply: Reply) -> ChatEvent {
    match reply.body {
        ReplyBody::Chunk { content } => ChatEvent::Chunk(content),
        ReplyBody::Response { content, model, .. } => ChatEvent::Done { content, model },
        ReplyBody::Error { code, error, .. } => ChatEvent::Failed {
            code,
            message: error,
        },
        other => ChatEvent::Failed {
            code: ErrorCode::ProviderError,
            message: format!("unexpected reply to a chat: {other:?}"),
        },
    }
}

impl Backend for Daemon {
    fn agents(&self) -> BoxFuture<'_, Result<Vec<AgentInfo>, AgentError>> {
        async move {
            let live = self
                .state
                .sup
                .live()
                .await
                .map_err(|_| AgentError::ShuttingDown)?;
            let mut all: Vec<AgentInfo> = live.iter().map(info).collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(all)
        }
        .boxed()
    }

    fn teams(&self) -> BoxFuture<'_, Result<Vec<AgentInfo>, AgentError>> {
        async move {
            let all = self.state.teams.list().await.map_err(team_error)?;
            Ok(all.iter().map(team_info).collect())
        }
        .boxed()
    }

    fn agent(&self, id: &AgentId) -> BoxFuture<'_, Result<AgentInfo, AgentError>> {
        let name = match id.clone() {
            AgentId::Specialist(name) => name,
            AgentId::Team(name) => {
                return async move {
                    let v = self.state.teams.get(&name).await.map_err(team_error)?;
                    Ok(team_info(&v))
                }
                .boxed();
            }
        };
        async move {
            match self.state.sup.one(&name).await {
                Ok(Some(l)) => Ok(info(&l)),
                Ok(None) => Err(AgentError::NotFound(name)),
                Err(_) => Err(AgentError::ShuttingDown),
            }
        }
        .boxed()
    }

    fn chat(&self, id: &AgentId, turn: Turn) -> BoxFuture<'_, Result<ChatStream, AgentError>> {
        let name = match id.clone() {
            AgentId::Specialist(name) => name,
            AgentId::Team(name) => {
                return async move {
                    let (spec, events) = self
                        .state
                        .teams
                        .start(&name, turn.content)
                        .await
                        .map_err(team_error)?;
                    Ok(crate::team::agent::chat(&spec.name, events))
                }
                .boxed();
            }
        };
        async move {
            let reach = reach::one(&self.state, &name).await.map_err(agent_error)?;
            let content = crate::protocol::chat_content(Some(turn.content))
                .map_err(|m| AgentError::Invalid(m.to_owned()))?;
            let body = ChatBody {
                content,
                history: turn.history,
                stream: true,
                ..ChatBody::default()
            };
            // The chat stream ends after its final reply; dropping it cancels
            // the chat. A consultation is the specialist's own business: A2A
            // and MCP see its answer.
            let replies = reach
                .chat(self.state.cluster.balancer.clone(), None, body)
                .filter(|r| std::future::ready(!r.body.is_consultation()));
            Ok(replies.map(event).boxed())
        }
        .boxed()
    }
}
