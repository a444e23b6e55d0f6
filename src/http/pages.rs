//! The pages, embedded in the binary: plain HTML, CSS and JS, no build step,
//! no CDN. They read `/api/*` and follow `/api/events` live.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::error::{ApiCode, ApiError};

const TEAM: &str = include_str!("assets/team.html");
const CHAT: &str = include_str!("assets/chat.html");
const CSS: &str = include_str!("assets/app.css");
const COMMON_JS: &str = include_str!("assets/common.js");
const TEAM_JS: &str = include_str!("assets/team.js");
const CHAT_JS: &str = include_str!("assets/chat.js");

pub async fn team() -> Html<&'static str> {
    Html(TEAM)
}

/// A specialist's chat page; the page itself also copes with the
/// specialist disappearing later.
pub async fn specialist(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Html<&'static str>, ApiError> {
    let live = state.sup.live().await?;
    if live.iter().any(|l| l.view.name == name) {
        Ok(Html(CHAT))
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
        _ => {
            return ApiError::new(StatusCode::NOT_FOUND, ApiCode::NotFound, "no such asset")
                .into_response();
        }
    };
    ([(CONTENT_TYPE, kind), (CACHE_CONTROL, "no-cache")], body).into_response()
}
