//! Files on disk: modes, event rotation, state dir creation, and use from
//! async code.
//!
//! Ports: 46500-46599 (this file only).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::fixture::registry::*;
use cadre::registry::{Registry, RegistryError, StateDir};

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn directory_is_0700_and_files_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("deep/state");
    let dir = StateDir::resolve(Some(&state)).unwrap();
    assert_eq!(dir.path(), state);
    assert_eq!(mode(&state), 0o700);

    let reg = Registry::open(dir).unwrap();
    let _l = reg
        .transact(|t| {
            let l = t.allocate("127.0.0.1", None, [46500, 46509])?;
            let e = entry("a", l.local_addr().unwrap().port(), t.me);
            t.data.specialists.insert(e.name.clone(), e);
            Ok::<_, RegistryError>(l)
        })
        .unwrap();
    for f in ["registry.json", "registry.lock", "events.jsonl"] {
        assert_eq!(mode(&state.join(f)), 0o600, "{f}");
    }

    // A pre-existing loose directory is tightened.
    fs::set_permissions(&state, fs::Permissions::from_mode(0o755)).unwrap();
    StateDir::resolve(Some(&state)).unwrap();
    assert_eq!(mode(&state), 0o700);
}

#[test]
fn events_rotate_at_the_cap_and_stay_readable() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap().with_events_cap(2048);
    // ~100-byte lines: 2048 bytes hold ~20, so 100 transactions rotate
    // several times and the oldest are gone whatever the pid's digit count.
    for i in 0..100 {
        reg.transact(|t| {
            let name = format!("s{i}");
            let e = entry(&name, 46510, t.me);
            t.data.specialists.insert(e.name.clone(), e);
            Ok::<_, RegistryError>(())
        })
        .unwrap();
    }
    let d = reg.state_dir().path();
    let cur = fs::metadata(d.join("events.jsonl")).unwrap().len();
    let old = fs::metadata(d.join("events.jsonl.1")).unwrap().len();
    assert!(cur < 2048 + 512 && old < 2048 + 512, "{cur} {old}");
    assert_eq!(mode(&d.join("events.jsonl.1")), 0o600);
    let events = reg.events().unwrap();
    // Oldest kept events first, the latest last.
    assert!(
        !events.is_empty() && events.len() < 60,
        "{} events kept",
        events.len()
    );
    assert_eq!(events.last().unwrap().name.as_deref(), Some("s99"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transact_from_async_code_via_spawn_blocking() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let reg = reg.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            reg.transact(|t| {
                let name = format!("t{i}");
                let e = entry(&name, 46520 + i, t.me);
                t.data.specialists.insert(e.name.clone(), e);
                Ok::<_, RegistryError>(())
            })
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let reg2 = reg.clone();
    let data = tokio::task::spawn_blocking(move || reg2.read())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(data.specialists.len(), 8);
}
