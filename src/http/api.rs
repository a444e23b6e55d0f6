//! `/api/*`: chats and team chats as Server-Sent Events carrying the socket
//! protocol's own reply objects, and the event stream (reconcile events and
//! the cluster's endpoints coming and going). The specialists as JSON are
//! [`super::roster`]'s.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;

use super::error::{ApiError, json_object};
use super::relay::{self, ChatTarget, Relay};
use crate::protocol::{Reply, ReplyBody, Request};

type SseStream = Response;

fn sse(rx: mpsc::Receiver<Event>) -> Response {
    let ok: fn(Event) -> Result<Event, Infallible> = Ok;
    Sse::new(ReceiverStream::new(rx).map(ok))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn reply_event(reply: &Reply) -> Event {
    let kind = match &reply.body {
        ReplyBody::Chunk { .. } => "chunk",
        ReplyBody::Response { .. } => "response",
        ReplyBody::Error { .. } => "error",
        _ => "message",
    };
    Event::default()
        .event(kind)
        .data(serde_json::to_string(reply).unwrap_or_default())
}

/// `POST /api/specialists/NAME/chat`: `{"content", "history"?, "temperature"?, "max_tokens"?, "id"?}`.
pub async fn chat(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<SseStream, ApiError> {
    let body = json_object(body)?;
    let target = relay::target(&state, &name).await?;
    let request = relay::chat_request(body, true)?;
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        pump(
            &state,
            &target,
            &request,
            |r| {
                let tx = tx.clone();
                async move { tx.send(reply_event(&r)).await.is_ok() }
            },
            tx.clone(),
        )
        .await;
    });
    Ok(sse(rx))
}

/// Relay one chat, handing each reply to `emit` (false = the client left).
/// Returns whether it ended in a `response`. Stops, dropping the socket
/// connection, as soon as the HTTP client is gone.
async fn pump<F, Fut>(
    state: &AppState,
    target: &ChatTarget,
    request: &Request,
    emit: F,
    gone: mpsc::Sender<Event>,
) -> bool
where
    F: Fn(Reply) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut relay = match Relay::open(state, target, request).await {
        Ok(r) => r,
        Err(reply) => {
            emit(reply).await;
            return false;
        }
    };
    loop {
        let next = tokio::select! {
            r = relay.next(request) => r,
            _ = gone.closed() => return false,
        };
        let Some(reply) = next else { return false };
        let answered = matches!(reply.body, ReplyBody::Response { .. });
        if !emit(reply).await {
            return false;
        }
        if answered {
            return true;
        }
    }
}

/// `POST /api/team`: the same body as a chat, sent to every specialist of
/// the cluster that has a live endpoint (one endpoint each) at once; replies
/// interleave as they come; a `summary` ends it.
pub async fn team(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<SseStream, ApiError> {
    let body = json_object(body)?;
    let request = relay::chat_request(body, true)?;
    let targets: Vec<ChatTarget> = relay::targets(&state)
        .await?
        .into_iter()
        .filter(|t| !t.endpoints.is_empty())
        .collect();
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        let started = Instant::now();
        let total = targets.len();
        let mut runs: FuturesUnordered<_> = targets
            .iter()
            .map(|t| {
                let tx = tx.clone();
                let request = request.clone();
                let state = state.clone();
                async move {
                    let emit = |r: Reply| {
                        let tx = tx.clone();
                        async move { tx.send(reply_event(&r)).await.is_ok() }
                    };
                    (
                        t.name.clone(),
                        pump(&state, t, &request, emit, tx.clone()).await,
                    )
                }
            })
            .collect();
        let mut failed = Vec::new();
        while let Some((name, ok)) = runs.next().await {
            if !ok {
                failed.push(name);
            }
        }
        if tx.is_closed() {
            return;
        }
        failed.sort();
        let summary = json!({
            "type": "summary",
            "specialists": total,
            "answered": total - failed.len(),
            "failed": failed,
            "elapsed_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        let _ = tx
            .send(Event::default().event("summary").data(summary.to_string()))
            .await;
    });
    Ok(sse(rx))
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
    sse(rx)
}
