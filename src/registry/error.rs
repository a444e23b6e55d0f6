//! Typed registry errors. Each names what a user needs to act on: the path,
//! the port, the pid holding the lock.

use std::path::PathBuf;
use std::time::Duration;

/// Errors of the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// `registry.json` was written by a newer cadre; rewriting it would lose
    /// what that version stored, so it is left untouched.
    #[error(
        "{path}: registry version {found} is newer than this cadre supports (version {supported}); refusing to read or rewrite it"
    )]
    NewerVersion {
        path: PathBuf,
        found: u64,
        supported: u32,
    },

    /// The lock was not granted within the bounded wait.
    #[error("{path}: timed out after {waited:?} waiting for the registry lock; {holder}")]
    LockTimeout {
        path: PathBuf,
        waited: Duration,
        holder: LockHolder,
    },

    /// A pinned port is already granted to a live registry entry.
    #[error("pinned port {port} is already held by specialist `{name}` (pid {pid})")]
    PortHeld { port: u16, name: String, pid: u32 },

    /// A pinned port could not be bound. `held`, once filled in by
    /// [`RegistryError::explain_held_port`], says which socket holds it.
    #[error("pinned port {port} on {host} cannot be bound: {source}{}", held_suffix(.held.as_deref()))]
    PinnedPortInUse {
        host: String,
        ip: std::net::IpAddr,
        port: u16,
        #[source]
        source: std::io::Error,
        held: Option<Box<crate::net::held::PortHeld>>,
    },

    /// Every port of the range is held by an entry or by a foreign program.
    #[error("no free port in range {start}-{end} on {host}")]
    NoFreePort { host: String, start: u16, end: u16 },

    /// The range is empty or reversed.
    #[error("invalid port range {start}-{end}: need 1 <= start <= end")]
    InvalidRange { start: u16, end: u16 },

    /// The host of an allocation does not resolve to an address.
    #[error("cannot resolve host `{host}`: {source}")]
    Host {
        host: String,
        #[source]
        source: std::io::Error,
    },

    /// No state directory could be derived from the flag, env or home.
    #[error(
        "cannot find a state directory: pass --state-dir, or set CADRE_STATE_DIR, XDG_STATE_HOME or HOME"
    )]
    NoStateDir,

    /// A file operation failed; `path` is the file or directory involved.
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// Serializing the registry failed (should not happen with these types).
    #[error("{path}: cannot serialize registry: {source}")]
    Serialize {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn held_suffix(held: Option<&crate::net::held::PortHeld>) -> String {
    held.map(|h| format!(": {h}")).unwrap_or_default()
}

impl RegistryError {
    /// For a pinned port that did not bind because it is in use, find which
    /// socket holds it (see [`crate::net::held`]) so the message says so.
    /// It reads /proc (the TCP table, and every process's descriptors to name
    /// a listener: tens to hundreds of milliseconds on a busy host), so call
    /// it after the transaction, never while holding the registry lock.
    pub fn explain_held_port(&mut self) {
        if let RegistryError::PinnedPortInUse {
            ip,
            port,
            source,
            held,
            ..
        } = self
            && held.is_none()
            && source.kind() == std::io::ErrorKind::AddrInUse
        {
            *held = Some(Box::new(crate::net::held::diagnose(*ip, *port)));
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        RegistryError::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

/// Who held the lock when a wait timed out: what the holder recorded, else
/// what the kernel's lock table says, else nothing known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockHolder {
    /// A cadre transaction took the lock exclusively and recorded its pid and when.
    Known { pid: u32, held_for: Duration },
    /// No cadre process recorded itself; the kernel lists these holders
    /// (another program, or readers).
    Listed(Vec<super::lock_table::LockHolding>),
    /// Neither: the lock was released as the wait gave up, or the kernel's
    /// table cannot be read.
    Unknown,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockHolder::Known { pid, held_for } => write!(
                f,
                "held by pid {pid} for {:.1}s (an exclusive lock of a cadre transaction)",
                held_for.as_secs_f64()
            ),
            LockHolder::Listed(holders) => {
                let (exclusive, shared): (Vec<_>, Vec<_>) =
                    holders.iter().partition(|h| h.exclusive);
                let names = |hs: &[&super::lock_table::LockHolding]| {
                    hs.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                if !exclusive.is_empty() {
                    write!(f, "held exclusively by {}", names(&exclusive))?;
                }
                if !shared.is_empty() {
                    let sep = if exclusive.is_empty() { "" } else { "; " };
                    write!(f, "{sep}held shared (for reading) by {}", names(&shared))?;
                }
                Ok(())
            }
            LockHolder::Unknown => write!(
                f,
                "holder unknown (the kernel lists none now: it may just have been released)"
            ),
        }
    }
}
