//! File watching (DESIGN §6): notify events on `specialists.d`, `teams.d`, `templates/`
//! and `cadre.toml`, debounced and coalesced into one "reconcile" trigger.
//!
//! The watcher never says *what* changed: the supervisor is level-triggered
//! and re-reads the whole desired state on every trigger, so a missed or
//! reordered event costs latency, never correctness. Directories are watched
//! rather than files because editors replace files (write-temp-then-rename,
//! vim's backup-rename, delete-then-recreate) and a watch on the old inode
//! would go silent after the first save.
//!
//! Symlinked projects (a Kubernetes ConfigMap mount): kubelet updates one by
//! writing a new `..TIMESTAMP` directory, renaming a `..data_tmp` symlink over
//! `..data`, and deleting the old directory; `specialists.d`, `templates` and
//! `cadre.toml` are symlinks through `..data`. An inotify watch sits on the
//! directory a path resolved to when it was added, so after such a swap it
//! watches a deleted directory. The watches are therefore put on the
//! resolved directories, the root entries a path resolves through (`..data`)
//! count as relevant, and whenever a relevant change re-points a path the
//! watches move to where it points now. A directory replaced at the same path
//! (`mv new specialists.d`, `templates/` removed and re-created) is a new
//! inode: watched directories are compared by identity, not name, so its
//! watch moves too. A symlink in `specialists.d` whose target lives elsewhere
//! gets its target's directory watched, so editing the target applies at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use notify::RecursiveMode;
use notify::event::{AccessKind, AccessMode, EventKind};

use crate::config::ProjectPaths;

mod debounce;
mod file;

use debounce::{Batch, Debouncer};
pub use file::{FileWatcher, watch_file};

/// How long events must settle before one trigger fires.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// A burst of changes that never settles still triggers this often.
const MAX_DELAY: Duration = Duration::from_millis(200);

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

/// The debouncer and what its watches are on; the event handler re-arms
/// them through a weak reference (a strong one would keep them alive forever).
struct Inner {
    debouncer: Option<Debouncer>,
    armed: Armed,
}

/// Keeps the watch alive; dropping it stops watching.
pub struct Watcher {
    _inner: Arc<Mutex<Inner>>,
}

/// Watch the project and call `trigger` (from the watcher's thread) after
/// each burst of relevant changes. `trigger` must be cheap and non-blocking,
/// e.g. `Notify::notify_one`, which also coalesces bursts for free.
pub fn watch(
    paths: &ProjectPaths,
    trigger: impl Fn() + Send + Sync + 'static,
) -> Result<Watcher, WatchError> {
    let relevant = Relevance::new(paths);
    let armed = Armed::resolve(paths, &relevant.root);
    let inner = Arc::new(Mutex::new(Inner {
        debouncer: None,
        armed: armed.clone(),
    }));
    let weak = Arc::downgrade(&inner);
    let paths_c = paths.clone();
    let handler = move |res: Batch| {
        if on_events(&weak, &relevant, &paths_c, &res) {
            trigger();
        }
    };
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WatchError::Watch { path, source }
    };
    let ignore = |kind: &EventKind| !changes(kind);
    let mut debouncer =
        debounce::new(DEBOUNCE, MAX_DELAY, ignore, handler).map_err(err(&paths.specialists))?;
    debouncer
        .watch(&armed.specialists.path, RecursiveMode::NonRecursive)
        .map_err(err(&paths.specialists))?;
    if let Some(t) = &armed.templates {
        debouncer
            .watch(&t.path, RecursiveMode::Recursive)
            .map_err(err(&paths.templates))?;
    }
    if let Some(t) = &armed.teams {
        debouncer
            .watch(&t.path, RecursiveMode::NonRecursive)
            .map_err(err(&paths.teams))?;
    }
    for t in &armed.targets {
        watch_or_warn(&mut debouncer, &t.path, RecursiveMode::NonRecursive);
    }
    // cadre.toml, and the links the others resolve through: watch the root
    // (non-recursively) and filter by name.
    if armed.root.is_dir() {
        debouncer
            .watch(&armed.root, RecursiveMode::NonRecursive)
            .map_err(err(&paths.root))?;
    }
    lock(&inner).debouncer = Some(debouncer);
    Ok(Watcher { _inner: inner })
}

/// Whether a batch calls for a reconcile; moves the watches first when a
/// symlink swap re-pointed a watched path.
fn on_events(
    weak: &Weak<Mutex<Inner>>,
    relevant: &Relevance,
    paths: &ProjectPaths,
    res: &Batch,
) -> bool {
    let Some(inner) = weak.upgrade() else {
        return false;
    };
    let mut inner = lock(&inner);
    let hit = match res {
        Ok(events) => events
            .iter()
            .any(|e| changes(&e.kind) && e.paths.iter().any(|p| relevant.matches(&inner.armed, p))),
        // An overflowed or failed watch may have lost events: reconcile anyway.
        Err(_) => true,
    };
    if hit {
        let now = Armed::resolve(paths, &relevant.root);
        if now != inner.armed {
            rearm(&mut inner, now);
        }
    }
    hit
}

