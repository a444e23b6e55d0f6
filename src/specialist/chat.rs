//! The chat path: one chat with one running specialist, in process.
//!
//! Every way into a specialist's model goes through here — its own socket,
//! `POST /api/specialists/NAME/chat`, `/api/team`, `/v1/chat/completions`,
//! A2A and MCP, team rounds and consultations — so they all share one
//! behaviour:
//!
//! - **Same spec snapshot.** A chat loads the specialist's [`Serving`] (spec
//!   and provider client) once, when it starts; a reload swaps it for the
//!   next chat and never changes a chat in flight.
//! - **Same counters.** `requests`, `in_flight`, the latency histogram and
//!   errors by code are the specialist's own, whoever asked.
//! - **Same drain.** A chat holds its specialist's drain open until its last
//!   reply; a chat that starts after draining began answers `shutting_down`,
//!   and one still running when the drain timeout passes is cut short with
//!   `shutting_down`.
//! - **Back-pressure and cancellation.** A [`ChatStream`] does its work only
//!   while its consumer polls it (it is a [`Generator`], not a task), so a
//!   slow reader slows the provider read instead of filling a buffer, and
//!   dropping it — an HTTP client that went away, a socket that closed, a
//!   team round that timed out — drops the provider request with it, which
//!   cancels it upstream. Such a chat counts as an error without a code.
//!
//! How to use it: look a specialist up in [`Specialists`] (one hash lookup,
//! nothing else is touched or copied), then [`ChatPath::chat`]:
//!
//! ```no_run
//! # async fn f(specialists: cadre::specialist::Specialists) {
//! use cadre::protocol::{ChatBody, ReplyBody};
//! use futures::StreamExt;
//! let Some(path) = specialists.get("numa") else { return };
//! let body = ChatBody { content: "what is recall?".into(), stream: true, ..Default::default() };
//! let mut replies = path.chat(None, body);
//! while let Some(reply) = replies.next().await {
//!     match reply.body {
//!         ReplyBody::Chunk { content } => print!("{content}"),
//!         ReplyBody::Response { .. } | ReplyBody::Error { .. } => break,
//!         _ => {}
//!     }
//! }
//! # }
//! ```
//!
//! The stream yields the socket protocol's own reply objects (tagged with the
//! specialist and the request's `id`): `chunk`s when `stream` is set, then
//! exactly one final `response` or `error`, then it ends. A failing provider
//! is an `error`, never a `response` carrying an error text.
//! [`ChatStream::answer`] skips to that final reply.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::{Stream, StreamExt};
use serde_json::Value;

use super::handlers::chat_request;
use super::{ReplyCode, Serving, Shared};
use crate::config::SpecialistName;
use crate::consult::{self, Step};
use crate::conversation::Usage;
use crate::generator::{Generator, Yield};
use crate::protocol::{ChatBody, Consulted, ErrorCode, Reply, ReplyBody};
use crate::provider::{Completion, ProviderError};
use crate::usage::Ticket;

use super::CountersSnapshot;
pub use super::specialists::Specialists;

/// A running specialist's way in: cheap to clone, and usable after the
/// specialist stopped (its chats then answer `shutting_down`).
#[derive(Clone)]
pub struct ChatPath {
    pub(crate) shared: Arc<Shared>,
}

impl ChatPath {
    /// Its name.
    pub fn name(&self) -> SpecialistName {
        self.shared.name()
    }

    /// What a chat started now would be answered with (spec and provider).
    pub fn serving(&self) -> Arc<Serving> {
        self.shared.serving.load_full()
    }

    /// Its counters now.
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// Its chats in flight now.
    pub fn in_flight(&self) -> u64 {
        self.shared.counters.in_flight_now()
    }

    /// Start a chat: counted as one request, answered on the spec serving
    /// now. `id` is echoed on every reply. Nothing happens until the stream
    /// is polled; dropping it cancels the chat.
    pub fn chat(&self, id: Option<Value>, body: ChatBody) -> ChatStream {
        self.shared
            .counters
            .request(crate::protocol::RequestKind::Chat);
        open(self.shared.clone(), id, body)
    }
}

