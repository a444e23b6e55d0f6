//! Readers that take no lock (the platform's own tools read `registry.json`
//! directly): a file opened before any number of commits reads, to its end,
//! as the one valid document it was when opened. A commit never writes into
//! a file a reader may hold. And a lock wait that times out names who holds
//! the lock, the way it is held.
//!
//! Ports: none bound; entries carry made-up ports 46500-46509.

use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::fixture::registry::*;
use cadre::registry::{Registry, RegistryData, RegistryError};

/// One commit whose file differs in length from the last one's.
fn commit(reg: &Registry, i: usize) {
    reg.transact(|t| {
        let mut e = entry("torn", 46500, t.me);
        e.generation = format!("{i}-{}", "x".repeat(i % 97));
        t.data.specialists.insert(e.name.clone(), e);
        Ok::<_, RegistryError>(())
    })
    .unwrap();
}

#[test]
fn an_unlocked_reader_holding_the_file_across_1000_commits_reads_valid_json() {
    let (_tmp, dir) = temp_state_fast();
    let reg = Registry::open(dir).unwrap();
    commit(&reg, 0);
    // (file, bytes read so far); a new reader every 10 commits, each
    // reading a few bytes after every commit, the rest at the end.
    let mut readers: Vec<(File, Vec<u8>)> = Vec::new();
    for i in 1..=1000 {
        if i % 10 == 1 {
            readers.push((File::open(reg.file_path()).unwrap(), Vec::new()));
        }
        commit(&reg, i);
        for (f, got) in &mut readers {
            let mut buf = [0u8; 7];
            let n = f.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(readers.len(), 100);
    for (k, (mut f, mut got)) in readers.into_iter().enumerate() {
        f.read_to_end(&mut got).unwrap();
        let parsed: Result<RegistryData, _> = serde_json::from_slice(&got);
        assert!(
            parsed.is_ok(),
            "reader {k} (opened before commit {}) read a torn file: {}",
            k * 10 + 1,
            String::from_utf8_lossy(&got)
        );
    }
    // No temp file is left behind by the commits.
    let names: Vec<String> = std::fs::read_dir(reg.state_dir().path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// `flock(1)` holding the registry lock (shared or exclusive) until killed
/// (`-o`: its command does not inherit the lock, so killing flock frees it).
fn hold_lock(reg: &Registry, shared: bool) -> std::process::Child {
    let lock = reg.state_dir().path().join("registry.lock");
    let mut cmd = Command::new("flock");
    cmd.arg("-o");
    if shared {
        cmd.arg("-s");
    }
    // A process group of its own: killing it ends flock and its `sleep`.
    let child = cmd
        .arg(&lock)
        .args(["sleep", "30"])
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("flock(1) from util-linux");
    // Until the kernel lists the lock, a transaction would just take it.
    let listed = crate::fixture::poll(Duration::from_secs(10), || {
        std::fs::read_to_string("/proc/locks")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split_whitespace().nth(4) == Some(&child.id().to_string()))
    });
    assert!(
        listed,
        "flock (pid {}) never took the lock: {}",
        child.id(),
        std::fs::read_to_string("/proc/locks").unwrap_or_default()
    );
    child
}

#[test]
fn a_lock_timeout_names_the_holder_and_how_it_holds_the_lock() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir)
        .unwrap()
        .with_lock_timeout(Duration::from_millis(300));
    commit(&reg, 0);
    for shared in [false, true] {
        let mut holder = hold_lock(&reg, shared);
        let err = reg
            .transact(|_| Ok::<_, RegistryError>(()))
            .unwrap_err()
            .to_string();
        let pid = holder.id();
        if let Some(group) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = holder.wait();
        eprintln!("{err}");
        let how = if shared { "shared" } else { "exclusive" };
        assert!(err.contains(&format!("pid {pid}")), "{how}: {err}");
        assert!(err.contains(how), "{how}: {err}");
        assert!(err.contains("flock"), "names the program: {err}");
        if !shared {
            assert!(
                !err.contains("reader"),
                "an exclusive holder is no reader: {err}"
            );
        }
    }
}
