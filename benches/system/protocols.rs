//! `protocols`: the latency an A2A `SendMessage` (blocking) and an MCP
//! `tools/call ask` (JSON response) add over a socket chat with the same
//! specialist, p50/p99 over `CADRE_BENCH_CHATS` (default 300) rounds, the
//! three kinds alternating within each round. Each socket chat opens a fresh
//! connection, as the HTTP paths do internally; the HTTP clients keep theirs.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{Project, Provider, bin, summary};

pub struct Web {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Web {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

pub fn up_http(p: &Project) -> Web {
    up_http_with(p, &bin())
}

/// `cadre up` with HTTP on a free port, of the binary `bin`.
// The child moves into `Web`, whose Drop waits for it.
#[allow(clippy::zombie_processes)]
pub fn up_http_with(p: &Project, bin: &str) -> Web {
    let out = p.root.join("up.out");
    let mut child = Command::new(bin)
        .arg("--dir")
        .arg(&p.dir)
        .arg("--state-dir")
        .arg(&p.state)
        .args(["up", "--http", "127.0.0.1:0"])
        .env_remove("CADRE_DIR")
        .env("RUST_LOG", "warn")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if let Some(url) = text
            .lines()
            .find_map(|l| l.split("web UI and API on ").nth(1))
            .and_then(|r| r.split_whitespace().next())
        {
            return Web {
                child,
                base: url.trim_end_matches('/').to_owned(),
            };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cadre up printed no URL");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn socket_chat(port: u16) {
    let s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.set_nodelay(true).unwrap();
    let (r, mut w) = s.into_split();
    w.write_all(b"{\"type\":\"chat\",\"content\":\"hello\"}\n")
        .await
        .unwrap();
    let mut lines = BufReader::new(r).lines();
    while let Some(l) = lines.next_line().await.unwrap() {
        if l.contains("\"type\":\"response\"") {
            return;
        }
        assert!(!l.contains("\"type\":\"error\""), "{l}");
    }
}

pub async fn protocols(provider: &Provider) {
    let p = Project::new(&provider.base_url);
    p.write("numa", "proto");
    let web = up_http(&p);
    let c = reqwest::Client::new();
    let port = loop {
        let r = c
            .get(format!("{}/api/specialists/numa", web.base))
            .send()
            .await;
        if let Ok(r) = r
            && let Ok(v) = r.json::<Value>().await
            && v["state"] == "ready"
        {
            break v["port"].as_u64().unwrap() as u16;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let a2a = format!("{}/a2a/numa", web.base);
    let mcp = format!("{}/mcp", web.base);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}});
    let r = c
        .post(&mcp)
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await
        .unwrap();
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let n: usize = std::env::var("CADRE_BENCH_CHATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let (mut socket, mut send, mut ask) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n + 20 {
        let t = Instant::now();
        socket_chat(port).await;
        let ts = t.elapsed();
        let msg = json!({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": {
            "messageId": format!("m{i}"), "role": "ROLE_USER", "parts": [{"text": "hello"}]}}});
        let t = Instant::now();
        let v: Value = c
            .post(&a2a)
            .header("A2A-Version", "1.0")
            .json(&msg)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ta = t.elapsed();
        assert_eq!(
            v["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
            "{v}"
        );
        let call = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
            "name": "ask", "arguments": {"specialist": "numa", "question": "hello"}}});
        let t = Instant::now();
        let v: Value = c
            .post(&mcp)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &sid)
            .json(&call)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tm = t.elapsed();
        assert_eq!(v["result"]["isError"], false, "{v}");
        if i >= 20 {
            socket.push(ts);
            send.push(ta);
            ask.push(tm);
        }
    }
    println!("protocols: socket chat       {}", summary(socket));
    println!("protocols: A2A SendMessage   {}", summary(send));
    println!("protocols: MCP tools/call ask {}", summary(ask));
    drop(web);
}
