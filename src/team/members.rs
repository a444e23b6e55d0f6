//! How a round asks its members: one function, [`Members::ask_all`], so
//! where a member runs (this daemon's chat path today; another host's
//! socket later) is one implementation's business. [`Sockets`] is this
//! daemon's: each chat takes the specialist's own path (its prompt,
//! counters, timeouts, drain), and dropping a member's stream ends its
//! chat, which cancels the provider request.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use crate::client::Client;
use crate::config::SpecialistName;
use crate::protocol::{ChatBody, ErrorCode, Reply, ReplyBody, Request, RequestBody};
use crate::supervisor::{LiveView, SupervisorHandle};

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

/// Added to a provider's total timeout before a silent connection is given up on
/// (the round's own deadline is usually far shorter).
const GRACE: Duration = Duration::from_secs(10);

/// The daemon's members: its running specialists, asked on their own path.
pub struct Sockets {
    pub sup: SupervisorHandle,
}

impl Members for Sockets {
    fn ask_all(
        &self,
        asks: Vec<(SpecialistName, String)>,
    ) -> BoxFuture<'_, Vec<Result<MemberStream, Unasked>>> {
        async move {
            let live = match self.sup.live().await {
                Ok(l) => l,
                Err(e) => {
                    return asks
                        .iter()
                        .map(|_| Err(Unasked::new(ErrorCode::ShuttingDown, e.to_string())))
                        .collect();
                }
            };
            let by_name: HashMap<&str, &LiveView> =
                live.iter().map(|l| (l.view.name.as_str(), l)).collect();
            asks.into_iter()
                .map(|(name, content)| match by_name.get(name.as_str()) {
                    None => Err(Unasked::new(
                        ErrorCode::NotReady,
                        format!("{name} is not running (no such specialist)"),
                    )),
                    Some(l) if !l.serves() => Err(Unasked::new(
                        ErrorCode::NotReady,
                        format!("{name} is {}", l.view.state),
                    )),
                    Some(l) => Ok(chat(l, content)),
                })
                .collect()
        }
        .boxed()
    }
}

/// One streamed chat over `target`'s socket; connects when first polled.
fn chat(target: &LiveView, content: String) -> MemberStream {
    let name = target.view.name.clone();
    let (host, port) = (target.view.host.clone(), target.view.port);
    let timeout = target.spec.provider.timeouts.total + GRACE;
    let request = Request::new(RequestBody::Chat(ChatBody {
        content,
        stream: true,
        ..ChatBody::default()
    }));
    enum St {
        Start(String, u16, Request),
        Open(Client),
        Done,
    }
    let fail = |name: &SpecialistName, e: crate::client::ClientError| {
        let code = match &e {
            crate::client::ClientError::Timeout { .. } => ErrorCode::Timeout,
            _ => ErrorCode::NotReady,
        };
        Reply::error(name, None, code, e.to_string())
    };
    futures::stream::unfold(St::Start(host, port, request), move |st| {
        let name = name.clone();
        async move {
            let mut client = match st {
                St::Done => return None,
                St::Open(c) => c,
                St::Start(host, port, request) => {
                    let opened = async {
                        let mut c = Client::connect(&host, port, timeout).await?;
                        c.send(&request).await?;
                        Ok::<_, crate::client::ClientError>(c)
                    };
                    match opened.await {
                        Ok(c) => c,
                        Err(e) => return Some((fail(&name, e), St::Done)),
                    }
                }
            };
            match client.next_reply().await {
                Ok(r) if matches!(r.body, ReplyBody::Response { .. } | ReplyBody::Error { .. }) => {
                    Some((r, St::Done))
                }
                Ok(r) => Some((r, St::Open(client))),
                Err(e) => Some((fail(&name, e), St::Done)),
            }
        }
    })
    .boxed()
}
