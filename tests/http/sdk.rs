//! A2A and MCP with the official Python SDKs as the clients (tests/sdk/*.py,
//! installed by scripts/ci-sdk.sh into .venv-llm), against the real `cadre up`
//! and a loopback Ollama. Port range of this file: 47400-47449, and
//! 48220-48229 for the council round.

use crate::fixture;
use crate::fixture::http;
use crate::fixture::ollama;

use std::path::PathBuf;
use std::time::Duration;

use crate::fixture::Project;
use http::{Web, up_http};
use serde_json::Value;

/// The venv's python with both SDKs, or `None` (outside CI) with a note.
fn python() -> Option<PathBuf> {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-llm/bin/python");
    let ok = std::process::Command::new(&py)
        .args(["-c", "import a2a.client, mcp"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI=true but the A2A/MCP SDKs are missing: run scripts/ci-sdk.sh"
    );
    eprintln!("skipped: a2a-sdk and mcp are not installed; run scripts/ci-sdk.sh");
    None
}

async fn run_py(py: &PathBuf, script: &str, args: &[&str]) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let child = tokio::process::Command::new(py)
        .arg(path)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), child)
        .await
        .expect("the SDK script hung")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim().lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}"))
}

async fn numa(range: [u16; 2], b: ollama::Behaviour) -> (ollama::OllamaServer, Project, Web) {
    let server = ollama::OllamaServer::start(b).await;
    let p = Project::new(range, &server.base_url);
    p.write("numa", "Numa keeps the memory of the platform.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["numa"]).await;
    (server, p, web)
}

/// The council of the team tests: penia and telos discuss for two rounds, numa sums up.
const COUNCIL: &str = "title = \"Council\"\ndescription = \"Penia and Telos confer; Numa sums up.\"\n\
    members = [\"penia\", \"telos\"]\nmode = \"discussion\"\nrounds = 2\nmoderator = \"numa\"\n";

fn render(p: &Project, name: &str) -> String {
    let out = p.cadre(&["render", name]);
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The provider request whose last message is `text`.
fn request_for(server: &ollama::OllamaServer, text: &str) -> Value {
    server
        .requests()
        .into_iter()
        .find(|r| {
            r["messages"]
                .as_array()
                .and_then(|m| m.last())
                .map(|m| &m["content"])
                == Some(&Value::from(text))
        })
        .unwrap_or_else(|| panic!("the provider never got {text:?}"))
}

fn contents(req: &Value) -> Vec<(String, String)> {
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_sdk_resolves_cards_sends_streams_continues_contexts_and_gets_errors() {
    let Some(py) = python() else { return };
    let (server, p, web) = numa([47400, 47409], ollama::Behaviour::default()).await;
    let out = run_py(&py, "a2a_client.py", &[&web.base, "main"]).await;

    let card = &out["card"];
    assert_eq!(card["name"], "numa");
    let api: Value = web.json("/api/specialists/numa").await;
    assert_eq!(card["version"], api["generation"]);
    assert_eq!(card["supportedInterfaces"][0]["url"], web.url("/a2a/numa"));
    assert_eq!(card["supportedInterfaces"][0]["protocolVersion"], "1.0");
    assert_eq!(card["capabilities"]["streaming"], true);
    assert_eq!(card["defaultInputModes"][0], "text/plain");
    assert_eq!(card["skills"][0]["id"], "numa");
    let roster = &out["root_card"]["capabilities"]["extensions"][0]["params"]["agents"];
    assert_eq!(
        roster[0]["agentCard"],
        web.url("/a2a/numa/.well-known/agent-card.json")
    );

    // SendMessage: the provider's answer, numa's own system prompt.
    assert_eq!(out["send"]["state"], 3, "{out}");
    assert_eq!(out["send"]["answer"], ollama::answer_for("hello numa"));
    let first = contents(&request_for(&server, "hello numa"));
    assert_eq!(first[0], ("system".into(), render(&p, "numa")));
    // The same contextId: the first exchange is the history.
    assert_eq!(out["second"]["context_id"], out["send"]["context_id"]);
    assert_eq!(
        out["second"]["answer"],
        ollama::answer_for("and a second question")
    );
    let second = contents(&request_for(&server, "and a second question"));
    assert_eq!(second[1], ("user".into(), "hello numa".into()));
    assert_eq!(
        second[2],
        ("assistant".into(), ollama::answer_for("hello numa"))
    );
    assert_eq!(out["get"]["state"], 3);
    assert_eq!(out["get"]["answer"], ollama::answer_for("hello numa"));
    let ids: Vec<&Value> = out["list"]["ids"].as_array().unwrap().iter().collect();
    assert!(ids.contains(&&out["send"]["task_id"]), "{out}");
    assert_eq!(out["list"]["total"], 2);

    // Streaming: a Task first, chunks that concatenate to the answer, completed last.
    let s = &out["stream"];
    assert_eq!(s["kinds"][0], "task", "{s}");
    let chunks: Vec<&str> = s["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(chunks.len() > 2, "{s}");
    assert_eq!(chunks.concat(), ollama::answer_for("stream three words"));
    assert_eq!(s["final_answer"], ollama::answer_for("stream three words"));
    assert_eq!(s["states"].as_array().unwrap().last().unwrap(), 3);

    assert_eq!(out["unknown_task"], "TaskNotFoundError");
    assert_eq!(out["bad_version"], "VersionNotSupportedError");
    assert_eq!(out["v03"]["state"], 3);
    assert_eq!(out["v03"]["answer"], ollama::answer_for("hello from 0.3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_sdk_cancel_closes_the_provider_request_and_a_failure_is_a_failed_task() {
    let Some(py) = python() else { return };
    let slow = ollama::Behaviour {
        latency: Duration::from_secs(30),
        ..Default::default()
    };
    let (server, _p, web) = numa([47410, 47419], slow).await;
    let out = run_py(&py, "a2a_client.py", &[&web.base, "cancel"]).await;
    assert!(
        [1, 2].contains(&out["immediate_state"].as_i64().unwrap()),
        "{out}"
    );
    assert_eq!(out["canceled_state"], 5);
    assert_eq!(out["after_state"], 5);
    assert_eq!(out["cancel_again"], "TaskNotCancelableError");
    // SubscribeToTask: the task first, then the cancel ends the stream.
    let seen = out["subscribed"].as_array().unwrap();
    assert_eq!(seen[0][0], "task", "{out}");
    assert_eq!(seen.last().unwrap()[1], 5, "{out}");
    let closed = fixture::poll(Duration::from_secs(20), || server.cut_short() >= 1);
    assert!(closed, "the provider never saw its connection close");

    server.set_behaviour(ollama::Behaviour {
        fail_status: Some(400),
        ..Default::default()
    });
    let out = run_py(&py, "a2a_client.py", &[&web.base, "failure"]).await;
    assert_eq!(out["state"], 4, "{out}");
    assert_eq!(out["answer"], "");
    let code = out["message"]["metadata"]["cadre"]["code"]
        .as_str()
        .unwrap_or("");
    assert!(code.starts_with("provider_"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_sdk_over_streamable_http_and_over_cadre_mcp_stdio() {
    let Some(py) = python() else { return };
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([47420, 47429], &server.base_url);
    p.write("numa", "Numa keeps the memory of the platform.", None);
    p.write("penia", "Penia counts the cost.", None);
    p.write("telos", "Telos keeps the goal.", None);
    p.put("teams.d/council.toml", COUNCIL);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["numa", "penia", "telos"]).await;
    let http = run_py(&py, "mcp_client.py", &["http", &web.url("/mcp")]).await;
    let dir = p.dir.to_string_lossy().into_owned();
    let state = p.state.to_string_lossy().into_owned();
    let stdio = run_py(
        &py,
        "mcp_client.py",
        &["stdio", fixture::BIN, "--dir", &dir, "--state-dir", &state],
    )
    .await;
    let prompt = render(&p, "numa");
    for out in [&http, &stdio] {
        assert_eq!(out["protocol_version"], "2025-11-25", "{out}");
        let tools = &out["tools"];
        assert_eq!(tools["ask"]["input"]["required"][0], "specialist", "{out}");
        assert!(tools["ask"]["output"]["properties"]["answer"].is_object());
        assert!(tools["list_specialists"].is_object());
        assert_eq!(tools["ask_team"]["output"]["required"][0], "team", "{out}");
        let ask = &out["ask"];
        assert_eq!(ask["is_error"], false, "{out}");
        assert_eq!(ask["text"], ollama::answer_for("hello over mcp"));
        assert_eq!(
            ask["structured"]["answer"],
            ollama::answer_for("hello over mcp")
        );
        assert_eq!(ask["structured"]["specialist"], "numa");
        let progress: String = ask["progress"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap_or(""))
            .collect();
        assert_eq!(progress, ollama::answer_for("hello over mcp"), "{out}");
        assert_eq!(out["ask_plain"]["text"], ollama::answer_for("no progress"));
        assert_eq!(out["unknown"]["is_error"], true);
        assert!(
            out["unknown"]["text"]
                .as_str()
                .unwrap()
                .contains("list_specialists")
        );
        assert_eq!(out["wrong_args"]["is_error"], true);
        assert_eq!(out["list"]["structured"]["specialists"][0]["name"], "numa");
        let resources: Vec<&str> = out["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert!(
            resources.contains(&"cadre://roster")
                && resources.contains(&"cadre://specialists/numa/prompt")
        );
        assert_eq!(out["prompt"], prompt.as_str());
        assert_eq!(out["roster"][0]["name"], "numa");
        let council = out["roster"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "team")
            .unwrap_or_else(|| panic!("no team in the roster: {out}"));
        assert_eq!(council["name"], "council");
        assert_eq!(council["members"], serde_json::json!(["penia", "telos"]));

        // ask_team: the council confers, numa's synthesis is the answer; progress per round and answer.
        let team = &out["ask_team"];
        assert_eq!(team["is_error"], false, "{out}");
        assert!(tools["ask_team"]["input"]["required"][0] == "team", "{out}");
        let answer = team["structured"]["answer"].as_str().unwrap();
        assert!(
            answer.starts_with("echo: You are numa (numa title), the moderator of Council."),
            "{answer}"
        );
        assert!(
            answer.contains("## penia") && answer.contains("## telos"),
            "{answer}"
        );
        assert_eq!(team["structured"]["team"], "council");
        assert_eq!(team["structured"]["model"], "team/council");
        assert_eq!(team["text"], answer);
        let progress: Vec<&str> = team["progress"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap_or(""))
            .collect();
        for line in [
            "round 1: penia, telos",
            "penia answered in round 1",
            "telos answered in round 2",
            "synthesis: numa writes the answer",
        ] {
            assert!(progress.contains(&line), "{line:?} not in {progress:?}");
        }
        assert_eq!(out["unknown_team"]["is_error"], true);
        assert!(
            out["unknown_team"]["text"]
                .as_str()
                .unwrap()
                .contains("no team named \"nobody\""),
            "{out}"
        );
    }
    let asked = contents(&request_for(&server, "hello over mcp"));
    assert_eq!(asked[0].1, prompt);
    assert_eq!(asked[1], ("user".into(), "earlier".into()));
    assert_eq!(asked[2], ("assistant".into(), "reply".into()));
}

/// A council round through the official A2A SDK: the team's card (at
/// `/a2a/team/council`), the root card listing the team first, a message
/// answered with numa's synthesis of both members' round-2 answers, and a
/// streamed one whose artifact chunks make the synthesis while status
/// messages report the rounds.
/// Ports 48220-48229 (specialists); HTTP on port 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_sdk_runs_a_council_round() {
    use crate::fixture::team::{Act, TeamProvider};
    let Some(py) = python() else { return };
    let provider = TeamProvider::start(crate::fixture::provider::Kind::Ollama).await;
    let members = ["numa", "penia", "telos"];
    let p = provider.project([48220, 48229], &members);
    p.put("teams.d/council.toml", COUNCIL);
    provider.script(
        "numa",
        vec![Act::Say("The council says: ship the budget view.".into())],
    );
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&members).await;
    let out = run_py(&py, "a2a_client.py", &[&web.base, "team"]).await;

    let card = &out["card"];
    assert_eq!(card["name"], "council", "{out}");
    assert_eq!(card["description"], "Penia and Telos confer; Numa sums up.");
    assert_eq!(
        card["supportedInterfaces"][0]["url"],
        web.url("/a2a/team/council")
    );
    assert_eq!(card["capabilities"]["streaming"], true);
    let tags = &card["skills"][0]["tags"];
    assert_eq!(tags, &serde_json::json!(["penia", "telos"]), "{out}");
    let root = &out["root_card"];
    assert_eq!(
        root["supportedInterfaces"][0]["url"],
        web.url("/a2a/team/council"),
        "the team is the root card's first interface"
    );
    let roster = root["capabilities"]["extensions"][0]["params"]["agents"]
        .as_array()
        .unwrap();
    assert_eq!(roster[0]["kind"], "team");
    assert_eq!(
        roster[0]["agentCard"],
        web.url("/a2a/team/council/.well-known/agent-card.json")
    );
    let names: Vec<&str> = roster.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["council", "numa", "penia", "telos"]);
    assert!(
        root["description"]
            .as_str()
            .unwrap()
            .contains("Teams that confer: council.")
    );

    assert_eq!(out["send"]["state"], 3, "{out}");
    assert_eq!(
        out["send"]["answer"],
        "The council says: ship the budget view."
    );
    let moderator = provider.asked("numa");
    assert!(
        moderator[0].contains("penia answers (2)") && moderator[0].contains("telos answers (2)"),
        "{}",
        moderator[0]
    );
    let s = &out["stream"];
    let chunks: String = s["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(chunks, "The council says: ship the budget view.", "{s}");
    assert_eq!(s["final_answer"], "The council says: ship the budget view.");
    assert_eq!(s["states"].as_array().unwrap().last().unwrap(), 3, "{s}");
    let progress: Vec<&str> = s["progress"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    for line in [
        "round 1: penia, telos",
        "round 2: penia, telos",
        "penia answered in round 2",
    ] {
        assert!(progress.contains(&line), "{line:?} not in {progress:?}");
    }
    assert_ne!(out["unknown_team"], "no error", "{out}");
}
