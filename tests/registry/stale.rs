//! Entries of dead owners are reclaimed inside every transaction: a dead
//! pid, or a live pid whose start time differs (pid reuse).
//!
//! No ports are bound here; entries carry made-up ports 46300-46399.

use crate::fixture::registry::*;
use cadre::registry::{EventKind, ProcessId, Registry, RegistryError};

fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn dead_and_reused_pids_are_reclaimed_live_ones_kept() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    let me = ProcessId::current();
    let dead = ProcessId {
        pid: dead_pid(),
        start: 12345,
    };
    let reused = ProcessId {
        pid: me.pid,
        start: me.start + 1,
    };
    // Write all three directly in one transaction: reclaim runs at the
    // start of the *next* one.
    reg.transact(|t| {
        for (name, owner, port) in [
            ("live", me, 46300),
            ("dead", dead, 46301),
            ("reused", reused, 46302),
        ] {
            t.data
                .specialists
                .insert(name.parse().unwrap(), entry(name, port, owner));
        }
        Ok::<_, RegistryError>(())
    })
    .unwrap();
    assert_eq!(raw(&reg).unwrap().specialists.len(), 3);

    // A reader never reports the dead ones, even before a transaction.
    let view = reg.read().unwrap();
    assert_eq!(view.specialists.keys().collect::<Vec<_>>(), ["live"]);

    let seen = reg
        .transact(|t| {
            Ok::<_, RegistryError>(t.data.specialists.keys().cloned().collect::<Vec<_>>())
        })
        .unwrap();
    assert_eq!(seen, ["live"]);
    // And the reclaim is written even though the closure changed nothing.
    assert_eq!(
        raw(&reg).unwrap().specialists.keys().collect::<Vec<_>>(),
        ["live"]
    );

    let events = reg.events().unwrap();
    let reclaimed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Reclaim)
        .map(|e| (e.name.clone().unwrap(), e.detail.clone().unwrap()))
        .collect();
    assert_eq!(reclaimed.len(), 2, "{events:?}");
    assert!(
        reclaimed
            .iter()
            .any(|(n, d)| n == "dead" && d.contains("is gone"))
    );
    assert!(
        reclaimed
            .iter()
            .any(|(n, d)| n == "reused" && d.contains("reused"))
    );
}

#[test]
fn a_failed_closure_writes_nothing_of_its_own() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    let r: Result<(), RegistryError> = reg.transact(|t| {
        let e = entry("x", 46310, t.me);
        t.data.specialists.insert(e.name.clone(), e);
        Err(RegistryError::NoStateDir)
    });
    assert!(r.is_err());
    assert!(reg.read().unwrap().specialists.is_empty());
}

#[test]
fn register_and_deregister_are_logged() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    reg.transact(|t| {
        let e = entry("svc", 46320, t.me);
        t.data.specialists.insert(e.name.clone(), e);
        Ok::<_, RegistryError>(())
    })
    .unwrap();
    reg.transact(|t| {
        t.data.specialists.remove("svc");
        Ok::<_, RegistryError>(())
    })
    .unwrap();
    let kinds: Vec<_> = reg
        .events()
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.name, e.port, e.by_pid))
        .collect();
    let me = std::process::id();
    assert_eq!(
        kinds,
        [
            (
                EventKind::Register,
                Some("svc".to_string()),
                Some(46320),
                me
            ),
            (
                EventKind::Deregister,
                Some("svc".to_string()),
                Some(46320),
                me
            ),
        ]
    );
}
