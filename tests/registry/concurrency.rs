//! Many real processes on one registry: the counter never loses an update,
//! ports never collide, a SIGKILL at any instant leaves the old or the new
//! file, and a stuck holder is named on timeout.
//!
//! Ports: 46000-46063 (this file only).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use crate::fixture::registry::*;
use cadre::registry::{LockHolder, ProcessId, Registry, RegistryError};
use rand::Rng;

const PROCS: usize = 16;
const TXNS: u64 = 500;
const RANGE: [u16; 2] = [46000, 46063];

fn counter(data: &cadre::registry::RegistryData, name: &str) -> u64 {
    data.specialists[name].generation.parse().unwrap()
}

#[test]
fn sixteen_processes_count_exactly_and_never_share_a_port() {
    if let Some((_, reg, arg)) = child_role() {
        let me = format!("worker-{arg}");
        let mut held: Option<TcpListener> = None;
        for _ in 0..TXNS {
            let listener = reg
                .transact(|t| {
                    let c = t.data.specialists.get_mut("counter").unwrap();
                    let n: u64 = c.generation.parse().unwrap();
                    c.generation = (n + 1).to_string();
                    // Release the previous port, then take a fresh one.
                    t.data.specialists.remove(me.as_str());
                    drop(held.take());
                    let l = t.allocate("127.0.0.1", None, RANGE)?;
                    let port = l.local_addr().unwrap().port();
                    assert!(
                        t.data.specialists.values().all(|e| e.port != port),
                        "port {port} granted while an entry holds it"
                    );
                    t.data
                        .specialists
                        .insert(me.parse().unwrap(), entry(&me, port, t.me));
                    Ok::<_, RegistryError>(l)
                })
                .unwrap();
            held = Some(listener);
        }
        std::process::exit(0);
    }

    let (_tmp, dir) = temp_state_fast();
    let reg = Registry::open(dir.clone()).unwrap();
    reg.transact(|t| {
        // The counter is owned by this (live) test process.
        t.data
            .specialists
            .insert("counter".parse().unwrap(), entry("counter", 1, t.me));
        Ok::<_, RegistryError>(())
    })
    .unwrap();

    let started = Instant::now();
    let children: Vec<_> = (0..PROCS)
        .map(|i| {
            spawn_child(
                "concurrency::sixteen_processes_count_exactly_and_never_share_a_port",
                "stress",
                &dir,
                &i.to_string(),
                false,
            )
        })
        .collect();

    // A reader observing every step it can: locked reads and raw reads.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (reg, done) = (reg.clone(), done.clone());
        std::thread::spawn(move || {
            let mut seen = 0u64;
            let mut last = 0;
            while !done.load(Ordering::Relaxed) {
                let snap = reg.read().unwrap();
                let n = counter(&snap, "counter");
                assert!(n >= last, "counter went back from {last} to {n}");
                last = n;
                let mut ports: Vec<u16> = snap.specialists.values().map(|e| e.port).collect();
                let len = ports.len();
                ports.sort();
                ports.dedup();
                assert_eq!(ports.len(), len, "two entries share a port: {snap:?}");
                raw(&reg).unwrap();
                seen += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            seen
        })
    };

    for mut c in children {
        assert!(c.wait().unwrap().success(), "a worker failed");
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let observations = reader.join().unwrap();
    eprintln!(
        "{} transactions by {PROCS} processes in {elapsed:?}; reader observed {observations} snapshots",
        PROCS as u64 * TXNS
    );

    let snap = reg.read().unwrap();
    assert_eq!(counter(&snap, "counter"), PROCS as u64 * TXNS);
    // All workers are dead: their entries are not reported.
    assert_eq!(snap.specialists.len(), 1, "{snap:?}");
    assert!(observations > 0);
}

#[test]
fn sigkill_at_any_instant_leaves_the_old_or_the_new_file() {
    if let Some((_, reg, _)) = child_role() {
        loop {
            let n = reg
                .transact(|t| {
                    let a = counter(t.data, "a") + 1;
                    for name in ["a", "b"] {
                        t.data.specialists.get_mut(name).unwrap().generation = a.to_string();
                    }
                    let mine = entry("looper", 2, t.me);
                    t.data.specialists.insert(mine.name.clone(), mine);
                    Ok::<_, RegistryError>(a)
                })
                .unwrap();
            println!("@@ {n}");
        }
    }

    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir.clone()).unwrap();
    reg.transact(|t| {
        for name in ["a", "b"] {
            t.data
                .specialists
                .insert(name.parse().unwrap(), entry(name, 1, t.me));
        }
        Ok::<_, RegistryError>(())
    })
    .unwrap();

    let mut rng = rand::rng();
    let mut mid_txn = 0;
    for trial in 0..100 {
        let mut child = spawn_child(
            "concurrency::sigkill_at_any_instant_leaves_the_old_or_the_new_file",
            "looper",
            &dir,
            "",
            true,
        );
        let last = Arc::new(AtomicI64::new(-1));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = {
            let last = last.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some((_, n)) = line.split_once("@@ ") {
                        last.store(n.parse().unwrap(), Ordering::SeqCst);
                        let _ = tx.send(());
                    }
                }
            })
        };
        rx.recv_timeout(Duration::from_secs(30))
            .expect("looper committed nothing within 30 s");
        std::thread::sleep(Duration::from_micros(rng.random_range(0..20_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        lines.join().unwrap();
        let printed = last.load(Ordering::SeqCst) as u64;

        let data = raw(&reg).expect("registry.json exists");
        let (a, b) = (counter(&data, "a"), counter(&data, "b"));
        assert_eq!(a, b, "trial {trial}: half a transaction is visible");
        assert!(
            a == printed || a == printed + 1,
            "trial {trial}: file holds {a}, last committed print was {printed}"
        );
        if a == printed + 1 {
            mid_txn += 1;
        }
        // The dead looper's lock is gone and its entry is reclaimed.
        let after = Registry::open(dir.clone())
            .unwrap()
            .with_lock_timeout(Duration::from_secs(5))
            .transact(|t| Ok::<_, RegistryError>(t.data.clone()))
            .unwrap();
        assert!(!after.specialists.contains_key("looper"));
    }
    eprintln!("100 trials; {mid_txn} killed between commit and report");
}

#[test]
fn lock_timeout_names_the_holder_pid_and_how_long() {
    if let Some((_, reg, _)) = child_role() {
        reg.transact(|_| {
            println!("@@ holding");
            std::thread::sleep(Duration::from_secs(60));
            Ok::<_, RegistryError>(())
        })
        .unwrap();
        std::process::exit(0);
    }
    let (_tmp, dir) = temp_state();
    let mut child = spawn_child(
        "concurrency::lock_timeout_names_the_holder_pid_and_how_long",
        "holder",
        &dir,
        "",
        true,
    );
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // libtest prints "test NAME ... " without a newline before our line.
    while !line.contains("@@ holding") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "holder exited");
    }
    let reg = Registry::open(dir)
        .unwrap()
        .with_lock_timeout(Duration::from_millis(300));
    let err = reg.transact(|_| Ok::<_, RegistryError>(())).unwrap_err();
    match &err {
        RegistryError::LockTimeout {
            holder: LockHolder::Known { pid, held_for },
            waited,
            ..
        } => {
            assert_eq!(*pid, child.id());
            assert!(*held_for >= Duration::from_millis(250), "{held_for:?}");
            assert!(*waited >= Duration::from_millis(300));
        }
        other => panic!("expected a lock timeout naming the holder, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("held by pid {}", child.id())),
        "{msg}"
    );
    assert!(msg.contains("registry.lock"), "{msg}");
    // Readers are bounded too.
    assert!(matches!(reg.read(), Err(RegistryError::LockTimeout { .. })));

    // The kernel drops a dead holder's lock: no manual cleanup needed.
    child.kill().unwrap();
    child.wait().unwrap();
    let me = ProcessId::current();
    reg.transact(|t| {
        assert_eq!(t.me, me);
        Ok::<_, RegistryError>(())
    })
    .unwrap();
}
