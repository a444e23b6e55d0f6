//! The registry (DESIGN §4): who runs where, in one JSON file that many
//! processes read and change at once, under `flock`, atomically replaced.
//!
//! STUB: the signatures are the contract; issue 3 implements the bodies.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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

/// One registered specialist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub component: String,
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

/// The whole file: `{ "version": 1, "specialists": { NAME: entry } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryData {
    pub version: u32,
    pub specialists: BTreeMap<String, Entry>,
}

/// Errors of the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Todo(String),
}

/// The identity of a live process: pid plus start time, so pid reuse is detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: u32,
    pub start: u64,
}

impl ProcessId {
    /// This process.
    pub fn current() -> ProcessId {
        todo!("issue 3")
    }
}

/// The resolved state directory (created 0700).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir(pub PathBuf);

impl StateDir {
    /// `--state-dir`, else `$CADRE_STATE_DIR`, else `$XDG_STATE_HOME/cadre`, else `~/.local/state/cadre`.
    pub fn resolve(flag: Option<&Path>) -> Result<StateDir, RegistryError> {
        let _ = flag;
        todo!("issue 3")
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// A handle on the registry of one state directory.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: StateDir,
}

/// What a transaction closure can do beyond editing the data.
pub struct Txn<'a> {
    pub data: &'a mut RegistryData,
}

impl Txn<'_> {
    /// Grant a port inside this transaction and return its bound listener
    /// (SO_REUSEADDR set). `pinned`: granted if no live entry holds it and it
    /// binds, else an error naming the port. Otherwise the lowest free port of
    /// `range` (inclusive) that binds.
    pub fn allocate(
        &mut self,
        host: &str,
        pinned: Option<u16>,
        range: [u16; 2],
    ) -> Result<TcpListener, RegistryError> {
        let _ = (host, pinned, range);
        todo!("issue 3")
    }
}

impl Registry {
    pub fn open(dir: StateDir) -> Result<Registry, RegistryError> {
        Ok(Registry { dir })
    }

    pub fn state_dir(&self) -> &StateDir {
        &self.dir
    }

    /// One transaction: exclusive lock, read (reclaiming dead owners' entries),
    /// run `f`, write atomically if `f` succeeded. Blocking: call from
    /// `spawn_blocking` in async code.
    pub fn transact<T, E>(&self, f: impl FnOnce(&mut Txn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<RegistryError>,
    {
        let _ = f;
        todo!("issue 3")
    }

    /// A consistent snapshot under a shared lock. Blocking.
    pub fn read(&self) -> Result<RegistryData, RegistryError> {
        todo!("issue 3")
    }
}
