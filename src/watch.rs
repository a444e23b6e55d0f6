//! File watching (DESIGN §6): notify events on `specialists.d`, `templates/`
//! and `cadre.toml`, debounced and coalesced into one "reconcile" trigger.
//!
//! The watcher never says *what* changed: the supervisor is level-triggered
//! and re-reads the whole desired state on every trigger, so a missed or
//! reordered event costs latency, never correctness. Directories are watched
//! rather than files because editors replace files (write-temp-then-rename,
//! vim's backup-rename, delete-then-recreate) and a watch on the old inode
//! would go silent after the first save.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::RecursiveMode;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::config::ProjectPaths;

/// How long events must settle before one trigger fires.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// How often the debouncer looks for settled events. Its default (a quarter
/// of [`DEBOUNCE`]) adds up to 12.5 ms to every reload; a 5 ms tick bounds
/// that at 5 ms for 200 cheap wake-ups a second of the watcher's thread.
const TICK: Duration = Duration::from_millis(5);

/// Errors of setting up the watch.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch {path}: {source}")]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
}

/// Keeps the watch alive; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// Watch the project and call `trigger` (from the watcher's thread) after
/// each burst of relevant changes. `trigger` must be cheap and non-blocking,
/// e.g. `Notify::notify_one`, which also coalesces bursts for free.
pub fn watch(
    paths: &ProjectPaths,
    trigger: impl Fn() + Send + Sync + 'static,
) -> Result<Watcher, WatchError> {
    let trigger = Arc::new(trigger);
    let relevant = Relevance::new(paths);
    let handler = move |res: DebounceEventResult| match res {
        Ok(events) => {
            if events
                .iter()
                .any(|e| changes(&e.kind) && e.paths.iter().any(|p| relevant.matches(p)))
            {
                trigger();
            }
        }
        // An overflowed or failed watch may have lost events: reconcile anyway.
        Err(_) => trigger(),
    };
    let mut debouncer =
        new_debouncer(DEBOUNCE, Some(TICK), handler).map_err(|source| WatchError::Watch {
            path: paths.specialists.clone(),
            source,
        })?;
    let mut add = |path: &Path, mode| {
        debouncer
            .watch(path, mode)
            .map_err(|source| WatchError::Watch {
                path: path.to_path_buf(),
                source,
            })
    };
    add(&paths.specialists, RecursiveMode::NonRecursive)?;
    if paths.templates.is_dir() {
        add(&paths.templates, RecursiveMode::Recursive)?;
    }
    // cadre.toml: watch its directory (non-recursively) and filter by name.
    if paths.root.is_dir() {
        add(&paths.root, RecursiveMode::NonRecursive)?;
    }
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

/// Whether an event can mean the files changed. notify also reports opens
/// and read-only closes (inotify `IN_OPEN`, `IN_CLOSE_NOWRITE`): every
/// reconcile reads every file, so counting those made each reconcile
/// trigger the next one, and an idle daemon reconciled without end (three
/// times a second at N = 1000, delaying the reconcile of a real edit).
fn changes(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Access(
            AccessKind::Open(_) | AccessKind::Read | AccessKind::Close(AccessMode::Read)
        )
    )
}

/// Which paths matter: anything in specialists.d or templates, and
/// cadre.toml (or the templates dir appearing) in the project root.
struct Relevance {
    specialists: PathBuf,
    templates: PathBuf,
    project_file: PathBuf,
}

impl Relevance {
    fn new(paths: &ProjectPaths) -> Relevance {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let root = canon(&paths.root);
        Relevance {
            specialists: canon(&paths.specialists),
            templates: root.join(file_name_or(&paths.templates, "templates")),
            project_file: root.join(file_name_or(&paths.project_file, "cadre.toml")),
        }
    }

    fn matches(&self, p: &Path) -> bool {
        p.starts_with(&self.specialists) || p.starts_with(&self.templates) || p == self.project_file
    }
}

fn file_name_or<'a>(p: &'a Path, default: &'a str) -> &'a std::ffi::OsStr {
    p.file_name().unwrap_or(std::ffi::OsStr::new(default))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    fn wait_for(count: &AtomicUsize, at_least: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if count.load(Ordering::SeqCst) >= at_least {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn triggers_on_specialist_and_project_file_changes_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("specialists.d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::create_dir(tmp.path().join("templates")).unwrap();
        let paths = ProjectPaths::from_specialists_dir(&dir);
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let _w = watch(&paths, move || {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();

        // A burst of writes coalesces into few triggers (at least one).
        for i in 0..20 {
            std::fs::write(dir.join("a.toml"), format!("x = {i}")).unwrap();
        }
        assert!(wait_for(&count, 1), "no trigger for specialists.d");
        std::thread::sleep(Duration::from_millis(300));
        let after_burst = count.load(Ordering::SeqCst);
        assert!(
            after_burst < 20,
            "burst not coalesced: {after_burst} triggers"
        );

        // An unrelated file in the root is ignored.
        std::fs::write(tmp.path().join("README.md"), "hi").unwrap();
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(
            count.load(Ordering::SeqCst),
            after_burst,
            "unrelated file triggered"
        );

        // Reading the files (as every reconcile does) changes nothing.
        let _ = std::fs::read(dir.join("a.toml")).unwrap();
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(
            count.load(Ordering::SeqCst),
            after_burst,
            "reading a file triggered"
        );

        std::fs::write(tmp.path().join("cadre.toml"), "").unwrap();
        assert!(
            wait_for(&count, after_burst + 1),
            "no trigger for cadre.toml"
        );
        // Reading cadre.toml changes nothing either.
        std::thread::sleep(Duration::from_millis(300));
        let n = count.load(Ordering::SeqCst);
        let _ = std::fs::read(tmp.path().join("cadre.toml")).unwrap();
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(
            count.load(Ordering::SeqCst),
            n,
            "reading cadre.toml triggered"
        );
        let n = count.load(Ordering::SeqCst);
        std::fs::write(tmp.path().join("templates").join("x.md.j2"), "hi").unwrap();
        assert!(wait_for(&count, n + 1), "no trigger for templates");
    }
}
