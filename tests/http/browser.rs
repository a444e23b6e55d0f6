//! The pages in real headless Chromium driven by fantoccini, against
//! `cadre up` and the loopback Ollama. Outside CI a missing browser skips
//! these tests with an install hint; with `CI=true` they must run.
//! Port range of this file: 47200-47299 (specialists); HTTP on port 0.

use crate::http_support;
use crate::ollama;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use http_support::{Project, up_http};
use hyper_util::client::legacy::connect::HttpConnector;

pub(crate) struct Driver {
    child: Child,
    client: Client,
}

impl Driver {
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// End the WebDriver session (chromedriver quits Chromium); `drop` then
    /// ends chromedriver.
    pub(crate) async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session, or `None` (skip) when the browser is missing outside CI.
pub(crate) async fn browser() -> Option<Driver> {
    let have = |b: &str| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("chromedriver") && have("chromium")) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but chromium/chromedriver are missing: run scripts/ci-browser.sh"
        );
        eprintln!(
            "skipping browser test: install chromium and chromium-driver (scripts/ci-browser.sh)"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"]}),
    );
    for _ in 0..100 {
        if let Ok(client) = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            return Some(Driver { child, client });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("chromedriver did not start");
}

/// Poll a JS expression until it is true.
pub(crate) async fn until(c: &Client, js: &str, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if let Ok(v) = c.execute(&format!("return !!({js});"), vec![]).await
            && v == serde_json::Value::Bool(true)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_page_streams_and_sends_history() {
    let Some(d) = browser().await else { return };
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47200, 47219], &server.base_url);
    p.write("numa", "Numa speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["numa"]).await;
    let c = &d.client;
    c.goto(&web.url("/s/numa")).await.unwrap();
    assert!(
        until(
            c,
            "document.getElementById('title').textContent === 'numa title'",
            Duration::from_secs(10)
        )
        .await
    );
    let input = c.find(Locator::Css("#message")).await.unwrap();
    input.send_keys("first question\u{E007}").await.unwrap();
    assert!(
        until(
            c,
            "document.querySelectorAll('.msg.assistant[data-done]').length === 1",
            Duration::from_secs(20)
        )
        .await
    );
    let text = c
        .find(Locator::Css(".msg.assistant"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, ollama::answer_for("first question"));
    input.send_keys("second question\u{E007}").await.unwrap();
    assert!(
        until(
            c,
            "document.querySelectorAll('.msg.assistant[data-done]').length === 2",
            Duration::from_secs(20)
        )
        .await
    );
    let sent = server.requests().last().unwrap().clone();
    let m = sent["messages"].as_array().unwrap();
    assert_eq!(m.len(), 4, "{sent}");
    assert!(m[0]["content"].as_str().unwrap().contains("Numa speaks."));
    assert_eq!(m[1]["content"], "first question");
    assert_eq!(m[2]["content"], ollama::answer_for("first question"));
    assert_eq!(m[3]["content"], "second question");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_page_fills_18_cards_slow_one_last_and_follows_file_changes() {
    let Some(d) = browser().await else { return };
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let slow = ollama::OllamaServer::start(ollama::Behaviour {
        latency: Duration::from_millis(1500),
        ..Default::default()
    })
    .await;
    let p = Project::new([47220, 47269], &server.base_url);
    let toml = std::fs::read_to_string(p.tmp.path().join("cadre.toml")).unwrap();
    std::fs::write(
        p.tmp.path().join("cadre.toml"),
        format!(
            "{toml}\n[providers.slow]\nkind = \"ollama\"\nbase_url = \"{}\"\n",
            slow.base_url
        ),
    )
    .unwrap();
    p.copy_shipped();
    for f in std::fs::read_dir(&p.dir).unwrap() {
        let path = f.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("port =")).collect();
        let slow_one = path.file_stem().unwrap() == "hermes";
        let text = kept.join("\n") + "\n";
        let text = if slow_one {
            text.replace("provider = \"local\"", "provider = \"slow\"")
        } else {
            text
        };
        std::fs::write(&path, text).unwrap();
    }
    let names: Vec<String> = std::fs::read_dir(&p.dir)
        .unwrap()
        .map(|f| {
            f.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&refs).await;
    let c = &d.client;
    c.goto(&web.url("/")).await.unwrap();
    assert!(
        until(
            c,
            "document.querySelectorAll('.card').length === 18",
            Duration::from_secs(10)
        )
        .await
    );

    let input = c.find(Locator::Css("#team-message")).await.unwrap();
    input.send_keys("one word each\u{E007}").await.unwrap();
    assert!(
        until(
            c,
            "document.getElementById('summary').dataset.done === '1'",
            Duration::from_secs(30)
        )
        .await
    );
    let filled: i64 = c
        .execute("return [...document.querySelectorAll('.card .answer')].filter(a => a.textContent === 'echo: one word each').length;", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert_eq!(filled, 18);
    let order = c
        .execute(
            "return document.querySelector('#card-hermes .answer').dataset.order;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(order, "18", "the slow specialist did not finish last");
    if let Ok(path) = std::env::var("CADRE_SCREENSHOT") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(path, png).unwrap();
    }

    // Live: a new title, a broken file, a removed file.
    let numa = p.file("numa");
    let text = std::fs::read_to_string(&numa).unwrap();
    let retitled = text
        .lines()
        .map(|l| {
            if l.starts_with("title =") {
                "title = \"Numa the Renamed\"".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&numa, &retitled).unwrap();
    assert!(
        until(
            c,
            "document.querySelector('#card-numa .title-link').textContent === 'Numa the Renamed'",
            Duration::from_secs(5)
        )
        .await,
        "the new title never showed"
    );
    std::fs::write(&numa, format!("{retitled}\nnot toml at all\n")).unwrap();
    assert!(
        until(c, "document.querySelector('#card-numa .state').textContent === 'config_error' && /numa\\.toml:\\d+/.test(document.querySelector('#card-numa .error').textContent)", Duration::from_secs(5)).await,
        "config_error with file:line never showed"
    );
    std::fs::remove_file(p.file("telos")).unwrap();
    assert!(
        until(c, "document.getElementById('card-telos') === null && document.querySelectorAll('.card').length === 17", Duration::from_secs(10)).await,
        "the removed specialist's card stayed"
    );
}
