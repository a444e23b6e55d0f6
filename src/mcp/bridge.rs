//! `cadre mcp`: the MCP stdio transport as a thin bridge to the running
//! daemon's `/mcp`. Each line on stdin (one JSON-RPC message) becomes one
//! POST; each JSON body or SSE `data` of the answer becomes one line on
//! stdout. Messages are forwarded concurrently, so a long `ask` does not hold
//! up a `ping` or a `notifications/cancelled`. The session id the daemon
//! returns to `initialize` rides on every later POST; when the daemon
//! restarted and forgot it (404), the bridge replays the host's `initialize`
//! once and retries, so the host never notices. A daemon that cannot be
//! reached turns a request into a JSON-RPC error naming the URL, never a
//! silent hang. Nothing but protocol messages goes to stdout (logs: stderr).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::provider::sse::SseParser;

/// Where the daemon is and how to authenticate.
#[derive(Debug, Clone)]
pub struct Target {
    /// The MCP endpoint, `http://HOST:PORT/mcp`.
    pub url: String,
    pub token: Option<String>,
}

struct Shared {
    target: Target,
    http: reqwest::Client,
    out: mpsc::Sender<String>,
    session: Mutex<Option<String>>,
    version: Mutex<Option<String>>,
    /// The host's `initialize` (and that it sent `initialized`), for a replay.
    init: Mutex<Option<Value>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run until stdin closes.
pub async fn run(target: Target) -> std::io::Result<()> {
    crate::provider::install_tls();
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(std::io::Error::other)?;
    let (tx, mut rx) = mpsc::channel::<String>(256);
    let shared = Arc::new(Shared {
        target,
        http,
        out: tx,
        session: Mutex::new(None),
        version: Mutex::new(None),
        init: Mutex::new(None),
    });
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = rx.recv().await {
            if stdout.write_all(line.as_bytes()).await.is_err()
                || stdout.write_all(b"\n").await.is_err()
                || stdout.flush().await.is_err()
            {
                return;
            }
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let s = shared.clone();
        tokio::spawn(async move { forward(&s, line).await });
    }
    let session = lock(&shared.session).clone();
    if let Some(sid) = session {
        let _ = shared
            .http
            .delete(&shared.target.url)
            .header("mcp-session-id", sid)
            .timeout(Duration::from_secs(2))
            .send()
            .await;
    }
    drop(shared);
    writer.abort();
    Ok(())
}

async fn forward(s: &Shared, line: String) {
    let msg: Option<Value> = serde_json::from_str(&line).ok();
    let id = msg.as_ref().and_then(|m| m.get("id")).cloned();
    let method = msg
        .as_ref()
        .and_then(|m| m.get("method"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if method.as_deref() == Some("initialize") {
        *lock(&s.init) = msg.clone();
    }
    let mut answer = post(s, line.clone()).await;
    if matches!(&answer, Ok(r) if r.status() == StatusCode::NOT_FOUND)
        && method.as_deref() != Some("initialize")
        && reinitialize(s).await
    {
        answer = post(s, line).await;
    }
    match answer {
        Ok(r) => relay(s, r, method.as_deref() == Some("initialize"), id).await,
        Err(e) => {
            if let Some(id) = id {
                let msg = format!(
                    "cannot reach cadre at {}: {e}; is `cadre up` running?",
                    s.target.url
                );
                emit(
                    s,
                    &crate::jsonrpc::error(&id, &crate::jsonrpc::RpcError::new(-32603, msg)),
                )
                .await;
            }
        }
    }
}

async fn post(s: &Shared, body: String) -> reqwest::Result<reqwest::Response> {
    let mut req = s
        .http
        .post(&s.target.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    if let Some(sid) = lock(&s.session).clone() {
        req = req.header("mcp-session-id", sid);
    }
    if let Some(v) = lock(&s.version).clone() {
        req = req.header("mcp-protocol-version", v);
    }
    if let Some(t) = &s.target.token {
        req = req.bearer_auth(t);
    }
    req.send().await
}

/// Replay the host's handshake after the daemon forgot the session.
async fn reinitialize(s: &Shared) -> bool {
    let Some(init) = lock(&s.init).clone() else {
        return false;
    };
    *lock(&s.session) = None;
    let Ok(r) = post(s, init.to_string()).await else {
        return false;
    };
    remember_session(s, &r);
    let ok = r.status().is_success();
    let _ = r.bytes().await;
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    ok && post(s, initialized.to_string()).await.is_ok()
}

fn remember_session(s: &Shared, r: &reqwest::Response) {
    if let Some(sid) = r
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
    {
        *lock(&s.session) = Some(sid.to_owned());
    }
}

async fn emit(s: &Shared, v: &Value) {
    let _ = s.out.send(v.to_string()).await;
}

async fn relay(s: &Shared, r: reqwest::Response, initialize: bool, id: Option<Value>) {
    if initialize {
        remember_session(s, &r);
    }
    let status = r.status();
    let sse = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if status == StatusCode::ACCEPTED {
        return;
    }
    if sse {
        relay_sse(s, r).await;
        return;
    }
    let body = r.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<Value>(&body) {
        Ok(mut v) if v.get("jsonrpc").is_some() => {
            if initialize && let Some(ver) = v["result"]["protocolVersion"].as_str() {
                *lock(&s.version) = Some(ver.to_owned());
            }
            if v.get("error").is_some() && v["id"].is_null() && id.is_some() {
                v["id"] = id.clone().unwrap_or(Value::Null);
            }
            emit(s, &v).await;
        }
        _ => {
            if let Some(id) = id {
                let text = String::from_utf8_lossy(&body);
                let msg = format!("cadre answered HTTP {status}: {}", text.trim());
                emit(
                    s,
                    &crate::jsonrpc::error(&id, &crate::jsonrpc::RpcError::new(-32603, msg)),
                )
                .await;
            }
        }
    }
}

async fn relay_sse(s: &Shared, mut r: reqwest::Response) {
    let mut parser = SseParser::default();
    let mut pending = Vec::new();
    while let Ok(Some(chunk)) = r.chunk().await {
        pending.extend_from_slice(&chunk);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line);
            if let Some(ev) = parser.line(text.trim_end_matches(['\n', '\r']))
                && !ev.data.is_empty()
            {
                let _ = s.out.send(ev.data).await;
            }
        }
    }
    if let Some(ev) = parser.finish()
        && !ev.data.is_empty()
    {
        let _ = s.out.send(ev.data).await;
    }
}
