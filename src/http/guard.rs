//! `Host` and `Origin` checks of the protocol endpoints (`/a2a`, `/mcp`,
//! `/.well-known`), against DNS rebinding: a page on another site that
//! resolves its own name to 127.0.0.1 must not reach a local agent. The MCP
//! transport requires it (403 for a present, invalid `Origin`).
//!
//! Without a token (loopback only) `Host` must name a loopback host: an IP
//! literal, `localhost` or `*.localhost`. With a token, any `Host` (the token
//! guards). In both cases an `Origin`, when sent, must be the same host as
//! `Host` or a loopback one; `Origin: null` is refused.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;

/// The host name of `host[:port]` (brackets kept off IPv6 literals).
fn hostname(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    authority.rsplit_once(':').map_or(authority, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            authority
        }
    })
}

fn is_loopback_name(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn is_ip_or_local(host: &str) -> bool {
    is_loopback_name(host) || host.parse::<std::net::IpAddr>().is_ok()
}

/// Why a request is refused, if it is.
pub(crate) fn check(host: Option<&str>, origin: Option<&str>, token: bool) -> Option<String> {
    let host = host.unwrap_or("");
    if !token && !is_ip_or_local(hostname(host)) {
        return Some(format!(
            "Host {host:?} is not a local name; cadre without a token answers only on loopback names"
        ));
    }
    let origin = origin?;
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .unwrap_or("");
    if authority.is_empty() {
        return Some(format!("Origin {origin:?} is not allowed"));
    }
    if authority.eq_ignore_ascii_case(host) || is_loopback_name(hostname(authority)) {
        return None;
    }
    Some(format!(
        "Origin {origin:?} is not this server ({host}) nor a loopback one"
    ))
}

pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let refused = {
        let h = req.headers();
        let header = |name| h.get(name).and_then(|v| v.to_str().ok());
        let host = header(HOST).or_else(|| req.uri().authority().map(|a| a.as_str()));
        check(host, header(ORIGIN), state.token.is_some())
    };
    if let Some(why) = refused {
        let body = json!({"jsonrpc": "2.0", "id": null,
            "error": {"code": crate::jsonrpc::INVALID_REQUEST, "message": why}});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn hosts_and_origins() {
        assert_eq!(check(Some("127.0.0.1:44999"), None, false), None);
        assert_eq!(check(Some("localhost:44999"), None, false), None);
        assert_eq!(check(Some("[::1]:44999"), None, false), None);
        assert!(check(Some("evil.example:44999"), None, false).is_some());
        assert_eq!(check(Some("cadre.internal:44999"), None, true), None);
        let same = Some("http://127.0.0.1:44999");
        assert_eq!(check(Some("127.0.0.1:44999"), same, false), None);
        assert_eq!(
            check(
                Some("127.0.0.1:44999"),
                Some("http://localhost:3000"),
                false
            ),
            None
        );
        assert!(check(Some("127.0.0.1:44999"), Some("https://evil.example"), false).is_some());
        assert!(check(Some("127.0.0.1:44999"), Some("null"), false).is_some());
        assert!(check(Some("cadre.internal"), Some("http://evil.example"), true).is_some());
        assert_eq!(
            check(Some("cadre.internal"), Some("https://cadre.internal"), true),
            None
        );
    }
}
