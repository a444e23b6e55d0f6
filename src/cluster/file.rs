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
