//! Whether the files [`super::load`] reads may have changed, told without
//! reading them.
//!
//! The supervisor re-reads the whole project every resync in case a file
//! event was lost. Reading 1000 specialist files opens each one, and every
//! open is an inotify event on a watched directory: the watcher's thread woke
//! hundreds of times per resync of an idle daemon, and the parse cost ~20 ms.
//! A fingerprint is the `stat` of every path a load reads (which no watch
//! reports): when it is unchanged since the last load, that load's result is
//! still the desired state, the load being a pure function of the files.
//!
//! A fingerprint is taken *before* the load it vouches for, so a write
//! during the load shows as a change next time. What it cannot see is a
//! rewrite of the same size within one tick of the file system's clock of the
//! stat before the load; the file event of that write still reloads.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::ProjectPaths;

/// Sub-directory levels of `templates/` looked at (as many as are read).
const MAX_DEPTH: usize = 16;

/// The identity and times of one path, or `None` when it cannot be stat'ed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// Follows symlinks, as reading the path does (a kubelet swap of
    /// `..data` re-points every path: new inodes).
    fn of(path: &Path) -> Option<Stamp> {
        std::fs::metadata(path).ok().map(|m| Stamp::from(&m))
    }

    fn from(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// The stamps of `cadre.toml`, `specialists.d/` and `teams.d/` and every
/// entry in them, and `templates/` with everything under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<(PathBuf, Option<Stamp>)>);

impl Fingerprint {
    pub fn take(paths: &ProjectPaths) -> Fingerprint {
        let mut out = Vec::new();
        for p in [
            &paths.project_file,
            &paths.specialists,
            &paths.teams,
            &paths.templates,
        ] {
            out.push((p.clone(), Stamp::of(p)));
        }
        entries(&paths.specialists, 0, 0, &mut out);
        entries(&paths.teams, 0, 0, &mut out);
        entries(&paths.templates, 0, MAX_DEPTH, &mut out);
        Fingerprint(out)
    }
}

/// Every entry of `dir` (sorted), and of its sub-directories down to `depth`.
fn entries(dir: &Path, level: usize, depth: usize, out: &mut Vec<(PathBuf, Option<Stamp>)>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = read.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let m = std::fs::metadata(&p).ok();
        let is_dir = m.as_ref().is_some_and(std::fs::Metadata::is_dir);
        out.push((p.clone(), m.as_ref().map(Stamp::from)));
        if is_dir && level < depth {
            entries(&p, level + 1, depth, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, ProjectPaths) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("specialists.d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::create_dir_all(tmp.path().join("templates/parts")).unwrap();
        std::fs::write(dir.join("a.toml"), "x").unwrap();
        std::fs::write(tmp.path().join("templates/parts/p.j2"), "x").unwrap();
        (tmp, ProjectPaths::from_specialists_dir(&dir))
    }

    /// Every kind of change a load would see changes the fingerprint;
    /// reading changes nothing.
    #[test]
    fn changes_with_any_file_and_not_with_reads() {
        let (tmp, paths) = project();
        let root = tmp.path();
        let edits: Vec<Box<dyn Fn()>> = vec![
            Box::new(|| std::fs::write(root.join("specialists.d/a.toml"), "yy").unwrap()),
            Box::new(|| std::fs::write(root.join("specialists.d/b.toml"), "b").unwrap()),
            Box::new(|| std::fs::remove_file(root.join("specialists.d/b.toml")).unwrap()),
            Box::new(|| std::fs::write(root.join("cadre.toml"), "").unwrap()),
            Box::new(|| std::fs::write(root.join("templates/parts/p.j2"), "yy").unwrap()),
            Box::new(|| std::fs::create_dir(root.join("teams.d")).unwrap()),
            Box::new(|| std::fs::write(root.join("teams.d/t.toml"), "t").unwrap()),
            Box::new(|| std::fs::write(root.join("teams.d/t.toml"), "tt").unwrap()),
            Box::new(|| {
                std::fs::write(root.join("new.toml"), "z").unwrap();
                std::fs::rename(root.join("new.toml"), root.join("specialists.d/a.toml")).unwrap();
            }),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let before = Fingerprint::take(&paths);
            std::fs::read(root.join("specialists.d/a.toml")).unwrap();
            assert_eq!(before, Fingerprint::take(&paths), "a read changed it");
            edit();
            assert_ne!(before, Fingerprint::take(&paths), "edit {i} went unseen");
        }
    }
}
