//! `cargo bench --bench registry -- cluster`: the daemon on each registry
//! backend (DESIGN §13), with the real binary.
//!
//! - **Cold start**: `cadre up` on a specialists.d of N unpinned specialists
//!   (`CADRE_BENCH_SPECIALISTS`, default 1000): from spawning it until the
//!   registry holds all N `ready`, and from SIGTERM until the registry is
//!   empty again. The file backend (state on tmpfs) and etcd (a 3-member
//!   cluster on loopback, data on tmpfs) alternate round by round
//!   (`CADRE_BENCH_ROUNDS`, default 3).
//! - **Failover**: two daemons on the "hosts" 127.0.0.2 and 127.0.0.3 serve
//!   one specialist on etcd; one is killed with SIGKILL and a client chats at
//!   once (the library's own failover, `cluster::failover::chat`, the dead
//!   endpoint tried first): the time from its failed connect to the other
//!   replica's answer, and how long the dead entry stays in etcd
//!   (`CADRE_BENCH_FAILOVERS` kills, default 5).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadre::cluster::failover::{self, Bounds};
use cadre::cluster::pick::Balancer;
use cadre::registry::State;
use cadre::registry::etcd::{Consistency, EtcdSettings, EtcdStore};

use super::etcd::etcd_cluster::{self, EtcdCluster};

#[allow(dead_code)]
#[path = "../../tests/fixture/ollama.rs"]
mod ollama;

const BIN: &str = env!("CARGO_BIN_EXE_cadre");
const RANGE: [u16; 2] = [39000, 40499];
const LEASE_TTL: Duration = Duration::from_secs(2);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `[registry]` table for `settings`, or nothing (the file backend).
fn registry_toml(etcd: Option<&EtcdSettings>) -> String {
    let Some(s) = etcd else {
        return String::new();
    };
    let endpoints: Vec<String> = s.endpoints.iter().map(|e| format!("\"{e}\"")).collect();
    format!(
        "\n[registry]\nbackend = \"etcd\"\nendpoints = [{}]\nprefix = \"{}\"\nlease_ttl = \"{}s\"\n",
        endpoints.join(", "),
        s.prefix,
        LEASE_TTL.as_secs()
    )
}

/// A project under `root` with `names` unpinned, listening on `host`.
fn project(root: &Path, names: &[String], host: &str, base_url: &str, registry: &str) -> PathBuf {
    let dir = root.join("specialists.d");
    std::fs::create_dir_all(&dir).unwrap();
    for n in names {
        let toml = format!(
            "component = \"{n}\"\ntitle = \"{n}\"\ndescription = \"Bench {n}.\"\n\n\
             [personality]\nrole = \"bench\"\nprompt = \"You are {n}.\"\n"
        );
        std::fs::write(dir.join(format!("{n}.toml")), toml).unwrap();
    }
    let toml = format!(
        "[defaults]\nprovider = \"local\"\nmodel = \"bench-model\"\n\n\
         [providers.local]\nkind = \"ollama\"\nbase_url = \"{base_url}\"\n\n\
         [ports]\nrange = [{}, {}]\n\n[listen]\nhost = \"{host}\"\n{registry}",
        RANGE[0], RANGE[1]
    );
    std::fs::write(root.join("cadre.toml"), toml).unwrap();
    dir
}

