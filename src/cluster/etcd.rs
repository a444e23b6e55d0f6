//! The etcd backend. The daemon holds one lease; every entry, port claim
//! and its daemon record hang on it, so a crashed or cut-off daemon's keys
//! vanish one TTL after its last refresh. What this daemon wrote is
//! remembered, so asserting sends only what changed (in parallel), and a
//! lost lease (expired while etcd was unreachable) means: grant a new one
//! and register everything again, each specialist on the port it is bound
//! to. While etcd is unreachable every call fails fast with `Unavailable`
//! and the specialists keep serving; the supervisor is woken when the lease
//! changes state, so it catches up as soon as etcd answers again.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use tokio::sync::{Notify, watch};

use super::backend::{Alloc, BackendError, Identity, Refusal, wake_on_departure};
use super::view::{self, Snapshot, Unavailable, View};
use crate::config::SpecialistName;
use crate::plan::{Claim, Holder};
use crate::registry::etcd::{EtcdError, EtcdSettings, EtcdStore, Lease, LeaseState, PortRequest};
use crate::registry::{DaemonRecord, Entry, State, ports};

/// Updates sent at once when asserting.
const PARALLEL: usize = 16;

pub struct EtcdBackend {
    store: EtcdStore,
    pub(super) me: Identity,
    pub(super) view: View,
    pub(super) wake: Arc<Notify>,
    session: tokio::sync::Mutex<Session>,
    /// The lease's state as its keeper last saw it.
    lease_state: Mutex<Option<watch::Receiver<LeaseState>>>,
    /// The last call's failure, until one succeeds or the lease is renewed.
    failing: Arc<Mutex<Option<Unavailable>>>,
}

#[derive(Default)]
struct Session {
    lease: Option<Lease>,
    /// What etcd holds for us, as we last wrote it, by name.
    written: BTreeMap<SpecialistName, Entry>,
    record: Option<DaemonRecord>,
}

impl EtcdBackend {
    pub(super) async fn open(
        settings: &EtcdSettings,
        me: Identity,
        wake: Arc<Notify>,
    ) -> Result<EtcdBackend, BackendError> {
        settings.validate()?;
        let store = EtcdStore::new(settings)?;
        let (tx, rx) = watch::channel(Arc::new(Snapshot::default()));
        let hook = wake_on_departure(wake.clone());
        tokio::spawn(view::follow_etcd(store.clone(), tx, hook));
        Ok(EtcdBackend {
            store,
            me,
            view: View::new(rx),
            wake,
            session: tokio::sync::Mutex::new(Session::default()),
            lease_state: Mutex::new(None),
            failing: Arc::default(),
        })
    }

