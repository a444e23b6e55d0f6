//! `cadre status`: the registry, checked against reality. An entry whose
//! owner process is gone is shown `dead`, one that does not answer `ping` is
//! shown `unreachable`: never `ready` on trust.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use serde::{Serialize, Serializer};

use super::{CliError, Global};
use crate::config::{ChatLimits, SpecialistName};
use crate::health::{ComponentHealth, ComponentStatus, ProviderVerdict};
use crate::registry::{Entry, State};
use crate::usage::UsageReport;

/// Arguments of `cadre status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print rows as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What is true of a specialist now, which is not always what the registry says.
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

/// One row of `status` (also the data of `status --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: SpecialistName,
    pub component: String,
    pub host: String,
    pub port: u16,
    pub model: String,
    pub provider: String,
    /// What is true now: the registry's state, unless the owner is dead
    /// (`dead`) or a ready specialist does not answer ping (`unreachable`).
    pub state: Seen,
    /// The state the registry records.
    pub registry_state: State,
    pub pid: u32,
    pub owner: String,
    pub started_at: String,
    pub uptime_secs: Option<u64>,
    /// Chats received (pings and info requests, status's own among them, are not counted).
    pub requests: Option<u64>,
    pub generation: String,
    pub last_error: Option<String>,
    /// Git provenance: the commit that last touched its file or template, `+modified` if edited since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub alive: bool,
    pub responding: bool,
    /// Its provider as the provider doctor last found it.
    pub provider_health: Option<ProviderVerdict>,
    /// Its component as last polled; `null` without a `[health] url`.
    pub component_health: Option<ComponentHealth>,
    /// Tokens used (since the daemon started, per provider, today).
    pub usage: Option<UsageReport>,
    pub limits: Option<ChatLimits>,
}

/// A ping that takes longer than this counts as no answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn run(g: &Global, a: StatusArgs) -> Result<i32, CliError> {
    let mut entries = g.entries()?;
    if entries.is_empty() {
        entries = rebuilt(g)?;
    }
    let rows = rows(entries)?;
    let mut out = std::io::stdout().lock();
    let io = CliError::io("cannot write to stdout");
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?).map_err(io)?;
    } else if rows.is_empty() {
        writeln!(out, "no specialists registered").map_err(io)?;
    } else {
        write_table(&mut out, &rows).map_err(io)?;
    }
    Ok(0)
}

/// How long `status` waits for a daemon to re-register its team.
const REBUILD_WAIT: Duration = Duration::from_secs(5);

/// An empty registry while a daemon runs a team means the file was just
/// moved aside (corrupt) or emptied and the daemon is re-registering: wait
/// for its entries rather than report "no specialists" while every one of
/// them answers. Still empty after [`REBUILD_WAIT`]: an error, never an
/// empty team with exit 0.
fn rebuilt(g: &Global) -> Result<Vec<Entry>, CliError> {
    let state = g.state_dir()?;
    let req = crate::control::Request::Plan { dir: None };
    let Ok(resp) = crate::control::request(state.path(), &req, REBUILD_WAIT) else {
        return Ok(Vec::new()); // no daemon (or none that answers): the registry is the truth
    };
    let team = resp
        .steps
        .iter()
        .filter(|s| s.kind != crate::plan::ActionKind::Stop)
        .count();
    if team == 0 {
        return Ok(Vec::new());
    }
    let deadline = std::time::Instant::now() + REBUILD_WAIT;
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let entries = g.entries()?;
        if !entries.is_empty() {
            return Ok(entries);
        }
    }
    let pid = resp.pid.map_or(String::new(), |p| format!(" (pid {p})"));
    Err(CliError::Refused(format!(
        "the registry holds no entries, but the daemon{pid} runs {team} specialist(s) and has \
         not re-registered them within {}s; run `cadre status` again, or see its log",
        REBUILD_WAIT.as_secs()
    )))
}

/// Rows for `entries`, each probed concurrently.
pub fn rows(entries: Vec<Entry>) -> Result<Vec<Row>, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the async runtime"))?;
    Ok(rt.block_on(futures::future::join_all(entries.iter().map(row))))
}

