//! `cadre up`: run the team in the foreground until SIGINT/SIGTERM or
//! `cadre stop --all`.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

use super::Global;
use crate::config::ProjectPaths;
use crate::registry::{Durability, ProcessId, Registry, StateDir};
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
}

pub fn run(g: &Global, a: UpArgs) -> anyhow::Result<i32> {
    init_tracing(a.log_format);
    let dir = canonical_dir(&g.dir)?;
    let state =
        StateDir::resolve(g.state_dir.as_deref()).context("cannot use the state directory")?;
    let _lock = DaemonLock::acquire(state.path(), &dir)?;
    let _dir_lock = DirLock::acquire(&dir)?;
    let durability = if a.registry_fsync {
        Durability::PowerLoss
    } else {
        Durability::ProcessCrash
    };
    let registry = Registry::open(state.clone())
        .context("cannot open the registry")?
        .with_durability(durability);
    let me = ProcessId::current();
    refuse_if_owned(&registry, &dir, me)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let paths = ProjectPaths::from_specialists_dir(&dir);
    let web = http_listener(&paths, &a)?;
    runtime.block_on(serve(paths, dir, state, registry, me, web))?;
    Ok(0)
}

async fn serve(
    paths: ProjectPaths,
    dir: PathBuf,
    state: StateDir,
    registry: Registry,
    me: ProcessId,
    web: Option<(std::net::TcpListener, http::Options)>,
) -> anyhow::Result<()> {
    // Signals first, so a SIGTERM during startup still drains cleanly.
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let control_listener = control::bind(state.path())?;

    let sup = supervisor::spawn(supervisor::Options {
        paths: paths.clone(),
        owner: dir.clone(),
        registry,
        process: me,
    });
    let control_task = tokio::spawn(control::serve(
        control_listener,
        sup.clone(),
        control::DaemonInfo {
            pid: me.pid,
            owner: dir.clone(),
        },
    ));
    let _watcher =
        watch::watch(&paths, sup.trigger_fn()).context("cannot watch the project files")?;
    // Anything that changed between the first load and the watch starting.
    sup.trigger();
    let http_stop = tokio_util::sync::CancellationToken::new();
    let mut http_url = None;
    let mut signed = false;
    let http_task = match web {
        Some((listener, opts)) => {
            listener
                .set_nonblocking(true)
                .context("cannot use the HTTP listener")?;
            let listener = tokio::net::TcpListener::from_std(listener)
                .context("cannot use the HTTP listener")?;
            http_url = Some(format!("http://{}/", listener.local_addr()?));
            signed = opts.token.is_some();
            let stop = http_stop.clone();
            Some(tokio::spawn(http::serve(
                listener,
                sup.clone(),
                opts.token,
                async move { stop.cancelled().await },
            )))
        }
        None => None,
    };
    // Where `cadre mcp` finds this daemon; removed when it stops.
    let _endpoint = match &http_url {
        Some(u) => Some(http::endpoint::publish(state.path(), u)?),
        None => None,
    };

    if let Ok(slots) = sup.snapshot().await {
        let mut out = std::io::stdout().lock();
        for s in &slots {
            match s.state {
                crate::registry::State::Ready | crate::registry::State::ConfigError => {
                    let _ = writeln!(out, "{:<20} listening on {}:{}", s.name, s.host, s.port);
                }
                crate::registry::State::Failed => {
                    let err = s.last_error.as_deref().unwrap_or("");
                    let _ = writeln!(
                        out,
                        "{:<20} failed {err}; retrying {}",
                        s.name,
                        supervisor::RETRY_POLICY
                    );
                }
                other => {
                    let err = s.last_error.as_deref().unwrap_or("");
                    let _ = writeln!(out, "{:<20} {} {}", s.name, serde_plain(other), err);
                }
            }
        }
        let _ = writeln!(
            out,
            "cadre up: {} specialist(s) from {}; control socket {}",
            slots.len(),
            dir.display(),
            control::socket_path(state.path()).display()
        );
        if let Some(url) = &http_url {
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
    let _ = std::fs::remove_file(control::socket_path(state.path()));
    tracing::info!("cadre up: stopped");
    Ok(())
}

/// The HTTP listener `up` serves, bound before anything starts so a bad
/// address or a taken port fails at once; `None` with `--no-http`.
fn http_listener(
    paths: &ProjectPaths,
    a: &UpArgs,
) -> anyhow::Result<Option<(std::net::TcpListener, http::Options)>> {
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
        anyhow::anyhow!("cannot serve HTTP on {listen}: {e}{held} (use --http ADDR or --no-http)")
    })?;
    Ok(Some((listener, opts)))
}

