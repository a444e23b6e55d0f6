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
use crate::cluster::backend::Identity;
use crate::cluster::pick::{self, Balancer, Open, Target};
use crate::cluster::replicas;
use crate::config::SpecialistName;
use crate::generator::Generator;
use crate::protocol::{ChatBody, ErrorCode, Reply, ReplyBody, Request, RequestBody};
use crate::registry::Entry;
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
            // Served here alone (the usual case): nothing to balance or fail
            // over to, so no balancer lock, no target list, no remote request.
            if let (Some((path, target)), true) = (&self.local, self.remote.is_empty()) {
                let (mut replies, first) = match open_local(path, id.clone(), body).await {
                    Open::Ready(opened) => opened,
                    Open::Retry(error) => {
                        let tried = [pick::Attempt {
                            target: target.clone(),
                            error,
                            at: std::time::Instant::now(),
                        }];
                        y.send(no_endpoint(&self.name, id, &tried)).await;
                        return;
                    }
                };
                let last = is_final(&first);
                y.send(first).await;
                if !last {
                    while let Some(reply) = replies.next().await {
                        y.send(reply).await;
                    }
                }
                return;
            }
            let mut targets = self.remote.clone();
            targets.extend(self.local.as_ref().map(|(_, t)| t.clone()));
            let request = Request {
                id: id.clone(),
                body: RequestBody::Chat(body.clone()),
            };
            let local = self.local.as_ref().map(|(p, _)| p);
            // Bound on each wait for a remote reply: this daemon's own
            // spec's when it serves the name too, else a generous one.
            let timeout = local.map_or(REMOTE_TIMEOUT, |p| {
                p.serving().spec.provider.timeouts.total + GRACE
            });
            let chosen = pick::first_open(&balancer, targets, |t| {
                let (request, id, body) = (&request, &id, &body);
                async move {
                    match local {
                        Some(path) if t.local => open_local(path, id.clone(), body.clone())
                            .await
                            .map(|(replies, first)| Opened::Local(replies, first)),
                        _ => open_remote(&t, request, timeout).await,
                    }
                }
            })
            .await;
            let chosen = match chosen {
                Ok(c) => c,
                Err(attempts) => {
                    y.send(no_endpoint(&self.name, id, &attempts)).await;
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

/// The error when every endpoint tried failed before answering.
fn no_endpoint(name: &SpecialistName, id: Option<Value>, attempts: &[pick::Attempt]) -> Reply {
    let msg = format!("no endpoint of {name} answered ({})", pick::tried(attempts));
    Reply::error(name, id, ErrorCode::ShuttingDown, msg)
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

async fn open_local(
    path: &ChatPath,
    id: Option<Value>,
    body: ChatBody,
) -> Open<(ChatStream, Reply)> {
    let mut replies = path.chat(id, body);
    match replies.next().await {
        Some(r) if pick::fails_over(&r) => Open::Retry("this daemon's own is shutting down".into()),
        Some(r) => Open::Ready((replies, r)),
        None => Open::Retry("this daemon's own gave no reply".into()),
    }
}

async fn open_remote(t: &Target, request: &Request, timeout: Duration) -> Open<Opened> {
    pick::open_socket(t, request, CONNECT, timeout)
        .await
        .map(|(client, first)| Opened::Remote(client, first))
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
/// saying its state. Only this name is looked at: one map look-up and a
/// binary search of the cluster view (issue 15: a chat must not cost more
/// with 1000 specialists than with 18).
pub async fn one(state: &AppState, name: &str) -> Result<Reach, ApiError> {
    let snapshot = state.cluster.backend.now();
    let me = state.cluster.backend.identity();
    let local = state.sup.specialists().get(name);
    let here = local.is_some();
    let entries = snapshot.named(name);
    if let Some(r) = join(local, entries, me)
        && r.reachable()
    {
        return Ok(r);
    }
    // Only another daemon knows it, and none of its endpoints takes chats.
    if !here && let Some(e) = entries.iter().find(|e| !me.owns(e)) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiCode::NotReady,
            format!("specialist {name} is {}", e.state),
        ));
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

/// Every specialist of the cluster that some endpoint serves, sorted by name.
pub fn all(state: &AppState) -> Vec<Reach> {
    let snapshot = state.cluster.backend.now();
    let me = state.cluster.backend.identity();
    let mut local: BTreeMap<SpecialistName, ChatPath> = state
        .sup
        .specialists()
        .all()
        .into_iter()
        .map(|p| (p.name(), p))
        .collect();
    let mut out: Vec<Reach> = snapshot
        .entries
        .chunk_by(|a, b| a.name == b.name)
        .filter_map(|named| join(local.remove(&named[0].name), named, me))
        .collect();
    out.extend(local.into_values().filter_map(|p| join(Some(p), &[], me)));
    out.retain(Reach::reachable);
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One specialist's endpoints: `local` (this daemon's instance, if it runs
/// one) joined with `entries`, the cluster view's entries of that name (the
/// other daemons' live ones become remote targets). `None` when neither has it.
fn join(local: Option<ChatPath>, entries: &[Entry], me: &Identity) -> Option<Reach> {
    let mut reach = match local {
        Some(path) => {
            let own = entries.iter().find(|e| me.owns(e));
            let target = Target {
                host: own.map_or("in-process", |e| e.connect_host()).to_owned(),
                port: own.map_or(0, |e| e.port),
                local: true,
                in_flight: path.in_flight(),
            };
            Reach {
                name: path.name(),
                local: Some((path, target)),
                remote: Vec::new(),
            }
        }
        None => Reach {
            name: entries.first()?.name.clone(),
            local: None,
            remote: Vec::new(),
        },
    };
    reach.remote = entries
        .iter()
        .filter(|e| replicas::answers_chats(e.state) && !me.owns(e))
        .map(|e| Target {
            host: e.connect_host().to_owned(),
            port: e.port,
            local: false,
            in_flight: 0,
        })
        .collect();
    Some(reach)
}
