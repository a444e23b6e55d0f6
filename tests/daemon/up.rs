//! `cadre up` end to end: the real binary, a temporary specialists.d, real
//! sockets, a loopback Ollama. Port range of this file: 46100-46199.

use crate::fixture;
use crate::fixture::ollama;

use std::time::Duration;

use fixture::{Conn, Project, closed, pings, poll};
use serde_json::json;

const WITHIN: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_adds_removes_and_moves_specialists_then_exits_cleanly() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46100, 46149], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    p.write("beta", "Beta speaks.", None);
    let mut d = p.up();
    p.wait_ready(&["alpha", "beta"], &mut d);

    // Every specialist answers ping and info; status lists model and provider.
    for row in p.status() {
        let port = row["port"].as_u64().unwrap() as u16;
        assert!((46100..=46149).contains(&port), "{row}");
        assert_eq!(row["model"], "test-model");
        assert_eq!(row["provider"], "local");
        assert_eq!(row["pid"], d.pid());
        let mut c = Conn::open(port).unwrap();
        assert_eq!(c.ask(json!({"type": "ping"}))["type"], "pong");
        let info = c.ask(json!({"type": "info"}));
        assert_eq!(info["type"], "info_response", "{info}");
        assert_eq!(info["component"], row["name"]);
        assert_eq!(info["port"], port);
        let answer = c.chat("hello");
        assert_eq!(answer["type"], "response", "{answer}");
        assert_eq!(answer["content"], ollama::answer_for("hello"));
    }

    // Add a file: it answers.
    p.write("gamma", "Gamma speaks.", None);
    assert!(
        poll(WITHIN, || p.port_of("gamma").is_some_and(pings)),
        "gamma never answered:\n{}",
        d.log()
    );
    // The others' prompts now name their new colleague (a silent refresh).
    let alpha = p.port_of("alpha").unwrap();
    assert!(
        poll(WITHIN, || {
            Conn::open(alpha).unwrap().chat("who is on the team?")["type"] == "response"
                && fixture::last_system_prompt(&server.requests()).contains("gamma")
        }),
        "alpha's prompt never listed gamma"
    );
    assert!(
        !d.log().contains("reload alpha"),
        "a team change was reported as a reload"
    );

    // Delete a file: port closed, entry gone.
    let beta = p.port_of("beta").unwrap();
    std::fs::remove_file(p.file("beta")).unwrap();
    assert!(
        poll(WITHIN, || closed(beta) && p.status_of("beta").is_none()),
        "beta still there:\n{}",
        d.log()
    );

    // Change a port: the new one answers, the old one is closed.
    let old = p.port_of("alpha").unwrap();
    let new = 46148;
    assert_ne!(old, new);
    p.write("alpha", "Alpha speaks.", Some(new));
    assert!(
        poll(WITHIN, || pings(new)
            && closed(old)
            && p.port_of("alpha") == Some(new)),
        "alpha did not move from {old} to {new}:\n{}",
        d.log()
    );

    // One log line per start/stop/restart, with its reason.
    let log = d.log();
    assert!(log.contains("start gamma"), "{log}");
    assert!(
        log.contains("stop beta") && log.contains("file deleted"),
        "{log}"
    );
    assert!(log.contains("restart alpha"), "{log}");

    // A second `up` on the same specialists.d is refused, clearly.
    let second = p.cadre(&["up", "--no-http"]);
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another cadre daemon") && err.contains(&d.pid().to_string()),
        "{err}"
    );

    // ... and so is one with another state dir.
    let other_state = p.tmp.path().join("other-state");
    let third = std::process::Command::new(fixture::BIN)
        .arg("--dir")
        .arg(&p.dir)
        .arg("--state-dir")
        .arg(&other_state)
        .args(["up", "--no-http"])
        .output()
        .unwrap();
    assert_eq!(third.status.code(), Some(1));
    let err = String::from_utf8_lossy(&third.stderr);
    assert!(
        err.contains("another cadre daemon") && err.contains(&d.pid().to_string()),
        "{err}"
    );

    // SIGTERM: exit 0, nothing of ours left in the registry.
    let ports: Vec<u16> = p
        .status()
        .iter()
        .map(|r| r["port"].as_u64().unwrap() as u16)
        .collect();
    d.signal("TERM");
    assert_eq!(d.wait(Duration::from_secs(20)), Some(0));
    let reg = p.registry();
    assert_eq!(reg["specialists"], json!({}), "{reg}");
    for port in ports {
        assert!(closed(port), "port {port} still open");
    }
    assert!(p.status().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_chat_in_flight_finish() {
    let server = ollama::OllamaServer::start(ollama::Behaviour {
        latency: Duration::from_millis(1500),
        ..Default::default()
    })
    .await;
    let p = Project::new([46150, 46169], &server.base_url);
    p.write("slow", "Slow speaks.", None);
    let mut d = p.up();
    p.wait_ready(&["slow"], &mut d);
    let port = p.port_of("slow").unwrap();

    let chat = std::thread::spawn(move || Conn::open(port).unwrap().chat("take your time"));
    assert!(
        poll(WITHIN, || !server.requests().is_empty()),
        "chat never reached the provider"
    );
    d.signal("TERM");
    let answer = chat.join().unwrap();
    assert_eq!(answer["type"], "response", "{answer}");
    assert_eq!(answer["content"], ollama::answer_for("take your time"));
    assert_eq!(d.wait(Duration::from_secs(20)), Some(0));
    assert_eq!(p.registry()["specialists"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_a_new_up_reclaims_stale_entries_and_ports() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46170, 46189], &server.base_url);
    p.write("pinned", "Pinned speaks.", Some(46175));
    p.write("free", "Free speaks.", None);
    let mut d = p.up();
    p.wait_ready(&["pinned", "free"], &mut d);
    let before: Vec<(String, u64)> = p
        .status()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["port"].as_u64().unwrap(),
            )
        })
        .collect();
    let old_pid = d.pid();
    d.signal("KILL");
    let _ = d.wait(Duration::from_secs(10));

    // The stale owner is never shown ready.
    let rows = p.status();
    assert!(rows.iter().all(|r| r["state"] != "ready"), "{rows:#?}");

    let mut d2 = p.up();
    p.wait_ready(&["pinned", "free"], &mut d2);
    for (name, port) in before {
        let row = p.status_of(&name).unwrap();
        assert_eq!(row["port"].as_u64(), Some(port), "{name} moved: {row}");
        assert_ne!(row["pid"].as_u64(), Some(u64::from(old_pid)));
        assert!(pings(port as u16));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_stop_and_start_through_the_control_socket() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46190, 46199], &server.base_url);
    p.write("one", "One speaks.", None);
    p.write("two", "Two speaks.", None);
    let mut d = p.up_with(&["--log-format", "json"]);
    p.wait_ready(&["one", "two"], &mut d);
    let port = p.port_of("one").unwrap();

    let out = p.cadre(&["stop", "one"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(poll(WITHIN, || closed(port) && p.is_in("one", "stopped")));
    assert!(pings(p.port_of("two").unwrap()), "two was affected");

    // Stays stopped across reconciles.
    p.write("two", "Two speaks again.", None);
    assert!(
        poll(WITHIN, || d.log().contains("reload two")),
        "{}",
        d.log()
    );
    assert!(closed(port));
    assert_eq!(p.status_of("one").unwrap()["state"], "stopped");
    let out = p.cadre(&["start", "one"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        poll(WITHIN, || p.is_in("one", "ready")),
        "{:#?}",
        p.status()
    );

    let out = p.cadre(&["stop", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));

    let out = p.cadre(&["stop", "--all"]);
    assert!(out.status.success());
    assert_eq!(d.wait(Duration::from_secs(20)), Some(0));
    // --log-format json: every log line is a JSON object; starts and stops carry their reason.
    let log = d.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["event"] == "stopped" && l["fields"]["specialist"] == "one"),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["event"] == "start" && l["fields"]["reason"] == "operator start"),
        "{log}"
    );
    assert_eq!(p.registry()["specialists"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_fails_is_retried_with_backoff_without_touching_the_others() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46300, 46319], &server.base_url);
    // A foreign program holds the pinned port.
    let squatter = std::net::TcpListener::bind("127.0.0.1:46305").unwrap();
    p.write("fine", "Fine.", None);
    p.write("blocked", "Blocked.", Some(46305));
    let mut d = p.up();
    assert!(
        poll(WITHIN, || {
            d.assert_running();
            p.is_in("fine", "ready") && p.is_in("blocked", "failed")
        }),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    // The holder is named: this test process listens there.
    let err = p.status_of("blocked").unwrap()["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    let want = format!(
        "pinned port 46305 on 127.0.0.1 cannot be bound: Address already in use (os error 98): \
         another program listens on 127.0.0.1:46305: pid {} ({})",
        std::process::id(),
        comm.trim()
    );
    assert!(err.starts_with(&want), "{err}\nwant: {want}");
    // Retried (1 s, then 2 s, …) while the port stays taken.
    assert!(
        poll(WITHIN, || d.log().matches("failed blocked").count() >= 2),
        "{}",
        d.log()
    );

    // A failed specialist whose file is deleted is forgotten.
    std::fs::remove_file(p.file("blocked")).unwrap();
    assert!(
        poll(WITHIN, || p.status_of("blocked").is_none()),
        "{:#?}",
        p.status()
    );
    p.write("blocked", "Blocked.", Some(46305));
    assert!(poll(WITHIN, || p.is_in("blocked", "failed")));

    drop(squatter);
    assert!(
        poll(Duration::from_secs(20), || pings(46305)
            && p.is_in("blocked", "ready")),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    assert!(d.log().contains("retry"), "{}", d.log());
    assert!(pings(p.port_of("fine").unwrap()));
}
