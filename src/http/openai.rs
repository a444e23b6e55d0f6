//! OpenAI-compatible routes: `/v1/models` lists the specialists of the
//! cluster that some endpoint serves, then the teams (`team/NAME`), and
//! `/v1/chat/completions` talks to one (`model` = its name) with its own
//! system prompt first, or runs a team ([`super::openai_team`]). Errors use
//! OpenAI's `{"error":{message,type,code}}`.

use std::convert::Infallible;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::error::{ApiCode, ApiError, json_object};
use super::reach;
use crate::conversation::{Message, Role};
use crate::generator::Generator;
use crate::protocol::{ChatBody, ErrorCode, Reply, ReplyBody};

/// An [`ApiError`] in OpenAI's shape.
pub struct OpenAiError(pub ApiError);

impl From<ApiError> for OpenAiError {
    fn from(e: ApiError) -> Self {
        OpenAiError(e)
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let e = self.0;
        // The types OpenAI itself gives: `requests` for a request-rate limit,
        // `insufficient_quota` for a spent budget (which its SDKs' retry
        // policies treat as final). The code stays cadre's.
        let kind = match e.code {
            ApiCode::Protocol(ErrorCode::RateLimited) => "requests",
            ApiCode::Protocol(ErrorCode::BudgetExceeded) => "insufficient_quota",
            _ if e.status.is_server_error() => "server_error",
            _ => "invalid_request_error",
        };
        let code = if e.status == StatusCode::NOT_FOUND {
            ApiCode::ModelNotFound
        } else {
            e.code
        };
        let body =
            json!({"error": {"message": e.message, "type": kind, "param": null, "code": code}});
        e.respond(body)
    }
}

pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Every specialist of the cluster with an endpoint that takes chats.
pub async fn models(State(state): State<AppState>) -> Result<Response, OpenAiError> {
    let data: Vec<Value> = reach::all(&state)
        .iter()
        .map(|t| json!({"id": t.name, "object": "model", "created": 0, "owned_by": "cadre"}))
        .chain(
            state
                .teams
                .list()
                .await
                .unwrap_or_default()
                .iter()
                .map(|t| {
                    let id = format!("{}{}", super::openai_team::PREFIX, t.spec.name);
                    json!({"id": id, "object": "model", "created": 0, "owned_by": "cadre"})
                }),
        )
        .collect();
    Ok(Json(json!({"object": "list", "data": data})).into_response())
}

fn bad(message: impl Into<String>) -> OpenAiError {
    OpenAiError(ApiError::bad_request(message))
}

/// OpenAI messages → the socket chat body: the last message must be the
/// user's; everything before it (client system messages included) is
/// history, which the provider receives after the specialist's own prompt.
/// Read straight into the history and the new message (no intermediate JSON
/// objects): this is on every `/v1` chat's path.
fn messages_of(req: &Map<String, Value>) -> Result<(Vec<Message>, String), OpenAiError> {
    let messages = req
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`messages` must be an array"))?;
    let mut history = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let role = match m.get("role").and_then(Value::as_str).unwrap_or("") {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(bad(format!(
                    "messages[{i}].role {other:?} is not supported"
                )));
            }
        };
        history.push(Message {
            role,
            content: content_text(m.get("content")),
        });
    }
    let last = history.pop().ok_or_else(|| bad("`messages` is empty"))?;
    if last.role != Role::User {
        return Err(bad("the last message must have role \"user\""));
    }
    Ok((history, last.content))
}

/// The chat for a specialist: the messages, and the request's overrides.
fn chat_of(
    req: &Map<String, Value>,
    (history, content): (Vec<Message>, String),
    stream: bool,
) -> Result<ChatBody, OpenAiError> {
    crate::protocol::check_content(&content).map_err(bad)?;
    let max = ["max_completion_tokens", "max_tokens"]
        .into_iter()
        .find(|k| req.get(*k).is_some_and(|v| !v.is_null()));
    Ok(ChatBody {
        content,
        history,
        stream,
        temperature: field(req, "temperature")?,
        max_tokens: max.map(|k| field(req, k)).transpose()?.flatten(),
        consultation: None,
    })
}

/// An optional field of the request: absent or null is `None`; the wrong
/// type is a 400 naming the field.
fn field<T: serde::de::DeserializeOwned>(
    req: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, OpenAiError> {
    match req.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|e| bad(format!("invalid chat request: `{name}`: {e}"))),
    }
}

/// A message's text: a string, or the text parts of a content array.
fn content_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn remote_error(reply: Reply) -> OpenAiError {
    match reply.body {
        ReplyBody::Error {
            code,
            error,
            retry_after_ms,
        } => OpenAiError(ApiError::from_code(code, error).retry_after(retry_after_ms)),
        other => OpenAiError(ApiError::from_code(
            ErrorCode::ProviderError,
            format!("unexpected reply: {other:?}"),
        )),
    }
}

