//! `/api/teams`: the teams as JSON, and a team's run as Server-Sent Events
//! (`round_start`, `chunk`, `response`, `error`, `synthesis`, `summary`,
//! each tagged with `team`, `round`, `part` and, for a member's, `specialist`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::response::sse::Event;
use futures::StreamExt;
use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiCode, ApiError, json_object};
use crate::team::{TeamError, TeamInfo};

impl From<TeamError> for ApiError {
    fn from(e: TeamError) -> ApiError {
        match e {
            TeamError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, ApiCode::NotFound, e.to_string())
            }
            TeamError::EmptyQuestion => {
                ApiError::bad_request("`content` must be a non-empty string")
            }
            TeamError::Supervisor(s) => s.into(),
        }
    }
}

/// `GET /api/teams`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<TeamInfo>>, ApiError> {
    let all = state.teams.list().await?;
    Ok(Json(all.iter().map(TeamInfo::from).collect()))
}

/// `GET /api/teams/NAME`.
pub async fn one(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TeamInfo>, ApiError> {
    Ok(Json(TeamInfo::from(&state.teams.get(&name).await?)))
}

/// The question of a request body: `content` (`question` and `message` accepted too).
pub(crate) fn question(body: &Map<String, Value>) -> Result<String, ApiError> {
    ["content", "question", "message"]
        .iter()
        .find_map(|k| body.get(*k))
        .and_then(Value::as_str)
        .filter(|q| !q.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("`content` must be a non-empty string"))
}

/// `POST /api/teams/NAME`: `{"content": "…"}`; the run as SSE. Closing the
/// stream ends the run and every member's chat in it.
pub async fn run(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let question = question(&json_object(body)?)?;
    let (spec, events) = state.teams.start(&name, question).await?;
    let team = spec.name.clone();
    let events = events.map(move |ev| {
        let data = ev.to_json(&team).to_string();
        Event::default().event(ev.kind()).data(data)
    });
    Ok(super::api::sse(events, super::api::EVENTS_KEEP_ALIVE))
}
