//! One lease per daemon: a killed daemon's entries leave within TTL + 1 s
//! (seen through a watch), a revoked lease is reported lost and refuses
//! writes, a clean revoke removes everything at once.

use std::time::{Duration, Instant};

use cadre::registry::etcd::{
    Change, Consistency, DaemonRecord, EtcdError, EtcdStore, LeaseState, PortRequest,
};

use super::*;

const HOST: &str = "10.255.1.1";

/// The child: a "daemon" that registers three entries and its record, then
/// waits to be killed.
fn crash_child(task: ChildTask) {
    assert_eq!(task.role, "crash");
    let rt = runtime();
    rt.block_on(async {
        let store = EtcdStore::new(&task.settings).unwrap();
        let lease = store.grant_lease().await.unwrap();
        for name in ["a", "b", "c"] {
            register(
                &store,
                lease.id(),
                HOST,
                name,
                PortRequest::Range([100, 199]),
            )
            .await
            .unwrap();
        }
        let me = cadre::registry::ProcessId::current();
        let record = DaemonRecord {
            host: HOST.into(),
            pid: me.pid,
            pid_start: me.start,
            dir: "/tmp/specialists.d".into(),
            control: None,
            http: None,
            started_at: cadre::registry::now_rfc3339(),
            waiting: Vec::new(),
        };
        store.put_daemon(lease.id(), &record).await.unwrap();
        report(&format!("ready {}", lease.ttl().as_secs()));
        wait_for_parent();
    });
}

#[test]
fn a_killed_daemons_entries_leave_within_ttl_plus_one_second() {
    if let Some(task) = child_task() {
        return crash_child(task);
    }
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = store(&cluster);
        let snap = store.list(Consistency::Linearizable).await.unwrap();
        let mut follow = store.follow(snap.revision + 1);
        let mut child = Worker::spawn(
            "etcd::lease::a_killed_daemons_entries_leave_within_ttl_plus_one_second",
            "crash",
            &cluster.settings(),
            "",
            &[],
        );
        let ready = tokio::task::block_in_place(|| child.line());
        let ttl: u64 = ready.strip_prefix("ready ").unwrap().parse().unwrap();
        let mut puts = 0;
        while puts < 3 {
            for c in follow.next().await.unwrap() {
                assert!(matches!(c, Change::Put(_)), "{c:?}");
                puts += 1;
            }
        }
        assert_eq!(
            store
                .daemons(Consistency::Linearizable)
                .await
                .unwrap()
                .len(),
            1
        );

        child.kill();
        let killed = Instant::now();
        let mut deleted = Vec::new();
        while deleted.len() < 3 {
            let changes = tokio::time::timeout(Duration::from_secs(30), follow.next())
                .await
                .expect("no delete within 30 s")
                .unwrap();
            for c in changes {
                match c {
                    Change::Delete { host, name } => {
                        assert_eq!(host, HOST);
                        deleted.push(name);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        let took = killed.elapsed();
        eprintln!("entries of a killed daemon (TTL {ttl} s) left {took:?} after the kill");
        assert!(
            took <= Duration::from_secs(ttl + 1),
            "entries left {took:?} after the kill; TTL is {ttl} s"
        );
        deleted.sort();
        assert_eq!(deleted, ["a", "b", "c"]);
        assert!(store.port_claims(HOST).await.unwrap().is_empty());
        assert!(
            store
                .daemons(Consistency::Linearizable)
                .await
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn a_revoked_lease_is_reported_lost_and_refuses_writes() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    runtime().block_on(async {
        let store = store(&cluster);
        let lease = store.grant_lease().await.unwrap();
        let reg = register(&store, lease.id(), HOST, "a", PortRequest::Pinned(80))
            .await
            .unwrap();
        assert_eq!(reg.entry.port, 80);
        assert_eq!(lease.state(), LeaseState::Alive);

        // Someone else (an operator, etcdctl) revokes it.
        store.client().lease_revoke(lease.id()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), lease.lost())
            .await
            .expect("the keeper did not notice the revoked lease");
        assert_eq!(lease.state(), LeaseState::Lost);

        let mut e = reg.entry.clone();
        e.state = cadre::registry::State::Draining;
        let err = store.update(lease.id(), &e).await.unwrap_err();
        assert!(matches!(err, EtcdError::LeaseLost { .. }), "{err}");
        let err = register(&store, lease.id(), HOST, "b", PortRequest::Pinned(81))
            .await
            .unwrap_err();
        assert!(matches!(err, EtcdError::LeaseLost { .. }), "{err}");
        assert!(
            store
                .list(Consistency::Linearizable)
                .await
                .unwrap()
                .entries
                .is_empty()
        );
    });
}

#[test]
fn a_clean_revoke_removes_every_entry_at_once() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    runtime().block_on(async {
        let store = store(&cluster);
        let lease = store.grant_lease().await.unwrap();
        let other = store.grant_lease().await.unwrap();
        for name in ["a", "b"] {
            register(&store, lease.id(), HOST, name, PortRequest::Range([1, 9]))
                .await
                .unwrap();
        }
        register(&store, other.id(), HOST, "c", PortRequest::Range([1, 9]))
            .await
            .unwrap();
        lease.revoke().await.unwrap();
        let snap = store.list(Consistency::Linearizable).await.unwrap();
        let names: Vec<_> = snap.entries.iter().map(|r| r.entry.name.as_str()).collect();
        assert_eq!(names, ["c"]);
        let claims = store.port_claims(HOST).await.unwrap();
        assert_eq!(claims.len(), 1, "{claims:?}");
        assert_eq!(claims[&3].name, "c");
    });
}
