//! The supervisor's life beyond reconciling: registry re-assertion, dead
//! listener detection, operator stop/start, graceful shutdown.

use std::time::Duration;

use crate::config::SpecialistName;
use crate::plan::{Action, Phase};

use super::events::{EventKind, ReconcileEvent};
use super::{Supervisor, Trigger, log_and_send};
use super::{registry_sync, registry_watch};

impl Supervisor {
    pub(super) async fn assert_registry(&mut self) {
        let entries = self
            .slots
            .iter()
            .map(|(name, s)| {
                s.entry(
                    self.me.process,
                    &self.me.owner,
                    self.marks.of_specialist(name),
                )
            })
            .collect();
        if let Err(e) = registry_sync::assert_all(&self.opts.registry, &self.me, entries).await {
            tracing::error!("registry transaction failed: {e}");
        }
    }

    /// Re-register at once when `registry.json` lost our entries (see
    /// [`super::registry_watch`]); a `stat` when nothing changed.
    pub(super) async fn check_registry(&mut self) {
        let path = self.opts.registry.file_path();
        let now = registry_watch::stamp(&path);
        if now.is_some() && now == self.registry_seen {
            return;
        }
        let registry = self.opts.registry.clone();
        let names: Vec<SpecialistName> = self.slots.keys().cloned().collect();
        let lacks = tokio::task::spawn_blocking(move || registry_watch::lacks(&registry, &names))
            .await
            .unwrap_or(false);
        if !lacks {
            self.registry_seen = now;
            return;
        }
        tracing::warn!(
            path = %path.display(),
            "registry.json no longer holds this daemon's entries (moved aside, truncated or edited); re-registering"
        );
        self.assert_registry().await;
        // The file as our commit left it: looked at again only when someone
        // else changes it (a failed commit is retried by the resync, not
        // every tick).
        self.registry_seen = registry_watch::stamp(&path);
    }

    /// Notice specialists whose accept loop ended on its own (failed or
    /// panicked) and schedule their restart with backoff. Runs when a
    /// listener's end notifies the supervisor, not on a timer.
    pub(super) async fn probe(&mut self) {
        let mut died = false;
        for (name, slot) in self.slots.iter_mut() {
            let finished = slot.running() && slot.handle.as_ref().is_some_and(|h| h.is_finished());
            if !finished {
                continue;
            }
            slot.forget_old_failures();
            if let Some(h) = slot.handle.take() {
                self.drains.spawn(async move {
                    h.drain(Duration::ZERO).await;
                    None
                });
            }
            slot.fail("its listener stopped".into());
            let retry = super::slot::backoff(slot.failures);
            let ev = ReconcileEvent::new(
                EventKind::Failed,
                name.as_str(),
                format!("its listener stopped; restarting in {}s", retry.as_secs()),
            );
            log_and_send(&self.events, ev);
            died = true;
        }
        if died {
            self.publish_targets();
            self.assert_registry().await;
        }
    }

    pub(super) async fn operator_stop(
        &mut self,
        names: Vec<SpecialistName>,
    ) -> Result<Vec<Action>, String> {
        if let Some(n) = names.iter().find(|n| !self.slots.contains_key(*n)) {
            return Err(format!("no specialist named `{n}` is running"));
        }
        for name in names {
            if let Some(s) = self.slots.get_mut(&name)
                && s.phase == Phase::Failed
            {
                s.phase = Phase::Stopped;
                s.touch();
            }
            self.operator.stopped.insert(name);
        }
        Ok(self.reconcile(Trigger::OperatorStop).await)
    }

    pub(super) async fn operator_start(
        &mut self,
        names: Vec<SpecialistName>,
    ) -> Result<Vec<Action>, String> {
        if let Some(n) = names.iter().find(|n| !self.operator.stopped.contains(*n)) {
            return Err(format!("`{n}` is not stopped"));
        }
        for name in &names {
            self.operator.stopped.remove(name);
            if let Some(s) = self.slots.get_mut(name) {
                // Resume now, not after an old failure's backoff.
                s.retry_at = None;
            }
        }
        Ok(self.reconcile(Trigger::OperatorStart).await)
    }

    /// SIGINT/SIGTERM/`stop --all`: stop accepting everywhere, let in-flight
    /// chats finish (bounded), then deregister everything this process owns.
    pub(super) async fn shutdown(&mut self, reason: &str) {
        let timeout = self.limits.drain_timeout;
        let mut handles = Vec::new();
        for (name, s) in self.slots.iter_mut() {
            if let Some(h) = s.handle.take() {
                s.phase = Phase::Draining;
                handles.push((name.clone(), s.port, h));
            }
        }
        self.publish();
        self.assert_registry().await;
        let drains = handles.into_iter().map(|(name, port, h)| async move {
            h.drain(timeout).await;
            (name, port)
        });
        let grace = timeout + Duration::from_secs(2);
        let all = async {
            let done = futures::future::join_all(drains).await;
            while self.drains.join_next().await.is_some() {}
            done
        };
        match tokio::time::timeout(grace, all).await {
            Ok(done) => {
                for (name, port) in done {
                    let host = self
                        .slots
                        .get(&name)
                        .map(|s| s.spec.host.clone())
                        .unwrap_or_default();
                    self.emit(
                        ReconcileEvent::new(EventKind::Stop, name.as_str(), reason.to_owned())
                            .at_addr(&host, port),
                    );
                }
            }
            Err(_) => tracing::warn!(
                "drain did not finish within {}s; closing anyway",
                grace.as_secs()
            ),
        }
        self.slots.clear();
        self.publish_targets();
        self.opts.ledger.flush().await;
        if let Err(e) = registry_sync::remove_all(&self.opts.registry, &self.me).await {
            tracing::error!("could not deregister: {e}");
        }
    }
}
