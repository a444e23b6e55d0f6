//! `cadre status`: the registry, checked against reality. One row per
//! specialist of the registry (every daemon's, every host's), its replicas
//! on continuation lines below it; an entry whose owner process is gone is
//! shown `dead`, one that does not answer `ping` `unreachable`: never `ready`
//! on trust. A daemon that declares a name another daemon holds shows as an
//! endpoint in `config_error`, naming the holder.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use serde::{Serialize, Serializer};

use super::{CliError, Global};
use crate::cluster::{Snapshot, daemons, replicas};
use crate::config::{ChatLimits, SpecialistName};
use crate::health::{ComponentHealth, ProviderVerdict};
use crate::registry::{DaemonRecord, Entry, State};
use crate::usage::UsageReport;

mod rebuilt;
mod table;

/// Arguments of `cadre status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print rows as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What is true of an endpoint now, which is not always what the registry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The registry's state, confirmed (a listening state answered `ping`).
    Registered(State),
    /// Its owner process is gone.
    Dead,
    /// It should listen, but does not answer `ping`.
    Unreachable,
}

impl Seen {
    pub fn as_str(self) -> &'static str {
        match self {
            Seen::Registered(s) => s.as_str(),
            Seen::Dead => "dead",
            Seen::Unreachable => "unreachable",
        }
    }
}

impl Serialize for Seen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One endpoint: where one daemon serves (or waits to serve) the specialist.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    pub host: String,
    pub port: u16,
    /// What is true now: the registry's state, unless the owner is dead
    /// (`dead`) or a ready specialist does not answer ping (`unreachable`).
    pub state: Seen,
    /// The state the registry records.
    pub registry_state: State,
    pub pid: u32,
    /// The specialists.d of the daemon that serves it.
    pub owner: String,
    pub model: String,
    pub started_at: String,
    pub uptime_secs: Option<u64>,
    /// Chats received (pings and info requests, status's own among them, are not counted).
    pub requests: Option<u64>,
    pub generation: String,
    pub last_error: Option<String>,
    pub alive: bool,
    pub responding: bool,
    /// Its provider as the provider doctor of its daemon last found it.
    pub provider_health: Option<ProviderVerdict>,
    /// Its component as last polled; `null` without a `[health] url`.
    pub component_health: Option<ComponentHealth>,
    /// Tokens used (since its daemon started, per provider, today).
    pub usage: Option<UsageReport>,
    pub limits: Option<ChatLimits>,
}

/// One row of `status` (also the data of `status --json`): the specialist,
/// its first endpoint's fields at the top level, and every endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: SpecialistName,
    pub component: String,
    pub provider: String,
    /// Git provenance: the commit that last touched its file or template, `+modified` if edited since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(flatten)]
    pub first: EndpointRow,
    /// Every endpoint, the first one included: one per host it is served on.
    pub endpoints: Vec<EndpointRow>,
    /// Its live endpoints run different generations.
    pub diverged: bool,
}

/// A ping that takes longer than this counts as no answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn run(g: &Global, a: StatusArgs) -> Result<i32, CliError> {
    let mut snap = g.snapshot()?;
    if snap.entries.is_empty() && snap.local {
        snap = rebuilt::wait(g, snap)?;
    }
    if snap.unavailable.is_some() {
        registry_note(&snap);
    }
    let rows = rows(&snap)?;
    let mut out = std::io::stdout().lock();
    let io = CliError::io("cannot write to stdout");
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?).map_err(io)?;
    } else if rows.is_empty() {
        writeln!(out, "no specialists registered").map_err(io)?;
    } else {
        table::write_table(&mut out, &rows).map_err(io)?;
    }
    Ok(0)
}

/// While the registry cannot be read, what the daemons of this machine say
/// about it: since when they cannot reach it.
fn registry_note(snap: &Snapshot) {
    let since = snap
        .daemons
        .iter()
        .filter_map(|d| {
            let path = daemons::control_of(d)?;
            let req = crate::control::Request::Ping;
            crate::control::request(path, &req, PROBE_TIMEOUT)
                .ok()?
                .registry_unavailable
        })
        .map(|r| r.since)
        .min();
    if let Some(since) = since {
        eprintln!(
            "warning: the daemons of this host report the registry unavailable since {since}"
        );
    }
}

