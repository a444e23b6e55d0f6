//! Crash storm: while specialists.d changes 50 times a second, the daemon
//! is killed with SIGKILL at random moments and started again, 20 times.
//! After every kill the registry is valid JSON and `status` reports nothing
//! as ready; at the end the team equals the files and every registry entry
//! belongs to the last daemon (no stale entry survives).
//! Ports 47100-47199 belong to this file.

use crate::fixture;
use crate::fixture::ollama;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fixture::{Project, poll};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const RANGE: [u16; 2] = [47100, 47199];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_daemon_mid_storm_never_leaves_stale_state() {
    let _turn = crate::ONE_AT_A_TIME.lock().await;
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Arc::new(Project::new(RANGE, &server.base_url));
    p.write("anchor", "steady", None);

    // name -> currently valid; the storm runs on its own thread throughout.
    let files: Arc<Mutex<BTreeMap<String, bool>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let storm = {
        let (p, files, stop) = (p.clone(), files.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(0xc0ffee);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("storm-{}", rng.random_range(0..8));
                let path = p.file(&name);
                let mut f = files.lock().unwrap();
                match rng.random_range(0..6) {
                    0..=2 => {
                        std::fs::write(
                            &path,
                            Project::specialist_toml(&name, &format!("v{n}"), None),
                        )
                        .unwrap();
                        f.insert(name, true);
                    }
                    3 | 4 => {
                        let _ = std::fs::remove_file(&path);
                        f.remove(&name);
                    }
                    _ => {
                        std::fs::write(&path, "title = \"broken\n").unwrap();
                        f.insert(name, false);
                    }
                }
                drop(f);
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let mut rng = StdRng::seed_from_u64(7);
    tokio::task::block_in_place(|| {
        for round in 0..20 {
            let mut d = p.up();
            let pid = d.pid();
            std::thread::sleep(Duration::from_millis(rng.random_range(50..700)));
            d.assert_running();
            let mut child = d.child.take().unwrap();
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();

            // The registry on disk is always a whole file (or absent).
            if let Ok(text) = std::fs::read_to_string(p.state.join("registry.json")) {
                let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
                    panic!("round {round}: registry is not JSON ({e}):\n{text}")
                });
                assert_eq!(v["version"], 1, "round {round}: {v}");
            }
            // Nothing of the dead daemon is reported as ready.
            let rows = p.status();
            let alive: Vec<&Value> = rows.iter().filter(|r| r["state"] == "ready").collect();
            assert!(
                alive.is_empty(),
                "round {round}: dead daemon {pid} still ready: {alive:#?}"
            );
        }
    });

    stop.store(true, Ordering::Relaxed);
    storm.join().unwrap();
    let mut want: BTreeSet<String> = BTreeSet::from(["anchor".to_owned()]);
    for (name, ok) in files.lock().unwrap().iter() {
        if !ok {
            std::fs::write(p.file(name), Project::specialist_toml(name, "fixed", None)).unwrap();
        }
        want.insert(name.clone());
    }

    let mut d = p.up();
    let pid = d.pid() as u64;
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
        "team != files {want:?}:\n{:#?}\n{}",
        p.status(),
        d.log()
    );
    let reg = p.registry();
    let entries = reg["specialists"].as_object().unwrap();
    assert_eq!(
        entries.keys().cloned().collect::<BTreeSet<_>>(),
        want,
        "{reg:#}"
    );
    for e in entries.values() {
        assert_eq!(e["pid"].as_u64(), Some(pid), "stale entry survived: {e}");
        let port = e["port"].as_u64().unwrap() as u16;
        assert!(fixture::pings(port), "{e} does not answer");
    }
    let started = Instant::now();
    d.signal("TERM");
    assert_eq!(d.wait(Duration::from_secs(20)), Some(0));
    eprintln!("crash storm: final drain took {:?}", started.elapsed());
}
