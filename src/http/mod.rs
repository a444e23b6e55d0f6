//! The HTTP server of `cadre up` (DESIGN §10): the team page, a chat page per
//! specialist, the JSON/SSE API, OpenAI-compatible routes and `/metrics`.
//!
//! A chat with one of this daemon's own specialists takes its in-process
//! chat path ([`crate::specialist::chat`]), the one its socket takes: same
//! provider client, counters, spec snapshot, timeouts and drain, with no
//! loopback hop. An SSE body is the chat stream itself, so dropping an HTTP
//! response (the client went away) drops the chat, which cancels the
//! provider request. The specialists are the cluster's (DESIGN §13): this
//! daemon's and those other daemons serve ([`reach`]), each chat on the
//! endpoint with the fewest chats in flight, failing over before the first
//! token.

mod a2a;
mod agents;
mod api;
pub mod endpoint;
mod error;
mod guard;
mod health;
mod mcp;
mod metrics;
mod openai;
mod openai_team;
mod pages;
mod protocols;
mod reach;
mod roster;
mod server;
mod target;
mod teams;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::supervisor::{EventKind, SupervisorHandle};

pub use error::ApiError;

/// Largest request body accepted (the socket protocol's line limit).
pub const MAX_BODY: usize = crate::protocol::MAX_LINE;

