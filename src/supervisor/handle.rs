//! The way to talk to the supervisor: a cheap, cloneable handle that sends
//! it commands and waits for their replies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, broadcast, mpsc, oneshot};

use super::{LiveView, Readiness, ReconcileEvent, SlotView, TeamView};
use crate::config::{ProjectPaths, SpecialistName};
use crate::plan::Action;
use crate::specialist::Specialists;

/// Why a request to the supervisor failed.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("the supervisor has shut down")]
    Gone,
    #[error("{0}")]
    Refused(String),
}

pub(super) enum Command {
    Reload {
        reply: oneshot::Sender<Vec<Action>>,
    },
    Stop {
        names: Vec<SpecialistName>,
        reply: oneshot::Sender<Result<Vec<Action>, String>>,
    },
    Start {
        names: Vec<SpecialistName>,
        reply: oneshot::Sender<Result<Vec<Action>, String>>,
    },
    Plan {
        paths: Option<ProjectPaths>,
        reply: oneshot::Sender<Result<super::Planned, String>>,
    },
    Snapshot {
        reply: oneshot::Sender<Vec<SlotView>>,
    },
    Live {
        reply: oneshot::Sender<Vec<LiveView>>,
    },
    Readiness {
        reply: oneshot::Sender<Readiness>,
    },
    Teams {
        reply: oneshot::Sender<Vec<TeamView>>,
    },
    One {
        name: String,
        reply: oneshot::Sender<Option<LiveView>>,
    },
    Shutdown {
        reason: String,
    },
}

/// A cheap, cloneable way to talk to the supervisor.
#[derive(Clone)]
pub struct SupervisorHandle {
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) specialists: Specialists,
    pub(super) trigger: Arc<Notify>,
    pub(super) events: broadcast::Sender<ReconcileEvent>,
    pub(super) done: Arc<Notify>,
    pub(super) finished: Arc<AtomicBool>,
    /// Set once a shutdown was asked for: the probes say so without asking
    /// the supervisor, which is busy draining.
    pub(super) draining: Arc<AtomicBool>,
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

    /// Reconcile now; returns the actions applied (keeps omitted).
    pub async fn reload(&self) -> Result<Vec<Action>, SupervisorError> {
        self.ask(|reply| Command::Reload { reply }).await
    }

    /// Operator stop: drain these and keep them stopped until [`Self::start`].
    pub async fn stop(&self, names: Vec<SpecialistName>) -> Result<Vec<Action>, SupervisorError> {
        self.ask(|reply| Command::Stop { names, reply })
            .await?
            .map_err(SupervisorError::Refused)
    }

    /// Resume operator-stopped specialists.
    pub async fn start(&self, names: Vec<SpecialistName>) -> Result<Vec<Action>, SupervisorError> {
        self.ask(|reply| Command::Start { names, reply })
            .await?
            .map_err(SupervisorError::Refused)
    }

    /// The plan a reconcile would apply now (keeps included). With `paths`,
    /// the desired state comes from that project instead (a checkout under
    /// review), still diffed against what runs here.
    pub async fn plan(
        &self,
        paths: Option<ProjectPaths>,
    ) -> Result<super::Planned, SupervisorError> {
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

    /// Whether every enabled specialist is ready (`/readyz`).
    pub async fn readiness(&self) -> Result<Readiness, SupervisorError> {
        self.ask(|reply| Command::Readiness { reply }).await
    }

    /// Every team held, by name (read-only).
    pub async fn teams(&self) -> Result<Vec<TeamView>, SupervisorError> {
        self.ask(|reply| Command::Teams { reply }).await
    }

    /// One specialist as [`Self::live`] shows it (whatever its state), or
    /// `None` when there is none of that name; the others are not looked at.
    pub async fn one(&self, name: &str) -> Result<Option<LiveView>, SupervisorError> {
        let name = name.to_owned();
        self.ask(|reply| Command::One { name, reply }).await
    }

    /// The running specialists, for chats in process ([`Specialists::get`]
    /// then [`crate::specialist::ChatPath::chat`]).
    pub fn specialists(&self) -> &Specialists {
        &self.specialists
    }

    /// Begin a graceful shutdown: drain everything, deregister, then finish.
    pub async fn shutdown(&self, reason: &str) {
        self.draining.store(true, Ordering::SeqCst);
        let _ = self
            .tx
            .send(Command::Shutdown {
                reason: reason.to_owned(),
            })
            .await;
    }

    /// True once a shutdown began (the daemon drains and will exit).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Resolves once the supervisor has drained and deregistered everything.
    pub async fn finished(&self) {
        let notified = self.done.notified();
        if self.finished.load(Ordering::SeqCst) {
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
