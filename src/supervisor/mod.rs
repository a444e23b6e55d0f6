//! The supervisor (DESIGN §6): owns the running specialists and keeps them,
//! and the registry, equal to the files.
//!
//! It is one task (an actor) that alone touches its state; everything else
//! talks to it through a [`SupervisorHandle`]. Every trigger (file change,
//! SIGHUP, resync, control command) re-reads the whole desired state and
//! applies the plan: level-triggered, so a lost event only costs latency.

mod actions;
pub mod events;
mod lifecycle;
mod providers;
mod reconcile;
mod registry_sync;
mod slot;
pub mod steps;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tokio::task::JoinSet;

use crate::config::{Limits, ProjectPaths, SpecialistName};
use crate::registry::{ProcessId, Registry};

pub use events::{EventKind, ReconcileEvent};
pub use reconcile::describe;
pub use registry_sync::SyncError;
pub use slot::RETRY_POLICY;
pub use steps::{Step, StepKind};

/// How often the whole desired state is re-read even without events.
pub const RESYNC: Duration = Duration::from_secs(30);
/// How often running specialists are checked for a dead accept loop.
const PROBE: Duration = Duration::from_secs(1);

/// What the supervisor needs to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub paths: ProjectPaths,
    /// Canonical path of specialists.d: the registry's `owner`.
    pub owner: PathBuf,
    pub registry: Registry,
    /// This process, as the registry identifies it.
    pub process: ProcessId,
}

/// A specialist as the supervisor sees it right now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotView {
    pub name: String,
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
}

/// Why a request to the supervisor failed.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("the supervisor has shut down")]
    Gone,
    #[error("{0}")]
    Refused(String),
}

enum Command {
    Reload {
        reason: String,
        reply: oneshot::Sender<Vec<Step>>,
    },
    Stop {
        names: Vec<String>,
        reply: oneshot::Sender<Result<Vec<Step>, String>>,
    },
    Start {
        names: Vec<String>,
        reply: oneshot::Sender<Result<Vec<Step>, String>>,
    },
    Plan {
        paths: Option<ProjectPaths>,
        reply: oneshot::Sender<Result<Vec<Step>, String>>,
    },
    Snapshot {
        reply: oneshot::Sender<Vec<SlotView>>,
    },
    Live {
        reply: oneshot::Sender<Vec<LiveView>>,
    },
    Shutdown {
        reason: String,
    },
}

/// A cheap, cloneable way to talk to the supervisor.
#[derive(Clone)]
pub struct SupervisorHandle {
    tx: mpsc::Sender<Command>,
    trigger: Arc<Notify>,
    events: broadcast::Sender<ReconcileEvent>,
    done: Arc<Notify>,
    finished: Arc<std::sync::atomic::AtomicBool>,
}

impl SupervisorHandle {
    /// Ask for a reconcile soon; many calls before it runs coalesce into one.
    pub fn trigger(&self) {
        self.trigger.notify_one();
    }

    /// A trigger usable from any thread (the file watcher's).
    pub fn trigger_fn(&self) -> impl Fn() + Send + Sync + 'static {
        let t = self.trigger.clone();
        move || t.notify_one()
    }

    /// Reconcile events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ReconcileEvent> {
        self.events.subscribe()
    }

    /// Reconcile now; returns the steps applied (keeps omitted).
    pub async fn reload(&self, reason: &str) -> Result<Vec<Step>, SupervisorError> {
        let reason = reason.to_owned();
        self.ask(|reply| Command::Reload { reason, reply }).await
    }

    /// Operator stop: drain these and keep them stopped until [`Self::start`].
    pub async fn stop(&self, names: Vec<String>) -> Result<Vec<Step>, SupervisorError> {
        self.ask(|reply| Command::Stop { names, reply })
            .await?
            .map_err(SupervisorError::Refused)
    }

    /// Resume operator-stopped specialists.
    pub async fn start(&self, names: Vec<String>) -> Result<Vec<Step>, SupervisorError> {
        self.ask(|reply| Command::Start { names, reply })
            .await?
            .map_err(SupervisorError::Refused)
    }

    /// The plan a reconcile would apply now (keeps included). With `paths`,
    /// the desired state comes from that project instead (a checkout under
    /// review), still diffed against what runs here.
    pub async fn plan(&self, paths: Option<ProjectPaths>) -> Result<Vec<Step>, SupervisorError> {
        self.ask(|reply| Command::Plan { paths, reply })
            .await?
            .map_err(SupervisorError::Refused)
    }

    pub async fn snapshot(&self) -> Result<Vec<SlotView>, SupervisorError> {
        self.ask(|reply| Command::Snapshot { reply }).await
    }

    /// Every specialist with its spec and counters (read-only).
    pub async fn live(&self) -> Result<Vec<LiveView>, SupervisorError> {
        self.ask(|reply| Command::Live { reply }).await
    }

    /// Begin a graceful shutdown: drain everything, deregister, then finish.
    pub async fn shutdown(&self, reason: &str) {
        let _ = self
            .tx
            .send(Command::Shutdown {
                reason: reason.to_owned(),
            })
            .await;
    }

    /// Resolves once the supervisor has drained and deregistered everything.
    pub async fn finished(&self) {
        let notified = self.done.notified();
        if self.finished.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        notified.await;
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SupervisorError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| SupervisorError::Gone)?;
        rx.await.map_err(|_| SupervisorError::Gone)
    }
}

