//! The control socket (DESIGN §8, §13): one per daemon, `control-PID.sock`
//! in the state directory (its path recorded in the registry with the
//! daemon), mode 0600, one JSON request per line and one JSON reply per line.
//!
//! Requests: `{"cmd":"stop","names":[…]}`, `{"cmd":"stop","all":true}`
//! (graceful shutdown), `{"cmd":"start","names":[…]}`, `{"cmd":"plan"}`,
//! `{"cmd":"reload"}`, `{"cmd":"ping"}`, `{"cmd":"teams"}`. Replies:
//! `{"ok":true,…}` or `{"ok":false,"error":"…"}`. A Unix socket with
//! owner-only permissions is the authentication: whoever can open it is the
//! operator.
//!
//! One request streams: `{"cmd":"team","team":"council","question":"…"}`
//! runs a team and answers one reply per team event (`{"ok":true,"event":
//! {…}}`, the objects of `POST /api/teams/NAME`), the `summary` last;
//! closing the connection ends the run.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::config::SpecialistName;
use crate::plan::{Action, TeamAction};
use crate::supervisor::SupervisorHandle;
use crate::team::{Runner, TeamInfo};

/// Where the control socket of daemon `pid` lives in a state directory.
pub fn socket_path(state_dir: &Path, pid: u32) -> PathBuf {
    state_dir.join(format!("control-{pid}.sock"))
}

/// A control request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Stop {
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        all: bool,
    },
    Start {
        names: Vec<String>,
    },
    Plan {
        /// Take the desired state from this specialists.d instead of the daemon's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dir: Option<PathBuf>,
    },
    Reload,
    Ping,
    /// Every team the daemon holds.
    Teams,
    /// Run a team; the replies stream (see the module doc).
    Team {
        team: String,
        question: String,
    },
}

/// A control reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `plan`: every action, keeps included; `stop`/`start`/`reload`: the actions applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Action>,
    /// `plan`: every team action, keeps included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub team_steps: Vec<TeamAction>,
    /// `teams`: every team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<TeamInfo>>,
    /// `team`: one event of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<serde_json::Value>,
    /// The daemon's pid and specialists.d (every reply carries them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<PathBuf>,
    /// `ping`: the registry as the daemon sees it, when it is unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_unavailable: Option<RegistryDown>,
}

/// Since when a daemon cannot reach its registry, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryDown {
    /// RFC 3339.
    pub since: String,
    pub reason: String,
}

impl Response {
    fn err(e: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(e.into()),
            ..Response::default()
        }
    }
}

/// Errors of the control socket, on either side.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no cadre daemon answers on {} (is `cadre up` running?)", .0.display())]
    NotRunning(PathBuf),
    #[error("another cadre daemon is already listening on {}", .0.display())]
    InUse(PathBuf),
    #[error("control socket {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the daemon sent a malformed reply: {0}")]
    Malformed(String),
    #[error("{0}")]
    Daemon(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ControlError + '_ {
    move |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Bind the control socket at `path`. A leftover socket nobody answers on
/// (a crashed daemon whose pid came back) is replaced; a live one is an error.
pub fn bind(path: &Path) -> Result<tokio::net::UnixListener, ControlError> {
    let path = path.to_path_buf();
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(ControlError::InUse(path));
        }
        std::fs::remove_file(&path).map_err(io(&path))?;
    }
    let listener = tokio::net::UnixListener::bind(&path).map_err(io(&path))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io(&path))?;
    Ok(listener)
}

/// What every reply says about the daemon.
#[derive(Clone)]
pub struct DaemonInfo {
    pub pid: u32,
    pub owner: PathBuf,
    /// For `ping`'s word on the registry.
    pub backend: std::sync::Arc<crate::cluster::Backend>,
}

/// Serve control requests until the listener fails or the task is aborted.
pub async fn serve(listener: tokio::net::UnixListener, sup: SupervisorHandle, info: DaemonInfo) {
    let runner = Runner::new(sup.clone());
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off, don't spin.
                tracing::warn!("control socket accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (sup, runner, info) = (sup.clone(), runner.clone(), info.clone());
        tokio::spawn(async move { connection(stream, sup, runner, info).await });
    }
}

/// One client: requests answered in order until it closes.
async fn connection(
    stream: tokio::net::UnixStream,
    sup: SupervisorHandle,
    runner: Runner,
    info: DaemonInfo,
) {
    let (r, mut w) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(r).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let req = match serde_json::from_str::<Request>(&line) {
            Ok(req) => req,
            Err(e) => {
                let reply = Response::err(format!("bad control request: {e}"));
                if write(&mut w, reply, &info).await.is_err() {
                    return;
                }
                continue;
            }
        };
        if let Request::Team { team, question } = req {
            if team_run(&runner, &team, question, &mut w, &mut lines, &info)
                .await
                .is_err()
            {
                return;
            }
            continue;
        }
        let (reply, shutdown) = handle(&sup, &runner, req).await;
        if write(&mut w, reply, &info).await.is_err() {
            return;
        }
        if shutdown {
            sup.shutdown("stop --all").await;
        }
    }
}

