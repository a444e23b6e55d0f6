//! `GET /healthz` and `GET /readyz`, the probes of a process supervisor
//! (kubelet): answered without the bearer token, since a probe cannot send
//! one, and saying nothing a token would protect (counts and states, no
//! prompts, no names of secrets).
//!
//! - `/healthz` (liveness): 200 while the daemon's supervisor answers. A
//!   registry that cannot be reached is reported (`registry unavailable
//!   since …`) but is no reason to restart the daemon: its specialists keep
//!   serving.
//! - `/readyz` (readiness): 200 once the first reconcile is done and every
//!   specialist the daemon runs is ready; 503 with the ones that are not.
//!   A config error does not count against it (the specialist serves its
//!   last good spec; a broken new file starts nothing), nor an operator's
//!   stop, nor a name another daemon holds. From SIGTERM on it is 503
//!   `draining` (the Service stops sending traffic while the daemon drains),
//!   and `/healthz` stays 200 `draining`: the process is doing its job.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;

fn registry(state: &AppState) -> Value {
    let backend = &state.cluster.backend;
    match backend.health() {
        None => json!({"backend": backend.kind(), "available": true}),
        Some(u) => json!({
            "backend": backend.kind(),
            "available": false,
            "since": u.since_rfc3339(),
            "reason": u.reason,
            "message": u.to_string(),
        }),
    }
}

pub async fn healthz(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.sup.is_draining() {
        let body = json!({"status": "draining", "registry": registry(&state)});
        return Ok(Json(body).into_response());
    }
    let live = state.sup.live().await?;
    Ok(Json(json!({
        "status": "ok",
        "specialists": live.len(),
        "registry": registry(&state),
    }))
    .into_response())
}

pub async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.sup.is_draining() {
        let body = json!({"status": "draining", "not_ready": [], "registry": registry(&state)});
        return Ok((StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response());
    }
    let r = state.sup.readiness().await?;
    let not_ready: Vec<Value> = r
        .not_ready
        .iter()
        .map(|v| json!({"name": v.name, "state": v.state, "last_error": v.last_error}))
        .collect();
    let (status, word) = if r.ready() {
        (StatusCode::OK, "ready")
    } else if !r.reconciled {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    };
    let body = json!({"status": word, "not_ready": not_ready, "registry": registry(&state)});
    Ok((status, Json(body)).into_response())
}
