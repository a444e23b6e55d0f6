//! The routes of A2A ([`crate::a2a`]) and MCP ([`crate::mcp`]) on the
//! daemon's HTTP server, behind the same token auth and
//! [`guard`](super::guard) as every route.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Extension, Router};

use super::AppState;
use super::agents::Daemon;
use crate::agent::Backend;

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let backend: Arc<dyn Backend> = Arc::new(Daemon {
        state: state.clone(),
    });
    let a2a = Arc::new(crate::a2a::Server::new(
        backend.clone(),
        crate::a2a::store::Limits::default(),
    ));
    let mcp = Arc::new(crate::mcp::Server::new(backend));
    Router::new()
        .route("/.well-known/agent-card.json", get(super::a2a::team_card))
        .route("/a2a/{name}", post(super::a2a::rpc))
        .route(
            "/a2a/{name}/.well-known/agent-card.json",
            get(super::a2a::agent_card),
        )
        .route("/a2a/team/{name}", post(super::a2a::team_rpc))
        .route(
            "/a2a/team/{name}/.well-known/agent-card.json",
            get(super::a2a::team_agent_card),
        )
        .route(
            "/mcp",
            post(super::mcp::post)
                .get(super::mcp::get)
                .delete(super::mcp::delete),
        )
        .layer(Extension(a2a))
        .layer(Extension(mcp))
}
