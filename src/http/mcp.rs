//! HTTP glue of [`crate::mcp`]: `POST /mcp` (JSON or SSE), `GET /mcp` (405:
//! no server-initiated stream), `DELETE /mcp` (end the session).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;

use crate::jsonrpc;
use crate::mcp::{self, Answer};

const SESSION: &str = "mcp-session-id";

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) async fn post(
    Extension(server): Extension<Arc<mcp::Server>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => {
            let e = super::a2a::body_error(&r);
            return (r.status(), Json(jsonrpc::error(&Value::Null, &e))).into_response();
        }
    };
    let answer = server
        .post(
            &body,
            header(&headers, SESSION),
            header(&headers, "mcp-protocol-version"),
        )
        .await;
    match answer {
        Answer::Accepted => StatusCode::ACCEPTED.into_response(),
        Answer::Json {
            status,
            body,
            session,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut r = (status, Json(body)).into_response();
            if let Some(s) = session.and_then(|s| HeaderValue::from_str(&s).ok()) {
                r.headers_mut().insert(SESSION, s);
            }
            r
        }
        Answer::Stream(messages) => {
            let events = messages.map(|m| {
                Ok::<_, Infallible>(Event::default().event("message").data(m.to_string()))
            });
            Sse::new(events)
                .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
                .into_response()
        }
    }
}

pub(crate) async fn get() -> Response {
    let mut r = StatusCode::METHOD_NOT_ALLOWED.into_response();
    r.headers_mut()
        .insert("allow", HeaderValue::from_static("POST, DELETE"));
    r
}

pub(crate) async fn delete(
    Extension(server): Extension<Arc<mcp::Server>>,
    headers: HeaderMap,
) -> Response {
    let status = server.delete(header(&headers, SESSION));
    StatusCode::from_u16(status)
        .unwrap_or(StatusCode::BAD_REQUEST)
        .into_response()
}
