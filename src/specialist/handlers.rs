//! One handler per request type: turn a decoded request into reply lines.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

use super::connection::{Connection, Writer};
use super::{ReplyCode, Serving, Shared};
use crate::config::SpecialistName;
use crate::conversation::{Message, ProviderHealth, Role, Usage};
use crate::protocol::{
    ChatBody, ErrorCode, HealthStatus, Info, Reply, ReplyBody, Request, RequestBody,
};
use crate::provider::{ChatEvent, ChatRequest, Completion, ProviderError};
use crate::usage::{LimitError, Ticket};

/// A health check that hangs must not hang the connection.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Answer `request`. An `Err` means the connection is unusable (write failed or the client left).
pub(crate) async fn respond(
    shared: &Shared,
    request: Request,
    conn: &mut Connection,
) -> std::io::Result<()> {
    let serving = shared.serving.load_full();
    let reply = |body| Reply {
        specialist: serving.spec.name.clone(),
        id: request.id.clone(),
        body,
    };
    match request.body {
        RequestBody::Ping => shared.send(conn, reply(ReplyBody::Pong)).await,
        RequestBody::Info => {
            let info = Box::new(info(shared, &serving));
            shared
                .send(conn, reply(ReplyBody::InfoResponse(info)))
                .await
        }
        RequestBody::Health => {
            let body = health(&serving).await;
            shared.send(conn, reply(body)).await
        }
        RequestBody::Chat(body) => {
            let id = request.id.clone();
            chat(shared, serving.clone(), id, body, conn).await
        }
    }
}

fn info(shared: &Shared, serving: &Serving) -> Info {
    let spec = &serving.spec;
    let c = shared.counters.snapshot();
    Info {
        component: spec.component.clone(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        provider: spec.provider.name.clone(),
        model: spec.model.clone(),
        port: shared.port,
        generation: spec.generation.clone(),
        requests: c.requests,
        pings: c.pings,
        healths: c.healths,
        infos: c.infos,
        errors: c.errors,
        in_flight: c.in_flight,
        last_latency_ms: c.last_latency_ms,
        revision: shared.revision.load_full().map(|r| (*r).clone()),
        usage: serving.meter.report(),
        limits: spec.limits,
        provider_health: serving.provider_health(),
        component_health: serving.component_health(),
    }
}

/// The provider's reachability (the specialist's own readiness) and, apart
/// from it, the component's health: a component that is down never makes
/// the specialist `degraded`, it keeps answering.
async fn health(serving: &Serving) -> ReplyBody {
    let h = match tokio::time::timeout(HEALTH_TIMEOUT, serving.provider.health()).await {
        Ok(h) => h,
        Err(_) => ProviderHealth {
            name: serving.spec.provider.name.clone(),
            kind: serving.spec.provider.kind.as_str().to_owned(),
            reachable: false,
            detail: Some(format!("health check timed out after {HEALTH_TIMEOUT:?}")),
        },
    };
    let status = if h.reachable {
        HealthStatus::Healthy
    } else {
        HealthStatus::Degraded
    };
    ReplyBody::HealthResponse {
        status,
        provider: h,
        component: serving.component_health(),
    }
}

/// The provider request for a chat: system prompt, history, the new message;
/// the specialist's params with this request's overrides on top.
pub(crate) fn chat_request(serving: &Serving, body: &ChatBody) -> ChatRequest {
    let spec = &serving.spec;
    let mut messages = body.history.clone();
    messages.push(Message {
        role: Role::User,
        content: body.content.clone(),
    });
    let mut params = spec.params.clone();
    if let Some(t) = body.temperature {
        params.temperature = Some(t);
    }
    if let Some(m) = body.max_tokens {
        params.max_tokens = Some(m);
    }
    ChatRequest {
        model: spec.model.clone(),
        system: spec.system_prompt.to_string(),
        messages,
        params,
        stream: body.stream,
    }
}

enum Ended {
    Done(Completion),
    Failed(ProviderError),
    /// Over a `[limits]` value: refused before the provider was asked.
    Limited(LimitError),
    /// Writing a chunk failed: the client is gone.
    WriteFailed(std::io::Error),
    ClientGone,
    Aborted,
}

/// One chat: admitted by the specialist's limits, answered by its provider,
/// its cost recorded (the provider's usage, else an estimate of what was
/// generated, also when the chat ended early).
async fn chat(
    shared: &Shared,
    serving: Arc<Serving>,
    id: Option<Value>,
    body: ChatBody,
    conn: &mut Connection,
) -> std::io::Result<()> {
    let _in_flight = shared.counters.in_flight();
    let started = Instant::now();
    let name = serving.spec.name.clone();
    let req = chat_request(&serving, &body);
    let mut streamed = String::new();
    let mut ticket = None;
    let ended = {
        // Dropping `run` (client gone, abort) drops the provider stream, which
        // cancels the upstream HTTP request, or ends the wait for a turn.
        // While it runs, the connection is both written (chunks) and watched
        // for the client leaving.
        let (writer, gone) = conn.split();
        let run = run_chat(
            &serving,
            req,
            body.stream,
            Out {
                name: &name,
                id: &id,
                writer,
            },
            &mut streamed,
            &mut ticket,
        );
        tokio::select! {
            e = run => e,
            _ = gone => Ended::ClientGone,
            _ = shared.abort.cancelled() => Ended::Aborted,
        }
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let usage = cost(&serving, &body, &ended, &streamed);
    if let (Some(t), Some(u)) = (&ticket, &usage) {
        t.record(&serving.spec.provider.name, u);
    }
    let body = match ended {
        Ended::Done(done) => {
            shared.counters.latency(latency_ms);
            answer(
                &serving,
                done,
                streamed,
                usage.unwrap_or_default(),
                latency_ms,
            )
        }
        Ended::Failed(e) => ReplyBody::Error {
            code: e.code(),
            error: e.to_string(),
            retry_after_ms: None,
        },
        Ended::Limited(e) => {
            tracing::debug!(specialist = %name, "chat refused: {e}");
            ReplyBody::Error {
                code: e.code(),
                error: e.to_string(),
                retry_after_ms: Some(e.retry_after_ms()),
            }
        }
        Ended::Aborted => ReplyBody::Error {
            code: ErrorCode::ShuttingDown,
            error: "specialist stopped before the answer was complete".to_owned(),
            retry_after_ms: None,
        },
        Ended::WriteFailed(e) => {
            shared.counters.error();
            return Err(e);
        }
        Ended::ClientGone => {
            shared.counters.error();
            tracing::debug!(specialist = %name, "client left mid-chat; provider request cancelled");
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "client left",
            ));
        }
    };
    let reply = Reply {
        specialist: name,
        id,
        body,
    };
    shared.send(conn, reply).await
}

