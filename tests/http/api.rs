//! The HTTP API of `cadre up`: the real binary, a loopback Ollama, real HTTP.
//! Port range of this file: 47000-47099 (specialists); HTTP on port 0.

use crate::fixture;
use crate::fixture::http;
use crate::fixture::ollama;

use std::time::Duration;

use crate::fixture::Project;
use http::{client, post_sse, sse_objects, up_http};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_lists_specialists_streams_chats_and_team_chats() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47000, 47019], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    p.write("beta", "Beta speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha", "beta"]).await;
    let c = client();

    let health = c.get(web.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let list: Vec<Value> = web.json("/api/specialists").await;
    assert_eq!(list.len(), 2);
    let alpha = &list[0];
    assert_eq!(alpha["name"], "alpha");
    assert_eq!(alpha["title"], "alpha title");
    assert_eq!(alpha["role"], "tester");
    assert_eq!(alpha["model"], "test-model");
    assert_eq!(alpha["provider"], "local");
    assert_eq!(alpha["state"], "ready");
    assert!((47000..=47019).contains(&(alpha["port"].as_u64().unwrap() as u16)));
    let one: Value = web.json("/api/specialists/beta").await;
    assert_eq!(one["name"], "beta");

    // A chat stream: chunks concatenate to the final response.
    let (status, events) = post_sse(
        &web.url("/api/specialists/alpha/chat"),
        &json!({"content": "tell me three things", "history": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}),
    )
    .await;
    assert_eq!(status, 200);
    let chunks: String = events
        .iter()
        .filter(|e| e["type"] == "chunk")
        .map(|e| e["content"].as_str().unwrap())
        .collect();
    assert!(
        events.iter().filter(|e| e["type"] == "chunk").count() > 1,
        "{events:?}"
    );
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response", "{events:?}");
    assert_eq!(last["specialist"], "alpha");
    assert_eq!(last["content"], ollama::answer_for("tell me three things"));
    assert_eq!(chunks, last["content"].as_str().unwrap());
    // The provider got the system prompt, then the history, then the message.
    let sent = server.requests().last().unwrap().clone();
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert!(
        sent["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Alpha speaks.")
    );

    // A team stream: one response per ready specialist, then a summary.
    let (status, events) = post_sse(&web.url("/api/team"), &json!({"content": "all hands"})).await;
    assert_eq!(status, 200);
    let mut answered: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "response")
        .map(|e| e["specialist"].as_str().unwrap())
        .collect();
    answered.sort();
    assert_eq!(answered, ["alpha", "beta"]);
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary", "{events:?}");
    assert_eq!(summary["specialists"], 2);
    assert_eq!(summary["answered"], 2);
    assert_eq!(summary["failed"], json!([]));
}

/// A provider that is slow answers, so a failing one still gets its error
/// tagged with the specialist; the others answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_stream_reports_a_failing_provider_without_holding_the_others() {
    let good = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let bad = ollama::OllamaServer::start(ollama::Behaviour {
        fail_status: Some(500),
        ..Default::default()
    })
    .await;
    let p = Project::new([47020, 47039], &good.base_url);
    let toml = std::fs::read_to_string(p.tmp.path().join("cadre.toml")).unwrap();
    std::fs::write(
        p.tmp.path().join("cadre.toml"),
        format!(
            "{toml}\n[providers.broken]\nkind = \"ollama\"\nbase_url = \"{}\"\nmax_retries = 0\n",
            bad.base_url
        ),
    )
    .unwrap();
    p.write("alpha", "Alpha speaks.", None);
    std::fs::write(
        p.file("omega"),
        fixture::Project::specialist_toml("omega", "Omega speaks.", None) + "",
    )
    .unwrap();
    let text = std::fs::read_to_string(p.file("omega")).unwrap();
    std::fs::write(p.file("omega"), format!("provider = \"broken\"\n{text}")).unwrap();
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha", "omega"]).await;

    let (_, events) = post_sse(&web.url("/api/team"), &json!({"content": "status?"})).await;
    let err = events
        .iter()
        .find(|e| e["type"] == "error")
        .expect("an error event");
    assert_eq!(err["specialist"], "omega");
    assert_eq!(err["code"], "provider_error");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "response" && e["specialist"] == "alpha")
    );
    let summary = events.last().unwrap();
    assert_eq!(summary["answered"], 1);
    assert_eq!(summary["failed"], json!(["omega"]));

    // The same failure on a single chat is an error object, never a response.
    let (_, events) = post_sse(
        &web.url("/api/specialists/omega/chat"),
        &json!({"content": "x"}),
    )
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "error");
}

