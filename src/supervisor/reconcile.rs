//! Reconcile: load the desired state, plan it against what runs, apply the
//! plan. Every decision is the plan's ([`crate::plan`]); here it is carried
//! out and reported.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::config::{Loaded, ProjectPaths, report};
use crate::desired::fingerprint::Fingerprint;
use crate::plan::{self, Action, ActionKind, Actual, Marks, Notice, Plan};
use crate::prompt::RenderCache;
use crate::registry::State;

use super::events::ReconcileEvent;
use super::{Supervisor, Trigger};
use crate::cluster::{Alloc, Refusal, backend};

/// The plan a reconcile would apply now: every action, keeps included.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    pub actions: Vec<crate::plan::Action>,
    pub teams: Vec<crate::plan::TeamAction>,
}

impl Supervisor {
    async fn load(&self) -> Option<Loaded> {
        self.load_from(self.opts.paths.clone(), Some(self.renders.clone()))
            .await
    }

    /// This project's desired state. A trigger that cannot change a file
    /// ([`Trigger::rereads`]: a resync, a retry, a registry change) first
    /// compares the files' fingerprint with the last load's and, when nothing
    /// changed, plans from that load again without reading a file (see
    /// [`Fingerprint`]); every other trigger reads everything.
    async fn desired(&mut self, trigger: Trigger) -> Option<Arc<Loaded>> {
        let paths = self.opts.paths.clone();
        let fingerprint = tokio::task::spawn_blocking(move || Fingerprint::take(&paths))
            .await
            .ok()?;
        if !trigger.rereads()
            && let Some((last, loaded)) = &self.last_load
            && *last == fingerprint
        {
            return Some(loaded.clone());
        }
        let loaded = Arc::new(self.load().await?);
        self.last_load = Some((fingerprint, loaded.clone()));
        Some(loaded)
    }