    pub(super) fn health(&self) -> Option<Unavailable> {
        let lease = self
            .lease_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|rx| *rx.borrow());
        if let Some(LeaseState::Unreachable { since }) = lease {
            return Some(Unavailable {
                since,
                reason:
                    "etcd does not renew this daemon's lease (no endpoint answers, or no quorum)"
                        .into(),
            });
        }
        let failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        failing
            .clone()
            .or_else(|| self.view.now().unavailable.clone())
    }

    /// Remember how `r` went for [`EtcdBackend::health`].
    fn note<T>(&self, r: &Result<T, EtcdError>) {
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        match r {
            Ok(_) => *failing = None,
            Err(e) if e.is_unavailable() => {
                *failing = Some(Unavailable::now(e.to_string()).continuing(failing.as_ref()));
            }
            Err(_) => {}
        }
    }

    /// The live lease, granting a new one (and forgetting what the old one
    /// carried) when there is none or it was lost.
    async fn lease(&self, s: &mut Session) -> Result<i64, EtcdError> {
        if let Some(l) = &s.lease
            && l.state() != LeaseState::Lost
        {
            return Ok(l.id());
        }
        let r = self.store.grant_lease().await;
        self.note(&r);
        let lease = r?;
        if s.lease.is_some() {
            tracing::warn!(
                lease = %format!("{:x}", lease.id()),
                "the etcd lease was lost; registering every specialist again on a new one"
            );
        }
        let mut rx = lease.subscribe();
        *self
            .lease_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(rx.clone());
        let wake = self.wake.clone();
        let failing = self.failing.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                // A renewed lease is etcd answering: an earlier failure is over.
                if *rx.borrow_and_update() == LeaseState::Alive {
                    *failing.lock().unwrap_or_else(PoisonError::into_inner) = None;
                }
                wake.notify_one();
            }
        });
        s.written.clear();
        s.record = None;
        let id = lease.id();
        s.lease = Some(lease);
        Ok(id)
    }

    pub(super) async fn begin(
        &self,
        range: [u16; 2],
        allocs: Vec<Alloc>,
        marks: Vec<(SpecialistName, State)>,
    ) -> Result<Vec<Result<TcpListener, Refusal>>, BackendError> {
        let mut s = self.session.lock().await;
        let lease = match self.lease(&mut s).await {
            Ok(l) => l,
            Err(e) => {
                let why = format!("registry: {e}");
                return Ok(allocs
                    .iter()
                    .map(|_| Err(Refusal::Failed(why.clone())))
                    .collect());
            }
        };
        for (name, state) in marks {
            let Some(mut e) = s.written.get(&name).cloned() else {
                continue;
            };
            e.state = state;
            let r = self.store.update(lease, &e).await;
            self.note(&r);
            if r.is_ok() {
                s.written.insert(name, e);
            }
        }
        // In parallel, each unpinned start first trying a port of its own, so
        // they rarely race for one (etcd's compare-and-write keeps them
        // apart when they do; a loser takes the lowest free port instead).
        let allocs = spread(allocs, range, &self.view.now());
        let results: Vec<_> = futures::stream::iter(allocs)
            .map(|a| async move {
                let name = a.entry.name.clone();
                (name, self.register(lease, a, range).await)
            })
            .buffered(PARALLEL)
            .collect()
            .await;
        let mut out = Vec::with_capacity(results.len());
        for (name, r) in results {
            self.note(&r);
            out.push(match r {
                Ok((entry, listener)) => {
                    s.written.insert(name, entry);
                    Ok(listener)
                }
                Err(e) => Err(self.refusal(e)),
            });
        }
        Ok(out)
    }

    /// Register one alloc with a port bound on its address.
    async fn register(
        &self,
        lease: i64,
        a: Alloc,
        range: [u16; 2],
    ) -> Result<(Entry, TcpListener), EtcdError> {
        let ip = ports::resolve(&a.bind).map_err(|e| EtcdError::Config(e.to_string()))?;
        let bind = |port| ports::bind(ip, port).ok();
        let first = match a.claim {
            Claim::Pinned(p) => PortRequest::Pinned(p),
            Claim::Prefer(p) => PortRequest::Pinned(p),
            Claim::Any => PortRequest::Range(range),
        };
        let r = self
            .store
            .register(lease, a.entry.clone(), first, bind)
            .await;
        let r = match (r, a.claim) {
            (Err(e), Claim::Prefer(_)) if !e.is_unavailable() && !is_held(&e) => {
                let bind = |port| ports::bind(ip, port).ok();
                let want = PortRequest::Range(range);
                self.store.register(lease, a.entry, want, bind).await
            }
            (r, _) => r,
        };
        r.map(|g| (g.entry, g.listener))
    }

    /// An error of a registration as the supervisor reports it.
    fn refusal(&self, e: EtcdError) -> Refusal {
        if let EtcdError::NameHeld { host, name, .. } = &e
            && let Some(holder) = self
                .view
                .now()
                .entries
                .iter()
                .find(|x| x.host == *host && x.name == name.as_str())
        {
            return Refusal::Held(Holder {
                pid: holder.pid,
                dir: holder.owner.clone(),
            });
        }
        if e.is_unavailable() {
            return Refusal::Failed(format!("registry: {e}"));
        }
        Refusal::Failed(e.to_string())
    }

    pub(super) async fn assert_all(
        &self,
        entries: Vec<Entry>,
        record: DaemonRecord,
    ) -> Result<(), BackendError> {
        let mut s = self.session.lock().await;
        let lease = self.lease(&mut s).await?;
        if s.record.as_ref() != Some(&record) {
            let r = self.store.put_daemon(lease, &record).await;
            self.note(&r);
            r?;
            s.record = Some(record);
        }
        let wanted: BTreeMap<SpecialistName, Entry> =
            entries.into_iter().map(|e| (e.name.clone(), e)).collect();
        // Gone from this daemon, or moved to another host: deregister.
        let stale: Vec<Entry> = s
            .written
            .values()
            .filter(|w| wanted.get(&w.name).is_none_or(|e| e.host != w.host))
            .cloned()
            .collect();
        for w in stale {
            let r = self.store.deregister(lease, &w.host, w.name.as_str()).await;
            self.note(&r);
            r?;
            s.written.remove(&w.name);
        }
        let changed: Vec<Entry> = wanted
            .into_values()
            .filter(|e| s.written.get(&e.name) != Some(e))
            .collect();
        let written = &s.written;
        let results: Vec<(Entry, Result<(), EtcdError>)> = futures::stream::iter(changed)
            .map(|e| async move {
                let r = self.write(lease, &e, written).await;
                (e, r)
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let mut first_err = None;
        for (e, r) in results {
            self.note(&r);
            match r {
                Ok(()) => {
                    s.written.insert(e.name.clone(), e);
                }
                Err(EtcdError::NameHeld { host, name, .. }) => {
                    // Taken while we could not renew our lease: the plan
                    // stops ours once the view shows the holder.
                    tracing::warn!(specialist = %name, %host, "another daemon registered this name meanwhile");
                }
                Err(err) => {
                    first_err.get_or_insert(err);
                }
            }
        }
        match first_err {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Write one entry: an update of what this lease wrote before, else a
    /// registration on the port its listener is bound to.
    async fn write(
        &self,
        lease: i64,
        e: &Entry,
        written: &BTreeMap<SpecialistName, Entry>,
    ) -> Result<(), EtcdError> {
        if written.contains_key(&e.name) {
            return self.store.update(lease, e).await.map(|_| ());
        }
        // Our own listener holds the port: the bind probe has nothing to check.
        self.store
            .register(lease, e.clone(), PortRequest::Pinned(e.port), |_| Some(()))
            .await
            .map(|_| ())
    }

    pub(super) async fn remove_all(&self) -> Result<(), BackendError> {
        let mut s = self.session.lock().await;
        s.written.clear();
        match s.lease.take() {
            Some(lease) => {
                let r = lease.revoke().await;
                self.note(&r);
                Ok(r?)
            }
            None => Ok(()),
        }
    }
}

/// Give every unpinned alloc a distinct port of `range` to try first: the
/// lowest ones no entry of its host holds in `view`.
fn spread(mut allocs: Vec<Alloc>, range: [u16; 2], view: &Snapshot) -> Vec<Alloc> {
    let mut taken: std::collections::HashSet<(String, u16)> = view
        .entries
        .iter()
        .map(|e| (e.host.clone(), e.port))
        .collect();
    let mut ports = range[0]..=range[1];
    for a in allocs.iter_mut().filter(|a| a.claim == Claim::Any) {
        let host = a.entry.host.clone();
        let Some(port) = ports.find(|p| !taken.contains(&(host.clone(), *p))) else {
            break;
        };
        taken.insert((host, port));
        a.claim = Claim::Prefer(port);
    }
    allocs
}

fn is_held(e: &EtcdError) -> bool {
    matches!(e, EtcdError::NameHeld { .. })
}