fn serde_plain(s: crate::registry::State) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The specialists directory as an absolute path that stays valid: the
/// parent resolved, the last component kept when it is a symlink. A
/// ConfigMap mount's `specialists.d -> ..data/specialists.d` resolves into a
/// `..TIMESTAMP` directory that kubelet deletes at the next update; the
/// daemon must keep reading through the link (and keep one identity).
fn canonical_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let missing = || format!("specialists directory {} does not exist", dir.display());
    let canon = std::fs::canonicalize(dir).with_context(missing)?;
    if !canon.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let is_link = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
    match (is_link, dir.file_name()) {
        (true, Some(name)) => {
            let parent = match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            Ok(std::fs::canonicalize(parent)
                .with_context(missing)?
                .join(name))
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
        .with_target(false);
    let _ = match format {
        super::LogFormat::Json => builder.json().try_init(),
        super::LogFormat::Text => builder.try_init(),
    };
}

/// Another live daemon's entries for this same specialists.d mean it runs it.
fn refuse_if_owned(registry: &Registry, dir: &Path, me: ProcessId) -> anyhow::Result<()> {
    let data = registry.read().context("cannot read the registry")?;
    for e in data.specialists.values() {
        if e.owner == dir && e.pid != me.pid && super::status::process_alive(e.pid, e.pid_start) {
            bail!(
                "another cadre daemon (pid {}) already runs {}; stop it first with `cadre stop --all`",
                e.pid,
                dir.display()
            );
        }
    }
    Ok(())
}

/// Take the lock, or return what its holder recorded (pid, then directory).
/// While the recorded pid is gone, retry for a moment: a daemon killed with
/// SIGKILL can still hold its flock just after its parent reaped it (seen in
/// about 1 of 150 `kill -9` restarts of tests/fault/crash_storm.rs, with no
/// other process holding the file a millisecond later).
fn lock_or_holder(file: &mut File) -> Result<(), String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        if file.try_lock().is_ok() {
            return Ok(());
        }
        let mut held = String::new();
        let _ = file.rewind();
        let _ = file.read_to_string(&mut held);
        let gone = held
            .lines()
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| ProcessId::of(pid).is_none());
        if !gone || std::time::Instant::now() >= deadline {
            return Err(held);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// One daemon per state directory (its control socket lives there), held
/// with `flock` so a crashed daemon never blocks the next one.
struct DaemonLock {
    _file: File,
}

impl DaemonLock {
    fn acquire(state_dir: &Path, dir: &Path) -> anyhow::Result<DaemonLock> {
        let path = state_dir.join("daemon.lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        if let Err(held) = lock_or_holder(&mut file) {
            let mut lines = held.lines();
            let pid = lines.next().unwrap_or("?");
            let other = lines.next().unwrap_or("?");
            if Path::new(other) == dir {
                bail!(
                    "another cadre daemon (pid {pid}) already runs {}; stop it first with `cadre stop --all`",
                    dir.display()
                );
            }
            bail!(
                "state directory {} is in use by another cadre daemon (pid {pid}, running {other}); pass a different --state-dir",
                state_dir.display()
            );
        }
        file.set_len(0).context("cannot write the daemon lock")?;
        file.rewind().context("cannot write the daemon lock")?;
        writeln!(file, "{}\n{}", std::process::id(), dir.display())
            .context("cannot write the daemon lock")?;
        Ok(DaemonLock { _file: file })
    }
}

/// One daemon per specialists.d even across state directories: a lock file
/// named after the canonical directory in a per-user runtime directory.
struct DirLock {
    _file: File,
}

impl DirLock {
    fn acquire(dir: &Path) -> anyhow::Result<DirLock> {
        use std::hash::{Hash, Hasher};
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("cadre-{}", rustix::process::getuid().as_raw()));
        std::fs::create_dir_all(&base)
            .with_context(|| format!("cannot create {}", base.display()))?;
        let _ =
            std::fs::set_permissions(&base, std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let mut h = std::collections::hash_map::DefaultHasher::new();
        dir.hash(&mut h);
        let path = base.join(format!("{:016x}.lock", h.finish()));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        if let Err(held) = lock_or_holder(&mut file) {
            let pid = held.lines().next().unwrap_or("?");
            bail!(
                "another cadre daemon (pid {pid}) already runs {}; stop it first with `cadre stop --all`",
                dir.display()
            );
        }
        file.set_len(0).context("cannot write the directory lock")?;
        file.rewind().context("cannot write the directory lock")?;
        writeln!(file, "{}\n{}", std::process::id(), dir.display())
            .context("cannot write the directory lock")?;
        Ok(DirLock { _file: file })
    }
}
