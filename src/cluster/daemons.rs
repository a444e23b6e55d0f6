//! Finding daemons through the registry: which daemon runs an entry, and
//! whether this process can reach its control socket (a Unix socket: only
//! on the daemon's own machine, for its own user).

use std::path::{Path, PathBuf};

use super::view::Snapshot;
use crate::registry::{DaemonRecord, Entry};

/// The daemon that wrote `e`, if its record is in the snapshot.
pub fn owner_of<'a>(snap: &'a Snapshot, e: &Entry) -> Option<&'a DaemonRecord> {
    snap.daemons
        .iter()
        .find(|d| d.pid == e.pid && d.pid_start == e.pid_start && d.dir == e.owner)
}

/// Its control socket, when it is reachable from here: the path exists on
/// this machine and is a socket, and (on the file backend, where every daemon
/// is local) the daemon is a live process.
pub fn control_of(d: &DaemonRecord) -> Option<&Path> {
    use std::os::unix::fs::FileTypeExt;
    let path = d.control.as_deref()?;
    let is_socket = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket());
    (is_socket && d.process().is_alive()).then_some(path)
}

/// A daemon chosen for a command, or why none was.
#[derive(Debug)]
pub enum Found<'a> {
    One(&'a DaemonRecord, PathBuf),
    /// Daemons exist, but none is reachable from here (other hosts).
    Elsewhere(Vec<&'a DaemonRecord>),
    None,
}

/// The daemon running `dir`, else the only daemon of the registry.
pub fn for_dir<'a>(snap: &'a Snapshot, dir: &Path) -> Result<Found<'a>, Vec<&'a DaemonRecord>> {
    let reachable = |d: &&DaemonRecord| control_of(d).is_some();
    if let Some(d) = snap.daemons.iter().filter(reachable).find(|d| d.dir == dir) {
        return Ok(Found::One(d, control_of(d).unwrap_or(dir).to_path_buf()));
    }
    let local: Vec<&DaemonRecord> = snap.daemons.iter().filter(reachable).collect();
    match local.as_slice() {
        [d] => Ok(Found::One(d, control_of(d).unwrap_or(dir).to_path_buf())),
        [] if snap.daemons.is_empty() => Ok(Found::None),
        [] => Ok(Found::Elsewhere(snap.daemons.iter().collect())),
        _ => Err(local),
    }
}

/// How a daemon is named to a user: `pid 1234 (/path/specialists.d) on HOST`.
pub fn describe(d: &DaemonRecord) -> String {
    format!("pid {} ({}) on {}", d.pid, d.dir.display(), d.host)
}
