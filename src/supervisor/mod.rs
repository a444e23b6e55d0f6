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
mod slot;
mod teams;
mod view_types;
mod views;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinSet;

use crate::cluster::Backend;
use crate::config::team::TeamSpec;
use crate::config::{HealthCheck, Limits, ProjectPaths, SpecialistName, TeamName};
use crate::health::ComponentCell;
use crate::plan::{Holder, Marks, Operator};
use crate::usage::Ledger;

pub use events::{EventKind, ReconcileEvent};
pub use handle::{SupervisorError, SupervisorHandle};

use handle::Command;
pub use reconcile::Planned;
pub use slot::RETRY_POLICY;
pub use teams::{TeamState, TeamView};
pub use view_types::{LiveView, Readiness, SlotView};

/// How often the whole desired state is re-read even without events.
pub const RESYNC: Duration = Duration::from_secs(30);

/// What the supervisor needs to run.
#[derive(Clone)]
pub struct Options {
    pub paths: ProjectPaths,
    /// The registry, file or etcd; it knows who this daemon is.
    pub backend: Arc<Backend>,
    /// `--advertise`: the address other hosts use, over `[listen] advertise`.
    pub advertise: Option<String>,
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
    /// The registry changed: a daemon left (a held name may be free), or
    /// the etcd lease was lost or is renewed again.
    Registry,
}

impl Trigger {
    /// Whether this trigger may come from a change of the files themselves
    /// (or an operator asking for them to be read). A timer, a retry and a
    /// registry change cannot change a file, so their reconcile plans from
    /// the last load when the files' fingerprint is unchanged.
    pub fn rereads(self) -> bool {
        !matches!(self, Trigger::Resync | Trigger::Retry | Trigger::Registry)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::FilesChanged => "files changed",
            Trigger::Resync => "periodic resync",
            Trigger::Retry => "retry after failure",
            Trigger::OperatorStop => "operator stop",
            Trigger::OperatorStart => "operator start",
            Trigger::Control => "control reload",
            Trigger::Registry => "registry changed",
        }
    }
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
        draining: Arc::new(AtomicBool::new(false)),
    };
    let host = opts.advertise.clone().unwrap_or_default();
    let sup = Supervisor {
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
        waiting: BTreeMap::new(),
        refused: BTreeMap::new(),
        host,
        reconciled: false,
        last_load: None,
        asked: Default::default(),
        checking: Default::default(),
        cells: BTreeMap::new(),
        targets,
        specialists,
        ended: Arc::new(Notify::new()),
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
    /// Names another daemon holds, as the last plan left them.
    waiting: BTreeMap<SpecialistName, Holder>,
    /// Names the registry refused because another daemon holds them, not yet
    /// in the cluster view: the next plan counts them as held.
    refused: BTreeMap<SpecialistName, Holder>,
    /// The address this daemon advertises: its entries' host, where names are unique.
    host: String,
    /// The first reconcile is done (`/readyz` is not ready before).
    reconciled: bool,
    /// The last load of this project and the fingerprint taken before it:
    /// a resync that finds the files unchanged plans from it again.
    last_load: Option<(
        crate::desired::fingerprint::Fingerprint,
        Arc<crate::config::Loaded>,
    )>,
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
}

enum Wake {
    Cmd(Option<Command>),
    Trigger,
    Resync,
    Probe,
    Drained(Option<(SpecialistName, u64)>),
    Retry,
    Registry,
}

impl Supervisor {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, trigger: Arc<Notify>) {
        self.reconcile(Trigger::Startup).await;
        let mut resync = tokio::time::interval(RESYNC);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        resync.tick().await;
        // A listener that dies says so (no timer polls them); see `probe`.
        let ended = self.ended.clone();
        let shutdown_reason = loop {
            let retry = self.next_retry();
            let wake = tokio::select! {
                c = rx.recv() => Wake::Cmd(c),
                _ = trigger.notified() => Wake::Trigger,
                _ = resync.tick() => Wake::Resync,
                _ = ended.notified() => Wake::Probe,
                Some(r) = self.drains.join_next(), if !self.drains.is_empty() => Wake::Drained(r.ok().flatten()),
                _ = sleep_until(retry), if retry.is_some() => Wake::Retry,
                _ = self.opts.backend.woken() => Wake::Registry,
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
                Wake::Drained(Some((name, token))) => self.drained(name, token).await,
                Wake::Drained(None) => {}
                Wake::Retry => {
                    self.reconcile(Trigger::Retry).await;
                }
                Wake::Registry => {
                    self.reconcile(Trigger::Registry).await;
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
            Command::Readiness { reply } => {
                use crate::registry::State;
                let not_ready = self
                    .snapshot()
                    .into_iter()
                    .filter(|v| matches!(v.state, State::Starting | State::Failed))
                    .collect();
                let _ = reply.send(Readiness {
                    reconciled: self.reconciled,
                    not_ready,
                });
            }
            Command::Shutdown { .. } => {}
        }
    }

    fn next_retry(&self) -> Option<tokio::time::Instant> {
        // A name refused as held is planned again soon, once the view shows its holder.
        let refused = (!self.refused.is_empty())
            .then(|| std::time::Instant::now() + Duration::from_millis(200));
        self.slots
            .values()
            .filter_map(|s| s.retry_at)
            .chain(refused)
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
