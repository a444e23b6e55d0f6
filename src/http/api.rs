//! `/api/*` and `/healthz`: specialists as JSON, chats and team chats as
//! Server-Sent Events carrying the socket protocol's own reply objects (the
//! in-process chat path's, [`crate::specialist::chat`]), and the reconcile
//! event stream.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use crate::config::{ChatLimits, SpecialistName};
use crate::health::{ComponentHealth, ProviderVerdict};
use crate::usage::UsageReport;

use super::error::{ApiError, json_object};
use super::target;
use crate::generator::Generator;
use crate::protocol::{ChatBody, Reply, ReplyBody};
use crate::specialist::ChatPath;
use crate::supervisor::LiveView;

/// One specialist as the API shows it: the data of `status --json` plus what
/// the pages display.
#[derive(Debug, Clone, Serialize)]
pub struct SpecialistJson {
    pub name: SpecialistName,
    pub component: String,
    pub title: String,
    pub description: String,
    pub role: String,
    pub host: String,
    pub port: u16,
    pub model: String,
    pub provider: String,
    pub state: crate::registry::State,
    pub generation: String,
    pub last_error: Option<String>,
    pub revision: Option<String>,
    /// Chats received (while a listener runs).
    pub requests: Option<u64>,
    /// `ping`, `health` and `info` requests, apart from chats.
    pub pings: Option<u64>,
    pub healths: Option<u64>,
    pub infos: Option<u64>,
    pub errors: Option<u64>,
    pub in_flight: Option<u64>,
    pub last_latency_ms: Option<u64>,
    /// Its provider as the provider doctor last found it (`null` before the first check).
    pub provider_health: Option<ProviderVerdict>,
    /// Its component as last polled (`null` without a `[health] url`).
    pub component_health: Option<ComponentHealth>,
    pub usage: UsageReport,
    pub limits: ChatLimits,
}

