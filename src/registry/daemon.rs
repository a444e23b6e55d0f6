//! A daemon as the registry records it: who it is (pid and start time on its
//! host), what it runs (its specialists.d), and how to reach it (its control
//! socket, its HTTP server). Any number of daemons share one registry; the
//! CLI finds the daemon that runs a specialist through these records.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ProcessId;
use crate::config::SpecialistName;

/// One running `cadre up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonRecord {
    /// The address other hosts use for its specialists (its entries' `host`).
    pub host: String,
    pub pid: u32,
    pub pid_start: u64,
    /// Canonical path of the daemon's specialists.d.
    pub dir: PathBuf,
    /// Its control socket, reachable by processes of the same user on its machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<PathBuf>,
    /// Base URL of its HTTP server (`http://HOST:PORT`), when it serves one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// RFC 3339.
    pub started_at: String,
    /// Specialists it declares but does not serve because another daemon on
    /// its host holds the name; it takes each over when the holder leaves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<Waiting>,
}

/// A declared specialist another daemon holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub name: SpecialistName,
    /// `name held by daemon PID (DIR)`.
    pub reason: String,
}

impl DaemonRecord {
    /// Its process, as entries record their owner.
    pub fn process(&self) -> ProcessId {
        ProcessId {
            pid: self.pid,
            start: self.pid_start,
        }
    }
}
