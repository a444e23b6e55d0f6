//! How a consultation reaches a colleague: the daemon's in-process chat path
//! behind a small trait ([`Colleagues`]), and A2A agents elsewhere
//! ([`super::remote`]). Either way one call becomes a stream of
//! [`CallEvent`]s: the colleague's own consultation lines as they happen,
//! then its answer or why there is none.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::chain::Chain;
use super::tool::Colleague;
use crate::config::SpecialistName;
use crate::protocol::{ChatBody, Reply, ReplyBody};

/// The specialists a consultation can ask, as the daemon runs them.
///
/// Implemented by the daemon over its in-process chat path (the very path a
/// socket chat takes: the colleague's own prompt, provider, counters, limits,
/// timeouts and drain); never a loopback connection to its own socket.
pub trait Colleagues: Send + Sync + 'static {
    /// The specialists running now, with what each is for (their titles):
    /// whom `["*"]` means, and what the tool tells the model about each.
    fn roster(&self) -> Vec<Colleague>;
    /// `to`'s chat of `body` on its chat path; `None` when it does not run.
    /// The stream yields its replies (chunks, its own consultation lines,
    /// then one `response` or `error`); dropping it cancels the chat.
    fn chat(&self, to: &str, body: ChatBody) -> Option<BoxStream<'static, Reply>>;
}

/// The daemon's colleagues: the running specialists, each asked on its own
/// in-process chat path ([`crate::specialist::ChatPath::chat`]), so a
/// consultation counts as a request of the colleague, is answered on its spec
/// snapshot and limits, and holds its drain open like any other chat.
impl Colleagues for crate::specialist::Specialists {
    fn roster(&self) -> Vec<Colleague> {
        self.all()
            .iter()
            .map(|p| Colleague {
                name: p.name().to_string(),
                about: p.serving().spec.title.clone(),
            })
            .collect()
    }

    fn chat(&self, to: &str, body: ChatBody) -> Option<BoxStream<'static, Reply>> {
        Some(crate::specialist::Specialists::chat(self, to, None, body)?.boxed())
    }
}

/// What one call produces, in order: lines, then exactly one `End`.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// A consultation line of the colleague's own chat (it asked someone too).
    Line(SpecialistName, ReplyBody),
    /// The answer, or why there is none (the text the asking model sees).
    End(Result<String, String>),
}

/// Ask local colleague `to` through `colleagues`, as `chain` (which already
/// names the asker) hands it down.
pub fn ask_local(
    colleagues: Option<&Arc<dyn Colleagues>>,
    to: &str,
    question: String,
    chain: &Chain,
) -> BoxStream<'static, CallEvent> {
    let body = ChatBody {
        content: question,
        // Streamed, so the colleague's first-token and stall timeouts apply
        // and its own consultations show as they happen.
        stream: true,
        consultation: Some(chain.clone()),
        ..ChatBody::default()
    };
    let Some(replies) = colleagues.and_then(|c| c.chat(to, body)) else {
        let why = format!("{to} is not running right now");
        return futures::stream::once(async move { CallEvent::End(Err(why)) }).boxed();
    };
    answers(to.to_owned(), replies)
}

/// A colleague's replies as call events: its consultation lines, then its
/// `response` (the answer) or `error` (the reason, as the client would have
/// read it: the same redacted text).
fn answers(to: String, replies: BoxStream<'static, Reply>) -> BoxStream<'static, CallEvent> {
    futures::stream::unfold(Some((to, replies)), |st| async move {
        let (to, mut replies) = st?;
        loop {
            let Some(reply) = replies.next().await else {
                let why = format!("{to} ended without an answer");
                return Some((CallEvent::End(Err(why)), None));
            };
            let ev = match reply.body {
                ReplyBody::Response { content, .. } => CallEvent::End(Ok(content)),
                ReplyBody::Error { code, error, .. } => {
                    CallEvent::End(Err(format!("{to} could not answer ({code}): {error}")))
                }
                body @ (ReplyBody::Consult { .. } | ReplyBody::ConsultResult { .. }) => {
                    CallEvent::Line(reply.specialist, body)
                }
                _ => continue,
            };
            let more = matches!(ev, CallEvent::Line(..));
            return Some((ev, more.then_some((to, replies))));
        }
    })
    .boxed()
}

/// A call that must end within `limit`; past it, the call's answer is a
/// timeout (and the colleague's chat is dropped, which cancels it).
pub fn bounded(
    to: String,
    call: BoxStream<'static, CallEvent>,
    limit: Duration,
) -> BoxStream<'static, CallEvent> {
    let deadline = tokio::time::Instant::now() + limit;
    futures::stream::unfold(Some(call), move |st| {
        let to = to.clone();
        async move {
            let mut call = st?;
            match tokio::time::timeout_at(deadline, call.next()).await {
                Ok(Some(ev @ CallEvent::Line(..))) => Some((ev, Some(call))),
                Ok(Some(ev)) => Some((ev, None)),
                Ok(None) => None,
                Err(_) => {
                    let why = format!(
                        "{to} did not answer within {}",
                        humantime::format_duration(limit)
                    );
                    Some((CallEvent::End(Err(why)), None))
                }
            }
        }
    })
    .boxed()
}
