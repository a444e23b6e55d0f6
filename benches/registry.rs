//! Registry throughput: transactions/s by one process, and by 16 processes
//! contending for the lock. Each transaction does what `cadre up` does per
//! specialist: read, bump a shared counter, upsert the caller's entry,
//! write atomically (fsync file + directory), log events.
//!
//! Run: `cargo bench --bench registry` (env `CADRE_BENCH_DIRS` = colon-
//! separated base dirs to measure; default `/dev/shm:/tmp`, i.e. tmpfs and
//! this machine's disk).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cadre::registry::{Entry, ProcessId, Registry, RegistryError, State, StateDir};

const ROLE: &str = "CADRE_BENCH_ROLE";

fn entry(name: &str, owner: ProcessId, now: &str) -> Entry {
    Entry {
        name: name.into(),
        component: "bench".into(),
        host: "127.0.0.1".into(),
        port: 1,
        pid: owner.pid,
        pid_start: owner.start,
        owner: PathBuf::from("/bench/specialists.d"),
        model: "m".into(),
        provider: "p".into(),
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
        t.data.specialists.insert(me_name.to_string(), e);
        Ok::<_, RegistryError>(())
    })
    .expect("transaction");
}

fn open(dir: &Path) -> Registry {
    Registry::open(StateDir(dir.to_path_buf()))
        .expect("open")
        .with_lock_timeout(Duration::from_secs(120))
}

fn setup(base: &Path, tag: &str) -> (PathBuf, Registry) {
    let dir = base.join(format!("cadre-bench-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reg = open(&dir);
    reg.transact(|t| {
        let e = entry("counter", t.me, &t.now);
        t.data.specialists.insert("counter".into(), e);
        Ok::<_, RegistryError>(())
    })
    .expect("setup");
    (dir, reg)
}

fn uncontended(base: &Path, n: u64) -> f64 {
    let (dir, reg) = setup(base, "solo");
    let t = Instant::now();
    for _ in 0..n {
        one_txn(&reg, "solo");
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(dir);
    rate
}

fn contended(base: &Path, procs: usize, per: u64) -> f64 {
    let (dir, reg) = setup(base, "multi");
    let exe = std::env::current_exe().expect("current_exe");
    let t = Instant::now();
    let children: Vec<_> = (0..procs)
        .map(|i| {
            Command::new(&exe)
                .env(ROLE, format!("{i}:{per}:{}", dir.display()))
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
    if let Ok(role) = std::env::var(ROLE) {
        let mut parts = role.splitn(3, ':');
        let i = parts.next().unwrap_or("0");
        let per: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let reg = open(Path::new(parts.next().unwrap_or(".")));
        let name = format!("w{i}");
        for _ in 0..per {
            one_txn(&reg, &name);
        }
        return;
    }
    // `cargo bench` passes `--bench`; nothing else to parse.
    let dirs = std::env::var("CADRE_BENCH_DIRS").unwrap_or_else(|_| "/dev/shm:/tmp".into());
    println!("| state dir | filesystem | uncontended tx/s | 16 processes tx/s |");
    println!("|---|---|---|---|");
    for base in dirs.split(':').map(Path::new).filter(|p| p.is_dir()) {
        // Disk fsync here costs ~5-10 ms: keep the counts small there.
        let tmpfs = base.starts_with("/dev/shm");
        let (solo, per) = if tmpfs { (5000, 500) } else { (200, 15) };
        let u = uncontended(base, solo);
        let c = contended(base, 16, per);
        let fs = if tmpfs { "tmpfs" } else { "disk" };
        println!("| {} | {fs} | {u:.0} | {c:.0} |", base.display());
    }
}
