//! Noticing, within a fraction of a second, that `registry.json` no longer
//! holds this daemon's entries: truncated or garbled by hand (another
//! transaction then moves it aside and starts it empty), deleted, or edited.
//! Waiting for the periodic resync left `status` showing no team for up to
//! 30 s while every specialist answered.
//!
//! A watch on the registry's directory wakes the check when the file may
//! have changed (nothing while it does not: an idle daemon sleeps); where no
//! watch can be set, a `stat` every [`CHECK`]. Only when the file's identity
//! or size or mtime moved is it read, without the lock: commits never write into a file a reader may hold (each writes a
//! fresh file and renames it over), so an unlocked read sees one whole commit.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::SpecialistName;
use crate::registry::Registry;

/// How often the file is looked at when it cannot be watched.
pub(super) const CHECK: Duration = Duration::from_millis(200);

/// Notify `changed` now (a first check) and whenever `path` may have
/// changed. The returned watch must be kept; without one (the directory
/// cannot be watched) a task notifies every [`CHECK`] instead.
pub(super) fn notify_changes(
    path: &Path,
    changed: Arc<Notify>,
) -> Option<crate::watch::FileWatcher> {
    changed.notify_one();
    let c = changed.clone();
    match crate::watch::watch_file(path, move || c.notify_one()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!("{e}; looking at it every {CHECK:?} instead");
            tokio::spawn(async move {
                let mut every = tokio::time::interval(CHECK);
                loop {
                    every.tick().await;
                    changed.notify_one();
                }
            });
            None
        }
    }
}

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

/// True when the file has no entry at all for one of `names` (or is
/// missing, unusable or unreadable while `names` is not empty). A name held
/// by another live cadre is not ours to re-register: re-asserting would not
/// change it, so it does not count. Blocking.
pub(super) fn lacks(registry: &Registry, names: &[SpecialistName]) -> bool {
    if names.is_empty() {
        return false;
    }
    let Some(data) = registry.peek() else {
        return true;
    };
    names.iter().any(|n| !data.specialists.contains_key(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Entry, ProcessId, RegistryError, State, StateDir};

    fn entry(name: &str, owner: ProcessId) -> Entry {
        Entry {
            name: SpecialistName::parse(name).expect("name"),
            component: "c".into(),
            host: "127.0.0.1".into(),
            port: 1,
            pid: owner.pid,
            pid_start: owner.start,
            owner: "/x".into(),
            model: "m".into(),
            provider: "p".into(),
            state: State::Ready,
            generation: "0".into(),
            last_error: None,
            revision: None,
            started_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn only_a_missing_name_or_an_unusable_file_calls_for_re_registering() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let reg = Registry::open(StateDir(tmp.path().join("state"))).expect("open");
        let names = [SpecialistName::parse("ours").expect("name")];
        assert!(!lacks(&reg, &[]), "nothing to register");
        assert!(lacks(&reg, &names), "no file yet");
        let other = ProcessId::current(); // any live owner: not ours to overwrite
        reg.transact(|t| {
            t.data
                .specialists
                .insert(names[0].clone(), entry("ours", other));
            Ok::<_, RegistryError>(())
        })
        .expect("commit");
        let before = stamp(&reg.file_path());
        assert!(before.is_some());
        assert!(!lacks(&reg, &names));
        std::fs::write(reg.file_path(), "{\"version\": 1, \"spe").expect("garble");
        assert_ne!(stamp(&reg.file_path()), before);
        assert!(lacks(&reg, &names), "garbled");
    }
}
