//! How a round asks its members: one function, [`Members::ask_all`], so
//! where a member runs (this daemon's chat path today; another host's
//! socket later) is one implementation's business. [`InProcess`] is this
//! daemon's: each chat takes the specialist's own path (its prompt,
//! counters, timeouts, drain, and whatever the path does inside a chat,
//! such as consulting a colleague), and dropping a member's stream ends
//! its chat, which cancels the provider request.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use crate::config::SpecialistName;
use crate::protocol::{ChatBody, ErrorCode, Reply};
use crate::supervisor::SupervisorHandle;

/// A member's replies to one message: chunks, then one `response` or
/// `error` (other reply types a chat path emits pass through).
pub type MemberStream = BoxStream<'static, Reply>;

/// Why a member could not be asked: the error its round reports for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unasked {
    pub code: ErrorCode,
    pub error: String,
}

impl Unasked {
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Unasked {
        Unasked {
            code,
            error: error.into(),
        }
    }

    /// As `name`'s error reply.
    pub fn reply(self, name: &SpecialistName) -> Reply {
        Reply::error(name, None, self.code, self.error)
    }
}

/// Who answers a team's rounds.
pub trait Members: Send + Sync + 'static {
    /// Start a chat with each of `asks` (member, its user message) at once,
    /// in order: its reply stream, or the error reply that kept it from
    /// starting (`not_ready` for a member that is not serving).
    fn ask_all(
        &self,
        asks: Vec<(SpecialistName, String)>,
    ) -> BoxFuture<'_, Vec<Result<MemberStream, Unasked>>>;
}

/// The daemon's members: its running specialists, each asked on its own
/// in-process chat path ([`crate::specialist::ChatPath::chat`]).
pub struct InProcess {
    pub sup: SupervisorHandle,
}

impl Members for InProcess {
    fn ask_all(
        &self,
        asks: Vec<(SpecialistName, String)>,
    ) -> BoxFuture<'_, Vec<Result<MemberStream, Unasked>>> {
        async move {
            let running = self.sup.specialists();
            let mut out = Vec::with_capacity(asks.len());
            for (name, content) in asks {
                let body = ChatBody {
                    content,
                    stream: true,
                    ..ChatBody::default()
                };
                match running.chat(name.as_str(), None, body) {
                    Some(replies) => out.push(Ok(replies.boxed())),
                    None => out.push(Err(self.why_not(&name).await)),
                }
            }
            out
        }
        .boxed()
    }
}

impl InProcess {
    /// Why `name` has no chat path: its state, or that it does not exist.
    async fn why_not(&self, name: &SpecialistName) -> Unasked {
        match self.sup.one(name.as_str()).await {
            Ok(Some(l)) => Unasked::new(ErrorCode::NotReady, format!("{name} is {}", l.view.state)),
            Ok(None) => Unasked::new(
                ErrorCode::NotReady,
                format!("{name} is not running (no such specialist)"),
            ),
            Err(e) => Unasked::new(ErrorCode::ShuttingDown, e.to_string()),
        }
    }
}
