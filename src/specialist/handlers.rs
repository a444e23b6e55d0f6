//! One handler per request type: turn a decoded request into reply lines.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

use super::connection::{Connection, Writer};
use super::{ReplyCode, Serving, Shared};
use crate::consult::{self, Step};
use crate::conversation::{Message, ProviderHealth, Role};
use crate::protocol::Consulted;
use crate::protocol::{
    ChatBody, ErrorCode, HealthStatus, Info, Reply, ReplyBody, Request, RequestBody,
};
use crate::provider::{ChatRequest, Completion, ProviderError};

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
            let (status, provider) = health(&serving).await;
            let body = ReplyBody::HealthResponse { status, provider };
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
        errors: c.errors,
        in_flight: c.in_flight,
        last_latency_ms: c.last_latency_ms,
        revision: shared.revision.load_full().map(|r| (*r).clone()),
    }
}

async fn health(serving: &Serving) -> (HealthStatus, ProviderHealth) {
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
    (status, h)
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
        tools: Default::default(),
    }
}

enum Ended {
    Done(Completion, String, Vec<Consulted>),
    Failed(ProviderError),
    /// Writing a chunk failed: the client is gone.
    WriteFailed(std::io::Error),
    /// The connection broke (a reset) while the chat ran.
    ClientGone,
    Aborted,
}

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
    let ended = {
        // Dropping `run` (connection reset, abort) drops the provider stream, which
        // cancels the upstream HTTP request. While it runs, the connection is
        // both written (chunks) and watched for the client leaving.
        let (writer, gone) = conn.split();
        let run = run_chat(shared, &serving, req, &body, &id, writer);
        tokio::select! {
            e = run => e,
            _ = gone => Ended::ClientGone,
            _ = shared.abort.cancelled() => Ended::Aborted,
        }
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let body = match ended {
        Ended::Done(done, streamed, consulted) => {
            shared.counters.latency(latency_ms);
            answer(&serving, done, streamed, latency_ms, consulted)
        }
        Ended::Failed(e) => ReplyBody::Error {
            code: e.code(),
            error: e.to_string(),
        },
        Ended::Aborted => ReplyBody::Error {
            code: ErrorCode::ShuttingDown,
            error: "specialist stopped before the answer was complete".to_owned(),
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

/// The final `response`: the provider's whole text, else what streamed.
fn answer(
    serving: &Serving,
    done: Completion,
    streamed: String,
    latency_ms: u64,
    consulted: Vec<Consulted>,
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
        usage: done.usage,
        latency_ms,
        consulted,
    }
}

/// The chat itself: the provider's answer (through the consultation loop
/// when the spec has `[consult]`), its chunks and consultation lines written
/// as they come when the client streams.
async fn run_chat(
    shared: &Shared,
    serving: &Serving,
    req: ChatRequest,
    body: &ChatBody,
    id: &Option<Value>,
    writer: &mut Writer,
) -> Ended {
    let colleagues = shared.colleagues.get().cloned();
    let consulting = consult::consulting(&serving.spec, body.consultation.as_ref(), colleagues);
    let mut steps = consult::chat(serving.provider.clone(), req, consulting);
    let name = &serving.spec.name;
    let mut text = String::new();
    while let Some(step) = steps.next().await {
        let line = match step {
            Step::Chunk(c) => {
                text.push_str(&c);
                (body.stream && !c.is_empty()).then(|| Reply {
                    specialist: name.clone(),
                    id: id.clone(),
                    body: ReplyBody::Chunk { content: c },
                })
            }
            Step::Line(from, line) => body.stream.then(|| Reply {
                specialist: from,
                id: id.clone(),
                body: line,
            }),
            Step::Done(done, consulted) => return Ended::Done(done, text, consulted),
            Step::Failed(e) => return Ended::Failed(e),
        };
        if let Some(line) = line
            && let Err(e) = writer.write(&line).await
        {
            return Ended::WriteFailed(e);
        }
    }
    Ended::Failed(ProviderError::Malformed {
        provider: serving.spec.provider.name.clone(),
        reason: "the answer stream ended without a final message".into(),
    })
}
