//! Provenance (DESIGN §11): the commit that last touched a specialist's file
//! and its template, and whether either is modified since, so an operator
//! can tell which revision a running specialist came from. Read with the git
//! CLI; `None` outside a git work tree.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::{ProjectPaths, Spec};

/// Where a specialist's config stands in git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Short hash of the last commit touching the files; `None` when never committed.
    pub commit: Option<String>,
    /// Uncommitted changes (staged, unstaged or untracked) in the files.
    pub modified: bool,
}

/// `a1b2c3d`, `a1b2c3d+modified`, or `uncommitted` (the registry's `revision` form).
impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.commit, self.modified) {
            (Some(c), false) => write!(f, "{c}"),
            (Some(c), true) => write!(f, "{c}+modified"),
            (None, _) => write!(f, "uncommitted"),
        }
    }
}

/// The files a spec's behaviour comes from: its own file and its template.
pub fn files_of(spec: &Spec, paths: &ProjectPaths) -> Vec<PathBuf> {
    vec![spec.file.clone(), paths.templates.join(&spec.template)]
}

/// The revision of `files` (all in one repository); `None` when they are not in a git work tree.
pub fn revision(files: &[PathBuf]) -> Option<Revision> {
    let dir = files.first()?.parent()?;
    let abs: Vec<PathBuf> = files
        .iter()
        .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()))
        .collect();
    let dir = std::fs::canonicalize(dir).ok()?;
    let top = git(&dir, &["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
    let mut args = vec!["log", "-1", "--format=%h", "--"];
    let rel: Vec<String> = abs
        .iter()
        .map(|f| {
            f.strip_prefix(&top)
                .unwrap_or(f)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    args.extend(rel.iter().map(String::as_str));
    // No commit yet (fresh repository) is "uncommitted", not "not a repository".
    let commit = git(&top, &args)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let mut status = vec!["status", "--porcelain", "--untracked-files=all", "--"];
    status.extend(rel.iter().map(String::as_str));
    let modified = git(&top, &status).is_some_and(|s| !s.trim().is_empty());
    Some(Revision { commit, modified })
}

/// `--no-optional-locks`: `git status` otherwise refreshes the index under
/// `index.lock`, and a daemon polling provenance would then make the
/// operator's own `git commit` fail with "index.lock: File exists".
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("--no-optional-locks")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The revision of every `(name, file, template)` at once, with two git
/// processes whatever the team's size (one `log` walk, one `status`), so the
/// daemon can afford it on every reconcile. `None` outside a git work tree.
pub fn revisions(
    project_root: &Path,
    specs: &[(String, PathBuf, PathBuf)],
) -> Option<std::collections::BTreeMap<String, Revision>> {
    use std::collections::{BTreeMap, HashMap, HashSet};

    let root = std::fs::canonicalize(project_root).ok()?;
    let top = PathBuf::from(
        git(&root, &["rev-parse", "--show-toplevel"])?.trim_end_matches(['\n', '\r']),
    );
    let rel = |f: &Path| -> String {
        let abs = std::fs::canonicalize(f).unwrap_or_else(|_| root.join(f));
        abs.strip_prefix(&top)
            .unwrap_or(&abs)
            .to_string_lossy()
            .into_owned()
    };
    let wanted: Vec<(String, String, String)> = specs
        .iter()
        .map(|(n, f, t)| (n.clone(), rel(f), rel(t)))
        .collect();
    let mut paths: Vec<&str> = wanted
        .iter()
        .flat_map(|(_, f, t)| [f.as_str(), t.as_str()])
        .collect();
    paths.sort_unstable();
    paths.dedup();

    // Newest first: the first commit a path appears under is the last to touch it.
    let mut args = vec!["log", "--format=>%h", "--name-only", "--"];
    args.extend(paths.iter().copied());
    let log = git(&top, &args).unwrap_or_default();
    // A set, not a scan: at N = 1000 the log lists thousands of paths.
    let lookup: HashSet<&str> = paths.iter().copied().collect();
    let mut last: HashMap<&str, (usize, String)> = HashMap::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in log.lines().enumerate() {
        if let Some(h) = line.strip_prefix('>') {
            current = Some((i, h.to_owned()));
        } else if let (Some(c), false) = (&current, line.is_empty())
            && let Some(p) = lookup.get(line)
        {
            last.entry(*p).or_insert_with(|| c.clone());
        }
    }

    let mut status = vec!["status", "--porcelain", "--untracked-files=all", "--"];
    status.extend(paths.iter().copied());
    let dirty: HashSet<String> = git(&top, &status)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.get(3..))
        .map(|p| {
            p.rsplit(" -> ")
                .next()
                .unwrap_or(p)
                .trim_matches('"')
                .to_owned()
        })
        .collect();

    Some(
        wanted
            .iter()
            .map(|(name, f, t)| {
                let commit = [last.get(f.as_str()), last.get(t.as_str())]
                    .into_iter()
                    .flatten()
                    .min_by_key(|(order, _)| *order)
                    .map(|(_, h)| h.clone());
                let modified = dirty.contains(f) || dirty.contains(t);
                (name.clone(), Revision { commit, modified })
            })
            .collect::<BTreeMap<_, _>>(),
    )
}