/// What a chat cost: the provider's usage; else, when text was generated
/// (an answer without usage fields, or one cut short), an estimate.
fn cost(serving: &Serving, body: &ChatBody, ended: &Ended, streamed: &str) -> Option<Usage> {
    let answer = match ended {
        Ended::Done(done) => match done.usage {
            Some(u) => return Some(u),
            None if done.content.is_empty() => streamed,
            None => done.content.as_str(),
        },
        _ if streamed.is_empty() => return None,
        _ => streamed,
    };
    let prompt = std::iter::once(serving.spec.system_prompt.as_str())
        .chain(body.history.iter().map(|m| m.content.as_str()))
        .chain(std::iter::once(body.content.as_str()));
    Some(crate::usage::estimate(prompt, answer))
}

/// The final `response`: the provider's whole text, else what streamed.
fn answer(
    serving: &Serving,
    done: Completion,
    streamed: String,
    usage: Usage,
    latency_ms: u64,
) -> ReplyBody {
    let content = if done.content.is_empty() {
        streamed
    } else {
        done.content
    };
    let model = if done.model.is_empty() {
        serving.spec.model.clone()
    } else {
        done.model
    };
    ReplyBody::Response {
        content,
        model,
        usage,
        latency_ms,
    }
}

/// Where a chat's chunks go.
struct Out<'a> {
    name: &'a SpecialistName,
    id: &'a Option<Value>,
    writer: &'a mut Writer,
}

/// Admit the chat, then stream it from the provider; what streamed is
/// collected in `text`, the admission kept in `ticket` (both outlive a
/// cancelled run, so its cost is still counted).
async fn run_chat(
    serving: &Serving,
    req: ChatRequest,
    stream: bool,
    out: Out<'_>,
    text: &mut String,
    ticket: &mut Option<Ticket>,
) -> Ended {
    match serving.meter.admit(&serving.spec.limits).await {
        Ok(t) => *ticket = Some(t),
        Err(e) => return Ended::Limited(e),
    }
    let mut events = serving.provider.chat(req);
    while let Some(event) = events.next().await {
        match event {
            Ok(ChatEvent::Chunk(c)) => {
                if stream && !c.is_empty() {
                    let chunk = Reply {
                        specialist: out.name.clone(),
                        id: out.id.clone(),
                        body: ReplyBody::Chunk { content: c.clone() },
                    };
                    if let Err(e) = out.writer.write(&chunk).await {
                        return Ended::WriteFailed(e);
                    }
                }
                text.push_str(&c);
            }
            Ok(ChatEvent::Done(done)) => return Ended::Done(done),
            Err(e) => return Ended::Failed(e),
        }
    }
    Ended::Failed(ProviderError::Malformed {
        provider: serving.spec.provider.name.clone(),
        reason: "the answer stream ended without a final message".into(),
    })
}
