//! `/api/*`: chats and team chats as Server-Sent Events carrying the socket
//! protocol's own reply objects (this daemon's specialists through their
//! in-process chat path, other daemons' over their sockets: [`super::reach`]),
//! and the reconcile event stream. The specialists as JSON are
//! [`super::roster`]'s; the probes [`super::health`]'s.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;

use super::error::{ApiError, json_object};
use super::reach::{self, Reach};
use super::target;
use crate::cluster::pick::Balancer;
use crate::generator::Generator;
use crate::protocol::{ChatBody, Reply, ReplyBody};

type SseStream = Response;

/// How often a chat stream writes an SSE comment while nothing else comes.
/// With HTTP half-close allowed (`server.rs`), a failed write is how a client
/// that left is noticed, so a wait for the first token is given up on within
/// two of these after the client is gone.
const CHAT_KEEP_ALIVE: Duration = Duration::from_secs(2);
/// The same for the long-lived, mostly idle reconcile event stream (and
/// team runs, whose members' chats each have their own bounds).
pub(super) const EVENTS_KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) fn sse(
    events: impl Stream<Item = Event> + Send + 'static,
    keep_alive: Duration,
) -> Response {
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
    let reach = reach::one(&state, &name).await?;
    let (id, chat) = target::chat_request(body, true)?;
    let replies = reach.chat(state.cluster.balancer.clone(), id, chat);
    Ok(sse(replies.map(|r| reply_event(&r)), CHAT_KEEP_ALIVE))
}

/// `POST /api/team`: the same body as a chat, sent to every specialist of
/// the cluster that some endpoint serves (one endpoint each) at once;
/// replies interleave as they come; a `summary` ends it.
pub async fn team(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<SseStream, ApiError> {
    let body = json_object(body)?;
    let (id, chat) = target::chat_request(body, true)?;
    let members = reach::all(&state);
    let balancer = &state.cluster.balancer;
    Ok(sse(
        team_events(members, balancer, id, chat),
        CHAT_KEEP_ALIVE,
    ))
}

/// Every member's chat at once, merged as replies come (a slow one delays
/// no other), then the summary.
fn team_events(
    members: Vec<Reach>,
    balancer: &Arc<Balancer>,
    id: Option<Value>,
    chat: ChatBody,
) -> Generator<Event> {
    let started = Instant::now();
    let total = members.len();
    let chats: Vec<_> = members
        .into_iter()
        .map(|m| m.chat(balancer.clone(), id.clone(), chat.clone()))
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

/// `GET /api/events`: reconcile events as they happen (`data` is the event
/// JSON), and a `resync` (`"cause":"cluster"`) whenever the cluster view
/// changes: another daemon's specialists came, went or changed state.
pub async fn events(State(state): State<AppState>) -> SseStream {
    let mut sub = state.sup.subscribe();
    let mut view = state.cluster.backend.view();
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let _ = tx
            .send(Event::default().event("hello").data("{\"kind\":\"hello\"}"))
            .await;
        let cluster = || {
            Event::default()
                .event("resync")
                .data("{\"kind\":\"resync\",\"cause\":\"cluster\"}")
        };
        let mut following = true;
        loop {
            let ev = tokio::select! {
                e = sub.recv() => e,
                changed = view.changed(), if following => {
                    following = changed;
                    if changed && tx.send(cluster()).await.is_err() {
                        return;
                    }
                    continue;
                }
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
