//! Consultation (DESIGN §12): a specialist whose file has `[consult]` is
//! offered one tool, `ask_colleague {name, question}`, through its
//! provider's native tool calling. When its model calls it, cadre runs the
//! colleague's chat on the colleague's own chat path (its prompt, provider,
//! counters, limits and timeouts), hands the answer back as the tool result,
//! and the model goes on, until it answers in text.
//!
//! On the wire (socket, SSE, team rounds) a streamed chat then carries
//! `consult` and `consult_result` lines between its chunks, and the final
//! `response` lists every consultation in `consulted`.
//!
//! Layout:
//! - [`chain`]: who asks whom, the depth allowed, the budget the tree shares;
//! - [`tool`]: the tool's definition and the reading of a call;
//! - [`policy`]: whether a call may go ahead (the whole policy, pure);
//! - [`colleagues`]: how a local colleague is reached ([`Colleagues`], the
//!   daemon's in-process chat path) and what a call yields;
//! - [`remote`]: an A2A agent as a colleague (`[consult] remote`);
//! - [`run`]: the loop of provider rounds and consultations.
//!
//! Rules: a consultation nests at most `max_depth` deep (the tightest along
//! the chain), never back to someone already in the chain, and one client
//! chat causes at most its specialist's `budget` of them, nested ones
//! included. A refused call and a colleague that fails are tool errors the
//! model sees and answers around; the chat itself still completes.

pub mod chain;
pub mod colleagues;
pub mod policy;
pub mod remote;
pub mod run;
pub mod tool;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;

pub use chain::Chain;
pub use colleagues::Colleagues;
pub use run::Consulting;

use crate::config::{Spec, SpecialistName};
use crate::protocol::{Consulted, ReplyBody};
use crate::provider::{ChatEvent, ChatRequest, Completion, Provider, ProviderError};

/// One step of a specialist's chat, consultations included.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Chunk(String),
    /// A `consult` or `consult_result` line of `from` (this chat's
    /// specialist, or a colleague asking someone in turn).
    Line(SpecialistName, ReplyBody),
    /// The end: the whole answer (every round's text), and the colleagues asked.
    Done(Completion, Vec<Consulted>),
    Failed(ProviderError),
}

/// What consulting needs of the chat it happens in: the specialist's
/// `[consult]`, and the chain the chat is part of (none for a client's chat).
/// `None` when the spec has no `[consult]`: a plain chat.
pub fn consulting(
    spec: &Spec,
    incoming: Option<&Chain>,
    colleagues: Option<Arc<dyn Colleagues>>,
) -> Option<Consulting> {
    let config = spec.consult.clone()?;
    let chain = match incoming {
        Some(c) => c.enter(spec.name.clone(), Some(&config)),
        None => Chain::root(spec.name.clone(), &config),
    };
    Some(Consulting {
        me: spec.name.clone(),
        provider: spec.provider.name.clone(),
        config,
        chain,
        colleagues,
    })
}

/// A specialist's chat: the provider's stream as steps, or, with
/// consulting, the tool loop of [`run`].
pub fn chat(
    provider: Arc<dyn Provider>,
    req: ChatRequest,
    consulting: Option<Consulting>,
) -> BoxStream<'static, Step> {
    match consulting {
        Some(c) => run::chat(provider, req, c),
        None => provider
            .chat(req)
            .map(|ev| match ev {
                Ok(ChatEvent::Chunk(c)) => Step::Chunk(c),
                Ok(ChatEvent::Done(d)) => Step::Done(d, Vec::new()),
                Err(e) => Step::Failed(e),
            })
            .boxed(),
    }
}
