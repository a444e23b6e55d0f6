//! `cadre up`: run the team in the foreground until SIGINT/SIGTERM or
//! `cadre stop --all`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use super::{CliError, Global};
use crate::cluster::{Backend, Identity};
use crate::config::{ProjectPaths, RegistrySettings};
use crate::registry::{DaemonLock, Durability, ProcessId, Registry, State, StateDir};
use crate::supervisor::SupervisorHandle;
use crate::usage::Ledger;
use crate::{control, http, supervisor, watch};

/// Arguments of `cadre up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: super::LogFormat,
    /// Serve the web UI and HTTP API on this address instead of `[http] listen`.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Do not serve HTTP.
    #[arg(long, conflicts_with = "http")]
    pub no_http: bool,
    /// fsync the registry file and directory on every commit, so it also
    /// survives a power loss (off by default: after one, every entry's
    /// owner is gone anyway; see `registry::Durability`).
    #[arg(long, env = "CADRE_REGISTRY_FSYNC")]
    pub registry_fsync: bool,
    /// The address other hosts use for this daemon's specialists, recorded
    /// in the registry (over `[listen] advertise`; on Kubernetes, the pod IP).
    #[arg(long, value_name = "ADDR", env = "CADRE_ADVERTISE")]
    pub advertise: Option<String>,
}

/// What the daemon runs with, checked before anything starts.
struct Daemon {
    paths: ProjectPaths,
    /// Canonical specialists.d: the registry's `owner`.
    dir: PathBuf,
    state: StateDir,
    registry: Registry,
    settings: RegistrySettings,
    advertise: Option<String>,
    me: ProcessId,
    web: Option<(std::net::TcpListener, http::Options)>,
}

pub fn run(g: &Global, a: UpArgs) -> Result<i32, CliError> {
    init_tracing(a.log_format);
    let dir = canonical_dir(&g.dir)?;
    let state = g.state_dir()?;
    // Any number of daemons share a state directory; one runs a specialists.d.
    let _dir_lock = DaemonLock::for_specialists_dir(&dir)?;
    let durability = if a.registry_fsync {
        Durability::PowerLoss
    } else {
        Durability::ProcessCrash
    };
    let registry = Registry::open(state.clone())
        .map_err(CliError::OpenRegistry)?
        .with_durability(durability);
    let paths = ProjectPaths::from_specialists_dir(&dir);
    let settings = g.registry_settings()?;
    let advertise = a.advertise.clone().filter(|s| !s.trim().is_empty());
    super::advertise::check(&paths, &settings, advertise.as_deref())?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the async runtime"))?;
    let web = http_listener(&paths, &a)?;
    let daemon = Daemon {
        paths,
        dir,
        state,
        registry,
        settings,
        advertise,
        me: ProcessId::current(),
        web,
    };
    runtime.block_on(serve(daemon))?;
    Ok(0)
}