/// Rows for every specialist of `snap`, each endpoint probed concurrently.
pub fn rows(snap: &Snapshot) -> Result<Vec<Row>, CliError> {
    let rt = super::runtime()?;
    let groups = replicas::group(&snap.entries);
    let probes = groups
        .iter()
        .flat_map(|g| g.endpoints.iter())
        .map(|e| endpoint(e, snap.local));
    let mut probed: Vec<EndpointRow> = rt.block_on(futures::future::join_all(probes));
    let mut out = Vec::with_capacity(groups.len());
    for g in &groups {
        let mut endpoints: Vec<EndpointRow> = probed.drain(..g.endpoints.len()).collect();
        endpoints.extend(waiting(&snap.daemons, &g.name));
        // Answering endpoints first: the top-level fields describe a live one.
        endpoints
            .sort_by_key(|e| !matches!(e.state, Seen::Registered(s) if replicas::answers_chats(s)));
        let e = &g.endpoints[0];
        out.push(Row {
            name: g.name.clone(),
            component: e.component.clone(),
            provider: e.provider.clone(),
            revision: e.revision.clone(),
            first: endpoints[0].clone(),
            diverged: g.diverged(),
            endpoints,
        });
    }
    // Names waiting in a daemon that no other daemon registers any more.
    for d in &snap.daemons {
        for w in &d.waiting {
            if out.iter().any(|r| r.name == w.name) {
                continue;
            }
            let endpoints: Vec<EndpointRow> = waiting(&snap.daemons, &w.name).collect();
            out.push(Row {
                name: w.name.clone(),
                component: String::new(),
                provider: String::new(),
                revision: None,
                first: endpoints[0].clone(),
                diverged: false,
                endpoints,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The daemons that declare `name` but wait for its holder, as endpoints in
/// `config_error`.
fn waiting<'a>(
    daemons: &'a [DaemonRecord],
    name: &'a SpecialistName,
) -> impl Iterator<Item = EndpointRow> + 'a {
    daemons.iter().flat_map(move |d| {
        d.waiting
            .iter()
            .filter(move |w| w.name == *name)
            .map(move |w| EndpointRow {
                host: d.host.clone(),
                port: 0,
                state: Seen::Registered(State::ConfigError),
                registry_state: State::ConfigError,
                pid: d.pid,
                owner: d.dir.display().to_string(),
                model: String::new(),
                started_at: d.started_at.clone(),
                uptime_secs: None,
                requests: None,
                generation: String::new(),
                last_error: Some(w.reason.clone()),
                alive: true,
                responding: false,
                provider_health: None,
                component_health: None,
                usage: None,
                limits: None,
            })
    })
}

/// Liveness checked, not taken on trust: the owner process (pid and start
/// time, where it is a process of this machine), then `ping` where a
/// listener should answer.
async fn endpoint(e: &Entry, local: bool) -> EndpointRow {
    let alive = !local || e.owner_process().is_alive();
    let serving = e.state.has_listener();
    let probe = if alive && serving && e.port != 0 {
        crate::client::probe(e.connect_host(), e.port, PROBE_TIMEOUT)
            .await
            .ok()
    } else {
        None
    };
    // A pong from another specialist (a forged or stale entry pointing at
    // someone else's port) is no answer from this one.
    let probe = probe.filter(|p| p.specialist == e.name);
    let responding = probe.is_some();
    let state = if !alive {
        Seen::Dead
    } else if serving && !responding {
        Seen::Unreachable
    } else {
        Seen::Registered(e.state)
    };
    let info = probe.and_then(|p| p.info);
    EndpointRow {
        host: e.host.clone(),
        port: e.port,
        state,
        registry_state: e.state,
        pid: e.pid,
        owner: e.owner.display().to_string(),
        model: e.model.clone(),
        started_at: e.started_at.clone(),
        uptime_secs: uptime(&e.started_at),
        requests: info.as_ref().map(|i| i.requests),
        generation: e.generation.clone(),
        last_error: e.last_error.clone(),
        alive,
        responding,
        provider_health: info.as_ref().and_then(|i| i.provider_health.clone()),
        component_health: info.as_ref().and_then(|i| i.component_health.clone()),
        usage: info.as_ref().map(|i| i.usage.clone()),
        limits: info.as_ref().map(|i| i.limits),
    }
}

fn uptime(started_at: &str) -> Option<u64> {
    let t = time::OffsetDateTime::parse(started_at, &time::format_description::well_known::Rfc3339)
        .ok()?;
    let secs = (time::OffsetDateTime::now_utc() - t).whole_seconds();
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = crate::registry::ProcessId::current();
        let (pid, start) = (me.pid, me.start);
        let process_alive = |pid, start| crate::registry::ProcessId { pid, start }.is_alive();
        assert!(process_alive(pid, start));
        assert!(!process_alive(pid, start + 1));
        assert!(!process_alive(u32::MAX - 1, start));
    }
}
