//! Many daemons on one state directory (DESIGN §13): each its own
//! specialists.d and control socket, one registry. Port range of this file:
//! 48000-48099 and 48120-48129 (allocated by the registry, never pinned).

use crate::fixture;
use crate::fixture::ollama;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use fixture::{Daemon, Project, closed, pings, poll};
use serde_json::Value;

const RANGE: [u16; 2] = [48000, 48099];
const WITHIN: Duration = Duration::from_secs(60);

/// `n` projects sharing the state directory of the first.
fn projects(n: usize, base_url: &str) -> Vec<Project> {
    let first = Project::new(RANGE, base_url);
    let state = first.state.clone();
    let mut all = vec![first];
    for _ in 1..n {
        let mut p = Project::new(RANGE, base_url);
        p.state = state.clone();
        all.push(p);
    }
    all
}

fn canonical(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn logs(daemons: &[Daemon]) -> String {
    daemons
        .iter()
        .map(|d| format!("--- pid {}\n{}", d.pid(), d.log()))
        .collect()
}

/// Every row ready and answering, `n` of them.
fn all_ready(rows: &[Value], n: usize) -> bool {
    rows.len() == n && rows.iter().all(|r| r["state"] == "ready")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_daemons_share_one_registry_and_each_stop_reaches_the_right_one() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let ps = projects(8, &server.base_url);
    for (i, p) in ps.iter().enumerate() {
        for j in 0..5 {
            p.write(&format!("s{i}-{j}"), "Speaks.", None);
        }
    }
    // All at the same instant.
    let mut ds: Vec<Daemon> = ps.iter().map(|p| p.up()).collect();
    let started = Instant::now();
    let mut rows = Vec::new();
    let ok = poll(WITHIN, || {
        for d in ds.iter_mut() {
            d.assert_running();
        }
        rows = ps[0].status();
        all_ready(&rows, 40)
    });
    assert!(
        ok,
        "not 40 ready after {:?}: {rows:#?}\n{}",
        started.elapsed(),
        logs(&ds)
    );

    // 40 distinct ports, each answering; each row names its daemon's directory.
    let ports: BTreeSet<u64> = rows.iter().map(|r| r["port"].as_u64().unwrap()).collect();
    assert_eq!(ports.len(), 40, "{rows:#?}");
    for (i, p) in ps.iter().enumerate() {
        let dir = canonical(&p.dir);
        for j in 0..5 {
            let name = format!("s{i}-{j}");
            let row = rows.iter().find(|r| r["name"] == name).unwrap();
            assert_eq!(row["owner"], dir.as_str(), "{row}");
            assert_eq!(row["pid"], ds[i].pid(), "{row}");
            assert!(pings(row["port"].as_u64().unwrap() as u16), "{row}");
        }
    }
    // The table has an OWNER column (and HOST).
    let table = ps[5].run(&["status"]);
    let header = table.stdout.lines().next().unwrap_or_default().to_owned();
    assert!(
        header.contains("OWNER") && header.contains("HOST"),
        "{header}"
    );
    assert_eq!(table.stdout.lines().count(), 41, "{}", table.stdout);

    // `stop s3-2` from another daemon's directory reaches daemon 3.
    let port = rows.iter().find(|r| r["name"] == "s3-2").unwrap()["port"]
        .as_u64()
        .unwrap() as u16;
    ps[0].run(&["stop", "s3-2"]).status(0);
    assert!(
        poll(WITHIN, || closed(port) && ps[0].is_in("s3-2", "stopped")),
        "s3-2 not stopped: {:#?}\n{}",
        ps[0].status_of("s3-2"),
        ds[3].log()
    );
    let rows = ps[0].status();
    assert_eq!(
        rows.iter().filter(|r| r["state"] == "ready").count(),
        39,
        "{rows:#?}"
    );

    // SIGTERM to each: the registry is left empty.
    for d in &ds {
        d.signal("TERM");
    }
    for d in ds.iter_mut() {
        assert_eq!(d.wait(WITHIN), Some(0), "{}", d.log());
    }
    let reg = ps[0].registry();
    assert_eq!(reg["specialists"], serde_json::json!({}), "{reg:#}");
    assert!(
        reg["daemons"].as_object().is_none_or(|d| d.is_empty()),
        "{reg:#}"
    );
    assert!(ps[0].status().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_two_daemons_declare_is_held_by_one_and_taken_over_when_it_leaves() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let ps = projects(2, &server.base_url);
    ps[0].write("shared", "First speaks.", None);
    ps[1].write("shared", "Second speaks.", None);
    ps[1].write("own", "Own speaks.", None);
    let mut first = ps[0].up();
    ps[0].wait_ready(&["shared"], &mut first);
    let mut second = ps[1].up();
    let holder = format!(
        "name held by daemon {} ({})",
        first.pid(),
        canonical(&ps[0].dir)
    );

    // The second serves its own, and reports the held one naming the holder.
    let mut row = None;
    let ok = poll(WITHIN, || {
        second.assert_running();
        let rows = ps[1].status();
        row = rows.iter().find(|r| r["name"] == "shared").cloned();
        let own_ready = rows
            .iter()
            .any(|r| r["name"] == "own" && r["state"] == "ready");
        let waiting = row.as_ref().is_some_and(|r| {
            r["endpoints"].as_array().is_some_and(|eps| {
                eps.iter().any(|e| {
                    e["state"] == "config_error"
                        && e["pid"] == second.pid()
                        && e["last_error"].as_str() == Some(holder.as_str())
                })
            })
        });
        own_ready && waiting
    });
    assert!(ok, "{row:#?}\n{}", second.log());
    // One serves it: the first's entry, answering.
    let row = row.unwrap();
    assert_eq!(row["pid"], first.pid(), "{row:#}");
    assert_eq!(row["state"], "ready", "{row:#}");
    let port = row["port"].as_u64().unwrap() as u16;
    assert!(pings(port));

    // The holder leaves: the second takes it over within a second.
    first.signal("TERM");
    assert_eq!(first.wait(WITHIN), Some(0), "{}", first.log());
    let left = Instant::now();
    let taken = poll(Duration::from_secs(10), || {
        ps[1].status_of("shared").is_some_and(|r| {
            r["pid"] == second.pid()
                && r["state"] == "ready"
                && r["port"].as_u64().is_some_and(|p| pings(p as u16))
        })
    });
    let took = left.elapsed();
    assert!(taken, "{:#?}\n{}", ps[1].status_of("shared"), second.log());
    fixture::say(&format!("takeover after the holder's exit: {took:?}"));
    // The acceptance bound is a second; room for a `status` run per poll on a loaded machine.
    assert!(
        took < Duration::from_secs(5),
        "takeover took {took:?}\n{}",
        second.log()
    );
    second.signal("TERM");
    assert_eq!(second.wait(WITHIN), Some(0), "{}", second.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advertised_address_is_the_one_recorded_and_answering() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([48120, 48129], &server.base_url);
    let path = p.root().join("cadre.toml");
    let toml = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{toml}\n[listen]\nhost = \"0.0.0.0\"\n")).unwrap();
    p.write("alpha", "Alpha speaks.", None);

    // --advertise: the entries name it, and a client reaches them there.
    let mut d = p.up_with(&["--advertise", "127.0.0.5"]);
    p.wait_ready(&["alpha"], &mut d);
    let row = p.status_of("alpha").unwrap();
    assert_eq!(row["host"], "127.0.0.5", "{row:#}");
    let port = row["port"].as_u64().unwrap() as u16;
    let mut c = std::net::TcpStream::connect(("127.0.0.5", port)).unwrap();
    use std::io::{BufRead, Write};
    c.write_all(b"{\"type\":\"ping\"}\n").unwrap();
    let mut line = String::new();
    std::io::BufReader::new(c).read_line(&mut line).unwrap();
    assert!(line.contains("pong"), "{line}");
    d.signal("TERM");
    assert_eq!(d.wait(WITHIN), Some(0), "{}", d.log());

    // CADRE_ADVERTISE does the same.
    let log = p.root().join("env.log");
    let child = fixture::cadre(&["up", "--no-http"])
        .dir(&p.dir)
        .state(&p.state)
        .env("CADRE_ADVERTISE", "127.0.0.6")
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut d = Daemon {
        child: Some(child),
        log,
    };
    p.wait_ready(&["alpha"], &mut d);
    assert_eq!(p.status_of("alpha").unwrap()["host"], "127.0.0.6");
    d.signal("TERM");
    assert_eq!(d.wait(WITHIN), Some(0), "{}", d.log());

    // Something no client can connect to is refused, saying what it must be.
    let out = p.run(&["up", "--no-http", "--advertise", "127.0.0.5:9000"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.all().contains("not an IP address or host name"),
        "{}",
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_all_reaches_every_daemon_and_owner_only_one() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let ps = projects(3, &server.base_url);
    for (i, p) in ps.iter().enumerate() {
        p.write(&format!("t{i}"), "Speaks.", None);
    }
    let mut ds: Vec<Daemon> = ps.iter().map(|p| p.up()).collect();
    let mut rows = Vec::new();
    let ok = poll(WITHIN, || {
        rows = ps[0].status();
        all_ready(&rows, 3)
    });
    assert!(ok, "{rows:#?}\n{}", logs(&ds));

    // --owner: only the daemon running that directory.
    let owner = ps[1].dir.to_string_lossy().into_owned();
    ps[0].run(&["stop", "--all", "--owner", &owner]).status(0);
    assert_eq!(ds[1].wait(WITHIN), Some(0), "{}", ds[1].log());
    ds[0].assert_running();
    ds[2].assert_running();
    let names: Vec<Value> = ps[0].status().iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, ["t0", "t2"]);

    // --all: every daemon of the registry, from any directory.
    ps[2].run(&["stop", "--all"]).status(0);
    for i in [0, 2] {
        assert_eq!(ds[i].wait(WITHIN), Some(0), "{}", ds[i].log());
    }
    assert!(ps[0].status().is_empty());
}
