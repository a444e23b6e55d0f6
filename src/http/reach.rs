//! A chat with a specialist wherever it is served (DESIGN §13): this
//! daemon's own instance through its in-process chat path
//! ([`ChatPath::chat`]), another daemon's (a replica on another host, or a
//! name only another daemon runs) over the socket protocol. The endpoint is
//! the one with the fewest chats in flight ([`pick`]); a connect error, a
//! connection closed before any reply, or `shutting_down` before the first
//! token moves the chat to the next one, so a client sees no failure while
//! one endpoint lives.
//!
//! The result is a stream of the socket protocol's reply objects, like
//! [`ChatPath::chat`]'s: chunks, then one final `response` or `error`. It is
//! a [`Generator`]: it works only while polled, and dropping it closes the
//! remote connection (the other daemon then cancels the provider call) or
//! drops the in-process chat.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use futures::StreamExt;
use serde_json::Value;

use super::AppState;
use super::error::{ApiCode, ApiError};
use crate::client::{Client, ClientError};
use crate::cluster::pick::{self, Balancer, Open, Target};
use crate::cluster::replicas;
use crate::config::SpecialistName;
use crate::generator::Generator;
use crate::protocol::{ChatBody, ErrorCode, Reply, ReplyBody, Request, RequestBody};
use crate::specialist::{ChatPath, ChatStream};

/// Added to the provider's total timeout before a silent specialist is given up on.
const GRACE: Duration = Duration::from_secs(10);
/// A connect that takes this long means the endpoint is not there.
const CONNECT: Duration = Duration::from_secs(3);
/// The reply bound for a specialist whose spec this daemon does not know.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(600);

/// A specialist a chat can go to: its endpoints, in process and remote.
#[derive(Clone)]
pub struct Reach {
    pub name: SpecialistName,
    /// This daemon's own instance, when it serves one, and its target.
    local: Option<(ChatPath, Target)>,
    remote: Vec<Target>,
    /// Bound on each wait for a remote reply.
    timeout: Duration,
}

impl Reach {
    /// True when some endpoint can take the chat.
    pub fn reachable(&self) -> bool {
        self.local.is_some() || !self.remote.is_empty()
    }

    /// Start a chat (nothing happens until the stream is polled).
    pub fn chat(
        self,
        balancer: Arc<Balancer>,
        id: Option<Value>,
        body: ChatBody,
    ) -> Generator<Reply> {
        Generator::new(move |y| async move {
            let mut targets = self.remote.clone();
            targets.extend(self.local.as_ref().map(|(_, t)| t.clone()));
            let request = Request {
                id: id.clone(),
                body: RequestBody::Chat(body.clone()),
            };
            let local = self.local.as_ref().map(|(p, _)| p);
            let timeout = self.timeout;
            let chosen = pick::first_open(&balancer, targets, |t| {
                let (request, id, body) = (&request, &id, &body);
                async move {
                    match local {
                        Some(path) if t.local => open_local(path, id, body).await,
                        _ => open_remote(&t, request, timeout).await,
                    }
                }
            })
            .await;
            let chosen = match chosen {
                Ok(c) => c,
                Err(attempts) => {
                    let tried: Vec<String> = attempts
                        .iter()
                        .map(|a| format!("{}: {}", a.target.addr(), a.error))
                        .collect();
                    let msg = format!(
                        "no endpoint of {} answered ({})",
                        self.name,
                        tried.join("; ")
                    );
                    y.send(Reply::error(&self.name, id, ErrorCode::ShuttingDown, msg))
                        .await;
                    return;
                }
            };
            let _in_flight = chosen.in_flight;
            match chosen.stream {
                Opened::Local(mut replies, first) => {
                    let last = is_final(&first);
                    y.send(first).await;
                    if last {
                        return;
                    }
                    while let Some(reply) = replies.next().await {
                        y.send(reply).await;
                    }
                }
                Opened::Remote(mut client, first) => {
                    let mut next = Some(first);
                    loop {
                        let got = match next.take() {
                            Some(r) => r,
                            None => client.next_reply().await,
                        };
                        let reply = got.unwrap_or_else(|e| reply_for(&self.name, &id, e));
                        let last = is_final(&reply);
                        y.send(reply).await;
                        if last {
                            return;
                        }
                    }
                }
            }
        })
    }
}

