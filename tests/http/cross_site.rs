//! Other sites cannot drive a local daemon through the user's browser: a
//! foreign `Host` (DNS rebinding) gets 421 on every route, a POST that is not
//! `application/json` (a form post, `text/plain`) gets 415, and a request with
//! a foreign `Origin` gets 403; none of them reaches the provider. The same
//! requests from the daemon's own pages (same Host, same Origin) are served.
//! Port range of this file: 49210-49219; HTTP on port 0.

use serde_json::{Value, json};

use crate::fixture::Project;
use crate::fixture::http::{raw_request, up_http};
use crate::fixture::ollama::{Behaviour, OllamaServer};

const POSTS: &[(&str, &str)] = &[
    ("/api/specialists/alpha/chat", r#"{"content":"hi"}"#),
    ("/api/team", r#"{"content":"hi"}"#),
    (
        "/v1/chat/completions",
        r#"{"model":"alpha","messages":[{"role":"user","content":"hi"}]}"#,
    ),
    (
        "/a2a/alpha",
        r#"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"role":"ROLE_USER","parts":[{"text":"hi"}],"messageId":"m1"}}}"#,
    ),
    (
        "/mcp",
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask_alpha","arguments":{"question":"hi"}}}"#,
    ),
];

const GETS: &[&str] = &[
    "/",
    "/healthz",
    "/api/specialists",
    "/api/specialists/alpha/prompt",
    "/v1/models",
    "/metrics",
    "/.well-known/agent-card.json",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_hosts_origins_and_form_posts_are_refused_on_every_route() {
    let server = OllamaServer::start(Behaviour::default()).await;
    let p = Project::new([49210, 49219], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha"]).await;
    let host = web.base.trim_start_matches("http://").to_owned();
    let own = format!("http://{host}");
    let json_type = ("Content-Type", "application/json");
    let accept = ("Accept", "application/json, text/event-stream");
    let send =
        |method: &'static str, path: &'static str, headers: Vec<(&str, &str)>, body: &str| {
            let base = web.base.clone();
            let headers: Vec<(String, String)> = headers
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let body = body.to_owned();
            async move {
                let h: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                raw_request(&base, method, path, &h, body.as_bytes(), false).await
            }
        };

    for path in GETS {
        let (s, body) = send("GET", path, vec![("Host", "evil.example")], "").await;
        assert_eq!(s, 421, "GET {path} with a foreign Host: {body}");
        let (s, body) = send("GET", path, vec![("Host", "evil.example:80")], "").await;
        assert_eq!(s, 421, "GET {path}: {body}");
        let (s, body) = send("GET", path, vec![("Host", &host)], "").await;
        assert_eq!(s, 200, "GET {path} from the daemon's own name: {body}");
        let (s, _) = send("GET", path, vec![("Host", "localhost")], "").await;
        assert_eq!(s, 200, "GET {path} as localhost");
    }
    for (path, body) in POSTS {
        let (s, text) = send(
            "POST",
            path,
            vec![("Host", "evil.example"), json_type, accept],
            body,
        )
        .await;
        assert_eq!(s, 421, "POST {path} with a foreign Host: {text}");
        for ctype in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let (s, text) = send(
                "POST",
                path,
                vec![("Host", &host), ("Content-Type", ctype), accept],
                body,
            )
            .await;
            assert_eq!(s, 415, "POST {path} as {ctype}: {text}");
        }
        let (s, text) = send("POST", path, vec![("Host", &host), accept], body).await;
        assert_eq!(s, 415, "POST {path} with no Content-Type: {text}");
        let (s, text) = send(
            "POST",
            path,
            vec![
                ("Host", &host),
                ("Origin", "http://evil.example"),
                json_type,
                accept,
            ],
            body,
        )
        .await;
        assert_eq!(s, 403, "POST {path} from a foreign Origin: {text}");
        let (s, text) = send(
            "POST",
            path,
            vec![("Host", &host), ("Origin", "null"), json_type, accept],
            body,
        )
        .await;
        assert_eq!(s, 403, "POST {path} from Origin null: {text}");
    }
    assert!(
        server.requests().is_empty(),
        "a refused request reached the provider: {:?}",
        server.requests()
    );

    // The daemon's own pages post as themselves, and are served.
    let (s, text) = send(
        "POST",
        "/api/specialists/alpha/chat",
        vec![
            ("Host", &host),
            ("Origin", &own),
            ("Content-Type", "application/json; charset=utf-8"),
        ],
        r#"{"content":"hi"}"#,
    )
    .await;
    assert_eq!(s, 200, "{text}");
    assert!(text.contains("\"type\":\"response\""), "{text}");
    let (s, text) = send(
        "POST",
        "/api/specialists/alpha/chat",
        vec![("Host", "evil.example"), json_type],
        r#"{"content":"hi"}"#,
    )
    .await;
    assert_eq!(s, 421, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(v["code"], json!("bad_host"), "{v}");
    assert!(v["error"].as_str().unwrap().contains("evil.example"), "{v}");
}