async fn serve(d: Daemon) -> Result<(), CliError> {
    // Signals first, so a SIGTERM during startup still drains cleanly.
    let signal_of =
        |kind, what: &str| signal(kind).map_err(CliError::io(format!("cannot handle {what}")));
    let mut term = signal_of(SignalKind::terminate(), "SIGTERM")?;
    let mut int = signal_of(SignalKind::interrupt(), "SIGINT")?;
    let mut hup = signal_of(SignalKind::hangup(), "SIGHUP")?;
    let control_path = control::socket_path(d.state.path(), d.me.pid);
    let control_listener = control::bind(&control_path)?;
    let http_url = match &d.web {
        Some((listener, _)) => Some(http_url(listener)?),
        None => None,
    };
    let identity = Identity {
        process: d.me,
        owner: d.dir.clone(),
        control: Some(control_path.clone()),
        http: http_url.clone().map(|u| u.trim_end_matches('/').to_owned()),
        started_at: crate::registry::now_rfc3339(),
    };
    let backend = Backend::open(&d.settings, d.registry.clone(), identity)
        .await
        .map_err(|e| CliError::Refused(format!("cannot use the registry: {e}")))?;
    let backend = std::sync::Arc::new(backend);
    let ledger = Arc::new(Ledger::open(d.state.path(), &d.dir));
    let _ledger_writer =
        tokio_util::task::AbortOnDropHandle::new(tokio::spawn(ledger.clone().write_changes()));
    let sup = supervisor::spawn(supervisor::Options {
        paths: d.paths.clone(),
        backend: backend.clone(),
        advertise: d.advertise.clone(),
        ledger,
    });
    let info = control::DaemonInfo {
        pid: d.me.pid,
        owner: d.dir.clone(),
        backend: backend.clone(),
    };
    let control_task = tokio::spawn(control::serve(control_listener, sup.clone(), info));
    let _watcher = watch::watch(&d.paths, sup.trigger_fn()).map_err(CliError::Watch)?;
    // Anything that changed between the first load and the watch starting.
    sup.trigger();
    let http_stop = CancellationToken::new();
    let cluster = http::Cluster::new(backend.clone());
    let (http_task, signed) = match d.web {
        Some((listener, opts)) => {
            let signed = opts.token.is_some();
            let task = start_http(listener, opts, &sup, cluster, &http_stop)?;
            (Some(task), signed)
        }
        None => (None, false),
    };
    announce(&sup, &d.dir, &control_path, http_url.as_deref(), signed).await;

    loop {
        tokio::select! {
            _ = term.recv() => { sup.shutdown("SIGTERM").await; break; }
            _ = int.recv() => { sup.shutdown("SIGINT").await; break; }
            _ = hup.recv() => { tracing::info!("SIGHUP: reconciling"); sup.trigger(); }
            _ = sup.finished() => break,
        }
    }
    sup.finished().await;
    http_stop.cancel();
    if let Some(t) = http_task {
        // Open event streams never end by themselves; give the rest a moment.
        if tokio::time::timeout(std::time::Duration::from_secs(2), t)
            .await
            .is_err()
        {
            tracing::debug!("HTTP server did not stop within 2 s; exiting anyway");
        }
    }
    control_task.abort();
    let _ = std::fs::remove_file(&control_path);
    tracing::info!("cadre up: stopped");
    Ok(())
}

type HttpTask = tokio::task::JoinHandle<std::io::Result<()>>;

/// The base URL of the HTTP listener.
fn http_url(listener: &std::net::TcpListener) -> Result<String, CliError> {
    let addr = listener
        .local_addr()
        .map_err(CliError::io("cannot use the HTTP listener"))?;
    Ok(format!("http://{addr}/"))
}

/// Serve HTTP on `listener` until `stop`.
fn start_http(
    listener: std::net::TcpListener,
    opts: http::Options,
    sup: &SupervisorHandle,
    cluster: http::Cluster,
    stop: &CancellationToken,
) -> Result<HttpTask, CliError> {
    let unusable = || CliError::io("cannot use the HTTP listener");
    listener.set_nonblocking(true).map_err(unusable())?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(unusable())?;
    let stop = stop.clone();
    Ok(tokio::spawn(http::serve(
        listener,
        sup.clone(),
        cluster,
        opts.token,
        async move { stop.cancelled().await },
    )))
}

