//! A watch on one file (the registry), kept apart from the project's watch:
//! no symlink swaps to follow, only the file's name in its directory.

use std::path::Path;

use notify::RecursiveMode;
use notify::event::EventKind;

use super::debounce::{self, Batch, Debouncer};
use super::{DEBOUNCE, MAX_DELAY, WatchError, changes};

/// Keeps a [`watch_file`] watch alive; dropping it stops watching.
pub struct FileWatcher {
    _debouncer: Debouncer,
}

/// Call `trigger` (from the watcher's thread) after each burst of changes
/// to the file `path`: its directory is watched, since a file replaced by
/// rename (as registry commits do) would leave a watch on the old inode.
/// Reads of the file wake nothing.
pub fn watch_file(
    path: &Path,
    trigger: impl Fn() + Send + Sync + 'static,
) -> Result<FileWatcher, WatchError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(std::ffi::OsStr::to_os_string);
    let handler = move |res: Batch| {
        let hit = match &res {
            Ok(events) => events
                .iter()
                .any(|e| e.paths.iter().any(|p| p.file_name() == name.as_deref())),
            Err(_) => true,
        };
        if hit {
            trigger();
        }
    };
    let err = |source| WatchError::Watch {
        path: path.to_path_buf(),
        source,
    };
    let ignore = |kind: &EventKind| !changes(kind);
    let mut debouncer = debounce::new(DEBOUNCE, MAX_DELAY, ignore, handler).map_err(err)?;
    debouncer
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(err)?;
    Ok(FileWatcher {
        _debouncer: debouncer,
    })
}
