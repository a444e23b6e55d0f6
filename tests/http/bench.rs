//! The latency an HTTP chat adds over a socket chat (BENCHMARKS.md).
//! Run: `cargo test --test http bench:: -- --ignored --nocapture` (add
//! `--release` for release numbers). Port range of this file: 47300-47309.

use crate::fixture::http;
use crate::fixture::ollama;

use std::time::{Duration, Instant};

use crate::fixture::Project;
use http::{client, up_http};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const N: usize = 300;

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture"]
async fn http_chat_vs_socket_chat_latency() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47300, 47309], &server.base_url);
    p.write("numa", "Numa speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["numa"]).await;
    let port = p.port_of("numa").unwrap();
    let c = client();
    let url = web.url("/api/specialists/numa/chat");

    let mut socket = Vec::with_capacity(N);
    let mut http = Vec::with_capacity(N);
    for i in 0..N + 20 {
        // Socket: a fresh connection per chat, as the HTTP relay makes.
        let t = Instant::now();
        let s = cadre::net::socket::connect("127.0.0.1", port)
            .await
            .unwrap();
        let (rd, mut wr) = s.into_split();
        wr.write_all(b"{\"type\":\"chat\",\"content\":\"hi\",\"stream\":true}\n")
            .await
            .unwrap();
        let mut lines = BufReader::new(rd).lines();
        while let Some(l) = lines.next_line().await.unwrap() {
            if l.contains("\"type\":\"response\"") {
                break;
            }
        }
        let sock = t.elapsed();

        let t = Instant::now();
        let body = c
            .post(&url)
            .json(&json!({"content": "hi"}))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains("\"type\":\"response\""));
        let h = t.elapsed();
        if i >= 20 {
            socket.push(sock);
            http.push(h);
        }
    }
    let added: Vec<Duration> = http
        .iter()
        .zip(&socket)
        .map(|(h, s)| h.saturating_sub(*s))
        .collect();
    let (s50, s99) = (pct(&mut socket, 0.5), pct(&mut socket, 0.99));
    let (h50, h99) = (pct(&mut http, 0.5), pct(&mut http, 0.99));
    let mut added = added;
    let (a50, a99) = (pct(&mut added, 0.5), pct(&mut added, 0.99));
    println!("chats: {N} each, streamed, loopback Ollama answering at once");
    println!("socket chat   p50 {s50:?}  p99 {s99:?}");
    println!("HTTP chat     p50 {h50:?}  p99 {h99:?}");
    println!("added (pairs) p50 {a50:?}  p99 {a99:?}");
}
