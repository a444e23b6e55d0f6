//! The pages in real headless Chromium driven by fantoccini, against
//! `cadre up` and the loopback Ollama. Outside CI a missing browser skips
//! these tests with an install hint; with `CI=true` they must run.
//! Port range of this file: 47200-47299 (specialists); HTTP on port 0.

use crate::fixture::http;
use crate::fixture::ollama;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::fixture::Project;
use fantoccini::{Client, ClientBuilder, Locator};
use http::up_http;
use hyper_util::client::legacy::connect::HttpConnector;

/// chromedriver and every browser it starts, in a process group of their
/// own: the whole tree ends when this is dropped, after a pass or a panic.
/// On a pass [`Driver::close`] ends the WebDriver session (chromedriver then
/// quits Chromium cleanly); after a panic `drop` ends it by hand. The group
/// is then killed, and its temporary files (profiles, singleton sockets:
/// `TMPDIR` points into `_tmp`) go with it.
pub(crate) struct Driver {
    client: Option<Client>,
    session: Option<String>,
    port: u16,
    /// The group's leader: a shell that kills the group if the test process
    /// dies without dropping this (SIGINT, SIGKILL), see [`GUARD`].
    leader: Child,
    _tmp: tempfile::TempDir,
}

/// Runs chromedriver in the background and, when the test process dies
/// (parent-death signal SIGTERM) or chromedriver exits, kills the group.
const GUARD: &str = r#"trap 'kill -KILL 0' TERM INT HUP; "$@" & wait $!; kill -KILL 0"#;

impl Driver {
    pub(crate) fn client(&self) -> &Client {
        self.client.as_ref().expect("open session")
    }

    /// End the WebDriver session, which quits the browser (checked: no
    /// process of its tree but chromedriver and the guard is left); `drop`
    /// then ends the process group.
    pub(crate) async fn close(mut self) {
        if let Some(c) = self.client.take() {
            c.close().await.expect("end the WebDriver session");
            self.session = None;
        }
        let tmp = self._tmp.path().to_owned();
        let left = until_none(|| browsers_of(&tmp), Duration::from_secs(20)).await;
        assert!(
            left.is_empty(),
            "the browser outlived its session: {left:?}"
        );
    }
}

/// Poll `list` until it is empty or `within` passed; what it last returned.
async fn until_none<T>(list: impl Fn() -> Vec<T>, within: Duration) -> Vec<T> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let left = list();
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Processes started under `tmp` (their `TMPDIR`), other than the guard
/// shell and chromedriver: Chromium and its helpers, as `(pid, comm)`.
fn browsers_of(tmp: &std::path::Path) -> Vec<(u32, String)> {
    tree_of(tmp)
        .into_iter()
        .filter(|(_, comm)| comm != "sh" && comm != "chromedriver")
        .collect()
}

/// Every live process whose environment has `TMPDIR=tmp`, as `(pid, comm)`.
fn tree_of(tmp: &std::path::Path) -> Vec<(u32, String)> {
    let mut marker = b"TMPDIR=".to_vec();
    marker.extend_from_slice(tmp.as_os_str().as_encoded_bytes());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let env = std::fs::read(e.path().join("environ")).ok()?;
            env.split(|b| *b == 0).any(|v| v == marker).then(|| {
                let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
                (pid, comm.trim().to_owned())
            })
        })
        .collect()
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            delete_session(self.port, &id);
        }
        let pgid = rustix::process::Pid::from_child(&self.leader);
        let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        let _ = self.leader.wait();
    }
}

/// `DELETE /session/ID`, blocking (no runtime is left to run fantoccini's
/// own close while a panic unwinds); errors ignored, the kill follows.
fn delete_session(port: u16, id: &str) {
    use std::io::{Read, Write};
    let Ok(mut s) = crate::fixture::tcp(port) else {
        return;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let req = format!(
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_ok() {
        let _ = s.read_to_end(&mut Vec::new());
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
        crate::fixture::say(
            "skipping browser test: install chromium and chromium-driver (scripts/ci-browser.sh)",
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", GUARD, "chromedriver-group", "chromedriver"])
        .arg(format!("--port={port}"))
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    // SAFETY: only an async-signal-safe prctl between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))
                .map_err(std::io::Error::from)
        });
    }
    let leader = cmd.spawn().unwrap();
    // From here on, any panic drops `d` and ends the group.
    let mut d = Driver {
        client: None,
        session: None,
        port,
        leader,
        _tmp: tmp,
    };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"]}),
    );
    let mut connector = HttpConnector::new();
    connector.set_reuse_address(true);
    for _ in 0..100 {
        if let Ok(client) = ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            d.session = client.session_id().await.ok().flatten();
            d.client = Some(client);
            return Some(d);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    let c = d.client();
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
    d.close().await;
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
    let c = d.client();
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
    d.close().await;
}

/// A test that panics with a browser open still ends chromedriver, Chromium
/// and every helper process, and removes their temporary files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_with_a_browser_open_leaves_no_process_behind() {
    let (tx, rx) = std::sync::mpsc::channel();
    let task = tokio::spawn(async move {
        let Some(d) = browser().await else { return };
        d.client().goto("about:blank").await.unwrap();
        let tmp = d._tmp.path().to_owned();
        assert!(
            !browsers_of(&tmp).is_empty(),
            "no browser process found under {tmp:?}"
        );
        tx.send(tmp).unwrap();
        panic!("deliberate panic with a browser open (this test checks the clean-up)");
    });
    let Ok(tmp) = rx.recv() else {
        task.await.unwrap();
        return; // skipped: no browser
    };
    let err = task.await.expect_err("the task panicked");
    assert!(err.is_panic());
    let left = until_none(|| tree_of(&tmp), Duration::from_secs(10)).await;
    assert!(left.is_empty(), "left behind after a panic: {left:?}");
    assert!(!tmp.exists(), "{tmp:?} was not removed");
}
