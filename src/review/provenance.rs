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

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
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
