//! Port allocation per host in one transaction with registration: a storm
//! from four processes × 25 tasks never yields a duplicate port; conflicts
//! are typed and name the holder; replicas on two hosts share a port
//! number; a deregistered port is granted again; broken keys are skipped.

use std::collections::{BTreeMap, BTreeSet};

use cadre::registry::etcd::{Consistency, EtcdError, EtcdStore, PortRequest, wire};

use super::*;

const STORM_HOST: &str = "10.255.2.1";
const PROCS: usize = 4;
const TASKS: usize = 25;
const RANGE: [u16; 2] = [20000, 20199];

fn storm_child(task: ChildTask) {
    assert_eq!(task.role, "storm");
    runtime().block_on(async {
        let store = EtcdStore::new(&task.settings).unwrap();
        let lease = store.grant_lease().await.unwrap();
        let tasks: Vec<_> = (0..TASKS)
            .map(|k| {
                let store = store.clone();
                let id = lease.id();
                let name = format!("w{}-{k}", task.arg);
                tokio::spawn(async move {
                    let e = entry_on(STORM_HOST, &name);
                    let r = store
                        .register(id, e, PortRequest::Range(RANGE), any_port)
                        .await;
                    (name, r.map(|r| r.entry.port))
                })
            })
            .collect();
        let mut granted = BTreeMap::new();
        for t in tasks {
            let (name, port) = t.await.unwrap();
            granted.insert(name, port.unwrap());
        }
        report(&serde_json::to_string(&(lease.id(), granted)).unwrap());
        wait_for_parent();
        lease.revoke().await.unwrap();
    });
}

#[test]
fn a_storm_from_four_processes_never_yields_a_duplicate_port() {
    if let Some(task) = child_task() {
        return storm_child(task);
    }
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    let test = "etcd::ports::a_storm_from_four_processes_never_yields_a_duplicate_port";
    let mut workers: Vec<Worker> = (0..PROCS)
        .map(|i| Worker::spawn(test, "storm", &cluster.settings(), &i.to_string(), &[]))
        .collect();
    let mut by_port: BTreeMap<u16, (i64, String)> = BTreeMap::new();
    for w in &mut workers {
        let (lease, granted): (i64, BTreeMap<String, u16>) =
            serde_json::from_str(&w.line()).unwrap();
        for (name, port) in granted {
            assert!((RANGE[0]..=RANGE[1]).contains(&port), "{port}");
            if let Some(first) = by_port.insert(port, (lease, name.clone())) {
                panic!("port {port} granted to {first:?} and to {name}");
            }
        }
    }
    assert_eq!(by_port.len(), PROCS * TASKS);
    runtime().block_on(async {
        let store = store(&cluster);
        // What etcd holds agrees: one claim per entry, on the entry's port.
        let claims = store.port_claims(STORM_HOST).await.unwrap();
        let snap = store.list(Consistency::Linearizable).await.unwrap();
        assert_eq!(snap.entries.len(), PROCS * TASKS);
        assert_eq!(claims.len(), PROCS * TASKS);
        for r in &snap.entries {
            let c = &claims[&r.entry.port];
            assert_eq!((c.lease, &c.name), (r.lease, &r.entry.name.to_string()));
            assert_eq!(by_port[&r.entry.port], (r.lease, r.entry.name.to_string()));
        }
        // The lowest ports went first: the grants are the range's first 100.
        let ports: BTreeSet<u16> = claims.keys().copied().collect();
        let expected: BTreeSet<u16> = (RANGE[0]..RANGE[0] + (PROCS * TASKS) as u16).collect();
        assert_eq!(ports, expected);
    });
    for w in workers {
        w.finish();
    }
    runtime().block_on(async {
        let store = store(&cluster);
        assert!(
            store
                .list(Consistency::Linearizable)
                .await
                .unwrap()
                .entries
                .is_empty()
        );
        assert!(store.port_claims(STORM_HOST).await.unwrap().is_empty());
    });
}

