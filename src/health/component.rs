//! The component monitor: one task with one timer that polls every
//! specialist's `[health] url`.
//!
//! Probes are batched on a grid: a target's probes fall on multiples of its
//! interval (counted from when the monitor started), so every target with the
//! default 10 s is probed in the same batch and an idle daemon wakes once per
//! interval for all of them, not once per specialist. A new target is probed
//! at once, then joins the grid. The gap between two probes of a target is at
//! most its interval, so a change of state shows within one interval (plus
//! the probe's own time).
//!
//! Each probe reads the answer (up to [`BODY_CAP`]) so its connection goes
//! back to the pool and the next probe reuses it: a new connection per probe
//! would leave a TIME_WAIT on an ephemeral port each time, and pinned ports
//! live in that range.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::{ComponentCell, ComponentHealth, ComponentStatus};
use crate::config::{HealthCheck, SpecialistName};

/// Most of a health answer read before the connection is dropped.
pub const BODY_CAP: usize = 64 * 1024;

/// One component to poll.
#[derive(Clone)]
pub struct Target {
    pub name: SpecialistName,
    pub check: HealthCheck,
    pub cell: ComponentCell,
}

/// A target and when it is probed next.
struct Scheduled {
    target: Target,
    due: Instant,
}

/// Start the monitor; it polls what `targets` holds (replaced whole on every
/// reconcile) and ends when the sender is dropped.
pub fn spawn(targets: watch::Receiver<Vec<Target>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(targets))
}

async fn run(mut targets: watch::Receiver<Vec<Target>>) {
    let client = client();
    let epoch = Instant::now();
    let mut schedule: Vec<Scheduled> = Vec::new();
    loop {
        let next = schedule.iter().map(|s| s.due).min();
        tokio::select! {
            changed = targets.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = Instant::now();
                schedule = reschedule(std::mem::take(&mut schedule), &targets.borrow_and_update(), now);
            }
            _ = sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                probe_due(&client, &mut schedule, epoch).await;
            }
        }
    }
}

/// The schedule for `targets`: one that was already polled with the same
/// check keeps its time, a new or changed one is due now.
fn reschedule(old: Vec<Scheduled>, targets: &[Target], now: Instant) -> Vec<Scheduled> {
    let by_name: std::collections::HashMap<&SpecialistName, &Scheduled> =
        old.iter().map(|s| (&s.target.name, s)).collect();
    targets
        .iter()
        .map(|t| {
            let due = by_name
                .get(&t.name)
                .filter(|s| s.target.check == t.check && Arc::ptr_eq(&s.target.cell, &t.cell))
                .map_or(now, |s| s.due);
            Scheduled {
                target: t.clone(),
                due,
            }
        })
        .collect()
}

/// Probe every target that is due, all at once; then put each on the next
/// point of its grid.
async fn probe_due(client: &reqwest::Client, schedule: &mut [Scheduled], epoch: Instant) {
    let now = Instant::now();
    let due: Vec<&mut Scheduled> = schedule.iter_mut().filter(|s| s.due <= now).collect();
    let results = join_all(due.iter().map(|s| probe(client, &s.target.check))).await;
    for (s, health) in due.into_iter().zip(results) {
        report(&s.target, &health);
        s.target.cell.store(Arc::new(health));
        s.due = next_on_grid(epoch, now, s.target.check.interval);
    }
}

/// The first multiple of `interval` after `now`, counted from `epoch`.
fn next_on_grid(epoch: Instant, now: Instant, interval: Duration) -> Instant {
    let step = interval.as_nanos().max(1);
    let since = now.saturating_duration_since(epoch).as_nanos();
    let n = since / step + 1;
    let offset = u64::try_from(n * step).unwrap_or(u64::MAX);
    epoch + Duration::from_nanos(offset)
}

/// A log line when a component's state changes (not for every probe).
fn report(target: &Target, now: &ComponentHealth) {
    let before = target.cell.load().status;
    if before == now.status {
        return;
    }
    let name = &target.name;
    let url = &now.url;
    let detail = now.detail.as_deref().unwrap_or("");
    match now.status {
        ComponentStatus::Down => {
            tracing::warn!(specialist = %name, %url, "component of {name} is down ({url}): {detail}; {name} keeps answering")
        }
        ComponentStatus::Slow => tracing::info!(
            specialist = %name, %url,
            "component of {name} is slow ({url}): answered in {} ms",
            now.latency_ms.unwrap_or(0)
        ),
        ComponentStatus::Up if before != ComponentStatus::Unknown => {
            tracing::info!(specialist = %name, %url, "component of {name} is up again ({url})")
        }
        _ => {
            tracing::debug!(specialist = %name, %url, status = now.status.as_str(), "component health")
        }
    }
}

/// The monitor's HTTP client: redirects are not followed (a health url must
/// answer itself; a 3xx counts as down, with its status shown).
fn client() -> reqwest::Client {
    crate::provider::install_tls();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("cadre/", env!("CARGO_PKG_VERSION"), " health"))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// One probe: a 2xx within `timeout` is up (or slow, past `slow`).
pub async fn probe(client: &reqwest::Client, check: &HealthCheck) -> ComponentHealth {
    let started = Instant::now();
    let deadline = started + check.timeout;
    let mut health = ComponentHealth::unknown(&check.url);
    health.checked_at = Some(crate::registry::now_rfc3339());
    let no_answer = format!(
        "no answer within {}",
        humantime::format_duration(check.timeout)
    );
    let resp = match timeout_at(deadline, client.get(&check.url).send()).await {
        Err(_) => return down(health, no_answer, None),
        Ok(Err(e)) => return down(health, crate::provider::root_cause(&e), None),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if drain(resp, deadline).await.is_err() {
        return down(health, no_answer, None);
    }
    let took = started.elapsed();
    let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    if !status.is_success() {
        return down(health, format!("HTTP {}", status.as_u16()), Some(ms));
    }
    health.latency_ms = Some(ms);
    health.status = if took > check.slow {
        health.detail = Some(format!(
            "slower than {}",
            humantime::format_duration(check.slow)
        ));
        ComponentStatus::Slow
    } else {
        ComponentStatus::Up
    };
    health
}

fn down(mut h: ComponentHealth, detail: String, latency_ms: Option<u64>) -> ComponentHealth {
    h.status = ComponentStatus::Down;
    h.detail = Some(detail);
    h.latency_ms = latency_ms;
    h
}

/// Read the body (up to [`BODY_CAP`]) by `deadline`; `Err` when it did not end in time.
async fn drain(mut resp: reqwest::Response, deadline: Instant) -> Result<(), ()> {
    let mut read = 0usize;
    loop {
        match timeout_at(deadline, resp.chunk()).await {
            Err(_) => return Err(()),
            Ok(Ok(Some(bytes))) => {
                read += bytes.len();
                if read > BODY_CAP {
                    return Ok(());
                }
            }
            // The status is what counts; a body that breaks off is not a timeout.
            Ok(Ok(None)) | Ok(Err(_)) => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_shared_by_equal_intervals() {
        let epoch = Instant::now();
        let ten = Duration::from_secs(10);
        let a = next_on_grid(epoch, epoch + Duration::from_millis(300), ten);
        let b = next_on_grid(epoch, epoch + Duration::from_millis(7300), ten);
        assert_eq!(a, b);
        assert_eq!(a, epoch + ten);
        assert_eq!(next_on_grid(epoch, epoch + ten, ten), epoch + ten * 2);
        assert_eq!(
            next_on_grid(epoch, epoch, Duration::ZERO),
            epoch + Duration::from_nanos(1)
        );
    }
}
