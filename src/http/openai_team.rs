//! `/v1/chat/completions` with `model = "team/NAME"`: the team runs on the
//! last user message and answers with its synthesis, or, for a team without
//! one, every member's final answer under its name
//! ([`crate::team::event::final_text`]). Streamed, the synthesis arrives
//! token by token as it is written (a team without one sends its answers
//! in one delta at the end); the role chunk goes out at once so a client
//! sees the request was taken while the rounds run.
//!
//! A run that ends without an answer (`routing_failed`, no member answered)
//! is an OpenAI error, never a completion whose text is an error.

use axum::Json;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::openai::{OpenAiError, chunk};
use crate::generator::Generator;
use crate::team::TeamEvent;
use crate::team::event::final_text;

/// The prefix that makes a `/v1` model a team.
pub const PREFIX: &str = "team/";

/// Answer `question` with team `name` (`model` is what the client sent).
pub async fn completions(
    state: &AppState,
    name: &str,
    model: String,
    question: String,
    stream: bool,
) -> Result<Response, OpenAiError> {
    let (_, events) = state
        .teams
        .start(name, question)
        .await
        .map_err(|e| match e {
            crate::team::TeamError::NotFound(_) => OpenAiError::from(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                super::error::ApiCode::ModelNotFound,
                format!("The model `{model}` does not exist (no team named {name:?})"),
            )),
            e => ApiError::from(e).into(),
        })?;
    let id = format!("chatcmpl-{}", rand::random::<u64>());
    let created = super::openai::now();
    if !stream {
        let all: Vec<TeamEvent> = events.collect().await;
        let content = final_text(&all).ok_or_else(|| failure(&all))?;
        return Ok(Json(json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop", "logprobs": null}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }))
        .into_response());
    }
    let events = stream_events(events, id, created, model);
    Ok(super::api::sse(events, super::api::EVENTS_KEEP_ALIVE))
}

/// Why a run gave no answer, as an OpenAI error.
fn failure(all: &[TeamEvent]) -> OpenAiError {
    let (code, message) = crate::team::event::failure(all);
    ApiError::from_code(code, message).into()
}

/// The run as completion chunks: role, synthesis deltas (or the answers at
/// the end), `stop` and `[DONE]`; a run without an answer ends with an
/// error object and no `[DONE]`.
fn stream_events(
    mut events: BoxStream<'static, TeamEvent>,
    id: String,
    created: u64,
    model: String,
) -> Generator<Event> {
    Generator::new(move |y| async move {
        let role = json!({"role": "assistant", "content": ""});
        y.send(chunk(&id, created, &model, role, None)).await;
        let mut seen = Vec::new();
        let mut streamed = false;
        while let Some(ev) = events.next().await {
            if let Some(content) = ev.synthesis_chunk() {
                streamed = true;
                let delta = json!({"content": content});
                y.send(chunk(&id, created, &model, delta, None)).await;
                continue;
            }
            if !ev.is_chunk() {
                seen.push(ev);
            }
        }
        match final_text(&seen) {
            Some(text) => {
                if !streamed {
                    let delta = json!({"content": text});
                    y.send(chunk(&id, created, &model, delta, None)).await;
                }
                y.send(chunk(&id, created, &model, json!({}), Some("stop")))
                    .await;
                y.send(Event::default().data("[DONE]")).await;
            }
            None => {
                let OpenAiError(e) = failure(&seen);
                let body: Value = json!({"error": {"message": e.message, "type": "server_error", "code": e.code}});
                y.send(Event::default().data(body.to_string())).await;
            }
        }
    })
}
