//! `/healthz` and `/readyz`: the probes kubelet sends, without the token.
//! Port range of this file: 48100-48119 (specialists); HTTP on port 0.

use crate::fixture;
use crate::fixture::http::{Web, client, up_http};
use crate::fixture::ollama;

use std::time::Duration;

use fixture::{Conn, Project, poll};
use serde_json::Value;

const TOKEN: &str = "pr0be-s3cret";
const WITHIN: Duration = Duration::from_secs(30);

/// A project whose HTTP server requires a token.
fn signed_project(range: [u16; 2], base_url: &str) -> Project {
    let p = Project::new(range, base_url);
    let path = p.root().join("cadre.toml");
    let toml = std::fs::read_to_string(&path).unwrap();
    let toml = format!("{toml}\n[http]\ntoken_env = \"CADRE_TEST_PROBE_TOKEN\"\n");
    std::fs::write(path, toml).unwrap();
    p
}

fn up(p: &Project) -> Web {
    up_http(p, &[], &[("CADRE_TEST_PROBE_TOKEN", TOKEN)])
}

/// GET `path` without a token: status and JSON body.
async fn probe(web: &Web, path: &str) -> (u16, Value) {
    let r = client().get(web.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert!(!text.contains(TOKEN), "{path} shows the token: {text}");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, body)
}

/// Wait until `/readyz` answers `status`.
async fn readyz_becomes(web: &Web, status: u16) -> Value {
    let deadline = std::time::Instant::now() + WITHIN;
    loop {
        let (s, body) = probe(web, "/readyz").await;
        if s == status {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/readyz still {s}: {body:#}\n{}",
            web.daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn not_ready_names(body: &Value) -> Vec<String> {
    body["not_ready"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_need_no_token_and_readiness_counts_only_what_should_serve() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = signed_project([48100, 48109], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    p.write("beta", "Beta speaks.", None);
    let web = up(&p);

    // Ready once both serve; liveness says who it is, and the registry's health.
    let body = readyz_becomes(&web, 200).await;
    assert_eq!(body["status"], "ready", "{body:#}");
    assert_eq!(not_ready_names(&body), Vec::<String>::new());
    let (s, health) = probe(&web, "/healthz").await;
    assert_eq!(s, 200, "{health:#}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["specialists"], 2);
    assert_eq!(health["registry"]["backend"], "file");
    assert_eq!(health["registry"]["available"], true);
    // Only GET of the probes is open: everything else still needs the token.
    let r = client().post(web.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .get(web.url("/api/specialists"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A config error does not count against readiness: alpha serves its last
    // good spec, and a new broken file starts nothing.
    std::fs::write(p.file("alpha"), "component = = broken\n").unwrap();
    std::fs::write(p.file("newbie"), "component = [\n").unwrap();
    assert!(
        poll(WITHIN, || p.is_in("alpha", "config_error")),
        "{:#?}",
        p.status()
    );
    let (s, body) = probe(&web, "/readyz").await;
    assert_eq!(s, 200, "{body:#}");

    // A specialist that should serve and cannot (its pinned port is held by
    // a foreign program): not ready, named with its error.
    let foreign = std::net::TcpListener::bind("127.0.0.1:48109").unwrap();
    p.write("gamma", "Gamma speaks.", Some(48109));
    let body = readyz_becomes(&web, 503).await;
    assert_eq!(body["status"], "not ready", "{body:#}");
    assert_eq!(not_ready_names(&body), vec!["gamma".to_owned()], "{body:#}");
    let gamma = &body["not_ready"][0];
    assert_eq!(gamma["state"], "failed", "{body:#}");
    assert!(
        gamma["last_error"].as_str().unwrap_or("").contains("48109"),
        "{body:#}"
    );
    // Liveness is unaffected: the daemon is doing its job.
    assert_eq!(probe(&web, "/healthz").await.0, 200);
    drop(foreign);
    std::fs::remove_file(p.file("gamma")).unwrap();
    readyz_becomes(&web, 200).await;

    // An operator's stop does not count against it either.
    p.run(&["stop", "beta"]).status(0);
    assert!(poll(WITHIN, || p.is_in("beta", "stopped")));
    let (s, body) = probe(&web, "/readyz").await;
    assert_eq!(s, 200, "{body:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_readiness_fails_at_once_while_liveness_holds_until_the_drain_ends() {
    // A slow answer keeps the drain going long enough to probe it.
    let server = ollama::OllamaServer::start(ollama::Behaviour {
        latency: Duration::from_secs(3),
        ..ollama::Behaviour::default()
    })
    .await;
    let p = signed_project([48110, 48119], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    let mut web = up(&p);
    readyz_becomes(&web, 200).await;
    let port = p.port_of("alpha").unwrap();
    let chat = std::thread::spawn(move || Conn::open(port).unwrap().chat("slow one"));
    assert!(
        poll(WITHIN, || !server.requests().is_empty()),
        "the chat never reached the provider"
    );

    web.daemon.signal("TERM");
    let body = readyz_becomes(&web, 503).await;
    assert_eq!(body["status"], "draining", "{body:#}");
    let (s, health) = probe(&web, "/healthz").await;
    assert_eq!(s, 200, "{health:#}");
    assert_eq!(health["status"], "draining");

    // The chat in flight is answered; then the daemon exits cleanly.
    let answer = chat.join().unwrap();
    assert_eq!(answer["type"], "response", "{answer}");
    assert_eq!(web.daemon.wait(WITHIN), Some(0), "{}", web.daemon.log());
}
