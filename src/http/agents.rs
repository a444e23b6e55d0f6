//! The daemon as an [`agent::Backend`]: the roster from the supervisor, and
//! each chat through the very functions `POST /api/specialists/NAME/chat`
//! uses ([`relay::target`], [`relay::chat_request`], [`Relay`]), so A2A and
//! MCP chats share its path, counters and cancellation (and whatever replaces
//! its internals).

use axum::http::StatusCode;
use futures::FutureExt;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiCode, ApiError};
use super::relay::{self, Relay};
use crate::agent::{AgentError, AgentId, AgentInfo, Backend, ChatEvent, ChatStream, Turn};
use crate::protocol::{ErrorCode, Reply, ReplyBody, Request};
use crate::supervisor::LiveView;

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
        serving: relay::serves(l),
        system_prompt: s.system_prompt.as_str().to_owned(),
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
        ReplyBody::Error { code, error } => ChatEvent::Failed {
            code,
            message: error,
        },
        other => ChatEvent::Failed {
            code: ErrorCode::ProviderError,
            message: format!("unexpected reply to a chat: {other:?}"),
        },
    }
}

/// The relay's replies as chat events; the relay (its connection) lives in
/// the stream, so dropping the stream cancels the chat.
fn events(relay: Relay, request: Request) -> ChatStream {
    futures::stream::unfold(Some((relay, request)), |st| async move {
        let (mut relay, request) = st?;
        let ev = loop {
            let reply = relay.next(&request).await?;
            // A consultation is the specialist's own business; A2A and MCP
            // see its answer.
            if !is_consultation(&reply.body) {
                break event(reply);
            }
        };
        let more = matches!(ev, ChatEvent::Chunk(_));
        Some((ev, more.then_some((relay, request))))
    })
    .boxed()
}

fn is_consultation(body: &ReplyBody) -> bool {
    matches!(
        body,
        ReplyBody::Consult { .. } | ReplyBody::ConsultResult { .. }
    )
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

    fn chat(&self, id: &AgentId, turn: Turn) -> BoxFuture<'_, Result<ChatStream, AgentError>> {
        let AgentId::Specialist(name) = id.clone();
        async move {
            let target = relay::target(&self.state, &name)
                .await
                .map_err(agent_error)?;
            let mut body = Map::new();
            body.insert("content".into(), Value::from(turn.content));
            body.insert(
                "history".into(),
                serde_json::to_value(&turn.history)
                    .map_err(|e| AgentError::Invalid(e.to_string()))?,
            );
            let request = relay::chat_request(body, true).map_err(agent_error)?;
            Ok(match Relay::open(&target, &request).await {
                Ok(relay) => events(relay, request),
                Err(reply) => futures::stream::once(async move { event(reply) }).boxed(),
            })
        }
        .boxed()
    }
}
