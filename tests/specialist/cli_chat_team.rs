//! `cadre chat` and `cadre team` as users run them: the real binary, a real
//! registry in a temp state dir, real specialists on real sockets.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use crate::fixture::ollama::{Behaviour, OllamaServer, answer_for};
use crate::fixture::specialist::{limits, spec, start};
use cadre::registry::{Entry, Registry, State, StateDir};
use cadre::specialist::SpecialistHandle;
use serde_json::Value;

fn register(state: &std::path::Path, handles: &[(&str, &SpecialistHandle, State)]) {
    let reg = Registry::open(StateDir::resolve(Some(state)).unwrap()).unwrap();
    reg.transact::<_, cadre::registry::RegistryError>(|txn| {
        for (name, h, st) in handles {
            let e = Entry {
                name: name.parse().unwrap(),
                component: (*name).into(),
                host: "127.0.0.1".into(),
                port: h.local_addr().port(),
                pid: txn.me.pid,
                pid_start: txn.me.start,
                owner: PathBuf::from("/tmp/specialists.d"),
                model: "test-model".into(),
                provider: "ollama".into(),
                title: String::new(),
                role: String::new(),
                description: String::new(),
                state: *st,
                generation: "g".into(),
                last_error: None,
                revision: None,
                started_at: txn.now.clone(),
                updated_at: txn.now.clone(),
            };
            txn.data.specialists.insert(e.name.clone(), e);
        }
        Ok(())
    })
    .unwrap();
}

async fn cadre(state: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let run = crate::fixture::cadre(args).state(state).stdin(stdin);
    tokio::task::spawn_blocking(move || run.output())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_one_shot_and_interactive_with_history() {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let numa = start(spec("numa", &ollama.base_url, "You are Numa."), limits());
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    register(&state, &[("numa", &numa, State::Ready)]);

    let out = cadre(&state, &["chat", "numa", "how are you"], "").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}\n", answer_for("how are you"))
    );
    assert_eq!(ollama.requests()[0]["stream"], true);

    let out = cadre(&state, &["chat", "numa", "q", "--json"], "").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["content"], answer_for("q"));
    assert_eq!(v["specialist"], "numa");

    let out = cadre(&state, &["chat", "numa"], "first\nsecond\n").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}\n{}\n", answer_for("first"), answer_for("second"))
    );
    let sent = ollama.requests();
    let last = &sent[sent.len() - 1]["messages"];
    assert_eq!(last[1]["content"], "first");
    assert_eq!(last[2]["content"], answer_for("first"));
    assert_eq!(last[3]["content"], "second");

    let out = cadre(&state, &["chat", "ghost", "hi"], "").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no specialist named `ghost` is registered"),
        "{}",
        text(&out.stderr)
    );
    numa.drain(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_answers_each_as_it_arrives_with_a_summary() {
    let fast = OllamaServer::start(Behaviour::default()).await;
    let slow = OllamaServer::start(Behaviour {
        latency: Duration::from_secs(30),
        ..Behaviour::default()
    })
    .await;
    let broken = OllamaServer::start(Behaviour {
        fail_status: Some(500),
        ..Behaviour::default()
    })
    .await;
    let a = start(spec("apollo", &fast.base_url, "p"), limits());
    let b = start(spec("numa", &fast.base_url, "p"), limits());
    let s = start(spec("sloth", &slow.base_url, "p"), limits());
    let x = start(spec("broken", &broken.base_url, "p"), limits());
    let d = start(spec("draining", &fast.base_url, "p"), limits());
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    register(
        &state,
        &[
            ("apollo", &a, State::Ready),
            ("numa", &b, State::Ready),
            ("sloth", &s, State::Ready),
            ("broken", &x, State::Ready),
            ("draining", &d, State::Draining),
        ],
    );

    let started = std::time::Instant::now();
    let out = cadre(
        &state,
        &["team", "hello team", "--timeout", "4", "--json"],
        "",
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(
        lines[3]["specialist"], "sloth",
        "the slow one comes last: {lines:?}"
    );
    assert_eq!(lines[3]["status"], "timed_out");
    let by = |n: &str| lines.iter().find(|l| l["specialist"] == n).unwrap().clone();
    assert_eq!(by("apollo")["content"], answer_for("hello team"));
    assert_eq!(by("numa")["status"], "answered");
    assert_eq!(by("broken")["status"], "failed");
    assert_eq!(by("broken")["code"], "provider_error");
    assert!(lines.iter().all(|l| l["specialist"] != "draining"));
    assert_eq!(
        lines[4],
        serde_json::json!({"type":"summary","answered":2,"failed":1,"timed_out":1})
    );

    let out = cadre(&state, &["team", "hi", "--only", "apollo,ghost"], "").await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("apollo: {}", answer_for("hi"))),
        "{stdout}"
    );
    assert!(stdout.contains("ghost: failed: not registered"), "{stdout}");
    assert!(
        stdout.ends_with("answered 1, failed 1, timed out 0\n"),
        "{stdout}"
    );

    let out = cadre(&state, &["team", "hi", "--only", "numa"], "").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for h in [a, b, s, x, d] {
        h.drain(Duration::from_millis(200)).await;
    }
}

/// A specialist serving its last good spec through a broken file is not
/// asked; `--only` naming it says why, with the state spelt as everywhere
/// else (`config_error`, not `configerror`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_names_a_skipped_state_with_its_one_spelling() {
    let ollama = OllamaServer::start(Behaviour::default()).await;
    let numa = start(spec("numa", &ollama.base_url, "p"), limits());
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    register(&state, &[("numa", &numa, State::ConfigError)]);
    let out = cadre(&state, &["team", "hi", "--only", "numa"], "").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "numa: failed: not ready (state config_error)
answered 0, failed 1, timed out 0
"
    );
    let out = cadre(&state, &["team", "hi", "--only", "numa", "--json"], "").await;
    let first: Value = serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["error"], "not ready (state config_error)");
    numa.drain(Duration::from_secs(1)).await;
}
