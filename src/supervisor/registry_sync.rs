//! The supervisor's registry transactions. Registry calls block on `flock`,
//! so each runs on the blocking pool.
//!
//! A reconcile writes at most two transactions: [`begin`] announces what is
//! about to happen (starting, reloading, draining) and allocates ports for
//! starts in the same transaction that registers them; [`assert_all`] then
//! writes every entry this process owns as it really is, dropping any it no
//! longer owns. Re-asserting on every reconcile heals a registry that was
//! moved aside as corrupt or edited by hand.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Spec, SpecialistName};
use crate::plan::Claim;
use crate::registry::{Entry, ProcessId, Registry, RegistryError, State, now_rfc3339};

/// Who we are in the registry.
#[derive(Debug, Clone)]
pub(super) struct Me {
    pub process: ProcessId,
    pub owner: PathBuf,
}

impl Me {
    fn owns(&self, e: &Entry) -> bool {
        e.pid == self.process.pid && e.pid_start == self.process.start
    }
}

/// A port wanted for a start or a restart.
pub(super) struct Alloc {
    pub spec: Arc<Spec>,
    /// The port the plan asks for.
    pub claim: Claim,
    /// True for a start: our own older entry for the name is replaced.
    pub replace: bool,
    pub started_at: String,
}

/// Phase one: allocate and register `allocs`, mark `marks`. Returns one
/// result per alloc, in order. A start is registered `starting`; a restart
/// (a move to a new address, the old socket still serving until it drains)
/// `reloading`. A hot reload writes no mark of its own: it is one atomic
/// swap, so there is no window in which "reloading" would be true.
pub(super) async fn begin(
    registry: &Registry,
    me: &Me,
    range: [u16; 2],
    allocs: Vec<Alloc>,
    marks: Vec<(SpecialistName, State)>,
) -> Result<Vec<Result<TcpListener, String>>, SyncError> {
    let registry = registry.clone();
    let me = me.clone();
    run_blocking(move || {
        let out = registry.transact(|txn| {
            let now = now_rfc3339();
            for (name, state) in &marks {
                if let Some(e) = txn.data.specialists.get_mut(name)
                    && me.owns(e)
                {
                    e.state = *state;
                    e.updated_at = now.clone();
                }
            }
            let mut out = Vec::with_capacity(allocs.len());
            for a in &allocs {
                let name = a.spec.name.clone();
                let res = match txn.data.specialists.get(&name) {
                    Some(e) if !me.owns(e) => Err(Failure::Foreign(format!(
                        "{name} is already registered by another cadre (pid {}, {})",
                        e.pid,
                        e.owner.display()
                    ))),
                    _ => {
                        if a.replace {
                            txn.data.specialists.remove(&name);
                        }
                        allocate(txn, &a.spec.host, a.claim, range).map_err(Failure::Registry)
                    }
                };
                if let Ok(listener) = &res {
                    let port = listener.local_addr().map(|s| s.port()).unwrap_or(0);
                    let state = if a.replace {
                        State::Starting
                    } else {
                        State::Reloading
                    };
                    let entry = super::slot::entry(
                        &a.spec,
                        port,
                        state,
                        None,
                        me.process,
                        &me.owner,
                        &a.started_at,
                        &now,
                    );
                    txn.data.specialists.insert(name, entry);
                }
                out.push(res);
            }
            Ok::<_, RegistryError>(out)
        })?;
        // The lock is released: now say who holds a held pinned port.
        Ok(out
            .into_iter()
            .map(|r| r.map_err(Failure::explained))
            .collect())
    })
    .await
}

/// Why a start got no port, kept typed until the registry lock is released.
enum Failure {
    Registry(RegistryError),
    /// The name belongs to a live entry of another cadre.
    Foreign(String),
}

impl Failure {
    fn explained(self) -> String {
        match self {
            Failure::Registry(mut e) => {
                e.explain_held_port();
                e.to_string()
            }
            Failure::Foreign(text) => text,
        }
    }
}

fn allocate(
    txn: &mut crate::registry::Txn<'_>,
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

/// Phase two: make the registry hold exactly `entries` for this process.
/// Entries of live foreign processes are never overwritten.
pub(super) async fn assert_all(
    registry: &Registry,
    me: &Me,
    entries: Vec<Entry>,
) -> Result<(), SyncError> {
    let registry = registry.clone();
    let me = me.clone();
    run_blocking(move || {
        registry.transact(|txn| {
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
            Ok(())
        })
    })
    .await
}

/// Remove every entry this process owns (shutdown).
pub(super) async fn remove_all(registry: &Registry, me: &Me) -> Result<(), SyncError> {
    assert_all(registry, me, Vec::new()).await
}

/// A registry transaction that failed, or whose blocking task died.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("registry task failed: {0}")]
    Task(String),
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SyncError> + Send + 'static,
) -> Result<T, SyncError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(SyncError::Task(e.to_string())),
    }
}
