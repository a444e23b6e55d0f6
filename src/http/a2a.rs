//! HTTP glue of [`crate::a2a`]: `POST /a2a/NAME` (JSON-RPC; SSE for the
//! streaming methods), the agent cards, and the team card at the root.
//!
//! Every JSON-RPC error, including a body over the limit, is an HTTP 200 with
//! the error object, as the official A2A server answers: its client surfaces
//! the JSON-RPC error only then.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;

use super::AppState;
use super::error::{ApiCode, ApiError};
use crate::a2a::{self, Reply, Version, card};
use crate::agent::{self, AgentError, AgentId};
use crate::jsonrpc::{self, Incoming, RpcError};
use crate::protocol::ErrorCode;

fn rpc_error(id: &Value, e: &RpcError) -> Response {
    Json(jsonrpc::error(id, e)).into_response()
}

/// `http://HOST` of this request, for the URLs in cards.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn query_version(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("a2a-version"))
        .map(|(_, v)| v.into_owned())
}

fn not_found(id: &Value, e: &AgentError) -> Response {
    let mut r = rpc_error(id, &RpcError::invalid_request(e.to_string()));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// Body too large or unreadable → `-32600`.
pub(crate) fn body_error(r: &BytesRejection) -> RpcError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        RpcError::invalid_request(format!("request body exceeds {} bytes", super::MAX_BODY))
    } else {
        RpcError::invalid_request(r.body_text())
    }
}

/// `POST /a2a/NAME`: a specialist.
pub(crate) async fn rpc(
    Extension(server): Extension<Arc<a2a::Server>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    serve(&server, AgentId::Specialist(name), query, &headers, body).await
}

/// `POST /a2a/team/NAME`: a team; a task is one run of it.
pub(crate) async fn team_rpc(
    Extension(server): Extension<Arc<a2a::Server>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    serve(&server, AgentId::Team(name), query, &headers, body).await
}

async fn serve(
    server: &a2a::Server,
    agent: AgentId,
    query: Option<String>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => return rpc_error(&Value::Null, &body_error(&r)),
    };
    let call = match jsonrpc::decode(&body) {
        Ok(Incoming::Call(c)) => c,
        Ok(Incoming::Response { id }) => {
            return rpc_error(
                &id,
                &RpcError::invalid_request("expected a request, not a response"),
            );
        }
        Err(rej) => return rpc_error(&rej.id, &rej.error),
    };
    let Some(id) = call.id.clone() else {
        // A notification gets no reply (JSON-RPC §4.1); A2A has none to act on.
        return StatusCode::NO_CONTENT.into_response();
    };
    let header_version = headers.get("a2a-version").and_then(|v| v.to_str().ok());
    let version = match Version::select(header_version, query_version(query.as_deref()).as_deref())
    {
        Ok(v) => v,
        Err(e) => return rpc_error(&id, &e.to_rpc()),
    };
    if let Err(e) = agent::find(server.backend().as_ref(), &agent).await {
        return not_found(&id, &e);
    }
    match server.handle(&agent, &call, version).await {
        Ok(Reply::Json(result)) => Json(jsonrpc::result(&id, result)).into_response(),
        Ok(Reply::Stream(items)) => {
            let events = items.map(move |item| {
                let data = jsonrpc::result(&id, item).to_string();
                Ok::<_, Infallible>(Event::default().data(data))
            });
            Sse::new(events)
                .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
                .into_response()
        }
        Err(f) => rpc_error(&id, &f.to_rpc()),
    }
}

fn card_response(card: Value) -> Response {
    let mut r = Json(card).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=10"),
    );
    r
}

/// `GET /a2a/NAME/.well-known/agent-card.json`.
pub(crate) async fn agent_card(
    State(state): State<AppState>,
    Extension(server): Extension<Arc<a2a::Server>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    card_of(&state, &server, AgentId::Specialist(name), &headers).await
}

/// `GET /a2a/team/NAME/.well-known/agent-card.json`.
pub(crate) async fn team_agent_card(
    State(state): State<AppState>,
    Extension(server): Extension<Arc<a2a::Server>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    card_of(&state, &server, AgentId::Team(name), &headers).await
}

async fn card_of(
    state: &AppState,
    server: &a2a::Server,
    id: AgentId,
    headers: &HeaderMap,
) -> Response {
    match agent::find(server.backend().as_ref(), &id).await {
        Ok(info) => card_response(card::agent_card(
            &info,
            &base_url(headers),
            state.token.is_some(),
        )),
        Err(e) => {
            ApiError::new(StatusCode::NOT_FOUND, ApiCode::NotFound, e.to_string()).into_response()
        }
    }
}

/// `GET /.well-known/agent-card.json`: the whole team, its teams first.
pub(crate) async fn team_card(
    State(state): State<AppState>,
    Extension(server): Extension<Arc<a2a::Server>>,
    headers: HeaderMap,
) -> Response {
    let backend = server.backend();
    let all = match (backend.teams().await, backend.agents().await) {
        (Ok(mut teams), Ok(specialists)) => {
            teams.extend(specialists);
            teams
        }
        (Err(e), _) | (_, Err(e)) => {
            return ApiError::from_code(ErrorCode::ShuttingDown, e.to_string()).into_response();
        }
    };
    card_response(card::team_card(
        &all,
        &base_url(&headers),
        state.token.is_some(),
    ))
}
