//! Daemons on several "hosts" sharing an etcd registry (DESIGN §13): the
//! real binary, a real 3-member etcd cluster on loopback, and the loopback
//! addresses 127.0.0.2 and 127.0.0.3 as two hosts. Skipped outside CI when
//! etcd is not installed (scripts/ci-etcd.sh); with `CI=true` they run.
//! Port range of this file: 48200-48399 (allocated by the registry per host).

use crate::fixture;
use crate::fixture::etcd_cluster::EtcdCluster;
use crate::fixture::ollama;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cadre::registry::Entry;
use cadre::registry::etcd::{Consistency, EtcdStore};
use fixture::{Daemon, Project, poll};
use serde_json::Value;

const WITHIN: Duration = Duration::from_secs(60);
/// The daemons' lease TTL in these tests.
const TTL: Duration = Duration::from_secs(2);
const HOST_A: &str = "127.0.0.2";
const HOST_B: &str = "127.0.0.3";

/// A project on `host` whose registry is `cluster`.
fn on_etcd(cluster: &EtcdCluster, host: &str, range: [u16; 2], base_url: &str) -> Project {
    let p = Project::new(range, base_url);
    let path = p.root().join("cadre.toml");
    let toml = std::fs::read_to_string(&path).unwrap();
    let endpoints: Vec<String> = cluster
        .endpoints()
        .iter()
        .map(|e| format!("\"{e}\""))
        .collect();
    let toml = format!(
        "{toml}\n[listen]\nhost = \"{host}\"\n\n[registry]\nbackend = \"etcd\"\n\
         endpoints = [{}]\nlease_ttl = \"{}s\"\nrequest_timeout = \"1s\"\n",
        endpoints.join(", "),
        TTL.as_secs()
    );
    std::fs::write(path, toml).unwrap();
    p
}

/// The entries etcd holds now (a linearizable read).
async fn entries(store: &EtcdStore) -> Vec<Entry> {
    match store.list(Consistency::Linearizable).await {
        Ok(l) => l.entries.into_iter().map(|r| r.entry).collect(),
        Err(_) => Vec::new(),
    }
}

fn store(cluster: &EtcdCluster) -> EtcdStore {
    EtcdStore::new(&cluster.settings()).unwrap()
}

/// `status --json` of `p`, off the async workers.
async fn status(p: &Project) -> (Vec<Value>, String) {
    let out = tokio::task::block_in_place(|| p.run(&["status", "--json"]));
    let rows = serde_json::from_str(&out.stdout).unwrap_or_default();
    (rows, out.stderr)
}

