//! Which specialist an HTTP chat is for, and its request: the HTTP edge's
//! way onto the in-process chat path ([`crate::specialist::chat`]).

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiCode, ApiError};
use crate::protocol::ChatBody;
use crate::specialist::ChatPath;
use crate::supervisor::LiveView;

/// The chat path of `name`: one look-up in the running specialists. Only a
/// miss asks the supervisor, for the error: unknown (404) or known but not
/// serving now (503, saying its state).
pub async fn chat_path(state: &AppState, name: &str) -> Result<ChatPath, ApiError> {
    if let Some(p) = state.sup.specialists().get(name) {
        return Ok(p);
    }
    let Some(found) = state.sup.one(name).await? else {
        return Err(ApiError::unknown_specialist(name));
    };
    // It may have started between the two looks.
    if let Some(p) = state.sup.specialists().get(name) {
        return Ok(p);
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ApiCode::NotReady,
        format!("specialist {name} is {}", found.view.state),
    ))
}

/// Running with a listener (ready, or serving its last good spec).
pub fn serves(l: &LiveView) -> bool {
    l.counters.is_some() && l.view.port != 0
}

/// A JSON body as a chat request (`id` and the chat fields, checked as the
/// socket protocol checks a `chat` line); `stream` is the route's choice.
pub fn chat_request(
    body: Map<String, Value>,
    stream: bool,
) -> Result<(Option<Value>, ChatBody), ApiError> {
    crate::protocol::chat_from_object(body, stream)
        .map_err(|e| ApiError::from_code(e.code, e.message))
}
