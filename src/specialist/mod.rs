//! One specialist: a TCP listener and its connections (DESIGN §5).
//!
//! The listener arrives already bound (the registry allocated it inside its
//! transaction). The current spec and provider sit behind an atomic swap, so a
//! reload never rebinds or closes a connection and a chat in flight finishes
//! on the spec it started with.
//!
//! Shutdown follows mini-redis: a cancellation token tells the accept loop and
//! every idle connection to stop; a task tracker tells [`SpecialistHandle::drain`]
//! when every connection task and every in-process chat has finished. A
//! second token cuts in-flight chats short once the drain timeout has passed.
//!
//! Chats, from the socket or from anywhere in the daemon, all take
//! [`chat`]'s path: [`Specialists`] finds a running specialist's
//! [`ChatPath`], and [`ChatPath::chat`] answers.

pub mod chat;
mod connection;
mod counters;
mod handlers;
mod session;
mod specialists;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Limits, Spec, SpecialistName};
use crate::health::{ComponentCell, ComponentHealth, ProviderVerdict};
use crate::protocol::{ErrorCode, Reply, ReplyBody};
use crate::provider::{Provider, ProviderError};
use crate::usage::{LimitError, Meter};

use connection::Connection;

pub use chat::{ChatPath, ChatStream};
use counters::Counters;
pub use counters::{CountersSnapshot, LATENCY_BUCKETS, LATENCY_BUCKETS_MS};
pub use specialists::Specialists;

/// What a specialist serves right now; swapped whole on reload.
#[derive(Clone)]
pub struct Serving {
    pub spec: Arc<Spec>,
    pub provider: Arc<dyn Provider>,
    /// Its usage counters and limiter: one per name for the daemon's life,
    /// so a reload or a move keeps them (the limits come from `spec`).
    pub meter: Arc<Meter>,
    /// Where the component monitor puts its health (`None`: no `[health] url`).
    pub component: Option<ComponentCell>,
}

impl Serving {
    /// `spec` on `provider`, with a meter of its own and no component health.
    pub fn new(spec: Arc<Spec>, provider: Arc<dyn Provider>) -> Serving {
        Serving {
            spec,
            provider,
            meter: Arc::default(),
            component: None,
        }
    }

    /// Its provider as the last provider check found it, for its model.
    pub fn provider_health(&self) -> Option<ProviderVerdict> {
        self.provider
            .last_check()
            .map(|c| c.verdict(&self.spec.model))
    }

    /// Its component's health as last polled.
    pub fn component_health(&self) -> Option<ComponentHealth> {
        self.component.as_ref().map(|c| (**c.load()).clone())
    }
}

/// State shared by the accept loop and every connection.
pub(crate) struct Shared {
    pub(crate) serving: ArcSwap<Serving>,
    pub(crate) counters: Counters,
    pub(crate) port: u16,
    pub(crate) limits: Limits,
    /// Cancelled when draining starts: stop accepting, close idle connections.
    pub(crate) draining: CancellationToken,
    /// Cancelled when the drain timeout passed: abandon in-flight chats.
    pub(crate) abort: CancellationToken,
    /// Every connection task and in-process chat: the drain waits for them.
    pub(crate) tracker: TaskTracker,
    /// Set when the accept loop has ended (drained, failed or panicked).
    accept_ended: AtomicBool,
    /// Git provenance of the spec's files (`a1b2c3d`, `a1b2c3d+modified`);
    /// kept apart from `Serving` because a commit changes it without a reload.
    pub(crate) revision: arc_swap::ArcSwapOption<String>,
    /// How its consultations reach colleagues (set once by whoever runs the
    /// team; without it, only remote agents can be asked).
    pub(crate) colleagues: std::sync::OnceLock<Arc<dyn crate::consult::Colleagues>>,
}

impl Shared {
    pub(crate) fn name(&self) -> SpecialistName {
        self.serving.load().spec.name.clone()
    }

    /// Write one reply, counting error replies by code.
    pub(crate) async fn send(&self, conn: &mut Connection, reply: Reply) -> std::io::Result<()> {
        if let ReplyBody::Error { code, .. } = &reply.body {
            self.counters.error_code(*code);
        }
        conn.write(&reply).await
    }
}

/// The socket protocol's error code for a provider failure: the edge where
/// the provider's errors become replies.
pub trait ReplyCode {
    fn code(&self) -> ErrorCode;
}

impl ReplyCode for ProviderError {
    fn code(&self) -> ErrorCode {
        match self {
            ProviderError::Unavailable { .. } => ErrorCode::ProviderUnavailable,
            ProviderError::Http { .. } | ProviderError::Malformed { .. } => {
                ErrorCode::ProviderError
            }
            ProviderError::Timeout { .. } => ErrorCode::Timeout,
        }
    }
}

impl ReplyCode for LimitError {
    fn code(&self) -> ErrorCode {
        match self {
            LimitError::RateLimited { .. } => ErrorCode::RateLimited,
            LimitError::BudgetExceeded { .. } => ErrorCode::BudgetExceeded,
        }
    }
}

/// A running specialist. Dropping it does not stop it; call [`SpecialistHandle::drain`].
pub struct SpecialistHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl SpecialistHandle {
    /// Start serving on `listener` (must be bound; it is set non-blocking here).
    /// Must be called inside a tokio runtime.
    pub fn spawn(
        listener: std::net::TcpListener,
        serving: Serving,
        limits: Limits,
    ) -> std::io::Result<SpecialistHandle> {
        Self::spawn_reporting(listener, serving, limits, Arc::new(Notify::new()))
    }

