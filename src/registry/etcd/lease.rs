//! One lease per daemon, kept alive in the background. Every key the daemon
//! writes hangs on it, so when the daemon dies or is cut off, etcd deletes
//! them all one TTL after the last refresh, with no one left to clean up.
//!
//! The keeper refreshes every third of the TTL (sooner after a failure), so
//! two refreshes can fail before the lease is in danger. What it learns is
//! published as a [`LeaseState`]:
//! - `Alive`: the last refresh succeeded.
//! - `Unreachable { since }`: refreshes fail (no endpoint, no quorum). The
//!   lease may still live: without a leader nothing expires, and a new
//!   leader extends every lease by its TTL. Keep serving; keep trying.
//! - `Lost`: etcd said the lease is gone. Its keys are deleted; the daemon
//!   must grant a new lease and register everything again. Final.

use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{EtcdClient, EtcdError};

/// What the keeper last learned about the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    Alive,
    Unreachable { since: SystemTime },
    Lost,
}

/// A granted lease and its keep-alive task. Dropping it stops the
/// refreshes without revoking (the lease then expires like a crashed
/// daemon's); [`Lease::revoke`] deletes its keys at once.
#[derive(Debug)]
pub struct Lease {
    id: i64,
    ttl: Duration,
    client: EtcdClient,
    state: watch::Receiver<LeaseState>,
    task: JoinHandle<()>,
}

impl Lease {
    /// Grant a lease of `ttl` (whole seconds, rounded up) and start
    /// refreshing it.
    pub async fn grant(client: &EtcdClient, ttl: Duration) -> Result<Lease, EtcdError> {
        let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let secs = i64::try_from(secs.max(1)).unwrap_or(i64::MAX);
        let reply = client.lease_grant(secs).await?;
        if reply.id == 0 || reply.ttl <= 0 {
            return Err(EtcdError::BadReply {
                endpoint: client.current_endpoint(),
                call: "lease grant",
                detail: format!("granted id {} with TTL {}", reply.id, reply.ttl),
            });
        }
        // etcd may raise a short TTL to its minimum; refresh against what it granted.
        let granted = Duration::from_secs(reply.ttl.unsigned_abs());
        let (tx, rx) = watch::channel(LeaseState::Alive);
        let task = tokio::spawn(keep_alive(client.clone(), reply.id, granted, tx));
        Ok(Lease {
            id: reply.id,
            ttl: granted,
            client: client.clone(),
            state: rx,
            task,
        })
    }

    pub fn id(&self) -> i64 {
        self.id
    }

    /// The TTL etcd granted.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn state(&self) -> LeaseState {
        *self.state.borrow()
    }

    /// Follow state changes (for `status` and `/healthz`).
    pub fn subscribe(&self) -> watch::Receiver<LeaseState> {
        self.state.clone()
    }

    /// Resolves when the lease is lost (never, while it lives).
    pub async fn lost(&self) {
        let mut rx = self.state.clone();
        let _ = rx.wait_for(|s| *s == LeaseState::Lost).await;
    }

    /// Stop refreshing and revoke: every key on the lease goes at once
    /// (a clean shutdown deregisters everything in one request).
    pub async fn revoke(self) -> Result<(), EtcdError> {
        self.task.abort();
        self.client.lease_revoke(self.id).await
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn keep_alive(client: EtcdClient, id: i64, ttl: Duration, tx: watch::Sender<LeaseState>) {
    let every = (ttl / 3).max(Duration::from_millis(500));
    let retry = (ttl / 10).max(Duration::from_millis(200));
    let mut wait = every;
    loop {
        tokio::time::sleep(wait).await;
        match client.lease_keepalive(id).await {
            Ok(r) if r.ttl > 0 => {
                tx.send_if_modified(|s| replace(s, LeaseState::Alive));
                wait = every;
            }
            Ok(_) => {
                tracing::warn!(lease = %format!("{id:x}"), "etcd lease lost");
                let _ = tx.send(LeaseState::Lost);
                return;
            }
            Err(e) => {
                let since = SystemTime::now();
                tx.send_if_modified(|s| match s {
                    LeaseState::Alive => replace(s, LeaseState::Unreachable { since }),
                    _ => false,
                });
                tracing::debug!(lease = %format!("{id:x}"), "etcd keep-alive failed: {e}");
                wait = retry;
            }
        }
    }
}

fn replace(s: &mut LeaseState, new: LeaseState) -> bool {
    let changed = *s != new;
    *s = new;
    changed
}
