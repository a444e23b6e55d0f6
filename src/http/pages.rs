//! The pages, embedded in the binary: plain HTML, CSS and JS, no build step,
//! no CDN. They read `/api/*` and follow `/api/events` live. Markdown in
//! answers is rendered by two vendored libraries (`assets/vendor/README.md`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::error::{ApiCode, ApiError};
use crate::supervisor::EventKind;

const TEAM: &str = include_str!("assets/team.html");
const CHAT: &str = include_str!("assets/chat.html");
const CSS: &str = include_str!("assets/app.css");
const COMMON_JS: &str = include_str!("assets/common.js");
const TEAM_JS: &str = include_str!("assets/team.js");
const ROUNDS_JS: &str = include_str!("assets/rounds.js");
const CHAT_JS: &str = include_str!("assets/chat.js");
const MARKDOWN_JS: &str = include_str!("assets/markdown.js");
const MARKED_JS: &str = include_str!("assets/vendor/marked.umd.js");
const PURIFY_JS: &str = include_str!("assets/vendor/purify.min.js");

/// The names the pages compare against, from the enums that define them,
/// served ahead of `common.js` so no state or event is spelt twice.
fn names_js() -> String {
    let states: serde_json::Map<String, serde_json::Value> = crate::registry::State::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), s.as_str().into()))
        .collect();
    let events: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    format!(
        "const STATE = {};\nconst EVENT_KINDS = {};\n",
        serde_json::Value::Object(states),
        serde_json::json!(events)
    )
}

fn common_js() -> &'static str {
    static JS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JS.get_or_init(|| names_js() + COMMON_JS)
}

/// The pages run only their own scripts: even if an answer's HTML got past
/// the sanitizer, no inline script, handler or foreign resource would load.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

fn page(html: &'static str) -> Response {
    (
        [
            (CONTENT_SECURITY_POLICY, CSP),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(html),
    )
        .into_response()
}

pub async fn team() -> Response {
    page(TEAM)
}

/// `/t/NAME`: the team page with team NAME chosen.
pub async fn team_of(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    state.teams.get(&name).await?;
    Ok(page(TEAM))
}

/// A specialist's chat page; the page itself also copes with the
/// specialist disappearing later.
pub async fn specialist(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let live = state.sup.live().await?;
    if live.iter().any(|l| l.view.name == name) {
        Ok(page(CHAT))
    } else {
        Err(ApiError::unknown_specialist(&name))
    }
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "common.js" => (common_js(), "text/javascript; charset=utf-8"),
        "team.js" => (TEAM_JS, "text/javascript; charset=utf-8"),
        "rounds.js" => (ROUNDS_JS, "text/javascript; charset=utf-8"),
        "chat.js" => (CHAT_JS, "text/javascript; charset=utf-8"),
        "markdown.js" => (MARKDOWN_JS, "text/javascript; charset=utf-8"),
        "marked.umd.js" => (MARKED_JS, "text/javascript; charset=utf-8"),
        "purify.min.js" => (PURIFY_JS, "text/javascript; charset=utf-8"),
        _ => {
            return ApiError::new(StatusCode::NOT_FOUND, ApiCode::NotFound, "no such asset")
                .into_response();
        }
    };
    (
        [
            (CONTENT_TYPE, kind),
            (CACHE_CONTROL, "no-cache"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
