//! Registry throughput: transactions/s by one process, and by 16 processes
//! contending for the lock. Each transaction does what `cadre up` does per
//! specialist: read, bump a shared counter, upsert the caller's entry,
//! write atomically (temp file + rename; with `--registry-fsync`'s
//! durability also fsync file + directory), log events.
//!
//! Run: `cargo bench --bench registry` (env `CADRE_BENCH_DIRS` = colon-
//! separated base dirs to measure; default `/dev/shm:/tmp`, i.e. tmpfs and
//! this machine's disk). `cargo bench --bench registry -- etcd` compares
//! the file backend with etcd instead (see `registry/etcd.rs`);
//! `cargo bench --bench registry -- cluster` the daemon's cold start on each
//! backend and failover between replicas (see `registry/cluster.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cadre::registry::{Durability, Entry, ProcessId, Registry, RegistryError, State, StateDir};

#[path = "registry/cluster.rs"]
mod cluster;
#[path = "registry/etcd.rs"]
mod etcd;

const ROLE: &str = "CADRE_BENCH_ROLE";

fn entry(name: &str, owner: ProcessId, now: &str) -> Entry {
    Entry {
        name: name.parse().unwrap(),
        component: "bench".into(),
        host: "127.0.0.1".into(),
        port: 1,
        pid: owner.pid,
        pid_start: owner.start,
        owner: PathBuf::from("/bench/specialists.d"),
        model: "m".into(),
        provider: "p".into(),
        title: String::new(),
        role: String::new(),
        description: String::new(),
        state: State::Ready,
        generation: "0".into(),
        last_error: None,
        revision: None,
        started_at: now.into(),
        updated_at: now.into(),
    }
}

fn one_txn(reg: &Registry, me_name: &str) {
    reg.transact(|t| {
        let c = t
            .data
            .specialists
            .get_mut("counter")
            .expect("counter entry");
        let n: u64 = c.generation.parse().unwrap_or(0);
        c.generation = (n + 1).to_string();
        let e = entry(me_name, t.me, &t.now);
        t.data.specialists.insert(e.name.clone(), e);
        Ok::<_, RegistryError>(())
    })
    .expect("transaction");
}

fn open(dir: &Path, fsync: bool) -> Registry {
    let durability = if fsync {
        Durability::PowerLoss
    } else {
        Durability::ProcessCrash
    };
    Registry::open(StateDir(dir.to_path_buf()))
        .expect("open")
        .with_lock_timeout(Duration::from_secs(120))
        .with_durability(durability)
}

fn setup(base: &Path, tag: &str, fsync: bool) -> (PathBuf, Registry) {
    let dir = base.join(format!("cadre-bench-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reg = open(&dir, fsync);
    reg.transact(|t| {
        let e = entry("counter", t.me, &t.now);
        t.data.specialists.insert(e.name.clone(), e);
        Ok::<_, RegistryError>(())
    })
    .expect("setup");
    (dir, reg)
}

fn uncontended(base: &Path, n: u64, fsync: bool) -> f64 {
    let (dir, reg) = setup(base, "solo", fsync);
    let t = Instant::now();
    for _ in 0..n {
        one_txn(&reg, "solo");
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(dir);
    rate
}

fn contended(base: &Path, procs: usize, per: u64, fsync: bool) -> f64 {
    let (dir, reg) = setup(base, "multi", fsync);
    let exe = std::env::current_exe().expect("current_exe");
    let t = Instant::now();
    let children: Vec<_> = (0..procs)
        .map(|i| {
            Command::new(&exe)
                .env(
                    ROLE,
                    format!("{i}:{per}:{}:{}", u8::from(fsync), dir.display()),
                )
                .spawn()
                .expect("spawn worker")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
    let elapsed = t.elapsed().as_secs_f64();
    let data = reg.read().expect("read");
    let total = procs as u64 * per;
    assert_eq!(data.specialists["counter"].generation, total.to_string());
    let _ = std::fs::remove_dir_all(dir);
    total as f64 / elapsed
}

fn main() {
    if let Ok(role) = std::env::var(etcd::ROLE) {
        return etcd::child(&role);
    }
    if std::env::args().skip(1).any(|a| a == "etcd") {
        return etcd::main();
    }
    if std::env::args().skip(1).any(|a| a == "cluster") {
        return cluster::main();
    }
    if let Ok(role) = std::env::var(ROLE) {
        let mut parts = role.splitn(4, ':');
        let i = parts.next().unwrap_or("0");
        let per: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let fsync = parts.next() == Some("1");
        let reg = open(Path::new(parts.next().unwrap_or(".")), fsync);
        let name = format!("w{i}");
        for _ in 0..per {
            one_txn(&reg, &name);
        }
        return;
    }
    // `cargo bench` passes `--bench`; `etcd` was handled above.
    let dirs = std::env::var("CADRE_BENCH_DIRS").unwrap_or_else(|_| "/dev/shm:/tmp".into());
    println!("| state dir | filesystem | durability | uncontended tx/s | 16 processes tx/s |");
    println!("|---|---|---|---|---|");
    for base in dirs.split(':').map(Path::new).filter(|p| p.is_dir()) {
        let tmpfs = base.starts_with("/dev/shm");
        let fs = if tmpfs { "tmpfs" } else { "disk" };
        for fsync in [false, true] {
            // A disk fsync here costs ~5-10 ms: keep the counts small there.
            let (solo, per) = if fsync && !tmpfs {
                (200, 15)
            } else {
                (5000, 500)
            };
            let u = uncontended(base, solo, fsync);
            let c = contended(base, 16, per, fsync);
            let d = if fsync {
                "fsync (PowerLoss)"
            } else {
                "rename (default)"
            };
            println!("| {} | {fs} | {d} | {u:.0} | {c:.0} |", base.display());
        }
    }
}
