//! `cadre doctor`: every check of a set-up, each a [`Finding`] that is ok, a
//! warning or a failure, with the fix where there is one. It changes
//! nothing (the state directory is looked at, not created or tightened), and
//! it runs with or without a daemon: ports and the HTTP address held by this
//! project's own `cadre up` count as fine.
//!
//! - [`providers`]: each provider in use answers, has its models, has its key
//!   (the probe `up` runs at start and every resync, said the same way);
//! - [`ports`]: pinned ports in the kernel's ephemeral range while not
//!   reserved, and ports held by other programs;
//! - [`host`]: the configuration itself, the state directory's permissions,
//!   the HTTP address, git provenance.

pub mod host;
pub mod ports;
pub mod providers;

use std::path::PathBuf;

use serde::Serialize;

use crate::config::{Loaded, ProjectPaths};

/// Which check a finding comes from; the names `--json` and the text use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The files load (`cadre check`'s verdict, in one line).
    Config,
    /// A provider answers and has its key.
    Provider,
    /// A provider has a model in use.
    Model,
    /// Pinned ports inside the ephemeral range while not reserved.
    EphemeralPorts,
    /// A pinned port held by another program.
    PortHeld,
    /// The state directory and its files are the user's alone.
    StateDir,
    /// The HTTP address parses, obeys the token rule and binds.
    Http,
    /// Whether revisions are recorded (git).
    Git,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Config => "config",
            CheckKind::Provider => "provider",
            CheckKind::Model => "model",
            CheckKind::EphemeralPorts => "ephemeral_ports",
            CheckKind::PortHeld => "port_held",
            CheckKind::StateDir => "state_dir",
            CheckKind::Http => "http",
            CheckKind::Git => "git",
        }
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: CheckKind,
    /// What it is about: a provider, a port list, a path, a model.
    pub subject: String,
    pub level: Level,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(
        check: CheckKind,
        subject: impl Into<String>,
        level: Level,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            check,
            subject: subject.into(),
            level,
            message: message.into(),
            fix: None,
        }
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}

/// Everything the doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// No failure (warnings allowed).
    pub ok: bool,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn new(findings: Vec<Finding>) -> Report {
        Report {
            ok: findings.iter().all(|f| f.level != Level::Fail),
            findings,
        }
    }

    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.level == Level::Fail)
    }
}

/// What the doctor looks at.
pub struct Inputs {
    pub paths: ProjectPaths,
    /// Canonical specialists.d (the registry's owner), when it exists.
    pub owner: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
}

/// Run every check. Providers are probed concurrently on a runtime of its own.
pub fn run(inputs: &Inputs) -> Report {
    let loaded = crate::desired::load(&inputs.paths);
    let mut findings = vec![host::config(&loaded)];
    findings.extend(provider_findings(&loaded));
    let state = host::state_dir(inputs.state_dir.as_deref());
    let owners = state
        .usable
        .then(|| ports::Owners::read(inputs.state_dir.as_deref(), inputs.owner.as_deref()))
        .flatten();
    findings.extend(ports::ephemeral(&loaded));
    findings.extend(ports::held(&loaded, owners.as_ref()));
    findings.extend(state.findings);
    findings.push(host::http(&loaded, inputs.state_dir.as_deref()));
    findings.push(host::git(&inputs.paths, &loaded));
    Report::new(findings)
}

fn provider_findings(loaded: &Loaded) -> Vec<Finding> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match rt {
        Ok(rt) => rt.block_on(providers::check_all(loaded)),
        Err(e) => vec![Finding::new(
            CheckKind::Provider,
            "providers",
            Level::Fail,
            format!("cannot start the async runtime to probe providers: {e}"),
        )],
    }
}
