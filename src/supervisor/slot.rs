//! One supervised specialist: its last good spec, its running handle (if
//! any), and what the registry should say about it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cluster::Identity;
use crate::config::Spec;
use crate::plan::{Instance, Phase};
use crate::registry::{Entry, State, now_rfc3339};
use crate::specialist::SpecialistHandle;

/// One specialist the supervisor knows; its config error mark is the
/// supervisor's [`crate::plan::Marks`], passed in where it shows.
pub(super) struct Slot {
    /// The last spec that loaded cleanly; kept through config errors.
    pub spec: Arc<Spec>,
    pub handle: Option<SpecialistHandle>,
    pub phase: Phase,
    /// Port it listens on (or last listened on; 0 if it never started).
    pub port: u16,
    /// Why it failed last (start errors, deaths).
    pub last_error: Option<String>,
    pub started_at: String,
    pub updated_at: String,
    /// When the current instance started, for resetting the backoff.
    pub since: Instant,
    pub failures: u32,
    pub retry_at: Option<Instant>,
    /// Identifies the instance, so a late "drained" report for an old one is ignored.
    pub token: u64,
    /// Git provenance of its file and template (`None` outside a work tree).
    pub revision: Option<String>,
}

/// A running instance that stays up this long has its failure count reset.
const STABLE: Duration = Duration::from_secs(10);

/// First retry after 1 s, doubling to 60 s.
pub(super) fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(6);
    Duration::from_secs(1u64 << exp).min(Duration::from_secs(60))
}

/// How failed starts are retried, in words (kept true by a test of [`backoff`]).
pub const RETRY_POLICY: &str = "with a wait doubling up to 60s, for as long as cadre runs";

/// How a failed start goes on, for the user: when the next try is and that
/// tries never stop (a port held by a TIME_WAIT frees itself within 60 s).
pub(super) fn retry_note(next: Duration) -> String {
    format!("retrying in {}s, then {RETRY_POLICY}", next.as_secs())
}

impl Slot {
    pub fn new(spec: Arc<Spec>, token: u64) -> Slot {
        let now = now_rfc3339();
        Slot {
            spec,
            handle: None,
            phase: Phase::Failed,
            port: 0,
            last_error: None,
            started_at: now.clone(),
            updated_at: now,
            since: Instant::now(),
            failures: 0,
            retry_at: None,
            token,
            revision: None,
        }
    }

    pub fn touch(&mut self) {
        self.updated_at = now_rfc3339();
    }

    pub fn running(&self) -> bool {
        self.phase == Phase::Serving && self.handle.is_some()
    }

    /// What the plan sees of this slot at `now`.
    pub fn instance(&self, now: Instant) -> Instance {
        let phase = match self.phase {
            Phase::Serving if self.handle.is_none() => Phase::Failed,
            p => p,
        };
        Instance {
            spec: self.spec.clone(),
            port: self.port,
            phase,
            backoff: self.retry_at.is_some_and(|t| t > now),
        }
    }

    /// Before counting a new failure: an instance that ran [`STABLE`] long
    /// starts its backoff afresh (checked when it fails, not on a timer).
    pub fn forget_old_failures(&mut self) {
        if self.running() && self.since.elapsed() >= STABLE {
            self.failures = 0;
        }
    }

    pub fn fail(&mut self, error: String) {
        self.phase = Phase::Failed;
        self.failures += 1;
        self.retry_at = Some(Instant::now() + backoff(self.failures));
        self.last_error = Some(error);
        self.touch();
    }

    /// Its state, with `mark` the config error marked for it (if any).
    pub fn state(&self, mark: Option<&str>) -> State {
        match self.phase {
            Phase::Draining => State::Draining,
            Phase::Stopped => State::Stopped,
            Phase::Failed => State::Failed,
            Phase::Serving if mark.is_some() => State::ConfigError,
            Phase::Serving => State::Ready,
        }
    }

    pub fn error(&self, mark: Option<&str>) -> Option<String> {
        mark.map(str::to_owned).or_else(|| match self.phase {
            Phase::Failed => self.last_error.clone(),
            _ => None,
        })
    }

    pub fn entry(&self, me: &Identity, mark: Option<&str>) -> Entry {
        let mut e = entry(
            &self.spec,
            self.port,
            self.state(mark),
            self.error(mark),
            me,
            &self.started_at,
        );
        e.updated_at = self.updated_at.clone();
        e.revision = self.revision.clone();
        e
    }
}

/// The registry entry for `spec` at `port`, under its advertised address.
pub(super) fn entry(
    spec: &Spec,
    port: u16,
    state: State,
    last_error: Option<String>,
    me: &Identity,
    started_at: &str,
) -> Entry {
    Entry {
        name: spec.name.clone(),
        component: spec.component.clone(),
        host: spec.address().to_owned(),
        port,
        pid: me.process.pid,
        pid_start: me.process.start,
        owner: me.owner.clone(),
        model: spec.model.clone(),
        provider: spec.provider.name.clone(),
        title: spec.title.clone(),
        role: spec.personality.role.clone(),
        description: spec.description.clone(),
        state,
        generation: spec.generation.clone(),
        last_error,
        revision: None,
        started_at: started_at.to_owned(),
        updated_at: now_rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_from_one_second_to_a_minute() {
        let got: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(1000), Duration::from_secs(60));
        assert!(super::RETRY_POLICY.contains("up to 60s"));
    }
}
