//! What the registry file holds: one [`Entry`] per specialist, each in one
//! [`State`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{DaemonRecord, ProcessId, VERSION};
use crate::config::SpecialistName;

/// Lifecycle of a specialist as the registry records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Starting,
    Ready,
    Reloading,
    Draining,
    Failed,
    ConfigError,
    Stopped,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Starting,
        State::Ready,
        State::Reloading,
        State::Draining,
        State::Failed,
        State::ConfigError,
        State::Stopped,
    ];

    /// The one spelling, shared by the file, `status`, the API and the pages
    /// (serde derives the same names).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Ready => "ready",
            State::Reloading => "reloading",
            State::Draining => "draining",
            State::Failed => "failed",
            State::ConfigError => "config_error",
            State::Stopped => "stopped",
        }
    }

    /// Whether a listener should answer on the entry's port: it is up, or
    /// coming up, or serving its last good spec through a config error.
    pub fn has_listener(self) -> bool {
        matches!(
            self,
            State::Ready | State::ConfigError | State::Reloading | State::Starting
        )
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One registered specialist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub name: SpecialistName,
    pub component: String,
    /// The address clients use: the daemon's advertised address (`[listen]
    /// advertise`, `--advertise`), else the address it binds. Names and
    /// ports are unique per host.
    pub host: String,
    pub port: u16,
    /// Pid of the owning cadre process.
    pub pid: u32,
    /// Start time of the owning process (Linux: /proc/PID/stat field 22, clock ticks since boot).
    pub pid_start: u64,
    /// Canonical path of the owner's specialists.d.
    pub owner: PathBuf,
    pub model: String,
    pub provider: String,
    /// What the team page shows of a specialist served by another daemon.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub state: State,
    pub generation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Git provenance (issue 9), e.g. "a1b2c3d" or "a1b2c3d+modified".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl Entry {
    /// Where a client connects: a wildcard bind is reached over loopback.
    pub fn connect_host(&self) -> &str {
        match self.host.as_str() {
            "0.0.0.0" | "" => "127.0.0.1",
            "::" => "::1",
            h => h,
        }
    }

    /// The owning process's identity.
    pub fn owner_process(&self) -> ProcessId {
        ProcessId {
            pid: self.pid,
            start: self.pid_start,
        }
    }
}

/// The whole file: `{ "version": 1, "specialists": { NAME: entry }, "daemons": { PID: daemon } }`.
/// `daemons` is optional, so a file of an older cadre reads as one without daemons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryData {
    pub version: u32,
    pub specialists: BTreeMap<SpecialistName, Entry>,
    /// Every daemon of this registry, by pid.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub daemons: BTreeMap<u32, DaemonRecord>,
}

impl Default for RegistryData {
    fn default() -> Self {
        RegistryData {
            version: VERSION,
            specialists: BTreeMap::new(),
            daemons: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_spells_every_state_as_as_str_does() {
        for s in State::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.to_string(), s.as_str());
            let back: State = serde_json::from_value(s.as_str().into()).unwrap();
            assert_eq!(back, s);
        }
    }
}