/// Wait until every name of `names` is ready on `host` in etcd.
async fn wait_registered(store: &EtcdStore, host: &str, names: &[&str], ds: &mut [&mut Daemon]) {
    let deadline = Instant::now() + WITHIN;
    loop {
        for d in ds.iter_mut() {
            d.assert_running();
        }
        let all = entries(store).await;
        let ready = names.iter().all(|n| {
            all.iter()
                .any(|e| e.host == host && e.name == *n && e.state == cadre::registry::State::Ready)
        });
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not ready on {host}: {names:?}: {all:#?}\n{}",
            ds.iter().map(|d| d.log()).collect::<String>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `cadre chat NAME MESSAGE` from `p`: the answer, or the error text.
fn chat(p: &Project, name: &str, message: &str) -> Result<String, String> {
    let out = p.run(&["chat", name, message]);
    if out.code == 0 {
        Ok(out.stdout)
    } else {
        Err(out.all())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_one_shared_specialist_fail_over_when_one_dies() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let a = on_etcd(&cluster, HOST_A, [48200, 48219], &server.base_url);
    let b = on_etcd(&cluster, HOST_B, [48200, 48219], &server.base_url);
    let third = on_etcd(&cluster, "127.0.0.1", [48200, 48219], &server.base_url);
    a.write("alpha", "Alpha on A.", None);
    a.write("shared", "Shared on A.", None);
    b.write("beta", "Beta on B.", None);
    b.write("shared", "Shared on B.", None);
    let mut da = a.up();
    let mut db = b.up();
    let store = store(&cluster);
    wait_registered(&store, HOST_A, &["alpha", "shared"], &mut [&mut da]).await;
    wait_registered(&store, HOST_B, &["beta", "shared"], &mut [&mut db]).await;

    // A third process sees all of them, the shared one with both endpoints.
    let (rows, err) = status(&third).await;
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["alpha", "beta", "shared"], "{rows:#?}\n{err}");
    let shared = rows.iter().find(|r| r["name"] == "shared").unwrap();
    let hosts: BTreeSet<&str> = shared["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, BTreeSet::from([HOST_A, HOST_B]), "{shared:#}");
    assert!(rows.iter().all(|r| r["state"] == "ready"), "{rows:#?}");
    let table = tokio::task::block_in_place(|| third.run(&["status"]));
    assert!(
        table.stdout.contains(HOST_A) && table.stdout.contains(HOST_B),
        "{}",
        table.stdout
    );

    // A team round from the third process reaches every member on both hosts.
    let before = server.requests().len();
    let team = tokio::task::block_in_place(|| third.run(&["team", "--json", "roll call"]));
    assert_eq!(team.code, 0, "{}", team.all());
    let prompts: Vec<String> = server.requests()[before..]
        .iter()
        .map(|r| fixture::last_system_prompt(std::slice::from_ref(r)))
        .collect();
    for who in ["Alpha on A.", "Beta on B."] {
        assert!(
            prompts.iter().any(|p| p.contains(who)),
            "{who}: {prompts:#?}"
        );
    }
    assert!(
        prompts.iter().any(|p| p.contains("Shared on")),
        "{prompts:#?}"
    );

    // Chat with the shared one in a loop; kill -9 daemon A meanwhile.
    let killed_at = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let looper = {
        let (killed_at, stop) = (killed_at.clone(), stop.clone());
        let dir = third.dir.clone();
        let state = third.state.clone();
        std::thread::spawn(move || {
            let mut after_kill = (0, Vec::new());
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let started = Instant::now();
                let out = fixture::cadre(&["chat", "shared", &format!("ping {n}")])
                    .dir(&dir)
                    .state(&state)
                    .run();
                let after = killed_at
                    .lock()
                    .unwrap()
                    .is_some_and(|k: Instant| started > k);
                if after {
                    after_kill.0 += 1;
                    if out.code != 0 {
                        after_kill.1.push(out.all());
                    }
                }
            }
            after_kill
        })
    };
    assert!(poll(WITHIN, || server.requests().len() > before + 6));
    da.signal("KILL");
    *killed_at.lock().unwrap() = Some(Instant::now());
    let killed = Instant::now();

    // A's entries leave with its lease.
    let mut gone = false;
    while killed.elapsed() < WITHIN {
        if !entries(&store).await.iter().any(|e| e.host == HOST_A) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left_after = killed.elapsed();
    assert!(gone, "A's entries are still in etcd");
    fixture::say(&format!(
        "a killed daemon's entries left etcd {left_after:?} after the kill (lease_ttl {TTL:?})"
    ));
    // The bound is lease_ttl + 1 s; a margin for a loaded 2-core machine.
    assert!(left_after < TTL + Duration::from_secs(3), "{left_after:?}");

    // Keep chatting a while after the entries left, then stop the loop.
    let more = server.requests().len();
    assert!(poll(WITHIN, || server.requests().len() > more + 3));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (chats, failed) = looper.join().unwrap();
    assert!(chats >= 3, "only {chats} chats after the kill");
    assert!(
        failed.is_empty(),
        "{} of {chats} chats failed after the kill:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(chat(&third, "alpha", "anyone?").is_err());
    assert!(chat(&third, "beta", "still there?").is_ok());
    db.signal("TERM");
    assert_eq!(db.wait(WITHIN), Some(0), "{}", db.log());
    assert!(entries(&store).await.is_empty(), "B left entries behind");
}

/// Ping `host:port` over the socket protocol.
fn pings_on(host: &str, port: u16) -> bool {
    use std::io::{BufRead, BufReader, Write};
    let addr = format!("{host}:{port}");
    let Ok(addr) = addr.parse::<std::net::SocketAddr>() else {
        return false;
    };
    let Ok(mut c) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    if c.write_all(b"{\"type\":\"ping\"}\n").is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(c).read_line(&mut line).is_ok() && line.contains("\"pong\"")
}

/// A chat over the socket protocol on `host:port`: true when answered.
fn chats_on(host: &str, port: u16) -> bool {
    use std::io::{BufRead, BufReader, Write};
    let Ok(mut c) = std::net::TcpStream::connect((host, port)) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
    let line = b"{\"type\":\"chat\",\"content\":\"are you there?\"}\n";
    if c.write_all(line).is_err() {
        return false;
    }
    let mut reply = String::new();
    BufReader::new(c).read_line(&mut reply).is_ok() && reply.contains("\"response\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_etcd_members_never_stops_a_specialist_and_entries_come_back() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let a = on_etcd(&cluster, HOST_A, [48220, 48229], &server.base_url);
    let b = on_etcd(&cluster, HOST_B, [48220, 48229], &server.base_url);
    let third = on_etcd(&cluster, "127.0.0.1", [48220, 48229], &server.base_url);
    a.write("alpha", "Alpha on A.", None);
    b.write("beta", "Beta on B.", None);
    let mut web = fixture::http::up_http(&a, &[], &[]);
    let mut db = b.up();
    let store = store(&cluster);
    wait_registered(&store, HOST_A, &["alpha"], &mut [&mut web.daemon]).await;
    wait_registered(&store, HOST_B, &["beta"], &mut [&mut db]).await;
    let endpoints: Vec<(String, u16)> = entries(&store)
        .await
        .iter()
        .map(|e| (e.host.clone(), e.port))
        .collect();
    let all_answer = || endpoints.iter().all(|(h, p)| chats_on(h, *p));
    let health_url = web.url("/healthz");
    let healthz = || async {
        let url = health_url.clone();
        let body: Value = fixture::http::client()
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body
    };

    // One member down: no effect.
    tokio::task::block_in_place(|| cluster.stop(0));
    assert!(tokio::task::block_in_place(all_answer));
    tokio::time::sleep(TTL * 2).await;
    let (rows, err) = status(&third).await;
    assert_eq!(rows.len(), 2, "{rows:#?}\n{err}");
    assert!(rows.iter().all(|r| r["state"] == "ready"), "{rows:#?}");
    assert!(!err.contains("unavailable"), "{err}");
    assert_eq!(healthz().await["registry"]["available"], true);

    // Two down, quorum lost: every specialist keeps answering, and status
    // and /healthz say the registry is unavailable.
    tokio::task::block_in_place(|| cluster.stop(1));
    let lost = Instant::now();
    let mut health = Value::Null;
    while lost.elapsed() < WITHIN {
        health = healthz().await;
        if health["registry"]["available"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let message = health["registry"]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("registry unavailable since "),
        "{health:#}"
    );
    assert_eq!(health["status"], "ok", "{health:#}");
    tokio::time::sleep(TTL * 2).await;
    assert!(tokio::task::block_in_place(all_answer));
    let (rows, err) = status(&third).await;
    assert!(err.contains("registry unavailable since"), "{err}");
    assert_eq!(
        rows.len(),
        2,
        "the last entries a member holds: {rows:#?}\n{err}"
    );
    web.daemon.assert_running();
    db.assert_running();

    // Back again: every entry is there within 5 s of quorum.
    tokio::task::block_in_place(|| {
        cluster.restart(0);
        cluster.restart(1);
    });
    let restarted = Instant::now();
    let back = loop {
        let now = entries(&store).await;
        let both = ["alpha", "beta"].iter().all(|n| {
            now.iter()
                .any(|e| e.name == *n && e.state == cadre::registry::State::Ready)
        });
        if both {
            break restarted.elapsed();
        }
        assert!(restarted.elapsed() < WITHIN, "entries not back: {now:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    fixture::say(&format!(
        "entries back {back:?} after the members restarted"
    ));
    assert!(back < Duration::from_secs(10), "{back:?}");
    let mut health = Value::Null;
    assert!(
        {
            let mut ok = false;
            while restarted.elapsed() < WITHIN {
                health = healthz().await;
                if health["registry"]["available"] == true {
                    ok = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            ok
        },
        "{health:#}"
    );
    assert!(tokio::task::block_in_place(all_answer));
    web.daemon.signal("TERM");
    db.signal("TERM");
    assert_eq!(web.daemon.wait(WITHIN), Some(0), "{}", web.daemon.log());
    assert_eq!(db.wait(WITHIN), Some(0), "{}", db.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_four_daemons_on_two_hosts_never_serves_a_port_twice() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let range = [48300, 48399];
    let ps: Vec<(Project, &str)> = (0..4)
        .map(|i| {
            let host = if i % 2 == 0 { HOST_A } else { HOST_B };
            let p = on_etcd(&cluster, host, range, &server.base_url);
            for j in 0..50 {
                p.write(&format!("s{i}-{j}"), "Speaks.", None);
            }
            (p, host)
        })
        .collect();
    let mut ds: Vec<Daemon> = ps.iter().map(|(p, _)| p.up()).collect();
    let store = store(&cluster);
    let started = Instant::now();
    let all = loop {
        for d in ds.iter_mut() {
            d.assert_running();
        }
        let all = entries(&store).await;
        let ready = all
            .iter()
            .filter(|e| e.state == cadre::registry::State::Ready)
            .count();
        if ready == 200 {
            break all;
        }
        assert!(
            started.elapsed() < WITHIN * 2,
            "{ready} of 200 ready\n{}",
            ds.iter().map(|d| d.log()).collect::<String>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    fixture::say(&format!(
        "4 daemons x 50 specialists on 2 hosts registered in {:?}",
        started.elapsed()
    ));
    let served: BTreeSet<(String, u16)> = all.iter().map(|e| (e.host.clone(), e.port)).collect();
    assert_eq!(served.len(), 200, "a port served twice on a host");
    for (host, port) in &served {
        assert!(
            (range[0]..=range[1]).contains(port),
            "{host}:{port} outside the range"
        );
    }
    let silent: Vec<&(String, u16)> =
        tokio::task::block_in_place(|| served.iter().filter(|(h, p)| !pings_on(h, *p)).collect());
    assert!(silent.is_empty(), "no pong from {silent:?}");
    for d in &ds {
        d.signal("TERM");
    }
    for d in ds.iter_mut() {
        assert_eq!(d.wait(WITHIN), Some(0), "{}", d.log());
    }
    assert!(entries(&store).await.is_empty());
}