#[test]
fn conflicts_are_typed_and_replicas_share_a_port_across_hosts() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    runtime().block_on(async {
        let store = store(&cluster);
        let (a, b) = (
            store.grant_lease().await.unwrap(),
            store.grant_lease().await.unwrap(),
        );
        let h1 = "10.255.3.1";
        let h2 = "10.255.3.2";
        let numa = register(&store, a.id(), h1, "numa", PortRequest::Pinned(30000))
            .await
            .unwrap();
        assert_eq!(numa.entry.port, 30000);

        let err = register(&store, b.id(), h1, "penia", PortRequest::Pinned(30000))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "pinned port 30000 on 10.255.3.1 is already held by specialist `numa`"
        );
        let err = register(
            &store,
            b.id(),
            h1,
            "numa",
            PortRequest::Range([30000, 30010]),
        )
        .await
        .unwrap_err();
        match err {
            EtcdError::NameHeld { host, name, lease } => {
                assert_eq!((host.as_str(), name.as_str(), lease), (h1, "numa", a.id()));
            }
            other => panic!("expected NameHeld, got {other}"),
        }
        // The same name and port on another host: a replica.
        let replica = register(&store, b.id(), h2, "numa", PortRequest::Pinned(30000))
            .await
            .unwrap();
        assert_eq!(replica.entry.port, 30000);
        let snap = store.list(Consistency::Linearizable).await.unwrap();
        let hosts: Vec<_> = snap.entries.iter().map(|r| r.entry.host.as_str()).collect();
        assert_eq!(hosts, [h1, h2]);

        // A foreign program on a port: skipped for a range, refused when pinned.
        let busy = |p: u16| (p != 30001).then_some(());
        let penia = store
            .register(
                b.id(),
                entry_on(h1, "penia"),
                PortRequest::Range([30000, 30010]),
                busy,
            )
            .await
            .unwrap();
        assert_eq!(penia.entry.port, 30002);
        let err = store
            .register(b.id(), entry_on(h1, "x"), PortRequest::Pinned(30001), busy)
            .await
            .unwrap_err();
        assert!(
            matches!(err, EtcdError::PinnedPortInUse { port: 30001, .. }),
            "{err}"
        );
        // A full range.
        let err = register(&store, b.id(), h1, "y", PortRequest::Range([30000, 30000]))
            .await
            .unwrap_err();
        assert!(matches!(err, EtcdError::NoFreePort { .. }), "{err}");
    });
}

#[test]
fn a_new_port_releases_the_old_and_deregistration_frees_it() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    runtime().block_on(async {
        let store = store(&cluster);
        let (a, b) = (
            store.grant_lease().await.unwrap(),
            store.grant_lease().await.unwrap(),
        );
        let h = "10.255.4.1";
        let first = register(&store, a.id(), h, "numa", PortRequest::Range([40, 49]))
            .await
            .unwrap();
        assert_eq!(first.entry.port, 40);
        // Registering again keeps the port (its own claim comes first)…
        let again = register(&store, a.id(), h, "numa", PortRequest::Range([40, 49]))
            .await
            .unwrap();
        assert_eq!(again.entry.port, 40);
        // …and a pinned change of port frees the old one in the same transaction.
        register(&store, a.id(), h, "numa", PortRequest::Pinned(45))
            .await
            .unwrap();
        let claims = store.port_claims(h).await.unwrap();
        assert_eq!(claims.keys().copied().collect::<Vec<_>>(), [45]);

        // Someone else's deregistration does nothing; ours frees the port.
        assert!(!store.deregister(b.id(), h, "numa").await.unwrap());
        assert!(store.deregister(a.id(), h, "numa").await.unwrap());
        assert!(store.port_claims(h).await.unwrap().is_empty());
        let next = register(&store, b.id(), h, "penia", PortRequest::Pinned(45))
            .await
            .unwrap();
        assert_eq!(next.entry.port, 45);
        assert!(!store.deregister(a.id(), h, "numa").await.unwrap());
    });
}

#[test]
fn broken_and_hostile_keys_are_skipped_not_fatal() {
    let Some(cluster) = EtcdCluster::start(3) else {
        return;
    };
    runtime().block_on(async {
        let store = store(&cluster);
        let lease = store.grant_lease().await.unwrap();
        let h = "10.255.5.1";
        register(&store, lease.id(), h, "numa", PortRequest::Pinned(7))
            .await
            .unwrap();
        let raw = |key: &str, value: &str| wire::PutRequest {
            key: key.into(),
            value: value.into(),
            lease: 0,
        };
        let k = store.keys().clone();
        let c = store.client();
        c.put(&raw(&k.specialist(h, "garbage"), "{not json"))
            .await
            .unwrap();
        let lying = serde_json::to_string(&entry_on(h, "someone-else")).unwrap();
        c.put(&raw(&k.specialist(h, "liar"), &lying)).await.unwrap();
        c.put(&raw(&format!("{}specialists/nohost", k.prefix()), "{}"))
            .await
            .unwrap();

        let snap = store.list(Consistency::Linearizable).await.unwrap();
        let names: Vec<_> = snap.entries.iter().map(|r| r.entry.name.as_str()).collect();
        assert_eq!(names, ["numa"]);
        let skipped: Vec<_> = snap.skipped.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(skipped.len(), 3, "{:?}", snap.skipped);
        assert!(
            snap.skipped
                .iter()
                .any(|(_, why)| why.contains("holds 10.255.5.1/someone-else"))
        );

        // Hosts and names that would change a key's shape never reach etcd.
        for (host, name) in [("a/b", "x"), ("", "x")] {
            let err = register(&store, lease.id(), host, name, PortRequest::Pinned(9))
                .await
                .unwrap_err();
            assert!(matches!(err, EtcdError::InvalidKeyPart { .. }), "{err}");
        }
        // Such a name is no specialist name: no entry can hold it.
        for name in ["../x", "x y"] {
            assert!(
                name.parse::<cadre::config::SpecialistName>().is_err(),
                "{name}"
            );
        }
    });
}
