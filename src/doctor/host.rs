//! The rest of a set-up: the files load, the state directory is the user's
//! alone, the HTTP address can be served, and whether git provenance works.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::{CheckKind, Finding, Level};
use crate::config::{Loaded, ProjectPaths, report};

/// `cadre check`'s verdict in one finding.
pub fn config(loaded: &Loaded) -> Finding {
    let errors: Vec<_> = loaded.errors().collect();
    let subject = "specialists.d";
    match errors.first() {
        None => Finding::new(
            CheckKind::Config,
            subject,
            Level::Ok,
            format!("{} specialist file(s) load and render", loaded.specs.len()),
        ),
        Some(first) => Finding::new(
            CheckKind::Config,
            subject,
            Level::Fail,
            format!(
                "{} config error(s), the first: {}",
                errors.len(),
                report::line(first)
            ),
        )
        .fix("`cadre check` shows every one with its line"),
    }
}

/// The state directory's findings, and whether opening it (which tightens
/// its mode) would change nothing.
pub struct StateDirFindings {
    pub findings: Vec<Finding>,
    pub usable: bool,
}

/// The state directory and every file in it: owned by this user, no access
/// for group or others (it names processes and paths; its control socket
/// stops the team).
pub fn state_dir(dir: Option<&Path>) -> StateDirFindings {
    let alone = |f: Finding| StateDirFindings {
        findings: vec![f],
        usable: false,
    };
    let Some(dir) = dir else {
        return alone(
            Finding::new(
                CheckKind::StateDir,
                "state directory",
                Level::Fail,
                "no state directory: neither --state-dir, $CADRE_STATE_DIR, $XDG_STATE_HOME nor $HOME is set",
            )
            .fix("pass --state-dir DIR"),
        );
    };
    let shown = dir.display().to_string();
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return alone(Finding::new(
                CheckKind::StateDir,
                &shown,
                Level::Ok,
                format!("{shown} does not exist yet; `cadre up` creates it 0700"),
            ));
        }
        Err(e) => {
            return alone(Finding::new(
                CheckKind::StateDir,
                &shown,
                Level::Fail,
                format!("cannot read {shown}: {e}"),
            ));
        }
    };
    let mut bad: Vec<Finding> = dir_problem(&shown, &meta).into_iter().collect();
    bad.extend(file_problems(dir));
    let usable = bad.is_empty();
    if usable {
        bad.push(Finding::new(
            CheckKind::StateDir,
            &shown,
            Level::Ok,
            format!("{shown} is 0700 and its files 0600, all this user's"),
        ));
    }
    StateDirFindings {
        findings: bad,
        usable,
    }
}

/// What is wrong with the directory itself: not one, not this user's, or
/// open to others.
fn dir_problem(shown: &str, meta: &std::fs::Metadata) -> Option<Finding> {
    let me = rustix::process::geteuid().as_raw();
    let mode = meta.permissions().mode() & 0o777;
    if !meta.is_dir() {
        Some(Finding::new(
            CheckKind::StateDir,
            shown,
            Level::Fail,
            format!("{shown} is not a directory"),
        ))
    } else if meta.uid() != me {
        Some(
            Finding::new(
                CheckKind::StateDir,
                shown,
                Level::Fail,
                format!(
                    "{shown} belongs to uid {}, not to this user (uid {me})",
                    meta.uid()
                ),
            )
            .fix(format!(
                "use a state directory of your own (--state-dir), or `chown {me} {shown}`"
            )),
        )
    } else if mode & 0o077 != 0 {
        Some(Finding::new(CheckKind::StateDir, shown, Level::Fail,
            format!("{shown} is {mode:04o}: other users can read who runs where, and reach its control socket"))
            .fix(format!("`chmod 700 {shown}`")))
    } else {
        None
    }
}

/// Each file in `dir` that others may read or write.
fn file_problems(dir: &Path) -> Vec<Finding> {
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(m) = entry.metadata() else { continue };
        let path = entry.path().display().to_string();
        if m.is_file() && m.permissions().mode() & 0o077 != 0 {
            let mode = m.permissions().mode() & 0o777;
            bad.push(
                Finding::new(
                    CheckKind::StateDir,
                    &path,
                    Level::Fail,
                    format!("{path} is {mode:04o}; state files are the user's alone (0600)"),
                )
                .fix(format!("`chmod 600 {path}`")),
            );
        }
    }
    bad
}

/// `[http] listen` obeys the token rule and can be served: it binds, or this
/// project's own daemon serves it now.
pub fn http(loaded: &Loaded, state_dir: Option<&Path>) -> Finding {
    let cfg = &loaded.project.http;
    let opts = match crate::http::Options::resolve(&cfg.listen, cfg.token_env.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            return Finding::new(CheckKind::Http, &cfg.listen, Level::Fail, e.to_string())
                .fix("fix [http] in cadre.toml, or run `cadre up --no-http`");
        }
    };
    let addr = opts.addr;
    match std::net::TcpListener::bind(addr) {
        Ok(_) => Finding::new(
            CheckKind::Http,
            addr.to_string(),
            Level::Ok,
            format!("{addr} is free to serve"),
        ),
        Err(e) => {
            let ours = state_dir
                .and_then(|d| crate::http::endpoint::read(d).ok())
                .is_some_and(|ep| ep.url.ends_with(&format!(":{}", addr.port())));
            if ours {
                return Finding::new(
                    CheckKind::Http,
                    addr.to_string(),
                    Level::Ok,
                    format!("{addr} is served by the running cadre up"),
                );
            }
            let why = if e.kind() == std::io::ErrorKind::AddrInUse {
                format!(": {}", crate::net::held::diagnose(addr.ip(), addr.port()))
            } else {
                String::new()
            };
            Finding::new(CheckKind::Http, addr.to_string(), Level::Fail,
                format!("cannot serve HTTP on {addr}: {e}{why}"))
                .fix("free the port, set [http] listen in cadre.toml, or run `cadre up --http ADDR` / `--no-http`")
        }
    }
}

/// Whether specialists record the commit they come from.
pub fn git(paths: &ProjectPaths, loaded: &Loaded) -> Finding {
    let git_found = std::process::Command::new("git")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let subject = paths.root.display().to_string();
    if !git_found {
        return Finding::new(
            CheckKind::Git,
            subject,
            Level::Warn,
            "git is not installed: specialists show no revision",
        )
        .fix("install git");
    }
    let items: Vec<_> = loaded
        .specs
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.file.clone(),
                paths.templates.join(&s.template),
            )
        })
        .collect();
    match crate::review::provenance::revisions(&paths.root, &items) {
        None => Finding::new(
            CheckKind::Git,
            subject,
            Level::Ok,
            "not in a git work tree: specialists show no revision",
        ),
        Some(revs) => {
            let modified = revs
                .values()
                .filter(|r| r.modified || r.commit.is_none())
                .count();
            Finding::new(
                CheckKind::Git,
                subject,
                Level::Ok,
                format!(
                    "in a git work tree: {} specialist(s) record their revision, {modified} with uncommitted changes",
                    revs.len()
                ),
            )
        }
    }
}
