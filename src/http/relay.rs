//! Relay one chat to a specialist and hand back its reply objects one by
//! one. The specialist may have several endpoints (replicas on other hosts,
//! DESIGN §13): [`target`] lists them from the cluster view and this
//! daemon's own, and [`Relay::open`] picks the one with the fewest chats in
//! flight, failing over to the next on a connect error or `shutting_down`
//! before the first reply. The connection lives as long as the [`Relay`]:
//! drop it and the specialist sees its client leave and cancels the
//! provider call.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiCode, ApiError};
use crate::client::{Client, ClientError};
use crate::cluster::pick::{self, Target};
use crate::cluster::replicas;
use crate::config::SpecialistName;
use crate::protocol::{ErrorCode, Reply, ReplyBody, Request};
use crate::supervisor::LiveView;

/// Added to the provider's total timeout before a silent specialist is given up on.
const GRACE: Duration = Duration::from_secs(10);
/// A connect that takes this long means the endpoint is not there.
const CONNECT: Duration = Duration::from_secs(3);
/// The reply bound of a specialist whose spec this daemon does not know.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(600);

/// A specialist a chat can go to: its endpoints, local and remote.
#[derive(Clone)]
pub struct ChatTarget {
    pub name: SpecialistName,
    pub endpoints: Vec<Target>,
    /// Bound on each wait for a reply.
    pub timeout: Duration,
    /// This daemon's own instance, when it runs one.
    pub local: Option<LiveView>,
}

/// The specialist called `name`, with every live endpoint. Unknown
/// anywhere: 404; known but with no endpoint answering chats: 503.
pub async fn target(state: &AppState, name: &str) -> Result<ChatTarget, ApiError> {
    let all = targets(state).await?;
    if let Some(t) = all.iter().find(|t| t.name == name) {
        if !t.endpoints.is_empty() {
            return Ok(t.clone());
        }
        let why = match &t.local {
            Some(l) => format!("specialist {name} is {}", l.view.state),
            None => format!("specialist {name} has no endpoint that takes chats"),
        };
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiCode::NotReady,
            why,
        ));
    }
    Err(ApiError::unknown_specialist(name))
}

/// Every specialist of the cluster (this daemon's and those other daemons
/// serve), by name, each with the endpoints that take chats.
pub async fn targets(state: &AppState) -> Result<Vec<ChatTarget>, ApiError> {
    let live = state.sup.live().await?;
    let snapshot = state.cluster.backend.view().now();
    let me = state.cluster.backend.identity();
    let mut out: std::collections::BTreeMap<SpecialistName, ChatTarget> = Default::default();
    for l in live {
        let endpoints = if serves(&l) {
            vec![Target {
                host: connect_host(&l.view.host).to_owned(),
                port: l.view.port,
                local: true,
                in_flight: l.counters.as_ref().map_or(0, |c| c.in_flight),
            }]
        } else {
            Vec::new()
        };
        let timeout = l.spec.provider.timeouts.total + GRACE;
        out.insert(
            l.view.name.clone(),
            ChatTarget {
                name: l.view.name.clone(),
                endpoints,
                timeout,
                local: Some(l),
            },
        );
    }
    for group in replicas::group(&snapshot.entries) {
        let t = out.entry(group.name.clone()).or_insert_with(|| ChatTarget {
            name: group.name.clone(),
            endpoints: Vec::new(),
            timeout: REMOTE_TIMEOUT,
            local: None,
        });
        for e in group.live().filter(|e| !me.owns(e)) {
            t.endpoints.push(Target {
                host: e.connect_host().to_owned(),
                port: e.port,
                local: false,
                in_flight: 0,
            });
        }
    }
    Ok(out.into_values().collect())
}

/// Where a client connects for a listener bound to `host`.
fn connect_host(host: &str) -> &str {
    match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "::1",
        h => h,
    }
}

/// Running with a listener (ready, or serving its last good spec).
pub fn serves(l: &LiveView) -> bool {
    l.counters.is_some() && l.view.port != 0
}

/// Turn a JSON body into a socket chat request (`type` and `stream` set
/// here), validated by the socket protocol's own decoder.
pub fn chat_request(mut body: Map<String, Value>, stream: bool) -> Result<Request, ApiError> {
    body.insert("type".into(), Value::from("chat"));
    body.insert("stream".into(), Value::from(stream));
    let line = serde_json::to_vec(&Value::Object(body))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    crate::protocol::decode(&line).map_err(|e| ApiError::from_code(e.code, e.message))
}

/// One chat in progress, on the endpoint it stays with.
pub struct Relay {
    client: Client,
    name: SpecialistName,
    /// The first reply, read while choosing the endpoint.
    first: Option<Result<Reply, ClientError>>,
    _in_flight: pick::InFlight,
    done: bool,
}

impl Relay {
    /// Pick an endpoint and send; when none opens, the error reply says
    /// what each one answered (it is returned by [`Relay::open`]'s `Err`).
    pub async fn open(
        state: &AppState,
        target: &ChatTarget,
        request: &Request,
    ) -> Result<Relay, Reply> {
        let timeout = target.timeout;
        let chosen = pick::first_open(
            &state.cluster.balancer,
            target.endpoints.clone(),
            |t| async move { pick::open_socket(&t, request, CONNECT, timeout).await },
        )
        .await;
        match chosen {
            Ok(c) => {
                let (client, first) = c.stream;
                Ok(Relay {
                    client,
                    name: target.name.clone(),
                    first: Some(first),
                    _in_flight: c.in_flight,
                    done: false,
                })
            }
            Err(attempts) => {
                let tried: Vec<String> = attempts
                    .iter()
                    .map(|a| format!("{}: {}", a.target.addr(), a.error))
                    .collect();
                let msg = format!(
                    "no endpoint of {} answered ({})",
                    target.name,
                    tried.join("; ")
                );
                Err(Reply::error(
                    &target.name,
                    request.id.clone(),
                    ErrorCode::ShuttingDown,
                    msg,
                ))
            }
        }
    }

    /// The next reply; `None` after the final `response` or `error`.
    pub async fn next(&mut self, request: &Request) -> Option<Reply> {
        if self.done {
            return None;
        }
        let next = match self.first.take() {
            Some(r) => r,
            None => self.client.next_reply().await,
        };
        let reply = match next {
            Ok(r) => r,
            Err(e) => reply_for(&self.name, request, e),
        };
        if !matches!(reply.body, ReplyBody::Chunk { .. }) {
            self.done = true;
        }
        Some(reply)
    }
}

/// A client-side failure as the socket protocol's error object.
fn reply_for(name: &SpecialistName, request: &Request, e: ClientError) -> Reply {
    let code = match &e {
        ClientError::Timeout { .. } => ErrorCode::Timeout,
        ClientError::Remote { code, .. } => *code,
        _ => ErrorCode::ShuttingDown,
    };
    Reply::error(name, request.id.clone(), code, e.to_string())
}
