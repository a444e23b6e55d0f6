//! Fixtures of the HTTP tests: `cadre up` with its HTTP server on an
//! ephemeral loopback port (read from the URL it prints), and small helpers
//! to read Server-Sent Events.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub use crate::daemon_support::{Daemon, Project, poll};

/// A running `cadre up` with its HTTP base URL (`http://127.0.0.1:PORT`).
pub struct Web {
    pub daemon: Daemon,
    pub base: String,
    pub stdout: PathBuf,
}

/// Start `cadre up --http 127.0.0.1:0 …extra` and wait for the URL it prints.
pub fn up_http(p: &Project, extra: &[&str], envs: &[(&str, &str)]) -> Web {
    let n = std::process::id();
    let log = p.tmp.path().join(format!("up-{n}.log"));
    let stdout = p.tmp.path().join(format!("up-{n}.out"));
    let mut args = vec!["up"];
    if !extra.iter().any(|a| a.starts_with("--http")) {
        args.extend(["--http", "127.0.0.1:0"]);
    }
    args.extend(extra);
    let mut cmd = Command::new(crate::daemon_support::BIN);
    cmd.arg("--dir")
        .arg(&p.dir)
        .arg("--state-dir")
        .arg(&p.state)
        .args(&args)
        .env_remove("CADRE_DIR")
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let mut daemon = Daemon {
        child: Some(child),
        log,
    };
    let mut base = None;
    let ok = poll(Duration::from_secs(30), || {
        daemon.assert_running();
        let out = std::fs::read_to_string(&stdout).unwrap_or_default();
        base = out
            .lines()
            .find_map(|l| l.split("web UI and API on ").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .map(|u| u.trim_end_matches('/').replace("0.0.0.0", "127.0.0.1"));
        base.is_some()
    });
    assert!(ok, "cadre up printed no URL:\n{}", daemon.log());
    Web {
        daemon,
        base: base.unwrap(),
        stdout,
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

impl Web {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Wait until the API shows exactly `names`, each `ready`.
    pub async fn wait_ready(&mut self, names: &[&str]) {
        let c = client();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            self.daemon.assert_running();
            if let Ok(r) = c.get(self.url("/api/specialists")).send().await
                && let Ok(list) = r.json::<Vec<Value>>().await
                && list.len() == names.len()
                && names.iter().all(|n| {
                    list.iter()
                        .any(|s| s["name"] == *n && s["state"] == "ready")
                })
            {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not ready: {names:?}\n{}",
                self.daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every `data:` object of an SSE body, in order.
pub fn sse_objects(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|block| {
            let data: Vec<&str> = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|l| l.strip_prefix(' ').unwrap_or(l))
                .collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .filter_map(|d| serde_json::from_str(&d).ok())
        .collect()
}

/// POST JSON and read the whole SSE answer.
pub async fn post_sse(url: &str, body: &Value) -> (u16, Vec<Value>) {
    let r = client().post(url).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, sse_objects(&text))
}
