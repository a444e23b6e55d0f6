//! The supervisor (DESIGN §6): owns the running specialists and keeps them,
//! and the registry, equal to the files.
//!
//! It is one task (an actor) that alone touches its state; everything else
//! talks to it through a [`SupervisorHandle`]. Every trigger (file change,
//! SIGHUP, resync, control command) re-reads the whole desired state and
//! applies the plan: level-triggered, so a lost event only costs latency.

mod actions;
pub mod events;
mod handle;
mod health;
mod lifecycle;
mod providers;
mod reconcile;
mod registry_sync;
mod registry_watch;
mod slot;
mod teams;
mod views;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinSet;

use crate::config::team::TeamSpec;
use crate::config::{HealthCheck, Limits, ProjectPaths, SpecialistName, TeamName};
use crate::health::{ComponentCell, ComponentHealth, ProviderVerdict};
use crate::plan::{Marks, Operator};
use crate::registry::{ProcessId, Registry};
use crate::usage::{Ledger, UsageReport};

pub use events::{EventKind, ReconcileEvent};
pub use handle::{SupervisorError, SupervisorHandle};

use handle::Command;
pub use reconcile::Planned;
pub use registry_sync::SyncError;
pub use slot::RETRY_POLICY;
pub use teams::{TeamState, TeamView};

/// How often the whole desired state is re-read even without events.
pub const RESYNC: Duration = Duration::from_secs(30);

/// What the supervisor needs to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub paths: ProjectPaths,
    /// Canonical path of specialists.d: the registry's `owner`.
    pub owner: PathBuf,
    pub registry: Registry,
    /// This process, as the registry identifies it.
    pub process: ProcessId,
    /// Every specialist's usage meter, and today's usage on disk.
    pub ledger: Arc<Ledger>,
}

/// What woke a reconcile; logged with it, and a start at [`Trigger::Startup`]
/// says `startup` rather than `new file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Startup,
    FilesChanged,
    Resync,
    Retry,
    OperatorStop,
    OperatorStart,
    /// `{"cmd":"reload"}` on the control socket.
    Control,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::FilesChanged => "files changed",
            Trigger::Resync => "periodic resync",
            Trigger::Retry => "retry after failure",
            Trigger::OperatorStop => "operator stop",
            Trigger::OperatorStart => "operator start",
            Trigger::Control => "control reload",
        }
    }
}

/// A specialist as the supervisor sees it right now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotView {
    pub name: SpecialistName,
    pub host: String,
    pub port: u16,
    pub state: crate::registry::State,
    pub last_error: Option<String>,
}

/// A specialist with its spec and counters: what the HTTP API and `/metrics` show.
#[derive(Clone)]
pub struct LiveView {
    pub view: SlotView,
    /// The spec it serves (the last good one while its file is broken).
    pub spec: Arc<crate::config::Spec>,
    /// Present while a listener runs.
    pub counters: Option<crate::specialist::CountersSnapshot>,
    /// The commit that last touched its file, when known.
    pub revision: Option<String>,
    /// Its provider as the provider doctor last found it, for its model.
    pub provider_health: Option<ProviderVerdict>,
    /// Its component as last polled (`None`: no `[health] url`).
    pub component_health: Option<ComponentHealth>,
    /// Tokens used (since start, per provider, today).
    pub usage: UsageReport,
}

