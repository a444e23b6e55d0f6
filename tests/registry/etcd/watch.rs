//! The follower sees puts and deletes in order, resumes on another member
//! when its member dies (nothing missed, nothing twice), and starts over
//! from a fresh list when the history it needs was compacted.

use std::time::Duration;

use cadre::registry::State;
use cadre::registry::etcd::{Change, Consistency, Follower, PortRequest};

use super::*;

const HOST: &str = "10.255.7.1";

async fn next(f: &mut Follower) -> Vec<Change> {
    tokio::time::timeout(Duration::from_secs(30), f.next())
        .await
        .expect("no change within 30 s")
        .unwrap()
}

fn put_of(changes: &[Change]) -> Vec<(String, State)> {
    changes
        .iter()
        .map(|c| match c {
            Change::Put(r) => (r.entry.name.to_string(), r.entry.state),
            other => panic!("expected a put, got {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_sees_puts_and_deletes_and_resumes_on_another_member() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let store = store(&cluster);
    let lease = store.grant_lease().await.unwrap();
    let snap = store.list(Consistency::Linearizable).await.unwrap();
    let mut follow = store.follow(snap.revision + 1);

    let a = register(&store, lease.id(), HOST, "a", PortRequest::Range([1, 9]))
        .await
        .unwrap();
    assert_eq!(
        put_of(&next(&mut follow).await),
        [("a".into(), State::Ready)]
    );
    let mut e = a.entry.clone();
    e.state = State::Reloading;
    store.update(lease.id(), &e).await.unwrap();
    assert_eq!(
        put_of(&next(&mut follow).await),
        [("a".into(), State::Reloading)]
    );
    assert!(store.deregister(lease.id(), HOST, "a").await.unwrap());
    let deleted = next(&mut follow).await;
    assert_eq!(
        deleted,
        [Change::Delete {
            host: HOST.into(),
            name: "a".into()
        }]
    );

    // The watch (like every call so far) is on member 0: kill it, change
    // things meanwhile, and the follower picks up exactly what it missed.
    tokio::task::block_in_place(|| cluster.kill(0));
    for name in ["b", "c"] {
        register(&store, lease.id(), HOST, name, PortRequest::Range([1, 9]))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 2 {
        seen.extend(put_of(&next(&mut follow).await));
    }
    assert_eq!(
        seen,
        [("b".into(), State::Ready), ("c".into(), State::Ready)]
    );
    // And it keeps following on the new member.
    assert!(store.deregister(lease.id(), HOST, "b").await.unwrap());
    assert!(matches!(&next(&mut follow).await[..], [Change::Delete { name, .. }] if name == "b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compacted_history_gives_a_reset_then_changes() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let store = store(&cluster);
    let lease = store.grant_lease().await.unwrap();
    let snap = store.list(Consistency::Linearizable).await.unwrap();
    let mut follow = store.follow(snap.revision + 1);
    for name in ["a", "b"] {
        register(&store, lease.id(), HOST, name, PortRequest::Range([1, 9]))
            .await
            .unwrap();
    }
    assert!(store.deregister(lease.id(), HOST, "a").await.unwrap());
    let now = store
        .list(Consistency::Linearizable)
        .await
        .unwrap()
        .revision;
    // An operator (or etcd's auto-compaction) drops the history.
    let out = std::process::Command::new("etcdctl")
        .args([
            "--endpoints",
            &cluster.endpoint(1),
            "compact",
            &now.to_string(),
        ])
        .env("ETCDCTL_API", "3")
        .output()
        .expect("etcdctl (scripts/ci-etcd.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    match &next(&mut follow).await[..] {
        [Change::Reset(entries)] => {
            let names: Vec<_> = entries.iter().map(|r| r.entry.name.as_str()).collect();
            assert_eq!(names, ["b"]);
        }
        other => panic!("expected a reset, got {other:?}"),
    }
    register(&store, lease.id(), HOST, "c", PortRequest::Range([1, 9]))
        .await
        .unwrap();
    assert_eq!(
        put_of(&next(&mut follow).await),
        [("c".into(), State::Ready)]
    );
}