/// What `up` prints once the first reconcile is done: every specialist and
/// where it listens, the control socket, the web UI.
async fn announce(
    sup: &SupervisorHandle,
    dir: &Path,
    control: &Path,
    http_url: Option<&str>,
    signed: bool,
) {
    let Ok(slots) = sup.snapshot().await else {
        return;
    };
    let mut out = std::io::stdout().lock();
    for s in &slots {
        match s.state {
            State::Ready | State::ConfigError => {
                let _ = writeln!(out, "{:<20} listening on {}:{}", s.name, s.host, s.port);
            }
            State::Failed => {
                let err = s.last_error.as_deref().unwrap_or("");
                let policy = supervisor::RETRY_POLICY;
                let _ = writeln!(out, "{:<20} failed {err}; retrying {policy}", s.name);
            }
            other => {
                let err = s.last_error.as_deref().unwrap_or("");
                let _ = writeln!(out, "{:<20} {other} {err}", s.name);
            }
        }
    }
    let _ = writeln!(
        out,
        "cadre up: {} specialist(s) from {}; control socket {}",
        slots.len(),
        dir.display(),
        control.display()
    );
    if let Some(url) = http_url {
        let _ = writeln!(
            out,
            "cadre up: web UI and API on {url} (OpenAI-compatible: {url}v1)"
        );
        if signed {
            let _ = writeln!(
                out,
                "cadre up: a token is required: API clients send `Authorization: Bearer TOKEN`; \
                 a browser signs in once at {url}?token=TOKEN"
            );
        }
    }
    let _ = out.flush();
}

/// The HTTP listener `up` serves, bound before anything starts so a bad
/// address or a taken port fails at once; `None` with `--no-http`.
fn http_listener(
    paths: &ProjectPaths,
    a: &UpArgs,
) -> Result<Option<(std::net::TcpListener, http::Options)>, CliError> {
    if a.no_http {
        return Ok(None);
    }
    // Only cadre.toml: loading the team (every prompt) here would double the start-up work.
    let project = crate::config::load_project_file(paths).http;
    let listen = a.http.clone().unwrap_or(project.listen);
    let opts = http::Options::resolve(&listen, project.token_env.as_deref())?;
    let listener = std::net::TcpListener::bind(opts.addr).map_err(|e| {
        let held = if e.kind() == std::io::ErrorKind::AddrInUse {
            let h = crate::net::held::diagnose(opts.addr.ip(), opts.addr.port());
            format!(": {h}")
        } else {
            String::new()
        };
        CliError::Refused(format!(
            "cannot serve HTTP on {listen}: {e}{held} (use --http ADDR or --no-http)"
        ))
    })?;
    Ok(Some((listener, opts)))
}

/// The specialists directory as an absolute path that stays valid: the
/// parent resolved, the last component kept when it is a symlink. A
/// ConfigMap mount's `specialists.d -> ..data/specialists.d` resolves into a
/// `..TIMESTAMP` directory that kubelet deletes at the next update; the
/// daemon must keep reading through the link (and keep one identity).
fn canonical_dir(dir: &Path) -> Result<PathBuf, CliError> {
    let missing = || format!("specialists directory {} does not exist", dir.display());
    let canon = std::fs::canonicalize(dir).map_err(CliError::io(missing()))?;
    if !canon.is_dir() {
        return Err(CliError::Refused(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let is_link = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
    match (is_link, dir.file_name()) {
        (true, Some(name)) => {
            let parent = match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let parent = std::fs::canonicalize(parent).map_err(CliError::io(missing()))?;
            Ok(parent.join(name))
        }
        _ => Ok(canon),
    }
}

fn init_tracing(format: super::LogFormat) {
    use tracing_subscriber::EnvFilter;
    // notify logs at info each watch the kernel dropped with its directory
    // (every kubelet ConfigMap update deletes one): not news to an operator.
    let filter =
        EnvFilter::try_from_env("CADRE_LOG").unwrap_or_else(|_| EnvFilter::new("info,notify=warn"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ));
    let _ = match format {
        super::LogFormat::Json => builder.json().try_init(),
        super::LogFormat::Text => builder.try_init(),
    };
}

/// Whether log lines carry ANSI colour: only on a terminal, and never while
/// `NO_COLOR` is set to anything but the empty string (no-color.org); a log
/// written to a file or a pipe must not fill with escape codes.
fn colour(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())));
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
        assert!(!colour(false, Some("1".into())));
    }
}