/// Start the supervisor task. It reconciles once at once, then on every
/// trigger, every [`RESYNC`], and when a failed specialist's backoff ends;
/// between those it sleeps (the resync is its only timer).
/// Must be called inside a tokio runtime.
pub fn spawn(opts: Options) -> SupervisorHandle {
    let (tx, rx) = mpsc::channel(64);
    let (events, _) = broadcast::channel(1024);
    let (targets, watched) = watch::channel(Vec::new());
    crate::health::component::spawn(watched);
    let specialists = crate::specialist::Specialists::default();
    let handle = SupervisorHandle {
        tx,
        specialists: specialists.clone(),
        trigger: Arc::new(Notify::new()),
        events: events.clone(),
        done: Arc::new(Notify::new()),
        finished: Arc::new(AtomicBool::new(false)),
    };
    let registry_changed = Arc::new(Notify::new());
    let registry_watch =
        registry_watch::notify_changes(&opts.registry.file_path(), registry_changed.clone());
    let sup = Supervisor {
        me: registry_sync::Me {
            process: opts.process,
            owner: opts.owner.clone(),
        },
        opts,
        slots: BTreeMap::new(),
        teams: BTreeMap::new(),
        operator: Operator::default(),
        marks: Marks::default(),
        providers: providers::Providers::default(),
        limits: Limits::default(),
        range: crate::config::Ports::default().range,
        events,
        drains: JoinSet::new(),
        next_token: 0,
        renders: Arc::default(),
        last_load: None,
        registry_seen: None,
        asked: Default::default(),
        checking: Default::default(),
        cells: BTreeMap::new(),
        targets,
        specialists,
        ended: Arc::new(Notify::new()),
        registry_changed,
        _registry_watch: registry_watch,
    };
    let trigger = handle.trigger.clone();
    let done = handle.done.clone();
    let finished = handle.finished.clone();
    tokio::spawn(async move {
        sup.run(rx, trigger).await;
        finished.store(true, Ordering::SeqCst);
        done.notify_waiters();
    });
    handle
}

struct Supervisor {
    opts: Options,
    me: registry_sync::Me,
    slots: BTreeMap<SpecialistName, slot::Slot>,
    /// The version of each team held: its file's, or its last good one.
    teams: BTreeMap<TeamName, Arc<TeamSpec>>,
    /// The operator's stops, as the last plan left them.
    operator: Operator,
    /// The config errors the last plan marked.
    marks: Marks,
    providers: providers::Providers,
    limits: Limits,
    range: [u16; 2],
    events: broadcast::Sender<ReconcileEvent>,
    /// Background drains; stops report (name, token) when done.
    drains: JoinSet<Option<(SpecialistName, u64)>>,
    next_token: u64,
    /// The last load's prompts: a reload renders only what changed.
    renders: Arc<std::sync::Mutex<crate::prompt::RenderCache>>,
    /// The last load of this project and the fingerprint taken before it:
    /// a resync that finds the files unchanged plans from it again.
    last_load: Option<(
        crate::desired::fingerprint::Fingerprint,
        Arc<crate::config::Loaded>,
    )>,
    /// `registry.json` as last seen holding every entry of ours.
    registry_seen: Option<registry_watch::Stamp>,
    /// What the provider doctor was last asked, and its checks in flight.
    asked: health::Asked,
    checking: std::collections::HashMap<String, tokio::task::JoinHandle<()>>,
    /// Each component check and the cell its health goes to.
    cells: BTreeMap<SpecialistName, (HealthCheck, ComponentCell)>,
    /// What the component monitor polls.
    targets: watch::Sender<Vec<crate::health::component::Target>>,
    /// The running listeners by name, as in-process chats find them.
    specialists: crate::specialist::Specialists,
    /// Notified when a listener's accept loop ends on its own.
    ended: Arc<Notify>,
    /// Notified when `registry.json` may have changed (see `registry_watch`).
    registry_changed: Arc<Notify>,
    _registry_watch: Option<crate::watch::FileWatcher>,
}

enum Wake {
    Cmd(Option<Command>),
    Trigger,
    Resync,
    Probe,
    RegistryCheck,
    Drained(Option<(SpecialistName, u64)>),
    Retry,
}