/// One chat in progress: its replies, in order. See the module doc.
pub struct ChatStream {
    replies: Generator<Reply>,
    shared: Arc<Shared>,
}

impl Stream for ChatStream {
    type Item = Reply;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Reply>> {
        Pin::new(&mut self.replies).poll_next(cx)
    }
}

impl ChatStream {
    /// Wait for the final `response` or `error`, dropping the chunks.
    pub async fn answer(mut self) -> Reply {
        let mut last = None;
        while let Some(reply) = self.next().await {
            last = Some(reply);
        }
        // A chat always ends in a final reply; this only guards the type.
        last.unwrap_or_else(|| {
            Reply::error(
                &self.shared.name(),
                None,
                ErrorCode::ProviderError,
                "the chat ended without an answer",
            )
        })
    }
}

/// A chat on `shared`, without counting it as a request (the socket session
/// counts every line it reads, chats included).
pub(crate) fn open(shared: Arc<Shared>, id: Option<Value>, body: ChatBody) -> ChatStream {
    let s = shared.clone();
    ChatStream {
        replies: Generator::new(move |y| run(s, id, body, y)),
        shared,
    }
}

/// Counts the chat as an error unless it reached its final reply: a chat
/// dropped before that had its client go away.
struct Unanswered<'a> {
    shared: &'a Shared,
    armed: bool,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.counters.error();
            tracing::debug!(specialist = %self.shared.name(), "client left mid-chat; provider request cancelled");
        }
    }
}

/// How the provider part of a chat ended.
enum Ended {
    Done(Completion, Vec<Consulted>),
    Failed(ProviderError),
    Aborted,
}

async fn run(shared: Arc<Shared>, id: Option<Value>, body: ChatBody, y: Yield<Reply>) {
    // Holds the specialist's drain open until this block is dropped.
    let _token = shared.tracker.token();
    let serving = shared.serving.load_full();
    let reply = |body| Reply {
        specialist: serving.spec.name.clone(),
        id: id.clone(),
        body,
    };
    if shared.draining.is_cancelled() {
        let body = error(
            &shared,
            ErrorCode::ShuttingDown,
            "specialist is shutting down",
        );
        y.send(reply(body)).await;
        return;
    }
    let _in_flight = shared.counters.in_flight();
    let mut unanswered = Unanswered {
        shared: &shared,
        armed: true,
    };
    let last = match admit(&shared, &serving).await {
        Ok(ticket) => {
            let mut bill = Bill {
                ticket,
                serving: &serving,
                body: &body,
                text: String::new(),
                settled: false,
            };
            let started = Instant::now();
            let ended = provider_loop(&shared, &mut bill, &y, &reply).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            finish(&shared, &mut bill, ended, latency_ms)
        }
        Err(body) => body,
    };
    // Disarmed before the send: a consumer may drop the stream as soon as it
    // holds the final reply.
    unanswered.armed = false;
    y.send(reply(last)).await;
}

/// Wait for the specialist's `[limits]` to let the chat in (a turn under
/// `max_concurrent`; the wait ends with the drain's abort); the error reply
/// when they refuse it.
async fn admit(shared: &Shared, serving: &Serving) -> Result<Ticket, ReplyBody> {
    let admitted = tokio::select! {
        biased;
        _ = shared.abort.cancelled() => None,
        t = serving.meter.admit(&serving.spec.limits) => Some(t),
    };
    match admitted {
        Some(Ok(ticket)) => Ok(ticket),
        Some(Err(e)) => {
            tracing::debug!(specialist = %serving.spec.name, "chat refused: {e}");
            shared.counters.error_code(e.code());
            Err(ReplyBody::Error {
                code: e.code(),
                error: e.to_string(),
                retry_after_ms: Some(e.retry_after_ms()),
            })
        }
        None => Err(aborted(shared)),
    }
}

fn aborted(shared: &Shared) -> ReplyBody {
    error(
        shared,
        ErrorCode::ShuttingDown,
        "specialist stopped before the answer was complete",
    )
}