/// Start the supervisor task. It reconciles once at once, then on every
/// trigger, every [`RESYNC`], and when a failed specialist's backoff ends.
/// Must be called inside a tokio runtime.
pub fn spawn(opts: Options) -> SupervisorHandle {
    let (tx, rx) = mpsc::channel(64);
    let (events, _) = broadcast::channel(1024);
    let handle = SupervisorHandle {
        tx,
        trigger: Arc::new(Notify::new()),
        events: events.clone(),
        done: Arc::new(Notify::new()),
        finished: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let sup = Supervisor {
        me: registry_sync::Me {
            process: opts.process,
            owner: opts.owner.clone(),
        },
        opts,
        slots: BTreeMap::new(),
        stopped: BTreeSet::new(),
        providers: providers::Providers::default(),
        limits: Limits::default(),
        range: crate::config::Ports::default().range,
        events,
        reported: BTreeMap::new(),
        project_error: None,
        drains: JoinSet::new(),
        next_token: 0,
        renders: Arc::default(),
    };
    let trigger = handle.trigger.clone();
    let done = handle.done.clone();
    let finished = handle.finished.clone();
    tokio::spawn(async move {
        sup.run(rx, trigger).await;
        finished.store(true, std::sync::atomic::Ordering::SeqCst);
        done.notify_waiters();
    });
    handle
}

struct Supervisor {
    opts: Options,
    me: registry_sync::Me,
    slots: BTreeMap<SpecialistName, slot::Slot>,
    /// Operator-stopped names.
    stopped: BTreeSet<SpecialistName>,
    providers: providers::Providers,
    limits: Limits,
    range: [u16; 2],
    events: broadcast::Sender<ReconcileEvent>,
    /// Errors already reported for files that never started, to report each once.
    reported: BTreeMap<String, String>,
    project_error: Option<String>,
    /// Background drains; stops report (name, token) when done.
    drains: JoinSet<Option<(SpecialistName, u64)>>,
    next_token: u64,
    /// The last load's prompts: a reload renders only what changed.
    renders: Arc<std::sync::Mutex<crate::config::RenderCache>>,
}

enum Wake {
    Cmd(Option<Command>),
    Trigger,
    Resync,
    Probe,
    Drained(Option<(SpecialistName, u64)>),
    Retry,
}

impl Supervisor {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, trigger: Arc<Notify>) {
        self.reconcile("startup").await;
        let mut resync = tokio::time::interval(RESYNC);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        resync.tick().await;
        let mut probe = tokio::time::interval(PROBE);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shutdown_reason = loop {
            let retry = self.next_retry();
            let wake = tokio::select! {
                c = rx.recv() => Wake::Cmd(c),
                _ = trigger.notified() => Wake::Trigger,
                _ = resync.tick() => Wake::Resync,
                _ = probe.tick() => Wake::Probe,
                Some(r) = self.drains.join_next(), if !self.drains.is_empty() => Wake::Drained(r.ok().flatten()),
                _ = sleep_until(retry), if retry.is_some() => Wake::Retry,
            };
            match wake {
                Wake::Cmd(None) => break "every handle dropped".to_owned(),
                Wake::Cmd(Some(Command::Shutdown { reason })) => break reason,
                Wake::Cmd(Some(cmd)) => self.command(cmd).await,
                Wake::Trigger => {
                    self.reconcile("files changed").await;
                }
                Wake::Resync => {
                    self.reconcile("periodic resync").await;
                }
                Wake::Probe => self.probe().await,
                Wake::Drained(Some((name, token))) => self.drained(name, token).await,
                Wake::Drained(None) => {}
                Wake::Retry => {
                    self.reconcile("retry after failure").await;
                }
            }
        };
        self.shutdown(&shutdown_reason).await;
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Reload { reason, reply } => {
                let steps = self.reconcile(&reason).await;
                let _ = reply.send(steps);
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
            Command::Live { reply } => {
                let views = self
                    .snapshot()
                    .into_iter()
                    .zip(self.slots.values())
                    .map(|(view, s)| LiveView {
                        view,
                        spec: s.spec.clone(),
                        counters: s.handle.as_ref().map(|h| h.counters()),
                        revision: s.revision.clone(),
                    })
                    .collect();
                let _ = reply.send(views);
            }
            Command::Shutdown { .. } => {}
        }
    }

    fn snapshot(&self) -> Vec<SlotView> {
        self.slots
            .values()
            .map(|s| SlotView {
                name: s.spec.name.to_string(),
                host: s.spec.host.clone(),
                port: s.port,
                state: s.state(),
                last_error: s.error(),
            })
            .collect()
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

/// Now, RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