    /// [`Self::spawn`], notifying `ended` if the accept loop ends other than
    /// by a drain (it failed or panicked): a supervisor waits on that instead
    /// of polling every listener on a timer.
    pub fn spawn_reporting(
        listener: std::net::TcpListener,
        serving: Serving,
        limits: Limits,
        ended: Arc<Notify>,
    ) -> std::io::Result<SpecialistHandle> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            serving: ArcSwap::from_pointee(serving),
            counters: Counters::default(),
            port: addr.port(),
            limits,
            draining: CancellationToken::new(),
            abort: CancellationToken::new(),
            tracker: TaskTracker::new(),
            accept_ended: AtomicBool::new(false),
            revision: arc_swap::ArcSwapOption::empty(),
            colleagues: std::sync::OnceLock::new(),
        });
        let notice = EndNotice {
            ended,
            shared: shared.clone(),
        };
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            let _notice = notice;
            accept_loop(listener, s).await;
        });
        Ok(SpecialistHandle {
            shared,
            addr,
            accept,
        })
    }

    /// Its chat path, for chats started in process.
    pub fn chat_path(&self) -> ChatPath {
        ChatPath {
            shared: self.shared.clone(),
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Swap what is served; open connections keep working, and a request
    /// already running keeps the `Serving` it loaded when it started.
    pub fn reload(&self, serving: Serving) {
        self.shared.serving.store(Arc::new(serving));
    }

    /// How this specialist's consultations reach its colleagues; the first
    /// call wins (the team it runs in does not change).
    pub fn set_colleagues(&self, colleagues: Arc<dyn crate::consult::Colleagues>) {
        let _ = self.shared.colleagues.set(colleagues);
    }

    /// Record where the served spec came from (shown by `info`).
    pub fn set_revision(&self, revision: Option<String>) {
        self.shared.revision.store(revision.map(Arc::new));
    }

    /// What is served right now.
    pub fn serving(&self) -> Arc<Serving> {
        self.shared.serving.load_full()
    }

    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// True once the accept loop has ended (drained, or it failed); a
    /// supervisor uses it to notice a dead specialist.
    pub fn is_finished(&self) -> bool {
        self.shared.accept_ended.load(Ordering::SeqCst) || self.accept.is_finished()
    }

    /// Stop accepting (the port is closed when this returns), close idle
    /// connections, let in-flight chats finish up to `timeout`, then cut the
    /// rest short. Requests arriving meanwhile get `shutting_down`.
    pub async fn drain(self, timeout: Duration) {
        self.shared.draining.cancel();
        self.shared.tracker.close();
        let _ = self.accept.await;
        if tokio::time::timeout(timeout, self.shared.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                specialist = %self.shared.name(),
                "drain timeout after {timeout:?}: abandoning in-flight requests"
            );
            self.shared.abort.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(2), self.shared.tracker.wait()).await;
        }
    }
}

/// Marks the accept loop ended and notifies when dropped with the accept
/// task (its end, or its panic's unwinding), unless a drain ended it. The
/// mark comes first: whoever is notified must see it, and the task itself
/// may not count as finished yet.
struct EndNotice {
    ended: Arc<Notify>,
    shared: Arc<Shared>,
}

impl Drop for EndNotice {
    fn drop(&mut self) {
        self.shared.accept_ended.store(true, Ordering::SeqCst);
        if !self.shared.draining.is_cancelled() {
            self.ended.notify_one();
        }
    }
}

/// Accept until draining; each connection holds a semaphore permit, so at
/// most `max_connections` are served and the rest wait in the backlog.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let permits = Arc::new(Semaphore::new(shared.limits.max_connections.max(1)));
    let mut backoff = Duration::from_millis(10);
    loop {
        let permit = tokio::select! {
            _ = shared.draining.cancelled() => return,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = shared.draining.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::from_millis(10);
                let shared = shared.clone();
                shared.tracker.clone().spawn(async move {
                    session::serve(stream, peer, shared).await;
                    drop(permit);
                });
            }
            Err(e) => {
                // Out of file descriptors and similar: wait, do not spin, do not die.
                tracing::warn!(specialist = %shared.name(), "accept failed: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serving() -> Serving {
        let spec = crate::plan::tests::spec("numa");
        Serving::new(
            Arc::new(spec.clone()),
            crate::provider::build(&spec.provider),
        )
    }

    /// A listener that dies on its own says so at once, and is seen as
    /// finished by whoever the notice wakes; a drain says nothing.
    #[tokio::test]
    async fn an_accept_loop_that_ends_by_itself_notifies() {
        let ended = Arc::new(Notify::new());
        let spawn = || {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            SpecialistHandle::spawn_reporting(listener, serving(), Limits::default(), ended.clone())
                .unwrap()
        };
        let h = spawn();
        assert!(!h.is_finished());
        h.accept.abort();
        tokio::time::timeout(Duration::from_secs(10), ended.notified())
            .await
            .expect("no notice of the dead listener");
        assert!(h.is_finished());

        let h = spawn();
        h.drain(Duration::from_secs(1)).await;
        let notified = tokio::time::timeout(Duration::from_millis(200), ended.notified()).await;
        assert!(notified.is_err(), "a drain was reported as a death");
    }
}