/// A chat opened on one endpoint, with its first reply.
enum Opened {
    Local(ChatStream, Reply),
    Remote(Client, Result<Reply, ClientError>),
}

/// The chat's last reply: its answer or its error (chunks and a
/// specialist's consultation lines come before it).
fn is_final(r: &Reply) -> bool {
    matches!(r.body, ReplyBody::Response { .. } | ReplyBody::Error { .. })
}

async fn open_local(path: &ChatPath, id: &Option<Value>, body: &ChatBody) -> Open<Opened> {
    let mut replies = path.chat(id.clone(), body.clone());
    match replies.next().await {
        Some(r) if pick::fails_over(&r) => Open::Retry("this daemon's own is shutting down".into()),
        Some(r) => Open::Ready(Opened::Local(replies, r)),
        None => Open::Retry("this daemon's own gave no reply".into()),
    }
}

async fn open_remote(t: &Target, request: &Request, timeout: Duration) -> Open<Opened> {
    match pick::open_socket(t, request, CONNECT, timeout).await {
        Open::Ready((client, first)) => Open::Ready(Opened::Remote(client, first)),
        Open::Retry(e) => Open::Retry(e),
    }
}

/// A client-side failure as the socket protocol's error object.
fn reply_for(name: &SpecialistName, id: &Option<Value>, e: ClientError) -> Reply {
    let code = match &e {
        ClientError::Timeout { .. } => ErrorCode::Timeout,
        ClientError::Remote { code, .. } => *code,
        _ => ErrorCode::ShuttingDown,
    };
    Reply::error(name, id.clone(), code, e.to_string())
}

/// The specialist called `name`, with every endpoint that takes chats.
/// Unknown anywhere: 404; known but with no endpoint taking chats: 503,
/// saying its state.
pub async fn one(state: &AppState, name: &str) -> Result<Reach, ApiError> {
    let local = state.sup.specialists().get(name);
    let mut all = cluster(state, local.into_iter().collect());
    if let Some(r) = all.remove(name)
        && r.reachable()
    {
        return Ok(r);
    }
    // Nothing takes chats: say why, as the in-process look-up does.
    let err = super::target::chat_path(state, name).await.err();
    Err(err.unwrap_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiCode::NotReady,
            format!("specialist {name} has no endpoint that takes chats"),
        )
    }))
}

/// Every specialist of the cluster that some endpoint serves, by name.
pub fn all(state: &AppState) -> Vec<Reach> {
    let local = state.sup.specialists().all();
    cluster(state, local)
        .into_values()
        .filter(Reach::reachable)
        .collect()
}

/// `local` (this daemon's running specialists) joined with the other
/// daemons' live entries of the cluster view.
fn cluster(state: &AppState, local: Vec<ChatPath>) -> BTreeMap<String, Reach> {
    let snapshot = state.cluster.backend.view().now();
    let me = state.cluster.backend.identity();
    let mut out: BTreeMap<String, Reach> = BTreeMap::new();
    for path in local {
        let name = path.name();
        let serving = path.serving();
        let own = snapshot
            .entries
            .iter()
            .find(|e| e.name == name && me.owns(e));
        let target = Target {
            host: own.map_or("in-process", |e| e.connect_host()).to_owned(),
            port: own.map_or(0, |e| e.port),
            local: true,
            in_flight: path.counters().in_flight,
        };
        out.insert(
            name.to_string(),
            Reach {
                name,
                timeout: serving.spec.provider.timeouts.total + GRACE,
                local: Some((path, target)),
                remote: Vec::new(),
            },
        );
    }
    for e in snapshot
        .entries
        .iter()
        .filter(|e| replicas::answers_chats(e.state) && !me.owns(e))
    {
        let r = out.entry(e.name.to_string()).or_insert_with(|| Reach {
            name: e.name.clone(),
            local: None,
            remote: Vec::new(),
            timeout: REMOTE_TIMEOUT,
        });
        r.remote.push(Target {
            host: e.connect_host().to_owned(),
            port: e.port,
            local: false,
            in_flight: 0,
        });
    }
    out
}