fn up(dir: &Path, state: &Path) -> Child {
    Command::new(BIN)
        .args(["up", "--no-http", "--dir"])
        .arg(dir)
        .arg("--state-dir")
        .arg(state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
}

/// Entries `ready` now, and all entries.
async fn count(etcd: Option<&EtcdStore>, state: &Path) -> (usize, usize) {
    match etcd {
        Some(store) => match store.list(Consistency::Linearizable).await {
            Ok(l) => {
                let ready = l
                    .entries
                    .iter()
                    .filter(|r| r.entry.state == State::Ready)
                    .count();
                (ready, l.entries.len())
            }
            Err(_) => (0, usize::MAX),
        },
        None => {
            let text = std::fs::read_to_string(state.join("registry.json")).unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let Some(all) = v["specialists"].as_object() else {
                return (0, 0);
            };
            let ready = all.values().filter(|e| e["state"] == "ready").count();
            (ready, all.len())
        }
    }
}

/// Poll every 20 ms until `done`; the time it took.
async fn until(
    etcd: Option<&EtcdStore>,
    state: &Path,
    done: impl Fn((usize, usize)) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        if done(count(etcd, state).await) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(600), "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One cold start and stop of `n`; (start, stop).
async fn cold(n: usize, etcd: Option<&EtcdSettings>, round: usize) -> (Duration, Duration) {
    let tmp = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let settings = etcd.map(|s| {
        let mut s = s.clone();
        s.prefix = format!("/bench-cold-{round}/");
        s
    });
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let dir = project(
        tmp.path(),
        &names,
        "127.0.0.1",
        "http://127.0.0.1:9",
        &registry_toml(settings.as_ref()),
    );
    let state = tmp.path().join("state");
    let store = settings.as_ref().map(|s| EtcdStore::new(s).unwrap());
    let started = Instant::now();
    let mut child = up(&dir, &state);
    until(store.as_ref(), &state, |(ready, _)| ready == n).await;
    let start = started.elapsed();
    let stopping = Instant::now();
    signal(&child, "TERM");
    until(store.as_ref(), &state, |(_, all)| all == 0).await;
    let stop = stopping.elapsed();
    let _ = child.wait();
    (start, stop)
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

async fn cold_starts(cluster: &EtcdCluster) {
    let n = env_or("CADRE_BENCH_SPECIALISTS", 1000);
    let rounds = env_or("CADRE_BENCH_ROUNDS", 3);
    let settings = cluster.settings();
    println!("\n### Cold start of {n} specialists, one daemon (ms)\n");
    println!(
        "| round | file: all ready | file: SIGTERM to empty | etcd: all ready | etcd: SIGTERM to empty |"
    );
    println!("|---|---|---|---|---|");
    for round in 0..rounds {
        let (fs, fe) = cold(n, None, round).await;
        let (es, ee) = cold(n, Some(&settings), round).await;
        println!(
            "| {} | {} | {} | {} | {} |",
            round + 1,
            ms(fs),
            ms(fe),
            ms(es),
            ms(ee)
        );
    }
}

/// Two replicas of `shared`; kill one, chat at once, time the failover.
async fn failovers(cluster: &EtcdCluster) {
    let kills = env_or("CADRE_BENCH_FAILOVERS", 5);
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let mut settings = cluster.settings();
    settings.prefix = "/bench-failover/".into();
    let store = EtcdStore::new(&settings).unwrap();
    let registry = registry_toml(Some(&settings));
    let tmp = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let names = vec!["shared".to_owned()];
    let hosts = ["127.0.0.2", "127.0.0.3"];
    let dirs: Vec<(PathBuf, PathBuf)> = hosts
        .iter()
        .map(|h| {
            let root = tmp.path().join(h);
            let dir = project(&root, &names, h, &server.base_url, &registry);
            (dir, root.join("state"))
        })
        .collect();
    let mut daemons: Vec<Child> = dirs.iter().map(|(d, s)| up(d, s)).collect();
    println!("\n### Failover (ms; lease_ttl {LEASE_TTL:?})\n");
    println!(
        "| kill | failed connect to the other replica's answer | whole chat | dead entry left etcd after |"
    );
    println!("|---|---|---|---|");
    let bounds = Bounds {
        connect: Duration::from_secs(3),
        reply: Duration::from_secs(30),
    };
    for k in 0..kills {
        let victim = k % 2;
        let both = |(ready, _): (usize, usize)| ready == 2;
        until(Some(&store), Path::new("."), both).await;
        let snap = cadre::cluster::view::read(
            &cadre::config::RegistrySettings::Etcd(Box::new(settings.clone())),
            &cadre::registry::Registry::open(cadre::registry::StateDir(tmp.path().into())).unwrap(),
        )
        .await
        .unwrap();
        let targets = failover::targets_of(&snap, "shared", |s| s == State::Ready);
        // The survivor is "suspect": the dead one is tried first.
        let balancer = Arc::new(Balancer::default());
        for t in targets.iter().filter(|t| t.host != hosts[victim]) {
            balancer.failed(t);
        }
        signal(&daemons[victim], "KILL");
        let _ = daemons[victim].wait();
        let killed = Instant::now();
        let body = cadre::protocol::ChatBody {
            content: format!("after kill {k}"),
            ..Default::default()
        };
        let answered = failover::chat(&balancer, targets, body, bounds, |_| {})
            .await
            .unwrap();
        let done = Instant::now();
        assert_eq!(answered.target.host, hosts[1 - victim]);
        let failed_at = answered.attempts.first().map_or(killed, |a| a.at);
        until(Some(&store), Path::new("."), |(_, all)| all == 1).await;
        let gone = killed.elapsed();
        println!(
            "| {} | {:.2} | {:.2} | {} |",
            k + 1,
            (done - failed_at).as_secs_f64() * 1000.0,
            (done - killed).as_secs_f64() * 1000.0,
            ms(gone)
        );
        daemons[victim] = up(&dirs[victim].0, &dirs[victim].1);
    }
    for d in &daemons {
        signal(d, "TERM");
    }
    for d in daemons.iter_mut() {
        let _ = d.wait();
    }
}

pub fn main() {
    let Some(cluster) = EtcdCluster::start(3) else {
        println!("etcd is not installed: {}", etcd_cluster::INSTALL);
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        cold_starts(&cluster).await;
        failovers(&cluster).await;
    });
}