/// Liveness checked, not taken on trust: the owner process (pid and start
/// time), then `ping` where a listener should answer.
async fn row(e: &Entry) -> Row {
    let alive = e.owner_process().is_alive();
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
    Row {
        name: e.name.clone(),
        component: e.component.clone(),
        host: e.host.clone(),
        port: e.port,
        model: e.model.clone(),
        provider: e.provider.clone(),
        state,
        registry_state: e.state,
        pid: e.pid,
        owner: e.owner.display().to_string(),
        started_at: e.started_at.clone(),
        uptime_secs: uptime(&e.started_at),
        requests: info.as_ref().map(|i| i.requests),
        generation: e.generation.clone(),
        last_error: e.last_error.clone(),
        revision: e.revision.clone(),
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

fn human(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

/// One column of the table: its header, its cell, and when it shows.
struct Column {
    header: &'static str,
    cell: fn(&Row) -> String,
    /// Shown only when some row has something to say here; `None`: always.
    shown_if: Option<fn(&Row) -> bool>,
}

fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

/// Every column of `status`, in order: the one place to add one.
const COLUMNS: &[Column] = &[
    Column {
        header: "NAME",
        cell: |r| r.name.to_string(),
        shown_if: None,
    },
    Column {
        header: "COMPONENT",
        cell: |r| r.component.clone(),
        shown_if: None,
    },
    Column {
        header: "PORT",
        cell: |r| r.port.to_string(),
        shown_if: None,
    },
    Column {
        header: "MODEL",
        cell: |r| r.model.clone(),
        shown_if: None,
    },
    Column {
        header: "PROVIDER",
        cell: |r| r.provider.clone(),
        shown_if: None,
    },
    Column {
        header: "PROVIDER-HEALTH",
        cell: |r| or_dash(r.provider_health.as_ref().map(|h| h.status.label())),
        shown_if: None,
    },
    Column {
        header: "COMPONENT-HEALTH",
        cell: |r| or_dash(r.component_health.as_ref().map(component_cell)),
        shown_if: Some(|r| r.component_health.is_some()),
    },
    Column {
        header: "STATE",
        cell: |r| r.state.as_str().to_owned(),
        shown_if: None,
    },
    Column {
        header: "PID",
        cell: |r| r.pid.to_string(),
        shown_if: None,
    },
    Column {
        header: "UPTIME",
        cell: |r| or_dash(r.uptime_secs.map(human)),
        shown_if: None,
    },
    Column {
        header: "REQUESTS",
        cell: |r| or_dash(r.requests.map(|n| n.to_string())),
        shown_if: None,
    },
    Column {
        header: "TOKENS",
        cell: |r| or_dash(r.usage.as_ref().map(|u| tokens_cell(u, r.limits))),
        shown_if: None,
    },
    Column {
        header: "REVISION",
        cell: |r| or_dash(r.revision.clone()),
        shown_if: Some(|r| r.revision.is_some()),
    },
    Column {
        header: "LAST ERROR",
        cell: |r| or_dash(r.last_error.clone()),
        shown_if: None,
    },
];

/// `up`, `slow 1200ms`, `down`.
fn component_cell(h: &ComponentHealth) -> String {
    match (h.status, h.latency_ms) {
        (ComponentStatus::Slow, Some(ms)) => format!("slow {ms}ms"),
        (s, _) => s.as_str().to_owned(),
    }
}

/// Today's tokens, `~` when estimates are among them, over the budget when set.
fn tokens_cell(u: &UsageReport, limits: Option<ChatLimits>) -> String {
    let mark = if u.today.estimated_tokens > 0 {
        "~"
    } else {
        ""
    };
    match limits.and_then(|l| l.tokens_per_day) {
        Some(budget) => format!("{mark}{}/{budget}", u.today.total()),
        None => format!("{mark}{}", u.today.total()),
    }
}

fn write_table(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    let columns: Vec<&Column> = COLUMNS
        .iter()
        .filter(|c| c.shown_if.is_none_or(|f| rows.iter().any(f)))
        .collect();
    let header: Vec<&str> = columns.iter().map(|c| c.header).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| (c.cell)(r)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: Vec<&str>| {
        let last = cols.len() - 1;
        cols.iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    (*c).to_owned()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(header))?;
    for row in &cells {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = crate::registry::ProcessId::current();
        let (pid, start) = (me.pid, me.start);
        let process_alive = |pid, start| crate::registry::ProcessId { pid, start }.is_alive();
        assert!(process_alive(pid, start));
        assert!(!process_alive(pid, start + 1));
        assert!(!process_alive(u32::MAX - 1, start));
    }

    #[test]
    fn uptime_is_humanized() {
        assert_eq!(human(5), "5s");
        assert_eq!(human(125), "2m5s");
        assert_eq!(human(7300), "2h1m");
        assert_eq!(human(90000), "1d1h");
    }
}
