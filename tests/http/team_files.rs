//! Team files live (DESIGN §12), on the real `cadre up`: an edited member
//! list is what the next run asks, without a restart; a broken team file
//! keeps its last good version, marked `config_error` with file:line in the
//! API and `cadre teams`, and it still runs; `cadre team --team` streams
//! the rounds and the synthesis over the control socket.
//! Port range of this file: 48200-48219 (specialists); HTTP on port 0.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fixture::http::{Web, client, post_sse, up_http};
use crate::fixture::provider::Kind;
use crate::fixture::team::TeamProvider;
use crate::fixture::{Project, cadre};

const TEAM: &str = "title = \"Pair\"\nmembers = [\"penia\", \"telos\"]\nmode = \"broadcast\"\n";

async fn team(web: &Web) -> Value {
    let r = client().get(web.url("/api/teams/t")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Poll the team until `done` holds (the daemon reloads on its own).
async fn wait_team(web: &mut Web, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        web.daemon.assert_running();
        let t = team(web).await;
        if done(&t) {
            return t;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run(web: &Web) -> Vec<Value> {
    let (status, events) = post_sse(&web.url("/api/teams/t"), &json!({"content": "Go?"})).await;
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(events.last().unwrap()["type"], "summary", "{events:?}");
    events
}

fn answered(events: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "response")
        .map(|e| e["specialist"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

async fn up(range: [u16; 2]) -> (TeamProvider, Project, Web) {
    let provider = TeamProvider::start(Kind::Ollama).await;
    let members = ["penia", "telos", "metis", "numa"];
    let p = provider.project(range, &members);
    p.put("teams.d/t.toml", TEAM);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&members).await;
    (provider, p, web)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_members_are_asked_next_and_a_broken_file_keeps_the_last_good() {
    let (provider, p, mut web) = up([48200, 48209]).await;
    assert_eq!(answered(&run(&web).await), ["penia", "telos"]);

    // Edit: metis replaces telos; the next run asks metis, with no restart.
    let pid = web.daemon.pid();
    p.put("teams.d/t.toml", TEAM.replace("\"telos\"", "\"metis\""));
    wait_team(&mut web, "members edited", |t| {
        t["members"] == json!(["penia", "metis"])
    })
    .await;
    assert_eq!(answered(&run(&web).await), ["metis", "penia"]);
    assert_eq!(
        provider.received("telos").len(),
        1,
        "telos is no longer asked"
    );
    assert_eq!(web.daemon.pid(), pid);

    // Broken (an unknown key on line 4): the last good version stays and runs.
    p.put(
        "teams.d/t.toml",
        format!(
            "{}membres = [\"numa\"]\n",
            TEAM.replace("\"telos\"", "\"numa\"")
        ),
    );
    let t = wait_team(&mut web, "config_error", |t| t["state"] == "config_error").await;
    assert_eq!(t["members"], json!(["penia", "metis"]), "{t}");
    let why = t["last_error"].as_str().unwrap();
    assert!(why.contains("teams.d/t.toml:4:"), "{why}");
    assert!(
        why.contains("membres") && why.contains("members"),
        "did-you-mean: {why}"
    );
    assert_eq!(answered(&run(&web).await), ["metis", "penia"]);
    assert!(provider.received("numa").is_empty());

    // `cadre teams` shows the same.
    let out: crate::fixture::Out = cadre(&["teams"])
        .dir(&p.dir)
        .state(&p.state)
        .output()
        .into();
    assert_eq!(out.code, 0, "{out:?}");
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("t "))
        .unwrap_or("");
    assert!(
        row.contains("broadcast") && row.contains("config_error") && row.contains("penia,metis"),
        "{out:?}"
    );
    assert!(out.stdout.contains("teams.d/t.toml:4:"), "{out:?}");
    let out: crate::fixture::Out = cadre(&["teams", "--json"])
        .dir(&p.dir)
        .state(&p.state)
        .output()
        .into();
    let all: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(all[0]["name"], "t");
    assert_eq!(all[0]["state"], "config_error");

    // Fixed: the mark clears and the fixed version runs.
    p.put("teams.d/t.toml", TEAM.replace("\"telos\"", "\"numa\""));
    wait_team(&mut web, "fixed", |t| t["state"] == "ready").await;
    assert_eq!(answered(&run(&web).await), ["numa", "penia"]);

    // Deleted: the team is gone.
    std::fs::remove_file(p.root().join("teams.d/t.toml")).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = client().get(web.url("/api/teams/t")).send().await.unwrap();
        if r.status() == 404 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "team still there");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cadre_team_with_team_streams_rounds_and_the_synthesis() {
    let (_provider, p, _web) = up([48210, 48219]).await;
    p.put(
        "teams.d/c.toml",
        "title = \"C\"\nmembers = [\"penia\", \"telos\"]\nmode = \"discussion\"\nrounds = 2\nmoderator = \"numa\"\n",
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let out = loop {
        let out: crate::fixture::Out = cadre(&["team", "--team", "c", "Go?"])
            .dir(&p.dir)
            .state(&p.state)
            .output()
            .into();
        if !out.all().contains("no team named") || std::time::Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(out.code, 0, "{out:?}");
    let text = &out.stdout;
    for line in [
        "── round 1: penia, telos",
        "penia: penia answers (1)",
        "telos: telos answers (1)",
        "── round 2: penia, telos",
        "penia: penia answers (2)",
        "── synthesis: numa",
        "numa answers (1)",
        "── 2 rounds and a synthesis in",
        "silent: none",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
    let out: crate::fixture::Out = cadre(&["team", "--team", "c", "--json", "Go?"])
        .dir(&p.dir)
        .state(&p.state)
        .output()
        .into();
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.last().unwrap()["type"], "summary");
    assert_eq!(
        events.iter().filter(|e| e["type"] == "synthesis").count(),
        1
    );

    let out: crate::fixture::Out = cadre(&["team", "--team", "nope", "Go?"])
        .dir(&p.dir)
        .state(&p.state)
        .output()
        .into();
    assert_ne!(out.code, 0);
    assert!(out.all().contains("no team named \"nope\""), "{out:?}");
}
