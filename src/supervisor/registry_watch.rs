//! Noticing, within a fraction of a second, that `registry.json` no longer
//! holds this daemon's entries: truncated or garbled by hand (another
//! transaction then moves it aside and starts it empty), deleted, or edited.
//! Waiting for the periodic resync left `status` showing no team for up to
//! 30 s while every specialist answered.
//!
//! A `stat` every [`CHECK`] is the whole cost while nothing changes; only
//! when the file's identity or size or mtime moved is it read, without the
//! lock: commits never write into a file a reader may hold (each writes a
//! fresh file and renames it over), so an unlocked read sees one whole commit.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use super::registry_sync::Me;
use crate::config::SpecialistName;
use crate::registry::Registry;

/// How often the file is looked at.
pub(super) const CHECK: Duration = Duration::from_millis(200);

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

/// The file's stamp, `None` when there is no file.
pub(super) fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::symlink_metadata(path).ok()?;
    Some(Stamp {
        dev: m.dev(),
        ino: m.ino(),
        len: m.len(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    })
}

/// True when the file lacks an entry of `me` for one of `names` (or is
/// missing, unusable or unreadable while `names` is not empty). Blocking.
pub(super) fn lacks(registry: &Registry, me: &Me, names: &[SpecialistName]) -> bool {
    if names.is_empty() {
        return false;
    }
    let Some(data) = registry.peek() else {
        return true;
    };
    names.iter().any(|n| {
        data.specialists
            .get(n)
            .is_none_or(|e| e.pid != me.process.pid || e.pid_start != me.process.start)
    })
}
