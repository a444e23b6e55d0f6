//! Member loss: one member down (the one the client talks to) has no effect;
//! two down (quorum lost) gives a typed "unavailable" error while a
//! serializable read still answers, and everything works again, with every
//! entry still there, once they are back.

use std::time::Duration;

use cadre::registry::etcd::{Consistency, LeaseState, PortRequest};

use super::*;

const HOST: &str = "10.255.6.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_one_member_has_no_effect() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let store = store(&cluster);
    let lease = store.grant_lease().await.unwrap();
    for name in ["a", "b"] {
        register(&store, lease.id(), HOST, name, PortRequest::Range([1, 9]))
            .await
            .unwrap();
    }
    // The client's first endpoint is member 0: take it away.
    tokio::task::block_in_place(|| cluster.kill(0));
    let c = register(&store, lease.id(), HOST, "c", PortRequest::Range([1, 9]))
        .await
        .unwrap();
    assert_eq!(c.entry.port, 3);
    // Three TTLs later the lease still lives on the keep-alives sent elsewhere.
    tokio::time::sleep(lease.ttl() * 3).await;
    assert_eq!(lease.state(), LeaseState::Alive);
    let snap = store.list(Consistency::Linearizable).await.unwrap();
    assert_eq!(snap.entries.len(), 3);
    assert!(store.deregister(lease.id(), HOST, "a").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_quorum_is_unavailable_and_recovers() {
    let Some(mut cluster) = EtcdCluster::start(3) else {
        return;
    };
    let store = store(&cluster);
    let lease = store.grant_lease().await.unwrap();
    for name in ["a", "b"] {
        register(&store, lease.id(), HOST, name, PortRequest::Range([1, 9]))
            .await
            .unwrap();
    }
    tokio::task::block_in_place(|| {
        cluster.stop(1);
        cluster.stop(2);
    });

    let err = store.list(Consistency::Linearizable).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(
        err.to_string()
            .starts_with("etcd unavailable: none of 3 endpoint(s) answered"),
        "{err}"
    );
    let err = register(&store, lease.id(), HOST, "c", PortRequest::Range([1, 9]))
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    // The surviving member still answers from its own copy.
    let stale = store.list(Consistency::Serializable).await.unwrap();
    assert_eq!(stale.entries.len(), 2);
    let mut state = lease.subscribe();
    tokio::time::timeout(
        Duration::from_secs(20),
        state.wait_for(|s| matches!(s, LeaseState::Unreachable { .. })),
    )
    .await
    .expect("the keeper did not report the lease unreachable")
    .unwrap();

    tokio::task::block_in_place(|| {
        cluster.restart(1);
        cluster.restart(2);
        for i in 0..3 {
            cluster
                .wait_healthy(i, Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{e}\n{}", cluster.log(i)));
        }
    });
    // Nothing expires without a leader, and a new leader extends every
    // lease: the entries are all there, and the lease refreshes again.
    let back = eventually(Duration::from_secs(10), || async {
        store
            .list(Consistency::Linearizable)
            .await
            .is_ok_and(|s| s.entries.len() == 2)
    })
    .await;
    assert!(back, "entries not back after quorum returned");
    tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| *s == LeaseState::Alive),
    )
    .await
    .expect("the lease did not come back alive")
    .unwrap();
    register(&store, lease.id(), HOST, "c", PortRequest::Range([1, 9]))
        .await
        .unwrap();
}
