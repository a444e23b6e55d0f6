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
use super::error::ApiError;

const TEAM: &str = include_str!("assets/team.html");
const CHAT: &str = include_str!("assets/chat.html");
const CSS: &str = include_str!("assets/app.css");
const COMMON_JS: &str = include_str!("assets/common.js");
const TEAM_JS: &str = include_str!("assets/team.js");
const CHAT_JS: &str = include_str!("assets/chat.js");
const MARKDOWN_JS: &str = include_str!("assets/markdown.js");
const MARKED_JS: &str = include_str!("assets/vendor/marked.umd.js");
const PURIFY_JS: &str = include_str!("assets/vendor/purify.min.js");

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

/// A specialist's chat page; the page itself also copes with the
/// specialist disappearing later.
pub async fn specialist(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let live = state.sup.live().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            e.to_string(),
        )
    })?;
    if live.iter().any(|l| l.view.name == name) {
        Ok(page(CHAT))
    } else {
        Err(ApiError::unknown_specialist(&name))
    }
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "common.js" => (COMMON_JS, "text/javascript; charset=utf-8"),
        "team.js" => (TEAM_JS, "text/javascript; charset=utf-8"),
        "chat.js" => (CHAT_JS, "text/javascript; charset=utf-8"),
        "markdown.js" => (MARKDOWN_JS, "text/javascript; charset=utf-8"),
        "marked.umd.js" => (MARKED_JS, "text/javascript; charset=utf-8"),
        "purify.min.js" => (PURIFY_JS, "text/javascript; charset=utf-8"),
        _ => {
            return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such asset")
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
