//! The file backend: every call is one transaction of the flock-locked
//! `registry.json`, run on the blocking pool. A reconcile writes at most
//! two: [`FileBackend::begin`] announces what is about to happen and grants
//! the ports of starts in the transaction that registers them;
//! [`FileBackend::assert_all`] then writes every entry this daemon owns as
//! it really is, and its daemon record. Re-asserting on every reconcile
//! heals a registry that was moved aside as corrupt or edited by hand.

use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, watch};

use super::backend::{Alloc, BackendError, Identity, Refusal, wake_on_departure};
use super::view::{self, Snapshot, Unavailable, View};
use crate::config::SpecialistName;
use crate::plan::{Claim, Holder};
use crate::registry::{DaemonRecord, Entry, Registry, RegistryError, State, Txn, now_rfc3339};

pub struct FileBackend {
    registry: Registry,
    pub(super) me: Identity,
    pub(super) view: View,
    pub(super) wake: Arc<Notify>,
    /// The last transaction's failure, until one succeeds.
    failing: Mutex<Option<Unavailable>>,
}

/// Why a start got no port, kept typed until the registry lock is released.
enum Failure {
    Registry(RegistryError),
    Held(Holder),
}

impl FileBackend {
    pub(super) fn open(registry: Registry, me: Identity, wake: Arc<Notify>) -> FileBackend {
        let (tx, rx) = watch::channel(Arc::new(Snapshot {
            local: true,
            ..Snapshot::default()
        }));
        let hook = wake_on_departure(wake.clone());
        let unreadable = {
            let wake = wake.clone();
            move || wake.notify_one()
        };
        tokio::spawn(view::follow_file(registry.clone(), tx, hook, unreadable));
        FileBackend {
            registry,
            me,
            view: View::new(rx),
            wake,
            failing: Mutex::new(None),
        }
    }

    pub(super) fn health(&self) -> Option<Unavailable> {
        let failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        failing
            .clone()
            .or_else(|| self.view.now().unavailable.clone())
    }

