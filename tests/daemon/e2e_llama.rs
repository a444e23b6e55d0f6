//! End to end against a REAL model server: llama.cpp's OpenAI-compatible
//! server with the tiny model that answers every prompt with `Hello, world!`.
//!
//! Finds the server at `$CADRE_LLAMA_URL` (e.g. `http://127.0.0.1:8765/v1`),
//! else starts one from `.venv-llm` (see `scripts/llm-server.sh`). Without
//! either it skips, unless `CI=true`, where it must run.

use crate::fixture;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::provider::{provider_cfg, run_chat};
use cadre::config::ProviderKind;
use cadre::provider::{self, ChatRequest, Message, Role};

struct Server {
    base: String,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn skip_or_fail(why: &str) -> Option<Server> {
    let msg = format!(
        "e2e_llama: {why}.\nInstall the real model server once (~4 min):  scripts/llm-server.sh install\n\
         then run again, or point CADRE_LLAMA_URL at a running one (scripts/llm-server.sh start)."
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}\n(CI=true: this test must run)");
    }
    crate::fixture::say(&format!("SKIPPED {msg}"));
    None
}

fn server() -> Option<Server> {
    if let Ok(url) = std::env::var("CADRE_LLAMA_URL") {
        return Some(Server {
            base: url.trim_end_matches('/').to_string(),
            child: None,
            _dir: None,
        });
    }
    let py = crate::fixture::project::repo_root().join(".venv-llm/bin/python");
    if !py.exists() {
        return skip_or_fail(&format!(
            "{} not found and CADRE_LLAMA_URL not set",
            py.display()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    let ok = Command::new(&py)
        .arg(crate::fixture::project::repo_root().join("tools/make_tiny_model.py"))
        .arg("-")
        .arg(&model)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return skip_or_fail("could not generate the tiny model (is the venv complete?)");
    }
    let port = crate::fixture::ollama::loopback_listener()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&py)
        .args(["-m", "llama_cpp.server", "--model"])
        .arg(&model)
        .args([
            "--model_alias",
            "tiny",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--n_ctx",
            "2048",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/v1");
    let srv = Server {
        base,
        child: Some(child),
        _dir: Some(dir),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while fixture::tcp(port).is_err() {
        assert!(
            Instant::now() < deadline,
            "llama server did not listen within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(srv)
}

fn request(stream: bool) -> ChatRequest {
    ChatRequest {
        model: "tiny".into(),
        system: "You are a test specialist.".into(),
        messages: vec![Message {
            role: Role::User,
            content: "Say hello.".into(),
        }],
        params: cadre::config::Params {
            max_tokens: Some(32),
            temperature: Some(0.0),
            ..Default::default()
        },
        stream,
        tools: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_llama_server_answers_hello_world() {
    let Some(srv) = server() else { return };
    let mut cfg = provider_cfg(ProviderKind::Openai, srv.base.clone(), None);
    cfg.timeouts.first_token = Duration::from_secs(60);
    cfg.timeouts.total = Duration::from_secs(120);
    let p = provider::build(&cfg);

    // The server may still be loading the model: health tells us when it is reachable.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let h = p.health().await;
        if h.reachable {
            break;
        }
        assert!(Instant::now() < deadline, "provider never reachable: {h:?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The health cache holds a result for a few seconds; rebuild to probe again.
        if !h.reachable {
            let p2 = provider::build(&cfg);
            if p2.health().await.reachable {
                break;
            }
        }
    }

    let streamed = run_chat(&p, request(true)).await;
    assert_eq!(streamed.done().content, "Hello, world!");
    assert_eq!(streamed.text(), "Hello, world!");
    assert!(
        streamed.chunks.len() > 1,
        "streamed in several chunks: {:?}",
        streamed.chunks
    );

    let whole = run_chat(&p, request(false)).await;
    assert_eq!(whole.done().content, "Hello, world!");
    assert_eq!(whole.chunks, vec!["Hello, world!".to_string()]);
    assert!(
        whole.done().usage.is_some_and(|u| u.completion_tokens > 0),
        "{:?}",
        whole.done().usage
    );

    // The same through `cadre up`: a specialist whose provider is `openai` at
    // the real server, chatted with over its socket.
    let project = fixture::Project::new([46900, 46909], "http://unused");
    std::fs::write(
        project.tmp.path().join("cadre.toml"),
        format!(
            "[defaults]\nprovider = \"llama\"\nmodel = \"tiny\"\n\n\
             [defaults.params]\nmax_tokens = 32\ntemperature = 0.0\n\n\
             [providers.llama]\nkind = \"openai\"\nbase_url = \"{}\"\n\n\
             [providers.llama.timeouts]\nfirst_token = \"60s\"\ntotal = \"120s\"\n\n\
             [ports]\nrange = [46900, 46909]\n",
            srv.base
        ),
    )
    .unwrap();
    project.write("hermes", "You are a test specialist.", None);
    let mut daemon = project.up();
    project.wait_ready(&["hermes"], &mut daemon);
    let port = project.port_of("hermes").expect("hermes has a port");
    let mut raw = crate::fixture::Raw::connect(port).await;

    raw.send(b"{\"type\":\"chat\",\"content\":\"Say hello.\",\"stream\":true,\"id\":1}\n")
        .await;
    let mut chunks = String::new();
    let reply = loop {
        let line = raw.recv().await.expect("socket closed mid-chat");
        match line["type"].as_str() {
            Some("chunk") => chunks.push_str(line["content"].as_str().unwrap()),
            _ => break line,
        }
    };
    assert_eq!(reply["type"], "response", "{reply}");
    assert_eq!(reply["content"], "Hello, world!");
    assert_eq!(reply["id"], 1);
    assert_eq!(chunks, "Hello, world!");

    raw.send(b"{\"type\":\"chat\",\"content\":\"Say hello.\",\"id\":2}\n")
        .await;
    let reply = raw.recv().await.unwrap();
    assert_eq!(reply["type"], "response", "{reply}");
    assert_eq!(reply["content"], "Hello, world!");

    raw.send(b"{\"type\":\"health\"}\n").await;
    let health = raw.recv().await.unwrap();
    assert_eq!(health["type"], "health_response", "{health}");
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!(health["provider"]["reachable"], true, "{health}");

    daemon.signal("TERM");
    assert_eq!(
        daemon.wait(Duration::from_secs(30)),
        Some(0),
        "{}",
        daemon.log()
    );
}
