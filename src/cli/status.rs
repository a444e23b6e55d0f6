//! `cadre status`: the registry, checked against reality. An entry whose
//! owner process is gone is shown `dead`, one that does not answer `ping` is
//! shown `unreachable`: never `ready` on trust.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::Global;
use crate::registry::{Entry, Registry, StateDir};

/// Arguments of `cadre status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print rows as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One row of `status` (also the data of `status --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub component: String,
    pub host: String,
    pub port: u16,
    pub model: String,
    pub provider: String,
    /// What is true now: the registry's state, unless the owner is dead
    /// (`dead`) or a ready specialist does not answer ping (`unreachable`).
    pub state: String,
    /// The state the registry records.
    pub registry_state: String,
    pub pid: u32,
    pub owner: String,
    pub started_at: String,
    pub uptime_secs: Option<u64>,
    pub requests: Option<u64>,
    pub generation: String,
    pub last_error: Option<String>,
    /// Git provenance: the commit that last touched its file or template, `+modified` if edited since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub alive: bool,
    pub responding: bool,
}

pub fn run(g: &Global, a: StatusArgs) -> anyhow::Result<i32> {
    let state =
        StateDir::resolve(g.state_dir.as_deref()).context("cannot use the state directory")?;
    let registry = Registry::open(state).context("cannot open the registry")?;
    let data = registry.read().context("cannot read the registry")?;
    let rows = rows(data.specialists.into_values().collect());
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
    } else if rows.is_empty() {
        writeln!(out, "no specialists registered")?;
    } else {
        write_table(&mut out, &rows)?;
    }
    Ok(0)
}

/// Rows for `entries`, each pinged concurrently.
pub fn rows(entries: Vec<Entry>) -> Vec<Row> {
    std::thread::scope(|s| {
        let handles: Vec<_> = entries.iter().map(|e| s.spawn(move || row(e))).collect();
        handles
            .into_iter()
            .zip(&entries)
            .map(|(h, e)| h.join().unwrap_or_else(|_| row_without_probe(e)))
            .collect()
    })
}

fn registry_state(e: &Entry) -> String {
    serde_json::to_value(e.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn row_without_probe(e: &Entry) -> Row {
    Row {
        name: e.name.clone(),
        component: e.component.clone(),
        host: e.host.clone(),
        port: e.port,
        model: e.model.clone(),
        provider: e.provider.clone(),
        state: "unknown".into(),
        registry_state: registry_state(e),
        pid: e.pid,
        owner: e.owner.display().to_string(),
        started_at: e.started_at.clone(),
        uptime_secs: uptime(&e.started_at),
        requests: None,
        generation: e.generation.clone(),
        last_error: e.last_error.clone(),
        revision: e.revision.clone(),
        alive: false,
        responding: false,
    }
}

fn row(e: &Entry) -> Row {
    let mut r = row_without_probe(e);
    r.alive = process_alive(e.pid, e.pid_start);
    let serving = matches!(
        r.registry_state.as_str(),
        "ready" | "config_error" | "reloading" | "starting"
    );
    let probe = if r.alive && serving && e.port != 0 {
        probe(&e.host, e.port)
    } else {
        None
    };
    r.responding = probe.is_some();
    r.requests = probe.flatten();
    r.state = if !r.alive {
        "dead".into()
    } else if serving && !r.responding {
        "unreachable".into()
    } else {
        r.registry_state.clone()
    };
    r
}

/// Ping, then info. `None`: no pong; `Some(requests)` otherwise.
fn probe(host: &str, port: u16) -> Option<Option<u64>> {
    let addr = connect_addr(host, port)?;
    let timeout = Duration::from_secs(2);
    let stream = crate::net::socket::connect_blocking(addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    (&stream)
        .write_all(b"{\"type\":\"ping\"}\n{\"type\":\"info\"}\n")
        .ok()?;
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let pong: serde_json::Value = serde_json::from_str(&line).ok()?;
    if pong.get("type").and_then(|t| t.as_str()) != Some("pong") {
        return None;
    }
    line.clear();
    let requests = reader
        .read_line(&mut line)
        .ok()
        .and_then(|_| serde_json::from_str::<serde_json::Value>(&line).ok())
        .and_then(|info| {
            info.get("requests")
                .or_else(|| info.get("counters").and_then(|c| c.get("requests")))
                .and_then(|v| v.as_u64())
        });
    Some(requests)
}

fn connect_addr(host: &str, port: u16) -> Option<SocketAddr> {
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "::1",
        h => h,
    };
    (host, port).to_socket_addrs().ok()?.next()
}

/// Is `pid` alive and still the process that started at `start` (clock
/// ticks since boot, /proc/PID/stat field 22)? Pid reuse reads as dead.
pub fn process_alive(pid: u32, start: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return false;
    };
    // rest starts at field 3 (state); field 22 is index 19 here.
    match rest
        .split_whitespace()
        .nth(19)
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(s) => s == start,
        None => false,
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

fn write_table(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    // REVISION only when the team lives in a git work tree.
    let with_revision = rows.iter().any(|r| r.revision.is_some());
    let mut header = vec![
        "NAME",
        "COMPONENT",
        "PORT",
        "MODEL",
        "PROVIDER",
        "STATE",
        "PID",
        "UPTIME",
        "REQUESTS",
    ];
    if with_revision {
        header.push("REVISION");
    }
    header.push("LAST ERROR");
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.name.clone(),
                r.component.clone(),
                r.port.to_string(),
                r.model.clone(),
                r.provider.clone(),
                r.state.clone(),
                r.pid.to_string(),
                r.uptime_secs.map(human).unwrap_or_else(|| "-".into()),
                r.requests
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
            ];
            if with_revision {
                row.push(r.revision.clone().unwrap_or_else(|| "-".into()));
            }
            row.push(r.last_error.clone().unwrap_or_else(|| "-".into()));
            row
        })
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
    writeln!(out, "{}", line(header.to_vec()))?;
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
        let pid = std::process::id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let rest = stat.rsplit_once(')').unwrap().1;
        let start: u64 = rest.split_whitespace().nth(19).unwrap().parse().unwrap();
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