impl Supervisor {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, trigger: Arc<Notify>) {
        self.reconcile(Trigger::Startup).await;
        let mut resync = tokio::time::interval(RESYNC);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        resync.tick().await;
        // A listener that dies says so (no timer polls them); see `probe`.
        let ended = self.ended.clone();
        // The registry file says when it changes (no timer polls it); see
        // `registry_watch`.
        let registry_changed = self.registry_changed.clone();
        let shutdown_reason = loop {
            let retry = self.next_retry();
            let wake = tokio::select! {
                c = rx.recv() => Wake::Cmd(c),
                _ = trigger.notified() => Wake::Trigger,
                _ = resync.tick() => Wake::Resync,
                _ = ended.notified() => Wake::Probe,
                _ = registry_changed.notified() => Wake::RegistryCheck,
                Some(r) = self.drains.join_next(), if !self.drains.is_empty() => Wake::Drained(r.ok().flatten()),
                _ = sleep_until(retry), if retry.is_some() => Wake::Retry,
            };
            match wake {
                Wake::Cmd(None) => break "every handle dropped".to_owned(),
                Wake::Cmd(Some(Command::Shutdown { reason })) => break reason,
                Wake::Cmd(Some(cmd)) => self.command(cmd).await,
                Wake::Trigger => {
                    self.reconcile(Trigger::FilesChanged).await;
                }
                Wake::Resync => {
                    self.reconcile(Trigger::Resync).await;
                }
                Wake::Probe => self.probe().await,
                Wake::RegistryCheck => self.check_registry().await,
                Wake::Drained(Some((name, token))) => self.drained(name, token).await,
                Wake::Drained(None) => {}
                Wake::Retry => {
                    self.reconcile(Trigger::Retry).await;
                }
            }
            self.publish();
        };
        self.shutdown(&shutdown_reason).await;
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Reload { reply } => {
                let applied = self.reconcile(Trigger::Control).await;
                let _ = reply.send(applied);
            }
            Command::Stop { names, reply } => {
                let res = self.operator_stop(names).await;
                let _ = reply.send(res);
            }
            Command::Start { names, reply } => {
                let res = self.operator_start(names).await;
                let _ = reply.send(res);
            }
            Command::Plan { paths, reply } => {
                let res = self.plan(paths).await;
                let _ = reply.send(res);
            }
            Command::Snapshot { reply } => {
                let _ = reply.send(self.snapshot());
            }
            Command::Teams { reply } => {
                let _ = reply.send(self.team_views());
            }
            Command::One { name, reply } => {
                let _ = reply.send(self.one(&name));
            }
            Command::Live { reply } => {
                let _ = reply.send(self.live());
            }
            Command::Shutdown { .. } => {}
        }
    }

    fn next_retry(&self) -> Option<tokio::time::Instant> {
        self.slots
            .values()
            .filter_map(|s| s.retry_at)
            .min()
            .map(tokio::time::Instant::from_std)
    }

    fn emit(&self, ev: ReconcileEvent) {
        log_event(&ev);
        let _ = self.events.send(ev);
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// [`Supervisor::emit`] for when the supervisor itself is borrowed.
pub(super) fn log_and_send(tx: &broadcast::Sender<ReconcileEvent>, ev: ReconcileEvent) {
    log_event(&ev);
    let _ = tx.send(ev);
}

/// One log line per event, with its reason: what `cadre up` prints.
fn log_event(ev: &ReconcileEvent) {
    let addr = match (&ev.host, ev.port) {
        (Some(h), Some(p)) => format!(" on {h}:{p}"),
        _ => String::new(),
    };
    let changed = if ev.changed.is_empty() {
        String::new()
    } else {
        format!(" ({})", ev.changed.join(", "))
    };
    let msg = format!(
        "{} {}{}{}: {}",
        ev.kind.as_str(),
        ev.name,
        addr,
        changed,
        ev.reason
    );
    match ev.kind {
        EventKind::ConfigError | EventKind::Failed => tracing::warn!(
            event = ev.kind.as_str(), specialist = %ev.name, port = ev.port, reason = %ev.reason, "{msg}"
        ),
        _ => tracing::info!(
            event = ev.kind.as_str(), specialist = %ev.name, port = ev.port, reason = %ev.reason, "{msg}"
        ),
    }
}
