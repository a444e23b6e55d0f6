//! Daily operation (issue 16) through `cadre up` with HTTP: component health
//! as the `[health] url` answers (in `status --json`, the socket `health`
//! reply, `/api/specialists` and `/metrics`; none for a specialist without
//! a url), and limits on HTTP: `/v1` answers 429 in OpenAI's error shape,
//! which async-openai parses; `/api` answers 429 with `retry_after_ms`.
//! Port range of this file: 48350-48399 (specialists); HTTP on port 0.

use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
};
use serde_json::{Value, json};

use crate::fixture::component::{HealthEndpoint, Mode};
use crate::fixture::http::{Web, openai, post_sse, up_http};
use crate::fixture::ollama::{Behaviour, OllamaServer};
use crate::fixture::{Conn, Project};

/// The monitor's interval in this test.
const INTERVAL: Duration = Duration::from_secs(1);

/// What one view says of a specialist's component: its status, and when
/// the probe that found it started (a time stamp, checked for its form).
fn seen(component: &Value) -> Option<(String, std::time::SystemTime)> {
    let status = component["status"].as_str()?.to_owned();
    let at = humantime::parse_rfc3339(component["checked_at"].as_str()?).ok()?;
    Some((status, at))
}

/// The component's health as `status --json`, the socket `health` reply and
/// `/api/specialists` show it.
async fn views(p: &Project, name: &str, web: &Web) -> [Value; 3] {
    let row = p.status_of(name).unwrap();
    let port = row["port"].as_u64().unwrap() as u16;
    let health = Conn::open(port).unwrap().ask(json!({"type": "health"}));
    assert_eq!(health["type"], "health_response", "{health}");
    let api: Value = web.json("/api/specialists").await;
    let card = api
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap();
    [
        row["component_health"].clone(),
        health["component"].clone(),
        card["component_health"].clone(),
    ]
}