async fn expect_error(r: reqwest::Response, status: u16, code: &str) {
    assert_eq!(r.status().as_u16(), status);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(!body["error"].as_str().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_its_status_and_error_shape_and_the_server_keeps_serving() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47040, 47049], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha"]).await;
    let c = client();
    let chat = web.url("/api/specialists/alpha/chat");

    let r = c
        .post(&chat)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "bad_json").await;
    let r = c
        .post(&chat)
        .json(&json!({"history": []}))
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "bad_request").await;
    let big = json!({"content": "x".repeat(1024 * 1024 + 10)});
    let r = c.post(&chat).json(&big).send().await.unwrap();
    expect_error(r, 413, "too_large").await;
    let r = c
        .post(web.url("/api/specialists/nobody/chat"))
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    expect_error(r, 404, "not_found").await;
    let r = c
        .get(web.url("/api/specialists/nobody"))
        .send()
        .await
        .unwrap();
    expect_error(r, 404, "not_found").await;
    let r = c.get(web.url("/api/team")).send().await.unwrap();
    expect_error(r, 405, "method_not_allowed").await;
    let r = c.delete(&chat).send().await.unwrap();
    expect_error(r, 405, "method_not_allowed").await;

    // Still serving.
    let (status, events) = post_sse(&chat, &json!({"content": "still there?"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        events.last().unwrap()["content"],
        ollama::answer_for("still there?")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_chats_and_errors() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47050, 47059], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    p.write("beta", "Beta speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha", "beta"]).await;
    let chat = web.url("/api/specialists/alpha/chat");
    for i in 0..5 {
        let (_, ev) = post_sse(&chat, &json!({"content": format!("q{i}")})).await;
        assert_eq!(ev.last().unwrap()["type"], "response");
    }
    let (_, ev) = post_sse(
        &web.url("/api/specialists/beta/chat"),
        &json!({"content": "b"}),
    )
    .await;
    assert_eq!(ev.last().unwrap()["type"], "response");
    server.set_behaviour(ollama::Behaviour {
        fail_status: Some(400),
        ..Default::default()
    });
    for _ in 0..2 {
        let (_, ev) = post_sse(&chat, &json!({"content": "fail"})).await;
        assert_eq!(ev.last().unwrap()["type"], "error", "{ev:?}");
    }

    let r = client().get(web.url("/metrics")).send().await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"));
        match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(
        value("cadre_requests_total", &[("specialist", "alpha")]),
        7.0
    );
    assert_eq!(
        value("cadre_requests_total", &[("specialist", "beta")]),
        1.0
    );
    assert_eq!(
        value(
            "cadre_errors_total",
            &[("specialist", "alpha"), ("code", "provider_error")]
        ),
        2.0
    );
    assert_eq!(
        value(
            "cadre_errors_total",
            &[("specialist", "alpha"), ("code", "bad_json")]
        ),
        0.0
    );
    assert_eq!(value("cadre_in_flight", &[("specialist", "alpha")]), 0.0);
    assert_eq!(
        value(
            "cadre_chat_latency_seconds_count",
            &[("specialist", "alpha")]
        ),
        5.0
    );
    assert_eq!(
        value("cadre_provider_failures_total", &[("provider", "local")]),
        2.0
    );
    assert_eq!(
        value(
            "cadre_provider_latency_seconds_count",
            &[("provider", "local")]
        ),
        6.0
    );
    assert_eq!(
        value("cadre_reloads_total", &[("specialist", "alpha")]),
        0.0
    );

    // A reload and a config error are counted from the reconcile events.
    p.write("alpha", "Alpha speaks differently.", None);
    let c = client();
    let grew = |name: &'static str| {
        let c = c.clone();
        let url = web.url("/metrics");
        async move {
            for _ in 0..200 {
                let t = c.get(&url).send().await.unwrap().text().await.unwrap();
                if t.lines()
                    .any(|l| l == format!("{name}{{specialist=\"alpha\"}} 1"))
                {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        }
    };
    assert!(grew("cadre_reloads_total").await, "reload never counted");
    std::fs::write(p.file("alpha"), "component = \n").unwrap();
    assert!(
        grew("cadre_config_errors_total").await,
        "config error never counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_reconcile_events() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47060, 47069], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha"]).await;
    let mut r = client().get(web.url("/api/events")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut text = String::new();
    // The hello event says the stream is live before the file changes.
    while !text.contains("hello") {
        text.push_str(&String::from_utf8_lossy(&r.chunk().await.unwrap().unwrap()));
    }
    p.write("gamma", "Gamma speaks.", None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let events = sse_objects(&text);
        if events
            .iter()
            .any(|e| e["kind"] == "start" && e["name"] == "gamma")
        {
            break;
        }
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .expect("no start event for gamma");
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap()));
    }
}

