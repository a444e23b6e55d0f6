//! The JSON-RPC edge of `/a2a/NAME` and `/mcp`, spoken raw: malformed JSON,
//! a batch, a missing method, an unknown one, wrong param types and a 2 MiB
//! body each get the error the JSON-RPC spec names, and the server keeps
//! serving; plus the transport rules (Origin, sessions, versions, auth).
//! Port range of this file: 47430-47449.

use crate::fixture::http;
use crate::fixture::ollama;

use crate::fixture::Project;
use http::{client, up_http};
use serde_json::{Value, json};

async fn post(url: &str, body: impl Into<reqwest::Body>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.body(body).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const V1: (&str, &str) = ("A2A-Version", "1.0");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_json_rpc_edges_get_the_spec_errors_and_the_server_keeps_serving() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47430, 47439], &server.base_url);
    p.write("numa", "Numa.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["numa"]).await;
    let url = web.url("/a2a/numa");
    let still_serving = || async {
        let (s, v) = post(
            &url,
            json!({"jsonrpc": "2.0", "id": 9, "method": "GetTask", "params": {"id": "nope"}})
                .to_string(),
            &[V1],
        )
        .await;
        assert_eq!((s, v["error"]["code"].as_i64()), (200, Some(-32001)), "{v}");
    };
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{{\"pad\":\"{}\"}}}}",
        "x".repeat(2 << 20)
    );
    let cases: Vec<(String, i64)> = vec![
        ("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ".into(), -32700),
        (json!([{"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}]).to_string(), -32600),
        (json!({"jsonrpc": "2.0", "id": 1, "params": {}}).to_string(), -32600),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "NoSuchMethod"}).to_string(), -32601),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": 5}}).to_string(), -32602),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": "text"}}}).to_string(), -32602),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": [1]}).to_string(), -32602),
        (huge, -32600),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "CreateTaskPushNotificationConfig", "params": {}}).to_string(), -32003),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"url": "http://x/y.png"}]}}}).to_string(), -32005),
    ];
    for (body, code) in cases {
        let shown: String = body.chars().take(80).collect();
        let (status, v) = post(&url, body, &[V1]).await;
        assert_eq!(status, 200, "{shown}: {v}");
        assert_eq!(v["error"]["code"].as_i64(), Some(code), "{shown}: {v}");
        still_serving().await;
    }
    // Versions: unsupported by header and by query parameter; none means 0.3.
    let get =
        json!({"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": "x"}}).to_string();
    let (_, v) = post(&url, get.clone(), &[("A2A-Version", "2.0")]).await;
    assert_eq!(v["error"]["code"], -32009, "{v}");
    assert_eq!(v["error"]["data"][0]["reason"], "VERSION_NOT_SUPPORTED");
    let (_, v) = post(&format!("{url}?A2A-Version=0.5"), get.clone(), &[]).await;
    assert_eq!(v["error"]["code"], -32009, "{v}");
    let send = json!({"jsonrpc": "2.0", "id": 3, "method": "message/send", "params": {"message": {
        "kind": "message", "messageId": "m1", "role": "user", "parts": [{"kind": "text", "text": "old client"}]}}});
    let (_, v) = post(&url, send.to_string(), &[]).await;
    assert_eq!(v["result"]["kind"], "task", "{v}");
    assert_eq!(v["result"]["status"]["state"], "completed");
    assert_eq!(
        v["result"]["artifacts"][0]["parts"][0]["text"],
        ollama::answer_for("old client")
    );
    // returnImmediately answers before the chat ends.
    let quick = json!({"jsonrpc": "2.0", "id": 4, "method": "SendMessage", "params": {"message": {
        "messageId": "m2", "role": "ROLE_USER", "parts": [{"text": "later"}]}, "configuration": {"returnImmediately": true}}});
    let (_, v) = post(&url, quick.to_string(), &[V1]).await;
    let state = v["result"]["task"]["status"]["state"]
        .as_str()
        .unwrap_or("");
    assert!(
        [
            "TASK_STATE_SUBMITTED",
            "TASK_STATE_WORKING",
            "TASK_STATE_COMPLETED"
        ]
        .contains(&state),
        "{v}"
    );
    // A notification gets no reply; an unknown agent is a 404; a foreign Origin is refused.
    let (s, _) = post(
        &url,
        json!({"jsonrpc": "2.0", "method": "GetTask"}).to_string(),
        &[V1],
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = post(&web.url("/a2a/nobody"), get.clone(), &[V1]).await;
    assert_eq!(s, 404);
    let (s, _) = post(&url, get, &[V1, ("Origin", "https://evil.example")]).await;
    assert_eq!(s, 403);
    still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_json_rpc_edges_sessions_and_versions() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47440, 47444], &server.base_url);
    p.write("numa", "Numa.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["numa"]).await;
    let url = web.url("/mcp");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let r = client()
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await
        .unwrap();
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"]["protocolVersion"], "2025-06-18");
    let session = [("mcp-session-id", sid.as_str())];
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let still_serving = || async {
        let (s, v) = post(&url, ping.clone(), &session).await;
        assert_eq!((s, &v["result"]), (200, &json!({})), "{v}");
    };
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{{\"pad\":\"{}\"}}}}",
        "x".repeat(2 << 20)
    );
    let cases: Vec<(String, u16, i64)> = vec![
        ("{oops".into(), 400, -32700),
        (json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]).to_string(), 400, -32600),
        (json!({"jsonrpc": "2.0", "id": 1}).to_string(), 400, -32600),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover"}).to_string(), 200, -32601),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 5}}).to_string(), 200, -32602),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "no_such_tool"}}).to_string(), 200, -32602),
        (json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "cadre://nothing"}}).to_string(), 200, -32002),
        (huge, 413, -32600),
    ];
    for (body, status, code) in cases {
        let shown: String = body.chars().take(80).collect();
        let (s, v) = post(&url, body, &session).await;
        assert_eq!(
            (s, v["error"]["code"].as_i64()),
            (status, Some(code)),
            "{shown}: {v}"
        );
        still_serving().await;
    }
    // Sessions and versions.
    let (s, _) = post(&url, ping.clone(), &[]).await;
    assert_eq!(s, 400);
    let (s, _) = post(&url, ping.clone(), &[("mcp-session-id", "forged")]).await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &url,
        ping.clone(),
        &[session[0], ("mcp-protocol-version", "1999-01-01")],
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = post(
        &url,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        &session,
    )
    .await;
    assert_eq!(s, 202);
    let (s, _) = post(
        &url,
        ping.clone(),
        &[session[0], ("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        client().get(&url).send().await.unwrap().status().as_u16(),
        405
    );
    let del = client()
        .delete(&url)
        .header("mcp-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 204);
    let (s, _) = post(&url, ping, &session).await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_the_cards_declare_bearer_and_requests_need_it() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47445, 47449], &server.base_url);
    p.write("numa", "Numa.", None);
    let toml = std::fs::read_to_string(p.tmp.path().join("cadre.toml")).unwrap();
    std::fs::write(
        p.tmp.path().join("cadre.toml"),
        format!("{toml}\n[http]\ntoken_env = \"CADRE_TEST_A2A_TOKEN\"\n"),
    )
    .unwrap();
    let mut web = up_http(&p, &[], &[("CADRE_TEST_A2A_TOKEN", "t0ken")]);
    let card_url = web.url("/a2a/numa/.well-known/agent-card.json");
    let anon = client().get(&card_url).send().await.unwrap();
    assert_eq!(anon.status().as_u16(), 401);
    let c = client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let card: Value = loop {
        web.daemon.assert_running();
        let r = c.get(&card_url).bearer_auth("t0ken").send().await.unwrap();
        if r.status() == 200 {
            break r.json().await.unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "card never served");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        card["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"],
        "Bearer"
    );
    assert!(card["securityRequirements"][0]["schemes"]["bearer"].is_object());
    let get =
        json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}).to_string();
    let (s, _) = post(&web.url("/a2a/numa"), get, &[V1]).await;
    assert_eq!(s, 401);
}