/// Move the watches from the old resolved directories to the new ones.
/// The old ones are usually gone already (their watches with them).
fn rearm(inner: &mut Inner, now: Armed) {
    let old = std::mem::replace(&mut inner.armed, now);
    let Some(d) = inner.debouncer.as_mut() else {
        return;
    };
    let now = &inner.armed;
    let dirs = |a: &Armed| {
        let mut v = vec![(a.specialists.clone(), RecursiveMode::NonRecursive)];
        v.extend(a.templates.clone().map(|t| (t, RecursiveMode::Recursive)));
        v.extend(a.teams.clone().map(|t| (t, RecursiveMode::NonRecursive)));
        v.extend(
            a.targets
                .iter()
                .map(|t| (t.clone(), RecursiveMode::NonRecursive)),
        );
        v
    };
    let (before, after) = (dirs(&old), dirs(now));
    for (dir, _) in before.iter().filter(|b| !after.contains(b)) {
        // Often gone with its directory already (`WatchNotFound`).
        let _ = d.unwatch(&dir.path);
    }
    for (dir, mode) in after.iter().filter(|a| !before.contains(a)) {
        watch_or_warn(d, &dir.path, *mode);
    }
}

fn watch_or_warn(d: &mut Debouncer, path: &Path, mode: RecursiveMode) {
    // A path watched before under another inode: drop the stale watch first.
    let _ = d.unwatch(path);
    if let Err(e) = d.watch(path, mode) {
        tracing::warn!(
            "cannot watch {}: {e}; the periodic resync still reloads",
            path.display()
        );
    }
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
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

/// A watched directory: its resolved path and which inode that was, so a
/// directory replaced under the same name counts as another one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dir {
    path: PathBuf,
    id: Option<(u64, u64)>,
}

impl Dir {
    fn at(path: PathBuf) -> Dir {
        use std::os::unix::fs::MetadataExt;
        let id = std::fs::metadata(&path).ok().map(|m| (m.dev(), m.ino()));
        Dir { path, id }
    }
}

/// Where the watches are: the directories the project's paths resolve to
/// now, and the root entries they resolve through.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Armed {
    root: PathBuf,
    specialists: Dir,
    templates: Option<Dir>,
    teams: Option<Dir>,
    /// Root entries a path passes through on its way (kubelet's `..data` and
    /// the directory it names): replacing one re-points the path.
    links: Vec<PathBuf>,
    /// Directories outside `specialists.d` holding the targets of its symlinks.
    targets: Vec<Dir>,
    /// Those targets themselves: an event on one is relevant.
    target_files: Vec<PathBuf>,
}

impl Armed {
    fn resolve(paths: &ProjectPaths, root: &Path) -> Armed {
        let mut links = Vec::new();
        for p in [
            &paths.specialists,
            &paths.templates,
            &paths.teams,
            &paths.project_file,
        ] {
            links_through(root, &root.join(file_name_or(p, "")), &mut links);
        }
        let specialists = canonical(&paths.specialists);
        let target_files = symlink_targets(&paths.specialists, &specialists);
        let mut target_dirs: Vec<PathBuf> = target_files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        target_dirs.sort();
        target_dirs.dedup();
        Armed {
            root: root.to_path_buf(),
            specialists: Dir::at(specialists),
            templates: std::fs::canonicalize(&paths.templates)
                .ok()
                .filter(|t| t.is_dir())
                .map(Dir::at),
            teams: std::fs::canonicalize(&paths.teams)
                .ok()
                .filter(|t| t.is_dir())
                .map(Dir::at),
            links,
            targets: target_dirs.into_iter().map(Dir::at).collect(),
            target_files,
        }
    }
}

/// Where the symlinks of `dir` point, for those that point outside it
/// (`resolved` is `dir` canonicalized). Bounded: a directory of thousands of
/// links watches at most this many target directories' worth of them.
fn symlink_targets(dir: &Path, resolved: &Path) -> Vec<PathBuf> {
    const MAX_TARGETS: usize = 256;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
        .filter_map(|e| std::fs::canonicalize(e.path()).ok())
        .filter(|t| t.parent() != Some(resolved))
        .take(MAX_TARGETS)
        .collect()
}

/// Follow `path` through symlinks that live in `root` (a few hops at most),
/// collecting each root entry a link's target starts with.
fn links_through(root: &Path, path: &Path, out: &mut Vec<PathBuf>) {
    let mut cur = path.to_path_buf();
    for _ in 0..4 {
        let Ok(target) = std::fs::read_link(&cur) else {
            return;
        };
        let next = cur.parent().unwrap_or(root).join(target);
        let Some(first) = next
            .strip_prefix(root)
            .ok()
            .and_then(|r| r.components().next())
        else {
            return;
        };
        cur = root.join(first);
        if !out.contains(&cur) {
            out.push(cur.clone());
        }
    }
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Which paths matter: anything in specialists.d, teams.d or templates,
/// cadre.toml (or the templates or teams dir appearing) in the project
/// root, and the links.
struct Relevance {
    root: PathBuf,
    templates: PathBuf,
    teams: PathBuf,
    project_file: PathBuf,
}

impl Relevance {
    fn new(paths: &ProjectPaths) -> Relevance {
        let root = canonical(&paths.root);
        Relevance {
            templates: root.join(file_name_or(&paths.templates, "templates")),
            teams: root.join(file_name_or(&paths.teams, "teams.d")),
            project_file: root.join(file_name_or(&paths.project_file, "cadre.toml")),
            root,
        }
    }

    fn matches(&self, armed: &Armed, p: &Path) -> bool {
        p.starts_with(&armed.specialists.path)
            || armed
                .templates
                .as_ref()
                .is_some_and(|t| p.starts_with(&t.path))
            || armed.teams.as_ref().is_some_and(|t| p.starts_with(&t.path))
            || p.starts_with(&self.templates)
            || p.starts_with(&self.teams)
            || p == self.project_file
            || armed.links.iter().any(|l| l == p)
            || armed.target_files.iter().any(|f| f == p)
    }
}

fn file_name_or<'a>(p: &'a Path, default: &'a str) -> &'a std::ffi::OsStr {
    p.file_name().unwrap_or(std::ffi::OsStr::new(default))
}

#[cfg(test)]
mod tests;
