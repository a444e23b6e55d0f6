//! `cadre up` on the shipped team of 18, on their pinned ports (45000-45099:
//! the only test file that uses them), against a loopback Ollama that takes
//! 500 ms per answer. Its own test binary, run alone.
//!
//! The pinned ports lie in the kernel's ephemeral range (32768-60999), so a
//! client anywhere on the host (another test binary's, a browser's, a
//! daemon's provider connection) may have been given one as its local port
//! and left it in TIME_WAIT for up to 60 s. Nothing is reserved for this
//! test: it says which ports are held and by what, and waits for `up` to get
//! them (see `Project::wait_ready`), as a user's `cadre up` would.

#[path = "fixture/mod.rs"]
pub mod fixture;

use std::time::{Duration, Instant};

use fixture::{Conn, Project, cadre, ollama};
use serde_json::json;

fn shipped_names() -> Vec<String> {
    let dir = fixture::project::repo_root().join("specialists.d");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "toml")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// Say, before `up` starts, which pinned ports are held and by what, so a
/// long wait in `wait_ready` is explained up front.
fn report_held_ports(dir: &std::path::Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        let Some(port) = text
            .lines()
            .find_map(|l| l.strip_prefix("port = "))
            .and_then(|p| p.trim().parse::<u16>().ok())
        else {
            continue;
        };
        if let Err(err) = std::net::TcpListener::bind(("127.0.0.1", port))
            && err.kind() == std::io::ErrorKind::AddrInUse
        {
            let held = cadre::net::held::diagnose([127, 0, 0, 1].into(), port);
            fixture::say(&format!(
                "shipped team: pinned port {port} is held: {held}; `cadre up` will retry until it binds"
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_team_serves_answers_concurrently_and_plans_a_review() {
    let server = ollama::OllamaServer::start(ollama::Behaviour {
        latency: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let p = Project::new([45000, 45099], &server.base_url);
    p.copy_shipped();
    report_held_ports(&p.dir);
    let names = shipped_names();
    assert_eq!(names.len(), 18);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut d = p.up();
    p.wait_ready(&refs, &mut d);

    // All 18 answer ping and info on their ports; status lists model and provider.
    let rows = p.status();
    assert_eq!(rows.len(), 18);
    for row in &rows {
        assert_eq!(row["state"], "ready", "{row}");
        assert_eq!(row["provider"], "local", "{row}");
        assert!(!row["model"].as_str().unwrap().is_empty(), "{row}");
        let port = row["port"].as_u64().unwrap() as u16;
        let mut c = Conn::open(port).unwrap();
        assert_eq!(c.ask(json!({"type": "ping"}))["type"], "pong");
        let info = c.ask(json!({"type": "info"}));
        assert_eq!(info["type"], "info_response");
        assert_eq!(info["port"], port);
        assert_eq!(info["model"], row["model"]);
    }

    // One message to all 18 at once: each answer takes 500 ms at the
    // provider, so one after another would take 9 s.
    let ports: Vec<u16> = rows
        .iter()
        .map(|r| r["port"].as_u64().unwrap() as u16)
        .collect();
    let started = Instant::now();
    let chats: Vec<_> = ports
        .iter()
        .map(|&port| std::thread::spawn(move || Conn::open(port).unwrap().chat("team question")))
        .collect();
    for c in chats {
        let a = c.join().unwrap();
        assert_eq!(a["type"], "response", "{a}");
        assert_eq!(a["content"], ollama::answer_for("team question"));
    }
    let took = started.elapsed();
    eprintln!("18 concurrent chats with 500 ms provider latency took {took:?}");
    assert!(took < Duration::from_secs(2), "not concurrent: {took:?}");

    // The same through `cadre team`, which finds the ready specialists in the registry.
    let started = Instant::now();
    let out = p.cadre(&["team", "team question", "--json"]);
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.last().unwrap(),
        &json!({"type": "summary", "answered": 18, "failed": 0, "timed_out": 0})
    );
    eprintln!("cadre team across 18 with 500 ms provider latency took {took:?}");
    assert!(took < Duration::from_secs(2), "cadre team took {took:?}");

    // Review a checkout: numa's prompt edited, a new file added.
    let review = p.review_copy();
    let rdir = review.path().join("specialists.d");
    let numa = std::fs::read_to_string(rdir.join("numa.toml")).unwrap();
    let edited = numa.replace(
        "You are the user's companion on the platform.",
        "You are the user's edited companion.",
    );
    assert_ne!(numa, edited, "numa.toml no longer has the expected prompt");
    std::fs::write(rdir.join("numa.toml"), edited).unwrap();
    std::fs::write(
        rdir.join("newbie.toml"),
        Project::specialist_toml("newbie", "New here.", None),
    )
    .unwrap();

    let out = cadre(&["plan"]).dir(&rdir).state(&p.state).output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Exactly these two: the other 17 prompts only re-render their team list.
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["reload numa (personality.prompt)", "start newbie"],
        "{stdout}"
    );

    // The running daemon's own dir: no changes, exit 0.
    let out = p.cadre(&["plan"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no changes");

    d.signal("TERM");
    assert_eq!(d.wait(Duration::from_secs(30)), Some(0));
    assert_eq!(p.registry()["specialists"], json!({}));

    // Without a daemon: everything would start.
    let out = p.cadre(&["plan", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["against"], "none");
    assert_eq!(plan["changes"], 18);
}
