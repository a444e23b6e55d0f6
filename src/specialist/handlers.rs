//! One handler per request type: turn a decoded request into reply lines.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use super::connection::Connection;
use super::{Serving, Shared};
use crate::conversation::{Message, ProviderHealth, Role};
use crate::protocol::{ChatBody, HealthStatus, Info, Reply, ReplyBody, Request, RequestBody};
use crate::provider::ChatRequest;

/// A health check that hangs must not hang the connection.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Answer `request`. An `Err` means the connection is unusable (write failed or the client left).
pub(crate) async fn respond(
    shared: &Arc<Shared>,
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
        RequestBody::Chat(body) => chat(shared, request.id, body, conn).await,
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
        system: spec.system_prompt.clone(),
        messages,
        params,
        stream: body.stream,
        tools: Default::default(),
    }
}

/// Answer a chat on the socket: the chat path's replies, each written as it
/// comes, while watching for the client leaving (which drops the chat and so
/// cancels the provider request). The client's next request stays buffered.
async fn chat(
    shared: &Arc<Shared>,
    id: Option<Value>,
    body: ChatBody,
    conn: &mut Connection,
) -> std::io::Result<()> {
    let mut replies = super::chat::open(shared.clone(), id, body);
    let (writer, gone) = conn.split();
    let mut gone = std::pin::pin!(gone);
    loop {
        let next = tokio::select! {
            r = replies.next() => r,
            _ = &mut gone => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "client left",
                ));
            }
        };
        match next {
            Some(reply) => writer.write(&reply).await?,
            None => return Ok(()),
        }
    }
}