pub async fn completions(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OpenAiError> {
    let req = json_object(body)?;
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`model` must be a specialist's name"))?
        .to_owned();
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let messages = messages_of(&req)?;
    if let Some(team) = model.strip_prefix(super::openai_team::PREFIX) {
        let team = team.to_owned();
        let question = messages.1;
        return super::openai_team::completions(&state, &team, model, question, stream).await;
    }
    let reach = reach::one(&state, &model).await.map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            OpenAiError(ApiError::new(
                StatusCode::NOT_FOUND,
                ApiCode::ModelNotFound,
                format!("The model `{model}` does not exist"),
            ))
        } else {
            OpenAiError(e)
        }
    })?;
    let body = chat_of(&req, messages, stream)?;
    let mut replies = reach.chat(state.cluster.balancer.clone(), None, body);
    let id = format!("chatcmpl-{}", rand::random::<u64>());
    let created = now();
    // Wait for the first reply before answering, so a provider that is down
    // is an HTTP error, never a completion.
    let first = replies
        .next()
        .await
        .ok_or_else(|| OpenAiError(ApiError::from_code(ErrorCode::ProviderError, "no answer")))?;
    if !stream {
        return match first.body {
            ReplyBody::Response {
                content,
                usage,
                model: provider_model,
                ..
            } => Ok(Json(Completion {
                id: &id,
                object: "chat.completion",
                created,
                model: &model,
                system_fingerprint: &provider_model,
                choices: [Choice {
                    index: 0,
                    message: Said {
                        role: Role::Assistant,
                        content: &content,
                    },
                    finish_reason: "stop",
                    logprobs: None,
                }],
                usage: CompletionUsage {
                    prompt_tokens: usage.prompt_tokens,
                    completion_tokens: usage.completion_tokens,
                    total_tokens: usage.prompt_tokens.saturating_add(usage.completion_tokens),
                },
            })
            .into_response()),
            _ => Err(remote_error(first)),
        };
    }
    if matches!(first.body, ReplyBody::Error { .. }) {
        return Err(remote_error(first));
    }
    let ok: fn(Event) -> Result<Event, Infallible> = Ok;
    let events = stream_chunks(replies, first, id, created, model);
    Ok(Sse::new(events.map(ok)).into_response())
}

/// A non-streamed completion, written from borrowed fields (a `json!` tree
/// was built, serialized and freed on every `/v1` chat).
#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    system_fingerprint: &'a str,
    choices: [Choice<'a>; 1],
    usage: CompletionUsage,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: Said<'a>,
    finish_reason: &'static str,
    /// Always null: no log probabilities are kept.
    logprobs: Option<()>,
}

#[derive(Serialize)]
struct Said<'a> {
    role: Role,
    content: &'a str,
}

#[derive(Serialize)]
struct CompletionUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

pub(super) fn chunk(
    id: &str,
    created: u64,
    model: &str,
    delta: Value,
    finish: Option<&str>,
) -> Event {
    Event::default().data(
        json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
        .to_string(),
    )
}

/// The chat's replies as completion chunks: a role chunk, the deltas, a
/// `stop` chunk and `[DONE]`; a failure mid-stream is an error object and no
/// `[DONE]`. Read as the client reads; dropped with the response body.
fn stream_chunks(
    mut replies: Generator<Reply>,
    first: Reply,
    id: String,
    created: u64,
    model: String,
) -> Generator<Event> {
    Generator::new(move |y| async move {
        let role = json!({"role": "assistant", "content": ""});
        y.send(chunk(&id, created, &model, role, None)).await;
        let mut next = Some(first);
        while let Some(reply) = next {
            match reply.body {
                ReplyBody::Chunk { content } => {
                    let delta = json!({"content": content});
                    y.send(chunk(&id, created, &model, delta, None)).await;
                }
                ReplyBody::Response { .. } => {
                    y.send(chunk(&id, created, &model, json!({}), Some("stop")))
                        .await;
                    y.send(Event::default().data("[DONE]")).await;
                    return;
                }
                ReplyBody::Error { code, error, .. } => {
                    // Mid-stream failure: an error object, and no [DONE].
                    let e = ApiError::from_code(code, error);
                    let body = json!({"error": {"message": e.message, "type": "server_error", "code": e.code}});
                    y.send(Event::default().data(body.to_string())).await;
                    return;
                }
                // A consultation is the specialist's own business: the
                // completion carries its answer.
                ReplyBody::Consult { .. } | ReplyBody::ConsultResult { .. } => {}
                _ => return,
            }
            next = replies.next().await;
        }
    })
}
