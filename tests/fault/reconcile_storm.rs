//! Reconcile storm: specialists.d changes 50 times a second for 10 s (adds,
//! edits, deletes, broken and fixed files) while clients chat. At the end the
//! running team equals the files (status, registry, ports), every reply was a
//! response or a documented error, and no listener is orphaned.
//! Ports 47000-47099 belong to this file.

use crate::fixture;
use crate::fixture::ollama;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fixture::{Project, poll};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const RANGE: [u16; 2] = [47000, 47099];
const DOCUMENTED: &[&str] = &[
    "bad_json",
    "bad_request",
    "unknown_type",
    "too_large",
    "provider_unavailable",
    "provider_error",
    "timeout",
    "shutting_down",
];

/// A reply line must be a response or an error with a documented code.
fn check_reply(v: &Value) -> Result<(), String> {
    match v["type"].as_str() {
        Some("response") => Ok(()),
        Some("error") if DOCUMENTED.contains(&v["code"].as_str().unwrap_or("")) => Ok(()),
        _ => Err(format!("undocumented reply: {v}")),
    }
}

/// Chat on `port` until `stop`; returns (replies, bad replies). Connection
/// failures (a specialist being stopped) are not replies and are retried.
fn chatter(port_of: impl Fn() -> Option<u16>, stop: Arc<AtomicBool>) -> (usize, Vec<String>) {
    let (mut ok, mut bad) = (0, Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let Some(port) = port_of() else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let Ok(s) = crate::fixture::tcp(port) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut r = BufReader::new(s);
        for _ in 0..20 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if r.get_mut()
                .write_all(b"{\"type\":\"chat\",\"content\":\"storm\"}\n")
                .is_err()
            {
                break;
            }
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => match serde_json::from_str::<Value>(&line) {
                    Ok(v) => match check_reply(&v) {
                        Ok(()) => ok += 1,
                        Err(e) => bad.push(e),
                    },
                    Err(e) => bad.push(format!("not JSON ({e}): {line:?}")),
                },
            }
        }
    }
    (ok, bad)
}

fn valid(name: &str, prompt: &str) -> String {
    Project::specialist_toml(name, prompt, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_file_changes_ends_with_the_team_equal_to_the_files() {
    let _turn = crate::ONE_AT_A_TIME.lock().await;
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new(RANGE, &server.base_url);
    for i in 0..3 {
        p.write(&format!("stable-{i}"), "steady", None);
    }
    let mut d = p.up();
    p.wait_ready(&["stable-0", "stable-1", "stable-2"], &mut d);
    let stable_port = p.port_of("stable-0").unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let steady = {
        let stop = stop.clone();
        std::thread::spawn(move || chatter(move || Some(stable_port), stop))
    };
    // A client that follows a churned specialist wherever the registry says it is.
    let churned = {
        let stop = stop.clone();
        let state = p.state.clone();
        std::thread::spawn(move || {
            chatter(
                move || {
                    let text = std::fs::read_to_string(state.join("registry.json")).ok()?;
                    let v: Value = serde_json::from_str(&text).ok()?;
                    v["specialists"]["storm-0"]["port"]
                        .as_u64()
                        .map(|p| p as u16)
                },
                stop,
            )
        })
    };

    // The storm: 50 changes a second for 10 s over ten names plus stable-0's prompt.
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut files: BTreeMap<String, bool> = BTreeMap::new(); // name -> currently valid
    let started = Instant::now();
    let mut ops = 0;
    let mut last_steady = "steady".to_owned();
    while started.elapsed() < Duration::from_secs(10) {
        let name = format!("storm-{}", rng.random_range(0..10));
        let path = p.file(&name);
        match rng.random_range(0..10) {
            0..=3 => {
                std::fs::write(&path, valid(&name, &format!("v{ops}"))).unwrap();
                files.insert(name, true);
            }
            4 | 5 => {
                let _ = std::fs::remove_file(&path);
                files.remove(&name);
            }
            6 | 7 => {
                std::fs::write(&path, "component = \"x\"\ntitle = [unclosed\n").unwrap();
                files.insert(name, false);
            }
            8 => {
                // An unknown key: parses as TOML, fails validation.
                std::fs::write(&path, valid(&name, "typo") + "modle = \"x\"\n").unwrap();
                files.insert(name, false);
            }
            _ => {
                last_steady = format!("steady {ops}");
                p.write("stable-0", &last_steady, None);
            }
        }
        ops += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    // Fix every broken file so the desired state is exactly the files.
    for (name, ok) in files.iter_mut() {
        if !*ok {
            std::fs::write(p.file(name), valid(name, "fixed")).unwrap();
            *ok = true;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (steady_ok, steady_bad) = steady.join().unwrap();
    let (churn_ok, churn_bad) = churned.join().unwrap();
    eprintln!("storm: {ops} changes; steady client {steady_ok} replies, churned client {churn_ok}");
    assert!(steady_bad.is_empty(), "steady client: {steady_bad:#?}");
    assert!(churn_bad.is_empty(), "churned client: {churn_bad:#?}");
    assert!(
        steady_ok > 0,
        "the steady client got no reply during the storm"
    );

    let mut want: BTreeSet<String> = files.keys().cloned().collect();
    want.extend((0..3).map(|i| format!("stable-{i}")));
    let settled = poll(Duration::from_secs(30), || {
        d.assert_running();
        let rows = p.status();
        let names: BTreeSet<String> = rows
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        names == want && rows.iter().all(|r| r["state"] == "ready")
    });
    assert!(
        settled,
        "team != files {want:?}:\n{:#?}\nlog:\n{}",
        p.status(),
        d.log()
    );

    // Registry: exactly the files, ready, distinct ports, each answering.
    let reg = p.registry();
    let entries = reg["specialists"].as_object().unwrap();
    let names: BTreeSet<String> = entries.keys().cloned().collect();
    assert_eq!(names, want, "registry: {reg:#}");
    let ports: BTreeSet<u16> = entries
        .values()
        .map(|e| e["port"].as_u64().unwrap() as u16)
        .collect();
    assert_eq!(ports.len(), want.len(), "ports shared: {reg:#}");
    for port in &ports {
        assert!(
            fixture::pings(*port),
            "registered port {port} does not answer"
        );
    }
    // No orphaned listener: every open port of the range is a registered one.
    for port in RANGE[0]..=RANGE[1] {
        if !ports.contains(&port) {
            assert!(
                fixture::closed(port),
                "port {port} accepts connections but no specialist is registered on it"
            );
        }
    }
    // The last prompt edit of stable-0 is the one in force.
    let mut c = fixture::Conn::open(stable_port).unwrap();
    assert_eq!(c.chat("after")["type"], "response");
    let sys = fixture::last_system_prompt(&server.requests());
    assert!(
        sys.contains(&last_steady),
        "want {last_steady:?} in:\n{sys}"
    );
}
