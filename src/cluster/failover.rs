//! One chat over the socket protocol on whichever endpoint of a specialist
//! answers: the client side of failover (`cadre chat`, `cadre team`, and
//! anything else that talks to a specialist it found in the registry).

use std::sync::Arc;
use std::time::Duration;

use super::pick::{self, Attempt, Balancer, Target};
use crate::client::{Answer, ClientError};
use crate::protocol::{ChatBody, ReplyBody, Request, RequestBody};

/// Bounds of one chat.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// A connect that takes longer means the endpoint is not there.
    pub connect: Duration,
    /// Each wait for a reply line.
    pub reply: Duration,
}

/// A chat that got its answer.
#[derive(Debug)]
pub struct Answered {
    pub answer: Answer,
    /// The endpoint that answered.
    pub target: Target,
    /// The endpoints failed over from before it.
    pub attempts: Vec<Attempt>,
}

/// Why a chat got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// No endpoint opened (each refused, closed, or was shutting down).
    #[error("no endpoint answered: {}", describe(.attempts))]
    NoEndpoint { attempts: Vec<Attempt> },
    /// The endpoint it stayed with failed after its first reply (or answered
    /// with an error): that is the chat's answer, not a reason to fail over.
    #[error("{error}")]
    Chat {
        error: ClientError,
        target: Target,
        attempts: Vec<Attempt>,
    },
}

impl ChatError {
    /// What each endpoint tried answered, in one line.
    pub fn tried(&self) -> String {
        describe(self.attempts())
    }

    /// The endpoints failed over from.
    pub fn attempts(&self) -> &[Attempt] {
        match self {
            ChatError::NoEndpoint { attempts } | ChatError::Chat { attempts, .. } => attempts,
        }
    }
}

fn describe(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return "it has no live endpoint".into();
    }
    pick::tried(attempts)
}

/// Send `body` to the first endpoint of `targets` that opens (in the
/// balancer's order) and collect its answer, calling `on_line` per line
/// before it (chunks, a specialist's consultations; see
/// [`crate::client::Client::chat_events`])
/// streamed piece.
pub async fn chat(
    balancer: &Arc<Balancer>,
    targets: Vec<Target>,
    body: ChatBody,
    bounds: Bounds,
    mut on_line: impl FnMut(&ReplyBody),
) -> Result<Answered, ChatError> {
    let request = Request::new(RequestBody::Chat(body));
    let chosen = pick::first_open(balancer, targets, |t| {
        let request = &request;
        async move { pick::open_socket(&t, request, bounds.connect, bounds.reply).await }
    })
    .await
    .map_err(|attempts| ChatError::NoEndpoint { attempts })?;
    let (mut client, first) = chosen.stream;
    let fail = |error| ChatError::Chat {
        error,
        target: chosen.target.clone(),
        attempts: chosen.attempts.clone(),
    };
    let answer = client
        .finish_chat(first, &mut on_line)
        .await
        .map_err(fail)?;
    Ok(Answered {
        answer,
        target: chosen.target,
        attempts: chosen.attempts,
    })
}

/// The endpoints of `name` in `snapshot` whose state `accept`s, as targets.
pub fn targets_of(
    snapshot: &super::Snapshot,
    name: &str,
    accept: impl Fn(crate::registry::State) -> bool,
) -> Vec<Target> {
    snapshot
        .entries
        .iter()
        .filter(|e| e.name == name && accept(e.state))
        .map(|e| Target {
            host: e.connect_host().to_owned(),
            port: e.port,
            local: false,
            in_flight: 0,
        })
        .collect()
}
