//! A provider key and a `base_url` password never leave the daemon: a proxy
//! that echoes the `Authorization` header at the 500-byte edge of its error
//! page, or as JSON `\u` escapes, and a provider whose `base_url` carries
//! `admin:PW@`, are asked through the socket, `/api` SSE and `/v1`; no reply,
//! trace-level log line, status, registry, event or metric holds the key's
//! tail or the password. Port range of this file: 49200-49209.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixture::http::{client, post_sse, up_http};
use crate::fixture::provider::refused_base;
use crate::fixture::{Conn, Project};

const KEY: &str = "sk-KEYCANARYyD7q2Wtail";
/// What must never show: the distinctive part, so a cut key is caught too.
const TAIL: &str = "KEYCANARY";
const PASSWORD: &str = "PWCANARY93";

/// Every spelling a proxy might echo the header in, each placed so that
/// the 500-byte cut of an error body falls inside the key.
fn echo_page(n: usize, auth: &str) -> (String, &'static str) {
    match n % 3 {
        0 => {
            let pad = "x".repeat(500 - "<p>".len() - "Bearer sk-KEY".len());
            (format!("<p>{pad}{auth}</p>"), "text/html")
        }
        1 => {
            let escaped: String = auth
                .chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect();
            (
                format!("{{\"proxy\":\"{}{escaped}\"}}", "y".repeat(470)),
                "application/json",
            )
        }
        _ => (
            format!("{{\"error\":{{\"message\":\"bad header {auth}\"}}}}"),
            "application/json",
        ),
    }
}

/// A proxy in front of nothing: answers every request 502 with its
/// `Authorization` header echoed in the body.
async fn echoing_proxy() -> String {
    let listener = crate::fixture::ollama::tokio_loopback_listener();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => buf.extend_from_slice(&tmp[..k]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let auth = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization").then(|| v.trim())
                    })
                    .unwrap_or("none")
                    .to_owned();
                let (body, ctype) = echo_page(n, &auth);
                let reply = format!(
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(TAIL), "{what} leaks the key: {text}");
    assert!(
        !text.contains(PASSWORD),
        "{what} leaks the password: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_keys_and_url_passwords_reach_no_reply_log_or_state() {
    let proxy = echoing_proxy().await;
    let down = refused_base().await.replace("http://", "");
    let p = Project::bare();
    std::fs::write(
        p.root().join("cadre.toml"),
        format!(
            "[defaults]\nprovider = \"echo\"\nmodel = \"m\"\n\n\
             [providers.echo]\nkind = \"openai\"\nbase_url = \"{proxy}/v1\"\n\
             api_key_env = \"CADRE_TEST_CANARY_KEY\"\nmax_retries = 0\n\n\
             [providers.locked]\nkind = \"openai\"\nbase_url = \"http://admin:{PASSWORD}@{down}/v1\"\n\
             max_retries = 0\n\n\
             [ports]\nrange = [49200, 49209]\n"
        ),
    )
    .unwrap();
    p.write("alpha", "Alpha.", None);
    std::fs::write(
        p.file("beta"),
        format!(
            "provider = \"locked\"\n{}",
            Project::specialist_toml("beta", "Beta.", None)
        ),
    )
    .unwrap();
    let mut web = up_http(
        &p,
        &[],
        &[("CADRE_TEST_CANARY_KEY", KEY), ("CADRE_LOG", "trace")],
    );
    web.wait_ready(&["alpha", "beta"]).await;

    let mut replies = Vec::new();
    for name in ["alpha", "beta"] {
        let port = p.port_of(name).unwrap();
        let got = tokio::task::spawn_blocking(move || {
            let mut c = Conn::open(port).unwrap();
            (0..3).map(|_| c.chat("hi").to_string()).collect::<Vec<_>>()
        })
        .await
        .unwrap();
        assert!(got.iter().all(|r| r.contains("\"error\"")), "{got:?}");
        replies.extend(got);
        for _ in 0..3 {
            let url = web.url(&format!("/api/specialists/{name}/chat"));
            let (_, events) = post_sse(&url, &json!({"content": "hi"})).await;
            replies.push(Value::from(events).to_string());
            let r = client()
                .post(web.url("/v1/chat/completions"))
                .json(&json!({"model": name, "messages": [{"role": "user", "content": "hi"}]}))
                .send()
                .await
                .unwrap();
            replies.push(r.text().await.unwrap());
        }
    }
    let all = replies.join("\n");
    assert!(
        all.contains("502"),
        "the proxy's error reached the client: {all}"
    );
    assert!(
        all.contains("[redacted]"),
        "the key was seen and redacted: {all}"
    );
    assert!(all.contains("provider_unavailable"), "{all}");
    assert!(
        all.contains("http://127.0.0.1"),
        "the url, without userinfo: {all}"
    );
    assert_clean("replies", &all);

    for path in [
        "/api/specialists",
        "/api/specialists/beta",
        "/metrics",
        "/v1/models",
    ] {
        let text = client()
            .get(web.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_clean(path, &text);
    }
    let mut events = client().get(web.url("/api/events")).send().await.unwrap();
    if let Ok(Ok(Some(chunk))) = tokio::time::timeout(Duration::from_secs(2), events.chunk()).await
    {
        assert_clean("events", &String::from_utf8_lossy(&chunk));
    }
    assert_clean("status", &p.run(&["status", "--json"]).all());
    assert_clean("registry", &p.registry().to_string());
    for f in std::fs::read_dir(&p.state).unwrap() {
        let f = f.unwrap().path();
        if f.is_file() {
            assert_clean(
                &f.display().to_string(),
                &String::from_utf8_lossy(&std::fs::read(&f).unwrap()),
            );
        }
    }
    web.daemon.signal("TERM");
    web.daemon.wait(Duration::from_secs(20));
    let log = web.daemon.log();
    assert!(
        log.contains("TRACE"),
        "logged at trace level: {}",
        &log[..log.len().min(2000)]
    );
    assert_clean("log", &log);
}
