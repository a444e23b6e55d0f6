//! Relay one chat over a specialist's own socket and hand back its reply
//! objects one by one. The connection lives as long as the [`Relay`]: drop
//! it and the specialist sees its client leave and cancels the provider call.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiCode, ApiError};
use crate::client::{Client, ClientError};
use crate::config::SpecialistName;
use crate::protocol::{ErrorCode, Reply, ReplyBody, Request};
use crate::supervisor::LiveView;

/// Added to the provider's total timeout before a silent specialist is given up on.
const GRACE: Duration = Duration::from_secs(10);

/// The specialist called `name`, if it is running.
pub async fn target(state: &AppState, name: &str) -> Result<LiveView, ApiError> {
    let live = state.sup.live().await?;
    let found = live
        .into_iter()
        .find(|l| l.view.name == name)
        .ok_or_else(|| ApiError::unknown_specialist(name))?;
    if !serves(&found) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiCode::NotReady,
            format!("specialist {name} is {}", found.view.state),
        ));
    }
    Ok(found)
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

/// One chat in progress.
pub struct Relay {
    client: Client,
    name: SpecialistName,
    done: bool,
}

impl Relay {
    /// Connect and send; a failure here is returned as an error reply by [`Relay::next`].
    pub async fn open(target: &LiveView, request: &Request) -> Result<Relay, Reply> {
        let timeout = target.spec.provider.timeouts.total + GRACE;
        let name = target.view.name.clone();
        let fail = |e: ClientError| reply_for(&name, request, e);
        let mut client = Client::connect(&target.view.host, target.view.port, timeout)
            .await
            .map_err(fail)?;
        client.send(request).await.map_err(fail)?;
        Ok(Relay {
            client,
            name,
            done: false,
        })
    }

    /// The next reply; `None` after the final `response` or `error`.
    pub async fn next(&mut self, request: &Request) -> Option<Reply> {
        if self.done {
            return None;
        }
        let reply = match self.client.next_reply().await {
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
