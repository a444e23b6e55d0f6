//! `cargo bench --bench registry -- etcd`: registry operations per second
//! with 16 contending processes, the file backend against etcd, alternating
//! the two in one run. Every process repeats what a daemon does per
//! specialist start and stop: register with a port from one shared range on
//! one host (a real bind on 127.0.0.1), then deregister. Counted: register
//! and deregister operations (each a transaction of the backend: one flock
//! transaction; for etcd a read of the host's claims plus one compare-and-
//! write transaction, more when it loses a race).
//!
//! Env: `CADRE_BENCH_ROUNDS` (default 3), `CADRE_BENCH_CYCLES` (per process,
//! default 100), `CADRE_BENCH_DIRS` (bases for state and etcd data,
//! default `/dev/shm:/tmp`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cadre::registry::etcd::{EtcdSettings, EtcdStore, PortRequest};
use cadre::registry::{Registry, RegistryError, StateDir};

// The test suite's etcd fixture; the bench uses only part of it.
#[allow(dead_code)]
#[path = "../../tests/fixture/etcd_cluster.rs"]
pub mod etcd_cluster;

pub const ROLE: &str = "CADRE_BENCH_ETCD_ROLE";
const PROCS: usize = 16;
const HOST: &str = "127.0.0.1";
const RANGE: [u16; 2] = [38000, 38063];

fn bind(port: u16) -> Option<TcpListener> {
    TcpListener::bind((HOST, port)).ok()
}

/// A child: wait for "go", run `cycles` register/deregister pairs, exit.
pub fn child(role: &str) {
    let (backend, rest) = role.split_once(':').expect("role");
    let (cycles, target) = rest.split_once(':').expect("role");
    let cycles: usize = cycles.parse().expect("cycles");
    let name = format!("w{}", std::process::id());
    match backend {
        "file" => {
            let reg = Registry::open(StateDir(PathBuf::from(target)))
                .expect("open")
                .with_lock_timeout(Duration::from_secs(120));
            ready_then_go();
            for _ in 0..cycles {
                let held = reg
                    .transact(|t| {
                        let l = t.allocate(HOST, None, RANGE)?;
                        let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                        let mut e = super::entry(&name, t.me, &t.now);
                        e.port = port;
                        t.data.specialists.insert(e.name.clone(), e);
                        Ok::<_, RegistryError>(l)
                    })
                    .expect("register");
                reg.transact(|t| {
                    t.data.specialists.remove(name.as_str());
                    Ok::<_, RegistryError>(())
                })
                .expect("deregister");
                drop(held);
            }
        }
        _ => {
            let settings: EtcdSettings = serde_json::from_str(target).expect("settings");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let store = EtcdStore::new(&settings).expect("store");
                let lease = store.grant_lease().await.expect("lease");
                ready_then_go();
                let me = cadre::registry::ProcessId::current();
                for _ in 0..cycles {
                    let e = super::entry(&name, me, &cadre::registry::now_rfc3339());
                    let r = store
                        .register(lease.id(), e, PortRequest::Range(RANGE), bind)
                        .await
                        .expect("register");
                    store
                        .deregister(lease.id(), HOST, &name)
                        .await
                        .expect("deregister");
                    drop(r.listener);
                }
                lease.revoke().await.expect("revoke");
            });
        }
    }
}

fn ready_then_go() {
    println!("ready");
    let _ = std::io::stdout().flush();
    let mut go = String::new();
    let _ = std::io::stdin().read_line(&mut go);
}

/// Start PROCS children in `role`, release them at once, time until all exit.
fn race(role: &str, cycles: usize) -> f64 {
    let exe = std::env::current_exe().expect("current_exe");
    let mut children: Vec<Child> = (0..PROCS)
        .map(|_| {
            Command::new(&exe)
                .env(ROLE, role)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in &mut children {
        let mut line = String::new();
        BufReader::new(c.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("ready");
        assert_eq!(line.trim(), "ready", "a worker failed to start");
    }
    let t = Instant::now();
    for c in &mut children {
        let _ = c.stdin.as_mut().expect("stdin").write_all(b"go\n");
    }
    for mut c in children {
        assert!(c.wait().expect("wait").success(), "a worker failed");
    }
    (2 * PROCS * cycles) as f64 / t.elapsed().as_secs_f64()
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn main() {
    let rounds = env_or("CADRE_BENCH_ROUNDS", 3);
    let cycles = env_or("CADRE_BENCH_CYCLES", 100);
    let dirs = std::env::var("CADRE_BENCH_DIRS").unwrap_or_else(|_| "/dev/shm:/tmp".into());
    println!(
        "16 processes × {cycles} × (register with a port + deregister), {rounds} alternating rounds"
    );
    println!("| data on | file backend ops/s (per round) | etcd, 3 members, ops/s (per round) |");
    println!("|---|---|---|");
    for base in dirs.split(':').map(Path::new).filter(|p| p.is_dir()) {
        let cluster =
            etcd_cluster::EtcdCluster::start_in(3, base, None, &[]).expect("etcd is needed");
        let mut settings = cluster.settings();
        settings.request_timeout = Duration::from_secs(10);
        let settings = serde_json::to_string(&settings).expect("settings");
        let state = tempfile::tempdir_in(base).expect("state dir");
        let state_dir = state.path().join("state");
        Registry::open(StateDir(state_dir.clone())).expect("open");
        let (mut file, mut etcd) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            file.push(race(
                &format!("file:{cycles}:{}", state_dir.display()),
                cycles,
            ));
            etcd.push(race(&format!("etcd:{cycles}:{settings}"), cycles));
        }
        let show = |v: &[f64]| {
            v.iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        println!("| {} | {} | {} |", base.display(), show(&file), show(&etcd));
    }
}
