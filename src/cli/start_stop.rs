//! `cadre stop` and `cadre start`: operator overrides through the control
//! socket of the daemon that runs each specialist, found through the
//! registry (any number of daemons may share it). `stop --all` shuts down
//! every daemon of the registry this machine can reach, `--owner DIR` only
//! the one running DIR.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{CliError, Global};
use crate::cluster::Snapshot;
use crate::cluster::daemons::{self, control_of};
use crate::control::{self, Request};
use crate::registry::DaemonRecord;

/// Arguments of `cadre stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Specialists to stop (in whichever daemon runs each).
    #[arg(required_unless_present = "all")]
    pub names: Vec<String>,
    /// Shut down every daemon of the registry gracefully.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// With --all: only the daemon running this specialists.d.
    #[arg(long, value_name = "DIR", requires = "all")]
    pub owner: Option<PathBuf>,
}

/// Arguments of `cadre start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Operator-stopped specialists to resume.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// Stops drain in-flight chats first, so allow for the drain timeout.
const TIMEOUT: Duration = Duration::from_secs(60);

pub fn stop(g: &Global, a: StopArgs) -> Result<i32, CliError> {
    let snap = g.snapshot()?;
    if a.all {
        return stop_daemons(&snap, a.owner);
    }
    for (d, names) in by_daemon(&snap, &a.names)? {
        let req = Request::Stop { names, all: false };
        send(&d, &req, &snap)?;
    }
    Ok(0)
}

pub fn start(g: &Global, a: StartArgs) -> Result<i32, CliError> {
    let snap = g.snapshot()?;
    for (d, names) in by_daemon(&snap, &a.names)? {
        send(&d, &Request::Start { names }, &snap)?;
    }
    Ok(0)
}

/// `stop --all`: every reachable daemon (of `owner`, when given).
fn stop_daemons(snap: &Snapshot, owner: Option<PathBuf>) -> Result<i32, CliError> {
    let owner = match owner {
        Some(dir) => Some(std::fs::canonicalize(&dir).map_err(CliError::io(format!(
            "specialists directory {}",
            dir.display()
        )))?),
        None => None,
    };
    let chosen: Vec<&DaemonRecord> = snap
        .daemons
        .iter()
        .filter(|d| owner.as_ref().is_none_or(|o| d.dir == *o))
        .collect();
    if chosen.is_empty() {
        return Err(CliError::Refused(match owner {
            Some(o) => format!("no cadre daemon of this registry runs {}", o.display()),
            None => "no cadre daemon is running on this registry".into(),
        }));
    }
    let (here, elsewhere): (Vec<_>, Vec<_>) =
        chosen.into_iter().partition(|d| control_of(d).is_some());
    for d in &here {
        send(
            d,
            &Request::Stop {
                names: vec![],
                all: true,
            },
            snap,
        )?;
    }
    if elsewhere.is_empty() {
        return Ok(0);
    }
    let list: Vec<String> = elsewhere.iter().map(|d| daemons::describe(d)).collect();
    Err(CliError::Refused(format!(
        "not reachable from here (their control sockets are on their own hosts): {}; \
         run `cadre stop --all` there",
        list.join(", ")
    )))
}

/// The names grouped by the reachable daemon that runs each (every replica
/// this machine can reach). An unknown name, or one running only where its
/// daemon cannot be reached, is an error before anything is sent.
fn by_daemon(
    snap: &Snapshot,
    names: &[String],
) -> Result<Vec<(DaemonRecord, Vec<String>)>, CliError> {
    let mut out: BTreeMap<u32, (DaemonRecord, Vec<String>)> = BTreeMap::new();
    for name in names {
        crate::config::SpecialistName::parse(name)?;
        let entries: Vec<_> = snap.entries.iter().filter(|e| e.name == *name).collect();
        if entries.is_empty() {
            return Err(CliError::NotRegistered(name.clone()));
        }
        let mut reached = false;
        let mut elsewhere = Vec::new();
        for e in entries {
            match daemons::owner_of(snap, e) {
                Some(d) if control_of(d).is_some() => {
                    out.entry(d.pid)
                        .or_insert_with(|| (d.clone(), Vec::new()))
                        .1
                        .push(name.clone());
                    reached = true;
                }
                Some(d) => elsewhere.push(daemons::describe(d)),
                None => elsewhere.push(format!("pid {} on {}", e.pid, e.host)),
            }
        }
        if !reached {
            return Err(CliError::Refused(format!(
                "`{name}` runs in daemon {}, whose control socket is not reachable from \
                 here; run the command on its host",
                elsewhere.join(", ")
            )));
        }
    }
    Ok(out.into_values().collect())
}

fn send(d: &DaemonRecord, req: &Request, snap: &Snapshot) -> Result<(), CliError> {
    let path = control_of(d).ok_or_else(|| {
        CliError::Refused(format!("daemon {} is not reachable", daemons::describe(d)))
    })?;
    let resp = control::request(path, req, TIMEOUT)?;
    // With several daemons, say which one each answer is from.
    let prefix = if snap.daemons.len() > 1 {
        format!("daemon {} ({}): ", d.pid, d.dir.display())
    } else {
        String::new()
    };
    for action in &resp.steps {
        println!("{prefix}{action}");
    }
    if let Some(m) = resp.message {
        println!("{prefix}{m}");
    }
    Ok(())
}
