//! What the supervisor asks of the registry, whichever backend holds it:
//! grant ports and register starts ([`Backend::begin`]), write what this
//! daemon runs as it is ([`Backend::assert_all`]), leave
//! ([`Backend::remove_all`]); and what it learns back: the cluster
//! [`View`], whether the registry is [`Unavailable`], and a wake-up when
//! something it waits for may have changed ([`Backend::woken`]).

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Notify;

use super::etcd::EtcdBackend;
use super::file::FileBackend;
use super::view::{Snapshot, Unavailable, View};
use crate::config::{RegistrySettings, SpecialistName};
use crate::plan::{Claim, Holder};
use crate::registry::etcd::EtcdError;
use crate::registry::{DaemonRecord, Entry, ProcessId, Registry, RegistryError, State, Waiting};

/// Who this daemon is in the registry.
#[derive(Debug, Clone)]
pub struct Identity {
    pub process: ProcessId,
    /// Canonical path of its specialists.d: its entries' `owner`.
    pub owner: PathBuf,
    /// Its control socket.
    pub control: Option<PathBuf>,
    /// Base URL of its HTTP server.
    pub http: Option<String>,
    /// RFC 3339.
    pub started_at: String,
}

impl Identity {
    /// True for the entries this daemon wrote.
    pub fn owns(&self, e: &Entry) -> bool {
        e.pid == self.process.pid && e.pid_start == self.process.start && e.owner == self.owner
    }

    /// Its record, advertising `host`, with the names it waits for.
    pub fn record(&self, host: &str, waiting: Vec<Waiting>) -> DaemonRecord {
        DaemonRecord {
            host: host.to_owned(),
            pid: self.process.pid,
            pid_start: self.process.start,
            dir: self.owner.clone(),
            control: self.control.clone(),
            http: self.http.clone(),
            started_at: self.started_at.clone(),
            waiting,
        }
    }
}

/// A port wanted for a start or a restart, and the entry to register with it.
pub struct Alloc {
    /// The entry as it will be written (its `port` is filled in), `host` the
    /// advertised address.
    pub entry: Entry,
    /// The address to bind.
    pub bind: String,
    /// The port the plan asks for.
    pub claim: Claim,
    /// A start: our own older entry for the name is replaced.
    pub replace: bool,
}

/// Why a start or move got no port.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Another live daemon on this host holds the name.
    Held(Holder),
    /// Anything else, said in full (a held pinned port names its holder).
    Failed(String),
}

/// A registry operation that failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    File(#[from] RegistryError),
    #[error(transparent)]
    Etcd(#[from] EtcdError),
    #[error("registry task failed: {0}")]
    Task(String),
}

impl BackendError {
    /// The registry cannot be reached now (worth trying later).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, BackendError::Etcd(e) if e.is_unavailable())
    }
}

/// The registry, file or etcd.
pub enum Backend {
    File(Box<FileBackend>),
    Etcd(Box<EtcdBackend>),
}

impl Backend {
    /// Open the backend `settings` name (the file one in `file`'s state
    /// directory) and start following the cluster view. Inside a runtime.
    pub async fn open(
        settings: &RegistrySettings,
        file: Registry,
        me: Identity,
    ) -> Result<Backend, BackendError> {
        let wake = Arc::new(Notify::new());
        Ok(match settings {
            RegistrySettings::File(_) => Backend::File(Box::new(FileBackend::open(file, me, wake))),
            RegistrySettings::Etcd(s) => {
                Backend::Etcd(Box::new(EtcdBackend::open(s, me, wake).await?))
            }
        })
    }

    /// `file` or `etcd`.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::File(_) => "file",
            Backend::Etcd(_) => "etcd",
        }
    }

    pub fn identity(&self) -> &Identity {
        match self {
            Backend::File(b) => &b.me,
            Backend::Etcd(b) => &b.me,
        }
    }

    /// Mark `marks` and register every alloc with a port, in one step as far
    /// as the backend allows (one file transaction; one etcd transaction per
    /// alloc). One result per alloc, in order.
    pub async fn begin(
        &self,
        range: [u16; 2],
        allocs: Vec<Alloc>,
        marks: Vec<(SpecialistName, State)>,
    ) -> Result<Vec<Result<TcpListener, Refusal>>, BackendError> {
        match self {
            Backend::File(b) => b.begin(range, allocs, marks).await,
            Backend::Etcd(b) => b.begin(range, allocs, marks).await,
        }
    }

    /// Make the registry hold exactly `entries` for this daemon, and its
    /// record. Never overwrites another live daemon's entries.
    pub async fn assert_all(
        &self,
        entries: Vec<Entry>,
        record: DaemonRecord,
    ) -> Result<(), BackendError> {
        match self {
            Backend::File(b) => b.assert_all(entries, record).await,
            Backend::Etcd(b) => b.assert_all(entries, record).await,
        }
    }

    /// Remove everything of this daemon (shutdown).
    pub async fn remove_all(&self) -> Result<(), BackendError> {
        match self {
            Backend::File(b) => b.remove_all().await,
            Backend::Etcd(b) => b.remove_all().await,
        }
    }

    /// The cluster view's latest snapshot (without a handle on the view).
    pub fn now(&self) -> Arc<Snapshot> {
        match self {
            Backend::File(b) => b.view.now(),
            Backend::Etcd(b) => b.view.now(),
        }
    }

    /// The cluster view, followed.
    pub fn view(&self) -> View {
        match self {
            Backend::File(b) => b.view.clone(),
            Backend::Etcd(b) => b.view.clone(),
        }
    }

    /// `Some` while the registry cannot be reached (reads, writes or the lease).
    pub fn health(&self) -> Option<Unavailable> {
        match self {
            Backend::File(b) => b.health(),
            Backend::Etcd(b) => b.health(),
        }
    }

    /// Resolves when the supervisor should look again: an entry of another
    /// daemon on a host left the view (a name may be free to take over), or
    /// the etcd lease changed state (lost, or reachable again).
    pub async fn woken(&self) {
        let wake = match self {
            Backend::File(b) => &b.wake,
            Backend::Etcd(b) => &b.wake,
        };
        wake.notified().await;
    }
}

/// Names another live daemon serves on `host`, with who holds each. An
/// operator-stopped entry holds its name too.
pub fn held(snapshot: &Snapshot, me: &Identity, host: &str) -> BTreeMap<SpecialistName, Holder> {
    snapshot
        .entries
        .iter()
        .filter(|e| e.host == host && !me.owns(e))
        .map(|e| {
            (
                e.name.clone(),
                Holder {
                    pid: e.pid,
                    dir: e.owner.clone(),
                },
            )
        })
        .collect()
}

/// The view-change hook both backends install: wake the supervisor when an
/// entry left: another daemon's (a held name may be free), or one of ours
/// it did not remove itself (`registry.json` truncated, garbled, moved
/// aside or edited by hand: the reconcile re-registers it at once, rather
/// than at the next resync). A departure of our own doing costs one
/// reconcile that finds nothing to do.
pub(super) fn wake_on_departure(
    wake: Arc<Notify>,
) -> impl Fn(&Snapshot, &Snapshot) + Send + 'static {
    move |old, new| {
        // A look-up per name (both are sorted): a scan of `new` per entry
        // of `old` was N² on every change at 1000 entries.
        let gone = old.entries.iter().any(|o| {
            !new.named(o.name.as_str())
                .iter()
                .any(|n| n.host == o.host && n.pid == o.pid)
        });
        if gone {
            wake.notify_one();
        }
    }
}