fn to_json(l: &LiveView) -> SpecialistJson {
    let spec = &l.spec;
    let c = l.counters.as_ref();
    SpecialistJson {
        name: l.view.name.clone(),
        component: spec.component.clone(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        role: spec.personality.role.clone(),
        host: l.view.host.clone(),
        port: l.view.port,
        model: spec.model.clone(),
        provider: spec.provider.name.clone(),
        state: l.view.state,
        generation: spec.generation.clone(),
        last_error: l.view.last_error.clone(),
        revision: l.revision.clone(),
        requests: c.map(|c| c.requests),
        pings: c.map(|c| c.pings),
        healths: c.map(|c| c.healths),
        infos: c.map(|c| c.infos),
        errors: c.map(|c| c.errors),
        in_flight: c.map(|c| c.in_flight),
        last_latency_ms: c.and_then(|c| c.last_latency_ms),
        provider_health: l.provider_health.clone(),
        component_health: l.component_health.clone(),
        usage: l.usage.clone(),
        limits: spec.limits,
    }
}

async fn live(state: &AppState) -> Result<Vec<LiveView>, ApiError> {
    Ok(state.sup.live().await?)
}

pub async fn healthz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let l = live(&state).await?;
    Ok(Json(json!({"status": "ok", "specialists": l.len()})).into_response())
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<SpecialistJson>>, ApiError> {
    Ok(Json(live(&state).await?.iter().map(to_json).collect()))
}

pub async fn one(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SpecialistJson>, ApiError> {
    state
        .sup
        .one(&name)
        .await?
        .map(|l| Json(to_json(&l)))
        .ok_or_else(|| ApiError::unknown_specialist(&name))
}

/// `GET /api/specialists/NAME/prompt`: the system prompt NAME runs on, as
/// plain text: what `cadre render NAME` prints (while its file is broken, the
/// last good prompt it still serves).
pub async fn prompt(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let found = state
        .sup
        .one(&name)
        .await?
        .ok_or_else(|| ApiError::unknown_specialist(&name))?;
    let headers = [
        (CONTENT_TYPE, "text/plain; charset=utf-8"),
        (CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, found.spec.system_prompt.to_string()).into_response())
}

type SseStream = Response;

/// How often a chat stream writes an SSE comment while nothing else comes.
/// With HTTP half-close allowed (`server.rs`), a failed write is how a client
/// that left is noticed, so a wait for the first token is given up on within
/// two of these after the client is gone.
const CHAT_KEEP_ALIVE: Duration = Duration::from_secs(2);
/// The same for the long-lived, mostly idle reconcile event stream.
const EVENTS_KEEP_ALIVE: Duration = Duration::from_secs(15);

fn sse(events: impl Stream<Item = Event> + Send + 'static, keep_alive: Duration) -> Response {
    let ok: fn(Event) -> Result<Event, Infallible> = Ok;
    Sse::new(events.map(ok))
        .keep_alive(KeepAlive::new().interval(keep_alive))
        .into_response()
}

fn reply_event(reply: &Reply) -> Event {
    let kind = match &reply.body {
        ReplyBody::Chunk { .. } => "chunk",
        ReplyBody::Response { .. } => "response",
        ReplyBody::Error { .. } => "error",
        ReplyBody::Consult { .. } => "consult",
        ReplyBody::ConsultResult { .. } => "consult_result",
        _ => "message",
    };
    Event::default()
        .event(kind)
        .data(serde_json::to_string(reply).unwrap_or_default())
}

/// `POST /api/specialists/NAME/chat`: `{"content", "history"?, "temperature"?, "max_tokens"?, "id"?}`.
///
/// The SSE body is the chat stream itself: it is read as the client reads,
/// and a client that goes away drops it, which cancels the provider request.
pub async fn chat(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<SseStream, ApiError> {
    let body = json_object(body)?;
    let path = target::chat_path(&state, &name).await?;
    let (id, chat) = target::chat_request(body, true)?;
    Ok(sse(
        path.chat(id, chat).map(|r| reply_event(&r)),
        CHAT_KEEP_ALIVE,
    ))
}

/// `POST /api/team`: the same body as a chat, sent to every running
/// specialist at once; replies interleave as they come; a `summary` ends it.
pub async fn team(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<SseStream, ApiError> {
    let body = json_object(body)?;
    let (id, chat) = target::chat_request(body, true)?;
    let members = state.sup.specialists().all();
    Ok(sse(team_events(&members, id, chat), CHAT_KEEP_ALIVE))
}

/// Every member's chat at once, merged as replies come (a slow one delays
/// no other), then the summary.
fn team_events(members: &[ChatPath], id: Option<Value>, chat: ChatBody) -> Generator<Event> {
    let started = Instant::now();
    let total = members.len();
    let chats: Vec<_> = members
        .iter()
        .map(|m| m.chat(id.clone(), chat.clone()))
        .collect();
    Generator::new(move |y| async move {
        let mut replies = futures::stream::select_all(chats);
        let mut failed = Vec::new();
        while let Some(reply) = replies.next().await {
            if matches!(reply.body, ReplyBody::Error { .. }) {
                failed.push(reply.specialist.clone());
            }
            y.send(reply_event(&reply)).await;
        }
        failed.sort();
        let summary = json!({
            "type": "summary",
            "specialists": total,
            "answered": total - failed.len(),
            "failed": failed,
            "elapsed_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        y.send(Event::default().event("summary").data(summary.to_string()))
            .await;
    })
}

/// `GET /api/events`: reconcile events as they happen (`data` is the event JSON).
pub async fn events(State(state): State<AppState>) -> SseStream {
    let mut sub = state.sup.subscribe();
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let _ = tx
            .send(Event::default().event("hello").data("{\"kind\":\"hello\"}"))
            .await;
        loop {
            let ev = tokio::select! {
                e = sub.recv() => e,
                _ = tx.closed() => return,
            };
            let event = match ev {
                Ok(ev) => Event::default()
                    .event(ev.kind.as_str())
                    .data(serde_json::to_string(&ev).unwrap_or_default()),
                // Missed some: tell the page to re-read everything.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Event::default()
                    .event("resync")
                    .data("{\"kind\":\"resync\"}"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    sse(ReceiverStream::new(rx), EVENTS_KEEP_ALIVE)
}