/// Why the HTTP server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("[http] listen = {addr:?} is not an address (host:port): {reason}")]
    BadAddr { addr: String, reason: String },
    #[error(
        "[http] listen = {addr} is not a loopback address; set [http] token_env to the name of an \
         environment variable holding a bearer token, or listen on 127.0.0.1"
    )]
    NeedsToken { addr: String },
    #[error("[http] token_env names {var}, which is not set or empty")]
    TokenMissing { var: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Where and how to serve.
#[derive(Clone)]
pub struct Options {
    pub addr: SocketAddr,
    /// Required on every request as `Authorization: Bearer TOKEN` when set.
    pub token: Option<String>,
}

impl Options {
    /// Check `listen` and the token rule: a non-loopback address needs a token.
    /// `token_env` is the NAME of the variable; its value is read here.
    pub fn resolve(listen: &str, token_env: Option<&str>) -> Result<Options, HttpError> {
        let addr: SocketAddr =
            listen
                .parse()
                .map_err(|e: std::net::AddrParseError| HttpError::BadAddr {
                    addr: listen.to_owned(),
                    reason: e.to_string(),
                })?;
        let token = match token_env {
            Some(var) => match std::env::var(var) {
                Ok(t) if !t.is_empty() => Some(t),
                _ => {
                    return Err(HttpError::TokenMissing {
                        var: var.to_owned(),
                    });
                }
            },
            None => None,
        };
        if !addr.ip().is_loopback() && token.is_none() {
            return Err(HttpError::NeedsToken {
                addr: listen.to_owned(),
            });
        }
        Ok(Options { addr, token })
    }
}

/// Bind the listener (before the supervisor starts, so a taken port fails `up` early).
pub async fn bind(opts: &Options) -> Result<tokio::net::TcpListener, HttpError> {
    tokio::net::TcpListener::bind(opts.addr)
        .await
        .map_err(|source| HttpError::Bind {
            addr: opts.addr.to_string(),
            source,
        })
}

/// The cluster as the HTTP server sees it: the registry (its view, its
/// health) and which endpoints this process has chats open to.
#[derive(Clone)]
pub struct Cluster {
    pub backend: Arc<crate::cluster::Backend>,
    pub balancer: Arc<crate::cluster::pick::Balancer>,
}

impl Cluster {
    pub fn new(backend: Arc<crate::cluster::Backend>) -> Cluster {
        Cluster {
            backend,
            balancer: Arc::default(),
        }
    }
}

/// State shared by every route; one reference count to clone, as axum
/// clones it for every request (its fields by value were ~20 atomic
/// increments and decrements a request, 4 % of a `/v1` chat's CPU).
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub(crate) struct Shared {
    pub(crate) sup: SupervisorHandle,
    pub(crate) cluster: Cluster,
    /// Reloads and config errors per specialist, counted from reconcile events.
    pub(crate) tallies: Arc<Mutex<BTreeMap<String, Tallies>>>,
    /// The teams, run on the same chat path as every chat here.
    pub(crate) teams: crate::team::Runner,
    token: Option<Arc<str>>,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tallies {
    pub(crate) reloads: u64,
    pub(crate) config_errors: u64,
}

/// The whole application; `serve` runs it, tests and benches may too.
pub fn router(sup: SupervisorHandle, cluster: Cluster, token: Option<String>) -> Router {
    let state = AppState(Arc::new(Shared {
        sup: sup.clone(),
        cluster,
        tallies: Arc::default(),
        teams: crate::team::Runner::new(sup.clone()),
        token: token.map(Arc::from),
    }));
    tokio::spawn(count_events(sup, state.tallies.clone()));
    Router::new()
        .route("/", get(pages::team))
        .route("/s/{name}", get(pages::specialist))
        .route("/t/{name}", get(pages::team_of))
        .route("/assets/{file}", get(pages::asset))
        .route(HEALTHZ, get(health::healthz))
        .route(READYZ, get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/specialists", get(roster::list))
        .route("/api/specialists/{name}", get(roster::one))
        .route("/api/specialists/{name}/chat", post(api::chat))
        .route("/api/specialists/{name}/prompt", get(roster::prompt))
        .route("/api/team", post(api::team))
        .route("/api/teams", get(teams::list))
        .route("/api/teams/{name}", get(teams::one).post(teams::run))
        .route("/api/events", get(api::events))
        .route("/v1/models", get(openai::models))
        .route("/v1/chat/completions", post(openai::completions))
        // A2A and MCP (DESIGN §14): their own module, one hook here.
        .merge(protocols::routes(&state))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// The probes' paths: answered without the token (see [`health`]).
const HEALTHZ: &str = "/healthz";
const READYZ: &str = "/readyz";

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sup: SupervisorHandle,
    cluster: Cluster,
    token: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::run(listener, router(sup, cluster, token), shutdown).await
}

async fn count_events(sup: SupervisorHandle, tallies: Arc<Mutex<BTreeMap<String, Tallies>>>) {
    let mut rx = sup.subscribe();
    loop {
        match rx.recv().await {
            Ok(ev) => {
                let Ok(mut t) = tallies.lock() else { return };
                let entry = t.entry(ev.name.clone()).or_default();
                match ev.kind {
                    EventKind::Reload | EventKind::Restart => entry.reloads += 1,
                    EventKind::ConfigError => entry.config_errors += 1,
                    _ => {}
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Name of the cookie that carries the token for browsers.
const TOKEN_COOKIE: &str = "cadre_token";

/// Token auth on every route when a token is configured.
///
/// API clients send `Authorization: Bearer TOKEN`. A browser cannot add that
/// header to a page load or an `EventSource`, so it signs in once by opening
/// any page with `?token=TOKEN`: the answer is a redirect to the same page
/// without the query (the token leaves the address bar and history) that
/// sets an HttpOnly, SameSite=Strict cookie, which every later request of
/// the pages carries. SameSite=Strict keeps other sites' forms from riding
/// on it.
async fn auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = &state.token else {
        return next.run(req).await;
    };
    // kubelet's probes cannot send a token; the probes reveal nothing it guards.
    if req.method() == axum::http::Method::GET && matches!(req.uri().path(), HEALTHZ | READYZ) {
        return next.run(req).await;
    }
    let matches = |given: &str| constant_time_eq(given.as_bytes(), token.as_bytes());
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = req
        .headers()
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='))
        .any(matches);
    if bearer.is_some_and(matches) || cookie {
        return next.run(req).await;
    }
    if req.method() == axum::http::Method::GET
        && let Some(query) = req.uri().query()
    {
        let (given, rest): (Vec<_>, Vec<_>) =
            form_urlencoded::parse(query.as_bytes()).partition(|(k, _)| k == "token");
        if given.iter().any(|(_, v)| matches(v)) {
            let mut location = req.uri().path().to_string();
            if !rest.is_empty() {
                location.push('?');
                location.push_str(
                    &form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(rest)
                        .finish(),
                );
            }
            return sign_in(&location, token);
        }
    }
    error::unauthorized()
}

/// `303 See Other` to `location`, setting the token cookie.
fn sign_in(location: &str, token: &str) -> Response {
    // A token a cookie value cannot hold verbatim (RFC 6265 cookie-octet)
    // stays header-only rather than being mangled.
    let cookie_safe = token
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'));
    if !cookie_safe {
        return error::unauthorized();
    }
    let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let (Ok(loc), Ok(c)) = (
        axum::http::HeaderValue::from_str(location),
        axum::http::HeaderValue::from_str(&cookie),
    ) {
        r.headers_mut().insert(axum::http::header::LOCATION, loc);
        r.headers_mut().insert(axum::http::header::SET_COOKIE, c);
        return r;
    }
    error::unauthorized()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_needs_a_token() {
        assert!(Options::resolve("127.0.0.1:1", None).is_ok());
        assert!(Options::resolve("[::1]:1", None).is_ok());
        let e = Options::resolve("0.0.0.0:1", None)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("token_env")));
        let e = Options::resolve("0.0.0.0:1", Some("CADRE_TEST_SURELY_UNSET_VAR"))
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("CADRE_TEST_SURELY_UNSET_VAR")));
        assert!(Options::resolve("nonsense", None).is_err());
    }
}