/// The final reply of an admitted chat, its cost recorded.
fn finish(shared: &Shared, bill: &mut Bill<'_>, ended: Ended, latency_ms: u64) -> ReplyBody {
    match ended {
        Ended::Done(done, consulted) => {
            shared.counters.latency(latency_ms);
            let usage = bill.settle(Some(&done)).unwrap_or_default();
            let streamed = std::mem::take(&mut bill.text);
            answer(bill.serving, done, streamed, usage, latency_ms, consulted)
        }
        Ended::Failed(e) => {
            bill.settle(None);
            error(shared, e.code(), e.to_string())
        }
        Ended::Aborted => {
            bill.settle(None);
            aborted(shared)
        }
    }
}

/// What an admitted chat cost, recorded exactly once however it ends: the
/// provider's usage; else, when text was generated (an answer without usage
/// fields, one that failed or was cut short, one whose client left and
/// dropped the stream), an estimate, marked as such.
struct Bill<'a> {
    ticket: Ticket,
    serving: &'a Serving,
    body: &'a ChatBody,
    /// What streamed so far.
    text: String,
    settled: bool,
}

impl Bill<'_> {
    fn settle(&mut self, done: Option<&Completion>) -> Option<Usage> {
        if std::mem::replace(&mut self.settled, true) {
            return None;
        }
        let answer = match done {
            Some(Completion { usage: Some(u), .. }) => {
                self.ticket.record(&self.serving.spec.provider.name, u);
                return Some(*u);
            }
            Some(d) if !d.content.is_empty() => d.content.as_str(),
            _ if self.text.is_empty() => return None,
            _ => self.text.as_str(),
        };
        let prompt = std::iter::once(self.serving.spec.system_prompt.as_str())
            .chain(self.body.history.iter().map(|m| m.content.as_str()))
            .chain(std::iter::once(self.body.content.as_str()));
        let u = crate::usage::estimate(prompt, answer);
        self.ticket.record(&self.serving.spec.provider.name, &u);
        Some(u)
    }
}

impl Drop for Bill<'_> {
    fn drop(&mut self) {
        self.settle(None);
    }
}

/// An error reply body, counted by its code.
fn error(shared: &Shared, code: ErrorCode, message: impl Into<String>) -> ReplyBody {
    shared.counters.error_code(code);
    ReplyBody::Error {
        code,
        error: message.into(),
        retry_after_ms: None,
    }
}

/// Read the provider's answer (through the consultation loop when the spec
/// has `[consult]`), handing out chunks and consultation lines when the chat
/// streams. Only the wait for the next step races the drain's abort, never
/// a `send` (see [`Yield::send`]).
async fn provider_loop(
    shared: &Shared,
    bill: &mut Bill<'_>,
    y: &Yield<Reply>,
    reply: &impl Fn(ReplyBody) -> Reply,
) -> Ended {
    let (serving, body) = (bill.serving, bill.body);
    let colleagues = shared.colleagues.get().cloned();
    let consulting = consult::consulting(&serving.spec, body.consultation.as_ref(), colleagues);
    let req = chat_request(serving, body);
    let mut steps = consult::chat(serving.provider.clone(), req, consulting);
    loop {
        let step = tokio::select! {
            biased;
            _ = shared.abort.cancelled() => return Ended::Aborted,
            s = steps.next() => s,
        };
        match step {
            Some(Step::Chunk(c)) => {
                bill.text.push_str(&c);
                if body.stream && !c.is_empty() {
                    y.send(reply(ReplyBody::Chunk { content: c })).await;
                }
            }
            // A colleague's own consultations are tagged with its name.
            Some(Step::Line(from, line)) if body.stream => {
                let mut r = reply(line);
                r.specialist = from;
                y.send(r).await;
            }
            Some(Step::Line(..)) => {}
            Some(Step::Done(done, consulted)) => return Ended::Done(done, consulted),
            Some(Step::Failed(e)) => return Ended::Failed(e),
            None => {
                return Ended::Failed(ProviderError::Malformed {
                    provider: serving.spec.provider.name.clone(),
                    reason: "the answer stream ended without a final message".into(),
                });
            }
        }
    }
}

/// The final `response`: the provider's whole text, else what streamed.
fn answer(
    serving: &Serving,
    done: Completion,
    streamed: String,
    usage: Usage,
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
        usage,
        latency_ms,
        consulted,
    }
}