/// A `[health] url` that goes up → down → slow → up: each state shows in
/// `status --json`, the socket `health` reply and `/api/specialists`; the
/// endpoint is asked again within one interval of each change; `/metrics`
/// has it too. Hermes, without a url, shows none anywhere,
/// and the specialist whose component is down keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_health_follows_its_endpoint_within_an_interval() {
    let server = OllamaServer::start(Behaviour::default()).await;
    let endpoint = HealthEndpoint::start(Mode::Up).await;
    let p = Project::new([48350, 48359], &server.base_url);
    let vault = Project::specialist_toml("vault", "Vault keeps.", None)
        + &format!(
            "\n[health]\nurl = \"{}\"\ninterval = \"1s\"\ntimeout = \"1s\"\nslow = \"300ms\"\n",
            endpoint.url
        );
    p.spec("vault.toml", vault);
    p.write("hermes", "Hermes carries.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["hermes", "vault"]).await;

    let slow = Mode::Slow(Duration::from_millis(700));
    for (mode, expected) in [
        (Mode::Up, "up"),
        (Mode::Down, "down"),
        (slow, "slow"),
        (Mode::Up, "up"),
    ] {
        endpoint.set(mode);
        let switched = Instant::now();
        let deadline = switched + Duration::from_secs(20);
        let found = loop {
            let v = views(&p, "vault", &web).await;
            let states: Vec<_> = v.iter().map(seen).collect();
            let asked = endpoint.first_probe_since(switched).is_some();
            if asked
                && states
                    .iter()
                    .all(|s| s.as_ref().is_some_and(|(st, _)| st == expected))
            {
                break v;
            }
            assert!(
                Instant::now() < deadline,
                "{expected} never showed: {v:#?}\n{}",
                web.daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // The monitor asked again at most one interval after the change
        // (half a second more for a timer on a loaded machine), measured at
        // the endpoint; the views show what that probe or a later one found.
        let asked = endpoint.first_probe_since(switched).unwrap();
        let late = asked - switched;
        assert!(
            late <= INTERVAL + Duration::from_millis(500),
            "{expected}: the first probe after the change came {late:?} after it"
        );
        let c = &found[0];
        assert_eq!(c["url"], endpoint.url.as_str(), "{c}");
        match expected {
            "slow" => assert!(c["latency_ms"].as_u64().unwrap() >= 700, "{c}"),
            "down" => {
                assert!(c["detail"].as_str().unwrap().contains("503"), "{c}");
                let r = Conn::open(p.port_of("vault").unwrap())
                    .unwrap()
                    .chat("still there?");
                assert_eq!(r["type"], "response", "a component down stops nothing: {r}");
            }
            _ => assert!(c["latency_ms"].as_u64().is_some(), "{c}"),
        }
        for v in &found[1..] {
            assert_eq!(v["url"], c["url"]);
            assert_eq!(v["status"], c["status"]);
        }
        let metrics = web.text("/metrics").await;
        let line =
            format!("cadre_component_health{{specialist=\"vault\",status=\"{expected}\"}} 1");
        assert!(metrics.contains(&line), "no {line} in:\n{metrics}");
    }
    assert!(endpoint.probes() >= 4);

    // Hermes has no url: nothing polled, nothing shown.
    for v in views(&p, "hermes", &web).await {
        assert!(v.is_null(), "{v}");
    }
    let metrics = web.text("/metrics").await;
    assert!(
        !metrics.contains("cadre_component_health{specialist=\"hermes\""),
        "{metrics}"
    );
    let out = p.run(&["status"]);
    let hermes = out
        .stdout
        .lines()
        .find(|l| l.starts_with("hermes "))
        .unwrap();
    let vault = out
        .stdout
        .lines()
        .find(|l| l.starts_with("vault "))
        .unwrap();
    assert!(vault.contains(" up "), "{}", out.stdout);
    assert!(!hermes.contains(" up "), "{}", out.stdout);
}

/// async-openai without its retry layer, so a rate limit's 429 reaches the
/// caller instead of being waited out (up to a minute per try).
fn openai_once(base: &str) -> Client<OpenAIConfig> {
    let http = async_openai::middleware::ReqwestService::new(reqwest::Client::new());
    openai(base).with_http_service(http)
}

async fn ask(c: &Client<OpenAIConfig>, model: &str) -> Result<String, OpenAIError> {
    let req = CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([ChatCompletionRequestUserMessage::from("count").into()])
        .build()
        .unwrap();
    let r = c.chat().create(req).await?;
    Ok(r.choices[0].message.content.clone().unwrap_or_default())
}

/// The 429 async-openai parsed: its error type and code.
fn too_many(r: Result<String, OpenAIError>) -> (Option<String>, Option<String>) {
    match r {
        Err(OpenAIError::ApiError(e)) => {
            assert_eq!(e.status_code.as_u16(), 429, "{e}");
            assert!(!e.api_error.message.is_empty());
            (e.api_error.r#type, e.api_error.code)
        }
        other => panic!("not a 429 OpenAI error: {other:?}"),
    }
}

/// Over a limit, `/v1/chat/completions` answers 429 with OpenAI's error
/// body, which the official-style client parses into its `ApiError`
/// (`requests` / `rate_limited` for a rate, `insufficient_quota` /
/// `budget_exceeded` for a spent budget, which its stock retry policy does
/// not retry) with a `Retry-After`; `/api`'s
/// chat (Server-Sent Events) ends in the typed error with `retry_after_ms`,
/// a team round gives it as that member's error, an A2A task fails with it,
/// and MCP's `ask` tool answers an error naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_limit_http_answers_429_in_openais_shape() {
    let server = OllamaServer::start(Behaviour::default()).await;
    let p = Project::new([48360, 48369], &server.base_url);
    let with = |name: &str, limits: &str| {
        Project::specialist_toml(name, "Counts.", None) + &format!("\n[limits]\n{limits}\n")
    };
    p.spec("rate.toml", with("rate", "requests_per_minute = 1"));
    p.spec("budget.toml", with("budget", "tokens_per_day = 5"));
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["budget", "rate"]).await;
    let (c, once) = (openai(&web.base), openai_once(&web.base));

    assert!(ask(&once, "rate").await.unwrap().starts_with("echo:"));
    let (kind, code) = too_many(ask(&once, "rate").await);
    assert_eq!(
        (kind.as_deref(), code.as_deref()),
        (Some("requests"), Some("rate_limited"))
    );

    assert!(ask(&c, "budget").await.unwrap().starts_with("echo:"));
    let (kind, code) = too_many(ask(&c, "budget").await);
    assert_eq!(
        (kind.as_deref(), code.as_deref()),
        (Some("insufficient_quota"), Some("budget_exceeded"))
    );

    // The raw answers: the header, and the wait in `/api`'s body.
    let body = json!({"model": "rate", "messages": [{"role": "user", "content": "count"}]});
    let r = crate::fixture::http::client()
        .post(web.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let secs: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    let (status, events) = post_sse(
        &web.url("/api/specialists/rate/chat"),
        &json!({"content": "count"}),
    )
    .await;
    assert_eq!(status, 200, "{events:?}");
    let e = events.last().unwrap();
    assert_eq!(
        (&e["type"], &e["code"]),
        (&json!("error"), &json!("rate_limited")),
        "{e}"
    );
    assert!(
        e["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0 && ms <= 60_000),
        "{e}"
    );
    // In a team round, each member over its limit is that member's error.
    let (_, events) = post_sse(&web.url("/api/team"), &json!({"content": "count"})).await;
    for (member, code) in [("rate", "rate_limited"), ("budget", "budget_exceeded")] {
        let e = events
            .iter()
            .find(|e| e["specialist"] == member && e["type"] == "error")
            .unwrap_or_else(|| panic!("no error from {member}: {events:?}"));
        assert_eq!(e["code"], code, "{e}");
        assert!(e["retry_after_ms"].as_u64().is_some(), "{e}");
    }
    // A2A takes the same path: the task fails with the typed code.
    let send = json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {
        "kind": "message", "messageId": "m1", "role": "user", "parts": [{"kind": "text", "text": "count"}]}}});
    let r = crate::fixture::http::client()
        .post(web.url("/a2a/rate"))
        .header("content-type", "application/json")
        .body(send.to_string())
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let status = &v["result"]["status"];
    assert_eq!(status["state"], "failed", "{v}");
    assert!(status.to_string().contains("rate_limited"), "{v}");
    // /metrics: the one answered chat's usage, the refusals by code, and
    // today's budget beside what it counts.
    let metrics = web.text("/metrics").await;
    for line in [
        "cadre_tokens_total{specialist=\"rate\",provider=\"local\",kind=\"prompt\"} 7",
        "cadre_tokens_total{specialist=\"rate\",provider=\"local\",kind=\"completion\"} 3",
        "cadre_tokens_per_day_limit{specialist=\"budget\"} 5",
    ] {
        assert!(metrics.contains(line), "no {line} in:\n{metrics}");
    }
    assert!(
        metrics.contains("cadre_errors_total{specialist=\"rate\",code=\"rate_limited\"}"),
        "{metrics}"
    );
    // And MCP: the `ask` tool's result is an error naming the code.
    let text = mcp_ask(&web, "rate").await;
    assert!(text.contains("rate_limited"), "{text}");
    assert_eq!(
        server.requests().len(),
        2,
        "refused chats never reach the provider"
    );
}

/// `tools/call ask` on `/mcp` in a new session: the result's text, which
/// must be marked as an error.
async fn mcp_ask(web: &Web, specialist: &str) -> String {
    let c = crate::fixture::http::client();
    let post = |body: Value, sid: Option<String>| {
        let mut r = c
            .post(web.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(sid) = sid {
            r = r.header("mcp-session-id", sid);
        }
        r.send()
    };
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let r = post(init, None).await.unwrap();
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "ask", "arguments": {"specialist": specialist, "question": "count"}}});
    let body = post(call, Some(sid)).await.unwrap().text().await.unwrap();
    let reply = serde_json::from_str::<Value>(&body)
        .ok()
        .or_else(|| crate::fixture::http::sse_objects(&body).pop())
        .unwrap_or_else(|| panic!("no JSON-RPC reply: {body}"));
    let result = &reply["result"];
    assert_eq!(result["isError"], true, "{reply}");
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