/// A client that leaves mid-stream cancels the upstream request: a raw
/// provider that never answers sees its connection closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_mid_stream_cancels_the_provider_request() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (saw_close_tx, saw_close) = tokio::sync::oneshot::channel::<()>();
    let (got_request_tx, got_request) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut saw_close_tx = Some(saw_close_tx);
        let mut got_request_tx = Some(got_request_tx);
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 65536];
            let mut seen = Vec::new();
            loop {
                let n = s.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&seen).contains("/api/chat")
                    && let Some(t) = got_request_tx.take()
                {
                    let _ = t.send(());
                }
            }
            if String::from_utf8_lossy(&seen).contains("/api/chat")
                && let Some(t) = saw_close_tx.take()
            {
                let _ = t.send(());
            }
        }
    });
    let p = Project::new([47070, 47079], &base);
    p.write("alpha", "Alpha speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha"]).await;
    let r = client()
        .post(web.url("/api/specialists/alpha/chat"))
        .json(&json!({"content": "wait for it"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::timeout(Duration::from_secs(20), got_request)
        .await
        .expect("provider never asked")
        .unwrap();
    drop(r);
    tokio::time::timeout(Duration::from_secs(20), saw_close)
        .await
        .expect("the provider connection stayed open after the HTTP client left")
        .unwrap();
}

#[test]
fn a_non_loopback_address_without_a_token_is_refused() {
    let p = Project::new([47080, 47084], "http://127.0.0.1:9");
    p.write("alpha", "Alpha speaks.", None);
    let out = p.cadre(&["up", "--http", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("token_env"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_every_route_needs_it() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47085, 47094], &server.base_url);
    let toml = std::fs::read_to_string(p.tmp.path().join("cadre.toml")).unwrap();
    std::fs::write(
        p.tmp.path().join("cadre.toml"),
        format!("{toml}\n[http]\nlisten = \"0.0.0.0:0\"\ntoken_env = \"CADRE_TEST_HTTP_TOKEN\"\n"),
    )
    .unwrap();
    p.write("alpha", "Alpha speaks.", None);
    let web = up_http(
        &p,
        &["--http", "0.0.0.0:0"],
        &[("CADRE_TEST_HTTP_TOKEN", "s3cret-token")],
    );
    let c = client();
    for path in ["/api/specialists", "/", "/metrics", "/v1/models"] {
        let r = c.get(web.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without a token");
        let r = c
            .get(web.url(path))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong token");
        let r = c
            .get(web.url(path))
            .bearer_auth("s3cret-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path} with the token");
    }
    let r = c
        .post(web.url("/api/team"))
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A browser signs in once with ?token=: a redirect without the token in
    // the address, and a cookie that the pages and their event stream carry.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(web.url("/s/alpha?token=wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a wrong token in the query");
    let r = no_redirects
        .get(web.url("/s/alpha?token=s3cret-token&theme=dark"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/s/alpha?theme=dark");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("cadre_token=s3cret-token;")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    for path in ["/s/alpha", "/api/specialists", "/"] {
        let r = c
            .get(web.url(path))
            .header("cookie", format!("other=1; {pair}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path} with the cookie");
    }
    let r = c
        .get(web.url("/api/events"))
        .header("cookie", pair.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the event stream with the cookie");
    let r = c
        .get(web.url("/"))
        .header("cookie", "cadre_token=wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a wrong cookie");
}

/// An HTTP chat in flight when `up` is told to stop finishes (the drain of
/// the socket path applies), and `up` exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_chat_in_flight_finishes_during_drain() {
    let server = ollama::OllamaServer::start(ollama::Behaviour {
        latency: Duration::from_millis(1500),
        ..Default::default()
    })
    .await;
    let p = Project::new([47095, 47099], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha"]).await;
    let url = web.url("/api/specialists/alpha/chat");
    let chat = tokio::spawn(async move { post_sse(&url, &json!({"content": "slow one"})).await });
    assert!(
        crate::fixture::poll(Duration::from_secs(20), || !server.requests().is_empty()),
        "the provider never got the chat"
    );
    web.daemon.signal("TERM");
    let (status, events) = chat.await.unwrap();
    assert_eq!(status, 200);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response", "{events:?}");
    assert_eq!(last["content"], ollama::answer_for("slow one"));
    let code = tokio::task::spawn_blocking(move || web.daemon.wait(Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(code, Some(0));
}