    /// Run `f` in a transaction off the async workers, remembering whether it failed.
    async fn transact<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, RegistryError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let registry = self.registry.clone();
        let r = match tokio::task::spawn_blocking(move || registry.transact(f)).await {
            Ok(r) => r.map_err(BackendError::File),
            Err(e) => Err(BackendError::Task(e.to_string())),
        };
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        *failing = match &r {
            Ok(_) => None,
            Err(e) => Some(Unavailable::now(e.to_string()).continuing(failing.as_ref())),
        };
        r
    }

    pub(super) async fn begin(
        &self,
        range: [u16; 2],
        allocs: Vec<Alloc>,
        marks: Vec<(SpecialistName, State)>,
    ) -> Result<Vec<Result<TcpListener, Refusal>>, BackendError> {
        let me = self.me.clone();
        let out = self
            .transact(move |txn| {
                let now = now_rfc3339();
                for (name, state) in &marks {
                    if let Some(e) = txn.data.specialists.get_mut(name)
                        && me.owns(e)
                    {
                        e.state = *state;
                        e.updated_at = now.clone();
                    }
                }
                Ok(allocs
                    .into_iter()
                    .map(|a| register(txn, &me, a, range, &now))
                    .collect::<Vec<_>>())
            })
            .await?;
        // The lock is released: now say who holds a held pinned port.
        Ok(out
            .into_iter()
            .map(|r| {
                r.map_err(|f| match f {
                    Failure::Held(h) => Refusal::Held(h),
                    Failure::Registry(mut e) => {
                        e.explain_held_port();
                        Refusal::Failed(e.to_string())
                    }
                })
            })
            .collect())
    }

    pub(super) async fn assert_all(
        &self,
        entries: Vec<Entry>,
        record: DaemonRecord,
    ) -> Result<(), BackendError> {
        // A resync of an idle daemon finds the registry as this daemon last
        // wrote it, and the view (which follows the file) says so: no locked
        // read and parse of every entry (~10-20 ms of CPU at 1000 specialists,
        // twice a minute: most of an idle daemon's CPU). A view that differs,
        // is stale or cannot read the file makes the transaction below, which
        // repairs it; an entry of ours that someone removes wakes a
        // reconcile (`wake_on_departure`), which lands here again. After a
        // failed transaction, the next one is made whatever the view says:
        // its success is what says the registry is back.
        let failing = self
            .failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        if !failing && agrees(&self.view.now(), &self.me, &entries, &record) {
            return Ok(());
        }
        let me = self.me.clone();
        self.transact(move |txn| {
            let specialists = &mut txn.data.specialists;
            let names: std::collections::HashSet<&SpecialistName> =
                entries.iter().map(|e| &e.name).collect();
            specialists.retain(|name, e| !me.owns(e) || names.contains(name));
            for e in entries {
                match specialists.get(&e.name) {
                    Some(old) if !me.owns(old) => {}
                    Some(old) if *old == e => {}
                    _ => {
                        specialists.insert(e.name.clone(), e);
                    }
                }
            }
            if txn.data.daemons.get(&record.pid) != Some(&record) {
                txn.data.daemons.insert(record.pid, record);
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn remove_all(&self) -> Result<(), BackendError> {
        let me = self.me.clone();
        self.transact(move |txn| {
            txn.data.specialists.retain(|_, e| !me.owns(e));
            txn.data.daemons.remove(&me.process.pid);
            Ok(())
        })
        .await
    }
}

/// Whether `snap` holds exactly `entries` as this daemon's and `record` as
/// its daemon record: what [`FileBackend::assert_all`] would write.
fn agrees(snap: &Snapshot, me: &Identity, entries: &[Entry], record: &DaemonRecord) -> bool {
    snap.unavailable.is_none()
        && snap.daemons.iter().any(|d| d == record)
        && snap.entries.iter().filter(|e| me.owns(e)).count() == entries.len()
        && entries
            .iter()
            .all(|e| snap.named(e.name.as_str()).iter().any(|s| s == e))
}

/// One alloc inside the transaction: refused when another live daemon
/// holds the name, else a port granted and the entry written.
fn register(
    txn: &mut Txn<'_>,
    me: &Identity,
    a: Alloc,
    range: [u16; 2],
    now: &str,
) -> Result<TcpListener, Failure> {
    let name = a.entry.name.clone();
    if let Some(e) = txn.data.specialists.get(&name)
        && !me.owns(e)
    {
        return Err(Failure::Held(Holder {
            pid: e.pid,
            dir: e.owner.clone(),
        }));
    }
    if a.replace {
        txn.data.specialists.remove(&name);
    }
    let listener = allocate(txn, &a.bind, a.claim, range).map_err(Failure::Registry)?;
    let mut entry = a.entry;
    entry.port = listener.local_addr().map(|s| s.port()).unwrap_or(0);
    entry.updated_at = now.to_owned();
    txn.data.specialists.insert(name, entry);
    Ok(listener)
}

fn allocate(
    txn: &mut Txn<'_>,
    host: &str,
    claim: Claim,
    range: [u16; 2],
) -> Result<TcpListener, RegistryError> {
    let first = match claim {
        Claim::Pinned(port) => return txn.allocate(host, Some(port), range),
        Claim::Prefer(port) => txn.allocate(host, Some(port), range).ok(),
        Claim::Any => None,
    };
    match first {
        Some(l) => Ok(l),
        None => txn.allocate(host, None, range),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::registry::{ProcessId, StateDir};

    async fn until(what: &str, ok: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ok() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A resync that finds the registry as this daemon wrote it neither
    /// takes the lock nor rewrites the file; one that finds its entry removed
    /// by someone else puts it back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unchanged_registry_is_not_rewritten_and_a_removed_entry_is_put_back() {
        let tmp = tempfile::tempdir().unwrap();
        let registry = Registry::open(StateDir(tmp.path().join("state"))).unwrap();
        let me = Identity {
            process: ProcessId::current(),
            owner: tmp.path().join("specialists.d"),
            control: None,
            http: None,
            started_at: now_rfc3339(),
        };
        let backend = FileBackend::open(registry.clone(), me.clone(), Arc::new(Notify::new()));
        let mut entry =
            super::super::replicas::tests::entry("numa", "127.0.0.1", "g1", State::Ready);
        (entry.pid, entry.pid_start, entry.owner) =
            (me.process.pid, me.process.start, me.owner.clone());
        let record = me.record("127.0.0.1", Vec::new());
        let entries = vec![entry.clone()];

        backend
            .assert_all(entries.clone(), record.clone())
            .await
            .unwrap();
        until("the view to show the entry", || {
            agrees(&backend.view.now(), &me, &entries, &record)
        })
        .await;
        let stamp = || {
            let m = std::fs::metadata(registry.file_path()).unwrap();
            (m.ino(), m.mtime(), m.mtime_nsec())
        };
        let before = stamp();
        // Another process holds the lock all the while: a transaction would wait for it.
        let (locked_tx, locked) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let registry = registry.clone();
            std::thread::spawn(move || {
                registry.transact(|_| {
                    locked_tx.send(()).unwrap();
                    let _ = release_rx.recv_timeout(Duration::from_secs(20));
                    Ok::<_, RegistryError>(())
                })
            })
        };
        locked.recv().unwrap();
        let idle = tokio::time::timeout(Duration::from_secs(2), async {
            for _ in 0..3 {
                backend
                    .assert_all(entries.clone(), record.clone())
                    .await
                    .unwrap();
            }
        })
        .await;
        release.send(()).unwrap();
        holder.join().unwrap().unwrap();
        assert!(
            idle.is_ok(),
            "an idle assert waited for the registry's lock"
        );
        assert_eq!(stamp(), before, "an unchanged registry was rewritten");

        // Another process drops the entry: the view sees it, the next assert repairs it.
        registry
            .transact(|txn| {
                txn.data.specialists.clear();
                Ok::<_, RegistryError>(())
            })
            .unwrap();
        until("the view to lose the entry", || {
            backend.view.now().named("numa").is_empty()
        })
        .await;
        backend
            .assert_all(entries.clone(), record.clone())
            .await
            .unwrap();
        let data = registry.read().unwrap();
        assert_eq!(
            data.specialists.values().cloned().collect::<Vec<_>>(),
            entries
        );

        // A changed entry (a reload's new generation) is written, not skipped.
        let mut reloaded = entry.clone();
        reloaded.generation = "g2".into();
        backend
            .assert_all(vec![reloaded.clone()], record.clone())
            .await
            .unwrap();
        let data = registry.read().unwrap();
        assert_eq!(
            data.specialists.values().cloned().collect::<Vec<_>>(),
            [reloaded]
        );
    }
}