    /// Load `paths` off the async workers. With `renders` (this daemon's own
    /// project), unchanged prompts are not rendered again.
    async fn load_from(
        &self,
        paths: ProjectPaths,
        renders: Option<Arc<Mutex<RenderCache>>>,
    ) -> Option<Loaded> {
        let advertise = self.opts.advertise.clone();
        let load = move || {
            let mut loaded = match renders {
                Some(cache) => {
                    // A panic mid-load leaves the cache consistent (entries are only removed).
                    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
                    crate::desired::load_cached(&paths, &mut cache)
                }
                None => crate::desired::load(&paths),
            };
            // `--advertise` wins over `[listen] advertise`, for every specialist.
            if let Some(a) = advertise {
                loaded.project.listen.advertise = Some(a.clone());
                for spec in &mut loaded.specs {
                    spec.advertise = Some(a.clone());
                }
            }
            loaded
        };
        match tokio::task::spawn_blocking(load).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::error!("loading the configuration failed: {e}");
                None
            }
        }
    }

    /// What runs, as the plan sees it, and the names other daemons on this
    /// host hold (the cluster view, and what the registry just refused).
    pub(super) fn actual(&self) -> Actual {
        let now = Instant::now();
        let backend = &self.opts.backend;
        let mut held = backend::held(&backend.now(), backend.identity(), &self.host);
        for (name, h) in &self.refused {
            held.entry(name.clone()).or_insert_with(|| h.clone());
        }
        Actual {
            specialists: self
                .slots
                .iter()
                .map(|(n, s)| (n.clone(), s.instance(now)))
                .collect(),
            teams: self.teams.clone(),
            marks: self.marks.clone(),
            held,
            waiting: self.waiting.clone(),
        }
    }

    /// Reconcile once; returns the actions applied (keeps omitted).
    pub(super) async fn reconcile(&mut self, trigger: Trigger) -> Vec<Action> {
        let Some(loaded) = self.desired(trigger).await else {
            return Vec::new();
        };
        if loaded.project_ok {
            let listen = &loaded.project.listen;
            self.host = listen
                .advertise
                .clone()
                .unwrap_or_else(|| listen.host.clone());
        }
        let actual = self.actual();
        self.refused.clear();
        let plan = plan::plan(&loaded, &actual, &self.operator);
        let changes = plan.changes().count();
        if changes > 0 {
            tracing::debug!(trigger = trigger.as_str(), changes, "applying plan");
        }
        let applied = self.apply(plan, trigger).await;
        // Before the registry says so, in-process chats find what now runs.
        self.publish();
        // Failed specialists keep theirs too: their retry needs it, and
        // their provider health is shown.
        self.providers
            .retain_used(self.slots.values().map(|s| &s.spec.provider));
        self.check_providers(trigger);
        self.publish_targets();
        self.refresh_provenance().await;
        self.assert_registry().await;
        self.reconciled = true;
        applied
    }

    /// The plan a reconcile would apply now, keeps included. Planning is
    /// pure: nothing here changes.
    pub(super) async fn plan(&mut self, paths: Option<ProjectPaths>) -> Result<Planned, String> {
        let loaded = match paths {
            // A checkout under review: its renders must not evict this project's.
            Some(paths) => self.load_from(paths, None).await,
            None => self.load().await,
        };
        let loaded = loaded.ok_or("loading the configuration failed")?;
        if !loaded.project_ok {
            let msg = loaded.errors().next().map(report::line).unwrap_or_default();
            return Err(format!("the project cannot be loaded: {msg}"));
        }
        let plan = plan::plan(&loaded, &self.actual(), &self.operator);
        Ok(Planned {
            actions: plan.actions,
            teams: plan.teams,
        })
    }

    /// Carry `plan` out: report its notices, then keeps that refresh,
    /// reloads, starts and moves, stops. Returns what was applied.
    async fn apply(&mut self, plan: Plan, trigger: Trigger) -> Vec<Action> {
        self.mark(plan.config_errors, &plan.notices);
        self.operator = plan.operator;
        self.waiting = plan.waiting;
        self.apply_teams(plan.teams, trigger);
        let Some(settings) = plan.settings else {
            return Vec::new();
        };
        self.limits = settings.limits;
        self.range = settings.range;
        let mut applied = Vec::new();
        let (mut moves, mut stops) = (Vec::new(), Vec::new());
        // Reloads first: they need no port and no registry round trip, and
        // they are what an edit waits for (the next chat must see the new
        // prompt). The registry hears of them when it is asserted after.
        for a in plan.actions {
            match a.kind {
                ActionKind::Keep if a.refresh => self.refresh(&a),
                ActionKind::Keep => {}
                ActionKind::Reload => {
                    if self.reload_one(&a) {
                        applied.push(a);
                    }
                }
                ActionKind::Start | ActionKind::Restart => moves.push(a),
                ActionKind::Stop => stops.push(a),
            }
        }
        applied.extend(self.start_and_move(moves, &stops, trigger).await);
        for a in stops {
            self.stop_one(&a);
            applied.push(a);
        }
        self.clear_due_retries();
        applied.sort_by(|a, b| a.name.cmp(&b.name));
        applied
    }

    /// Report the plan's notices and put its marks in force.
    fn mark(&mut self, marks: Marks, notices: &[Notice]) {
        for n in notices {
            self.emit(ReconcileEvent::of_notice(n));
        }
        for (name, slot) in self.slots.iter_mut() {
            if self.marks.of_specialist(name) != marks.of_specialist(name) {
                slot.touch();
            }
        }
        self.marks = marks;
    }

    /// One registry transaction grants the ports of every start and move and
    /// marks the stops as draining; then each start and move happens.
    async fn start_and_move(
        &mut self,
        moves: Vec<Action>,
        stops: &[Action],
        trigger: Trigger,
    ) -> Vec<Action> {
        let draining: Vec<_> = stops
            .iter()
            .filter(|a| self.slots.get(&a.name).is_some_and(|s| s.running()))
            .map(|a| (a.name.clone(), State::Draining))
            .collect();
        let mut allocs = Vec::new();
        let mut granted = Vec::new();
        for a in moves {
            let Some(spec) = a.spec.clone() else { continue };
            let start = a.kind == ActionKind::Start;
            let started_at = match self.slots.get(&a.name) {
                Some(s) if !start => s.started_at.clone(),
                _ => crate::registry::now_rfc3339(),
            };
            let state = if start {
                State::Starting
            } else {
                State::Reloading
            };
            let me = self.opts.backend.identity();
            let mut entry = super::slot::entry(&spec, 0, state, None, me, &started_at);
            entry.revision = self.slots.get(&a.name).and_then(|s| s.revision.clone());
            allocs.push(Alloc {
                entry,
                bind: spec.host.clone(),
                claim: a.claim,
                replace: start,
            });
            granted.push(a);
        }
        if allocs.is_empty() && draining.is_empty() {
            return Vec::new();
        }
        let n = allocs.len();
        let results = self
            .opts
            .backend
            .begin(self.range, allocs, draining)
            .await
            .unwrap_or_else(|e| {
                tracing::error!("registry transaction failed: {e}");
                (0..n)
                    .map(|_| Err(Refusal::Failed(format!("registry: {e}"))))
                    .collect()
            });
        let mut applied = Vec::new();
        for (a, res) in granted.into_iter().zip(results) {
            let res = match res {
                Ok(listener) => Ok(listener),
                Err(Refusal::Held(holder)) => {
                    // Not a failure of ours: the next plan marks it as held.
                    self.refused.insert(a.name.clone(), holder);
                    continue;
                }
                Err(Refusal::Failed(why)) => Err(why),
            };
            let ok = match a.kind {
                ActionKind::Start => self.start_one(&a, res, trigger),
                _ => self.restart_one(&a, res),
            };
            if ok {
                applied.push(a);
            } else {
                tracing::debug!(specialist = %a.name, "not applied");
            }
        }
        applied
    }

    /// Retry deadlines that have passed were acted on by this reconcile;
    /// forget them, so the retry timer never spins.
    fn clear_due_retries(&mut self) {
        let now = Instant::now();
        for s in self.slots.values_mut() {
            if s.retry_at.is_some_and(|t| t <= now) {
                s.retry_at = None;
            }
        }
    }

    /// Re-read every specialist's git revision (two git processes, off the
    /// async workers); a commit thus shows at the next reconcile, no restart.
    async fn refresh_provenance(&mut self) {
        let templates = self.opts.paths.templates.clone();
        let items: Vec<(String, std::path::PathBuf, std::path::PathBuf)> = self
            .slots
            .iter()
            .map(|(n, s)| {
                (
                    n.to_string(),
                    s.spec.file.clone(),
                    templates.join(&s.spec.template),
                )
            })
            .collect();
        let root = self.opts.paths.root.clone();
        let found = tokio::task::spawn_blocking(move || {
            crate::review::provenance::revisions(&root, &items)
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
        for (name, slot) in self.slots.iter_mut() {
            let rev = found.get(name.as_str()).map(ToString::to_string);
            if rev != slot.revision {
                slot.revision = rev.clone();
                slot.touch();
            }
            if let Some(h) = &slot.handle {
                h.set_revision(rev);
            }
        }
    }
}
