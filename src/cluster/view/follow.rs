//! Following the registry over time, for a daemon's [`View`]: etcd by its
//! watch, the file by a watch on it (and a poll only while another daemon's
//! entries are in it). Each publishes a new [`Snapshot`] only when it differs.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::{Snapshot, Unavailable};
use crate::registry::etcd::{Consistency, EtcdStore};
use crate::registry::{Entry, Registry};

/// Follow etcd: a full list, then its watch; a failure keeps the last
/// entries, marks the view unavailable and starts again with a list.
pub(in crate::cluster) async fn follow_etcd(
    store: EtcdStore,
    tx: watch::Sender<Arc<Snapshot>>,
    on_change: impl Fn(&Snapshot, &Snapshot) + Send + 'static,
) {
    use crate::registry::etcd::Change;
    use std::collections::BTreeMap;
    let mut backoff = Duration::from_millis(200);
    loop {
        let snap = match store.list(Consistency::Linearizable).await {
            Ok(s) => s,
            Err(e) => {
                mark_unavailable(&tx, e.to_string());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(200);
        let mut known: BTreeMap<(String, String), Entry> = snap
            .entries
            .into_iter()
            .map(|r| ((r.entry.host.clone(), r.entry.name.to_string()), r.entry))
            .collect();
        publish(&tx, &known, None, &on_change);
        let mut follower = store.follow(snap.revision + 1);
        loop {
            match follower.next().await {
                Ok(changes) => {
                    for c in changes {
                        match c {
                            Change::Put(r) => {
                                let key = (r.entry.host.clone(), r.entry.name.to_string());
                                known.insert(key, r.entry);
                            }
                            Change::Delete { host, name } => {
                                known.remove(&(host, name));
                            }
                            Change::Reset(all) => {
                                known = all
                                    .into_iter()
                                    .map(|r| {
                                        ((r.entry.host.clone(), r.entry.name.to_string()), r.entry)
                                    })
                                    .collect();
                            }
                            Change::Skipped { key, reason } => {
                                tracing::debug!(%key, "registry key skipped: {reason}");
                            }
                        }
                    }
                    publish(&tx, &known, None, &on_change);
                }
                Err(e) => {
                    // List again once etcd answers: a watch that reopens
                    // says nothing until a key changes, and the view must
                    // say the registry is back as soon as it is.
                    mark_unavailable(&tx, e.to_string());
                    tokio::time::sleep(backoff).await;
                    break;
                }
            }
            if tx.is_closed() {
                return;
            }
        }
    }
}

fn publish(
    tx: &watch::Sender<Arc<Snapshot>>,
    known: &std::collections::BTreeMap<(String, String), Entry>,
    unavailable: Option<Unavailable>,
    on_change: &impl Fn(&Snapshot, &Snapshot),
) {
    let next = Snapshot {
        entries: known.values().cloned().collect(),
        daemons: Vec::new(),
        local: false,
        unavailable,
    }
    .sorted();
    let old = tx.borrow().clone();
    if *old != next {
        on_change(&old, &next);
        tx.send_replace(Arc::new(next));
    }
}

fn mark_unavailable(tx: &watch::Sender<Arc<Snapshot>>, reason: String) {
    tx.send_if_modified(|s| {
        if s.unavailable.is_some() {
            return false;
        }
        let mut next = (**s).clone();
        next.unavailable = Some(Unavailable::now(reason));
        *s = Arc::new(next);
        true
    });
}

/// How often a daemon looks at the file registry while another daemon's
/// entries are in it: a look is a `stat` and a `/proc` read per foreign
/// owner; the file is read only when it changed. Alone on a registry, a
/// daemon only wakes when a watch sees the file change (an idle daemon
/// sleeps, issue 15), since its own entries die with it.
const FILE_POLL: Duration = Duration::from_millis(100);

/// Follow the file registry: read it when it changed, or when a daemon
/// whose entries it holds has died (its entries then drop out of the view
/// before any transaction reclaims them). A changed file that cannot be
/// read (truncated, garbled, not a file) calls `unreadable` once: the next
/// transaction moves it aside and rebuilds it.
pub(in crate::cluster) async fn follow_file(
    registry: Registry,
    tx: watch::Sender<Arc<Snapshot>>,
    on_change: impl Fn(&Snapshot, &Snapshot) + Send + 'static,
    unreadable: impl Fn() + Send + 'static,
) {
    let path = registry.file_path();
    let changed = Arc::new(tokio::sync::Notify::new());
    let watcher = {
        let changed = changed.clone();
        crate::watch::watch_file(&path, move || changed.notify_one())
    };
    if let Err(e) = &watcher {
        tracing::warn!("{e}; looking at the registry every {FILE_POLL:?} instead");
    }
    let me = crate::registry::ProcessId::current();
    let mut stamp = None;
    let mut first = true;
    loop {
        if !first {
            let poll = watcher.is_err() || has_foreign_owner(&tx.borrow(), me);
            tokio::select! {
                _ = changed.notified(), if !poll => {}
                _ = tokio::time::timeout(FILE_POLL, changed.notified()), if poll => {}
                () = tx.closed() => return,
            }
        }
        first = false;
        let now_stamp = file_stamp(&path);
        let owners_alive = {
            // One `/proc` read per foreign owner, not per entry.
            let snap = tx.borrow();
            let mut seen = std::collections::HashSet::from([me]);
            snap.daemons
                .iter()
                .map(|d| d.process())
                .chain(snap.entries.iter().map(|e| e.owner_process()))
                .filter(|p| seen.insert(*p))
                .all(|p| p.is_alive())
        };
        if now_stamp == stamp && owners_alive {
            continue;
        }
        let reg = registry.clone();
        let next = match tokio::task::spawn_blocking(move || reg.read()).await {
            Ok(Ok(data)) => Snapshot {
                entries: data.specialists.into_values().collect(),
                daemons: data.daemons.into_values().collect(),
                local: true,
                unavailable: None,
            }
            .sorted(),
            Ok(Err(e)) => {
                stamp = now_stamp;
                mark_unavailable(&tx, e.to_string());
                unreadable();
                continue;
            }
            Err(_) => continue,
        };
        stamp = now_stamp;
        let old = tx.borrow().clone();
        if *old != next {
            on_change(&old, &next);
            tx.send_replace(Arc::new(next));
        }
    }
}

/// Whether another process's daemon record or entry is in the view: only
/// then can an owner die without this daemon (or a file event) noticing.
fn has_foreign_owner(snap: &Snapshot, me: crate::registry::ProcessId) -> bool {
    snap.daemons.iter().any(|d| d.process() != me)
        || snap.entries.iter().any(|e| e.owner_process() != me)
}

/// What tells a changed file apart: inode, size, modification time.
fn file_stamp(path: &std::path::Path) -> Option<(u64, u64, SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.len(), m.modified().ok()?))
}