type Lines = tokio::io::Lines<tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>>;

/// Stream a team's run, one reply per event; the client closing (or
/// sending anything) ends it.
async fn team_run(
    runner: &Runner,
    team: &str,
    question: String,
    w: &mut tokio::net::unix::OwnedWriteHalf,
    lines: &mut Lines,
    info: &DaemonInfo,
) -> std::io::Result<()> {
    let (spec, mut events) = match runner.start(team, question).await {
        Ok(started) => started,
        Err(e) => return write(w, Response::err(e.to_string()), info).await,
    };
    loop {
        let ev = tokio::select! {
            ev = events.next() => ev,
            _ = lines.next_line() => return Err(std::io::ErrorKind::ConnectionAborted.into()),
        };
        let Some(ev) = ev else { return Ok(()) };
        let reply = Response {
            ok: true,
            event: Some(ev.to_json(&spec.name)),
            ..Response::default()
        };
        write(w, reply, info).await?;
    }
}

async fn write(
    w: &mut tokio::net::unix::OwnedWriteHalf,
    mut reply: Response,
    info: &DaemonInfo,
) -> std::io::Result<()> {
    reply.pid = Some(info.pid);
    reply.owner = Some(info.owner.clone());
    reply.registry_unavailable = info.backend.health().map(|u| RegistryDown {
        since: u.since_rfc3339(),
        reason: u.reason,
    });
    let mut out = serde_json::to_string(&reply).unwrap_or_else(|_| "{\"ok\":false}".into());
    out.push('\n');
    w.write_all(out.as_bytes()).await?;
    w.flush().await
}

async fn handle(sup: &SupervisorHandle, runner: &Runner, req: Request) -> (Response, bool) {
    let ok = |steps: Vec<Action>, message: String| Response {
        ok: true,
        steps,
        message: Some(message),
        ..Response::default()
    };
    let reply =
        |r: Result<Vec<Action>, crate::supervisor::SupervisorError>, message: String| match r {
            Ok(steps) => ok(steps, message),
            Err(e) => Response::err(e.to_string()),
        };
    match req {
        Request::Ping => (ok(Vec::new(), "pong".into()), false),
        Request::Stop { all: true, .. } => (ok(Vec::new(), "shutting down".into()), true),
        Request::Stop { names, all: false } if names.is_empty() => {
            (Response::err("stop needs specialist names or --all"), false)
        }
        Request::Stop { names, .. } => match parse_names(&names) {
            Ok(parsed) => (
                reply(
                    sup.stop(parsed).await,
                    format!("stopped {}", names.join(", ")),
                ),
                false,
            ),
            Err(e) => (*e, false),
        },
        Request::Start { names } => match parse_names(&names) {
            Ok(parsed) => (
                reply(
                    sup.start(parsed).await,
                    format!("started {}", names.join(", ")),
                ),
                false,
            ),
            Err(e) => (*e, false),
        },
        Request::Plan { dir } => {
            let paths = dir.map(|d| crate::config::ProjectPaths::from_specialists_dir(&d));
            let r = match sup.plan(paths).await {
                Ok(p) => Response {
                    team_steps: p.teams,
                    ..ok(p.actions, "plan".into())
                },
                Err(e) => Response::err(e.to_string()),
            };
            (r, false)
        }
        Request::Reload => (reply(sup.reload().await, "reloaded".into()), false),
        Request::Teams => match runner.list().await {
            Ok(all) => (
                Response {
                    teams: Some(all.iter().map(TeamInfo::from).collect()),
                    ..ok(Vec::new(), "teams".into())
                },
                false,
            ),
            Err(e) => (Response::err(e.to_string()), false),
        },
        // Answered by `team_run`, which streams.
        Request::Team { .. } => (Response::err("a team run streams"), false),
    }
}

/// Names from the wire, parsed once here; a bad one is the error reply.
fn parse_names(names: &[String]) -> Result<Vec<SpecialistName>, Box<Response>> {
    names
        .iter()
        .map(|n| SpecialistName::parse(n).map_err(|e| Box::new(Response::err(e.to_string()))))
        .collect()
}

mod client;

pub use client::{request, stream};

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn request_wire_format() {
        let r: Request = serde_json::from_str(r#"{"cmd":"stop","names":["numa"]}"#).unwrap();
        assert_eq!(
            r,
            Request::Stop {
                names: vec!["numa".into()],
                all: false
            }
        );
        let r: Request = serde_json::from_str(r#"{"cmd":"stop","all":true}"#).unwrap();
        assert_eq!(
            r,
            Request::Stop {
                names: vec![],
                all: true
            }
        );
        assert_eq!(
            serde_json::to_string(&Request::Plan { dir: None }).unwrap(),
            r#"{"cmd":"plan"}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"explode"}"#).is_err());
    }

    #[test]
    fn client_reports_no_daemon() {
        let tmp = tempfile::tempdir().unwrap();
        let path = socket_path(tmp.path(), 1);
        let err = request(&path, &Request::Ping, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, ControlError::NotRunning(_)), "{err}");
        assert!(err.to_string().contains("no cadre daemon answers"), "{err}");
    }
}
