//! `registry.json` broken behind a running daemon's back: truncated, garbled,
//! or replaced by a directory. The daemon notices at once (not at the 30 s
//! resync) and re-registers; a `cadre status` running all the while never
//! reports an empty team with exit 0. Forged entries are not shown ready:
//! pid 1 with start time 0, and a live process's entry pointing at another
//! specialist's port. Port range of this file: 49230-49239.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cadre::registry::{ProcessId, Registry, StateDir};
use serde_json::Value;

use crate::fixture::ollama::{Behaviour, OllamaServer};
use crate::fixture::{Project, cadre, poll, say};

fn registered(p: &Project) -> usize {
    let text = std::fs::read_to_string(p.state.join("registry.json")).unwrap_or_default();
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["specialists"].as_object().map(|m| m.len()))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_registry_is_rebuilt_at_once_and_status_never_shows_an_empty_team() {
    let server = OllamaServer::start(Behaviour::default()).await;
    let p = Project::new([49230, 49239], &server.base_url);
    p.write("alpha", "Alpha.", None);
    p.write("beta", "Beta.", None);
    let mut d = p.up();
    p.wait_ready(&["alpha", "beta"], &mut d);
    let file = p.state.join("registry.json");

    // `status` in a loop the whole time: each run is (exit code, rows).
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (dir, state, stop) = (p.dir.clone(), p.state.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut runs = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let out = cadre(&["status", "--json"]).dir(&dir).state(&state).run();
                runs.push((out.code, out.stdout.clone(), out.stderr.clone()));
            }
            runs
        })
    };

    let breakages: [(&str, &dyn Fn()); 3] = [
        ("truncated", &|| {
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&file)
                .unwrap();
        }),
        ("garbled", &|| {
            std::fs::write(&file, "{\"version\": 1, \"specia").unwrap()
        }),
        ("a directory", &|| {
            std::fs::remove_file(&file).unwrap();
            std::fs::create_dir(&file).unwrap();
        }),
    ];
    for (what, break_it) in breakages {
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        break_it();
        let back = poll(Duration::from_secs(10), || {
            file.is_file() && registered(&p) == 2
        });
        let took = t.elapsed();
        say(&format!(
            "registry {what}: both entries back after {took:?}"
        ));
        assert!(back, "registry {what}: entries not back:\n{}", d.log());
        // The acceptance is 1 s; 5 s leaves room for a loaded 2-core box
        // while still telling this from the 30 s resync.
        assert!(took < Duration::from_secs(5), "registry {what}: {took:?}");
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let runs = watcher.join().unwrap();
    assert!(runs.len() >= 3, "status ran {} times", runs.len());
    for (code, stdout, stderr) in &runs {
        let rows: Vec<Value> = serde_json::from_str(stdout).unwrap_or_default();
        assert!(
            !(*code == 0 && rows.is_empty()),
            "status printed an empty team with exit 0 (stdout {stdout:?}, stderr {stderr:?})"
        );
    }
    let moved_aside = std::fs::read_dir(&p.state)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("registry.json.corrupt-")
        })
        .count();
    assert!(moved_aside >= 3, "each broken file is kept aside");
    assert!(
        d.log().contains("not a regular file") || {
            let events = std::fs::read_to_string(p.state.join("events.jsonl")).unwrap_or_default();
            events.contains("is a directory")
        },
        "the directory is named as such:\n{}",
        d.log()
    );

    // Forged entries: pid 1 with start time 0, and this (live) process
    // claiming alpha's port under another name. Neither is shown ready.
    let alpha = p.port_of("alpha").unwrap();
    let reg = Registry::open(StateDir(p.state.clone())).unwrap();
    let me = ProcessId::current();
    reg.transact(|txn| {
        let forged = |name: &str, owner| crate::fixture::registry::entry(name, alpha, owner);
        let pid1 = forged("init", ProcessId { pid: 1, start: 0 });
        txn.data.specialists.insert(pid1.name.clone(), pid1);
        let mine = forged("impostor", me);
        txn.data.specialists.insert(mine.name.clone(), mine);
        Ok::<_, cadre::registry::RegistryError>(())
    })
    .unwrap();
    let out = p.run(&["status", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    for name in ["init", "impostor"] {
        let row = rows.iter().find(|r| r["name"] == name);
        assert!(
            row.is_none_or(|r| r["state"] != "ready"),
            "forged {name} shown ready: {row:?}"
        );
    }
    let impostor = rows.iter().find(|r| r["name"] == "impostor").unwrap();
    assert_eq!(impostor["state"], "unreachable", "{impostor}");
    assert!(
        rows.iter().all(|r| r["name"] != "init"),
        "pid 1 with start time 0 is reclaimed: {rows:?}"
    );
    assert_eq!(
        rows.iter().find(|r| r["name"] == "alpha").unwrap()["state"],
        "ready"
    );
}
