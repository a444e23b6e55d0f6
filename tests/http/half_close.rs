//! The HTTP side of a half-close: a client that sends its request and shuts
//! down its writing half (`nc -N`) still gets the whole answer; the socket
//! side is `tests/specialist/half_close.rs`.
//! Port range of this file: 49110-49119 (specialists); HTTP on port 0.

use std::time::Duration;

use serde_json::json;

use crate::fixture::Project;
use crate::fixture::http::{raw_request, sse_objects, up_http};
use crate::fixture::ollama::{Behaviour, OllamaServer, answer_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_chat_followed_by_end_of_input_is_answered() {
    let server = OllamaServer::start(Behaviour {
        latency: Duration::from_millis(400),
        ..Behaviour::default()
    })
    .await;
    let p = Project::new([49110, 49119], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha"]).await;
    let host = web.base.trim_start_matches("http://").to_owned();
    let headers = [
        ("Host", host.as_str()),
        ("Content-Type", "application/json"),
    ];

    let body = json!({"content": "hi"}).to_string();
    let (status, text) = raw_request(
        &web.base,
        "POST",
        "/api/specialists/alpha/chat",
        &headers,
        body.as_bytes(),
        true,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let events = sse_objects(&text);
    let last = events.last().unwrap_or_else(|| panic!("no events: {text}"));
    assert_eq!(last["type"], "response", "{text}");
    assert_eq!(last["content"], answer_for("hi"));

    let body = json!({"model": "alpha", "messages": [{"role": "user", "content": "yo"}]});
    let (status, text) = raw_request(
        &web.base,
        "POST",
        "/v1/chat/completions",
        &headers,
        body.to_string().as_bytes(),
        true,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(&answer_for("yo")), "{text}");
    assert_eq!(server.cut_short(), 0, "a provider request was cancelled");
}
