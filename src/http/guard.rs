//! `Host`, `Origin` and `Content-Type` checks of every route, against other
//! sites reaching a local daemon through the user's browser: a page on another
//! site that resolves its own name to 127.0.0.1 (DNS rebinding), or a form post
//! (`text/plain`) that would start chats spending the provider's key. The MCP
//! transport requires the `Origin` rule (403 for a present, invalid `Origin`).
//!
//! Without a token (loopback only) `Host` must name a loopback host: an IP
//! literal, `localhost` or `*.localhost`. With a token, any `Host` (the token
//! guards). In both cases an `Origin`, when sent, must be the same host as
//! `Host` or a loopback one; `Origin: null` is refused. Every POST carries
//! `application/json`, which a page on another site can send only after a
//! CORS preflight, and cadre answers no preflight.

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::{ApiCode, ApiError};

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

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `Host` is not a name this server answers to.
    Host(String),
    /// `Origin` is another site.
    Origin(String),
    /// A POST whose body is not declared `application/json`.
    MediaType(String),
}

impl Refusal {
    fn into_api_error(self) -> ApiError {
        match self {
            Refusal::Host(m) => ApiError::new(StatusCode::MISDIRECTED_REQUEST, ApiCode::BadHost, m),
            Refusal::Origin(m) => ApiError::new(StatusCode::FORBIDDEN, ApiCode::BadOrigin, m),
            Refusal::MediaType(m) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ApiCode::UnsupportedMediaType,
                m,
            ),
        }
    }
}

/// Why a request with these `Host` and `Origin` is refused, if it is. No
/// `Host` at all is no browser (every browser sends one): allowed.
pub(crate) fn check(host: Option<&str>, origin: Option<&str>, token: bool) -> Option<Refusal> {
    if let Some(host) = host
        && !token
        && !is_ip_or_local(hostname(host))
    {
        return Some(Refusal::Host(format!(
            "Host {host:?} is not a local name; cadre without a token answers only on loopback names"
        )));
    }
    let host = host.unwrap_or("");
    let origin = origin?;
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .unwrap_or("");
    if authority.is_empty() {
        return Some(Refusal::Origin(format!("Origin {origin:?} is not allowed")));
    }
    if authority.eq_ignore_ascii_case(host) || is_loopback_name(hostname(authority)) {
        return None;
    }
    Some(Refusal::Origin(format!(
        "Origin {origin:?} is not this server ({host}) nor a loopback one"
    )))
}

/// A POST must declare a JSON body (parameters such as `charset` allowed).
fn check_media_type(method: &Method, content_type: Option<&str>) -> Option<Refusal> {
    if method != Method::POST {
        return None;
    }
    let essence = content_type
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if essence.eq_ignore_ascii_case("application/json") {
        return None;
    }
    let given = content_type.map_or("none".to_owned(), |c| format!("{c:?}"));
    Some(Refusal::MediaType(format!(
        "POST bodies must be sent as Content-Type: application/json (got {given})"
    )))
}

fn refusal(
    headers: &HeaderMap,
    method: &Method,
    uri_host: Option<&str>,
    token: bool,
) -> Option<Refusal> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let host = header(HOST).or(uri_host);
    check(host, header(ORIGIN), token).or_else(|| check_media_type(method, header(CONTENT_TYPE)))
}

/// The guard of every matched route. JSON-RPC endpoints (`/a2a`, `/mcp`)
/// answer in JSON-RPC's error shape, the rest in the API's.
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let refused = refusal(
        req.headers(),
        req.method(),
        req.uri().authority().map(|a| a.as_str()),
        state.token.is_some(),
    );
    let Some(why) = refused else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    let err = why.into_api_error();
    if path.starts_with("/a2a/") || path == "/mcp" {
        let body = json!({"jsonrpc": "2.0", "id": null,
            "error": {"code": crate::jsonrpc::INVALID_REQUEST, "message": err.message}});
        return (err.status, axum::Json(body)).into_response();
    }
    err.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        assert_eq!(check(Some("127.0.0.1:44999"), None, false), None);
        assert_eq!(check(Some("localhost:44999"), None, false), None);
        assert_eq!(check(Some("[::1]:44999"), None, false), None);
        assert!(matches!(
            check(Some("evil.example:44999"), None, false),
            Some(Refusal::Host(_))
        ));
        assert_eq!(check(None, None, false), None);
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

    #[test]
    fn posts_declare_json() {
        let json = Some("application/json; charset=utf-8");
        assert_eq!(check_media_type(&Method::POST, json), None);
        assert_eq!(
            check_media_type(&Method::POST, Some("Application/JSON")),
            None
        );
        for bad in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            assert!(matches!(
                check_media_type(&Method::POST, bad),
                Some(Refusal::MediaType(_))
            ));
        }
        assert_eq!(check_media_type(&Method::GET, None), None);
    }

    proptest::proptest! {
        #[test]
        fn any_host_and_origin_get_a_verdict_and_foreign_names_are_refused(
            host in "\\PC{0,40}",
            origin in proptest::option::of("\\PC{0,40}"),
            name in "[a-z]{1,12}\\.(example|com|net)",
            token: bool,
        ) {
            let _ = check(Some(&host), origin.as_deref(), token);
            let _ = check_media_type(&Method::POST, Some(&host));
            let foreign_host = format!("{name}:44999");
            let foreign_origin = format!("http://{name}");
            let by_host = check(Some(&foreign_host), None, false);
            let by_origin = check(Some("127.0.0.1:44999"), Some(&foreign_origin), token);
            proptest::prop_assert!(matches!(by_host, Some(Refusal::Host(_))));
            proptest::prop_assert!(matches!(by_origin, Some(Refusal::Origin(_))));
        }
    }
}
